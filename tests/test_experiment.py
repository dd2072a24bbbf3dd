"""Experiments (issue 17): `distillate experiment` end to end on a tiny model (baseline + 2 variants + a size
sweep), killed with SIGKILL after its first train run and resumed with nothing rerun; the dry-run plan;
lineage from an eval run back to the sources; eval's decontamination warnings; every scanned benchmark in
the manifest and data card (zero matches included); eval-plot --reference; 2-process training through
accelerate (CPU, gloo); the shipped example's data and files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
import yaml

from distillate.errors import DistillateError

pytest.importorskip("trl")

REPO = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).parent / "distillate"
EXAMPLE = REPO / "examples" / "o1-journey-tiny"
DEMO_BENCH = REPO / "demo" / "benchmarks"


def _cli(*args, timeout=600, **kw):
    env = {k: v for k, v in os.environ.items() if k != "DISTILLATE_WORKSPACE"}
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout, **kw)


# -- the experiment, killed and resumed -----------------------------------------------------------------

def _experiment_file(tmp: Path) -> Path:
    recipe = tmp / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({
        "name": "t-exp", "where": "has_thought AND has_solution",
        "exclude": ["contaminated", "exact_duplicate", "near_duplicate", "no_answer", "answer_incorrect"],
        "ablations": {"rewrites": {"where": "source = 'rewrites'"}, "no_dedup": {"exclude_remove": ["exact_duplicate"]}},
    }))
    exp = {
        "name": "t-exp", "workspace": "ws",
        "ingest": [{"path": str(EXAMPLE / "data" / "stage1_rewrites.jsonl"), "source": "rewrites", "format": "plain"},
                   {"path": str(REPO / "demo" / "corpus" / "plain.jsonl"), "source": "teacher", "license": "Apache-2.0"}],
        "curate": {"stages": ["decontam"], "benchmarks_dir": str(DEMO_BENCH)},
        "recipe": "recipe.yaml", "variants": ["base", "rewrites"], "sizes": [8, "all"], "size_seed": 3,
        "base_model": "tiny", "tiny": {"vocab_size": 400, "hidden_size": 32},
        "train": {"max_steps": 2, "max_length": 96, "per_device_train_batch_size": 2, "learning_rate": 0.01,
                  "logging_steps": 1, "save_strategy": "no", "seed": 0},
        "eval": {"benchmarks": ["demo_bench"], "benchmarks_dir": str(DEMO_BENCH), "limit": 3, "n": 2,
                 "temperature": 1.0, "max_tokens": 8, "budgets": [4], "batch_size": 3},
        "transparency": {"weights": False},
    }
    p = tmp / "exp.yaml"
    p.write_text(yaml.safe_dump(exp, sort_keys=False))
    return p


@pytest.fixture(scope="module")
def finished_experiment(tmp_path_factory):
    """Run the experiment, SIGKILL it once its first train run is recorded, rerun it to the end."""
    tmp = tmp_path_factory.mktemp("exp")
    exp, out = _experiment_file(tmp), tmp / "out"
    env = {k: v for k, v in os.environ.items() if k != "DISTILLATE_WORKSPACE"}
    proc = subprocess.Popen([str(EXE), "experiment", str(exp), "--out", str(out), "-q"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    killed_state, deadline = None, time.monotonic() + 400
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            st = json.loads((out / "experiment.json").read_text())
        except (OSError, json.JSONDecodeError):
            st = {}
        if any(r.get("kind") == "train" and r.get("status") == "done" for r in (st.get("runs") or {}).values()):
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            killed_state = st
            break
        time.sleep(0.1)
    assert killed_state is not None, f"the first train run never finished: {proc.stderr.read().decode()[-2000:]}"
    mtimes = {r["dir"]: (Path(r["dir"]) / ("run.json" if r["kind"] == "train" else "results.json")).stat().st_mtime_ns
              for r in killed_state["runs"].values()}
    r = _cli("experiment", exp, "--out", out, "-q")
    assert r.returncode == 0, r.stderr[-3000:]
    return {"exp": exp, "out": out, "killed": killed_state, "mtimes": mtimes,
            "state": json.loads((out / "experiment.json").read_text()), "resume_log": r.stderr}


def test_killed_experiment_resumes_without_rerunning(finished_experiment):
    killed, state = finished_experiment["killed"], finished_experiment["state"]
    assert killed["status"] == "running" and state["status"] == "ok"
    done_before = {k: r for k, r in killed["runs"].items()}
    assert any(r["kind"] == "eval" for r in done_before.values())      # the baseline ran before the first train
    for key, rec in done_before.items():                                 # nothing that had finished ran again
        again = state["runs"][key]
        assert (again["run_id"], again["started_at"], again["finished_at"]) == \
            (rec["run_id"], rec["started_at"], rec["finished_at"])
        f = Path(rec["dir"]) / ("run.json" if rec["kind"] == "train" else "results.json")
        assert f.stat().st_mtime_ns == finished_experiment["mtimes"][rec["dir"]]
    assert "done before, skipped" in finished_experiment["resume_log"]
    # every train and eval run happened exactly once: one catalog record each
    from distillate.curate import Workspace

    with Workspace(state["workspace"]).reader() as cat:
        trains = cat.fetch("SELECT run_name, count(*) FROM train_runs GROUP BY run_name")
        evals = cat.fetch("SELECT run_id FROM eval_runs")
        exp_rows = cat.fetch("SELECT name, status FROM experiments")
    train_ids = {r["run_id"] for r in state["runs"].values() if r["kind"] == "train"}
    assert {n for n, _ in trains} == train_ids and all(c == 1 for _, c in trains)
    assert {e for (e,) in evals} == {r["run_id"] for r in state["runs"].values() if r["kind"] == "eval"}
    assert len(train_ids) == 3 and len(evals) == 4       # base (= size_all), rewrites, size_8; + the baseline
    assert exp_rows == [("t-exp", "ok")]


def test_experiment_outputs_and_contract(finished_experiment):
    state, out = finished_experiment["state"], finished_experiment["out"]
    for k in ("name", "experiment_file", "experiment_sha256", "workspace", "base_model", "build", "train", "eval",
              "transparency", "baseline", "variants", "status", "started_at", "finished_at"):
        assert k in state, k
    assert state["transparency"] == {"weights": False} and state["train"]["max_steps"] == 2
    assert set(state["build"]) >= {"dir", "build_id", "name", "recipe_sha256"} and state["build"]["name"] == "t-exp"
    assert state["baseline"]["eval_run_id"] and state["baseline"]["metrics"]["demo_bench"]
    names = [v["name"] for v in state["variants"]]
    assert names == ["base", "rewrites", "size_8", "size_all"]
    v = {x["name"]: x for x in state["variants"]}
    assert [v[n]["kind"] for n in names] == ["base", "ablation", "size", "size"]
    for x in state["variants"]:
        assert x["status"] == "done" and x["train_run_id"] and x["eval_run_id"] and x["data_fingerprint"]
        m = x["metrics"]["demo_bench"]
        assert set(m) >= {"accuracy", "pass@k", "maj@k", "mean_tokens", "budgets"}
        assert m["n_problems"] == 3 and set(m["pass@k"]) == {"1", "2"} and set(m["budgets"]) == {"4"}
        assert 1 <= m["mean_tokens"] <= 8
    # the rewrites ablation is the 12 rewrites; size_all is the base set and shares its runs
    assert v["rewrites"]["rows"] == 12
    assert v["size_all"]["rows"] == v["base"]["rows"] and v["size_all"]["data_fingerprint"] == v["base"]["data_fingerprint"]
    assert v["size_all"]["train_run_id"] == v["base"]["train_run_id"]
    assert v["size_all"]["eval_run_id"] == v["base"]["eval_run_id"]
    # size subsets: build-like folders naming their parent, nested inside the larger ones
    s8 = Path(v["size_8"]["build_dir"])
    man = json.loads((s8 / "manifest.json").read_text())
    assert man["parent"]["dir"] == state["build"]["dir"] and man["counts"]["kept"] == 8 == v["size_8"]["rows"]
    assert man["data_fingerprint"] == v["size_8"]["data_fingerprint"]
    ids = lambda d: [orjson.loads(x)["trace_id"] for x in (Path(d) / "sft.jsonl").read_bytes().splitlines()]  # noqa: E731
    base_ids = ids(v["base"]["build_dir"])
    assert set(ids(s8)) < set(base_ids) and ids(s8) == [t for t in base_ids if t in set(ids(s8))]  # parent order
    assert [d["benchmark"] for d in man["decontamination"]] == ["demo_bench"]
    # the report: variant x benchmark with the difference to the baseline, and the plots
    md = (out / "comparison.md").read_text()
    assert "## demo_bench" in md and "baseline (before fine-tuning)" in md and "vs baseline" in md
    for n in names:
        assert f"| {n} |" in md
    for png in ("accuracy_vs_tokens.png", "accuracy_vs_size.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    # each trained model's eval knows its train run and build
    res = json.loads((Path(v["rewrites"]["eval_dir"]) / "results.json").read_text())
    assert res["lineage"]["train_run"]["run_name"] == v["rewrites"]["train_run_id"]
    assert res["lineage"]["builds"][0]["dir"] == v["rewrites"]["build_dir"]
    # the Transparency Index of the experiment: in experiment.json, transparency.json and comparison.md,
    # equal to what `distillate tti` scores from the same records
    from distillate.experiment import score

    index = json.loads((out / "transparency.json").read_text())
    assert state["transparency_index"]["total"] == index["total"] == score(out, state["workspace"])["total"]
    weights = [i for i in index["items"] if i["status"] == "declared"]
    assert weights and all(not i["earned"] for i in weights)   # declared `false`: not released, no points
    assert "## Technical Transparency Index" in md and f"{index['total']}" in md


def test_dry_run_plan(finished_experiment, tmp_path):
    exp, out = finished_experiment["exp"], finished_experiment["out"]
    r = _cli("experiment", exp, "--out", out, "--dry-run", "--json")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert [x["name"] for x in plan["variants"]] == ["base", "rewrites", "size_8", "size_all"]
    assert [x["rows"] for x in plan["variants"]][1:3] == [12, 8]
    assert [(x["kind"], x["action"]) for x in plan["runs"]] == [("eval", "skip (done)")] + \
        [("train", "skip (done)"), ("eval", "skip (done)")] * 3
    assert plan["runs"][1]["variants"] == ["base", "size_all"] and plan["prepare"] == "skip"
    # a new output folder and workspace: the build is made first, so rows and keys are unknown; nothing written
    from distillate.experiment import plan_experiment

    fresh = tmp_path / "fresh"
    plan = plan_experiment(exp, fresh)
    assert [x["rows"] for x in plan["variants"]] == [None, None, 8, None] and plan["prepare"] == "run"
    assert {x["action"] for x in plan["runs"]} == {"run"} and len(plan["runs"]) == 9 and not fresh.exists()


def test_lineage_of_an_experiment_eval(finished_experiment):
    state = finished_experiment["state"]
    v = next(x for x in state["variants"] if x["name"] == "size_8")
    r = _cli("lineage", v["eval_dir"], "--json", "-w", state["workspace"])
    assert r.returncode == 0, r.stderr
    chain = json.loads(r.stdout)
    assert {s["source"] for s in chain["sources"]} <= {"teacher", "rewrites"} and chain["sources"]
    assert chain["build"]["dir"] == v["build_dir"] and chain["build"]["parent"]["dir"] == state["build"]["dir"]
    (tr,) = chain["train_runs"]
    assert tr["run_name"] == v["train_run_id"] and tr["job_id"] and tr["stages"][0]["rows"] == 8
    assert [e["run_id"] for e in tr["eval_runs"]] == [v["eval_run_id"]]
    # the experiment folder: its build, every train run, the baseline
    r = _cli("lineage", finished_experiment["out"], "-w", state["workspace"])
    assert r.returncode == 0 and r.stdout.count("train run") == 3 and state["baseline"]["eval_run_id"] in r.stdout
    chain = json.loads(_cli("lineage", finished_experiment["out"], "--json", "-w", state["workspace"]).stdout)
    assert len(chain["train_runs"]) == 3 and chain["eval_runs"][0]["run_id"] == state["baseline"]["eval_run_id"]


def test_experiment_file_errors(tmp_path):
    from distillate.experiment import load_experiment, plan_experiment

    base = {"recipe": "r.yaml", "base_model": "tiny", "train": {"max_steps": 1}, "eval": {"benchmarks": ["x"]}}

    def bad(match, **kw):
        p = tmp_path / "e.yaml"
        p.write_text(yaml.safe_dump({**base, **kw}))
        with pytest.raises(DistillateError, match=match):
            load_experiment(p)

    bad(r"varients \(did you mean variants\?\)", varients=["base"])
    bad(r"eval: max_token \(did you mean max_tokens\?\)", eval={"max_token": 8})
    bad("model is set by the experiment", eval={"model": "m"})
    bad("train.model_name_or_path is set by the experiment", train={"model_name_or_path": "m"})
    bad("exactly one of build", build="b")
    bad("sizes takes positive row counts", sizes=[0])
    bad(r"tiny: vocab \(did you mean vocab_size\?\)", tiny={"vocab": 10})
    p = tmp_path / "e.yaml"
    p.write_text(yaml.safe_dump({**base, "train": {"learning_rat": 0.1}}))
    with pytest.raises(DistillateError, match=r"learning_rat \(did you mean learning_rate\?\)"):
        plan_experiment(p, tmp_path / "o", tmp_path / "ws")


# -- lineage, decontamination warnings, the manifest's scan list ----------------------------------------

@pytest.fixture(scope="module")
def lineage_setup(tmp_path_factory, shared_data):
    """A workspace scanned against demo_bench (matches) and aime24 (none); a build that keeps a contaminated
    trace; a tiny model trained on it; an eval on demo_bench, aime24 and amc23 (not scanned)."""
    from distillate.curate import Workspace, ingest
    from distillate.curate.build import build
    from distillate.curate.pipeline import curate
    from distillate.eval import EvalConfig, evaluate
    from distillate.train import train
    from distillate.train.tiny import make_tiny_model, make_tiny_tokenizer

    tmp = tmp_path_factory.mktemp("lin")
    bdir = tmp / "benchmarks"
    bdir.mkdir()
    (bdir / "demo_bench.jsonl").write_bytes((DEMO_BENCH / "demo_bench.jsonl").read_bytes())
    (bdir / "aime24.jsonl").write_bytes((shared_data / "benchmarks" / "aime24.jsonl").read_bytes())
    ws = Workspace(tmp / "ws")
    with ws.job("ingest") as (cat, job_id):
        ingest(cat, job_id, [str(REPO / "demo" / "corpus" / "plain.jsonl")], source="teacher", license="Apache-2.0",
               show_progress=False)
    curate(ws, "decontam", show_progress=False, benchmarks_dir=str(bdir))
    recipe = tmp / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"name": "lin", "where": "has_thought AND has_solution",
                                      "exclude": ["exact_duplicate"],
                                      "ablations": {"clean": {"exclude_add": ["contaminated"]}}}))
    res = build(ws, recipe, tmp / "build", show_progress=False)
    texts = [json.loads(x)["messages"][-1]["content"] for x in open(tmp / "build" / "sft.jsonl")]
    tok = make_tiny_tokenizer(texts, tmp / "tok", vocab_size=300)
    model = make_tiny_model(tok, tmp / "model", hidden=32)
    r = tmp / "train.yaml"
    r.write_text(yaml.safe_dump({"model_name_or_path": str(model), "max_steps": 2, "max_length": 64,
                                 "per_device_train_batch_size": 2, "save_strategy": "no", "run_name": "lin-run"}))
    tr = train(ws, tmp / "build", r, show_progress=False)
    evdir = tmp / "eval-benchmarks"    # the two scanned benchmarks and amc23, which was not scanned
    evdir.mkdir()
    for p in [bdir / "demo_bench.jsonl", bdir / "aime24.jsonl", shared_data / "benchmarks" / "amc23.jsonl"]:
        (evdir / p.name).write_bytes(p.read_bytes())
    cfg = EvalConfig(model=str(tr.final_model), benchmarks=["demo_bench", "aime24", "amc23"],
                     benchmarks_dir=str(evdir), limit=2, max_tokens=4)
    ev = evaluate(ws, cfg, tmp / "eval", show_progress=False)
    return {"ws": ws, "tmp": tmp, "build": res, "train": tr, "eval": ev, "bdir": bdir}


def test_manifest_and_datacard_list_every_scanned_benchmark(lineage_setup):
    from distillate.curate.decontam.registry import fingerprint, load_file

    out = lineage_setup["tmp"] / "build"
    man = json.loads((out / "manifest.json").read_text())
    dec = {d["benchmark"]: d for d in man["decontamination"]}
    assert set(dec) == {"aime24", "demo_bench"}
    for name, items in (("aime24", 30), ("demo_bench", 12)):
        d = dec[name]
        assert d["fingerprint"] == fingerprint(load_file(lineage_setup["bdir"] / f"{name}.jsonl"))
        assert d["items"] == items and d["methods"] == ["exact", "fuzzy", "masked", "ngram"] and d["scanned_at"]
    assert dec["aime24"]["matched_problems"] == 0 and dec["aime24"]["matched_items"] == 0   # zero matches listed
    # plain.jsonl holds a verbatim copy of demo-bench-4; this recipe keeps contaminated traces, "clean" drops them
    assert dec["demo_bench"]["matched_problems"] >= 1 and dec["demo_bench"]["kept_traces_matched"] >= 1
    clean = {d["benchmark"]: d for d in json.loads((out / "clean" / "manifest.json").read_text())["decontamination"]}
    assert clean["demo_bench"]["kept_traces_matched"] == 0
    card = (out / "DATACARD.md").read_text()
    row = next(line for line in card.splitlines() if line.startswith("| aime24 |"))
    assert dec["aime24"]["fingerprint"] in row and "| 0 |" in row


def test_eval_records_lineage_and_warns_about_decontamination(lineage_setup):
    ev, tr, tmp = lineage_setup["eval"], lineage_setup["train"], lineage_setup["tmp"]
    res = json.loads((ev.out_dir / "results.json").read_text())
    assert res["lineage"]["train_run"]["run_name"] == "lin-run" and res["lineage"]["train_run"]["stage"] == 1
    (b,) = res["lineage"]["builds"]
    assert b["dir"] == str((tmp / "build").resolve()) and b["manifest_changed"] is False
    warns = res["decontamination"]["warnings"]
    assert any(w.startswith("amc23 was not in the decontamination scan") for w in warns)
    assert any(w.startswith("demo_bench had") and "of its kept trace(s) match it" in w for w in warns)
    assert not any(w.startswith("aime24") for w in warns)                          # scanned, same version, clean
    checks = res["decontamination"]["benchmarks"]
    assert checks["aime24"][0]["scanned"] and checks["aime24"][0]["same_version"] and not checks["amc23"][0]["scanned"]
    with lineage_setup["ws"].reader() as cat:
        row = cat.fetch("SELECT train_run_dir, train_stage, build_dir FROM eval_runs WHERE run_id = ?", [ev.run_id])
    assert row == [(str(tr.run_dir), 1, str((tmp / "build").resolve()))]


def test_eval_warns_about_another_benchmark_version(lineage_setup):
    from distillate.eval import EvalConfig, evaluate

    tmp = lineage_setup["tmp"]
    changed = tmp / "changed"
    changed.mkdir()
    rows = [json.loads(x) for x in open(lineage_setup["bdir"] / "aime24.jsonl")]
    rows[0]["problem"] += " Give the answer as an integer."
    (changed / "aime24.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ev = evaluate(lineage_setup["ws"], EvalConfig(model=str(lineage_setup["train"].final_model), benchmarks=["aime24"],
                                                  benchmarks_dir=str(changed), limit=1, max_tokens=2),
                  tmp / "eval2", show_progress=False, record=False)
    (w,) = ev.results["decontamination"]["warnings"]
    assert "another version of it" in w


def test_lineage_chain(lineage_setup):
    from distillate.eval.lineage import lineage

    ws, ev, tr = lineage_setup["ws"], lineage_setup["eval"], lineage_setup["train"]
    for target in (str(ev.out_dir), ev.run_id):                 # by folder and by catalog id
        chain = lineage(ws, target)
        assert chain["target"]["kind"] == "eval"
        assert chain["sources"] == [{"source": "teacher", "rows": chain["build"]["rows"], "kind": "traces",
                                     "license": "Apache-2.0"}]
        assert chain["build"]["build_id"] == f"{lineage_setup['build'].job_id}/base"
        assert chain["build"]["decontamination"] and chain["build"]["recipe_sha256"]
        (t,) = chain["train_runs"]
        assert t["run_name"] == "lin-run" and t["job_id"] and t["settings"]["max_steps"] == 2
        assert [e["run_id"] for e in t["eval_runs"]] == [ev.run_id] and t["eval_runs"][0]["warnings"]
    # from the build down, and from the train run (its final weights)
    chain = lineage(ws, str(lineage_setup["tmp"] / "build"))
    assert [t["run_name"] for t in chain["train_runs"]] == ["lin-run"]
    assert [e["run_id"] for e in chain["train_runs"][0]["eval_runs"]] == [ev.run_id]
    assert lineage(ws, str(tr.final_model))["train_runs"][0]["eval_runs"][0]["run_id"] == ev.run_id
    with pytest.raises(DistillateError, match="not a folder"):
        lineage(ws, "no-such-run")


def test_eval_plot_reference(lineage_setup, shared_data, tmp_path):
    from distillate.eval.plot import load_reference, series

    ref = shared_data / "reference" / "o1_journey_part2_results.json"
    rows = load_reference(ref)
    panels = series([lineage_setup["eval"].out_dir], ["tiny"], ref)
    stars = sorted((p["label"], p["x"][0], round(p["y"][0], 6)) for p in panels["aime24"] if p["kind"] == "reference")
    assert len(stars) == 3 and stars == sorted((f"{r['model']} (reported)", r["mean_tokens"], round(100 * r["accuracy"], 6))
                                               for r in rows if r["benchmark"] == "aime24")
    assert not any(p["kind"] == "reference" for p in panels["demo_bench"])        # math500 has no panel here
    png = tmp_path / "ref.png"
    r = _cli("eval-plot", lineage_setup["eval"].out_dir, "--out", png, "--reference", ref)
    assert r.returncode == 0 and png.read_bytes()[:4] == b"\x89PNG"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rows": [{"model": "m", "benchmark": "aime24", "accuracy": 43}]}))
    with pytest.raises(DistillateError, match="lacks mean_tokens"):
        load_reference(bad)


# -- training in 2 processes through accelerate -------------------------------------------------------

def test_train_two_processes_with_accelerate(lineage_setup, tmp_path):
    tmp = lineage_setup["tmp"]
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({"model_name_or_path": str(tmp / "model"), "max_steps": 2, "max_length": 64,
                                      "per_device_train_batch_size": 2, "save_strategy": "no", "logging_steps": 1,
                                      "run_name": "ddp"}))
    ws = tmp_path / "ws"
    r = _cli("train", recipe, "--build", tmp / "build", "--num-processes", "2", "-w", ws, "-q")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    run = json.loads((ws / "runs" / "ddp" / "run.json").read_text())
    assert run["num_processes"] == 2 and run["stages"][0]["num_processes"] == 2 and run["stages"][0]["steps"] == 2
    assert (ws / "runs" / "ddp" / "stage1" / "final" / "model.safetensors").is_file()
    from distillate.curate import Workspace

    with Workspace(ws).reader() as cat:        # process 0 alone recorded the run
        assert cat.fetch("SELECT run_name FROM train_runs") == [("ddp",)]
        assert cat.fetch("SELECT command, count(*) FROM jobs GROUP BY command") == [("train", 1)]


# -- the shipped example ------------------------------------------------------------------------------

def test_example_files_and_rewrites():
    import asyncio

    from distillate.curate.build import load_recipe
    from distillate.curate.generate.config import ReformatConfig
    from distillate.curate.generate.fidelity import check
    from distillate.experiment import load_experiment

    exp = load_experiment(EXAMPLE / "experiment.yaml")
    for spec in exp.config.ingest:                  # every file the example names exists in the repo
        assert Path(exp.rel(spec.path)).is_file(), spec.path
    assert Path(exp.rel(exp.config.recipe)).is_file() and Path(exp.rel(exp.eval_keys["benchmarks_dir"])).is_dir()
    recipe = load_recipe(exp.rel(exp.config.recipe))
    assert exp.config.train["stage1_subset"] in recipe.ablations and exp.config.train["stages"] == 2
    assert "shared/data" not in (EXAMPLE / "experiment.yaml").read_text()  # no dependency on ../shared/data
    # the shipped rewrites pass the fidelity checks `distillate reformat` applies (answer kept, length, overlap)
    cfg = ReformatConfig(model="m", traces_source="o1j-short")
    short = {json.loads(x)["id"]: json.loads(x) for x in open(EXAMPLE / "data" / "short_solutions.jsonl")}
    rewrites = [json.loads(x) for x in open(EXAMPLE / "data" / "stage1_rewrites.jsonl")]
    assert len(rewrites) == len(short) == 12
    for rw in rewrites:
        s = short[rw["id"].removesuffix("-rewrite")]
        f = asyncio.run(check(cfg, s["solution"], s["solution"], s["answer"], rw["thought"], rw["solution"]))
        assert f.passed, (rw["id"], f.reasons)
    readme = (EXAMPLE / "README.md").read_text()
    script = (EXAMPLE / "reformat.sh").read_text()
    assert "distillate reformat --traces o1j-short" in script and "reformat.sh" in readme
    assert "written by hand" in readme


@pytest.mark.slow
def test_example_runs_end_to_end(tmp_path):
    """The shipped example as a user runs it (2-6 minutes on 2 loaded cores)."""
    out = tmp_path / "o1j"
    r = _cli("experiment", EXAMPLE / "experiment.yaml", "--out", out, "-q", timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    state = json.loads((out / "experiment.json").read_text())
    assert state["status"] == "ok" and [v["status"] for v in state["variants"]] == ["done"] * 5
    assert all(v["metrics"]["demo_bench"]["n_problems"] == 12 for v in state["variants"])
    run = json.loads((Path(state["variants"][0]["train_dir"]) / "run.json").read_text())
    assert [s["rows"] for s in run["stages"]] == [12, state["variants"][0]["rows"]]   # stage 1 = format_only
