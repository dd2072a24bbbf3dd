"""Workspace concurrency: one writer, readers on snapshots, flags never blocked, migrations recorded."""

from __future__ import annotations

import multiprocessing as mp
import time

import pytest

from distillate.curate import Catalog, Workspace, add_flag, read_flags
from distillate.curate.catalog import migrations
from distillate.errors import DistillateError, MissingExtra, require


def test_migrations_recorded_once(ws, ingest_files, shared_data):
    ingest_files([shared_data / "traces" / "s1k_gemini_fixture.jsonl"], "s1k")
    with Catalog(ws.catalog_path) as cat:
        assert cat.migrate() == []  # nothing left to apply
        got = cat.con.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert [v for (v,) in got] == [n for n, _, _ in migrations()]


def _hold_job(root, started, release):
    ws = Workspace(root)
    with ws.job("holder") as (cat, _):
        cat.con.execute("INSERT INTO sources (source, kind) VALUES ('held', 'traces')")
        started.set()
        release.wait(30)


def test_reader_and_flags_work_while_a_job_writes(ws, ingest_files, shared_data):
    ingest_files([shared_data / "traces" / "s1k_gemini_fixture.jsonl"], "s1k")
    with ws.reader() as cat:
        tid = cat.con.execute("SELECT trace_id FROM traces LIMIT 1").fetchone()[0]
    ctx = mp.get_context("spawn")
    started, release = ctx.Event(), ctx.Event()
    p = ctx.Process(target=_hold_job, args=(str(ws.root), started, release))
    p.start()
    try:
        assert started.wait(60)
        # the writer holds the catalog: a reader still opens the last snapshot, a flag still lands
        with ws.reader() as cat:
            assert cat.con.execute("SELECT count(*) FROM traces").fetchone()[0] == 5
        t0 = time.monotonic()
        add_flag(ws, tid, "bad", reason="wrong answer", reviewer="ana")
        assert time.monotonic() - t0 < 1.0
        with pytest.raises(DistillateError, match="another job"):
            with ws.job("second"):
                pass
    finally:
        release.set()
        p.join(60)
    assert p.exitcode == 0
    # the next job mirrors the flag into the catalog; the held job's write is in the new snapshot
    with ws.job("after") as (cat, _):
        pass
    with ws.reader() as cat:
        assert cat.con.execute("SELECT label, reviewer FROM review_flags").fetchall() == [("bad", "ana")]
        assert cat.con.execute("SELECT flagged FROM candidates WHERE trace_id = ?", [tid]).fetchone() == (True,)
        assert cat.con.execute("SELECT count(*) FROM sources WHERE source = 'held'").fetchone()[0] == 1
    assert [f["label"] for f in read_flags(ws)] == ["bad"]


def test_failed_job_is_recorded(ws):
    with pytest.raises(RuntimeError):
        with ws.job("boom"):
            raise RuntimeError("x")
    with ws.reader() as cat:
        assert cat.con.execute("SELECT status, error FROM jobs").fetchall() == [("failed", "RuntimeError: x")]


def test_missing_extra_names_the_pip_command():
    with pytest.raises(MissingExtra, match=r"pip install 'distillate\[embed\]'"):
        require("surely_not_a_module_xyz", "embed")


def test_reader_migrates_an_outdated_snapshot(ws, ingest_files, shared_data):
    ingest_files([shared_data / "traces" / "s1k_gemini_fixture.jsonl"], "s1k")
    # simulate a snapshot written by an older version: drop the newest migration's record
    snap = ws.current_snapshot()
    with Catalog(snap) as cat:
        newest = cat.schema_version()
        cat.con.execute("DELETE FROM schema_migrations WHERE version = ?", [newest]).fetchall()
    with ws.reader() as cat:
        assert cat.schema_version() == newest
        assert cat.con.execute("SELECT count(*) FROM traces").fetchone()[0] == 5
    assert ws.current_snapshot() != snap
