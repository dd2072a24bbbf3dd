"""The Technical Transparency Index (experiment/transparency.py): the shipped checklist equals the shared
transcription of the paper's figure; a build's index changes when a recorded fact changes (a build of real
traces with the real decontam stage run and `exclude: [contaminated]`, then the same without the decontam
stage: the data points fall, with the evidence saying why); declared vs derived; not-applicable counting;
an experiment scored from experiment.json, run.json and results.json files in the shapes their writers use."""

from __future__ import annotations

import copy
import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from fake_openai_server import FakeOpenAI  # noqa: E402

from distillate.errors import DistillateError  # noqa: E402


def test_shipped_checklist_equals_the_shared_reference(shared_data):
    from distillate.experiment.transparency import CHECKLIST, DIMENSIONS, LEADERBOARD

    ref = json.loads((shared_data / "reference" / "technical_transparency_index.json").read_text())
    assert DIMENSIONS == ref["dimensions"]
    assert len(CHECKLIST) == len(ref["items"]) == 25
    for q, r in zip(CHECKLIST, ref["items"]):
        assert (q.dimension, q.question, q.points) == (r["dimension"], r["question"], r["points"])
    assert [dict(r) for r in LEADERBOARD] == ref["leaderboard"]
    for d, mx in DIMENSIONS.items():
        assert sum(q.points for q in CHECKLIST if q.dimension == d) == mx


# -- builds: the same traces with and without the decontam stage ----------------------------------------

RECIPE = {"name": "tti", "exclude": ["contaminated"]}


def _ingest(ws, shared):
    from distillate.curate import ingest

    with ws.job("ingest") as (cat, job_id):
        ingest(cat, job_id, [str(shared / "traces" / "s1k_gemini_fixture.jsonl"),
                             str(shared / "traces" / "skyt1_math5k_32b_ck133_aime24.jsonl")],
               source="real", license="Apache-2.0", show_progress=False)


@pytest.fixture(scope="module")
def builds(tmp_path_factory, shared_data):
    """(ws_with_decontam, build_with, build_without, tmp): two workspaces of the same 35 real traces; only
    the first ran the decontam stage (against aime24); both built with `exclude: [contaminated]`."""
    from distillate.curate import Workspace
    from distillate.curate.build import build
    from distillate.curate.pipeline import curate

    tmp = tmp_path_factory.mktemp("tti")
    recipe = tmp / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(RECIPE))
    ws_a, ws_b = Workspace(tmp / "ws_a"), Workspace(tmp / "ws_b")
    _ingest(ws_a, shared_data)
    _ingest(ws_b, shared_data)
    curate(ws_a, ["decontam"], show_progress=False, benchmarks="aime24",
           benchmarks_dir=str(shared_data / "benchmarks"))
    build(ws_a, recipe, tmp / "with", show_progress=False)
    build(ws_b, recipe, tmp / "without", show_progress=False)
    return ws_a, tmp / "with", tmp / "without", tmp


def _items(index):
    return {i["key"]: i for i in index["items"]}


def test_dropping_decontamination_lowers_the_data_score(builds):
    from distillate.experiment import score_build

    _, with_dir, without_dir, _ = builds
    a, b = score_build(with_dir), score_build(without_dir)
    ia, ib = _items(a), _items(b)
    assert ia["selection"]["earned"] == 4 and ia["selection"]["status"] == "derived"
    assert "aime24 (30 items, 30 problems matched)" in ia["selection"]["evidence"]
    assert "`contaminated` excluded" in ia["selection"]["evidence"]
    assert ib["selection"]["earned"] == 0 and ib["selection"]["status"] == "derived"
    assert "no benchmark was scanned for contamination" in ib["selection"]["evidence"]
    assert "`contaminated` (decontam stage not run)" in ib["selection"]["evidence"]
    # the data dimension falls by exactly that item; nothing else differs
    assert a["dimensions"]["data"]["score"] - b["dimensions"]["data"]["score"] == 4
    assert a["total"] - b["total"] == 4
    assert {k for k in ia if ia[k]["earned"] != ib[k]["earned"]} == {"selection"}
    # the facts behind it are in the manifest, as the build recorded them
    facts = json.loads((with_dir / "manifest.json").read_text())["transparency"]
    assert [d["benchmark"] for d in facts["decontamination"]] == ["aime24"] and facts["contaminated_kept"] == {}
    assert json.loads((without_dir / "manifest.json").read_text())["transparency"]["decontamination"] == []
    # the sources were ingested with a licence: cited
    assert ia["sources"]["earned"] == 3 and "real (Apache-2.0; 5 kept)" in ia["sources"]["evidence"]
    # DATACARD.md carries the same index
    card = (with_dir / "DATACARD.md").read_text()
    assert "## Technical Transparency Index" in card and f"**Total: {a['total']} / 100**" in card
    row = next(line for line in card.splitlines() if line.startswith("| data | Are the criteria"))
    assert "| 4 | 4 | derived |" in row
    card_b = (without_dir / "DATACARD.md").read_text()
    assert "| 4 | 0 | derived | " in next(x for x in card_b.splitlines() if x.startswith("| data | Are the criteria"))


@pytest.mark.parametrize("edit, key, needle", [
    (lambda m: m["transparency"]["sources"][0].update(license=None), "sources", "no licence recorded"),
    (lambda m: m["catalog"].update(stage_runs=[]), "selection", "`contaminated` (decontam stage not run)"),
    (lambda m: m["tokens"].update(rows_without_token_count=0, signals_tokenizers=["qwen3"]), "distributions", None),
])
def test_a_changed_fact_changes_its_item(builds, edit, key, needle):
    from distillate.experiment.transparency import score_manifest

    _, with_dir, _, _ = builds
    m = json.loads((with_dir / "manifest.json").read_text())
    before = _items(score_manifest(m))[key]
    m2 = copy.deepcopy(m)
    edit(m2)
    after = _items(score_manifest(m2))[key]
    assert before["earned"] != after["earned"]
    if needle:
        assert needle in after["evidence"] and needle not in before["evidence"]


def test_declared_facts_and_not_applicable_counting(builds, tmp_path):
    from distillate.curate.build import build
    from distillate.experiment import score_build

    ws_a, with_dir, _, _ = builds
    declared = {**RECIPE, "transparency": {"paper": "arXiv:2411.16489", "weights": False, "compute": "2 CPU cores",
                                           "search": "MCTS over steps, described in section 3 of the paper"}}
    rec = tmp_path / "r.yaml"
    rec.write_text(yaml.safe_dump(declared))
    build(ws_a, rec, tmp_path / "declared", show_progress=False)
    plain, dec = score_build(with_dir), score_build(tmp_path / "declared")
    ip, idc = _items(plain), _items(dec)
    # declarations are not part of what selects the data
    m1 = json.loads((with_dir / "manifest.json").read_text())
    m2 = json.loads((tmp_path / "declared" / "manifest.json").read_text())
    assert m1["recipe_sha256"] == m2["recipe_sha256"] and m1["recipe"] == m2["recipe"]
    assert m2["transparency"]["declared"]["paper"] == "arXiv:2411.16489"
    assert (idc["paper"]["status"], idc["paper"]["earned"]) == ("declared", 4)
    assert idc["paper"]["evidence"].startswith("declared: arXiv:2411.16489")
    assert (idc["weights"]["status"], idc["weights"]["earned"]) == ("declared", 0)
    assert "declared false" in idc["weights"]["evidence"]
    assert (idc["compute"]["status"], idc["compute"]["earned"]) == ("declared", 2)
    assert (ip["paper"]["status"], ip["paper"]["earned"]) == ("declared", 0) and "not declared" in ip["paper"]["evidence"]
    # not applicable: a build without a search procedure gets the search item as met, and says so
    assert (ip["search"]["status"], ip["search"]["earned"]) == ("not applicable", 6)
    assert plain["not_applicable"] == {"items": 1, "points": 6, "counted_as": "met",
                                       "rule": plain["not_applicable"]["rule"]}
    assert "SFT-only Part 2" in plain["not_applicable"]["rule"]
    assert plain["total"] == sum(i["earned"] for i in plain["items"])
    # ... unless a search was declared: then it applies and rests on the declaration
    assert (idc["search"]["status"], idc["search"]["earned"]) == ("declared", 6)
    assert dec["not_applicable"]["items"] == 0
    # a build has no training or evaluation: those items are not granted
    assert all(ip[k]["earned"] == 0 and ip[k]["status"] == "derived" for k in
               ("base_model", "rl", "training_pipeline", "ablations", "benchmarks", "metrics", "custom_metrics"))
    assert dec["total"] - plain["total"] == 4 + 2     # paper + compute; search was already counted as met


@pytest.mark.parametrize("section, needle", [
    ({"selection": "we filtered well"}, "unknown key 'transparency.selection'"),
    ({"paper": True}, "must say where"),
    ({"weights": ""}, "must say where"),
    ("arxiv", "must be a mapping"),
])
def test_declarations_are_checked(section, needle):
    from distillate.curate.build import parse_recipe

    with pytest.raises(DistillateError, match=needle.replace("(", r"\(")):
        parse_recipe({"name": "x", "transparency": section})


def test_ablations_inherit_declarations_and_cannot_override_them():
    from distillate.curate.build import parse_recipe
    from distillate.curate.build.recipe import apply_ablation

    r = parse_recipe({"name": "x", "transparency": {"paper": "p"}, "ablations": {"a": {"per_problem": 1}}})
    assert apply_ablation(r, "a").transparency == {"paper": "p"}
    with pytest.raises(DistillateError, match="cannot be overridden"):
        parse_recipe({"name": "x", "ablations": {"a": {"transparency": {"paper": "q"}}}})


def test_cli_tti_on_a_build(builds):
    from typer.testing import CliRunner

    from distillate.cli import app
    from distillate.experiment import score_build

    _, with_dir, _, tmp = builds
    r = CliRunner().invoke(app, ["tti", str(with_dir), "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)
    assert got == json.loads(json.dumps(score_build(with_dir)))
    assert set(got["dimensions"]) == {"data", "methodology", "evaluation", "open_source"}
    assert all(set(d) == {"score", "maximum"} for d in got["dimensions"].values())
    assert {"question", "dimension", "points", "earned", "status", "evidence"} <= set(got["items"][0])
    assert {i["status"] for i in got["items"]} <= {"derived", "declared", "not applicable"}
    assert [r["work"] for r in got["leaderboard"] if r["this_run"]] == ["tti (this build)"]
    r = CliRunner().invoke(app, ["tti", str(with_dir)], catch_exceptions=False)
    assert r.exit_code == 0 and "Skywork O1" in r.output and f"Total: {got['total']} / 100" in r.output
    assert f"would rank {got['rank']}" in " ".join(r.output.split())
    (tmp / "empty").mkdir(exist_ok=True)
    r = CliRunner().invoke(app, ["tti", str(tmp / "empty")])
    assert isinstance(r.exception, DistillateError) and "neither a build" in str(r.exception)


# -- an experiment ----------------------------------------------------------------------------------------

def _model_dir(path: Path, n_layers: int = 2) -> Path:
    """A model folder as save_pretrained writes one: config.json and safetensors weights."""
    np = pytest.importorskip("numpy")
    st = pytest.importorskip("safetensors.numpy")
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps({
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 64,
        "num_hidden_layers": n_layers, "num_attention_heads": 4, "vocab_size": 1000}))
    tensors = {"model.embed_tokens.weight": np.zeros((1000, 64), np.float32)}
    tensors.update({f"model.layers.{i}.mlp.up_proj.weight": np.zeros((128, 64), np.float32) for i in range(n_layers)})
    st.save_file(tensors, str(path / "model.safetensors"))
    return path   # 64,000 + 2 x 8,192 = 80,384 parameters


def _run_json(d: Path, base: Path, build_dir: Path, label: str) -> dict:
    """run.json as train/run.py writes it (two stages, stage 2 from stage 1's weights)."""
    s1, s2 = d / "stage1", d / "stage2"
    _model_dir(s1 / "final")
    _model_dir(s2 / "final")
    stage = {"build_manifest_sha256": "0" * 64, "build_recipe_sha256": "1" * 64, "build_name": "tti",
             "train_loss": 3.0, "first_loss": 4.0, "last_loss": 2.0, "loss_history": [], "overrides": {}}
    run = {"run_name": label, "version": "train-1", "build": str(build_dir), "build_manifest_sha256": "0" * 64,
           "build_recipe_sha256": "1" * 64, "base_model": str(base), "lora": False, "final_model": str(s2 / "final"),
           "settings": {"model_name_or_path": str(base), "stages": 2, "stage1_subset": "short",
                        "learning_rate": 0.003, "max_steps": 6, "per_device_train_batch_size": 4},
           "stages": [{**stage, "stage": 1, "data": "x/short/sft.jsonl", "rows": 3, "build_variant": "short",
                       "start_from": str(base), "output_dir": str(s1), "final": str(s1 / "final"), "steps": 3,
                       "seconds": 1.5},
                      {**stage, "stage": 2, "data": "x/sft.jsonl", "rows": 5, "build_variant": "",
                       "start_from": str(s1 / "final"), "output_dir": str(s2), "final": str(s2 / "final"),
                       "steps": 6, "seconds": 2.5}]}
    (d / "run.json").write_text(json.dumps(run, indent=2))
    return run


@pytest.fixture(scope="module")
def experiment(builds, shared_data, qwen_tokenizer_path):
    """An experiment folder in the shape `distillate experiment` writes: a baseline and two variants, each
    with its run.json and a real eval run's results.json + samples.jsonl (aime24 through the fake server)."""
    from distillate.eval import EvalConfig, evaluate

    ws_a, with_dir, without_dir, tmp = builds
    exp = tmp / "exp"
    base = _model_dir(tmp / "base-model")
    answers = {json.loads(x)["problem"]: json.loads(x)["answer"] for x in open(shared_data / "benchmarks" / "aime24.jsonl")}
    with FakeOpenAI(answers, style="think") as srv:
        ev = evaluate(ws_a, EvalConfig(model="base", backend="openai", endpoint=srv.url, benchmarks=["aime24"],
                                       benchmarks_dir=str(shared_data / "benchmarks"), limit=3, max_tokens=512,
                                       tokenizer=str(qwen_tokenizer_path)), exp / "evals" / "baseline",
                      show_progress=False, record=False)
    variants = []
    for name, bdir in (("full", with_dir), ("undecontaminated", without_dir)):
        shutil.copytree(exp / "evals" / "baseline", exp / "evals" / name)
        _run_json(exp / "runs" / name, base, bdir, name)
        variants.append({"name": name, "kind": "build", "build_dir": str(bdir), "build_id": f"job/{name}", "rows": 5,
                         "data_fingerprint": "f" * 16, "train_run_id": name, "train_dir": f"runs/{name}",
                         "eval_run_id": ev.run_id, "eval_dir": f"evals/{name}", "metrics": {}, "status": "done"})
    doc = {"name": "tti-exp", "experiment_file": "exp.yaml", "experiment_sha256": "e" * 64, "workspace": str(ws_a.root),
           "base_model": str(base), "build": {"dir": str(with_dir), "build_id": "job/base", "name": "tti",
                                              "recipe_sha256": "1" * 64},
           "train": {"max_steps": 6}, "eval": {"benchmarks": ["aime24"], "limit": 3},
           "transparency": {"compute": "2 CPU cores, 10 minutes", "paper": "arXiv:2411.16489"},
           "baseline": {"eval_run_id": ev.run_id, "eval_dir": "evals/baseline", "metrics": {}},
           "variants": variants, "status": "done"}
    (exp / "experiment.json").write_text(json.dumps(doc, indent=2))
    return exp


def _edit_json(p: Path, fn) -> None:
    d = json.loads(p.read_text())
    fn(d)
    p.write_text(json.dumps(d))


def test_experiment_index_from_its_records(experiment):
    from distillate.experiment import score, score_experiment

    idx = score(experiment)
    assert idx["kind"] == "experiment" and idx == score_experiment(experiment / "experiment.json")
    it = _items(idx)
    assert it["base_model"]["earned"] == 4 and "Qwen2ForCausalLM" in it["base_model"]["evidence"]
    assert "0.1M parameters" in it["base_model"]["evidence"] and "hidden layers 2" in it["base_model"]["evidence"]
    assert it["training_pipeline"]["earned"] == 3
    assert "stage 2 on tti (5 rows, 6 steps) from stage 1's weights" in it["training_pipeline"]["evidence"]
    assert "stage 1 on short (3 rows, 3 steps) from the base model" in it["training_pipeline"]["evidence"]
    assert it["hyperparameters"]["earned"] == 2 and "learning_rate 0.003" in it["hyperparameters"]["evidence"]
    assert it["ablations"]["earned"] == 4
    assert (it["compute"]["status"], it["compute"]["earned"]) == ("declared", 2)
    assert "training took 8.0 s over 4 stage(s)" in it["compute"]["evidence"]
    assert (it["rl"]["status"], it["rl"]["earned"]) == ("not applicable", 6)
    assert (it["custom_metrics"]["status"], it["custom_metrics"]["earned"]) == ("not applicable", 4)
    assert idx["not_applicable"]["items"] == 3 and idx["not_applicable"]["points"] == 16
    for k in ("evaluation_level", "metrics", "consistency", "conditions"):
        assert it[k]["earned"] == 4 and it[k]["status"] == "derived", (k, it[k]["evidence"])
    assert "temperature 0.0, top_p 0.95, n 1" in it["conditions"]["evidence"]
    # one variant trained on data never scanned against aime24: the benchmark choice is not justified
    assert it["benchmarks"]["earned"] == 0
    assert "aime24 was not in the decontamination scan of undecontaminated's training data" in it["benchmarks"]["evidence"]
    # data items are the base build's
    assert it["selection"]["earned"] == 4 and it["paper"]["earned"] == 4
    assert idx["total"] == sum(i["earned"] for i in idx["items"])
    assert idx["rank"] == 1 + sum(r["total"] > idx["total"] for r in idx["leaderboard"] if not r["this_run"])


def test_experiment_index_changes_with_its_records(experiment, tmp_path):
    from distillate.experiment import score

    exp = tmp_path / "exp"
    shutil.copytree(experiment, exp)
    doc = json.loads((exp / "experiment.json").read_text())
    full_build = doc["variants"][0]["build_dir"]
    # every variant trained on the decontaminated build: aime24 is held out, with the fingerprint compared
    _edit_json(exp / "experiment.json", lambda d: d["variants"][1].update(build_dir=full_build))
    it = _items(score(exp))
    assert it["benchmarks"]["earned"] == 4 and "compared with the evaluated file" in it["benchmarks"]["evidence"]
    # a variant evaluated at another temperature breaks the shared protocol
    _edit_json(exp / "evals" / "full" / "results.json", lambda d: d["config"].update(temperature=0.6))
    it = _items(score(exp))
    assert it["consistency"]["earned"] == 0 and "full differs from the baseline in temperature (0.0 vs 0.6)" in \
        it["consistency"]["evidence"]
    # a custom metric appears (token budgets): the item applies, and is earned because results.json defines it
    for name in ("baseline", "full", "undecontaminated"):
        _edit_json(exp / "evals" / name / "results.json", lambda d: (
            d["config"].update(budgets=[64], temperature=0.0),
            [m.update(budgets={"64": {"accuracy": 0.0, "mean_tokens": 64, "truncated": 1.0}})
             for m in d["benchmarks"].values()]))
    idx = score(exp)
    it = _items(idx)
    assert (it["custom_metrics"]["status"], it["custom_metrics"]["earned"]) == ("derived", 4)
    assert "budget accuracy" in it["custom_metrics"]["evidence"] and idx["not_applicable"]["points"] == 12
    # a lost run.json: the training items fall back to the catalog, which holds no such run -> not earned
    shutil.rmtree(exp / "runs" / "full")
    it = _items(score(exp))
    assert it["training_pipeline"]["earned"] == 0 and "full" in it["training_pipeline"]["evidence"]
    # the declarations are checked like a recipe's
    _edit_json(exp / "experiment.json", lambda d: d["transparency"].update(gpus=4))
    with pytest.raises(DistillateError, match="unknown key 'transparency.gpus'"):
        score(exp)


def test_generated_traces_earn_the_synthetic_data_item(tmp_path, ws, shared_data, monkeypatch):
    """Traces distilled here (generate through the fake server, then the real verify stage): the journal
    names the teacher and its prompt template, every kept row has a verdict: the data items are derived."""
    from distillate.curate.build import build
    from distillate.curate.generate import GenerateConfig, generate
    from distillate.curate.pipeline import curate
    from distillate.experiment import score_build

    monkeypatch.setenv("OPENAI_API_KEY", "EMPTY")
    rows = [json.loads(x) for x in open(shared_data / "benchmarks" / "aime24.jsonl")][:4]
    pfile = tmp_path / "problems.jsonl"
    pfile.write_text("".join(json.dumps({"id": r["id"], "problem": r["problem"], "answer": r["answer"]}) + "\n"
                             for r in rows))
    with FakeOpenAI({r["problem"]: r["answer"] for r in rows}, wrong=lambda rid: rid.endswith(("0", "1"))) as srv:
        generate(ws, GenerateConfig(model="teacher-r1", endpoint=srv.url, n=2, max_tokens=1000, temperature=0.6,
                                    concurrency=2), str(pfile), show_progress=False)
    curate(ws, ["verify"], show_progress=False)
    rec = tmp_path / "r.yaml"
    rec.write_text(yaml.safe_dump({"name": "gen", "exclude": ["answer_incorrect", "no_answer"]}))
    build(ws, rec, tmp_path / "out", show_progress=False)
    facts = json.loads((tmp_path / "out" / "manifest.json").read_text())["transparency"]
    assert facts["generated_kept"] == facts["kept"] == facts["generated_verified"] > 0
    assert [g["models"] for g in facts["generation"]] == [["teacher-r1"]] and facts["generation"][0]["requests"] == 8
    it = _items(score_build(tmp_path / "out"))
    assert (it["synthetic_data"]["earned"], it["synthetic_data"]["status"]) == (4, "derived")
    assert "generate by teacher-r1, 8 of 8 requests completed, 1 prompt template(s)" in it["synthetic_data"]["evidence"]
    assert f"verdicts for {facts['kept']} of {facts['kept']} generated kept rows" in it["synthetic_data"]["evidence"]
    assert it["sources"]["earned"] == 3 and "generated here by teacher-r1" in it["sources"]["evidence"]
    # applied filters were computed (verify), but no benchmark was scanned: selection is not earned
    assert it["selection"]["earned"] == 0 and "no benchmark was scanned" in it["selection"]["evidence"]
