"""End-to-end benchmark: a 100k-trace corpus through ingest, stats, verify, dedup, decontam and build,
with the local engine and with Ray, timed per step, with peak memory and quality against planted truth.

    .venv/bin/python bench/e2e_bench.py --n 5000                        # a small check (shared machine)
    .venv/bin/python bench/e2e_bench.py                                 # the target: 100k traces, ~2 GB
    .venv/bin/python bench/e2e_bench.py --n 100000 --engines local      # one engine only

The corpus comes from bench/corpus.py (real thoughts and problems from ../shared/data recombined and
perturbed; planted exact/near duplicates, heavy rewrites that must not merge, and benchmark problems
planted verbatim or reformatted; half of the solutions state their answer otherwise than `\\boxed{}`: "Answer:",
bold, prose, display math, Spanish, Chinese, German, see bench/corpus.py ANSWER_STYLES). Each step is one `distillate` command in a child process (as a user
runs it), so its time includes start-up; peak RSS is sampled every 0.2 s as the sum over the child and
all its descendants (pool workers, and with Ray the local cluster it starts: raylet, GCS, workers),
the figure that must fit in the machine. Ray starts a local cluster with this machine's CPUs in every
stage command (a few seconds each, included). Targets (issue 11): <= 10 min end to end and <= 4 GB peak
locally at 100k; Ray within 1.5x of local on one machine. Writes bench/results/e2e.json."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.corpus import DATA, answer_style, generate, truth_path  # noqa: E402
from bench.results import write_result  # noqa: E402

BENCHMARKS = "aime24,aime25,amc23,math500"
RECIPE = """name: e2e
description: every trace that passes every check, one per duplicate cluster
where: "has_solution"
exclude: [contaminated, exact_duplicate, near_duplicate, answer_incorrect, no_answer, truncated, looping,
          unsuitable_problem]
"""


def _tree_rss(proc) -> int:
    import psutil

    total = 0
    try:
        procs = [proc] + proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def run_step(name: str, args: list[str]) -> dict:
    """Run one distillate command; wall time and peak RSS of its whole process tree."""
    import psutil

    cmd = [str(Path(sys.executable).with_name("distillate"))] + args
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
    peak = [0]
    stop = threading.Event()

    def sample():
        ps = psutil.Process(p.pid)
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss(ps))
            stop.wait(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, err = p.communicate()
    stop.set()
    th.join()
    wall = time.perf_counter() - t0
    if p.returncode:
        raise SystemExit(f"{name} failed ({' '.join(cmd)}):\n{err[-4000:]}")
    return {"step": name, "seconds": round(wall, 1), "peak_rss_mib": round(peak[0] / 2**20), "stdout": out.strip()}


def quality(ws: Path, corpus: Path, build_dir: Path) -> dict:
    """Dedup recall/precision (bench/dedup_bench.py's definition), decontam recall on planted benchmark
    problems, verification on traces whose boxed answer is the reference, and what the build kept."""
    from bench.dedup_bench import quality as dedup_quality
    from distillate.curate import Workspace

    q = {"dedup": dedup_quality(ws, corpus)}
    truth = [json.loads(line) for line in truth_path(corpus).open()]
    contam = {t["id"]: t for t in truth if t["kind"] == "contam"}
    dups = {t["id"] for t in truth if t["kind"] in ("exact", "near") and t["jaccard"] >= 0.85}
    with Workspace(ws).reader() as cat:
        con = cat.con
        # exact copies share a trace_id with their original (content-addressed): map every input row
        tid = dict(con.execute("SELECT source_id, trace_id FROM trace_sources").fetchall())
        pid = dict(con.execute("SELECT s.source_id, t.problem_id FROM trace_sources s "
                               "JOIN traces t USING (trace_id)").fetchall())
        flagged = {r[0] for r in con.execute("SELECT DISTINCT problem_id FROM contamination_matches").fetchall()}
        verdicts = dict(con.execute("SELECT verdict, count(*) FROM verdicts GROUP BY 1").fetchall())
        n_traces = con.execute("SELECT count(*) FROM traces").fetchall()[0][0]
        styles: dict[str, dict[str, int]] = {}
        for sol, verdict in cat.fetch("SELECT t.solution, coalesce(v.verdict, '(none)') FROM traces t "
                                      "LEFT JOIN verdicts v USING (trace_id)"):
            d = styles.setdefault(answer_style(sol) or "other", {})
            d[verdict] = d.get(verdict, 0) + 1
    found = sum(pid[i] in flagged for i in contam)
    planted_problems = {pid[i] for i in contam}
    q["decontam"] = {"planted_contaminated_traces": len(contam), "recall": round(found / max(1, len(contam)), 4),
                     "problems_flagged": len(flagged),
                     # the real problem pool holds benchmark problems too (e.g. AIME traces), so flags beyond
                     # the planted ones are not necessarily false positives
                     "flagged_not_planted": len(flagged - planted_problems)}
    # every synthetic solution states its problem's reference answer (boxed or not): all should be correct
    q["verify"] = {"verdicts": verdicts, "correct_share": round(verdicts.get("correct", 0) / max(1, n_traces), 4),
                   "correct_share_by_style": {k: round(v.get("correct", 0) / max(1, sum(v.values())), 4)
                                              for k, v in sorted(styles.items())},
                   "traces_by_style": {k: sum(v.values()) for k, v in sorted(styles.items())}}
    kept = set()
    with (build_dir / "sft.jsonl").open() as f:
        for line in f:
            d = json.loads(line)
            kept.add(d.get("trace_id") or d.get("id"))
    q["build"] = {"kept": len(kept), "planted_contaminated_kept": sum(tid[i] in kept for i in contam),
                  "planted_duplicates_kept_with_original": sum(
                      tid[t["id"]] != tid[t["of"]] and tid[t["id"]] in kept and tid[t["of"]] in kept
                      for t in truth if t["id"] in dups)}
    return q


def run_engine(engine: str, corpus: Path, work: Path, n: int, tokenizer: str, benchmarks_dir: Path,
               ray_address: str | None) -> dict:
    ws = work / f"ws-{engine}"
    if ws.exists():
        shutil.rmtree(ws)
    w = ["-w", str(ws), "-q"]
    eng = ["--engine", engine] + (["--ray-address", ray_address] if ray_address and engine == "ray" else [])
    steps = [
        ("ingest", ["ingest", str(corpus), "--source", "e2e"] + w),
        ("stats", ["curate", "--stages", "stats", "--tokenizer", tokenizer] + eng + w),
        ("verify", ["curate", "--stages", "verify"] + eng + w),
        ("dedup", ["curate", "--stages", "dedup"] + eng + w),
        ("decontam", ["curate", "--stages", "decontam", "--benchmarks", BENCHMARKS, "--benchmarks-dir",
                      str(benchmarks_dir)] + eng + w),
        ("build", ["build", str(work / "recipe.yaml"), "--out", str(work / f"build-{engine}")] + w),
    ]
    results = []
    for name, args in steps:
        r = run_step(name, args)
        r["traces_per_s"] = round(n / r["seconds"], 1)
        results.append(r)
        print(f"  [{engine}] {name:9s} {r['seconds']:8.1f} s  {r['traces_per_s']:9.1f} traces/s  "
              f"peak RSS {r['peak_rss_mib']:6d} MiB", flush=True)
    total = round(sum(r["seconds"] for r in results), 1)
    peak = max(r["peak_rss_mib"] for r in results)
    q = quality(ws, corpus, work / f"build-{engine}")
    return {"engine": engine, "steps": [{k: v for k, v in r.items() if k != "stdout"} for r in results],
            "total_seconds": total, "peak_rss_mib": peak, "quality": q}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="traces in the corpus (default 100k, ~2 GB)")
    ap.add_argument("--chars", type=int, default=20_000, help="median thought length in characters")
    ap.add_argument("--engines", default="local,ray", help="comma-separated: local, ray")
    ap.add_argument("--ray-address", default=None, help="run the Ray engine on this cluster instead of a local one")
    ap.add_argument("--workdir", type=Path, default=None, help="keep corpus, workspaces and builds here")
    ap.add_argument("--tokenizer", default=str(DATA / "tokenizers" / "qwen3"), help="tokenizer for stats")
    ap.add_argument("--benchmarks-dir", type=Path, default=DATA / "benchmarks")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    a = ap.parse_args(argv)
    engines = [e.strip() for e in a.engines.split(",") if e.strip()]
    bad = [e for e in engines if e not in ("local", "ray")]
    if bad:
        raise SystemExit(f"unknown engine(s): {', '.join(bad)}")
    work = a.workdir or Path(tempfile.mkdtemp(prefix="e2e-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    (work / "recipe.yaml").write_text(RECIPE)
    corpus = work / f"corpus-{a.n}-mixed.jsonl"
    t0 = time.perf_counter()
    if not (corpus.exists() and truth_path(corpus).exists()):
        generate(a.n, corpus, seed=0, chars=a.chars, answers="mixed")
    size = corpus.stat().st_size
    print(f"corpus: {a.n:,} traces, {size / 2**30:.2f} GiB ({time.perf_counter() - t0:.0f} s) in {work}", flush=True)
    out = {"n": a.n, "corpus_bytes": size, "cpus": len(os.sched_getaffinity(0)), "engines": {}}
    for e in engines:
        r = run_engine(e, corpus, work, a.n, a.tokenizer, a.benchmarks_dir, a.ray_address)
        out["engines"][e] = r
        print(f"{e}: end to end {r['total_seconds']} s ({a.n / r['total_seconds']:.1f} traces/s), "
              f"peak RSS {r['peak_rss_mib']} MiB", flush=True)
        print(f"{e}: quality {json.dumps(r['quality'])}", flush=True)
    if "local" in out["engines"]:
        loc = out["engines"]["local"]
        print(f"targets (local): end to end {loc['total_seconds']:.0f} s vs 600 s; peak RSS "
              f"{loc['peak_rss_mib']} MiB vs 4096 MiB")
        if "ray" in out["engines"]:
            ray = out["engines"]["ray"]
            print(f"ray / local: {ray['total_seconds'] / loc['total_seconds']:.2f}x end to end (target <= 1.5x); "
                  "per step: " + ", ".join(
                      f"{s['step']} {s['seconds'] / max(0.1, l['seconds']):.2f}x"
                      for s, l in zip(ray["steps"], loc["steps"])))
            same = ray["quality"] == loc["quality"]
            print(f"ray and local quality figures identical: {same}")
    if a.json:
        a.json.write_text(json.dumps(out, indent=1))
    figures = {"traces": a.n, "corpus_gib": round(size / 2**30, 2), **out["engines"]}
    if "local" in out["engines"] and "ray" in out["engines"]:
        figures["ratio_ray_vs_local"] = round(out["engines"]["ray"]["total_seconds"]
                                              / out["engines"]["local"]["total_seconds"], 2)
        figures["quality_identical"] = out["engines"]["ray"]["quality"] == out["engines"]["local"]["quality"]
    write_result("e2e", figures=figures, baselines={},
                 workload=f"{a.n:,} bench/corpus.py traces ({size / 2**30:.2f} GiB; planted duplicates and benchmark "
                          "problems; half the solutions state the answer without \\boxed{}) through ingest, stats, "
                          f"verify, dedup, decontam ({BENCHMARKS}) and build, one `distillate` command per step, "
                          f"engines: {', '.join(engines)}",
                 notes="no outside baseline: the Ray engine is compared with the local engine of the same run")
    if a.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
