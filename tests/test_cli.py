"""The CLI contract: help everywhere, one-line user errors, report --json keys, workspace resolution."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import typer.main

from distillate.cli import app

EXE = Path(sys.executable).parent / "distillate"


def _run(*args, env=None, cwd=None):
    e = dict(os.environ, **(env or {}))
    e.pop("DISTILLATE_WORKSPACE", None) if env is None or "DISTILLATE_WORKSPACE" not in env else None
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True, env=e, cwd=cwd, timeout=300)


def _all_commands():
    root = typer.main.get_command(app)
    stack = [((), root)]
    while stack:
        path, cmd = stack.pop()
        yield path, cmd
        if hasattr(cmd, "list_commands"):  # typer vendors its own click: duck-type
            ctx = type(cmd).context_class(cmd) if hasattr(type(cmd), "context_class") else None
            stack.extend((path + (n,), cmd.get_command(ctx, n)) for n in cmd.list_commands(ctx))


def test_every_command_and_option_has_help():
    missing = []
    for path, cmd in _all_commands():
        if not (cmd.help or "").strip():
            missing.append(" ".join(path) or "<root>")
        for p in cmd.params:
            if type(p).__name__.endswith("Option") and not (getattr(p, "help", "") or "").strip():
                missing.append(f"{' '.join(path)} {p.opts[0]}")
    assert not missing, f"no help text: {missing}"
    assert len(list(_all_commands())) > 5


def test_user_errors_are_one_line(tmp_path):
    r = _run("ingest", tmp_path / "missing.jsonl", "--source", "x", "--workspace", tmp_path / "ws")
    assert r.returncode == 2
    assert r.stderr.strip().startswith("error:") and "missing.jsonl" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) <= 2
    r = _run("report", "--workspace", tmp_path / "empty")
    assert r.returncode == 2 and "no catalog" in r.stderr and "Traceback" not in r.stderr
    r = _run("report", "--workspace", tmp_path / "empty", "--debug")
    assert "Traceback" in r.stderr


def test_ingest_report_json_contract(tmp_path, shared_data):
    ws = tmp_path / "ws"
    files = sorted((shared_data / "traces").glob("skyt1_*.jsonl"))
    r = _run("ingest", *files, "--source", "sky", "--workspace", ws)
    assert r.returncode == 0, r.stderr
    assert "ingested 100" in r.stdout and "quarantined 0" in r.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem": "1+1?", "solution": "2"}\nnot json\n')
    r = _run("ingest", bad, "--source", "bad", "--workspace", ws)
    assert r.returncode == 0 and "quarantined 1" in r.stdout
    allbad = tmp_path / "allbad.jsonl"
    allbad.write_text("nope\n[1]\n")
    r = _run("ingest", allbad, "--source", "allbad", "--workspace", ws)
    assert r.returncode == 2 and "nothing could be read" in r.stderr
    r = _run("report", "--json", env={"DISTILLATE_WORKSPACE": str(ws)})
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["totals"] == {"problems": 71, "traces": 101, "quarantined": 3}
    assert rep["sources"]["sky"] == {"problems": 70, "traces": 100, "quarantined": 0}
    assert rep["sources"]["bad"] == {"problems": 1, "traces": 1, "quarantined": 1}
    assert rep["sources"]["allbad"]["quarantined"] == 2


def test_default_workspace_is_dot_distillate(tmp_path, shared_data):
    r = _run("ingest", shared_data / "traces" / "s1k_gemini_fixture.jsonl", "--source", "s1k", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / ".distillate" / "catalog.duckdb").exists()
