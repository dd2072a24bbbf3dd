"""Decontamination: registry resolution, the lexical ensemble on real benchmarks, the stage's incremental
scans, decontam-check, the report section, embeddings and the LLM judge (against a local fake endpoint)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import orjson
import pytest

from distillate.curate import curate
from distillate.curate.decontam import DecontamConfig, contamination_pairs, decontam_check, report_section
from distillate.curate.decontam.matcher import BenchmarkIndex, MatchConfig
from distillate.curate.decontam.perturb import LIGHT_EDITS, change_numbers, light_edits
from distillate.curate.decontam.registry import BenchmarkItem, load_benchmarks, load_file
from distillate.curate.decontam.text import tokenize
from distillate.errors import DistillateError

REPO = Path(__file__).resolve().parents[1]
CLEAN_AGAINST = ["aime24", "aime25", "amc23", "math500", "gsm8k_test", "olympiadbench"]


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _bench_dir(shared_data: Path, tmp_path: Path, names: list[str]) -> Path:
    d = tmp_path / "benchmarks"
    d.mkdir(exist_ok=True)
    for n in names:
        shutil.copy(shared_data / "benchmarks" / f"{n}.jsonl", d / f"{n}.jsonl")
    return d


def _matches(ws) -> list[dict]:
    with ws.reader() as cat:
        cur = cat.con.execute("SELECT m.*, p.problem FROM contamination_matches m JOIN problems p USING (problem_id)")
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]


# -- text ------------------------------------------------------------------------------------------

def test_tokens_ignore_latex_delimiters_and_boilerplate():
    a = tokenize(r"Find $\frac{1}{2}x$ if $x \leq 3$.")
    b = tokenize("Solve the following problem.  Find \\(\\dfrac{1}{2}x\\)\n if \\(x\\le 3\\). "
                 "Put your answer in \\boxed{}.")
    assert a.toks == b.toks
    assert tokenize("What is 1,000 + 2?").numbers() == ("1000", "2")
    assert tokenize("Add 3 and 44.").masked() == ("add", "#", "and", "#")
    t = tokenize("Let $x = 5$ be given.")
    assert t.char_spans([(1, 4)]) == [[5, 10]]  # "x = 5" in the original text


# -- registry ----------------------------------------------------------------------------------------

def test_registry_resolution_rules(shared_data, tmp_path):
    d = _bench_dir(shared_data, tmp_path, ["aime24", "amc23"])
    assert sorted(load_benchmarks(None, str(d))) == ["aime24", "amc23"]  # the folder's files, exactly
    got = load_benchmarks(["amc23"], str(d))
    assert list(got) == ["amc23"] and len(got["amc23"]) == 40
    item = got["amc23"][0]
    assert isinstance(item, BenchmarkItem) and item.benchmark == "amc23" and item.id == "amc23-0" and item.answer
    with pytest.raises(DistillateError, match=r"unknown benchmark 'nope'.*aime24, aime25, amc23"):
        load_benchmarks(["nope"], str(d))
    with pytest.raises(DistillateError, match="unknown benchmark 'nope'"):
        load_benchmarks(["nope"], None)


def test_registry_bad_files(tmp_path):
    bad = tmp_path / "b.jsonl"
    bad.write_text('{"id": "1", "problem": "ok"}\n{"id": "2", "problem": ""}\n')
    with pytest.raises(DistillateError, match=r"b.jsonl:2: .*problem"):
        load_file(bad)
    bad.write_text('{"id": "1", "problem": "ok"}\nnot json\n')
    with pytest.raises(DistillateError, match=r"b.jsonl:2: not valid JSON"):
        load_file(bad)
    bad.write_text('{"problem": "first"}\n{"problem": "second", "answer": 3}\n')
    items = load_file(bad)
    assert [(i.id, i.answer) for i in items] == [("b-1", None), ("b-2", "3")]


def test_builtin_at_pinned_commit_loads_through_its_url(shared_data, tmp_path, monkeypatch):
    """college_math is read from a JSONL file at a pinned commit of Qwen2.5-Math: the real loader over a
    file:// URL holding the upstream format (question/answer), rebuilt from the shared copy; it is
    cached once fetched, and an unreachable URL is one clear error."""
    import dataclasses

    from distillate.curate.decontam import registry

    spec = registry.BUILTINS["college_math"]
    assert spec.revision == "a45202bd16f1ec06f433442dc1152d0074773465" and spec.revision in registry._origin(spec)
    shared = [orjson.loads(x) for x in open(shared_data / "benchmarks" / "college_math.jsonl", "rb")][:200]
    upstream = tmp_path / "src" / "test.jsonl"
    upstream.parent.mkdir()
    upstream.write_bytes(b"".join(orjson.dumps({k: r[k] for k in ("data_source", "question_number", "license",
                                                                  "data_topic")} | {"question": r["problem"],
                                                                                    "answer": r["answer"]}) + b"\n"
                                  for r in shared))
    monkeypatch.setenv("DISTILLATE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(registry.BUILTINS, "college_math",
                        dataclasses.replace(spec, url=upstream.as_uri().replace(spec.revision, "{revision}")))
    items = load_benchmarks(["college_math"], None)["college_math"]
    # the same ids, problems and answers as the shared copy, which was converted from that file
    assert [(i.id, i.problem, i.answer) for i in items] == [(r["id"], r["problem"], r["answer"]) for r in shared]
    upstream.unlink()  # the cached copy serves from now on
    assert len(load_benchmarks(["college_math"], None)["college_math"]) == 200
    monkeypatch.setitem(registry.BUILTINS, "college_math",
                        dataclasses.replace(spec, url=(tmp_path / "gone" / "{revision}.jsonl").as_uri()))
    with pytest.raises(DistillateError, match=r"built-in benchmark 'college_math' from file:.*--benchmarks-dir"):
        load_benchmarks(["college_math"], None)


def test_hub_builtins_are_pinned_and_load_through_datasets(shared_data, tmp_path, monkeypatch):
    """Every built-in names a commit, not a branch, and the Hub path is the real `datasets.load_dataset`
    call: here on a local folder laid out like the aime_2024 dataset repo (parquet, upstream field names)."""
    import dataclasses
    import re

    import pyarrow as pa
    import pyarrow.parquet as pq

    from distillate.curate.decontam import registry

    for name, spec in registry.BUILTINS.items():
        assert re.fullmatch(r"[0-9a-f]{40}", spec.revision), name
    shared = [orjson.loads(x) for x in open(shared_data / "benchmarks" / "aime24.jsonl", "rb")]
    repo = tmp_path / "aime_2024" / "data"
    repo.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([{"id": r["id"], "problem": r["problem"], "answer": r["answer"],
                                          "solution": "", "url": ""} for r in shared]),
                   repo / "train-00000-of-00001.parquet")
    spec = registry.BUILTINS["aime24"]
    monkeypatch.setitem(registry.BUILTINS, "aime24", dataclasses.replace(spec, hf_id=str(repo.parent)))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    items = load_benchmarks(["aime24"], None)["aime24"]
    assert [(i.id, i.problem, i.answer) for i in items] == [(r["id"], r["problem"], r["answer"]) for r in shared]


def test_builtin_offline_tells_to_use_benchmarks_dir(ws, ingest_files, tmp_path):
    """Both-given resolution falls back to the built-in, which cannot load offline: one clear error."""
    f = _write(tmp_path / "p.jsonl", [{"id": "1", "problem": "What is 2+2?", "answer": "4"}])
    ingest_files([f], "p", "problems")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    r = subprocess.run([sys.executable, "-m", "distillate.cli", "curate", "-w", str(ws.root), "--stages", "decontam",
                        "--benchmarks", "aime24", "--benchmarks-dir", str(tmp_path), "-q"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 2, r.stderr
    err = " ".join(r.stderr.split())
    assert "built-in benchmark 'aime24'" in err and "--benchmarks-dir" in err


# -- the ensemble on real data -------------------------------------------------------------------------

def test_all_math500_found_inside_math_test_and_attributed(ws, ingest_files, shared_data, tmp_path):
    ingest_files([shared_data / "benchmarks" / "math_test.jsonl"], "math_test", "problems")
    d = _bench_dir(shared_data, tmp_path, ["math500"])
    counters = curate(ws, "decontam", show_progress=False, benchmarks_dir=str(d))["decontam"]
    assert counters["problems_scanned"] == 5000 and counters["errors"] == 0
    items = {r["id"]: r["problem"] for r in _rows(d / "math500.jsonl")}
    found = {}
    for m in _matches(ws):
        assert m["benchmark"] == "math500"
        if m["method"] == "exact":
            found[m["benchmark_id"]] = m["problem"]
    assert set(found) == set(items)  # all 500, each attributed to its own item
    for bid, problem in found.items():
        assert " ".join(problem.split()) == " ".join(items[bid].split())


def test_planted_aime_edits_found_with_right_ids_and_clean_not_flagged(ws, ingest_files, shared_data, tmp_path):
    rng = random.Random(7)
    planted, clean = [], []
    for name in ("aime24", "aime25"):
        for r in _rows(shared_data / "benchmarks" / f"{name}.jsonl"):
            edits = light_edits(r["problem"], rng)
            kind = rng.choice(sorted(edits))
            planted.append({"id": f"planted-{kind}-{r['id']}", "problem": edits[kind], "answer": r["answer"],
                            "_target": (name, r["id"])})
            nums = change_numbers(r["problem"], rng)
            if nums:
                planted.append({"id": f"planted-numbers-{r['id']}", "problem": nums, "answer": "0",
                                "_target": (name, r["id"])})
    train = _rows(shared_data / "benchmarks" / "math_train.jsonl")
    clean = random.Random(1).sample(train, 400)
    rows = [{k: v for k, v in r.items() if k != "_target"} for r in planted] + \
           [{"id": r["id"], "problem": r["problem"], "answer": r["answer"]} for r in clean]
    ingest_files([_write(tmp_path / "mixed.jsonl", rows)], "mixed", "problems")
    d = _bench_dir(shared_data, tmp_path, ["aime24", "aime25"])
    curate(ws, "decontam", show_progress=False, benchmarks_dir=str(d))
    by_problem: dict[str, set] = {}
    for m in _matches(ws):
        by_problem.setdefault(" ".join(m["problem"].split()), set()).add((m["benchmark"], m["benchmark_id"]))
    for p in planted:
        got = by_problem.get(" ".join(p["problem"].split()), set())
        assert got == {p["_target"]}, (p["id"], got)
    clean_texts = {" ".join(r["problem"].split()) for r in clean}
    assert not clean_texts & set(by_problem), "clean MATH-train problems flagged against AIME"


def test_recall_and_false_positive_targets(shared_data):
    """The issue's targets on real benchmarks: >= 0.99 light-edit recall, >= 0.90 numbers-changed recall,
    <= 0.5% of MATH-train flagged against AIME, AMC, MATH-500, GSM8K and OlympiadBench."""
    items = [(n, r["id"], r["problem"]) for n in CLEAN_AGAINST
             for r in _rows(shared_data / "benchmarks" / f"{n}.jsonl")]
    idx = BenchmarkIndex(items, MatchConfig())
    rng = random.Random(0)
    hit = {k: [0, 0] for k in LIGHT_EDITS + ("numbers",)}
    for bench, bid, text in items:
        copies = light_edits(text, rng)
        nums = change_numbers(text, rng)
        if nums:
            copies["numbers"] = nums
        for kind, copy in copies.items():
            _, ms = idx.match(copy)
            hit[kind][0] += any(items[m.item][:2] == (bench, bid) for m in ms)
            hit[kind][1] += 1
    for kind in LIGHT_EDITS:
        assert hit[kind][0] / hit[kind][1] >= 0.99, (kind, hit[kind])
    assert hit["numbers"][0] / hit["numbers"][1] >= 0.90, hit["numbers"]
    train = _rows(shared_data / "benchmarks" / "math_train.jsonl")
    flagged = sum(1 for r in train if idx.match(r["problem"])[1])
    assert flagged / len(train) <= 0.005, flagged


def test_spans_point_at_the_copied_text(shared_data):
    item = _rows(shared_data / "benchmarks" / "aime24.jsonl")[3]
    idx = BenchmarkIndex([("aime24", item["id"], item["problem"])], MatchConfig())
    text = "Here is a warm-up. " + item["problem"].replace("$", "\\(", 1) + " Good luck!"
    tk, ms = idx.match(text, containment=False)
    m = next(m for m in ms if m.method == "ngram")
    spans = tk.char_spans(m.text_ranges)
    covered = "".join(text[a:b] for a, b in spans)
    assert "warm" not in covered and "luck" not in covered
    assert sum(b - a for a, b in spans) > 0.8 * len(item["problem"])


# -- the stage -------------------------------------------------------------------------------------------

def test_adding_a_benchmark_scans_incrementally(ws, ingest_files, shared_data, tmp_path, copy_ws):
    aime = _rows(shared_data / "benchmarks" / "aime24.jsonl")
    amc = _rows(shared_data / "benchmarks" / "amc23.jsonl")
    train = _rows(shared_data / "benchmarks" / "math_train.jsonl")[:300]
    first = [{"id": r["id"], "problem": r["problem"], "answer": r["answer"]} for r in train + aime[:10] + amc[:10]]
    ingest_files([_write(tmp_path / "a.jsonl", first)], "a", "problems")
    d = tmp_path / "bench"
    d.mkdir()
    shutil.copy(shared_data / "benchmarks" / "aime24.jsonl", d / "aime24.jsonl")
    c1 = curate(ws, "decontam", show_progress=False, benchmarks_dir=str(d))["decontam"]
    assert c1["problems_scanned"] == 320 and c1["benchmarks"] == 1
    assert {m["benchmark"] for m in _matches(ws)} == {"aime24"}
    # a rerun changes nothing
    assert curate(ws, "decontam", show_progress=False, benchmarks_dir=str(d))["decontam"]["matches"] == 0
    # adding a benchmark file scans the catalog against that benchmark only
    shutil.copy(shared_data / "benchmarks" / "amc23.jsonl", d / "amc23.jsonl")
    c2 = curate(ws, "decontam", show_progress=False, benchmarks_dir=str(d))["decontam"]
    assert c2["problems_scanned"] == 320
    with ws.reader() as cat:
        state = {r["benchmark"]: r for r in cat.query("decontam/state")}
        jobs = {r[0]: r[1] for r in cat.con.execute("SELECT benchmark, job_id FROM decontam_benchmarks").fetchall()}
        by_job = dict(cat.con.execute("SELECT benchmark, count(DISTINCT job_id) FROM contamination_matches "
                                      "GROUP BY benchmark").fetchall())
    assert jobs["aime24"] != jobs["amc23"] and by_job == {"aime24": 1, "amc23": 1}
    assert state["aime24"]["scanned_seq"] == state["amc23"]["scanned_seq"]
    # new problems are scanned, and only they
    more = [{"id": r["id"], "problem": r["problem"], "answer": r["answer"]} for r in aime[10:20] + amc[10:15]]
    ingest_files([_write(tmp_path / "b.jsonl", more)], "b", "problems")
    c3 = curate(ws, "decontam", show_progress=False, benchmarks_dir=str(d))["decontam"]
    assert c3["problems_scanned"] == 15 and c3["by_exact"] == 15
    incremental = sorted((m["problem_id"], m["benchmark"], m["benchmark_id"], m["method"]) for m in _matches(ws))
    # ... and the result equals one full scan of everything with both benchmarks
    full = copy_ws(ws)
    with full.job("reset") as (cat, _):
        cat.con.execute("DELETE FROM contamination_matches; DELETE FROM decontam_benchmarks;")
    curate(full, "decontam", show_progress=False, benchmarks_dir=str(d))
    assert sorted((m["problem_id"], m["benchmark"], m["benchmark_id"], m["method"]) for m in _matches(full)) == incremental
    assert len({m[0] for m in incremental}) == 35
    # a changed benchmark file is rescanned from scratch (its other items are gone)
    _write(d / "amc23.jsonl", amc[:5])
    c4 = curate(ws, "decontam", show_progress=False, benchmarks_dir=str(d))["decontam"]
    assert c4["problems_scanned"] == 335
    amc_hits = {m["benchmark_id"] for m in _matches(ws) if m["benchmark"] == "amc23"}
    assert amc_hits == {r["id"] for r in amc[:5]}


def test_report_section_and_review_pairs(ws, ingest_files, shared_data, tmp_path):
    aime = _rows(shared_data / "benchmarks" / "aime24.jsonl")
    rows = [{"id": "x", "problem": "Solve the following problem. " + aime[0]["problem"], "answer": "1"},
            {"id": "y", "problem": change_numbers(aime[1]["problem"], random.Random(3)), "answer": "1"},
            {"id": "z", "problem": "What is the capital of France?", "answer": "Paris"}]
    ingest_files([_write(tmp_path / "p.jsonl", rows)], "p", "problems")
    d = _bench_dir(shared_data, tmp_path, ["aime24"])
    curate(ws, "decontam", show_progress=False, benchmarks_dir=str(d))
    with ws.reader() as cat:
        sec = report_section(cat)
        pairs = contamination_pairs(cat, benchmark="aime24")
        cand = cat.con.execute("SELECT count(*) FROM problem_contamination").fetchone()[0]
    assert sec["contaminated_problems"] == 2 == cand
    b = sec["benchmarks"]["aime24"]
    assert b["items"] == 30 and b["problems"] == 2 and b["items_matched"] == 2
    assert b["methods"]["exact"]["problems"] == 1 and b["methods"]["masked"]["problems"] == 1
    assert {p["benchmark_problem"] for p in pairs} == {aime[0]["problem"], aime[1]["problem"]}
    for p in pairs:
        for a, b in p["spans"]["benchmark"]:
            assert 0 <= a < b <= len(p["benchmark_problem"])
        for a, b in p["spans"]["problem"]:
            assert 0 <= a < b <= len(p["problem"])
    from distillate.curate.report import build_report

    with ws.reader() as cat:
        assert build_report(cat)["decontam"]["benchmarks"]["aime24"]["problems"] == 2


def test_traces_quoting_a_benchmark_problem(copy_ws, real_ws, shared_data, tmp_path):
    """Sky-T1 traces answer AIME 2024 problems; a scan of traces finds the problem restated inside."""
    ws = copy_ws(real_ws)
    d = _bench_dir(shared_data, tmp_path, ["aime24"])
    c = curate(ws, "decontam", show_progress=False, benchmarks_dir=str(d), decontam_traces=True)["decontam"]
    assert c["traces_scanned"] > 0 and c["errors"] == 0
    tm = [m for m in _matches(ws) if m["method"] == "trace_ngram"]
    for m in tm:
        spans = json.loads(m["spans"]) if isinstance(m["spans"], str) else m["spans"]
        assert spans["trace_id"] and spans["trace"]
    # a trace restating its problem is attributed to that problem's own AIME item
    with ws.reader() as cat:
        items = {r[0]: r[1] for r in cat.con.execute("SELECT benchmark_id, problem FROM benchmark_items").fetchall()}
    exact = {(m["problem_id"], m["benchmark_id"]) for m in _matches(ws) if m["method"] == "exact"}
    assert exact and any((m["problem_id"], m["benchmark_id"]) in exact for m in tm)
    assert all(m["benchmark_id"] in items for m in tm)


def test_decontam_check_cli(real_ws, shared_data, tmp_path):
    """The other direction: a new benchmark file against the catalog (read-only)."""
    with real_ws.reader() as cat:
        res = decontam_check(cat, shared_data / "benchmarks" / "amc23.jsonl", workers=1)
        n_before = cat.con.execute("SELECT count(*) FROM contamination_matches").fetchone()[0]
    assert res["items"] == 40 and res["items_hit"] == 40  # the Sky-T1 amc23 traces' problems
    assert {o["method"] for o in res["overlaps"]} >= {"exact"}
    r = subprocess.run([sys.executable, "-m", "distillate.cli", "decontam-check", "-w", str(real_ws.root),
                        str(shared_data / "benchmarks" / "aime25.jsonl"), "--json", "-q"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["benchmark"] == "aime25" and out["items"] == 30 and out["problems_hit"] == 0
    with real_ws.reader() as cat:
        assert cat.con.execute("SELECT count(*) FROM contamination_matches").fetchone()[0] == n_before


def test_a_failing_problem_is_recorded_not_fatal(ws, ingest_files, shared_data, tmp_path, monkeypatch):
    from distillate.curate.decontam import matcher

    real = matcher.BenchmarkIndex.match

    def flaky(self, text, *a, **kw):
        if "BOOM" in text:
            raise ValueError("cannot tokenize this")
        return real(self, text, *a, **kw)

    monkeypatch.setattr(matcher.BenchmarkIndex, "match", flaky)
    aime = _rows(shared_data / "benchmarks" / "aime24.jsonl")
    rows = [{"id": "a", "problem": aime[2]["problem"], "answer": "1"},
            {"id": "b", "problem": "BOOM " + aime[3]["problem"], "answer": "1"}]
    ingest_files([_write(tmp_path / "p.jsonl", rows)], "p", "problems")
    d = _bench_dir(shared_data, tmp_path, ["aime24", "amc23"])
    c = curate(ws, "decontam", show_progress=False, benchmarks_dir=str(d))["decontam"]
    assert c["errors"] == 1 and c["by_exact"] == 1
    with ws.reader() as cat:
        errs = cat.con.execute("SELECT benchmark, error FROM decontam_errors ORDER BY benchmark").fetchall()
        assert report_section(cat)["errors"] == 1  # one problem (failed against both benchmarks)
    assert errs == [("aime24", "ValueError: cannot tokenize this"), ("amc23", "ValueError: cannot tokenize this")]


def test_config_validation():
    with pytest.raises(DistillateError, match="unknown decontam method"):
        DecontamConfig(methods=("exact", "bogus"))
    with pytest.raises(DistillateError, match="judge model"):
        DecontamConfig(methods=("exact", "llm_judge"))


# -- embeddings and the judge --------------------------------------------------------------------------

PARAPHRASE = ("Every morning Aya goes for a walk of nine kilometres and then stops at a coffee shop. "
              "Walking at a constant speed of s km/h, the whole outing takes four hours, of which t minutes "
              "are spent in the shop. At s+2 km/h the outing takes 2 hours 24 minutes, again with t minutes "
              "in the shop. If she walks at s+1/2 km/h, how many minutes does the outing take, t included?")


@pytest.mark.slow  # imports torch + sentence-transformers: ~30-60 s on the shared 2-core machine
def test_embedding_catches_a_paraphrase(ws, ingest_files, shared_data, tmp_path):
    pytest.importorskip("sentence_transformers")
    rows = [{"id": "para", "problem": PARAPHRASE, "answer": "204"},
            {"id": "other", "problem": "How many positive divisors does 3600 have?", "answer": "45"}]
    ingest_files([_write(tmp_path / "p.jsonl", rows)], "p", "problems")
    d = _bench_dir(shared_data, tmp_path, ["aime24"])
    c = curate(ws, "decontam", show_progress=False, benchmarks_dir=str(d),
               decontam_methods="exact,ngram,masked,fuzzy,embedding")["decontam"]
    ms = _matches(ws)
    assert {(m["method"], m["benchmark_id"]) for m in ms} == {("embedding", "aime2024-I-1")}, ms
    assert c["by_embedding"] == 1
    assert (ws.root / "decontam" / "embeddings").is_dir()


class _FakeJudge(BaseHTTPRequestHandler):
    calls: list[str] = []

    def do_POST(self):  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][0]["content"]
        type(self).calls.append(prompt)
        # "same problem" when the training problem mentions Aya (the paraphrase), else not
        training = prompt.split("TRAINING problem:")[1]
        answer = "True" if "Aya" in training else "False"
        data = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                           "choices": [{"index": 0, "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": answer}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


def test_llm_judge_decides_borderline_pairs(ws, ingest_files, shared_data, tmp_path):
    aime = _rows(shared_data / "benchmarks" / "aime24.jsonl")
    # 40% of the first problem's text: n-gram overlap under the thresholds (a borderline pair)
    half = aime[0]["problem"][: len(aime[0]["problem"]) * 2 // 5]
    rows = [{"id": "half", "problem": half + " Aya then rests. What is her speed?", "answer": "1"},
            {"id": "far", "problem": "Compute the number of primes below 50.", "answer": "15"}]
    ingest_files([_write(tmp_path / "p.jsonl", rows)], "p", "problems")
    d = _bench_dir(shared_data, tmp_path, ["aime24"])
    server = HTTPServer(("127.0.0.1", 0), _FakeJudge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _FakeJudge.calls = []
    try:
        c = curate(ws, "decontam", show_progress=False, benchmarks_dir=str(d), decontam_judge_model="fake",
                   decontam_judge_url=f"http://127.0.0.1:{server.server_address[1]}/v1")["decontam"]
    finally:
        server.shutdown()
    ms = _matches(ws)
    assert [(m["method"], m["benchmark_id"]) for m in ms] == [("llm_judge", aime[0]["id"])]
    assert c["judge_calls"] == len(_FakeJudge.calls) >= 1 and c["judge_yes"] == 1 and c["judge_errors"] == 0
    assert all(aime[0]["problem"][:40] in p for p in _FakeJudge.calls)
