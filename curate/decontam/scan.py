"""Scanning texts against benchmark items through the executor (process pool or Ray).

`scan_texts` is the one entry point used by the stage, `decontam-check` and the bench: it cuts the
texts into batches, runs `scan_batch` (a top-level, picklable function) on each and returns one row per
match with character spans into both texts. Workers build the index on first use and keep it for the
following batches (cached by the fingerprint of items + config)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterator

import orjson

from distillate.log import progress

from ..executor import map_batches
from .matcher import BenchmarkIndex, MatchConfig
from .registry import BenchmarkItem


@dataclass(frozen=True)
class ScanPayload:
    cfg: MatchConfig
    key: str                                   # fingerprint of items + config: the workers' cache key
    items: tuple[tuple[str, str, str], ...]    # (benchmark, benchmark_id, problem)
    methods: tuple[str, ...]
    containment: bool = False                  # traces: item n-grams inside a long text


_INDEXES: dict[str, BenchmarkIndex] = {}


def payload_for(items: list[BenchmarkItem], cfg: MatchConfig, methods: tuple[str, ...],
                containment: bool = False) -> ScanPayload:
    triples = tuple((it.benchmark, it.id, it.problem) for it in items)
    h = hashlib.blake2b(digest_size=12)
    h.update(cfg.key().encode())
    for t in triples:
        h.update(orjson.dumps(t))
    return ScanPayload(cfg, h.hexdigest(), triples, methods, containment)


def get_index(payload: ScanPayload) -> BenchmarkIndex:
    idx = _INDEXES.get(payload.key)
    if idx is None:
        _INDEXES.clear()  # one index per process at a time: bounded memory
        idx = _INDEXES[payload.key] = BenchmarkIndex(list(payload.items), payload.cfg)
    return idx


def scan_batch(batch: list[tuple[str, str]], payload: ScanPayload) -> tuple[list[dict], list[dict]]:
    """(key, text) pairs -> (match rows, error rows). Errors of one text never stop the batch."""
    idx = get_index(payload)
    rows, errors = [], []
    for key, text in batch:
        try:
            tk, matches = idx.match(text or "", payload.methods, payload.containment)
            for m in matches:
                bench, bid, _ = payload.items[m.item]
                rows.append({
                    "key": key, "benchmark": bench, "benchmark_id": bid, "method": m.method,
                    "score": m.score, "near": m.near,
                    "spans": {"problem": tk.char_spans(m.text_ranges),
                              "benchmark": idx.tokens[m.item].char_spans(m.item_ranges)},
                })
        except Exception as e:  # a per-item error is recorded, not raised
            errors.append({"key": key, "error": f"{type(e).__name__}: {e}"})
    return rows, errors


def _batches(texts: list[tuple[str, str]], size: int) -> Iterator[list[tuple[str, str]]]:
    for s in range(0, len(texts), size):
        yield texts[s:s + size]


def scan_texts(texts: list[tuple[str, str]], payload: ScanPayload, *, engine: str = "local",
               workers: int | None = None, ray_address: str | None = None, batch_size: int = 1000,
               show_progress: bool = False, what: str = "decontam") -> tuple[list[dict], list[dict]]:
    """Scan (key, text) pairs; returns (match rows, error rows) in input order."""
    if not texts or not payload.items:
        return [], []
    if workers is None and len(texts) <= batch_size:
        workers = 1  # one batch: no pool start-up
    rows: list[dict] = []
    errors: list[dict] = []
    with progress(disable=not show_progress) as bar:
        task = bar.add_task(what, total=len(texts), info="")
        batches = list(_batches(texts, batch_size))
        for (r, e), b in zip(map_batches(scan_batch, batches, payload, engine=engine, workers=workers,
                                         ray_address=ray_address), batches):
            rows.extend(r)
            errors.extend(e)
            bar.update(task, advance=len(b), info=f"{len(rows)} matches")
    return rows, errors
