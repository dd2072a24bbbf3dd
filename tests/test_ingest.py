"""Ingestion on real data: formats round trip, quarantine accounting, re-ingest no-op, provenance."""

from __future__ import annotations

import gzip
import json

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from distillate.curate.ids import problem_id


def _lines(path) -> int:
    return sum(1 for line in open(path, "rb") if line.strip())


def _traces(ws):
    with ws.reader() as cat:
        cur = cat.con.execute(
            "SELECT t.*, p.problem, p.answer FROM traces t JOIN problems p USING (problem_id) ORDER BY seq")
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]


def test_every_real_trace_file_and_benchmark_ingests(ws, ingest_files, shared_data):
    trace_files = sorted((shared_data / "traces").glob("*.jsonl"))
    stats = ingest_files(trace_files, "real")
    assert stats.rows_read == sum(_lines(p) for p in trace_files)
    assert stats.quarantined == 0
    # every row of every file became at least one trace (samples rows hold 8 each)
    assert stats.ingested + stats.already_present >= stats.rows_read
    bench_files = sorted((shared_data / "benchmarks").glob("*.jsonl"))
    bstats = ingest_files(bench_files, "benchmarks", fmt="problems")
    assert bstats.rows_read == sum(_lines(p) for p in bench_files) and bstats.quarantined == 0
    with ws.reader() as cat:
        assert cat.run_checks() == {}
        # all 500 MATH-500 problems are also in math_test: same problem_id, two provenance rows
        shared = cat.con.execute(
            "SELECT count(DISTINCT problem_id) FROM problem_sources WHERE file LIKE '%math500.jsonl' AND problem_id IN "
            "(SELECT problem_id FROM problem_sources WHERE file LIKE '%math_test.jsonl')").fetchone()[0]
        assert shared == 500
        # aime24 problems solved by the Sky-T1 students share the benchmark's problem_id
        n = cat.con.execute(
            "SELECT count(DISTINCT t.problem_id) FROM traces t JOIN problem_sources ps USING (problem_id) "
            "WHERE t.file LIKE '%aime24.jsonl' AND ps.file LIKE '%benchmarks/aime24.jsonl'").fetchone()[0]
        assert n == 30


def test_unclosed_thought_is_kept_and_recorded(ws, ingest_files, shared_data):
    path = shared_data / "traces" / "skyt1_math5k_14b_aime24.jsonl"
    ingest_files([path], "sky14")
    rows = [json.loads(line) for line in open(path)]
    incomplete = {r["id"] for r in rows if not r["complete"]}
    assert len(incomplete) == 22  # MANIFEST: 22/30 incomplete
    by_id = {t["source_id"]: t for t in _traces(ws)}
    for sid in incomplete:
        t = by_id[sid]
        assert t["thought_closed"] is False and t["solution"] is None and len(t["thought"]) > 1000
    for sid in set(by_id) - incomplete:
        assert by_id[sid]["thought_closed"] is True and by_id[sid]["solution"]


def _real_examples(shared_data, n=3):
    rows = [json.loads(line) for line in open(shared_data / "traces" / "thought_anchors_r1distill_math.jsonl")]
    return [r for r in rows if r["complete"]][:n]


FORMAT_WRITERS = {
    "plain": lambda r: {"id": r["id"], "problem": r["problem"], "reasoning": r["thought"], "response": r["solution"], "answer": r["answer"]},
    "plain_think": lambda r: {"id": r["id"], "question": r["problem"], "output": f"<think>\n{r['thought']}\n</think>\n\n{r['solution']}"},
    "chat": lambda r: {"id": r["id"], "messages": [
        {"role": "system", "content": "Reason step by step."},
        {"role": "user", "content": r["problem"]},
        {"role": "assistant", "content": f"<think>\n{r['thought']}\n</think>\n\n{r['solution']}"}]},
    "chat_reasoning_content": lambda r: {"uuid": r["id"], "messages": [
        {"role": "user", "content": r["problem"]},
        {"role": "assistant", "content": r["solution"], "reasoning_content": r["thought"]}]},
    "sharegpt": lambda r: {"id": r["id"], "conversations": [
        {"from": "user", "value": r["problem"]},
        {"from": "assistant", "value": f"<|begin_of_thought|>\n\n{r['thought']}\n\n<|end_of_thought|>\n\n"
                                       f"<|begin_of_solution|>\n\n{r['solution']}\n\n<|end_of_solution|>"}]},
    "openr1": lambda r: {"uuid": r["id"], "problem": r["problem"], "answer": r["answer"],
                         "generations": [f"<think>\n{r['thought']}\n</think>\n{r['solution']}", f"<think>\n{r['thought']} (2)\n</think>\n{r['solution']}"],
                         "correctness_math_verify": [True, False]},
    "s1k": lambda r: {"question": r["problem"], "solution": r["answer"], "thinking_trajectories": [r["thought"]], "attempt": r["solution"]},
}


@pytest.mark.parametrize("fmt", sorted(FORMAT_WRITERS))
@pytest.mark.parametrize("container", ["jsonl", "jsonl.gz", "json", "parquet"])
def test_format_round_trip(ws, ingest_files, shared_data, tmp_path, fmt, container):
    src = _real_examples(shared_data)
    rows = [FORMAT_WRITERS[fmt](r) for r in src]
    path = tmp_path / f"in.{container}"
    if container == "jsonl":
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    elif container == "jsonl.gz":
        with gzip.open(path, "wb") as f:
            f.write(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    elif container == "json":
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    stats = ingest_files([path], "rt")
    assert stats.quarantined == 0
    got = [t for t in _traces(ws) if not (t["thought"] or "").endswith("(2)")]
    assert len(got) == len(src)
    for r, t in zip(src, got):
        assert t["problem"] == r["problem"]
        assert t["thought"].strip() == r["thought"].strip()
        assert t["solution"].strip() == r["solution"].strip()
        assert t["thought_closed"] is True
        assert t["problem_id"] == problem_id(r["problem"])
    if fmt == "openr1":
        assert {t["label_correct"] for t in _traces(ws)} == {True, False}
        assert {t["source_id"][-3:] for t in _traces(ws)} == {"#g0", "#g1"}


def test_hf_dataset_from_local_files(ws, ingest_files, shared_data, tmp_path):
    pytest.importorskip("datasets")
    d = tmp_path / "hfds"
    d.mkdir()
    src = _real_examples(shared_data, 4)
    (d / "train.jsonl").write_bytes(b"".join(orjson.dumps(FORMAT_WRITERS["chat"](r)) + b"\n" for r in src))
    stats = ingest_files([f"hf:{d}@train"], "hf-local")
    assert stats.ingested == 4 and stats.quarantined == 0
    assert [t["source_id"] for t in _traces(ws)] == [r["id"] for r in src]


def test_quarantine_accounting(ws, ingest_files, shared_data, tmp_path):
    good = [FORMAT_WRITERS["plain"](r) for r in _real_examples(shared_data, 3)]
    bad_lines = [
        b'{"problem": "What is 2+2?", "solution": "4"',                # malformed JSON
        b'[1, 2, 3]',                                                   # not an object
        b'{"problem": 42, "solution": "x"}',                            # wrong type
        b'{"solution": "no problem field here"}',                       # missing problem
        b'{"problem": "nul \\u0000 inside", "solution": "y"}',          # NUL in a field
        b'{"problem": "bad \xff\xfe utf8", "solution": "z"}',            # invalid UTF-8
        b'{"problem": "   ", "solution": "blank problem"}',             # empty problem
    ]
    content = orjson.dumps(good[0]) + b"\n\n" + b"\n".join(bad_lines[:4]) + b"\n" + orjson.dumps(good[1]) + b"\n" \
        + b"\n".join(bad_lines[4:]) + b"\n   \n" + orjson.dumps(good[2]) + b"\n"
    path = tmp_path / "broken.jsonl"
    path.write_bytes(content)
    stats = ingest_files([path], "broken")
    assert stats.rows_read == 10 == _lines(path)
    assert stats.ingested == 3 and stats.quarantined == 7
    with ws.reader() as cat:
        q = cat.con.execute("SELECT line, reason FROM quarantine ORDER BY line").fetchall()
    reasons = dict(q)
    assert [line for line, _ in q] == [3, 4, 5, 6, 8, 9, 10]
    assert "malformed JSON" in reasons[3] and "not a JSON object" in reasons[4]
    assert "wrong type" in reasons[5] and "missing problem" in reasons[6]
    assert "NUL" in reasons[8] and "UTF-8" in reasons[9] and "empty" in reasons[10]
    # re-ingesting does not quarantine the same lines twice nor add traces
    again = ingest_files([path], "broken")
    assert again.ingested == 0 and again.already_present == 3
    with ws.reader() as cat:
        assert cat.con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 7


def test_reingest_is_a_noop_and_provenance_kept(ws, ingest_files, shared_data):
    files = [shared_data / "traces" / "s1k_gemini_fixture.jsonl", shared_data / "traces" / "qwen25math_cot8_rm_maj_100.jsonl"]
    first = ingest_files(files, "mix")
    with ws.reader() as cat:
        before = cat.con.execute("SELECT count(*), sum(hash(trace_id)) FROM traces").fetchone()
    second = ingest_files(files, "mix")
    assert second.ingested == 0 and second.already_present == first.ingested + first.already_present
    with ws.reader() as cat:
        assert cat.con.execute("SELECT count(*), sum(hash(trace_id)) FROM traces").fetchone() == before
        rows = cat.con.execute("SELECT source, source_id, file, line FROM trace_sources ORDER BY file, line").fetchall()
    s1k = [r for r in rows if r[2].endswith("s1k_gemini_fixture.jsonl")]
    assert [r[1] for r in s1k] == [f"s1k-fixture-{i}" for i in range(5)] and [r[3] for r in s1k] == [1, 2, 3, 4, 5]
    # 8 samples per problem: source_id = row id + '#sK'; identical samples are one trace with 2+ provenance rows
    q = [r for r in rows if r[2].endswith("qwen25math_cot8_rm_maj_100.jsonl")]
    assert len(q) == 800 and {r[1].rsplit("#", 1)[1] for r in q} == {f"s{k}" for k in range(8)}


def test_rows_without_id_get_file_line_source_id(ws, ingest_files, tmp_path):
    path = tmp_path / "noid.jsonl"
    path.write_text('{"problem": "Compute 1+1.", "solution": "\\\\boxed{2}"}\n\n{"problem": "Compute 2+2.", "solution": "\\\\boxed{4}"}\n')
    ingest_files([path], "noid")
    assert [t["source_id"] for t in _traces(ws)] == ["noid.jsonl:1", "noid.jsonl:3"]


def test_two_sources_share_a_problem(ws, ingest_files, shared_data):
    ingest_files([shared_data / "traces" / "skyt1_math5k_32b_ck133_aime24.jsonl"], "sky32")
    ingest_files([shared_data / "traces" / "skyt1_math5k_14b_aime24.jsonl"], "sky14")
    with ws.reader() as cat:
        n_problems = cat.con.execute("SELECT count(*) FROM problems").fetchone()[0]
        per_problem = cat.con.execute("SELECT count(DISTINCT source) FROM problem_sources GROUP BY problem_id").fetchall()
    assert n_problems == 30 and {c for (c,) in per_problem} == {2}


def test_id_normalization_matches_regex_definition(shared_data):
    """Ids hash NFC text with whitespace runs collapsed (re's \\s+ -> " ", ends stripped). The fast
    str.split() form must give exactly that on real texts and on every Unicode whitespace character, or
    ids of existing catalogs would change."""
    import re
    import sys
    import unicodedata

    from distillate.curate.ids import normalize_text

    def reference(t: str) -> str:
        return re.sub(r"\s+", " ", unicodedata.normalize("NFC", t)).strip()

    spaces = [chr(c) for c in range(sys.maxunicode + 1) if re.fullmatch(r"\s", chr(c))]
    assert len(spaces) > 20  # \t..\r, \x1c-\x1f, NBSP, U+2000-200A, U+2028/2029, U+3000, ...
    edge = ["".join(spaces), f"a{''.join(spaces)}b", "\u200b zero-width is not space\u200b", "e\u0301 cafe\u0301",
            "  lead and trail \n", "\ufeffBOM", ""]
    real = [v for f in sorted((shared_data / "traces").glob("*.jsonl")) for line in f.open()
            for v in orjson.loads(line).values() if isinstance(v, str)]
    for t in edge + real:
        assert normalize_text(t) == reference(t)


def test_ids_computed_in_worker_processes_give_the_same_catalog(real_ws, shared_data, tmp_path, monkeypatch):
    """Inputs larger than one batch get their ids in a process pool, chunk by chunk, while reading goes
    on: the catalog (ids, seq order, provenance, counts) equals the one-process ingest of the same files,
    with quarantined rows in between."""
    import importlib

    from distillate.curate import Workspace, ingest

    ingest_mod = importlib.import_module("distillate.curate.ingest")

    files = sorted(str(p) for p in (shared_data / "traces").glob("*.jsonl"))
    broken = tmp_path / "broken.jsonl"
    rows = [line for f in files for line in open(f, "rb") if line.strip()][:300]
    broken.write_bytes(b"".join(rows[:150]) + b'{"problem": 42}\n[1]\n' + b"".join(rows[150:]))
    monkeypatch.setattr(ingest_mod, "BATCH", 64)
    ws = Workspace(tmp_path / "pooled")
    with ws.job("ingest") as (cat, job_id):
        stats = ingest(cat, job_id, files + [str(broken)], source="real-traces", show_progress=False)
    assert stats.quarantined == 2 and stats.already_present >= 300
    with real_ws.reader() as a, ws.reader() as b:
        for q in ("SELECT trace_id, problem_id, seq, source_id, file, line FROM traces ORDER BY seq",
                  "SELECT problem_id, seq, answer FROM problems ORDER BY seq",
                  "SELECT file, rows_read, records_new, records_present, quarantined FROM source_files "
                  "WHERE file NOT LIKE '%broken%' ORDER BY file",
                  "SELECT trace_id, source_id, file, line FROM trace_sources WHERE file NOT LIKE '%broken%' "
                  "ORDER BY ALL"):
            assert a.con.execute(q).fetchall() == b.con.execute(q).fetchall(), q
        assert b.con.execute("SELECT line FROM quarantine ORDER BY line").fetchall() == [(151,), (152,)]
