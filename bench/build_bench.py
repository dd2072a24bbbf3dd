"""Build benchmark: `distillate build` wall time and peak memory against a naive baseline, same data, same run.

    .venv/bin/python bench/build_bench.py --quick        # 3k traces of ~8 KB: checks that it works
    .venv/bin/python bench/build_bench.py --n 100000     # 100k traces of ~20 KB

The corpus is bench/corpus.py's (real paragraphs recombined, planted duplicates); side tables are filled
in SQL (chars/4 token counts, a verdict for every trace, the planted exact/near duplicates from the
ground truth). Prints, for a one-variant build and a 5-variant build (base + 2 ablations + a 2-bin sweep):
wall seconds, rows/s and peak RSS of a subprocess running `distillate build`; and the same for the
baseline: the notebook way (fetch candidates joined with all texts into Python dicts, decide every row in
a Python loop, json.dumps each row), which writes only sft.jsonl and dropped.jsonl for the base recipe.
Both outputs are checked to hold the same kept trace ids. Writes bench/results/build.json."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.corpus import generate, truth_path  # noqa: E402
from bench.results import write_result  # noqa: E402

EXE = Path(sys.executable).parent / "distillate"

BASELINE = r'''
import json, sys, duckdb
ws, out = sys.argv[1], sys.argv[2]
con = duckdb.connect(ws + "/catalog.duckdb", read_only=True)
cur = con.execute("SELECT c.*, t.thought, t.solution, p.problem FROM candidates c JOIN traces t USING (trace_id) "
                  "JOIN problems p ON p.problem_id = c.problem_id ORDER BY c.seq")
cols = [d[0] for d in cur.description]
rows = [dict(zip(cols, r)) for r in cur.fetchall()]
with open(out + "/sft.jsonl", "w") as fk, open(out + "/dropped.jsonl", "w") as fd:
    for r in rows:
        reasons = [k for k, bad in (("contaminated", r["contaminated"]), ("truncated", r["truncated"]),
                                    ("looping", r["looping"]), ("answer_incorrect", r["verdict"] == "incorrect"),
                                    ("no_answer", r["verdict"] == "no_answer"),
                                    ("exact_duplicate", r["duplicate_kind"] == "exact"),
                                    ("near_duplicate", r["duplicate_kind"] == "near")) if bad]
        if reasons:
            fd.write(json.dumps({"trace_id": r["trace_id"], "source_id": r["source_id"], "reasons": reasons}) + "\n")
        else:
            content = "<think>\n" + (r["thought"] or "") + "\n</think>\n\n" + (r["solution"] or "")
            fk.write(json.dumps({"messages": [{"role": "user", "content": r["problem"]},
                                              {"role": "assistant", "content": content}],
                                 "trace_id": r["trace_id"]}) + "\n")
'''

RSS = r'''
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
r = subprocess.run(sys.argv[1:], capture_output=True, text=True)
if r.returncode:
    sys.exit(r.stderr)
print(json.dumps({"seconds": time.perf_counter() - t0,
                  "rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
'''


def _prepare(n: int, chars: int, tmp: Path) -> Path:
    from distillate.curate import Workspace, ingest

    corpus = tmp / "corpus.jsonl"
    generate(n, corpus, seed=0, chars=chars, show_progress=False)
    ws = Workspace(tmp / "ws")
    with ws.job("ingest") as (cat, job_id):
        ingest(cat, job_id, [str(corpus)], source="bench", show_progress=False)
    truth = [json.loads(x) for x in open(truth_path(corpus))]
    dups = [(t["id"], t["kind"], t["of"], t.get("jaccard")) for t in truth if t["kind"] in ("exact", "near")]
    with ws.job("bench-populate") as (cat, _):
        con = cat.con
        con.execute("""INSERT INTO trace_signals (trace_id, signal_version, tokenizer, n_tokens, thought_tokens,
                       solution_tokens, truncated, looping)
                       SELECT trace_id, 1, 'approx:chars/4', (length(coalesce(thought,'')) + length(coalesce(solution,''))) // 4,
                              length(coalesce(thought,'')) // 4, length(coalesce(solution,'')) // 4,
                              solution IS NULL, FALSE FROM traces""").fetchall()
        con.execute("""INSERT INTO verdicts (trace_id, verifier_version, verdict)
                       SELECT trace_id, 'bench', CASE WHEN hash(trace_id) % 5 = 0 THEN 'incorrect' ELSE 'correct' END
                       FROM traces""").fetchall()
        con.execute("CREATE TEMP TABLE d (source_id VARCHAR, kind VARCHAR, of VARCHAR, sim DOUBLE)").fetchall()
        con.executemany("INSERT INTO d VALUES (?, ?, ?, ?)", dups)
        # a planted copy and its original map to traces through source_id (the corpus row id)
        con.execute("""INSERT INTO trace_duplicates (trace_id, kind, duplicate_of, similarity, cluster_id, policy)
                       SELECT a.trace_id, d.kind, b.trace_id, d.sim, b.trace_id, 'first_seen'
                       FROM d JOIN traces a ON a.source_id = d.source_id JOIN traces b ON b.source_id = d.of
                       WHERE a.trace_id <> b.trace_id
                       QUALIFY row_number() OVER (PARTITION BY a.trace_id ORDER BY b.seq) = 1""").fetchall()
        con.execute("""DELETE FROM trace_duplicates WHERE duplicate_of IN (SELECT trace_id FROM trace_duplicates)""").fetchall()
    return ws.root


def _run(cmd: list[str]) -> dict:
    r = subprocess.run([sys.executable, "-c", RSS, *cmd], capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="traces in the corpus")
    ap.add_argument("--chars", type=int, default=20000, help="characters per trace (about)")
    ap.add_argument("--quick", action="store_true", help="3k traces of ~8 KB")
    a = ap.parse_args(argv)
    if a.quick:
        a.n, a.chars = 3000, 8000
    with tempfile.TemporaryDirectory(prefix="build-bench-") as d:
        tmp = Path(d)
        t0 = time.perf_counter()
        ws = _prepare(a.n, a.chars, tmp)
        print(f"corpus: {a.n:,} traces of ~{a.chars:,} chars, prepared in {time.perf_counter() - t0:.1f}s")
        base = tmp / "base.yaml"
        base.write_text("name: bench\ndedup: {keep: stored}\n")
        multi = tmp / "multi.yaml"
        multi.write_text("name: bench\ndedup: {keep: shortest}\nablations:\n  no_dedup: {exclude_remove: [exact_duplicate, near_duplicate]}\n"
                         "  sampled: {sample: {n: 1000, seed: 0, weight: tokens}}\nsweeps:\n  len: {column: n_tokens, quantiles: 2}\n")
        (tmp / "naive").mkdir()
        env_cmd = [str(EXE), "build", "-q", "-w", str(ws)]
        res = {
            "baseline (naive, 1 variant)": _run([sys.executable, "-c", BASELINE, str(ws), str(tmp / "naive")]),
            "imports only (fixed cost)": _run([sys.executable, "-c", "import distillate.cli, distillate.curate.build."
                                               "build, polars, pyarrow.parquet, matplotlib.pyplot"]),
            "build (1 variant)": _run(env_cmd + [str(base), "--out", str(tmp / "b1")]),
            "build (5 variants)": _run(env_cmd + [str(multi), "--out", str(tmp / "b5")]),
        }
        ids = lambda p: {json.loads(x)["trace_id"] for x in open(p)}  # noqa: E731
        naive, ours = ids(tmp / "naive" / "sft.jsonl"), ids(tmp / "b1" / "sft.jsonl")
        naive_dropped = {json.loads(x)["trace_id"]: json.loads(x)["reasons"] for x in open(tmp / "naive" / "dropped.jsonl")}
        extra = ours - naive
        only_dup = all(set(naive_dropped[t]) <= {"exact_duplicate", "near_duplicate"} for t in extra)
        print(f"kept {len(ours):,} of {a.n:,}; the baseline keeps {len(naive):,}; rows only the baseline keeps: "
              f"{len(naive - ours)}; rows only the build keeps: {len(extra)} (all duplicates whose stored "
              f"representative is dropped for another reason, re-picked by the build: {only_dup})")
        print(f"{'':30} {'seconds':>8} {'rows/s':>9} {'peak RSS MiB':>13}")
        for k, v in res.items():
            if k.startswith("imports"):
                print(f"{k:30} {v['seconds']:8.2f} {'':>9} {v['rss_mib']:13,.0f}")
                continue
            print(f"{k:30} {v['seconds']:8.2f} {a.n / v['seconds']:9,.0f} {v['rss_mib']:13,.0f}")
        b, o = res["baseline (naive, 1 variant)"], res["build (1 variant)"]
        print(f"ratio build/baseline (1 variant): time {o['seconds'] / b['seconds']:.2f}x, "
              f"peak RSS {o['rss_mib'] / b['rss_mib']:.2f}x  (the build also writes parquet, manifest, data card, "
              "plot, build_rows and a catalog snapshot; its imports are a fixed cost, see the line above)")
        print(f"5 variants cost {res['build (5 variants)']['seconds'] / o['seconds']:.2f}x one variant")
        rnd = lambda v: {"seconds": round(v["seconds"], 2), "peak_rss_mib": round(v["rss_mib"])}  # noqa: E731
        write_result(
            "build",
            figures={"traces": a.n, "one_variant": rnd(o), "five_variants": rnd(res["build (5 variants)"]),
                     "imports_only": rnd(res["imports only (fixed cost)"]), "kept": len(ours),
                     "kept_only_by_baseline": len(naive - ours), "kept_only_by_build": len(extra),
                     "ratio_time_vs_baseline": round(o["seconds"] / b["seconds"], 2),
                     "ratio_rss_vs_baseline": round(o["rss_mib"] / b["rss_mib"], 2)},
            baselines={"naive": rnd(b)},
            workload=f"{a.n:,} bench/corpus.py traces of ~{a.chars:,} chars with side tables filled in SQL; the "
                     "build writes sft.jsonl/.parquet, dropped.jsonl, manifest, data card, plot, build_rows and a "
                     "snapshot; the naive baseline (Python dicts and loop) writes sft.jsonl and dropped.jsonl only")


if __name__ == "__main__":
    main()
