"""Matching text: tokens with character offsets, LaTeX-insensitive, with prompt boilerplate removed.

Every method of the ensemble works on the same token sequence, so a match found by any of them maps
back to character spans of the original text (what the review app highlights). Tokens are lowercase
word runs, digit runs and math operators; LaTeX delimiters, braces, spacing and sizing commands are
dropped and synonyms merged (\\dfrac -> frac, \\leq -> le), so `$..$` vs `\\(..\\)` or `\\frac` vs `\\dfrac`
never change a token. Number masking replaces digit runs and number words by `#`."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# A backslash command, a word, a number (thousands separators folded), or one math operator.
_TOKEN = re.compile(r"\\[A-Za-z]+|[^\W\d_]+|\d{1,3}(?:(?:,|\{,\})\d{3})+(?!\d)|\d+(?:\.\d+)?|[+\-=<>^*/!|]")
_THOUSANDS = re.compile(r",|\{,\}")
# Asymptote figure code is mostly shared drawing boilerplate (unitsize, draw, label): not matched.
_ASY = re.compile(r"\[asy\].*?(?:\[/asy\]|$)", re.S | re.I)

# LaTeX commands that carry no content (sizing, spacing, fonts): dropped.
_DROP = {
    "left", "right", "big", "bigl", "bigr", "bigg", "biggl", "biggr", "displaystyle", "textstyle",
    "text", "textbf", "textit", "mathrm", "mathbf", "mathit", "mathsf", "mathtt", "operatorname", "mbox",
    "hbox", "quad", "qquad", "emph", "limits", "nolimits", "boxed", "mathbb", "mathcal", "begin", "end",
    "hspace", "vspace", "noindent", "newline", "par",
}
# LaTeX synonyms merged into one token.
_SYNONYMS = {
    "dfrac": "frac", "tfrac": "frac", "cfrac": "frac", "leq": "le", "leqslant": "le", "geq": "ge",
    "geqslant": "ge", "neq": "ne", "dbinom": "binom", "tbinom": "binom", "to": "rightarrow",
    "cdotp": "cdot", "ldots": "dots", "cdots": "dots", "dotsc": "dots", "dotsb": "dots", "lvert": "|",
    "rvert": "|", "vert": "|", "lbrace": "{", "rbrace": "}", "varepsilon": "epsilon", "varphi": "phi",
}

NUMBER_WORDS = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
    "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "million",
    "half", "third", "quarter", "twice", "double", "triple",
}
MASK = "#"

# Prompt boilerplate that datasets wrap around a problem ("Solve the following problem.", "Please reason
# step by step, and put your final answer within \boxed{}."): removed before matching so a wrapped copy
# of a benchmark problem matches as exactly as the bare one. Matched on the token sequence.
BOILERPLATE = [
    "solve the following math problem step by step",
    "solve the following math problem",
    "solve the following problem step by step",
    "solve the following problem",
    "solve this problem",
    "please reason step by step and put your final answer within",
    "please reason step by step",
    "put your final answer within",
    "put your final answer in",
    "put your answer within",
    "put your answer in",
    "return your final response within",
    "return your final response as",
    "the last line of your response should be of the form answer",
    "make sure to put the answer and only answer inside",
    "let s think step by step",
    "think step by step",
    "show your work",
    "problem",
    "question",
]
_BOILER_BY_FIRST: dict[str, list[tuple[str, ...]]] = {}
for _p in sorted((tuple(p.split()) for p in BOILERPLATE), key=len, reverse=True):
    _BOILER_BY_FIRST.setdefault(_p[0], []).append(_p)


@dataclass(frozen=True, slots=True)
class Tokens:
    """The matching tokens of one text and each token's (start, end) in the original text."""

    toks: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]

    def numbers(self) -> tuple[str, ...]:
        """The numerals (number words are masked too, but changing one is a word edit)."""
        return tuple(t for t in self.toks if t[0].isdigit())

    def masked(self) -> tuple[str, ...]:
        return tuple(MASK if (t[0].isdigit() or t in NUMBER_WORDS) else t for t in self.toks)

    def char_spans(self, token_ranges: list[tuple[int, int]]) -> list[list[int]]:
        """Merge half-open token index ranges and map them to character spans of the original text."""
        out: list[list[int]] = []
        for a, b in sorted(token_ranges):
            if b <= a:
                continue
            s, e = self.spans[a][0], self.spans[b - 1][1]
            if out and s <= out[-1][1] + 1:
                out[-1][1] = max(out[-1][1], e)
            else:
                out.append([s, e])
        return out


def tokenize(text: str, strip_boilerplate: bool = True) -> Tokens:
    toks: list[str] = []
    spans: list[tuple[int, int]] = []
    asy = [m.span() for m in _ASY.finditer(text)] if "[asy]" in text.lower() else []
    ascii_only = text.isascii()
    for m in _TOKEN.finditer(text):
        t = m.group()
        c = t[0]
        if c == "\\":
            name = t[1:]
            if name in _DROP:
                continue
            t = _SYNONYMS.get(name, name)
        elif c.isdigit():
            if len(t) > 3:
                t = _THOUSANDS.sub("", t)
                if "." in t:
                    t = t.rstrip("0").rstrip(".") or "0"
            elif "." in t:
                t = t.rstrip("0").rstrip(".") or "0"
        else:
            t = t.lower() if ascii_only else unicodedata.normalize("NFKC", t).lower()
        if asy and any(a <= m.start() < b for a, b in asy):
            continue
        toks.append(t)
        spans.append(m.span())
    if strip_boilerplate and toks:
        toks, spans = _strip(toks, spans)
    return Tokens(tuple(toks), tuple(spans))


def _strip(toks: list[str], spans: list[tuple[int, int]]):
    """Drop boilerplate phrases."""
    keep: list[bool] | None = None
    i, n = 0, len(toks)
    while i < n:
        for p in _BOILER_BY_FIRST.get(toks[i], ()):
            # single-word labels ("Problem:") only at the very start
            if (len(p) > 1 or i == 0) and tuple(toks[i:i + len(p)]) == p:
                if keep is None:
                    keep = [True] * n
                for j in range(i, i + len(p)):
                    keep[j] = False
                i += len(p) - 1
                break
        i += 1
    if keep is None or not any(keep):
        return toks, spans
    return [t for t, k in zip(toks, keep) if k], [s for s, k in zip(spans, keep) if k]
