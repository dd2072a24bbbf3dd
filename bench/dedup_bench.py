"""Dedup benchmark: MinHash throughput vs datasketch, quality against planted duplicates, stage time/memory.

    .venv/bin/python bench/dedup_bench.py --quick          # 2k traces of ~8 KB: checks that it works
    .venv/bin/python bench/dedup_bench.py --n 100000       # the target: 100k traces of ~20 KB

Prints (1) signature throughput in MiB/s of text for datasketch `MinHash.bulk` (K = 128 hash functions),
our K-permutation scheme (the same scheme, the same K: the like-for-like ratio) and our one-permutation
scheme (OPH: one hash, K bins; a different scheme, what the stage uses by default) on the same texts in the
same run; the word 5-gram hashing alone (the floor); (2) each scheme's quality as an estimator on the
planted pairs (near copies J ~ 0.78-0.98, heavy rewrites, sibling traces): recall / precision of "estimated
J >= 0.85" against the true word 5-gram Jaccard, and the LSH candidate recall of the stage's 20 x 6 banding;
(3) the stage's recall / precision for trace pairs with J >= 0.85 (signatures, LSH, exact verification)
and the number of heavy rewrites (J <= 0.6) merged; (4) wall time and peak RSS of `distillate curate
--stages dedup` on the corpus (a subprocess: RSS of the main process and of the largest worker). Writes
bench/results/dedup.json."""

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

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.corpus import generate, jaccard_text, truth_path  # noqa: E402
from bench.results import write_result  # noqa: E402

THRESHOLD, BANDS, ROWS = 0.85, 20, 6  # the stage's defaults for traces (curate/dedup KindConfig)


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


def _datasketch_signatures(texts: list[str], permutations: int) -> np.ndarray:
    from datasketch import MinHash

    sets = []
    for t in texts:
        w = t.lower().split()
        sets.append([" ".join(w[i: i + 5]).encode() for i in range(max(1, len(w) - 4))])
    return np.array([m.hashvalues for m in MinHash.bulk(sets, num_perm=permutations)], dtype=np.uint64)


def scheme_quality(corpus: Path, permutations: int, max_pairs: int = 1500, seed: int = 0) -> dict:
    """Each scheme as a Jaccard estimator on the same planted pairs, against the true word 5-gram Jaccard
    (bench/corpus.py's definition, computed with Python sets): recall / precision of est >= 0.85, LSH
    candidate recall (any of 20 bands of 6 rows equal), mean absolute error."""
    import random

    from distillate.curate.dedup.minhash import Hasher

    rng = random.Random(seed)
    truth = [json.loads(line) for line in truth_path(corpus).open()]
    pairs = [(t["id"], t["of"]) for t in truth if t["kind"] in ("near", "rewrite")]
    sib = [t["id"] for t in truth if t["kind"] == "sibling"]
    pairs += [(a, b) for a, b in zip(sib[::2], sib[1::2])][: len(pairs) // 3]  # unrelated texts (J ~ 0.05)
    pairs = rng.sample(pairs, min(max_pairs, len(pairs)))
    need = {i for p in pairs for i in p}
    texts = {}
    for line in corpus.open():
        d = json.loads(line)
        if d["id"] in need:
            texts[d["id"]] = d["thought"] + "\n" + d["solution"]
    ids = sorted(texts)
    pos = {i: k for k, i in enumerate(ids)}
    tl = [texts[i] for i in ids]
    true = np.array([jaccard_text(texts[a], texts[b]) for a, b in pairs])
    a_idx = np.array([pos[a] for a, _ in pairs])
    b_idx = np.array([pos[b] for _, b in pairs])
    sigs = {"datasketch": _datasketch_signatures(tl, permutations)}
    for scheme in ("kperm", "oph"):
        h = Hasher("word", 5, permutations, 1, scheme)
        sigs[scheme] = np.concatenate([h.signatures(tl[s: s + 256])[0] for s in range(0, len(tl), 256)])
    out = {"pairs": len(pairs), "pairs_j_ge_085": int((true >= THRESHOLD).sum()), "permutations": permutations,
           "bands": BANDS, "rows": ROWS}
    for name, sig in sigs.items():
        eq = sig[a_idx] == sig[b_idx]
        est = eq.mean(axis=1)
        band_hit = eq[:, : BANDS * ROWS].reshape(len(pairs), BANDS, ROWS).all(axis=2).any(axis=1)
        p, e = true >= THRESHOLD, est >= THRESHOLD
        out[name] = {"recall": round(float((p & e).sum() / max(1, p.sum())), 4),
                     "precision": round(float((p & e).sum() / max(1, e.sum())), 4),
                     "lsh_candidate_recall": round(float(band_hit[p].mean()), 4),
                     "lsh_candidates_below_06": int(band_hit[true <= 0.6].sum()),
                     "mean_abs_error": round(float(np.abs(est - true).mean()), 4)}
    return out


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
    thr = throughput(texts, a.permutations)
    print("throughput (one process):", json.dumps(thr))
    sq = scheme_quality(corpus, a.permutations)
    print("estimator quality per scheme (same pairs):", json.dumps(sq))

    ws = work / "ws"
    t0 = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("distillate")), "ingest", str(corpus), "-s", "bench",
                    "-w", str(ws), "-q"], check=True, capture_output=True)
    print(f"ingest: {time.perf_counter() - t0:.0f} s")
    st = run_stage(ws)
    print(f"dedup stage: {st['seconds']} s, peak RSS main {st['peak_rss_main_mib']} MiB, "
          f"largest worker {st['peak_rss_worker_mib']} MiB")
    q = quality(ws, corpus)
    print("quality:", json.dumps(q))
    st2 = run_stage(ws)
    print(f"rerun (nothing new): {st2['seconds']} s")
    size = corpus.stat().st_size / 2**20
    write_result(
        "dedup",
        figures={"signatures": {k: v for k, v in thr.items() if not k.startswith("datasketch")},
                 "schemes": {k: v for k, v in sq.items() if k != "datasketch"},
                 "stage": {"traces": a.n, "corpus_mib": round(size, 1), "scheme": "oph",
                           **{k: v for k, v in st.items() if k != "output"}, "rerun_seconds": st2["seconds"]},
                 "quality": q},
        baselines={"datasketch": {"bulk_mibs": thr["datasketch_bulk_mibs"], "permutations": a.permutations,
                                  "scheme": "kperm", **sq["datasketch"]}},
        workload=f"{a.n:,} bench/corpus.py traces of ~{a.chars:,} chars ({size:,.0f} MiB, planted exact/near copies "
                 f"and heavy rewrites); throughput on the first 1,000 texts ({thr['mib']} MiB), one process, "
                 f"best of 3; estimator quality on {sq['pairs']:,} planted pairs ({sq['pairs_j_ge_085']} with "
                 f"J >= {THRESHOLD}), {a.permutations} permutations for every scheme")
    if a.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
