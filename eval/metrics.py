"""Metrics over scored samples: accuracy, unbiased pass@k, maj@k, output-token quantiles, budget accuracy."""

from __future__ import annotations

import math
import re
from collections import Counter


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021): 1 - C(n-c, k) / C(n, k), as a stable product."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def ks_for(n: int) -> list[int]:
    """1, 2, 4, ... up to n, and n itself."""
    ks, k = [], 1
    while k <= n:
        ks.append(k)
        k *= 2
    if n not in ks:
        ks.append(n)
    return ks


def _answer_key(extracted: str | None) -> str | None:
    if extracted is None:
        return None
    key = re.sub(r"\s+", "", str(extracted)).rstrip(".")
    return key or None


def majority_correct(samples: list[dict]) -> bool:
    """Majority vote over extracted answers (samples without an answer do not vote; ties go to the answer
    seen first); correct when the winning answer was judged correct."""
    keys = [_answer_key(s.get("extracted")) for s in samples]
    votes = Counter(k for k in keys if k is not None)
    if not votes:
        return False
    top = max(votes.values())
    winner = next(k for k in keys if k is not None and votes[k] == top)
    return bool(next(s for s, k in zip(samples, keys) if k == winner).get("correct"))


def quantiles(vals: list[float]) -> dict:
    if not vals:
        return {"mean": 0.0, "p25": 0, "p50": 0, "p75": 0, "p90": 0, "max": 0}
    s = sorted(vals)

    def q(p):  # nearest rank
        return s[min(len(s) - 1, max(0, math.ceil(p * len(s)) - 1))]

    return {"mean": round(sum(s) / len(s), 4), "p25": q(0.25), "p50": q(0.5), "p75": q(0.75), "p90": q(0.9),
            "max": s[-1]}


def benchmark_metrics(by_problem: dict[str, list[dict]], budgets: list[int]) -> dict:
    """by_problem: item id -> its samples (dicts with correct, extracted, n_tokens, finish_reason, error,
    budgets {str(B): {correct, forced_correct?}}), in sample order."""
    n_problems = len(by_problem)
    ns = {len(v) for v in by_problem.values()}
    n = min(ns) if ns else 0
    samples = [s for v in by_problem.values() for s in v]
    acc = sum(sum(bool(s["correct"]) for s in v) / len(v) for v in by_problem.values()) / max(n_problems, 1)
    res: dict = {
        "n_problems": n_problems, "n_samples_per_problem": n, "n_samples": len(samples),
        "accuracy": round(acc, 6),
        "pass@k": {}, "maj@k": {},
        "tokens": quantiles([s["n_tokens"] for s in samples if s["n_tokens"] is not None]),
        "finish_reasons": dict(Counter(str(s.get("finish_reason")) for s in samples)),
        "no_answer": round(sum(s.get("extracted") is None for s in samples) / max(len(samples), 1), 6),
        "errors": sum(1 for s in samples if s.get("error")),
        "budgets": {},
    }
    if n:
        for k in ks_for(n):
            res["pass@k"][str(k)] = round(sum(pass_at_k(len(v), sum(bool(s["correct"]) for s in v), k)
                                              for v in by_problem.values()) / n_problems, 6)
            res["maj@k"][str(k)] = round(sum(majority_correct(v[:k]) for v in by_problem.values()) / n_problems, 6)
    for b in budgets:
        key = str(b)
        per = [[s["budgets"][key] for s in v] for v in by_problem.values()]
        toks = [min(s["n_tokens"], b) for s in samples if s["n_tokens"] is not None]
        entry = {
            "accuracy": round(sum(sum(bool(x["correct"]) for x in p) / len(p) for p in per) / max(n_problems, 1), 6),
            "mean_tokens": round(sum(toks) / len(toks), 4) if toks else 0.0,
            "truncated": round(sum(1 for s in samples if (s["n_tokens"] or 0) > b) / max(len(samples), 1), 6),
        }
        if any("forced_correct" in x for p in per for x in p):
            entry["forced_accuracy"] = round(
                sum(sum(bool(x.get("forced_correct", x["correct"])) for x in p) / len(p) for p in per)
                / max(n_problems, 1), 6)
        res["budgets"][key] = entry
    return res
