"""A workspace is a directory holding the catalog and everything stages write.

Concurrency pattern (docs/ARCHITECTURE.md, "Readers, writers and flags"):
- One writer at a time. A job takes an exclusive lock (`job.lock`), opens `catalog.duckdb` read-write,
  and when it ends publishes an immutable snapshot: it checkpoints, closes, copies the file to
  `snapshots/<job_id>.duckdb` and atomically repoints `snapshots/CURRENT`.
- Readers (the review app, `report`) open the CURRENT snapshot read-only, so a running job never blocks
  them and they never block it; they see the state as of the last finished job.
- Review flags never touch the catalog file: they are appended to `flags/flags.jsonl` (see flags.py) and
  every job mirrors that log into the `review_flags` table when it starts.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from distillate import __version__
from distillate.errors import DistillateError
from distillate.log import log
from distillate.redact import redact

from .catalog import Catalog, migrations


def latest_migration() -> int:
    return max(n for n, _, _ in migrations())

ENV_VAR = "DISTILLATE_WORKSPACE"
DEFAULT_DIR = ".distillate"
KEEP_SNAPSHOTS = 3


class Workspace:
    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()

    @classmethod
    def resolve(cls, workspace: str | Path | None = None) -> "Workspace":
        """--workspace DIR, else $DISTILLATE_WORKSPACE, else ./.distillate"""
        return cls(workspace or os.environ.get(ENV_VAR) or DEFAULT_DIR)

    # -- layout --------------------------------------------------------------------------------
    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.duckdb"

    @property
    def snapshots_dir(self) -> Path:
        return self.root / "snapshots"

    @property
    def flags_path(self) -> Path:
        return self.root / "flags" / "flags.jsonl"

    def path(self, *parts: str) -> Path:
        """A directory under the workspace for a stage's files (created on demand)."""
        p = self.root.joinpath(*parts)
        p.mkdir(parents=True, exist_ok=True)
        return p

    def exists(self) -> bool:
        return self.catalog_path.exists()

    # -- writing -------------------------------------------------------------------------------
    @contextmanager
    def job(self, command: str, args: dict | None = None, *, wait: float = 0.0):
        """Open the catalog for writing as one recorded job; publish a snapshot when it ends.

        Yields (catalog, job_id). `wait` seconds to wait for another job's lock before failing."""
        self.root.mkdir(parents=True, exist_ok=True)
        lock_file = open(self.root / "job.lock", "a+")
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    lock_file.seek(0)
                    holder = lock_file.read().strip() or "another process"
                    lock_file.close()
                    raise DistillateError(f"another job is writing to {self.root} ({holder}); try again when it ends")
                time.sleep(0.2)
        job_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(f"job {job_id}: {command} (pid {os.getpid()} on {socket.gethostname()})")
        lock_file.flush()
        cat = None
        try:
            cat = Catalog(self.catalog_path)
            cat.run("core/job_start", {"job_id": job_id, "command": command, "code_version": __version__,
                                  "args": redact(json.dumps(args or {}, default=str))})
            from .flags import sync_flags

            sync_flags(self, cat)
            status, error = "ok", None
            try:
                yield cat, job_id
            except BaseException as e:
                status, error = "failed", redact(f"{type(e).__name__}: {e}")
                raise
            finally:
                cat.run("core/job_finish", {"status": status, "error": error, "job_id": job_id})
                cat.con.execute("CHECKPOINT").fetchall()
                cat.close()
                cat = None
                self._publish_snapshot(job_id)
        finally:
            if cat is not None:
                cat.close()
            lock_file.seek(0)
            lock_file.truncate()
            fcntl.flock(lock_file, fcntl.LOCK_UN)
            lock_file.close()

    def _publish_snapshot(self, job_id: str) -> Path:
        snaps = self.snapshots_dir
        snaps.mkdir(exist_ok=True)
        dst = snaps / f"{job_id}.duckdb"
        tmp = dst.with_suffix(".tmp")
        shutil.copyfile(self.catalog_path, tmp)
        os.replace(tmp, dst)
        cur_tmp = snaps / "CURRENT.tmp"
        cur_tmp.write_text(dst.name)
        os.replace(cur_tmp, snaps / "CURRENT")
        # Old snapshots go; a reader that still has one open keeps reading it (POSIX unlink semantics).
        old = sorted(p for p in snaps.glob("*.duckdb") if p != dst)
        for p in old[: max(0, len(old) - (KEEP_SNAPSHOTS - 1))]:
            p.unlink(missing_ok=True)
        return dst

    # -- reading -------------------------------------------------------------------------------
    def current_snapshot(self) -> Path | None:
        cur = self.snapshots_dir / "CURRENT"
        if not cur.exists():
            return None
        p = self.snapshots_dir / cur.read_text().strip()
        return p if p.exists() else None

    @contextmanager
    def reader(self):
        """A read-only catalog: the latest published snapshot."""
        snap = self.current_snapshot()
        if snap is None:
            raise DistillateError(
                f"no catalog in {self.root}: run `distillate ingest ...` (or `distillate demo`) first"
            )
        cat = Catalog(snap, read_only=True)
        if cat.schema_version() < latest_migration():
            # The snapshot predates this code's schema: an empty job migrates the catalog and publishes
            # a new snapshot (if another job is running, its own snapshot will be migrated).
            cat.close()
            with self.job("migrate"):
                pass
            cat = Catalog(self.current_snapshot(), read_only=True)
        try:
            yield cat
        finally:
            cat.close()


def code_version() -> str:
    return f"distillate {__version__} (python {sys.version_info.major}.{sys.version_info.minor})"
