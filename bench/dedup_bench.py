"""Dedup benchmark: MinHash throughput vs datasketch, quality against planted duplicates, stage time/memory.

    .venv/bin/python bench/dedup_bench.py --quick          # 2k traces of ~8 KB: checks that it works
    .venv/bin/python bench/dedup_bench.py --n 100000       # the target: 100k traces of ~20 KB

Prints (1) signature throughput in MiB/s of text for datasketch `MinHash.bulk`, our one-permutation
scheme and our K-permutation scheme on the same texts, same permutations, in the same run, and the
ratios; the word 5-gram hashing alone (the floor); (2) recall / precision for trace pairs with word
5-gram Jaccard >= 0.85 and the number of heavy rewrites (J <= 0.6) merged; (3) wall time and peak RSS of
`distillate curate --stages dedup` on the corpus (a subprocess: RSS of the main process and of the
largest worker)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.corpus import generate, jaccard_text, truth_path  # noqa: E402


def throughput(texts: list[str], permutations: int, reps: int = 3) -> dict:
    """MiB/s of text for each method; best of `reps` interleaved runs (the machine is shared and noisy)."""
    from datasketch import MinHash

    from distillate.curate.dedup.minhash import Hasher

    mib = sum(len(t.encode()) for t in texts) / 2**20

    def datasketch_bulk():
        sets = []
        for t in texts:
            w = t.lower().split()
            sets.append([" ".join(w[i: i + 5]).encode() for i in range(max(1, len(w) - 4))])
        MinHash.bulk(sets, num_perm=permutations)

    hashers = {s: Hasher("word", 5, permutations, 1, s) for s in ("oph", "kperm")}
    for h in hashers.values():
        h.signatures(texts[:2])  # builds the power tables once

    def ours(scheme):
        return lambda: [hashers[scheme].signatures(texts[s: s + 256]) for s in range(0, len(texts), 256)]

    def shingles_only():
        for s in range(0, len(texts), 256):
            hashers["oph"].shingles(texts[s: s + 256])

    methods = {"datasketch_bulk": datasketch_bulk, "ours_oph": ours("oph"), "ours_kperm": ours("kperm"),
               "shingle_hashing_only": shingles_only}
    best = {k: float("inf") for k in methods}
    for _ in range(reps):
        for k, fn in methods.items():
            t0 = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t0)
    res = {"mib": round(mib, 1), "permutations": permutations}
    res.update({f"{k}_mibs": round(mib / v, 2) for k, v in best.items()})
    for s in ("oph", "kperm"):
        res[f"ratio_{s}"] = round(best["datasketch_bulk"] / best[f"ours_{s}"], 2)
    return res


def run_stage(ws: Path) -> dict:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    t0 = time.perf_counter()
    # the stage runs in a child that prints its own peak RSS and its largest pool worker's
    code = ("import resource,sys;from distillate.cli import main;sys.argv=['distillate','curate','--stages',"
            f"'dedup','-w',{str(ws)!r},'-q'];\ntry:\n main()\nexcept SystemExit:\n pass\n"
            "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
            " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)")
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode:
        raise SystemExit(f"dedup failed:\n{p.stderr}")
    rss = [ln for ln in p.stderr.splitlines() if ln.startswith("RSS")][-1].split()
    return {"seconds": round(wall, 1), "peak_rss_main_mib": round(int(rss[1]) / 1024),
            "peak_rss_worker_mib": round(int(rss[2]) / 1024), "output": p.stdout.strip()}


def quality(ws: Path, corpus: Path) -> dict:
    import duckdb

    from distillate.curate import Workspace

    truth = [json.loads(line) for line in truth_path(corpus).open()]
    texts = {}
    for line in corpus.open():
        d = json.loads(line)
        texts[d["id"]] = d["thought"] + "\n" + d["solution"]
    with Workspace(ws).reader() as cat:
        con: duckdb.DuckDBPyConnection = cat.con
        tid = dict(con.execute("SELECT source_id, trace_id FROM trace_sources").fetchall())
        cluster = dict(con.execute("SELECT trace_id, cluster_id FROM trace_clusters").fetchall())
        edges = con.execute("SELECT d.trace_id, d.duplicate_of, d.similarity FROM trace_duplicates d").fetchall()
        src = dict(con.execute("SELECT trace_id, source_id FROM traces").fetchall())

    def same(a: str, b: str) -> bool:
        ta, tb = tid[a], tid[b]
        return ta == tb or (ta in cluster and cluster.get(ta) == cluster.get(tb))

    pos = [t for t in truth if t["kind"] in ("exact", "near") and t["jaccard"] >= 0.85]
    found = sum(same(t["id"], t["of"]) for t in pos)
    neg = [t for t in truth if t["kind"] == "near" and t["jaccard"] < 0.85]
    rewrites = [t for t in truth if t["kind"] == "rewrite"]
    # precision: every recorded (duplicate, kept) edge, its Jaccard recomputed independently from the texts
    true_edges = 0
    for a, b, _ in edges:
        ta, tb = texts[src[a]], texts[src[b]]
        ok = " ".join(ta.lower().split()) == " ".join(tb.lower().split()) or jaccard_text(ta, tb) >= 0.85
        true_edges += ok
    return {"pairs_j_ge_085": len(pos), "recall": round(found / max(1, len(pos)), 4),
            "duplicate_edges": len(edges), "precision": round(true_edges / max(1, len(edges)), 4),
            "near_below_085_merged": f"{sum(same(t['id'], t['of']) for t in neg)}/{len(neg)}",
            "heavy_rewrites_merged": f"{sum(same(t['id'], t['of']) for t in rewrites)}/{len(rewrites)}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20000, help="traces in the corpus")
    ap.add_argument("--chars", type=int, default=20000, help="median thought length")
    ap.add_argument("--quick", action="store_true", help="2k traces of ~8 KB")
    ap.add_argument("--permutations", type=int, default=128)
    ap.add_argument("--workdir", type=Path, default=None, help="keep the corpus and workspace here")
    a = ap.parse_args()
    if a.quick:
        a.n, a.chars = 2000, 8000
    work = a.workdir or Path(tempfile.mkdtemp(prefix="dedup-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "corpus.jsonl"
    t0 = time.perf_counter()
    generate(a.n, corpus, seed=0, chars=a.chars)
    print(f"corpus: {a.n} traces, {corpus.stat().st_size / 2**20:.0f} MiB ({time.perf_counter() - t0:.0f} s) in {work}")

    texts = []
    with corpus.open() as f:
        for line in f:
            d = json.loads(line)
            texts.append(d["thought"] + "\n" + d["solution"])
            if len(texts) >= 1000:
                break
    print("throughput (one process):", json.dumps(throughput(texts, a.permutations)))

    ws = work / "ws"
    t0 = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("distillate")), "ingest", str(corpus), "-s", "bench",
                    "-w", str(ws), "-q"], check=True, capture_output=True)
    print(f"ingest: {time.perf_counter() - t0:.0f} s")
    st = run_stage(ws)
    print(f"dedup stage: {st['seconds']} s, peak RSS main {st['peak_rss_main_mib']} MiB, "
          f"largest worker {st['peak_rss_worker_mib']} MiB")
    print("quality:", json.dumps(quality(ws, corpus)))
    st2 = run_stage(ws)
    print(f"rerun (nothing new): {st2['seconds']} s")


if __name__ == "__main__":
    main()
