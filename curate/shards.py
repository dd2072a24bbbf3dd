"""Sharded streaming with resume for the per-item stages (signals, verify).

A stage's work list (the ids whose rows are missing or outdated) is cut into shards by id: shard i of n
holds the ids whose first 8 hex digits are i modulo n, with n = ceil(items / shard_size) so a shard holds
about `shard_size` items (option `shard_size`, default 20,000). The stage runs the shards one after the
other, batch by batch, through one `map_batches` stream (the pool or the Ray cluster stays up across
shards) and writes each batch as it comes back. When the last batch of a shard is written, the shard gets
a completion marker in `stage_shards` (migration 009) with its fingerprint (item count + xor of id hashes).

Resume: every write is committed as it happens (DuckDB's WAL survives a kill), so a killed run leaves
finished shards marked and the unfinished shard partly written. The rerun finds the marked shards
complete (they have no work left and their fingerprint still matches), processes only the remaining
items, and marks the rest. A shard whose items changed (a later ingest) no longer matches its marker and
is marked again once its new items are done. Correctness never depends on a marker alone: the stage's own
missing-or-outdated query decides what is computed, the markers record progress at shard granularity
(`distillate report --json` -> `shards`) and bound the work lost to a kill to one shard's batches in
flight."""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any

from distillate.errors import DistillateError
from distillate.log import log

DEFAULT_SHARD_SIZE = 20_000


def shard_of(item_id: str, n: int) -> int:
    """The shard of a trace id ('t' + hex digest): sql/queries/shards/traces.sql computes the same."""
    return int(item_id[1:9], 16) % n


class ShardedRun:
    """Shard bookkeeping of one stage run over the catalog's traces.

    Usage in a stage:  run = ShardedRun(ctx, "verify", config_key); batches = run.batches(todo, size);
    after writing the result of each batch, in order: run.written(); counters.update(run.counters())."""

    def __init__(self, ctx, stage: str, config_key: str, shard_size: int | None = None):
        self.cat = ctx.cat
        self.job_id = ctx.job_id
        self.stage = stage
        self.config_key = config_key
        size = int(shard_size or ctx.opt("shard_size") or DEFAULT_SHARD_SIZE)
        if size < 1:
            raise DistillateError(f"shard size must be at least 1, not {size}")
        query = "shards/traces"
        total = sum(r["items"] for r in self.cat.query(query, {"n": 1}))
        self.n = max(1, math.ceil(total / size))
        self.items: dict[int, int] = {}
        self.fingerprint: dict[int, str] = {}
        for r in self.cat.query(query, {"n": self.n}):
            self.items[r["shard"]] = r["items"]
            self.fingerprint[r["shard"]] = f"{r['items']}:{r['fp']}"
        self.cat.run("shards/prune", {"stage": stage, "config_key": config_key, "suffix": f"/{self.n}"})
        marked = {r["shard"]: r["fingerprint"] for r in
                  self.cat.query("shards/done", {"stage": stage, "config_key": config_key})}
        self.done_before = {s for s, fp in self.fingerprint.items() if marked.get(self.key(s)) == fp}
        self._pending: deque[int] = deque()     # the shard of every batch handed out, in order
        self._left: dict[int, int] = {}         # shard -> batches not yet written
        self._computed: dict[int, int] = {}
        self._last = time.monotonic()
        self.marked_now = 0
        self.redone = 0

    def key(self, shard: int) -> str:
        return f"{shard}/{self.n}"

    def batches(self, todo: dict[str, int], batch_size: int) -> list[dict[str, Any]]:
        """The work (id -> seq, in seq order) cut into batches shard by shard, each as the parameters of
        the stage's text query: {ids, lo, hi}. A shard spreads over the whole table, but a batch of
        consecutive ids of one shard spans a short seq range, which the query's scan prunes to (an id
        list alone makes every batch read every trace's text). Shards without work whose marker is
        missing or stale are marked now (their rows are all up to date)."""
        by_shard: dict[int, list[str]] = {}
        for i in todo:
            by_shard.setdefault(shard_of(i, self.n), []).append(i)
        self.redone = len(self.done_before & by_shard.keys())
        if self.redone:  # e.g. rows deleted by hand: the work list wins over the marker
            log.info("%s: %d shard(s) marked finished still have work; processing it", self.stage, self.redone)
        for s in self.fingerprint:
            if s not in by_shard and s not in self.done_before:
                self._mark(s, 0, None)
        out: list[dict[str, Any]] = []
        for s in sorted(by_shard):
            ids = by_shard[s]
            for j in range(0, len(ids), batch_size):
                b = ids[j:j + batch_size]
                seqs = [todo[i] for i in b]
                out.append({"ids": b, "lo": min(seqs), "hi": max(seqs)})
                self._pending.append(s)
            self._left[s] = math.ceil(len(ids) / batch_size)
            self._computed[s] = len(ids)
        self._last = time.monotonic()
        return out

    def written(self) -> None:
        """The next batch (in hand-out order) is written; marks its shard when it was the shard's last."""
        s = self._pending.popleft()
        self._left[s] -= 1
        if self._left[s] == 0:  # shards run one after the other: a shard's time runs from the previous mark
            now = time.monotonic()
            self._mark(s, self._computed[s], now - self._last)
            self._last = now

    def _mark(self, s: int, computed: int, seconds: float | None) -> None:
        self.cat.run("shards/mark", {"stage": self.stage, "config_key": self.config_key, "shard": self.key(s),
                                     "fingerprint": self.fingerprint[s], "items": self.items[s],
                                     "computed": computed, "job_id": self.job_id,
                                     "seconds": None if seconds is None else round(seconds, 3)})
        self.marked_now += 1

    def counters(self) -> dict[str, Any]:
        return {"shards": self.n, "shards_skipped": len(self.done_before) - self.redone,
                "shards_finished": self.marked_now}


def report_section(cat) -> dict:
    """Finished shards per stage configuration (for `distillate report --json`)."""
    try:
        rows = cat.query("shards/report")
    except Exception as e:  # a snapshot written before migration 009
        if "stage_shards" not in str(e):
            raise
        return {}
    return {"stages": [{**r, "last_finished": str(r["last_finished"])} for r in rows]}


def render_section(console, data: dict) -> None:
    """The `shards` table of `distillate report`."""
    if not data.get("stages"):
        return
    from rich.table import Table

    t = Table(title="Finished shards (resume points of sharded stages)")
    for c in ("stage", "config", "shards", "items", "computed"):
        t.add_column(c, justify="left" if c in ("stage", "config") else "right")
    for r in data["stages"]:
        t.add_row(r["stage"], r["config_key"], f"{r['shards']:,}", f"{r['items']:,}", f"{r['computed']:,}")
    console.print(t)
