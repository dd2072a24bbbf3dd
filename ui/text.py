"""Text helpers of the review app (no Streamlit here, so tests call them directly).

A 30k-token thought is ~120k characters: rendering it as one markdown element is what makes other viewers
slow. We split it into sections of paragraph groups, render one section at a time, and do the marker
regex and math normalisation over the visible section only."""

from __future__ import annotations

import bisect
import difflib
import html
import re
from dataclasses import dataclass

SECTION_CHARS = 4000  # target size of one section: a screenful or two

_PARA = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Section:
    index: int
    start: int   # character offsets into the part (same code points as trace_markers.pos)
    end: int


def split_sections(text: str, target: int = SECTION_CHARS) -> list[Section]:
    """Group paragraphs (blank-line separated) into sections of about `target` characters. A paragraph
    longer than 2x target (a loop, or a trace without blank lines) is cut at line ends, else hard."""
    if not text:
        return []
    bounds = [0] + [m.end() for m in _PARA.finditer(text)] + [len(text)]
    cuts = [0]
    for b in bounds[1:]:
        while b - cuts[-1] > 2 * target:  # an overlong paragraph: cut at a newline if there is one
            lo, hi = cuts[-1] + target // 2, cuts[-1] + target
            nl = text.rfind("\n", lo, hi)
            cuts.append(nl + 1 if nl >= 0 else hi)
        if b - cuts[-1] >= target or b == len(text):
            if b > cuts[-1]:
                cuts.append(b)
    if cuts[-1] != len(text):
        cuts.append(len(text))
    return [Section(i, a, b) for i, (a, b) in enumerate(zip(cuts, cuts[1:]))]


def section_of(sections: list[Section], pos: int) -> int:
    """Index of the section holding character `pos`."""
    starts = [s.start for s in sections]
    return max(0, bisect.bisect_right(starts, pos) - 1)


def marker_sections(sections: list[Section], positions: list[int]) -> list[int]:
    """How many markers fall in each section."""
    counts = [0] * len(sections)
    for p in positions:
        if sections:
            counts[section_of(sections, p)] += 1
    return counts


# ---- math ---------------------------------------------------------------------------------------------

_DISPLAY = re.compile(r"\\\[(.+?)\\\]", re.DOTALL)
_INLINE = re.compile(r"\\\((.+?)\\\)", re.DOTALL)
_MATH_SPAN = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.DOTALL)


def normalize_math(text: str) -> str:
    """Streamlit's markdown renders $..$ and $$..$$ (KaTeX) but not the LaTeX delimiters \\(..\\) and
    \\[..\\] that most reasoning models emit: rewrite those. Display math goes on its own lines."""
    text = _DISPLAY.sub(lambda m: "\n$$\n" + m.group(1).strip() + "\n$$\n", text)
    return _INLINE.sub(lambda m: "$" + m.group(1).strip() + "$", text)


def highlight_markers(text: str, pattern: re.Pattern) -> tuple[str, int]:
    """Wrap reflection markers in Streamlit's `:orange-background[...]` outside math spans (a directive
    inside $..$ would break KaTeX). Returns the marked-up text and the number of markers highlighted."""
    math = [(m.start(), m.end()) for m in _MATH_SPAN.finditer(text)]
    starts = [a for a, _ in math]
    out, last, n = [], 0, 0
    for m in pattern.finditer(text):
        i = bisect.bisect_right(starts, m.start()) - 1
        if i >= 0 and math[i][0] <= m.start() < math[i][1]:
            continue
        out.append(text[last:m.start()])
        out.append(f":orange-background[**{m.group(0)}**]")
        last, n = m.end(), n + 1
    out.append(text[last:])
    return "".join(out), n


# ---- diff ---------------------------------------------------------------------------------------------

_SENT = re.compile(r"(?<=[.!?])\s+|\n+")


def _units(text: str) -> list[str]:
    return [u.strip() for u in _SENT.split(text or "") if u.strip()]


def diff_html(a: str, b: str, label_a: str, label_b: str, *, max_units: int = 3000) -> tuple[str, float]:
    """A side-by-side HTML diff of two texts on sentences (changed regions with 2 units of context) and
    the similarity ratio of the unit sequences. Inputs beyond `max_units` sentences are cut (said so)."""
    ua, ub = _units(a), _units(b)
    note = ""
    if len(ua) > max_units or len(ub) > max_units:
        ua, ub = ua[:max_units], ub[:max_units]
        note = f"<p><em>only the first {max_units} sentences are compared</em></p>"
    ratio = difflib.SequenceMatcher(None, ua, ub, autojunk=False).ratio()
    table = difflib.HtmlDiff(wrapcolumn=70).make_table(ua, ub, html.escape(label_a), html.escape(label_b),
                                                       context=True, numlines=2)
    style = ("<style>table.diff{font-family:monospace;font-size:12px;border-collapse:collapse;width:100%}"
             ".diff_add{background:#c8f0c8}.diff_chg{background:#f5e6a8}.diff_sub{background:#f5c0c0}"
             "td{vertical-align:top;padding:1px 4px}.diff_header{color:#888}</style>")
    return style + note + table, ratio


def mark_spans(text: str, spans: list) -> str:
    """HTML-escape `text` and wrap the [start, end) character spans (decontam matches) in <mark>."""
    out, last = [], 0
    for a, b in sorted((int(s[0]), int(s[1])) for s in spans or [] if len(s) >= 2):
        a, b = max(a, last), min(b, len(text))
        if a >= b:
            continue
        out += [html.escape(text[last:a]), "<mark>", html.escape(text[a:b]), "</mark>"]
        last = b
    out.append(html.escape(text[last:]))
    return "".join(out).replace("\n", "<br>")


def like_pattern(q: str) -> str:
    """An ILIKE pattern matching `q` literally anywhere (%, _ and \\ escaped; ESCAPE '\\')."""
    return "%" + re.sub(r"([%_\\])", r"\\\1", q) + "%"
