"""Review app speed on a catalog with realistic text lengths: Browse (server-side paging and filters, text
search in problems and inside thoughts) against the naive app's way, and the Trace page's text work on a
long thought.

    .venv/bin/python bench/ui_bench.py --quick          # 20k traces (~0.4 GiB of text)
    .venv/bin/python bench/ui_bench.py [--n 200000]     # the full size (~4 GiB of text)

The catalog holds N traces whose thoughts are real paragraphs from ../shared/data/traces recombined
(numbers kept): 98% of ~8-32 KB (median ~20 KB), a long tail of 2% at 60-120 KB; one trace in 1,000 holds
a rare phrase ("zeta-function shortcut") somewhere in its thought, the needle the thought search looks for.
Every side table is filled in SQL (signals, verdicts, duplicates, contamination, flags).

Measured in the same run, median of 3: the app's Browse queries (ui/browse.sql: one page of 50 + the
count), a search inside thoughts (`q_traces`), opening one trace's row; baselines: the naive app loading
every `candidates` row into Python, and searching thoughts by fetching every thought into Python
(streamed in batches) and testing the phrase there. Trace text: one section (what the Trace page renders)
vs the whole thought as one markdown element, on the longest thought of the catalog and on the longest
real trace of ../shared/data. Writes bench/results/ui.json."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.corpus import DATA, load_pools  # noqa: E402
from bench.results import write_result  # noqa: E402

NEEDLE = "zeta-function shortcut"


def _thought(paras: list[str], rng: random.Random, i: int) -> str:
    kb = rng.uniform(60, 120) if rng.random() < 0.02 else rng.uniform(8, 32)
    out, size = [], 0
    while size < kb * 1024:
        p = rng.choice(paras)
        out.append(p)
        size += len(p) + 2
    if i % 1000 == 7:
        out.insert(rng.randrange(len(out)), f"Let me try the {NEEDLE} here instead.")
    return "\n\n".join(out)


def _make(root: Path, n: int, show: bool = True):
    import pyarrow as pa

    from distillate.curate import Workspace

    paras = [p for p in load_pools(DATA).paragraphs if len(p) < 4000]
    rng = random.Random(0)
    ws = Workspace(root / "ws")
    text_bytes = 0
    with ws.job("bench") as (cat, _):
        cat.fetch("INSERT INTO sources (source, kind) SELECT 'src' || i, 'traces' FROM range(8) r(i)")
        cat.fetch(f"""INSERT INTO problems (problem_id, problem, answer, first_source, seq)
            SELECT 'p' || i, 'Find the number of integers x such that ' || i || ' divides x^2 + ' || (i % 97) || '.',
                   (i % 1000)::VARCHAR, 'src' || (i % 8), i FROM range({n // 4}) r(i)""")
        step = 5000
        for lo in range(0, n, step):
            ids = range(lo, min(n, lo + step))
            th = [_thought(paras, rng, i) for i in ids]
            text_bytes += sum(map(len, th))
            batch = pa.table({"i": list(ids), "thought": th})
            with cat.registered(bench_texts=batch):
                cat.fetch(f"""INSERT INTO traces (trace_id, problem_id, thought, solution, thought_closed, source,
                                                  source_id, seq)
                    SELECT 't' || i, 'p' || (i % {n // 4}), thought,
                           'The answer is \\boxed{{' || (i % 1000) || '}}.', TRUE, 'src' || (i % 8), i::VARCHAR, i
                    FROM bench_texts""")
            if show:
                print(f"\r  traces {min(n, lo + step):,}/{n:,}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        cat.fetch("""INSERT INTO trace_signals (trace_id, signal_version, n_tokens, thought_tokens, solution_tokens,
                         truncated, looping, n_markers, markers_per_1k, marker_counts)
            SELECT trace_id, 1, (length(thought) // 4)::INTEGER, 0, 0, hash(trace_id) % 17 = 0,
                   hash(trace_id) % 23 = 0, (hash(trace_id) % 90)::INTEGER, (hash(trace_id) % 900) / 100.0,
                   MAP(['wait'], [(hash(trace_id) % 90)::INTEGER]) FROM traces""")
        cat.fetch("""INSERT INTO verdicts (trace_id, verifier_version, verdict)
            SELECT trace_id, 'b', CASE WHEN hash(trace_id) % 5 = 0 THEN 'incorrect' ELSE 'correct' END
            FROM traces""")
        cat.fetch("""INSERT INTO trace_duplicates (trace_id, kind, duplicate_of, similarity)
            SELECT trace_id, 'near', 't0', 0.9 FROM traces WHERE hash(trace_id) % 31 = 0 AND trace_id <> 't0'""")
        cat.fetch("""INSERT INTO contamination_matches (problem_id, benchmark, benchmark_id, method, score)
            SELECT problem_id, 'aime24', problem_id, 'exact', 1.0 FROM problems WHERE hash(problem_id) % 101 = 0""")
        cat.fetch("""INSERT INTO review_flags SELECT 'f' || trace_id, trace_id, 'bad', NULL, NULL, 'bench', now()
            FROM traces WHERE hash(trace_id) % 997 = 0""")
    return ws, text_bytes


def _time(fn, repeat: int) -> float:
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def _text_work(text: str, pat) -> dict:
    from distillate.ui.text import highlight_markers, marker_sections, normalize_math, split_sections

    def section_view():
        secs = split_sections(text)
        marker_sections(secs, [m.start() for m in pat.finditer(text)])
        s = secs[len(secs) // 2]
        highlight_markers(normalize_math(text[s.start:s.end]), pat)

    def whole_view():  # baseline: normalise and highlight the whole trace, as one markdown element
        highlight_markers(normalize_math(text), pat)

    sv, wv = _time(section_view, 5), _time(whole_view, 5)
    return {"chars": len(text), "section_ms": round(1000 * sv, 2), "whole_ms": round(1000 * wv, 2),
            "markdown_chars_section": len(text) // max(1, len(split_sections(text))), "markdown_chars_whole": len(text)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20k traces instead of 200k")
    ap.add_argument("--n", type=int, default=None, help="number of synthetic traces")
    a = ap.parse_args()
    n = a.n or (20_000 if a.quick else 200_000)
    from distillate.curate.signals.text import DEFAULT_MARKERS, compile_markers
    from distillate.ui import data

    figures: dict = {"traces": n}
    base: dict = {}
    pat, _ = compile_markers(DEFAULT_MARKERS)
    with tempfile.TemporaryDirectory(prefix="ui-bench-") as tmp:
        t = time.perf_counter()
        ws, text_bytes = _make(Path(tmp), n)
        figures["text_gib"] = round(text_bytes / 2**30, 2)
        print(f"catalog with {n:,} traces ({text_bytes / 2**30:.2f} GiB of thoughts) built in "
              f"{time.perf_counter() - t:.1f} s")
        rep = 3
        with data.open_reader(ws) as r:
            cases = {
                "first_page": ("first page, no filter", data.BrowseFilter(), 0),
                "page_100": ("page 100 (offset 5k)", data.BrowseFilter(), 5000),
                "filtered": ("source + verdict + tokens", data.BrowseFilter(sources=["src3"], verdicts=["incorrect"],
                                                                            tok_min=2000, tok_max=6000), 0),
                "flags_contaminated": ("flags + contaminated", data.BrowseFilter(flag="flagged", contaminated=False), 0),
                "longest_first": ("longest first", data.BrowseFilter(sort="tokens_desc"), 0),
                "problem_search": ("problem text search", data.BrowseFilter(q="divides x^2 + 42"), 0),
                "thought_search": ("search inside thoughts", data.BrowseFilter(q=NEEDLE, q_traces=True), 0),
            }
            print(f"\nBrowse (50 rows per page + count), median of {rep}:")
            browse = {}
            for key, (name, flt, off) in cases.items():
                rows, total = data.browse(r, flt, off, 50)
                s = _time(lambda: data.browse(r, flt, off, 50), rep)
                browse[key] = {"ms": round(1000 * s, 1), "matches": total}
                print(f"  {name:<28} {1000 * s:8.0f} ms  ({total:,} match)")
            figures["browse"] = browse
            needles = sum(1 for i in range(n) if i % 1000 == 7)
            assert browse["thought_search"]["matches"] == needles, (browse["thought_search"], needles)

            def load_all():
                return r.cat.fetch("SELECT * FROM candidates")

            def naive_search():  # every thought into Python, searched there (in windows: bounded memory)
                found, low = 0, NEEDLE.lower()
                for lo in range(0, n, 2048):
                    found += sum(low in (t or "").lower() for (t,) in r.cat.fetch(
                        "SELECT thought FROM traces WHERE seq >= ? AND seq < ?", [lo, lo + 2048]))
                return found

            t = time.perf_counter()
            got = naive_search()
            base["search_python"] = {"ms": round(1000 * (time.perf_counter() - t), 1), "matches": got}
            base["load_all_candidates"] = {"ms": round(1000 * _time(load_all, 1), 1)}
            print(f"  baseline: load every candidates row {base['load_all_candidates']['ms']:8.0f} ms -> paging "
                  f"{base['load_all_candidates']['ms'] / browse['first_page']['ms']:.0f}x faster")
            print(f"  baseline: every thought searched in Python {base['search_python']['ms']:8.0f} ms -> "
                  f"{base['search_python']['ms'] / browse['thought_search']['ms']:.1f}x the app's search")
            figures["open_trace_row_ms"] = round(1000 * _time(lambda: data.trace_detail(r, f"t{n // 2}"), rep), 1)
            print(f"  open one trace's row (ui/trace.sql) {figures['open_trace_row_ms']:8.0f} ms")
            longest = r.cat.fetch("SELECT thought FROM traces ORDER BY length(thought) DESC LIMIT 1")[0][0]
        figures["trace_text_longest"] = _text_work(longest, pat)

    # the Trace page's text work on the longest real trace (~32k tokens)
    rows = [json.loads(x) for x in open(DATA / "traces" / "skyt1_math5k_14b_aime24.jsonl", encoding="utf-8")]
    text = max((x.get("thought") or x.get("raw_generation") or "" for x in rows), key=len)
    figures["trace_text_real"] = _text_work(text, pat)
    for k in ("trace_text_longest", "trace_text_real"):
        f = figures[k]
        print(f"\nTrace text ({k}, {f['chars']:,} characters): one section {f['section_ms']:.1f} ms vs whole "
              f"trace {f['whole_ms']:.1f} ms; markdown sent to the browser {f['markdown_chars_section']:,} vs "
              f"{f['markdown_chars_whole']:,} characters")
    figures["ratio_paging_vs_load_all"] = round(base["load_all_candidates"]["ms"] / browse["first_page"]["ms"], 1)
    figures["ratio_search_vs_python"] = round(base["search_python"]["ms"] / browse["thought_search"]["ms"], 2)
    write_result("ui", figures=figures,
                 baselines={**base, "whole_trace_markdown_ms": {k: figures[k]["whole_ms"]
                                                                for k in ("trace_text_longest", "trace_text_real")}},
                 workload=f"{n:,} synthetic traces with real recombined paragraphs as thoughts ({figures['text_gib']} "
                          "GiB: 8-32 KB each, 2% at 60-120 KB), a rare phrase in 1 trace per 1,000; every side table "
                          "filled; Browse pages of 50 rows with their count")


if __name__ == "__main__":
    main()
