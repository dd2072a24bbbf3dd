"""The completion log: an append-only, fsynced log of finished requests, so that a finished request is durable
before the runner counts it as done, while the catalog still takes them in batches (one DuckDB commit per
`commit_interval`, which costs tens of milliseconds however few rows it holds).

Each finished request (completed, dropped or failed) is one JSON line: its journal row, its trace, its
fidelity check. Lines go to segment files `<dir>/<job>-<n>.jsonl`; `sync()` returns once every line written
before it is on disk (callers that arrive together share one fsync). When the runner takes a batch for the
catalog it seals the current segment (`rotate`): everything in a sealed segment is in that batch or an earlier
one, so the segment is deleted once the batch is committed. After a kill, the segments left behind hold what
finished since the last catalog commit: the next run replays them (`read_pending`) into the catalog before
planning, so nothing it had counted is sent again."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import orjson

from distillate.log import log


def _fsync_all(fds: list[int]) -> None:
    for fd in fds:
        os.fsync(fd)


class CompletionLog:
    def __init__(self, directory: Path, job_id: str):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.job_id = job_id
        self._n = 0
        self._fd: int | None = None
        self._path: Path | None = None
        self._unsynced: set[int] = set()     # fds written since their last fsync
        self._sealed: list[int] = []         # rotated fds: closed once synced (nothing is written to them again)
        self._waiters: list[asyncio.Future] = []
        self._syncer: asyncio.Task | None = None

    def append(self, entry: dict) -> None:
        """Write one line (all of it, or raise: a full disk fails the run rather than tearing the log)."""
        if self._fd is None:
            self._path = self.dir / f"{self.job_id}-{self._n:06d}.jsonl"
            self._n += 1
            self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        view = memoryview(orjson.dumps(entry) + b"\n")
        while view:
            view = view[os.write(self._fd, view):]
        self._unsynced.add(self._fd)

    def rotate(self) -> list[Path]:
        """Seal the segment written so far and return it (deleted by the caller once its batch is committed)."""
        if self._fd is None:
            return []
        sealed = [self._path]
        self._sealed.append(self._fd)
        self._fd = self._path = None
        return sealed

    async def sync(self) -> None:
        """Return once every line appended before this call is on disk."""
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        if self._syncer is None or self._syncer.done():
            self._syncer = asyncio.create_task(self._sync_loop())
        await fut

    async def _sync_loop(self) -> None:
        while self._waiters:
            waiters, self._waiters = self._waiters, []
            fds, self._unsynced = list(self._unsynced), set()
            try:
                await asyncio.to_thread(_fsync_all, fds)
            except BaseException as e:
                for w in waiters:
                    if not w.done():
                        w.set_exception(e if isinstance(e, Exception) else RuntimeError("fsync interrupted"))
                raise
            self._close_synced()
            for w in waiters:
                if not w.done():
                    w.set_result(None)

    def _close_synced(self) -> None:
        for fd in [fd for fd in self._sealed if fd not in self._unsynced]:
            self._sealed.remove(fd)
            os.close(fd)

    def close(self) -> None:
        """Flush and close every segment (their lines are in the catalog or stay for the next run)."""
        if self._fd is not None:
            self._sealed.append(self._fd)
            self._fd = self._path = None
        _fsync_all([fd for fd in self._sealed if fd in self._unsynced])
        self._unsynced.clear()
        self._close_synced()

    @staticmethod
    def remove(paths: list[Path]) -> None:
        for p in paths:
            p.unlink(missing_ok=True)

    @staticmethod
    def read_pending(directory: Path) -> tuple[list[dict], list[Path]]:
        """The entries of segments left by earlier runs (oldest first) and the segment files. A line cut short
        by a crash was never acknowledged: it is skipped (its request is sent again)."""
        d = Path(directory)
        paths = sorted(d.glob("*.jsonl")) if d.is_dir() else []
        entries = []
        for p in paths:
            for i, line in enumerate(p.read_bytes().splitlines(), 1):
                try:
                    entries.append(orjson.loads(line))
                except orjson.JSONDecodeError:
                    log.warning("completion log %s line %d is incomplete (a crash mid-write): skipped", p.name, i)
        return entries, paths
