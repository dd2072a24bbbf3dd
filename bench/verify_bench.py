"""Answer-verification throughput: Distillate's verifier vs plain math-verify on the same pairs, same run.

Pairs are typical (gold, predicted answer) pairs built from the real data in ../shared/data: the sources'
own predicted answers against their references (traces/*.jsonl), plus MATH-500 references against
formatting variants of themselves (\\dfrac, `x = `, `$..$`, zero padding, trailing `.0`) and against another
problem's answer (wrong). Printed: checks/s, p50/p99 latency per check, and the ratios.

    .venv/bin/python bench/verify_bench.py [--quick] [--n N]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import sys
import time
from multiprocessing import get_context
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DISTILLATE_SHARED_DATA", REPO.parent / "shared" / "data"))


def _pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pairs: list[tuple[str, str]] = []
    for f in sorted((DATA / "traces").glob("*.jsonl")):
        for line in f.open():
            r = json.loads(line)
            for s in r.get("samples", []) or [r]:
                g, p = r.get("answer"), s.get("predicted_answer")
                if isinstance(g, str) and isinstance(p, str) and g.strip() and p.strip():
                    pairs.append((g, p))
    golds = [json.loads(line)["answer"] for line in (DATA / "benchmarks" / "math500.jsonl").open()]
    golds += [json.loads(line)["answer"] for line in (DATA / "benchmarks" / "aime24.jsonl").open()]
    variants = [lambda a: a, lambda a: a.replace("\\frac", "\\dfrac"), lambda a: f"x = {a}",
                lambda a: f"${a}$", lambda a: a + ".0" if a.isdigit() else a,
                lambda a: a.zfill(3) if a.isdigit() else a]
    for g in golds:
        pairs.append((g, rng.choice(variants)(g)))
        pairs.append((g, rng.choice(golds)))
    rng.shuffle(pairs)
    while len(pairs) < n:
        pairs += pairs[: n - len(pairs)]
    return pairs[:n]


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


_MV = None


def _mv_check(pair: tuple[str, str]) -> tuple[bool, float]:
    """Plain math-verify, as its README shows (with its own SIGALRM timeouts, main thread)."""
    global _MV
    if _MV is None:
        import math_verify

        logging.getLogger("math_verify").setLevel(logging.ERROR)
        _MV = math_verify
    t = time.perf_counter()
    g = _MV.parse("\\boxed{" + pair[0] + "}")
    p = _MV.parse("\\boxed{" + pair[1] + "}")
    ok = _MV.verify(g, p)
    return ok, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="500 pairs (default 3000)")
    ap.add_argument("--n", type=int, default=None, help="number of pairs")
    args = ap.parse_args()
    n = args.n or (500 if args.quick else 3000)
    sys.path.insert(0, str(REPO))
    from distillate.curate.verify import core, verify_batch
    from distillate.curate.verify.pool import get_pool

    pairs = _pairs(n)
    workers = len(os.sched_getaffinity(0))
    print(f"{len(pairs):,} pairs, {workers} cores")

    # --- plain math-verify, one process
    _mv_check(("1", "1"))  # imports outside the timing
    t = time.perf_counter()
    mv1 = [_mv_check(p) for p in pairs]
    mv1_s = time.perf_counter() - t
    mv1_lat = [s for _, s in mv1]

    # --- plain math-verify, process pool (one per core)
    with get_context("fork").Pool(workers) as pool:
        pool.map(_mv_check, [("1", "1")] * workers)
        t = time.perf_counter()
        mvp = pool.map(_mv_check, pairs, chunksize=8)
        mvp_s = time.perf_counter() - t

    # --- Distillate: cold cache, warm worker pool (process start-up is not a per-check cost)
    core.cache_clear()
    get_pool(workers).warm()
    t = time.perf_counter()
    vs = verify_batch(pairs, workers=workers)
    d_s = time.perf_counter() - t
    d_lat = [v.seconds for v in vs]
    # --- Distillate again: every pair now comes from the in-memory cache
    t = time.perf_counter()
    verify_batch(pairs, workers=workers)
    d2_s = time.perf_counter() - t

    agree = sum((v.verdict == "correct") == ok for v, (ok, _) in zip(vs, mv1))
    methods: dict[str, int] = {}
    for v in vs:
        methods[v.method or v.verdict] = methods.get(v.method or v.verdict, 0) + 1
    rows = [
        ("math-verify, 1 process", len(pairs) / mv1_s, _pct(mv1_lat, 0.5), _pct(mv1_lat, 0.99)),
        (f"math-verify, {workers}-process pool", len(pairs) / mvp_s, None, None),
        (f"distillate verify_batch ({workers} workers)", len(pairs) / d_s, _pct(d_lat, 0.5), _pct(d_lat, 0.99)),
        ("distillate, cached rerun", len(pairs) / d2_s, None, None),
    ]
    print(f"{'':40s} {'checks/s':>10s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for name, rate, p50, p99 in rows:
        f = (lambda x: f"{x * 1000:8.2f}" if x is not None else f"{'-':>8s}")
        print(f"{name:40s} {rate:10.1f} {f(p50)} {f(p99)}")
    print(f"ratio distillate / math-verify (1 process): {rows[2][1] / rows[0][1]:.1f}x; "
          f"/ math-verify pool: {rows[2][1] / rows[1][1]:.1f}x")
    print(f"decided by: {', '.join(f'{k} {v}' for k, v in sorted(methods.items(), key=lambda x: -x[1]))}")
    print(f"verdicts agree with plain math-verify on {agree}/{len(pairs)} pairs "
          f"({statistics.mean([v.correct for v in vs]):.1%} judged correct)")
    print(f"targets: >= 400 checks/s -> {'OK' if rows[2][1] >= 400 else 'MISSED'}; "
          f"p99 <= 50 ms -> {'OK' if rows[2][3] <= 0.05 else 'MISSED'}")


if __name__ == "__main__":
    main()
