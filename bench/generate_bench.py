"""Generation benchmark: what journaling costs against a fast local endpoint.

    .venv/bin/python bench/generate_bench.py --quick      # 400 requests: checks that it works
    .venv/bin/python bench/generate_bench.py              # 3000 requests

Against tests/fake_openai_server.py (real HTTP on 127.0.0.1, answers at once), in the same run:
(1) baseline: the same requests sent with the same AsyncOpenAI client and concurrency, nothing stored;
(2) `generate`: a journal row per request, and every finished request committed (trace + journal row) before
    it counts as done -- requests finishing during a commit share the next one (group commit);
(3) a rerun of the same command (everything done: planning and skipping only).
Prints requests/s of each, the ratio (2)/(1) (the journaling overhead; a real endpoint takes seconds per
request, so the ratio that matters there is ~1), the per-request cost and the number of commits, and writes
bench/results/generate.json (bench/results.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from bench.results import write_result  # noqa: E402
from fake_openai_server import FakeOpenAI  # noqa: E402


async def baseline(url: str, problems: list[dict], n: int, concurrency: int) -> float:
    import openai

    client = openai.AsyncOpenAI(base_url=url, api_key="EMPTY", max_retries=2)  # generate retries too
    sem = asyncio.Semaphore(concurrency)

    async def one(p, k):
        async with sem:
            r = await client.chat.completions.create(model="fake", messages=[{"role": "user", "content": p["problem"]}],
                                                     max_tokens=1000, extra_headers={"X-Distillate-Request-Id": f"b{k}{p['id']}"})
            return r.choices[0].message.content

    t0 = time.perf_counter()
    await asyncio.gather(*(one(p, k) for p in problems for k in range(n)))
    await client.close()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="400 requests instead of 3000")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--notes", default="", help="free text stored with the result")
    a = ap.parse_args()
    from distillate.curate import Workspace
    from distillate.curate.generate import GenerateConfig, generate

    shared = REPO.parent / "shared" / "data" / "benchmarks" / "math_train.jsonl"
    if not shared.exists():
        shared = Path("/work/shared/data/benchmarks/math_train.jsonl")
    n_problems, n = (100, 4) if a.quick else (750, 4)
    rows = [json.loads(line) for line in shared.open()][:n_problems]
    total = n_problems * n
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI({r["problem"]: r["answer"] for r in rows},
                                                         thought_words=200) as srv:
        pfile = Path(tmp) / "problems.jsonl"
        pfile.write_text("".join(json.dumps({"id": r["id"], "problem": r["problem"], "answer": r["answer"]}) + "\n"
                                 for r in rows))
        os.environ.setdefault("OPENAI_API_KEY", "EMPTY")
        t_base = asyncio.run(baseline(srv.url, rows, n, a.concurrency))
        ws = Workspace(Path(tmp) / "ws")
        cfg = GenerateConfig(model="fake-r1", endpoint=srv.url, n=n, max_tokens=1000, concurrency=a.concurrency,
                             stream=False)
        t0 = time.perf_counter()
        res = generate(ws, cfg, str(pfile), show_progress=False)
        t_gen = time.perf_counter() - t0
        assert res.counters["completed"] == total, res.counters
        t0 = time.perf_counter()
        res2 = generate(ws, cfg, str(pfile), show_progress=False)
        t_re = time.perf_counter() - t0
        assert res2.counters["sent"] == 0
    commits = res.counters.get("commits")
    print(f"requests: {total} ({n_problems} problems x {n}), concurrency {a.concurrency}, non-streaming")
    print(f"baseline (client only, nothing stored): {total / t_base:8.1f} req/s  ({t_base:.2f} s)")
    print(f"generate (journal + traces committed):  {total / t_gen:8.1f} req/s  ({t_gen:.2f} s, {commits} commits)")
    print(f"ratio generate/baseline throughput:     {t_base / t_gen:8.2f}")
    print(f"journaling cost per request:            {1000 * (t_gen - t_base) / total:8.2f} ms")
    print(f"rerun (all done, nothing sent):         {t_re:8.2f} s")
    write_result("generate",
                 figures={"requests": total, "generate_req_s": round(total / t_gen, 1), "seconds": round(t_gen, 2),
                          "ratio_vs_baseline": round(t_base / t_gen, 2),
                          "journal_ms_per_request": round(1000 * (t_gen - t_base) / total, 2),
                          "commits": commits, "rerun_seconds": round(t_re, 2)},
                 baselines={"bare_client": {"req_s": round(total / t_base, 1), "seconds": round(t_base, 2)}},
                 workload=f"{total} requests ({n_problems} MATH-train problems x {n}), concurrency {a.concurrency}, "
                          "non-streaming, against tests/fake_openai_server.py on 127.0.0.1 (answers at once); "
                          "baseline: the same AsyncOpenAI requests, nothing stored", notes=a.notes)


if __name__ == "__main__":
    main()
