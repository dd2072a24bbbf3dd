"""Review app text helpers (issue 9) on real long traces: sections, math normalisation, marker highlighting,
diffs, decontam spans, literal ILIKE patterns."""

from __future__ import annotations

import json
import re

import duckdb
import pytest

from distillate.curate.signals.text import DEFAULT_MARKERS, compile_markers
from distillate.ui.text import (SECTION_CHARS, diff_html, highlight_markers, like_pattern, mark_spans,
                                marker_sections, normalize_math, section_of, split_sections)

MARKER_RE, _ = compile_markers(DEFAULT_MARKERS)


@pytest.fixture(scope="module")
def long_thoughts(shared_data):
    rows = [json.loads(line) for line in open(shared_data / "traces" / "skyt1_math5k_14b_aime24.jsonl", encoding="utf-8")]
    texts = [r.get("thought") or r.get("raw_generation") or "" for r in rows]
    return sorted(texts, key=len, reverse=True)[:5]


def test_sections_tile_long_traces(long_thoughts):
    for text in long_thoughts:
        assert len(text) > 50_000  # these are ~32k-token traces
        secs = split_sections(text)
        assert secs[0].start == 0 and secs[-1].end == len(text)
        assert all(a.end == b.start for a, b in zip(secs, secs[1:]))          # contiguous, nothing lost
        assert "".join(text[s.start:s.end] for s in secs) == text
        assert max(s.end - s.start for s in secs) <= 2 * SECTION_CHARS + 1   # each one renders fast
        assert len(secs) >= len(text) // (2 * SECTION_CHARS)


def test_sections_of_text_without_blank_lines():
    text = ("wait " * 3000).strip()           # one 15k-character paragraph, no newline at all
    secs = split_sections(text, target=1000)
    assert "".join(text[s.start:s.end] for s in secs) == text
    assert all(s.end - s.start <= 2000 for s in secs)
    assert split_sections("") == []


def test_marker_sections_count_every_marker(long_thoughts):
    text = long_thoughts[0]
    secs = split_sections(text)
    pos = [m.start() for m in MARKER_RE.finditer(text)]
    counts = marker_sections(secs, pos)
    assert sum(counts) == len(pos) > 0
    for p in pos[:50]:
        s = secs[section_of(secs, p)]
        assert s.start <= p < s.end


def test_normalize_math_rewrites_latex_delimiters():
    src = r"We get \(x^2 + 1\) and \[\frac{a}{b} = 3\] so \(y\)."
    out = normalize_math(src)
    assert r"\(" not in out and r"\[" not in out
    assert "$x^2 + 1$" in out and "$y$" in out
    assert "\n$$\n\\frac{a}{b} = 3\n$$\n" in out
    assert normalize_math("plain $a$ text") == "plain $a$ text"


def test_highlight_skips_math_and_counts():
    text = "Wait, that is wrong. $\\text{wait}$ Hmm, let me check again. But wait"
    out, n = highlight_markers(text, MARKER_RE)
    # Wait, "that is wrong" (mistake), Hmm, "let me check", But wait; not the one inside $..$
    assert n == 5
    assert "$\\text{wait}$" in out
    assert out.count(":orange-background[") == 5
    assert ":orange-background[**that is wrong**]" in out
    assert ":orange-background[**But wait**]" in out


def test_diff_html_on_real_near_copy(long_thoughts):
    a = long_thoughts[1][:20000]
    b = a.replace("Let me", "Let us", 3) + "\nA new final sentence."
    html, ratio = diff_html(a, b, "A", "B")
    assert 0.9 < ratio < 1.0
    assert "diff_add" in html and "diff_chg" in html
    same, r1 = diff_html(a, a, "A", "A")
    assert r1 == 1.0


def test_mark_spans_escapes_and_marks():
    text = "Find <x> such that x+1=2. Then x & y."
    out = mark_spans(text, [[0, 4], [26, 30]])
    assert out.startswith("<mark>Find</mark> &lt;x&gt;")
    assert "<mark>Then</mark>" in out and "&amp;" in out
    assert mark_spans("abc", [[5, 9]]) == "abc"  # out-of-range spans are ignored


def test_like_pattern_is_literal():
    con = duckdb.connect()
    rows = ["100% sure", "100 percent", "a_b", "axb", r"back\slash"]
    con.execute("CREATE TABLE t (s VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[r] for r in rows])
    q = "SELECT s FROM t WHERE s ILIKE ? ESCAPE '\\' ORDER BY s"
    assert [r[0] for r in con.execute(q, [like_pattern("0% s")]).fetchall()] == ["100% sure"]
    assert [r[0] for r in con.execute(q, [like_pattern("a_b")]).fetchall()] == ["a_b"]
    assert [r[0] for r in con.execute(q, [like_pattern("k\\s")]).fetchall()] == [r"back\slash"]
    assert re.fullmatch(r"%.*%", like_pattern("x"))
