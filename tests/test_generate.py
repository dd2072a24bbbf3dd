"""Generation and reformat through an OpenAI-compatible endpoint: a local fake server (real HTTP) injects
429 + Retry-After, 500s, timeouts, malformed JSON, broken streams and length-truncated outputs. Every request
must end completed or failed with its reason, a killed run must resume without resending completed requests,
costs must add up, and the API key must be in no file."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_openai_server import FakeOpenAI, hashed  # noqa: E402

from distillate.curate import Workspace  # noqa: E402
from distillate.curate.catalog import Catalog  # noqa: E402
from distillate.curate.generate import GenerateConfig, ReformatConfig, generate, reformat, report_section  # noqa: E402
from distillate.errors import DistillateError  # noqa: E402

KEY = "sk-test-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
PRICE = {"input": 1.5, "output": 6.0}  # USD per 1M tokens
EXE = Path(sys.executable).parent / "distillate"


@pytest.fixture
def problems(shared_data, tmp_path):
    """The first 8 AIME 2024 problems as a problem file, and their answers for the fake model."""
    rows = [json.loads(line) for line in (shared_data / "benchmarks" / "aime24.jsonl").open()][:8]
    f = tmp_path / "problems.jsonl"
    f.write_text("".join(json.dumps({"id": r["id"], "problem": r["problem"], "answer": r["answer"]}) + "\n"
                         for r in rows))
    return f, {r["problem"]: r["answer"] for r in rows}


@pytest.fixture
def price_table(tmp_path):
    p = tmp_path / "prices.json"
    p.write_text(json.dumps({"fake-*": PRICE}))
    return p


@pytest.fixture
def key_env(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)


def _cfg(url, **kw):
    base = dict(model="fake-r1", endpoint=url, n=3, max_tokens=1000, concurrency=4, timeout=1.0,
                backoff_base=0.01, backoff_max=0.05)
    base.update(kw)
    return GenerateConfig(**base)


def _journal(ws):
    with ws.reader() as cat:
        return cat.query("generate/report_status"), [dict(zip(
            ("request_id", "status", "attempts", "last_error", "errors", "trace_id", "cost", "pt", "ct"), r))
            for r in cat.con.execute("SELECT request_id, status, attempts, last_error, CAST(errors AS VARCHAR), "
                                     "trace_id, cost_usd, prompt_tokens, completion_tokens FROM gen_requests").fetchall()]


def _cost(pt, ct):
    return (pt * PRICE["input"] + ct * PRICE["output"]) / 1e6


def _assert_key_nowhere(root: Path, *texts: str):
    pieces = [KEY, KEY[:12], KEY[-12:]]
    for p in root.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            for piece in pieces:
                assert piece.encode() not in data, f"API key material in {p}"
    for t in texts:
        for piece in pieces:
            assert piece not in t, "API key material in the logs"


# ---- faults: every request ends completed or failed, with its reason ------------------------------

FAULTS = ["429", "500", "timeout", "malformed", "stream_garbage", "length"]


@pytest.mark.parametrize("stream,style", [(True, "reasoning_content"), (False, "think")])
def test_faults_end_completed_or_failed_and_costs_add_up(ws, problems, price_table, key_env, stream, style):
    pfile, answers = problems
    always_500, bad_request = set(), set()

    def faults(rid, n):
        if hashed(rid, 11, 9):
            always_500.add(rid)
            return "500"
        if hashed(rid, 11, 10):
            bad_request.add(rid)
            return "400"
        if n == 0:
            for i, f in enumerate(FAULTS):
                if hashed(rid, 11, i) and (stream or f != "stream_garbage"):
                    return f
        return None

    with FakeOpenAI(answers, key=KEY, faults=faults, hang=1.6, style=style) as srv:
        res = generate(ws, _cfg(srv.url, stream=stream, price_table=str(price_table), max_attempts=3),
                       str(pfile), show_progress=False)
        log = list(srv.log)
    c = res.counters
    assert c["planned"] == 24 and c["completed"] + c["failed"] == 24
    _, rows = _journal(ws)
    assert len(rows) == 24
    by_id = {r["request_id"]: r for r in rows}
    assert always_500 and bad_request, "the fault plan must hit both permanent faults"
    for r in rows:
        assert r["status"] in ("completed", "failed")
        if r["status"] == "failed":
            assert r["last_error"] and json.loads(r["errors"]), r
    seen = {}
    for e in log:
        seen[e["rid"]] = seen.get(e["rid"], 0) + 1
    for rid in always_500:  # retried up to max_attempts, then failed with the 500 as reason
        assert by_id[rid]["status"] == "failed" and by_id[rid]["attempts"] == 3 and seen[rid] == 3
        assert "500" in by_id[rid]["last_error"]
    for rid in bad_request:  # not retryable: one attempt
        assert by_id[rid]["status"] == "failed" and seen[rid] == 1 and "400" in by_id[rid]["last_error"]
    ok_ids = {r["request_id"] for r in rows if r["status"] == "completed"}
    assert ok_ids == set(by_id) - always_500 - bad_request
    # 429 carried Retry-After: 1 -> the next attempt of that request came at least ~1 s later
    for i, e in enumerate(log):
        if e["fault"] == "429":
            nxt = next(x for x in log[i + 1:] if x["rid"] == e["rid"])
            assert nxt["t"] - e["t"] >= 0.95
    # costs add up: the journal's cost is the server's billed usage at the table's prices
    pt, ct = srv.billed_tokens()
    assert sum(r["pt"] or 0 for r in rows) == pt and sum(r["ct"] or 0 for r in rows) == ct
    assert sum(r["cost"] or 0 for r in rows) == pytest.approx(_cost(pt, ct), rel=1e-9)
    assert c["cost_usd"] == pytest.approx(_cost(pt, ct), rel=1e-6)
    with ws.reader() as cat:
        traces = cat.con.execute(
            "SELECT t.trace_id, t.thought, t.solution, t.thought_closed, t.finish_reason, t.metadata, ts.source_id "
            "FROM traces t JOIN trace_sources ts USING (trace_id) WHERE ts.source = 'gen:fake-r1'").fetchall()
        rep = report_section(cat)
    assert len(traces) == len(ok_ids) and {t[6] for t in traces} == ok_ids  # one trace per completed request
    length_kept = 0
    for tid, thought, solution, closed, finish, meta, sid in traces:
        assert "<think>" not in (thought or "") and "</think>" not in (solution or "")
        g = json.loads(meta)["generation"]
        assert g["request_id"] == sid == by_id[sid]["request_id"] and by_id[sid]["trace_id"] == tid
        assert g["endpoint"] == srv.url and g["model"] == "fake-r1" and g["template_hash"]
        assert g["params"]["max_tokens"] == 1000 and g["params"]["temperature"] == 0.7
        if finish == "length":  # --on-length keep: stored as truncated
            length_kept += 1
            assert closed is False and solution is None
        else:
            assert closed is True and "\\boxed{" in solution
    assert length_kept == c["truncated_kept"] > 0
    assert rep["journal"]["by_status"] == {"completed": len(ok_ids), "failed": 24 - len(ok_ids)}
    assert rep["journal"]["cost_usd"] == pytest.approx(_cost(pt, ct), rel=1e-6)
    assert {f["error_kind"] for f in rep["failures"]} == {"server_error", "bad_request"}
    _assert_key_nowhere(ws.root)


def test_length_policies(tmp_path, problems, key_env, price_table):
    pfile, answers = problems
    need = lambda rid: 1500 if hashed(rid, 2, 0) else None  # noqa: E731 - half the requests need > 1000 tokens
    with FakeOpenAI(answers, length_needed=need) as srv:
        out, logs = {}, {}
        for policy in ("keep", "retry", "drop"):
            start = len(srv.log)
            ws = Workspace(tmp_path / policy)
            res = generate(ws, _cfg(srv.url, n=2, on_length=policy, price_table=str(price_table)), str(pfile),
                           show_progress=False)
            with ws.reader() as cat:
                out[policy] = (res.counters, cat.con.execute(
                    "SELECT r.status, r.finish_reason, t.thought_closed, t.solution IS NULL, r.attempts, "
                    "r.completion_tokens, r.cost_usd, r.request_id FROM gen_requests r "
                    "LEFT JOIN traces t USING (trace_id)").fetchall())
            logs[policy] = srv.log[start:]
    truncated = sum(1 for r in out["keep"][1] if r[1] == "length")
    assert truncated > 0
    keep = out["keep"][1]
    assert all(r[0] == "completed" for r in keep)
    assert all(r[2] is False and r[3] for r in keep if r[1] == "length")
    retry = out["retry"][1]  # resent with max_tokens doubled: 1000 -> 2000 >= 1500 completes
    assert all(r[0] == "completed" and r[1] == "stop" for r in retry)
    retried = [r for r in retry if r[4] == 2]
    assert len(retried) == truncated == out["retry"][0]["length_retries"]
    for r in retried:  # both attempts were billed, and the journal says so
        sent = [e for e in logs["retry"] if e["rid"] == r[7]]
        assert [e["max_tokens"] for e in sent] == [1000, 2000]
        assert r[5] == sum(e["usage"]["completion_tokens"] for e in sent)
    drop = out["drop"][1]
    assert sum(1 for r in drop if r[0] == "dropped") == truncated
    assert all(r[2] is None for r in drop if r[0] == "dropped")  # no trace stored
    assert all(r[6] and r[6] > 0 for r in drop if r[0] == "dropped")  # but the tokens were paid for


def test_auth_failure_stops_the_run_and_never_stores_the_key(ws, problems, monkeypatch):
    pfile, answers = problems
    monkeypatch.setenv("MY_KEY", KEY)  # the server expects another key, and echoes ours in its 401 body
    with FakeOpenAI(answers, key="sk-the-right-one-000000000") as srv:
        with pytest.raises(DistillateError, match="auth"):
            generate(ws, _cfg(srv.url, api_key_env="MY_KEY", concurrency=2), str(pfile), show_progress=False)
        assert len(srv.log) <= 2  # the first 401s stopped the run
    with Catalog(ws.catalog_path) as cat:
        st = dict(cat.con.execute("SELECT status, count(*) FROM gen_requests GROUP BY ALL").fetchall())
        errs = [r[0] for r in cat.con.execute("SELECT last_error FROM gen_requests WHERE status='failed'").fetchall()]
        job = cat.con.execute("SELECT status, CAST(args AS VARCHAR) FROM jobs WHERE command='generate'").fetchall()
    assert st.get("failed", 0) <= 2 and st.get("pending", 0) >= 22 and "completed" not in st
    assert errs and all("Incorrect API key" in e and KEY not in e for e in errs)
    assert job[0][0] == "failed" and "MY_KEY" in job[0][1]
    _assert_key_nowhere(ws.root)


# ---- kill -9 mid-run, then resume ---------------------------------------------------------------

def _completed_ids(ws_root: Path, tmp: Path) -> set[str]:
    """What the killed run had made durable: committed to the catalog (open a copy: DuckDB's WAL is replayed on
    open) or written to its completion log (replayed by the next run)."""
    copy = tmp / "after-kill"
    shutil.copytree(ws_root, copy, ignore=shutil.ignore_patterns("job.lock", "snapshots"))
    with Catalog(copy / "catalog.duckdb") as cat:
        done = {r[0] for r in cat.fetch("SELECT request_id FROM gen_requests WHERE status = 'completed'")}
    for seg in (copy / "generate" / "completion-log").glob("*.jsonl"):
        for line in seg.read_text().splitlines():
            try:
                e = json.loads(line)
            except json.JSONDecodeError:  # cut short by the kill: never acknowledged, so sent again (wal.py)
                continue
            if e["update"]["status"] == "completed":
                done.add(e["update"]["request_id"])
    return done


def test_kill_and_resume_sends_no_completed_request_again(tmp_path, problems, price_table):
    pfile, answers = problems
    wsdir = tmp_path / "ws"
    env = dict(os.environ, OPENAI_API_KEY=KEY, DISTILLATE_WORKSPACE=str(wsdir))
    # 500s with the key in their body put error text (redacted) into the journal and the debug log
    faults = lambda rid, n: "500" if n == 0 and hashed(rid, 5, 0) else None  # noqa: E731
    with FakeOpenAI(answers, key=KEY, faults=faults, delay=0.25) as srv:
        args = [str(EXE), "generate", "--problems", str(pfile), "--endpoint", srv.url, "--model", "fake-r1",
                "--n", "3", "--max-tokens", "1000", "--concurrency", "3", "--price-table", str(price_table),
                "--timeout", "10", "--debug"]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        deadline = time.monotonic() + 120
        while len(srv.ok()) < 8 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        out1, err1 = proc.communicate(timeout=30)
        cutoff = len(srv.log)
        done_at_kill = _completed_ids(wsdir, tmp_path)
        billed_before = srv.ok()
        assert 0 < len(done_at_kill) < 24
        r2 = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
        assert r2.returncode == 0, r2.stderr[-3000:]
        log = list(srv.log)
    resent = [e for e in log[cutoff:] if e["rid"] in done_at_kill]
    assert not resent, f"{len(resent)} completed request(s) were sent again"
    ws = Workspace(wsdir)
    _, rows = _journal(ws)
    assert len(rows) == 24 and all(r["status"] == "completed" for r in rows)
    with ws.reader() as cat:
        n_sources = cat.con.execute(
            "SELECT count(*), count(DISTINCT source_id) FROM trace_sources WHERE source = 'gen:fake-r1'").fetchone()
        n_traces = cat.con.execute("SELECT count(*) FROM traces WHERE source = 'gen:fake-r1'").fetchone()[0]
        jobs = dict(cat.con.execute("SELECT status, count(*) FROM jobs WHERE command = 'generate' GROUP BY ALL").fetchall())
    assert n_sources == (24, 24) and n_traces == 24  # nothing stored twice
    assert jobs == {"running": 1, "ok": 1}  # the killed job stays visible as running
    # costs add up: the journal holds exactly what the server billed, minus the responses the killed
    # process received but never committed
    lost = [e for e in billed_before if e["rid"] not in done_at_kill]
    pt_all, ct_all = srv.billed_tokens()
    pt = pt_all - sum(e["usage"]["prompt_tokens"] for e in lost)
    ct = ct_all - sum(e["usage"]["completion_tokens"] for e in lost)
    assert sum(r["pt"] for r in rows) == pt and sum(r["ct"] for r in rows) == ct
    assert sum(r["cost"] for r in rows) == pytest.approx(_cost(pt, ct), rel=1e-9)
    assert any("500" in (r["errors"] or "") for r in rows)
    _assert_key_nowhere(wsdir, out1, err1, r2.stdout, r2.stderr)


def test_kill_resends_at_most_the_requests_in_flight(tmp_path, shared_data):
    """Issue 23's scenario: 70 problems, killed after about a third completed, rerun. A completed response
    is durable before it counts as done, so only requests in flight at the kill (at most --concurrency) are
    sent again; none that the journal had as completed."""
    rows = [json.loads(x) for x in (shared_data / "benchmarks" / "math_train.jsonl").open()][:70]
    pfile = tmp_path / "p70.jsonl"
    pfile.write_text("".join(json.dumps({"id": r["id"], "problem": r["problem"], "answer": r["answer"]}) + "\n"
                             for r in rows))
    wsdir = tmp_path / "ws"
    env = dict(os.environ, OPENAI_API_KEY=KEY, DISTILLATE_WORKSPACE=str(wsdir))
    concurrency = 4
    with FakeOpenAI({r["problem"]: r["answer"] for r in rows}, key=KEY, delay=0.1) as srv:
        args = [str(EXE), "generate", "--problems", str(pfile), "--endpoint", srv.url, "--model", "fake-r1",
                "--max-tokens", "1000", "--concurrency", str(concurrency), "--timeout", "10", "--no-stream"]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        deadline = time.monotonic() + 120
        while len(srv.ok()) < 23 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        cutoff = len(srv.log)
        billed_before = {e["rid"] for e in srv.ok()}
        done_at_kill = _completed_ids(wsdir, tmp_path)
        r2 = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
        assert r2.returncode == 0, r2.stderr[-3000:]
        after = [e["rid"] for e in srv.log[cutoff:]]
    resent = billed_before & set(after)
    assert 23 <= len(billed_before) < 70 and len(done_at_kill) >= len(billed_before) - concurrency
    assert len(resent) <= concurrency, f"{len(resent)} completed request(s) were sent again"
    assert not done_at_kill & set(after)
    assert len(after) == 70 - len(done_at_kill)  # the rerun sent exactly what the journal did not have


# ---- reformat -----------------------------------------------------------------------------------

def test_reformat_fidelity_failures_are_kept_with_reasons(ws, shared_data, ingest_files, key_env):
    ingest_files([shared_data / "traces" / "thought_anchors_r1distill_math.jsonl"], "anchors")
    with Catalog(ws.catalog_path) as cat:
        originals = cat.con.execute("SELECT t.trace_id, t.solution, p.problem, p.answer FROM traces t JOIN problems p "
                                    "USING (problem_id) WHERE t.solution LIKE '%boxed%' ORDER BY t.seq LIMIT 200").fetchall()
    answers = {o[2]: o[3] for o in originals}
    fault = lambda rid: "wrong_answer" if hashed(rid, 4, 0) else "short" if hashed(rid, 4, 1) else None  # noqa: E731
    with FakeOpenAI(answers, reformat_fault=fault) as srv:
        cfg = ReformatConfig(model="fake-rewriter", endpoint=srv.url, traces_source="anchors", limit=12,
                             max_tokens=4000, concurrency=4, timeout=5.0, backoff_base=0.01, min_length_ratio=1.0)
        res = reformat(ws, cfg, show_progress=False)
        wrong = {e["rid"] for e in srv.log if fault(e["rid"]) == "wrong_answer"}
        short = {e["rid"] for e in srv.log if fault(e["rid"]) == "short"}
    # every selected trace has a boxed solution (the originals query above), so all 12 are rewritten
    assert res.counters["skipped_no_solution"] == 0 and res.counters["completed"] == 12, res.counters
    with ws.reader() as cat:
        rows = cat.con.execute(
            "SELECT r.request_id, t.parent_trace_id, c.passed, c.reasons, c.length_ratio, c.ngram_overlap, "
            "c.answer_verdict, o.trace_id IS NOT NULL FROM gen_requests r JOIN traces t USING (trace_id) "
            "JOIN reformat_checks c USING (trace_id) LEFT JOIN traces o ON o.trace_id = t.parent_trace_id "
            "WHERE r.kind = 'reformat'").fetchall()
        cand = cat.con.execute("SELECT count(*) FILTER (WHERE reformat_passed), count(*) FILTER (WHERE NOT reformat_passed) "
                               "FROM candidates WHERE parent_trace_id IS NOT NULL").fetchone()
        rep = report_section(cat)
    assert len(rows) == res.counters["completed"] > 0 and wrong and short
    for rid, parent, passed, reasons, ratio, ovl, verdict, parent_exists in rows:
        assert parent and parent_exists
        if rid in wrong:
            assert not passed and "answer_changed" in reasons and verdict == "incorrect"
        elif rid in short:
            assert not passed and "too_short" in reasons and "low_overlap" in reasons
        else:  # a faithful rewrite: same answer, longer, keeps the original's n-grams
            assert passed, reasons
            assert ratio > 1 and ovl > 0.9 and verdict == "correct"
    n_pass = sum(1 for r in rows if r[2])
    assert cand == (n_pass, len(rows) - n_pass)
    assert rep["reformat"]["checked"] == len(rows) and rep["reformat"]["failed"] == len(rows) - n_pass
    assert rep["reformat"]["reasons"]["answer_changed"] == sum(1 for r in rows if r[0] in wrong)


# ---- rejection sampling: pass rates -------------------------------------------------------------

def test_pass_rates_from_k_samples(ws, problems, key_env):
    from distillate.curate.pipeline import curate

    pfile, answers = problems
    wrong = lambda rid: hashed(rid, 3, 0)  # noqa: E731 - about a third of the samples answer wrongly
    with FakeOpenAI(answers, wrong=wrong) as srv:
        generate(ws, _cfg(srv.url, n=4), str(pfile), show_progress=False)
    curate(ws, "verify", show_progress=False)
    with ws.reader() as cat:
        req = cat.con.execute("SELECT problem_id, request_id FROM gen_requests WHERE status = 'completed'").fetchall()
        rates = {r[0]: r[1:] for r in cat.con.execute(
            "SELECT problem_id, n_samples, n_correct, pass_rate FROM problem_pass_rates").fetchall()}
        mid = {r[0] for r in cat.con.execute(
            "SELECT DISTINCT problem_id FROM candidates WHERE pass_rate > 0 AND pass_rate < 1").fetchall()}
        rep = report_section(cat)
    expected: dict[str, list[bool]] = {}
    for pid, rid in req:
        expected.setdefault(pid, []).append(not wrong(rid))
    assert len(expected) == 8
    for pid, oks in expected.items():
        n, n_correct, rate = rates[pid]
        assert n == 4 and n_correct == sum(oks) and rate == pytest.approx(sum(oks) / 4)
    assert mid == {pid for pid, oks in expected.items() if 0 < sum(oks) < 4}
    pr = rep["pass_rates"]
    assert pr["problems_graded"] == 8 and sum(pr["buckets"].values()) == 8
    assert len(pr["per_problem"]) == 8 and pr["per_problem"][0]["pass_rate"] == min(r[2] for r in rates.values())


# ---- rate limits, config errors, the vllm backend ----------------------------------------------

def test_rpm_limit_spaces_requests_and_more_samples_reuse_earlier_ones(ws, problems, key_env):
    pfile, answers = problems
    with FakeOpenAI(answers) as srv:  # rpm=60: a 10-request burst, then one per second
        generate(ws, _cfg(srv.url, n=2, rpm=60, concurrency=8, limit=7), str(pfile), show_progress=False)
        t = sorted(e["t"] for e in srv.log)
        assert len(t) == 14 and t[-1] - t[0] >= (14 - 10) * 0.9
        # raising K later sends only the new samples: sample k's request id does not depend on n
        start = len(srv.log)
        res = generate(ws, _cfg(srv.url, n=3, limit=7), str(pfile), show_progress=False)
        assert len(srv.log) - start == 7 and res.counters["already_done"] == 14
    with ws.reader() as cat:
        assert cat.con.execute("SELECT sample_index, count(*) FROM gen_requests GROUP BY ALL ORDER BY 1").fetchall() \
            == [(0, 7), (1, 7), (2, 7)]


def test_token_bucket_settles_real_usage():
    from distillate.curate.generate.ratelimit import TokenBucket

    b = TokenBucket(per_minute=600)  # 10/s, capacity 100
    assert b.capacity == 100 and b.wait_time(100) == 0
    b.take(100)
    assert b.wait_time(50) == pytest.approx(5.0, abs=0.1)
    b.settle(100, 20)  # the request used 20 of the 100 reserved
    assert b.wait_time(80) <= 0.05


def test_redaction_and_endpoint_provenance():
    from distillate.redact import public_url, redact

    assert KEY not in redact(f"bad key {KEY}", KEY) and KEY[:12] not in redact(f"key {KEY[:12]}...{KEY[-4:]}", KEY)
    assert public_url("https://user:pw@api.example.com:8443/v1?api-key=zzz") == "https://api.example.com:8443/v1"


def _cli(*args, env=None):
    e = dict(os.environ, **(env or {}))
    e.pop("OPENAI_API_KEY", None)
    r = subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True, env=e, timeout=120)
    r.stderr = " ".join(r.stderr.split())  # rich wraps long lines
    return r


def test_cli_errors_are_one_clear_line(tmp_path, problems):
    pfile, _ = problems
    w = ["--workspace", str(tmp_path / "ws")]
    r = _cli("generate", "--problems", pfile, "--model", "m", "--backend", "vllm", *w)
    assert r.returncode == 2 and "pip install 'distillate[vllm]'" in r.stderr
    r = _cli("generate", "--problems", pfile, "--model", "m", "--endpoint", "https://api.example.com/v1", *w)
    assert r.returncode == 2 and "OPENAI_API_KEY" in r.stderr and "--api-key-env" in r.stderr
    r = _cli("generate", "--problems", pfile, "--model", "m", "--endpoint", "http://127.0.0.1:9/v1",
             "--on-length", "maybe", *w)
    assert r.returncode == 2 and "--on-length" in r.stderr
    r = _cli("generate", "--problems", "no-such-source", "--model", "m", "--endpoint", "http://127.0.0.1:9/v1", *w)
    assert r.returncode == 2 and "no such file, and no catalog source" in r.stderr
    r = _cli("reformat", "--traces", "nope", "--model", "m", "--endpoint", "http://127.0.0.1:9/v1",
             "--prompt", "no placeholder here {problem}", *w)
    assert r.returncode == 2 and "{solution}" in r.stderr


# ---- reasoning models (issue 24): parameters per family, hidden reasoning, refusals ------------------

O1_PRICE = {"input": 3.0, "output": 12.0}


def _hidden_cfg(url, price, **kw):
    base = dict(model="o1-mini", endpoint=url, n=2, max_tokens=4000, concurrency=4, timeout=5.0,
                backoff_base=0.01, backoff_max=0.05, price_table=str(price))
    base.update(kw)
    return GenerateConfig(**base)


@pytest.mark.parametrize("stream", [True, False])
def test_reasoning_model_gets_its_parameters_and_hidden_tokens_are_costed(ws, problems, tmp_path, key_env, stream):
    from rich.console import Console

    from distillate.curate.generate import render_section

    pfile, answers = problems
    price = tmp_path / "o1.json"
    price.write_text(json.dumps({"o1-*": O1_PRICE}))
    with FakeOpenAI(answers, key=KEY, reasoning_model=True) as srv:
        res = generate(ws, _hidden_cfg(srv.url, price, prompt="long-thought", reasoning_effort="high", stream=stream),
                       str(pfile), show_progress=False)
        log = list(srv.log)
    c = res.counters
    assert c["planned"] == 16 and c["completed"] == 16 and c["failed"] == 0 and len(log) == 16  # no refusal, no retry
    for e in log:  # what a reasoning model accepts, and nothing it refuses
        assert e["status"] == 200 and e["max_completion_tokens"] == 4000 and e["reasoning_effort"] == "high"
        assert not {"max_tokens", "temperature", "top_p"} & set(e["params"])
    hidden = {e["rid"]: e["usage"]["completion_tokens_details"]["reasoning_tokens"] for e in log}
    pt, ct = srv.billed_tokens()
    with ws.reader() as cat:
        rows = cat.fetch("SELECT request_id, prompt_tokens, completion_tokens, reasoning_tokens, hidden_reasoning_tokens, "
                         "cost_usd, hidden_reasoning_cost_usd, template_name, template_hash, params FROM gen_requests")
        traces = cat.fetch("SELECT thought, solution, metadata FROM traces WHERE source = 'gen:o1-mini'")
        rep = report_section(cat)
    assert len(rows) == 16
    for rid, p_, c_, r_, h_, cost, hcost, tname, thash, params in rows:
        assert h_ == r_ == hidden[rid] > 0 and c_ > h_  # billed, not returned: all of the reasoning is hidden
        assert cost == pytest.approx((p_ * O1_PRICE["input"] + c_ * O1_PRICE["output"]) / 1e6, rel=1e-9)
        assert hcost == pytest.approx(h_ * O1_PRICE["output"] / 1e6, rel=1e-9)
        assert tname == "long-thought" and len(thash) == 16
        assert set(json.loads(params)) == {"max_tokens", "seed", "reasoning_effort"}  # the journal says what was sent
    for thought, solution, meta in traces:  # the long thought was drawn into the visible answer by the template
        assert thought.startswith("Let me restate the problem") and "verify" in thought and "\\boxed{" in solution
        g = json.loads(meta)["generation"]
        assert g["template_name"] == "long-thought" and g["usage"]["hidden_reasoning_tokens"] > 0
    j = rep["journal"]
    total_hidden = sum(hidden.values())
    assert j["hidden_reasoning_tokens"] == c["hidden_reasoning_tokens"] == total_hidden
    assert j["completion_tokens"] == ct and j["visible_completion_tokens"] == ct - total_hidden and j["prompt_tokens"] == pt
    assert j["cost_usd"] == pytest.approx((pt * 3.0 + ct * 12.0) / 1e6, rel=1e-6)
    assert j["hidden_reasoning_cost_usd"] == pytest.approx(total_hidden * 12.0 / 1e6, rel=1e-6)
    con = Console(record=True, width=200)
    render_section(con, rep)
    text = con.export_text()
    assert "hidden reasoning tok" in text and f"{total_hidden:,} of them hidden reasoning" in text


def test_refused_parameter_is_reported_once_with_the_fix(ws, problems, tmp_path, key_env, price_table):
    pfile, answers = problems
    with FakeOpenAI(answers, key=KEY, reasoning_model=True) as srv:
        # a deployment name the family rules cannot know: sent as a chat model, refused
        with pytest.raises(DistillateError) as ei:
            generate(ws, _cfg(srv.url, model="fake-reasoner", concurrency=4), str(pfile), show_progress=False)
        msg = str(ei.value)
        first = list(srv.log)
        assert "refused the parameter 'max_tokens'" in msg and "Use 'max_completion_tokens' instead" in msg
        assert "--reasoning-model fake-reasoner" in msg
        assert len(first) <= 4 and len({e["rid"] for e in first}) == len(first)  # at most the requests in flight, once each
        with ws.reader() as cat:
            st = dict(cat.fetch("SELECT status, count(*) FROM gen_requests GROUP BY ALL"))
            kinds = {r[0] for r in cat.fetch("SELECT errors->>'$[0].kind' FROM gen_requests WHERE status = 'failed'")}
        assert st["failed"] == len(first) and st["pending"] == 24 - len(first) and kinds == {"unsupported_parameter"}
        # the fix works: named as a reasoning model, every request succeeds
        res = generate(ws, _cfg(srv.url, model="fake-reasoner", reasoning_models=["fake-reason*"], concurrency=4),
                       str(pfile), show_progress=False)
        assert res.counters["completed"] == 24 and res.counters["failed"] == 0
        assert all(e["status"] == 200 for e in srv.log[len(first):])
        # the CLI says it once, on one line
        r = subprocess.run([str(EXE), "generate", "--problems", str(pfile), "--model", "other-reasoner", "--endpoint",
                            srv.url, "--max-tokens", "500", "--workspace", str(tmp_path / "ws2")], capture_output=True,
                           text=True, env={**os.environ, "OPENAI_API_KEY": KEY}, timeout=120)
    err = " ".join(r.stderr.split())
    assert r.returncode == 2 and err.count("error:") == 1 and "--reasoning-model other-reasoner" in err


@pytest.mark.parametrize("style", ["reasoning_content", "reasoning", "think", "hidden"])
def test_each_reasoning_shape_is_stored(ws, problems, key_env, style):
    """DeepSeek-R1 `reasoning_content`, vLLM's `reasoning`, <think> tags in the content, and hidden reasoning."""
    pfile, answers = problems
    model = "o3-mini" if style == "hidden" else "fake-r1"
    with FakeOpenAI(answers, style=style) as srv:
        res = generate(ws, _cfg(srv.url, model=model, n=1, stream=style != "reasoning"), str(pfile),
                       show_progress=False)
        server_reasoning = {e["rid"]: e["usage"]["completion_tokens_details"]["reasoning_tokens"] for e in srv.log}
    assert res.counters["completed"] == 8
    with ws.reader() as cat:
        rows = cat.fetch("SELECT r.request_id, t.thought, t.solution, t.thought_closed, r.reasoning_tokens, "
                         "r.hidden_reasoning_tokens FROM gen_requests r JOIN traces t USING (trace_id)")
    for rid, thought, solution, closed, rtok, htok in rows:
        assert "\\boxed{" in solution and "<think>" not in solution and closed is not False
        assert rtok == server_reasoning[rid]
        if style == "hidden":  # nothing of the reasoning came back: no thought, every reasoning token hidden
            assert thought is None and htok == rtok > 0
        else:
            assert thought.startswith("Let me think about this step by step") and htok == 0


def test_hidden_reasoning_spending_the_whole_cap_is_dropped_not_retried(ws, problems, key_env):
    pfile, answers = problems
    with FakeOpenAI(answers, reasoning_model=True) as srv:  # ~600 hidden tokens, cap 100: nothing visible
        res = generate(ws, _cfg(srv.url, model="o1", n=1, max_tokens=100), str(pfile), show_progress=False)
        assert len(srv.log) == 8
    assert res.counters["dropped"] == 8 and res.counters["hidden_reasoning_tokens"] > 0
    with ws.reader() as cat:
        msgs = {r[0] for r in cat.fetch("SELECT last_error FROM gen_requests")}
    assert len(msgs) == 1 and "hidden reasoning used the whole cap of 100 tokens" in msgs.pop()


# ---- named prompt templates ---------------------------------------------------------------------

def test_prompt_templates_by_name_file_or_text(tmp_path):
    from distillate.curate.generate import DEFAULT_PROMPT, named_templates, resolve_prompt
    from distillate.curate.generate.runner import request_id, request_params

    names = named_templates()
    assert {"default", "long-thought", "reformat"} <= set(names)
    lt = names["long-thought"]
    for word in ("<think>", "</think>", "backtrack", "verify", "reflect", "explore", "{problem}", "\\boxed{{}}"):
        assert word in lt, word
    assert resolve_prompt("long-thought").name == "long-thought"
    f = tmp_path / "p.txt"
    f.write_text("Q: {problem}")
    assert resolve_prompt(f"@{f}") == resolve_prompt(str(f)) and resolve_prompt(f"@{f}").text == "Q: {problem}"
    assert resolve_prompt("Solve {problem} now").name == "inline"
    with pytest.raises(DistillateError, match="named templates: .*long-thought"):
        resolve_prompt("long-thougt")
    # the default template is byte-identical to the one before templates were files: request ids (and so
    # resumes of earlier runs) do not change
    cfg = GenerateConfig(model="fake-r1", endpoint="http://x/v1", n=3, max_tokens=1000)
    assert cfg.prompt == "default" and cfg.template.text == DEFAULT_PROMPT and cfg.template_hash == "ef8b9a4360d3ac80"
    assert request_id("generate", "p1", None, 1, cfg.model, request_params(cfg, 1),
                      cfg.template_hash) == "r2d4d5d168749825cc0eff010"


# ---- cost before spending: --dry-run ------------------------------------------------------------

def _render(user: str) -> int:
    return max(1, len(user) // 4)


def test_dry_run_prints_requests_and_cost_and_sends_nothing(tmp_path, problems, price_table):
    from distillate.curate.generate import DEFAULT_PROMPT
    from distillate.curate.generate.config import render

    pfile, answers = problems
    wsdir = tmp_path / "ws"
    base = [str(EXE), "generate", "--problems", str(pfile), "--endpoint", "http://127.0.0.1:9/v1", "--model",
            "fake-r1", "--n", "3", "--max-tokens", "1000", "--price-table", str(price_table), "--workspace", str(wsdir)]
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    r = subprocess.run(base + ["--dry-run", "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    est = json.loads(r.stdout)
    assert not wsdir.exists()  # nothing written, no key needed, nothing sent (port 9 is closed anyway)
    rows = [json.loads(x) for x in pfile.open()]
    prompt = sum(_render(render(DEFAULT_PROMPT, problem=x["problem"])) for x in rows) * 3
    assert est["requests"] == {"planned": 24, "already_done": 0, "to_send": 24} and len(est["to_send"]) == 24
    assert est["prompt_tokens"] == prompt and est["output_tokens"]["cap"] == 24 * 1000
    assert est["cost_usd"]["at_cap"] == pytest.approx(_cost(prompt, 24_000), rel=1e-6)
    assert est["output_tokens"]["expected"] is None and est["cost_usd"]["expected"] is None
    first = est["first_request"]
    assert first["max_tokens"] == 1000 and first["temperature"] == 0.7 and rows[0]["problem"] in first["messages"][0]["content"]
    # after 8 real requests, the journal's observed lengths give the expected cost of the 16 left
    with FakeOpenAI(answers) as srv:
        generate(Workspace(wsdir), _cfg(srv.url, n=1, price_table=str(price_table)), str(pfile), show_progress=False)
        mean_ct = sum(e["usage"]["completion_tokens"] for e in srv.log) / 8
    snap = (wsdir / "snapshots" / "CURRENT").read_text()
    est = json.loads(subprocess.run(base + ["--dry-run", "--json"], capture_output=True, text=True, env=env,
                                    timeout=120).stdout)
    assert (wsdir / "snapshots" / "CURRENT").read_text() == snap  # a dry run is no job
    assert est["requests"] == {"planned": 24, "already_done": 8, "to_send": 16}
    assert {q["problem_id"] for q in est["to_send"]} and all(q["sample_index"] in (1, 2) for q in est["to_send"])
    assert est["output_tokens"]["expected"] == round(mean_ct * 16) and "journal" in est["output_tokens"]["expected_from"]
    p16 = prompt * 16 // 24
    assert est["cost_usd"]["expected"] == pytest.approx(_cost(p16, round(mean_ct * 16)), rel=1e-5)
    # the human form: the requests, the first body as sent, both estimates
    r = subprocess.run(base[:-4] + ["--model", "o1-mini", "--price-table", str(price_table), "--workspace",
                                    str(wsdir), "--dry-run"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "24 would be sent" in r.stdout and '"max_completion_tokens": 1000' in r.stdout
    assert '"temperature"' not in r.stdout and "Estimated cost" in r.stdout


def test_reformat_dry_run_uses_the_source_lengths(ws, shared_data, ingest_files, price_table):
    from distillate.curate.generate import dry_run

    ingest_files([shared_data / "traces" / "thought_anchors_r1distill_math.jsonl"], "anchors")
    cfg = ReformatConfig(model="fake-rewriter", endpoint="http://127.0.0.1:9/v1", traces_source="anchors", limit=5,
                         max_tokens=100_000, price_table=str(price_table))
    est = dry_run(ws, cfg)
    with ws.reader() as cat:
        n, chars = cat.fetch("SELECT count(*), avg(length(coalesce(thought, '')) + length(coalesce(solution, ''))) "
                             "FROM traces t JOIN trace_sources s USING (trace_id) WHERE s.source = 'anchors'")[0]
    assert est["kind"] == "reformat" and est["requests"]["to_send"] == 5
    assert est["output_tokens"]["expected"] == round(chars / 4 * 5) and f"{n:,} trace(s)" in est["output_tokens"]["expected_from"]


# ---- every request failed: a non-zero exit (issue 23) -------------------------------------------

def test_every_request_failed_exits_non_zero(tmp_path, problems, shared_data):
    pfile, answers = problems
    wsdir = tmp_path / "ws"
    with FakeOpenAI(answers, faults=lambda rid, n: "400") as srv:
        r = subprocess.run([str(EXE), "generate", "--problems", str(pfile), "--endpoint", srv.url, "--model", "m",
                            "--n", "3", "--workspace", str(wsdir)], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "OPENAI_API_KEY": KEY})
        err = " ".join(r.stderr.split())
        assert r.returncode == 2 and "every request failed (24 of 24 sent: bad_request 24)" in err
        assert "prompt too long" in err
        ws = Workspace(wsdir)
        with ws.reader() as cat:
            assert cat.fetch("SELECT status FROM jobs WHERE command = 'generate'") == [("failed",)]
            assert cat.fetch("SELECT count(*) FROM gen_requests WHERE status = 'failed'") == [(24,)]
        with ws.job("ingest") as (cat, job_id):
            from distillate.curate import ingest

            ingest(cat, job_id, [str(shared_data / "traces" / "thought_anchors_r1distill_math.jsonl")], source="a",
                   show_progress=False)
        with pytest.raises(DistillateError, match=r"every request failed \(4 of 4 sent"):
            reformat(ws, ReformatConfig(model="m", endpoint=srv.url, traces_source="a", limit=4, backoff_base=0.01),
                     show_progress=False)


# ---- the runner's public interface (what the vLLM backend, or any other backend, drives) ----------

def test_a_backend_drives_the_runner_through_its_public_methods(ws, problems, price_table):
    import asyncio

    from distillate.curate.generate import client as cl
    from distillate.curate.generate.runner import Runner
    from distillate.curate.generate.stage import generate_specs, load_problems

    pfile, _ = problems
    cfg = GenerateConfig(model="fake-local", backend="vllm", n=2, price_table=str(price_table))
    with ws.job("generate") as (cat, job_id):
        specs = generate_specs(cfg, load_problems(cat, job_id, str(pfile), show_progress=False))
        runner = Runner(cat, job_id, cfg, specs, log_dir=ws.path("generate", "completion-log"), show_progress=False)
        todo = runner.plan()
        runner.begin(todo)
        assert cat.fetch("SELECT DISTINCT status FROM gen_requests") == [("running",)]  # begin commits
        for i, s in enumerate(todo):
            runner.states[s.request_id].attempts += 1
            comp = cl.Completion(content=f"<think>\nwork {i}\n</think>\n\nso \\boxed{{{s.answer}}}", reasoning=None,
                                 finish_reason="stop", prompt_tokens=100, completion_tokens=50, reasoning_tokens=None,
                                 cached_tokens=0, usage_estimated=False)
            runner.bill(s, comp, 0.5)
            if i % 4 == 0:
                runner.drop(s, "finish_reason=length: dropped")
            elif i % 4 == 1:
                runner.fail(s, "error", "engine error")
            else:
                asyncio.run(runner.store(s, comp, 1000))
        assert runner.finished == 0  # nothing counts as done before it is committed
        runner.commit()
        c = runner.c
        assert (c["completed"], c["dropped"], c["failed"], c["traces_new"]) == (8, 4, 4, 8)
        assert c["cost_usd"] == pytest.approx(_cost(100 * 16, 50 * 16))
        st = dict(cat.fetch("SELECT status, count(*) FROM gen_requests GROUP BY ALL"))
        assert st == {"completed": 8, "dropped": 4, "failed": 4}
        assert cat.fetch("SELECT count(*) FROM traces WHERE source = 'gen:fake-local'") == [(8,)]
    src = (Path(__file__).parents[1] / "curate" / "generate" / "vllm_backend.py").read_text()
    assert "runner._" not in src  # the vLLM backend uses the public interface only


def test_completion_log_is_replayed_before_planning(ws, problems):
    """What finished after the last catalog commit of a killed run is in its completion log: the next run
    replays it (a line cut short by the kill is skipped: that request was never acknowledged)."""
    import asyncio

    from distillate.curate.generate import client as cl
    from distillate.curate.generate.runner import Runner
    from distillate.curate.generate.stage import generate_specs, load_problems

    pfile, _ = problems
    cfg = GenerateConfig(model="fake-local", backend="vllm", n=1)
    logdir = ws.path("generate", "completion-log")
    with ws.job("generate") as (cat, job_id):
        specs = generate_specs(cfg, load_problems(cat, job_id, str(pfile), show_progress=False))
        runner = Runner(cat, job_id, cfg, specs, log_dir=logdir, show_progress=False)
        todo = runner.plan()
        runner.begin(todo)
        for s in todo[:5]:  # finished and logged, never committed to the catalog: the process "dies" here
            comp = cl.Completion(content=f"<think>\nwork\n</think>\n\nso \\boxed{{{s.answer}}}", reasoning=None,
                                 finish_reason="stop", prompt_tokens=10, completion_tokens=20, reasoning_tokens=None,
                                 cached_tokens=0, usage_estimated=False)
            runner.bill(s, comp, 0.1)
            asyncio.run(runner.store(s, comp, 100))
    seg = sorted(logdir.glob("*.jsonl"))
    assert len(seg) == 1 and len(seg[0].read_text().splitlines()) == 5
    with seg[0].open("a") as f:
        f.write('{"source": "gen:fake-local", "update": {"request_id": "r')  # torn by the kill
    with ws.reader() as cat:
        assert cat.fetch("SELECT count(*) FROM gen_requests WHERE status = 'completed'") == [(0,)]
    with ws.job("generate") as (cat, job_id):
        runner = Runner(cat, job_id, cfg, specs, log_dir=logdir, show_progress=False)
        todo = runner.plan()
        assert runner.c["already_done"] == 5 and len(todo) == 3
        done = {r[0] for r in cat.fetch("SELECT request_id FROM gen_requests r JOIN traces t USING (trace_id) "
                                        "WHERE r.status = 'completed' AND t.source = 'gen:fake-local'")}
    assert done == {s.request_id for s in specs[:5]} and not list(logdir.glob("*.jsonl"))
