"""A pool of verifier worker processes with hard limits.

Each check runs in a separate process (`_worker.py`) under RLIMIT_AS (memory cap); the caller waits with
select() and a deadline, and on timeout kills the worker (SIGKILL) and starts a fresh one. Nothing here uses
signals in the caller, so the limits hold in threads, async code (via `asyncio.to_thread`), Ray tasks and
daemonic pool workers (workers are plain subprocesses, not multiprocessing children)."""

from __future__ import annotations

import atexit
import os
import pickle
import queue
import select
import subprocess
import sys
import threading
import time

from ._worker import _HDR

STARTUP_TIMEOUT = 120.0  # importing sympy on a loaded machine can take a while; not part of a check's limit


class CheckTimeout(Exception):
    pass


class WorkerDied(Exception):
    pass


class Worker:
    def __init__(self, memory_mb: int):
        self.memory_mb = memory_mb
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "distillate.curate.verify._worker", str(memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0,
            start_new_session=True,  # a Ctrl-C in the terminal goes to the parent, which cleans up
        )
        self._rfd = self.proc.stdout.fileno()
        self._wfd = self.proc.stdin.fileno()
        self.pid = self.proc.pid
        self.ready = False

    def _read(self, n: int, deadline: float) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CheckTimeout()
            r, _, _ = select.select([self._rfd], [], [], left)
            if not r:
                raise CheckTimeout()
            chunk = os.read(self._rfd, n - len(buf))
            if not chunk:
                raise WorkerDied(f"worker exited with code {self.proc.wait()}")
            buf += chunk
        return bytes(buf)

    def _recv(self, deadline: float):
        (n,) = _HDR.unpack(self._read(_HDR.size, deadline))
        return pickle.loads(self._read(n, deadline))

    def wait_ready(self) -> None:
        if not self.ready:
            msg = self._recv(time.monotonic() + STARTUP_TIMEOUT)
            if not (isinstance(msg, tuple) and msg and msg[0] == "ready"):
                raise WorkerDied(f"unexpected first message from worker: {msg!r}")
            self.ready = True

    def call(self, gold: str, pred: str, timeout: float) -> dict:
        self.wait_ready()
        data = pickle.dumps((gold, pred), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            view = memoryview(_HDR.pack(len(data)) + data)
            while view:
                view = view[os.write(self._wfd, view):]
        except (BrokenPipeError, OSError) as e:
            raise WorkerDied(f"worker gone: {e}") from e
        return self._recv(time.monotonic() + timeout)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


class VerifierPool:
    """`workers` processes, started on first use; `check()` is thread-safe (each caller borrows one)."""

    def __init__(self, workers: int = 2, memory_mb: int = 2048):
        self.size = max(1, workers)
        self.memory_mb = memory_mb
        # LIFO: a returned (warm) worker is reused first; an unstarted slot starts only under concurrency
        self._idle: queue.LifoQueue[Worker | None] = queue.LifoQueue()
        for _ in range(self.size):
            self._idle.put(None)  # None = a slot whose worker starts when first borrowed
        self._all: set[Worker] = set()
        self._lock = threading.Lock()
        self.timeouts = 0
        self.restarts = 0
        self.closed = False

    def _spawn(self) -> Worker:
        w = Worker(self.memory_mb)
        with self._lock:
            self._all.add(w)
        return w

    def _discard(self, w: Worker) -> None:
        w.kill()
        with self._lock:
            self._all.discard(w)
            self.restarts += 1

    def check(self, gold: str, pred: str, timeout: float) -> dict:
        """Run one check. Returns the worker's dict, or {'verdict': 'timeout'|'error', ...}."""
        if self.closed:
            raise RuntimeError("verifier pool is closed")
        w = self._idle.get()
        try:
            if w is None or not w.alive():
                if w is not None:
                    self._discard(w)
                w = self._spawn()
            try:
                w.wait_ready()
            except (CheckTimeout, WorkerDied) as e:
                self._discard(w)
                w = None
                return {"verdict": "error", "method": "mathverify",
                        "error": f"verifier worker failed to start: {e or 'startup timeout'}"}
            t0 = time.monotonic()
            try:
                res = w.call(gold, pred, timeout)
                res["worker_seconds"] = round(time.monotonic() - t0, 4)
                return res
            except CheckTimeout:
                self.timeouts += 1
                self._discard(w)
                w = self._spawn()  # start the replacement now: its imports overlap other work
                return {"verdict": "timeout", "method": "mathverify", "worker_seconds": round(time.monotonic() - t0, 4),
                        "error": f"no result within {timeout:g}s; worker killed and replaced"}
            except WorkerDied as e:
                self._discard(w)
                w = self._spawn()
                return {"verdict": "error", "method": "mathverify",
                        "error": f"verifier worker died ({e}); likely the memory cap ({self.memory_mb} MB)"}
        finally:
            self._idle.put(w)

    def warm(self) -> None:
        """Start every worker now (in parallel) so that the first checks do not pay the import time."""
        ws = []
        for _ in range(self.size):
            w = self._idle.get()
            if w is None or not w.alive():
                w = self._spawn()
            ws.append(w)
        try:
            for w in ws:
                w.wait_ready()
        finally:
            for w in ws:
                self._idle.put(w)

    def close(self) -> None:
        self.closed = True
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for w in workers:
            w.kill()


_pools: dict[tuple[int, int], VerifierPool] = {}
_pools_pid: int | None = None
_pools_lock = threading.Lock()
DEFAULT_MEMORY_MB = 2048


def get_pool(workers: int | None = None, memory_mb: int | None = None) -> VerifierPool:
    """This process's pool for (workers, memory cap): started once and reused (re-created after a fork,
    since a child must not talk to its parent's workers)."""
    global _pools_pid
    from distillate.curate.executor import default_workers

    key = (workers or default_workers(), memory_mb or DEFAULT_MEMORY_MB)
    with _pools_lock:
        if _pools_pid != os.getpid():
            _pools.clear()
            _pools_pid = os.getpid()
        pool = _pools.get(key)
        if pool is None or pool.closed:
            pool = _pools[key] = VerifierPool(*key)
        return pool


def shutdown() -> None:
    """Kill every worker of this process (also registered with atexit)."""
    with _pools_lock:
        if _pools_pid == os.getpid():
            for pool in _pools.values():
                pool.close()
        _pools.clear()


atexit.register(shutdown)
