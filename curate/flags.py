"""Review flags: an append-only JSONL log (the audit trail), independent of the catalog file.

Appending takes a short exclusive lock on the log itself (never the job lock), writes one line and
fsyncs, so a flag is never blocked by a running job and never lost. Jobs mirror the log into the
`review_flags` table when they start (`flags/sync`), which is how builds apply `exclude: [flagged]`."""

from __future__ import annotations

import fcntl
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import orjson

from distillate.errors import DistillateError

if TYPE_CHECKING:
    from .catalog import Catalog
    from .workspace import Workspace

LABELS = ("good", "bad", "needs-fix")
REASONS = (
    "wrong answer", "wrong reasoning", "truncated", "looping", "language mixing", "formatting",
    "unsuitable problem", "contaminated", "duplicate", "other",
)


def add_flag(ws: "Workspace", trace_id: str, label: str, *, reason: str | None = None,
             note: str | None = None, reviewer: str | None = None) -> dict:
    label = (label or "").strip()
    if not label:
        raise DistillateError("a flag needs a label (good, bad, needs-fix, or a custom one)")
    if not trace_id:
        raise DistillateError("a flag needs a trace_id")
    rec = {
        "flag_id": uuid.uuid4().hex,
        "trace_id": trace_id,
        "label": label,
        "reason": reason or None,
        "note": note or None,
        "reviewer": reviewer or None,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
    }
    path = ws.flags_path
    path.parent.mkdir(parents=True, exist_ok=True)
    line = orjson.dumps(rec) + b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line)
        os.fsync(fd)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    return rec


def read_flags(ws: "Workspace") -> Iterator[dict]:
    """Every flag ever written, oldest first. A torn last line (crash mid-write) is skipped."""
    path: Path = ws.flags_path
    if not path.exists():
        return
    with open(path, "rb") as f:
        for raw in f:
            try:
                yield orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue


def sync_flags(ws: "Workspace", cat: "Catalog") -> int:
    """Mirror the flag log into review_flags (insert the ones not there yet). Returns how many."""
    import pyarrow as pa

    rows = list(read_flags(ws))
    if not rows:
        return 0
    cols = ["flag_id", "trace_id", "label", "reason", "note", "reviewer", "created_at"]
    tbl = pa.table({c: [r.get(c) for r in rows] for c in cols})
    cat.con.register("_flags_in", tbl)
    try:
        cat.run("flags/sync")
        return cat.scalar("flags/count")
    finally:
        cat.con.unregister("_flags_in")


def export_flags(ws: "Workspace", out: Path) -> int:
    n = 0
    with open(out, "wb") as f:
        for rec in read_flags(ws):
            f.write(orjson.dumps(rec) + b"\n")
            n += 1
    return n
