"""Where the CPU-heavy work of a stage runs (signals, verification, MinHash, decontamination scans).

A stage cuts its input into batches and calls `map_batches(fn, batches, ...)`: `fn` is a picklable
top-level function `fn(batch, config) -> result`; results come back in input order. The local engine
uses a process pool on this machine; the Ray engine (extra `ray`) runs the same function as Ray tasks,
so both engines give identical results for identical input."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterable, Iterator, TypeVar

from distillate.errors import DistillateError

T = TypeVar("T")
R = TypeVar("R")

ENGINES = ("local", "ray")


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)))


def map_batches(fn: Callable[[T, Any], R], batches: Iterable[T], config: Any = None, *,
                engine: str = "local", workers: int | None = None, ray_address: str | None = None,
                on_result: Callable[[R], None] | None = None) -> Iterator[R]:
    """Apply fn(batch, config) to every batch, yielding results in input order.

    workers=1 runs in this process (no pickling): tests and small inputs."""
    if engine not in ENGINES:
        raise DistillateError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    if engine == "ray":
        from .ray_engine import ray_map_batches

        yield from ray_map_batches(fn, batches, config, address=ray_address, on_result=on_result)
        return
    workers = workers or default_workers()
    if workers <= 1:
        for b in batches:
            r = fn(b, config)
            if on_result:
                on_result(r)
            yield r
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        # keep at most 2 batches per worker in flight: bounded memory on large corpora
        pending = []
        it = iter(batches)
        for b in it:
            pending.append(pool.submit(fn, b, config))
            if len(pending) >= 2 * workers:
                r = pending.pop(0).result()
                if on_result:
                    on_result(r)
                yield r
        for f in pending:
            r = f.result()
            if on_result:
                on_result(r)
            yield r
