"""Answer verification: throughput and p99 against plain math-verify (same pairs, same run), and agreement
with labelled equivalence cases.

Throughput (default mode), two workloads built from the real data in ../shared/data:
- mixed: the sources' own predicted answers against their references (traces/*.jsonl), MATH-500/AIME
  references against formatting variants of themselves (\\dfrac, `x = `, `$..$`, zero padding, trailing `.0`;
  some are identical strings) and against another problem's answer;
- distinct: no pair has identical gold and prediction strings and no pair repeats (so neither the exact-string
  check nor the cache can settle it): the sources' predictions that differ from their reference, references
  of MATH-500/AIME/MATH test against formatting variants that differ from them (also inside a sentence:
  "The answer is $..$.", a box in a sentence, `**Final Answer**`) and against other problems' answers.
Printed and written to bench/results/verify.json: checks/s, p50/p99 latency per check for Distillate's
`verify_batch` (cold cache, warm worker pool) and for plain math-verify (one process, and a process pool
with one process per core), with the ratios.

Agreement (`--agreement`): the convention cases (tests/data/verify_conventions.jsonl), a hold-out set kept
outside the project (`--holdout`, default ../notes/verify_holdout.jsonl when it exists) and math-verify's own
cases (default grader settings), for Distillate and for plain math-verify on whole responses: agreement with
the labels, false accepts (per 200 cases), false rejects, timeouts and the slowest check. Written to
bench/results/verify_agreement.json.

    .venv/bin/python bench/verify_bench.py [--quick] [--n N]
    .venv/bin/python bench/verify_bench.py --agreement [--holdout PATH] [--timeout S]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import time
from multiprocessing import get_context
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = Path(os.environ.get("DISTILLATE_SHARED_DATA", REPO.parent / "shared" / "data"))
CONVENTION_CASES = REPO / "tests" / "data" / "verify_conventions.jsonl"
DEFAULT_HOLDOUT = REPO.parent / "notes" / "verify_holdout.jsonl"

from bench.results import write_result  # noqa: E402


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def _trace_pairs() -> list[tuple[str, str]]:
    pairs = []
    for f in sorted((DATA / "traces").glob("*.jsonl")):
        for r in _jsonl(f):
            for s in r.get("samples", []) or [r]:
                g, p = r.get("answer"), s.get("predicted_answer")
                if isinstance(g, str) and isinstance(p, str) and g.strip() and p.strip():
                    pairs.append((g, p))
    return pairs


def _golds(names: list[str]) -> list[str]:
    return [r["answer"] for n in names for r in _jsonl(DATA / "benchmarks" / f"{n}.jsonl")
            if isinstance(r.get("answer"), str) and r["answer"].strip()]


_VARIANTS = [lambda a: a, lambda a: a.replace("\\frac", "\\dfrac"), lambda a: f"x = {a}", lambda a: f"${a}$",
             lambda a: a + ".0" if a.isdigit() else a, lambda a: a.zfill(3) if a.isdigit() else a]
# formatting variants that change the string (used by the distinct workload)
_DISTINCT_VARIANTS = _VARIANTS[1:] + [
    lambda a: f"The answer is ${a}$.", lambda a: f"So the final result is $\\boxed{{{a}}}$.",
    lambda a: f"**Final Answer**\n\\[ {a} \\]", lambda a: f"\\left( {a} \\right)" if "," in a else f"{{{a}}}",
    lambda a: a.replace(" ", "")]


def mixed_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """The mixed workload (as before issue 19): some identical strings, some repeats."""
    rng = random.Random(seed)
    pairs = _trace_pairs()
    golds = _golds(["math500", "aime24"])
    for g in golds:
        pairs.append((g, rng.choice(_VARIANTS)(g)))
        pairs.append((g, rng.choice(golds)))
    rng.shuffle(pairs)
    while len(pairs) < n:
        pairs += pairs[: n - len(pairs)]
    return pairs[:n]


def distinct_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """n pairs, none with identical gold and prediction strings, none repeated."""
    rng = random.Random(seed)
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str]] = []

    def add(g: str, p: str) -> None:
        if g.strip() != p.strip() and (g, p) not in seen:
            seen.add((g, p))
            out.append((g, p))

    for g, p in _trace_pairs():
        add(g, p)
    golds = _golds(["math500", "aime24", "aime25", "math_test"])
    rng.shuffle(golds)
    for g in golds:
        if len(out) >= n:
            break
        variants = [v(g) for v in _DISTINCT_VARIANTS]
        variants = [v for v in variants if v.strip() != g.strip()]
        if variants:
            add(g, rng.choice(variants))
        add(g, rng.choice(golds))
    rng.shuffle(out)
    if len(out) < n:
        print(f"only {len(out)} distinct pairs available (asked for {n})")
    return out[:n]


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
    try:
        g = _MV.parse("\\boxed{" + pair[0] + "}")
        p = _MV.parse("\\boxed{" + pair[1] + "}")
        ok = _MV.verify(g, p)
    except Exception:  # noqa: BLE001 - a failed check is a wrong answer for the baseline, as in its README
        ok = False
    return ok, time.perf_counter() - t


def _mv_response(pair: tuple[str, str]) -> tuple[bool, float]:
    """Plain math-verify on a whole response: parse(gold), parse(response) with its default extraction."""
    global _MV
    _mv_check(("1", "1")) if _MV is None else None
    t = time.perf_counter()
    try:
        ok = _MV.verify(_MV.parse(pair[0]), _MV.parse(pair[1]))
    except Exception:  # noqa: BLE001
        ok = False
    return bool(ok), time.perf_counter() - t


def throughput(pairs: list[tuple[str, str]], workers: int) -> dict:
    from distillate.curate.verify import core, verify_batch
    from distillate.curate.verify.pool import get_pool

    _mv_check(("1", "1"))  # imports outside the timing
    t = time.perf_counter()
    mv1 = [_mv_check(p) for p in pairs]
    mv1_s = time.perf_counter() - t
    with get_context("fork").Pool(workers) as pool:
        pool.map(_mv_check, [("1", "1")] * workers)
        t = time.perf_counter()
        pool.map(_mv_check, pairs, chunksize=8)
        mvp_s = time.perf_counter() - t
    core.cache_clear()
    get_pool(workers).warm()
    t = time.perf_counter()
    vs = verify_batch(pairs, workers=workers)
    d_s = time.perf_counter() - t
    methods: dict[str, int] = {}
    for v in vs:
        methods[v.method or v.verdict] = methods.get(v.method or v.verdict, 0) + 1
    lat = [v.seconds for v in vs]
    mv_lat = [s for _, s in mv1]
    return {
        "pairs": len(pairs),
        "distillate": {"checks_per_s": round(len(pairs) / d_s, 1), "p50_ms": round(_pct(lat, 0.5) * 1000, 3),
                       "p99_ms": round(_pct(lat, 0.99) * 1000, 2), "workers": workers,
                       "judged_correct": sum(v.correct for v in vs), "decided_by": methods},
        "math_verify_1_process": {"checks_per_s": round(len(pairs) / mv1_s, 1),
                                  "p50_ms": round(_pct(mv_lat, 0.5) * 1000, 3),
                                  "p99_ms": round(_pct(mv_lat, 0.99) * 1000, 2),
                                  "judged_correct": sum(ok for ok, _ in mv1)},
        "math_verify_pool": {"checks_per_s": round(len(pairs) / mvp_s, 1), "processes": workers},
        "ratio_vs_math_verify": round(mv1_s / d_s, 2), "ratio_vs_math_verify_pool": round(mvp_s / d_s, 2),
        "agree_with_math_verify": sum((v.verdict == "correct") == ok for v, (ok, _) in zip(vs, mv1)),
    }


def run_throughput(n: int) -> None:
    workers = len(os.sched_getaffinity(0))
    out = {}
    for name, pairs in (("mixed", mixed_pairs(n)), ("distinct", distinct_pairs(n))):
        ident = sum(g.strip() == p.strip() for g, p in pairs)
        print(f"{name}: {len(pairs):,} pairs ({ident} identical strings, {len(set(pairs)):,} distinct), "
              f"{workers} cores")
        r = throughput(pairs, workers)
        r["identical_strings"], r["distinct_pairs"] = ident, len(set(pairs))
        out[name] = r
        d, m, mp = r["distillate"], r["math_verify_1_process"], r["math_verify_pool"]
        print(f"  {'':34s} {'checks/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s}")
        print(f"  {'math-verify, 1 process':34s} {m['checks_per_s']:9.1f} {m['p50_ms']:8.2f} {m['p99_ms']:8.1f}")
        print(f"  {f'math-verify, {workers}-process pool':34s} {mp['checks_per_s']:9.1f} {'-':>8s} {'-':>8s}")
        print(f"  {f'distillate verify_batch ({workers} workers)':34s} {d['checks_per_s']:9.1f} {d['p50_ms']:8.2f} "
              f"{d['p99_ms']:8.1f}")
        print(f"  ratio {r['ratio_vs_math_verify']}x math-verify, {r['ratio_vs_math_verify_pool']}x its pool; "
              f"decided by {d['decided_by']}")
    ok = out["distinct"]["distillate"]["checks_per_s"] >= 400
    print(f"target: >= 400 checks/s on distinct pairs -> {'OK' if ok else 'MISSED'}")
    path = write_result(
        "verify",
        figures={k: {"checks_per_s": v["distillate"]["checks_per_s"], "p50_ms": v["distillate"]["p50_ms"],
                     "p99_ms": v["distillate"]["p99_ms"], "pairs": v["pairs"],
                     "identical_strings": v["identical_strings"], "decided_by": v["distillate"]["decided_by"],
                     "ratio_vs_math_verify": v["ratio_vs_math_verify"],
                     "ratio_vs_math_verify_pool": v["ratio_vs_math_verify_pool"]} for k, v in out.items()},
        baselines={k: {"math_verify_1_process": v["math_verify_1_process"], "math_verify_pool": v["math_verify_pool"],
                       "agree_with_math_verify": v["agree_with_math_verify"]} for k, v in out.items()},
        workload=("mixed: source predictions vs references (traces/), MATH-500/AIME references vs formatting "
                  "variants (some identical) and vs other problems' answers; distinct: the same kinds of pairs, "
                  "no identical gold/prediction strings and no repeated pair (references from MATH-500, AIME 24/25, "
                  f"MATH test; variants also inside sentences); {n} pairs each, cold cache, warm worker pool"),
        notes="target: >= 400 checks/s on the distinct workload (issue 18/19)")
    print(f"written: {path}")


# ---- agreement -----------------------------------------------------------------------------------------

def _mathverify_cases() -> list[dict]:
    rows = _jsonl(DATA / "equivalence" / "mathverify_answer_equivalence.jsonl")
    s = lambda r: r["grader_settings"]  # noqa: E731
    return [dict(r, convention="mathverify") for r in rows
            if "precision" not in s(r) and s(r).get("strict", True) and not s(r).get("allow_set_relation_comp")]


def agreement(rows: list[dict], timeout: float) -> dict:
    from distillate.curate.verify import verify_batch
    from distillate.curate.verify.conventions import Conventions

    by_conv: dict[tuple, list[int]] = {}
    for i, r in enumerate(rows):
        by_conv.setdefault(tuple(sorted(r.get("conventions", {}).items())), []).append(i)
    verdicts: list = [None] * len(rows)
    t = time.perf_counter()
    for key, idx in by_conv.items():
        vs = verify_batch([(rows[i]["gold"], rows[i]["pred"]) for i in idx], timeout=timeout,
                          conventions=Conventions(**dict(key)))
        for i, v in zip(idx, vs):
            verdicts[i] = v
    wall = time.perf_counter() - t
    mv = [_mv_response((r["gold"], r["pred"])) for r in rows]

    def score(correct: list[bool], seconds: list[float]) -> dict:
        n = len(rows)
        agree = sum(c == (r["label"] == 1) for c, r in zip(correct, rows))
        fa = sum(c and r["label"] == 0 for c, r in zip(correct, rows))
        fr = sum((not c) and r["label"] == 1 for c, r in zip(correct, rows))
        groups: dict[str, list[int]] = {}
        for c, r in zip(correct, rows):
            g = groups.setdefault(r.get("convention", "?"), [0, 0])
            g[0] += c == (r["label"] == 1)
            g[1] += 1
        return {"cases": n, "agreement": round(agree / n, 4), "false_accepts": fa,
                "false_accepts_per_200": round(200 * fa / n, 2), "false_rejects": fr,
                "max_check_s": round(max(seconds), 3),
                "by_convention": {k: f"{a}/{m}" for k, (a, m) in sorted(groups.items())}}

    ours = score([v.verdict == "correct" for v in verdicts], [v.seconds for v in verdicts])
    ours["timeouts"] = sum(v.verdict == "timeout" for v in verdicts)
    # the time a check spent in its worker (what the hard limit bounds); the wall time above also holds the
    # wait for a replacement worker to start after a timeout (start-up is not a check's cost)
    ours["max_worker_s"] = round(max(v.details.get("worker_seconds", 0.0) for v in verdicts), 3)
    ours["over_limit"] = sum(v.details.get("worker_seconds", 0) > timeout + 1.0 for v in verdicts)
    ours["wall_s"] = round(wall, 2)
    ours["disagreements"] = [
        {"id": r.get("id"), "label": r["label"], "verdict": v.verdict, "method": v.method,
         "extracted": (v.extracted or "")[:80]} for r, v in zip(rows, verdicts)
        if (v.verdict == "correct") != (r["label"] == 1)]
    return {"distillate": ours, "math_verify": score([ok for ok, _ in mv], [s for _, s in mv])}


def run_agreement(holdout: Path | None, timeout: float) -> None:
    sets = {"conventions": _jsonl(CONVENTION_CASES), "mathverify_cases": _mathverify_cases()}
    if holdout is not None and holdout.is_file():
        sets["holdout"] = _jsonl(holdout)
    figures, baselines = {}, {}
    for name, rows in sets.items():
        r = agreement(rows, timeout)
        d, m = r["distillate"], r["math_verify"]
        print(f"{name}: {d['cases']} cases; distillate agreement {d['agreement']:.3f}, false accepts "
              f"{d['false_accepts']} ({d['false_accepts_per_200']}/200), false rejects {d['false_rejects']}, "
              f"timeouts {d['timeouts']}, over the limit {d['over_limit']}, longest in a worker "
              f"{d['max_worker_s']} s; "
              f"plain math-verify agreement {m['agreement']:.3f} (false accepts {m['false_accepts']})")
        print(f"  by convention: {d['by_convention']}")
        for x in d["disagreements"]:
            print(f"  disagrees: {x}")
        figures[name], baselines[name] = d, m
    ok = all(f["agreement"] >= 0.95 and f["false_accepts_per_200"] <= 1 and f["over_limit"] == 0
             for k, f in figures.items() if k != "mathverify_cases")
    print(f"targets (agreement >= 0.95, <= 1 false accept per 200, none over the limit): "
          f"{'OK' if ok else 'MISSED'}")
    path = write_result(
        "verify_agreement", figures=figures, baselines={"math_verify_whole_responses": baselines},
        workload=(f"labelled equivalence cases: {CONVENTION_CASES.relative_to(REPO)} (convention cases with "
                  "sources), a hold-out set kept outside the project (written before the verifier changes), "
                  f"math-verify's own test cases (default grader settings); timeout {timeout:g} s per check"),
        notes=("math-verify's cases are labelled with math-verify's behaviour; tests/test_verify.py lists where "
               "we differ"))
    print(f"written: {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="500 pairs per workload (default 3000)")
    ap.add_argument("--n", type=int, default=None, help="pairs per workload")
    ap.add_argument("--agreement", action="store_true", help="agreement with labelled cases instead of throughput")
    ap.add_argument("--holdout", type=Path, default=DEFAULT_HOLDOUT, help="hold-out cases (JSONL) kept outside")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per check (agreement mode)")
    args = ap.parse_args()
    if args.agreement:
        run_agreement(args.holdout, args.timeout)
    else:
        run_throughput(args.n or (500 if args.quick else 3000))


if __name__ == "__main__":
    main()
