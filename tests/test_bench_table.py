"""Figures from files (issue 19): the README's Performance table is what bench/table.py makes of the result
files in bench/results/, and every benchmark script writes one through bench/results.py."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import table  # noqa: E402
from bench.results import write_result  # noqa: E402

# modules of bench/ that are not benchmarks (shared code)
HELPERS = {"__init__.py", "corpus.py", "results.py", "table.py", "heldout_edits.py"}
# scripts whose write_result call lands with another branch; remove the entry when it has (the test says so)
PENDING: dict[str, str] = {}
FIELDS = {"name", "figures", "baselines", "workload", "notes", "command", "commit", "machine", "date"}


def test_readme_table_matches_the_result_files():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    want = table.replace_block(readme, table.render(table.load()))
    assert readme == want, "README.md's Performance table differs from bench/results/*.json: run `make bench-table`"


def test_every_bench_script_writes_its_result_file():
    scripts = {f.name for f in (REPO / "bench").glob("*.py")} - HELPERS
    assert scripts == set(table.SCRIPTS.values()), "bench/table.py SCRIPTS must name every benchmark script"
    for name, script in table.SCRIPTS.items():
        src = (REPO / "bench" / script).read_text(encoding="utf-8")
        writes = bool(re.search(rf'write_result\(\s*"{name}"', src))
        if name in PENDING:
            assert not writes, f"bench/{script} writes its result now: remove {name!r} from PENDING"
            continue
        assert writes, f"bench/{script} must call write_result({name!r}, ...)"
    for what, name, _ in table.ROWS:
        assert name in table.SCRIPTS, what


def test_result_files_are_complete():
    files = sorted((REPO / "bench" / "results").glob("*.json"))
    assert files, "no result file: run `make bench`"
    for f in files:
        rec = json.loads(f.read_text())
        assert FIELDS <= rec.keys(), (f.name, FIELDS - rec.keys())
        assert rec["name"] == f.stem and rec["figures"] and rec["workload"]
        assert rec["command"].split()[0] == table.SCRIPTS[f.stem], (f.name, rec["command"])
        assert rec["machine"]["cores"] >= 1 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rec["date"])


def test_missing_file_is_not_measured_and_a_missing_key_is_an_error(tmp_path):
    res = table.load()
    out = table.render({k: v for k, v in res.items() if k != "dedup"})
    assert "| MinHash, same scheme as datasketch | `bench/dedup_bench.py` | not measured" in out
    if "dedup" in res:
        broken = json.loads(json.dumps(res))
        del broken["dedup"]["baselines"]["datasketch"]
        with pytest.raises(SystemExit, match="dedup.json lacks"):
            table.render(broken)


def test_write_result_records_where_and_when(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_NOTE", "machine shared with other jobs")
    p = write_result("probe", figures={"x": 1.5}, baselines={"b": {"x": 3.0}}, workload="a probe", notes="n.",
                     path=tmp_path / "probe.json")
    rec = json.loads(p.read_text())
    assert FIELDS <= rec.keys() and rec["figures"] == {"x": 1.5} and rec["baselines"] == {"b": {"x": 3.0}}
    assert rec["notes"] == "n. machine shared with other jobs."
    assert rec["commit"] and len(rec["machine"]["load_avg_1_5_15m"]) == 3


def test_readme_and_ci_run_the_same_test_command():
    """README's test command and .ci/run are both `make test`; CI's strictness and slow tests come from the
    environment (.ci/run exports CI=true, DISTILLATE_STRICT=1; the Makefile drops the slow filter on CI)."""
    ci = (REPO / ".ci" / "run").read_text()
    readme = (REPO / "README.md").read_text()
    make = (REPO / "Makefile").read_text()
    assert "make test    #" in readme and ci.rstrip().splitlines()[-1] == "make test"
    assert "export CI=true DISTILLATE_STRICT=1" in ci and "exit 1" in ci  # chromium missing fails CI
    assert '$(if $(filter true 1 yes,$(CI)),-m "not gpu",)' in make
