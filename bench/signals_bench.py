"""Signals benchmark: `distillate curate --stages stats` on a corpus of long traces (target: 100k traces of
~20 KB in at most 2 minutes on a 2-core machine).

    .venv/bin/python bench/signals_bench.py --quick        # 1k traces: checks that it works
    .venv/bin/python bench/signals_bench.py --n 100000     # the target

Prints (1) the stage's wall time on the corpus (a subprocess, ingest not counted), MiB/s of text, traces/s
and the time extrapolated to 100k traces; (2) a baseline measured in the same run on a sample of the same
texts: the naive way (transformers tokenizer called per text, one process, plus the Python signals) and
the tokenizer alone in batches (`encode_batch_fast`, one process), with the ratios. Writes
bench/results/signals.json."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.corpus import DATA, generate  # noqa: E402
from bench.results import write_result  # noqa: E402

TOKENIZER = DATA / "tokenizers" / "qwen3"


def baseline(texts: list[tuple[str, str]]) -> dict:
    """Per-text transformers calls + the Python signals in one process, and batched fast tokenizing alone."""
    from transformers import AutoTokenizer

    from distillate.curate.signals import SignalConfig, compile_markers, trace_signals

    tok = AutoTokenizer.from_pretrained(str(TOKENIZER))
    cfg = SignalConfig()
    rx, kinds = compile_markers(cfg.markers)
    mib = sum(len(a.encode()) + len(b.encode()) for a, b in texts) / 2**20
    t0 = time.perf_counter()
    for th, so in texts:
        n = len(tok(th, add_special_tokens=False)["input_ids"]) + len(tok(so, add_special_tokens=False)["input_ids"])
        trace_signals(th, so, True, None, cfg, rx, kinds, n)
    naive = time.perf_counter() - t0
    flat = [t for pair in texts for t in pair]
    t0 = time.perf_counter()
    tok.backend_tokenizer.encode_batch_fast(flat, add_special_tokens=False)
    batch = time.perf_counter() - t0
    t0 = time.perf_counter()
    for th, so in texts:
        trace_signals(th, so, True, None, cfg, rx, kinds, 1000)
    python = time.perf_counter() - t0
    return {"sample": len(texts), "mib": round(mib, 2), "naive_s": round(naive, 2),
            "naive_mib_s": round(mib / naive, 2), "tokenize_batch_1proc_mib_s": round(mib / batch, 2),
            "python_signals_1proc_mib_s": round(mib / python, 2)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="number of traces")
    ap.add_argument("--chars", type=int, default=20_000, help="median thought length in characters")
    ap.add_argument("--quick", action="store_true", help="1000 traces")
    ap.add_argument("--sample", type=int, default=200, help="traces in the single-process baseline")
    ap.add_argument("--keep", type=Path, help="work in this folder (kept) instead of a temporary one")
    a = ap.parse_args(argv)
    n = 1000 if a.quick else a.n
    tmp = a.keep or Path(tempfile.mkdtemp(prefix="signals-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    corpus = tmp / f"corpus-{n}-{a.chars}.jsonl"
    if not corpus.exists():
        generate(n, corpus, seed=0, chars=a.chars, show_progress=False)
    ws = tmp / "ws"
    exe = [sys.executable, "-m", "distillate.cli"]
    env = {**os.environ, "DISTILLATE_WORKSPACE": str(ws)}
    if not ws.exists():
        t0 = time.perf_counter()
        subprocess.run(exe + ["ingest", str(corpus), "-s", "bench", "-q"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        print(f"ingest: {time.perf_counter() - t0:.1f}s (not counted)", file=sys.stderr)
    rows = [json.loads(line) for _, line in zip(range(a.sample), corpus.open(encoding="utf-8"))]
    mib = corpus.stat().st_size / 2**20
    t0 = time.perf_counter()
    subprocess.run(exe + ["curate", "--stages", "stats", "--tokenizer", str(TOKENIZER), "-q"], check=True,
                   env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    base = baseline([(r["thought"], r["solution"]) for r in rows])
    res = {"traces": n, "corpus_mib": round(mib, 1), "cores": len(os.sched_getaffinity(0)),
           "stage_s": round(wall, 1), "stage_mib_s": round(mib / wall, 2), "traces_per_s": round(n / wall, 1),
           "extrapolated_100k_s": round(wall * 100_000 / n, 1), **{f"baseline_{k}": v for k, v in base.items()}}
    res["speedup_vs_naive"] = round(res["stage_mib_s"] / base["naive_mib_s"], 2)
    print(json.dumps(res, indent=1))
    print(f"stats stage: {n:,} traces ({mib:,.0f} MiB) in {wall:.1f}s = {mib / wall:.2f} MiB/s; "
          f"100k traces -> ~{res['extrapolated_100k_s']:.0f}s (target 120s); {res['speedup_vs_naive']}x the "
          f"naive single-process baseline ({base['naive_mib_s']} MiB/s)")
    write_result("signals", figures={k: v for k, v in res.items() if not k.startswith("baseline_")},
                 baselines={"naive": {"mib_s": base["naive_mib_s"], "seconds": base["naive_s"],
                                      "sample_traces": base["sample"], "sample_mib": base["mib"]},
                            "tokenize_batch_1proc": {"mib_s": base["tokenize_batch_1proc_mib_s"]},
                            "python_signals_1proc": {"mib_s": base["python_signals_1proc_mib_s"]}},
                 workload=f"`distillate curate --stages stats` (Qwen3 tokenizer) on {n:,} bench/corpus.py traces of "
                          f"~{a.chars:,} chars ({mib:,.0f} MiB), a child process, ingest not counted; baseline: "
                          f"per-text transformers calls + the Python signals, one process, on the first "
                          f"{base['sample']} traces of the same corpus")
    if a.keep is None:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
