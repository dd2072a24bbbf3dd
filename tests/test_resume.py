"""Resume after a kill (issue 19), for every resumable stage and for the Ray engine.

A `distillate curate --stages S` subprocess (the real CLI, in its own process group) is SIGKILLed in the
middle of the stage: right after its Nth write of a named query (stats/verify: a shard's completion
marker; dedup: a batch of signatures; decontam: the matches of the problem scan, before the watermark
moves). The same command is rerun, and the catalog's stage tables must equal those of an uninterrupted
run of that command on a copy of the same workspace (timestamps, job ids and timings aside:
tests/test_scale.py's comparison), while the rerun's counters show that finished work was not redone.
tests/test_scale.py has the stats case in process; these run the CLI."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from test_scale import BENCHES, _snapshot

REPO = Path(__file__).resolve().parents[1]

# runs the CLI with Catalog.run patched to SIGKILL the process after the Nth run of one named query
_KILLER = """
import os, signal, sys
from distillate.curate.catalog import Catalog
query, kill_after = sys.argv[1], int(sys.argv[2])
real_run, seen = Catalog.run, [0]
def run_then_die(self, name, params=None):
    out = real_run(self, name, params)
    if name == query:
        seen[0] += 1
        if seen[0] == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)  # no cleanup: the catalog's WAL is all that is left
    return out
Catalog.run = run_then_die
from distillate.cli import main
sys.argv = ["distillate"] + sys.argv[3:]
main()
"""


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "COLUMNS": "1000"}  # no wrapping


def _cli(args: list[str], killer: tuple[str, int] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", _KILLER, *map(str, killer), *args] if killer else \
        [sys.executable, "-m", "distillate.cli", *args]
    # output to files, not pipes: pool workers orphaned by a kill would hold a pipe open
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(cmd, env=_env(), stdout=out, stderr=err, text=True, start_new_session=True)
        try:
            p.wait(timeout=timeout)
        finally:
            try:  # what it started and left behind (its parent died without cleanup)
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            p.wait()
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(cmd, p.returncode, out.read(), err.read())


def _counters(stdout: str, stage: str) -> dict[str, str]:
    line = next(x for x in stdout.splitlines() if x.startswith(f"{stage}: "))
    return dict(re.findall(r"(\w+)=([^,]+)", line))


def _kill_and_resume(real_ws, copy_ws, stage: str, args: list[str], query: str, kill_after: int):
    ws, clean = copy_ws(real_ws), copy_ws(real_ws)
    cmd = ["curate", "--stages", stage, "-q", *args]
    killed = _cli(cmd + ["-w", str(ws.root)], killer=(query, kill_after))
    assert killed.returncode == -signal.SIGKILL, (
        f"the run was not killed after {kill_after} x {query!r} (renamed query, or less work than that?)",
        killed.returncode, killed.stderr[-3000:])
    resumed = _cli(cmd + ["-w", str(ws.root)])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    full = _cli(cmd + ["-w", str(clean.root)])
    assert full.returncode == 0, full.stderr[-3000:]
    a, b = _snapshot(ws), _snapshot(clean)
    for t in a:
        if t == "stage_shards":  # the resumed run's markers come from two jobs: compare what they record
            assert sorted(r[:5] for r in a[t]) == sorted(r[:5] for r in b[t]), t
        else:
            assert a[t] == b[t], t
    with ws.reader() as cat:
        jobs = cat.fetch("SELECT status FROM jobs WHERE command = 'curate' ORDER BY started_at")
    assert [j[0] for j in jobs] == ["running", "ok"]  # the killed job never finished; the rerun did
    return ws, _counters(resumed.stdout, stage), _counters(full.stdout, stage)


TOTAL = 981  # traces in real_ws


def test_verify_resumes_after_kill(real_ws, copy_ws):
    ws, res, full = _kill_and_resume(real_ws, copy_ws, "verify", ["--shard-size", "100"], "shards/mark", 3)
    assert (res["shards"], res["shards_skipped"], res["shards_finished"]) == ("10", "3", "7")
    with ws.reader() as cat:
        done_first = cat.fetch("SELECT sum(items) FROM stage_shards WHERE stage = 'verify' AND job_id = "
                               "(SELECT job_id FROM jobs WHERE status = 'running')")[0][0]
    assert 0 < done_first < TOTAL
    assert int(res["checked"]) == TOTAL - done_first and int(full["checked"]) == TOTAL


def test_dedup_resumes_after_kill(real_ws, copy_ws):
    # signatures go in batches of 256: the killed run wrote two, the rerun hashes only the rest
    ws, res, full = _kill_and_resume(real_ws, copy_ws, "dedup", [], "dedup/save_signatures", 2)
    with ws.reader() as cat:
        traces = cat.fetch("SELECT count(DISTINCT trace_id) FROM traces")[0][0]
    assert int(full["trace_signatures_new"]) == traces
    assert int(res["trace_signatures_new"]) == traces - 2 * 256
    assert int(res["near_duplicates"]) == int(full["near_duplicates"]) > 0


def test_decontam_resumes_after_kill(real_ws, copy_ws, shared_data):
    args = ["--benchmarks", BENCHES, "--benchmarks-dir", str(shared_data / "benchmarks"), "--decontam-traces"]
    # killed after the problem scan's matches are written, before the trace scan and the watermark
    ws, res, full = _kill_and_resume(real_ws, copy_ws, "decontam", args, "decontam/write_matches", 1)
    assert int(res["problems_scanned"]) == int(full["problems_scanned"]) > 0  # redone from the watermark
    assert int(res["matches"]) == int(full["matches"]) > 0
    with ws.reader() as cat:  # rewritten, not added twice
        assert cat.fetch("SELECT count(*) = count(DISTINCT (problem_id, benchmark, benchmark_id, method)) "
                         "FROM contamination_matches")[0][0]


@pytest.fixture(scope="module")
def ray_address():
    ray = pytest.importorskip("ray")
    ctx = ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
    yield ctx.address_info["gcs_address"]
    ray.shutdown()


@pytest.mark.slow  # ~2 min on 2 shared cores (a Ray cluster, three driver runs): CI runs it
def test_ray_engine_resumes_after_kill(ray_address, real_ws, copy_ws, qwen_tokenizer_path):
    """The driver of a Ray run is killed; the cluster lives on (an external cluster, as in production); the
    rerun on the same cluster skips the finished shards."""
    args = ["--engine", "ray", "--ray-address", ray_address, "--shard-size", "100",
            "--tokenizer", str(qwen_tokenizer_path)]
    ws, res, full = _kill_and_resume(real_ws, copy_ws, "stats", args, "shards/mark", 4)
    assert (res["shards"], res["shards_skipped"], res["shards_finished"]) == ("10", "4", "6")
    assert int(full["traces"]) == TOTAL and 0 < int(res["traces"]) < TOTAL
