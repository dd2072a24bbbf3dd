"""Scale-out (issue 11): the Ray engine gives the local engine's results, and sharded stages resume.

- `ray_map_batches` on a local 2-CPU Ray cluster: input order, bounded in-flight work, errors surface.
- The whole pipeline (stats, verify, dedup, decontam) then a build, on the real traces, with
  `--engine local` and `--engine ray`: the same catalog contents (timestamps, job ids and timings aside)
  and byte-identical build files.
- Kill and resume at shard level: a curate subprocess is SIGKILLed after a few shards are finished; the
  rerun skips exactly those shards (their rows keep the first run's timestamps) and ends with the rows
  an uninterrupted run computes.
"""

from __future__ import annotations

import operator
import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from distillate.curate.pipeline import curate

REPO = Path(__file__).resolve().parents[1]
BENCHES = "aime24,aime25,amc23,math500"

# columns that legitimately differ between two runs of the same computation (when, which job, how long)
VOLATILE = {"computed_at", "checked_at", "created_at", "job_id", "seconds", "finished_at", "scanned_at",
            "applied_at", "started_at"}
STAGE_TABLES = ("trace_signals", "problem_signals", "trace_markers", "verdicts", "verify_cache",
                "dedup_signatures", "dedup_pairs", "trace_clusters", "trace_duplicates", "problem_clusters",
                "contamination_matches", "decontam_errors", "decontam_benchmarks", "stage_shards")


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_map_batches_in_order_and_bounded(ray_cluster):
    from distillate.curate.executor import map_batches
    from distillate.curate.ray_engine import ray_map_batches

    # Ray workers import the task function by module name: library functions, not this test module's
    batches = [list(range(i, i + 3)) for i in range(0, 60, 3)]
    assert list(map_batches(operator.mul, batches, 2, engine="ray")) == \
        list(map_batches(operator.mul, batches, 2)) == [b * 2 for b in batches]

    consumed = []
    yielded = 0

    def lazy():
        for b in batches:
            # a batch is only pulled when fewer than max_in_flight are pending: 3 ahead of the consumer at most
            assert len(consumed) - yielded <= 3
            consumed.append(b)
            yield b

    seen = []
    for r in ray_map_batches(operator.mul, lazy(), 1, max_in_flight=3, on_result=seen.append):
        yielded += 1
        assert r == batches[yielded - 1]
    assert seen == batches and yielded == len(batches)

    with pytest.raises(Exception, match="IndexError"):  # a task's error reaches the caller
        list(ray_map_batches(operator.getitem, [[1, 2], [3]], 1))


def _table(cat, name: str) -> list[tuple]:
    cols = [r[0] for r in cat.con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [name]).fetchall() if r[0] not in VOLATILE]
    rows = cat.con.execute(f'SELECT {", ".join(cols)} FROM "{name}"').fetchall()
    if name in ("verdicts", "verify_cache"):  # worker wall time and cache hits: which process saw a pair first
        i = cols.index("details" if name == "verdicts" else "result")
        rows = [r[:i] + (orjson.dumps({k: v for k, v in orjson.loads(r[i]).items()
                                       if k not in ("worker_seconds", "cache")}, option=orjson.OPT_SORT_KEYS),)
                + r[i + 1:] for r in rows]
    return sorted(rows, key=repr)


def _snapshot(ws) -> dict[str, list[tuple]]:
    with ws.reader() as cat:
        return {t: _table(cat, t) for t in STAGE_TABLES}


def _run_all(ws, engine, tokenizer, shared_data, **kw):
    from distillate.curate.verify import core

    # verify keeps a process-wide answer cache (earlier tests in this process filled it): start both runs
    # from the same state, as two CLI runs would
    core.cache_clear()
    return curate(ws, None, show_progress=False, engine=engine, tokenizer=str(tokenizer), benchmarks=BENCHES,
                  benchmarks_dir=str(shared_data / "benchmarks"), decontam_traces=True, shard_size=100, **kw)


def test_ray_pipeline_and_build_match_local(ray_cluster, real_ws, copy_ws, qwen_tokenizer_path, shared_data,
                                            tmp_path):
    from distillate.curate.build import build

    local, remote = copy_ws(real_ws), copy_ws(real_ws)
    res_local = _run_all(local, "local", qwen_tokenizer_path, shared_data)
    res_ray = _run_all(remote, "ray", qwen_tokenizer_path, shared_data)
    for stage in res_local:
        a = {k: v for k, v in res_local[stage].items() if k not in ("seconds", "cache_saved", "cache_loaded")}
        b = {k: v for k, v in res_ray[stage].items() if k not in ("seconds", "cache_saved", "cache_loaded")}
        assert a == b, stage
    snap_local, snap_ray = _snapshot(local), _snapshot(remote)
    assert snap_local["trace_signals"] and snap_local["verdicts"] and snap_local["trace_duplicates"]
    assert snap_local["contamination_matches"] and len(snap_local["stage_shards"]) == 20  # 981 traces / 100, 2 stages
    for t in STAGE_TABLES:
        assert snap_local[t] == snap_ray[t], t

    recipe = REPO / "demo" / "recipe.yaml"
    b_local = build(local, recipe, tmp_path / "local", show_progress=False)
    b_ray = build(remote, recipe, tmp_path / "ray", show_progress=False)
    assert [(v.variant, v.kept, v.dropped) for v in b_local.variants] == \
        [(v.variant, v.kept, v.dropped) for v in b_ray.variants]
    assert b_local.variants[0].kept > 50
    for v_local, v_ray in zip(b_local.variants, b_ray.variants):
        for f in ("sft.jsonl", "dropped.jsonl", "sft.parquet"):
            assert (v_local.out_dir / f).read_bytes() == (v_ray.out_dir / f).read_bytes(), (v_local.variant, f)
    with local.reader() as a, remote.reader() as b:
        fp = "SELECT variant, fingerprint FROM builds ORDER BY variant"
        assert a.con.execute(fp).fetchall() == b.con.execute(fp).fetchall()


_KILLER = """
import os, signal, sys
from distillate.curate import Workspace, shards
from distillate.curate.pipeline import curate

kill_after = int(sys.argv[3])
mark = shards.ShardedRun._mark
def _mark_then_die(self, *a, **k):
    mark(self, *a, **k)
    if self.marked_now == kill_after:
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup at all: the catalog's WAL is all that is left
shards.ShardedRun._mark = _mark_then_die
curate(Workspace(sys.argv[1]), "stats", show_progress=False, tokenizer=sys.argv[2], shard_size=100,
       signals_workers=1)
"""


def test_killed_run_resumes_without_redoing_finished_shards(real_ws, copy_ws, qwen_tokenizer_path):
    ws, clean = copy_ws(real_ws), copy_ws(real_ws)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    p = subprocess.run([sys.executable, "-c", _KILLER, str(ws.root), str(qwen_tokenizer_path), "4"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == -signal.SIGKILL, p.stderr[-2000:]
    res = curate(ws, "stats", show_progress=False, tokenizer=str(qwen_tokenizer_path), shard_size=100)["stats"]
    total = 981
    assert res["shards"] == 10 and res["shards_skipped"] == 4 and res["shards_finished"] == 6
    with ws.reader() as cat:
        marks = cat.con.execute("SELECT shard, job_id, items, computed FROM stage_shards WHERE stage = 'stats'"
                                ).fetchall()
        jobs = cat.con.execute("SELECT job_id, status FROM jobs WHERE command = 'curate' ORDER BY started_at"
                               ).fetchall()
        # rows of the finished shards were computed by the killed run, not again
        old = cat.con.execute("SELECT count(*) FROM trace_signals WHERE computed_at < (SELECT started_at "
                              "FROM jobs WHERE command = 'curate' ORDER BY started_at DESC LIMIT 1)").fetchall()[0][0]
    killed, resumed = jobs[0][0], jobs[1][0]
    assert jobs[0][1] == "running" and jobs[1][1] == "ok"  # the killed job never finished
    first = [m for m in marks if m[1] == killed]
    second = [m for m in marks if m[1] == resumed]
    assert len(first) == 4 and len(second) == 6
    done_first = sum(m[2] for m in first)
    assert res["traces"] == total - done_first  # only the unfinished shards' traces were computed
    assert sum(m[3] for m in second) == total - done_first
    assert old == done_first

    curate(clean, "stats", show_progress=False, tokenizer=str(qwen_tokenizer_path), shard_size=100)
    a, b = _snapshot(ws), _snapshot(clean)
    assert a["trace_signals"] == b["trace_signals"] and len(a["trace_signals"]) == total
    assert a["trace_markers"] == b["trace_markers"]
    assert sorted(r[:5] for r in a["stage_shards"]) == sorted(r[:5] for r in b["stage_shards"])


def test_shard_marker_follows_new_ingest(ws, ingest_files, shared_data, qwen_tokenizer_path):
    """A shard that gains traces no longer matches its marker: the rerun computes only the new traces and
    marks the shard again; a rerun with nothing new computes nothing."""
    files = sorted((shared_data / "traces").glob("*.jsonl"))
    first = [f for f in files if "thought_anchors" not in f.name]
    ingest_files(first, "part1")
    opts = {"show_progress": False, "tokenizer": str(qwen_tokenizer_path), "shard_size": 5000}
    r1 = curate(ws, "stats", **opts)["stats"]
    assert r1["shards"] == 1 and r1["shards_finished"] == 1 and r1["shards_skipped"] == 0
    ingest_files([f for f in files if f not in first], "part2")
    with ws.reader() as cat:
        total = cat.con.execute("SELECT count(*) FROM traces").fetchall()[0][0]
    r2 = curate(ws, "stats", **opts)["stats"]
    assert r2["traces"] == total - r1["traces"] > 0
    assert r2["shards_finished"] == 1 and r2["shards_skipped"] == 0
    with ws.reader() as cat:
        (items, computed), = cat.con.execute("SELECT items, computed FROM stage_shards").fetchall()
    assert items == total and computed == r2["traces"]
    r3 = curate(ws, "stats", **opts)["stats"]
    assert r3["traces"] == 0


def test_unreachable_ray_address_is_one_clear_error():
    import socket

    from distillate.curate.ray_engine import _check_reachable
    from distillate.errors import DistillateError

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # a port nobody listens at: ray.init would retry for minutes, we fail in seconds
    with pytest.raises(DistillateError, match=f"cannot reach the Ray cluster at 127.0.0.1:{port}"):
        _check_reachable(f"127.0.0.1:{port}")
    _check_reachable("auto")  # resolved by Ray itself


def test_local_parallel_verify_matches_one_process(real_ws, copy_ws):
    """Locally, verify batches run in a process pool (answer extraction is the cost) once there is more than
    one batch; the verdicts are those of a single in-process batch."""
    from distillate.curate.verify import core

    one, many = copy_ws(real_ws), copy_ws(real_ws)
    core.cache_clear()
    r1 = curate(one, "verify", show_progress=False)
    core.cache_clear()
    # two processes whatever this machine's core count, so the pooled path always runs
    r2 = curate(many, "verify", show_progress=False, verify_batch_size=100, verify_workers=2, shard_size=100)
    assert r1["verify"]["checked"] == r2["verify"]["checked"] == 981
    with one.reader() as a, many.reader() as b:
        assert _table(a, "verdicts") == _table(b, "verdicts")
        assert len(_table(b, "stage_shards")) == 10
