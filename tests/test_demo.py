"""The demo (issue 19): every planted case that demo/README.md lists is caught by the stage it names.

The README's "Planted cases" table is parsed: one test per row, its ids from the second column, its checks
from the last ("stage that should catch it"), clause by clause (split on ';'). A clause that no check here
understands fails the test, so a new planted case or a new stage wording cannot go unchecked. The demo
runs once, as `distillate demo` does (run_demo), against the package's demo files."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "demo" / "README.md"


def planted_rows() -> list[dict]:
    text = README.read_text(encoding="utf-8").split("## Planted cases", 1)[1]
    rows = []
    for line in text.splitlines():
        if not line.startswith("| ") or line.startswith("| case") or line.startswith("|---"):
            continue
        # split on cell bars, not on escaped ones (`<\|end_of_thought\|>`)
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        assert len(cells) == 4, line
        case, where, what, stage = cells
        rows.append({"case": case, "ids": re.findall(r"`([a-z]+-\d+)`", where),
                     "lines": [int(x) for x in re.findall(r"line (\d+)", where)], "what": what, "stage": stage,
                     "bench_ids": re.findall(r"`(demo-bench-\d+)`", what), "arrow": "→" in where})
    return rows


ROWS = planted_rows()


def test_readme_lists_the_planted_cases():
    assert len(ROWS) >= 25
    kinds = {r["case"] for r in ROWS}
    for k in ("exact duplicate", "near duplicate", "benchmark copy, verbatim", "wrong answer", "truncated",
              "looping", "image problem", "proof problem", "multiple choice", "language mixing", "malformed JSON"):
        assert k in kinds, k


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from rich.console import Console

    from distillate.curate import Workspace
    from distillate.curate.demo import run_demo
    from distillate.curate.verify import core

    core.cache_clear()
    root = tmp_path_factory.mktemp("demo")
    run_demo(root / "ws", root / "build", show_progress=False, console=Console(file=io.StringIO()))
    ws = Workspace(root / "ws")
    with ws.reader() as cat:
        yield Demo(cat)


class Demo:
    def __init__(self, cat):
        self.cat = cat
        self.tid = dict(cat.fetch("SELECT source_id, trace_id FROM trace_sources"))

    def one(self, sql: str, params: list) -> tuple | None:
        rows = self.cat.fetch(sql, params)
        assert len(rows) <= 1, rows
        return rows[0] if rows else None

    def trace(self, source_id: str) -> str:
        assert source_id in self.tid, f"{source_id} was not ingested"
        return self.tid[source_id]

    def problem(self, source_id: str) -> str:
        return self.one("SELECT problem_id FROM traces WHERE trace_id = ?", [self.trace(source_id)])[0]

    def verdict(self, source_id: str) -> str:
        return self.one("SELECT verdict FROM verdicts WHERE trace_id = ?", [self.trace(source_id)])[0]

    def signals(self, source_id: str) -> dict:
        cols = ["truncated", "looping", "language_mixed"]
        row = self.one(f"SELECT {', '.join(cols)} FROM trace_signals WHERE trace_id = ?", [self.trace(source_id)])
        return dict(zip(cols, row))

    def problem_signals(self, source_id: str) -> dict:
        cols = ["unsuitable", "is_image", "is_proof", "is_multiple_choice", "no_reference"]
        row = self.one(f"SELECT {', '.join(cols)} FROM problem_signals WHERE problem_id = ?", [self.problem(source_id)])
        return dict(zip(cols, row))

    def duplicate_pair(self, a: str, b: str) -> tuple | None:
        """(kind, similarity) of the trace_duplicates row linking a and b, whichever was kept."""
        return self.one("SELECT kind, similarity FROM trace_duplicates WHERE (trace_id = ? AND duplicate_of = ?) "
                        "OR (trace_id = ? AND duplicate_of = ?)", [self.trace(a), self.trace(b), self.trace(b),
                                                                  self.trace(a)])


def _check_clause(d: Demo, row: dict, clause: str) -> None:
    ids = row["ids"]
    c = clause.strip()
    if c.startswith("ingest: same `trace_id`"):
        a, b = ids
        assert d.trace(a) == d.trace(b)
        n = d.cat.fetch("SELECT count(*) FROM trace_sources WHERE trace_id = ?", [d.trace(a)])[0][0]
        assert n == 2, "one trace, two provenance rows"
    elif c == "ingest: quarantine":
        if row["lines"]:
            got = d.cat.fetch("SELECT reason FROM quarantine WHERE file LIKE '%broken.jsonl' AND line = ?",
                              row["lines"])
        else:  # named by its id only
            (i,) = ids
            got = d.cat.fetch("SELECT reason FROM quarantine WHERE raw LIKE ?", [f"%{i}%"])
        assert len(got) == 1, got
        assert all(i not in d.tid for i in ids)
    elif c.startswith("dedup: `exact_duplicate`"):
        a, b = ids
        assert d.trace(a) != d.trace(b)
        assert d.duplicate_pair(a, b)[0] == "exact"
    elif c.startswith("dedup: `near_duplicate`"):
        a, b = ids
        kind, sim = d.duplicate_pair(a, b)
        stated = float(re.search(r"J = ([\d.]+)", row["what"]).group(1))
        assert kind == "near" and sim == pytest.approx(stated, abs=0.01), (kind, sim, stated)
    elif c.startswith("dedup: shared `problem_id`, **not** a trace duplicate"):
        a, b = ids
        assert d.problem(a) == d.problem(b)
        assert d.duplicate_pair(a, b) is None
        clusters = dict(d.cat.fetch("SELECT trace_id, cluster_id FROM trace_clusters WHERE trace_id IN (?, ?)",
                                    [d.trace(a), d.trace(b)]))
        assert clusters.get(d.trace(a)) is None or clusters.get(d.trace(a)) != clusters.get(d.trace(b))
    elif m := re.fullmatch(r"decontam: `(\w+)`(?: \(after normalization\))?", c):
        (i,), (bench,) = ids, row["bench_ids"]
        methods = {r[0] for r in d.cat.fetch("SELECT method FROM contamination_matches WHERE problem_id = ? "
                                             "AND benchmark_id = ?", [d.problem(i), bench])}
        assert m.group(1) in methods, (i, bench, methods)
    elif m := re.fullmatch(r"verify: (?:must be )?`(\w+)`", c):
        for i in ids:
            assert d.verdict(i) == m.group(1), i
    elif m := re.fullmatch(r"verify accepts `(\w+)`", c):
        (i,) = ids
        assert d.verdict(i) == "correct"
        assert d.one("SELECT extracted FROM verdicts WHERE trace_id = ?", [d.trace(i)])[0] == m.group(1)
    elif m := re.fullmatch(r"stats: `(truncated|looping|language_mixed)`(?: \(and `(truncated)`\))?(?: \(.*\))?", c):
        for i in ids:
            s = d.signals(i)
            assert s[m.group(1)], (i, s)
            if m.group(2):
                assert s[m.group(2)], (i, s)
    elif m := re.fullmatch(r"stats: `unsuitable_problem` \(([\w, ]+)\)", c):
        (i,) = ids
        ps = d.problem_signals(i)
        assert ps["unsuitable"], ps
        for reason in (x.strip() for x in m.group(1).split(",")):
            col = {"image": "is_image", "proof": "is_proof", "multiple_choice": "is_multiple_choice",
                   "no_reference": "no_reference"}[reason]
            assert ps[col], (reason, ps)
    else:
        pytest.fail(f"no check for the clause {c!r} of the planted case {row['case']!r}: add one to tests/test_demo.py")


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['case']}: {'/'.join(r['ids']) or r['lines']}" for r in ROWS])
def test_planted_case_is_caught(demo, row):
    # "(dedup: exact)" after an ingest clause says what dedup would call it: the ingest check covers it
    stage = re.sub(r" \(dedup: exact\)", "", row["stage"])
    for clause in stage.split(";"):
        _check_clause(demo, row, clause)


def test_clause_without_a_check_fails(demo):
    with pytest.raises(pytest.fail.Exception, match="no check for the clause"):
        _check_clause(demo, {"case": "new", "ids": ["plain-001"]}, "stats: `sparkly`")
