"""The review app's data layer: every read goes through `Workspace.reader()` (the latest immutable snapshot)
and the named queries in sql/queries/ui/*.sql; every write through `distillate.curate.flags.add_flag`.
No Streamlit here, so tests and the bench call the same functions as the pages.

Flags written since the snapshot (the job that mirrors them has not run yet) are read from the log and
registered as `_ui_pending_flags` on the reader's connection, so filters and the flag column see them."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Iterator

import pyarrow as pa

from distillate.curate.catalog import Catalog
from distillate.curate.flags import read_flags
from distillate.curate.workspace import Workspace

from .text import like_pattern

PAGE_SIZES = (25, 50, 100, 200)
SORTS = {"seq": "ingest order", "tokens_desc": "longest first", "tokens_asc": "shortest first",
         "markers_desc": "most markers per 1k tokens"}
FLAG_FILTERS = {"any": "any", "flagged": "flagged (latest label not good)", "not_flagged": "not flagged",
                "reviewed": "reviewed (any label)", "unreviewed": "not reviewed yet"}
# funnel step (report/funnel.sql) -> the browse filter showing its traces
STEP_FILTERS = {"truncated": "truncated", "looping": "looping", "unsuitable_problem": "unsuitable",
                "not_correct": "not_correct", "duplicate": "duplicate", "contaminated": "contaminated",
                "flagged": None}

_PENDING_SCHEMA = pa.schema([("flag_id", pa.string()), ("trace_id", pa.string()), ("label", pa.string()),
                             ("reason", pa.string()), ("note", pa.string()), ("reviewer", pa.string()),
                             ("created_at", pa.timestamp("us", tz="UTC"))])


@dataclass
class Reader:
    """A read-only snapshot plus what the app needs around it."""

    ws: Workspace
    cat: Catalog
    snapshot: str
    tables: dict[str, set[str]]
    pending: list[dict]

    def has(self, table: str, column: str | None = None) -> bool:
        cols = self.tables.get(table)
        return cols is not None and (column is None or column in cols)

    def query(self, name: str, params: dict | None = None) -> list[dict]:
        return self.cat.query(name, params)


def _parse_ts(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


def pending_flags(ws: Workspace, cat: Catalog) -> list[dict]:
    """Flags in flags/flags.jsonl that the snapshot's review_flags does not hold yet, oldest first."""
    seen = {r["flag_id"] for r in cat.query("ui/flag_ids")}
    return [f for f in read_flags(ws) if f.get("flag_id") not in seen and f.get("trace_id")]


@contextmanager
def open_reader(ws: Workspace) -> Iterator[Reader]:
    """The latest snapshot (re-resolved at each call, so a finished job shows at the next rerun)."""
    snap = ws.current_snapshot()
    with ws.reader() as cat:
        tables: dict[str, set[str]] = {}
        for r in cat.query("ui/schema"):
            tables.setdefault(r["table_name"], set()).add(r["column_name"])
        pending = pending_flags(ws, cat)
        tbl = pa.table({c: [(_parse_ts(f.get(c)) if c == "created_at" else f.get(c)) for f in pending]
                        for c in _PENDING_SCHEMA.names}, schema=_PENDING_SCHEMA)
        cat.con.register("_ui_pending_flags", tbl)
        try:
            yield Reader(ws, cat, snap.name if snap else "", tables, pending)
        finally:
            cat.con.unregister("_ui_pending_flags")


# ---- Browse ---------------------------------------------------------------------------------------------

@dataclass
class BrowseFilter:
    """The Browse page's filters; None / empty = no filter. Mirrors the parameters of ui/browse.sql."""

    sources: list[str] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)   # '(none)' = not verified yet
    tok_min: int | None = None
    tok_max: int | None = None
    markers_min: int | None = None
    marker_kind: str | None = None
    truncated: bool | None = None
    looping: bool | None = None
    unsuitable: bool | None = None
    not_correct: bool | None = None
    duplicate: bool | None = None
    contaminated: bool | None = None
    flag: str = "any"                                    # FLAG_FILTERS key, or a label
    q: str | None = None                                 # text search (problem; traces too with q_traces)
    q_traces: bool = False
    build_id: str | None = None
    build_reason: str = "(any)"                          # (any) | (kept) | (dropped) | a drop reason
    sort: str = "seq"

    def params(self) -> dict[str, Any]:
        p = asdict(self)
        p["sources"] = list(self.sources) or None
        p["verdicts"] = list(self.verdicts) or None
        p["q"] = like_pattern(self.q.strip()) if self.q and self.q.strip() else None
        return p


def browse(r: Reader, flt: BrowseFilter, offset: int = 0, limit: int = 50) -> tuple[list[dict], int]:
    """One page of matching traces and how many match. Paging and filtering run in DuckDB."""
    params = flt.params() | {"offset": max(0, int(offset)), "limit": int(limit)}
    rows = r.query("ui/browse", params)
    if not rows and offset > 0:  # past the end (filters narrowed): count without a page
        rows0 = r.query("ui/browse", params | {"offset": 0, "limit": 1})
        return [], (rows0[0]["total"] if rows0 else 0)
    return rows, (rows[0]["total"] if rows else 0)


# ---- Trace ----------------------------------------------------------------------------------------------

def trace_detail(r: Reader, trace_id: str) -> dict | None:
    rows = r.query("ui/trace", {"trace_id": trace_id})
    return rows[0] if rows else None


def trace_markers(r: Reader, trace_id: str) -> list[dict]:
    if not r.has("trace_markers"):
        return []
    return r.query("signals/trace_markers", {"trace_id": trace_id})


def flag_history(r: Reader, trace_id: str) -> list[dict]:
    """Every flag of the trace, newest first: the snapshot's and those pending in the log."""
    rows = [dict(f, status="applied to the snapshot") for f in r.query("ui/trace_flags", {"trace_id": trace_id})]
    for f in r.pending:
        if f["trace_id"] == trace_id:
            rows.append(dict(f, created_at=_parse_ts(f["created_at"]), status="pending (next job mirrors it)"))
    return sorted(rows, key=lambda f: (str(f["created_at"]), f["flag_id"]), reverse=True)


def build_history(r: Reader, trace_id: str) -> list[dict]:
    if not r.has("build_rows", "step"):
        return []
    return r.query("build/row_history", {"trace_id": trace_id})


def duplicates(r: Reader, trace_id: str) -> list[dict]:
    return r.query("ui/trace_duplicates", {"trace_id": trace_id})


def contamination(r: Reader, problem_id: str) -> list[dict]:
    if not r.has("contamination_pairs"):
        return []
    return r.query("ui/trace_contamination", {"problem_id": problem_id})


def reformats(r: Reader, trace_id: str) -> list[dict]:
    if not r.has("reformat_checks"):
        return []
    return r.query("ui/trace_reformats", {"trace_id": trace_id})


# ---- Overview / Builds / Evaluations ----------------------------------------------------------------------

def sources(r: Reader) -> list[str]:
    return [x["source"] for x in r.query("ui/sources")]


def builds(r: Reader) -> list[dict]:
    return r.query("ui/builds") if r.has("builds", "job_id") else []
