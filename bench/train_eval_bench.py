"""Scoring throughput of `distillate eval` on real long-thought traces: full verdicts plus budget
re-extraction at several budgets, through the verifier's bounded pool (verify_batch, what eval uses)
against one-by-one `verify` calls (the baseline), measured in the same run.

    .venv/bin/python bench/train_eval_bench.py [--quick]

Writes bench/results/train_eval.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.results import write_result  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if not DATA.exists():
    DATA = Path("/work/shared/data")


def load_samples(limit: int) -> list[dict]:
    out = []
    for name in ("thought_anchors_r1distill_math.jsonl", "skyt1_math5k_32b_ck133_aime24.jsonl"):
        for line in open(DATA / "traces" / name):
            r = json.loads(line)
            if r.get("answer") is None or r.get("thought") is None:
                continue
            resp = f"<think>\n{r['thought']}\n</think>\n\n{r.get('solution') or ''}"
            out.append({"benchmark": "b", "item_id": f"{name}:{r['id']}", "response": resp, "gold": r["answer"],
                        "error": None})
    return out[:limit]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="60 samples instead of 183")
    args = ap.parse_args()
    import transformers

    from distillate.curate.verify import verify, verify_batch
    from distillate.curate.verify.core import cache_clear
    from distillate.eval import score_budgets

    tok = transformers.AutoTokenizer.from_pretrained(str(DATA / "tokenizers" / "qwen3"))
    samples = load_samples(60 if args.quick else 10_000)
    budgets = [512, 1024, 2048, 4096]
    t0 = time.perf_counter()
    for s in samples:
        s["n_tokens"] = len(tok.encode(s["response"], add_special_tokens=False))
    t_tok = time.perf_counter() - t0
    golds = {(s["benchmark"], s["item_id"]): s["gold"] for s in samples}

    def run(batch_fn):
        cache_clear()  # both runs start cold: the verifier caches (gold, extracted) results in memory
        ss = [dict(s) for s in samples]
        t = time.perf_counter()
        vs = batch_fn([(s["gold"], s["response"]) for s in ss])
        for s, v in zip(ss, vs):
            s["correct"], s["extracted"] = bool(v.correct), v.extracted
        score_budgets(ss, golds, tok, budgets, batch_fn)
        return time.perf_counter() - t, ss

    t_seq, a = run(lambda pairs, **kw: [verify(g, r) for g, r in pairs])
    t_pool, b = run(verify_batch)
    same = all(x["budgets"] == y["budgets"] and x["correct"] == y["correct"] for x, y in zip(a, b))
    n_checks = len(samples) + sum(e["truncated"] for s in b for e in s["budgets"].values())
    print(f"samples: {len(samples)}, mean output tokens {sum(s['n_tokens'] for s in samples) / len(samples):.0f}, "
          f"budgets {budgets}, verifier calls {n_checks}")
    print(f"token counting: {len(samples) / t_tok:.1f} samples/s")
    print(f"scoring one by one (baseline): {t_seq:.2f} s ({n_checks / t_seq:.1f} checks/s)")
    print(f"scoring with verify_batch (eval): {t_pool:.2f} s ({n_checks / t_pool:.1f} checks/s), "
          f"speed-up x{t_seq / t_pool:.2f}; identical verdicts: {same}")
    write_result("train_eval",
                 figures={"samples": len(samples), "verifier_calls": n_checks, "seconds": round(t_pool, 2),
                          "checks_per_s": round(n_checks / t_pool, 1), "ratio_vs_baseline": round(t_seq / t_pool, 2),
                          "identical_verdicts": same, "tokenize_samples_per_s": round(len(samples) / t_tok, 1)},
                 baselines={"one_by_one": {"seconds": round(t_seq, 2), "checks_per_s": round(n_checks / t_seq, 1)}},
                 workload=f"`distillate eval` scoring of {len(samples)} real long-thought responses "
                          f"(thought_anchors + Sky-T1 32B AIME24 traces): full verdicts plus re-extraction at "
                          f"budgets {budgets}; verify_batch (eval's path) vs one-by-one verify calls")


if __name__ == "__main__":
    main()
