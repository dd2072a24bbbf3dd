"""Review app speed: Browse on a large synthetic catalog (server-side paging vs loading every row, the
baseline a naive app does) and opening a 30k-token trace (the data + text work of the Trace page).

    .venv/bin/python bench/ui_bench.py [--quick] [--n 1000000]

The catalog has N traces with short texts and every side table filled (signals, verdicts, duplicates,
contamination, flags), written by SQL in a few seconds; the 30k-token trace is the longest real one in
../shared/data. Figures are printed; the lead reruns them on a quiet machine."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _make(root: Path, n: int) -> "object":
    from distillate.curate import Workspace

    ws = Workspace(root / "ws")
    with ws.job("bench") as (cat, _):
        c = cat.con
        c.execute("INSERT INTO sources (source, kind) SELECT 'src' || i, 'traces' FROM range(8) r(i)").fetchall()
        c.execute(f"""INSERT INTO problems (problem_id, problem, answer, first_source, seq)
            SELECT 'p' || i, 'Find the number of integers x such that ' || i || ' divides x^2 + ' || (i % 97) || '.',
                   (i % 1000)::VARCHAR, 'src' || (i % 8), i FROM range({n // 4}) r(i)""").fetchall()
        c.execute(f"""INSERT INTO traces (trace_id, problem_id, thought, solution, thought_closed, source, source_id, seq)
            SELECT 't' || i, 'p' || (i % {n // 4}), 'Let me think. Wait, check ' || i || '. Hmm.',
                   'The answer is \\boxed{{' || (i % 1000) || '}}.', TRUE, 'src' || (i % 8), i::VARCHAR, i
            FROM range({n}) r(i)""").fetchall()
        c.execute("""INSERT INTO trace_signals (trace_id, signal_version, n_tokens, thought_tokens, solution_tokens,
                         truncated, looping, n_markers, markers_per_1k, marker_counts)
            SELECT trace_id, 1, (hash(trace_id) % 32000)::INTEGER, 0, 0, hash(trace_id) % 17 = 0,
                   hash(trace_id) % 23 = 0, (hash(trace_id) % 90)::INTEGER, (hash(trace_id) % 900) / 100.0,
                   MAP(['wait'], [(hash(trace_id) % 90)::INTEGER]) FROM traces""").fetchall()
        c.execute("""INSERT INTO verdicts (trace_id, verifier_version, verdict)
            SELECT trace_id, 'b', CASE WHEN hash(trace_id) % 5 = 0 THEN 'incorrect' ELSE 'correct' END
            FROM traces""").fetchall()
        c.execute("""INSERT INTO trace_duplicates (trace_id, kind, duplicate_of, similarity)
            SELECT trace_id, 'near', 't0', 0.9 FROM traces WHERE hash(trace_id) % 31 = 0 AND trace_id <> 't0'""").fetchall()
        c.execute("""INSERT INTO contamination_matches (problem_id, benchmark, benchmark_id, method, score)
            SELECT problem_id, 'aime24', problem_id, 'exact', 1.0 FROM problems WHERE hash(problem_id) % 101 = 0""").fetchall()
        c.execute("""INSERT INTO review_flags SELECT 'f' || trace_id, trace_id, 'bad', NULL, NULL, 'bench', now()
            FROM traces WHERE hash(trace_id) % 997 = 0""").fetchall()
    return ws


def _time(fn, repeat: int) -> float:
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100k traces instead of 1M")
    ap.add_argument("--n", type=int, default=None, help="number of synthetic traces")
    a = ap.parse_args()
    n = a.n or (100_000 if a.quick else 1_000_000)
    sys.path.insert(0, str(REPO))
    from distillate.ui import data
    from distillate.ui.text import highlight_markers, marker_sections, normalize_math, split_sections
    from distillate.curate.signals.text import DEFAULT_MARKERS, compile_markers

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        ws = _make(Path(tmp), n)
        print(f"catalog with {n:,} traces built in {time.perf_counter() - t:.1f} s")
        rep = 3
        with data.open_reader(ws) as r:
            cases = {
                "first page, no filter": data.BrowseFilter(),
                "page 100 (offset 5k)": data.BrowseFilter(),
                "source + verdict + tokens": data.BrowseFilter(sources=["src3"], verdicts=["incorrect"],
                                                               tok_min=8000, tok_max=16000),
                "flags + contaminated": data.BrowseFilter(flag="flagged", contaminated=False),
                "longest first": data.BrowseFilter(sort="tokens_desc"),
                "problem text search": data.BrowseFilter(q="divides x^2 + 42"),
            }
            print(f"\nBrowse (50 rows per page), median of {rep}:")
            for name, flt in cases.items():
                off = 5000 if name.startswith("page 100") else 0
                rows, total = data.browse(r, flt, off, 50)
                s = _time(lambda: data.browse(r, flt, off, 50), rep)
                print(f"  {name:<28} {1000 * s:8.0f} ms  ({total:,} match)")
            base = _time(lambda: r.cat.con.execute("SELECT * FROM candidates").fetchall(), 1)
            page = _time(lambda: data.browse(r, data.BrowseFilter(), 0, 50), rep)
            print(f"  baseline: load every candidates row {1000 * base:8.0f} ms  -> paging is {base / page:.0f}x faster")
            s = _time(lambda: data.trace_detail(r, f"t{n // 2}"), rep)
            print(f"  open one trace's row (ui/trace.sql) {1000 * s:8.0f} ms")

    # the Trace page's text work on the longest real trace (~32k tokens)
    shared = next((p for p in (REPO.parent / "shared" / "data", Path("/work/shared/data")) if p.exists()), None)
    if shared is None:
        print("../shared/data not found: skipping the 30k-token trace")
        return
    rows = [json.loads(x) for x in open(shared / "traces" / "skyt1_math5k_14b_aime24.jsonl", encoding="utf-8")]
    text = max((x.get("thought") or x.get("raw_generation") or "" for x in rows), key=len)
    pat, _ = compile_markers(DEFAULT_MARKERS)

    def section_view():
        secs = split_sections(text)
        marker_sections(secs, [m.start() for m in pat.finditer(text)])
        s = secs[len(secs) // 2]
        highlight_markers(normalize_math(text[s.start:s.end]), pat)

    def whole_view():  # baseline: normalise and highlight the whole trace, as one markdown element
        highlight_markers(normalize_math(text), pat)

    sv, wv = _time(section_view, 5), _time(whole_view, 5)
    print(f"\nTrace text ({len(text):,} characters): one section {1000 * sv:.1f} ms vs whole trace {1000 * wv:.1f} ms; "
          f"markdown sent to the browser {len(text) // len(split_sections(text)):,} vs {len(text):,} characters")


if __name__ == "__main__":
    main()
