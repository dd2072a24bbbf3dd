"""Edits of benchmark problems that the decontamination matcher was NOT written against (held out).

curate/decontam/perturb.py makes the edits the matcher's normaliser undoes by design (whitespace, `$..$` vs
`\\(..\\)`, `\\frac` vs `\\dfrac`, prompt boilerplate, one replaced word, changed numbers), so recall on them
measures the design, not its reach. These families are made by other methods, and nothing in
curate/decontam/text.py folds them back:

- `synonyms`: up to 3 words or phrases replaced from a small hand-written table of math-problem paraphrases
  ("find" -> "determine", "how many" -> "what is the number of", "smallest" -> "least", ...);
- `reorder`: the sentences outside display math rotated (the question first: "Find x. Given that ...");
- `latex_retype`: math re-typeset the way another author writes it: `\\frac{a}{b}` -> `a/b` for simple
  arguments, `\\cdot` -> `\\times`, `\\le` -> `<=`, `x^2` -> `x²`, `\\pi` -> `π`;
- `number_words`: small numerals written as words and back ("3 red balls" -> "three red balls", "two" -> "2");
- `combined`: synonyms, then latex_retype, then reorder (a deliberate paraphrase).

Each function returns None when the edit does not apply to the text (nothing to replace); the benchmark
counts recall over the texts an edit applies to and reports that count."""

from __future__ import annotations

import random
import re

HELDOUT_EDITS = ("synonyms", "reorder", "latex_retype", "number_words", "combined")

# phrase -> paraphrases (lowercase; matched on word boundaries, outside math, case of the first letter kept)
SYNONYMS = {
    "find": ["determine", "compute", "work out"],
    "compute": ["calculate", "evaluate", "find"],
    "determine": ["find", "figure out"],
    "what is": ["find", "determine"],
    "how many": ["what is the number of", "count how many"],
    "the number of": ["the count of", "how many"],
    "smallest": ["least", "minimum"],
    "largest": ["greatest", "biggest"],
    "greatest": ["largest", "maximum"],
    "least": ["smallest", "minimum"],
    "positive integers": ["positive whole numbers", "natural numbers"],
    "positive integer": ["positive whole number", "natural number"],
    "integers": ["whole numbers"],
    "probability": ["chance", "likelihood"],
    "suppose": ["assume", "let us say"],
    "such that": ["so that", "with the property that"],
    "each": ["every"],
    "real numbers": ["reals"],
    "value": ["quantity"],
    "express your answer as": ["write your answer as", "give your answer as"],
    "there are": ["we have"],
    "consider": ["take", "look at"],
    "satisfy": ["fulfil", "meet"],
    "satisfies": ["fulfils", "meets"],
    "distinct": ["different"],
    "total": ["overall"],
    "minimum": ["smallest"],
    "maximum": ["largest"],
}
_SYN = re.compile(r"(?<![\\\w])(" + "|".join(sorted(map(re.escape, SYNONYMS), key=len, reverse=True)) + r")(?!\w)",
                  re.I)
_MATH = re.compile(r"\$\$.*?\$\$|\$.*?\$|\\\(.*?\\\)|\\\[.*?\\\]|\[asy\].*?\[/asy\]", re.S)
_INLINE_MATH = re.compile(r"(?<!\$)\$([^$]+)\$(?!\$)|\\\((.*?)\\\)", re.S)
_SENT = re.compile(r"(?<=[.?!])\s+(?=[A-Z])")
_SIMPLE = r"[A-Za-z0-9]+"
_FRAC = re.compile(r"\\[dt]?frac\{(" + _SIMPLE + r")\}\{(" + _SIMPLE + r")\}")
_SUPER = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
_NUMERAL = re.compile(r"(?<![\w.,\\^_{])(\d{1,2})(?![\w.,}])")
_NUMWORD = re.compile(r"(?<!\w)(" + "|".join(_WORDS[2:]) + r")(?!\w)", re.I)


def _outside_math(text: str) -> list[tuple[int, int]]:
    """Spans of the text outside math."""
    out, last = [], 0
    for m in _MATH.finditer(text):
        out.append((last, m.start()))
        last = m.end()
    out.append((last, len(text)))
    return [(a, b) for a, b in out if b > a]


def synonyms(text: str, rng: random.Random, k: int = 3) -> str | None:
    spans = _outside_math(text)
    hits = [m for m in _SYN.finditer(text) if any(a <= m.start() and m.end() <= b for a, b in spans)]
    if not hits:
        return None
    chosen = sorted(rng.sample(hits, min(k, len(hits))), key=lambda m: m.start(), reverse=True)
    for m in chosen:
        old = m.group()
        new = rng.choice(SYNONYMS[old.lower()])
        if old[0].isupper():
            new = new[0].upper() + new[1:]
        text = text[:m.start()] + new + text[m.end():]
    return text


def reorder(text: str, rng: random.Random) -> str | None:
    """Rotate the sentences so the last (the question, usually) comes first."""
    if "$$" in text or "\\[" in text:  # display math spans sentences: keep it whole
        return None
    # sentence breaks outside inline math only
    math = [m.span() for m in _MATH.finditer(text)]
    cuts = [m for m in _SENT.finditer(text) if not any(a < m.start() < b for a, b in math)]
    if not cuts:
        return None
    parts, last = [], 0
    for m in cuts:
        parts.append(text[last:m.start()])
        last = m.end()
    parts.append(text[last:])
    k = rng.randrange(1, len(parts)) if len(parts) > 2 else 1
    return " ".join(parts[-k:] + parts[:-k])


def latex_retype(text: str, rng: random.Random) -> str | None:
    def math(m: re.Match) -> str:
        body = m.group(1) if m.group(1) is not None else m.group(2)
        b = _FRAC.sub(lambda f: f"{f.group(1)}/{f.group(2)}", body)
        b = b.replace("\\cdot", "\\times").replace("\\leq", "<=").replace("\\geq", ">=")
        b = re.sub(r"\\le(?![a-z])", "<=", b)
        b = re.sub(r"\\ge(?![a-z])", ">=", b)
        b = re.sub(r"\^\{?(\d)\}?", lambda s: s.group(1).translate(_SUPER), b)
        b = re.sub(r"\\pi(?![a-z])", "π", b)
        return m.group() if b == body else f"${b}$"

    new = _INLINE_MATH.sub(math, text)
    return new if new != text else None


def number_words(text: str, rng: random.Random) -> str | None:
    spans = _outside_math(text)
    inside = lambda m: any(a <= m.start() and m.end() <= b for a, b in spans)  # noqa: E731
    out = text
    for m in reversed([m for m in _NUMERAL.finditer(text) if inside(m) and int(m.group()) < len(_WORDS)]):
        out = out[:m.start()] + _WORDS[int(m.group())] + out[m.end():]
    if out == text:
        for m in reversed([m for m in _NUMWORD.finditer(text) if inside(m)]):
            out = out[:m.start()] + str(_WORDS.index(m.group().lower())) + out[m.end():]
    return out if out != text else None


def combined(text: str, rng: random.Random) -> str | None:
    t = text
    for f in (synonyms, latex_retype, reorder):
        t = f(t, rng) or t
    return t if t != text else None


def heldout_edits(text: str, rng: random.Random) -> dict[str, str]:
    """edit family -> edited copy, for the families that apply to this text."""
    out = {}
    for name in HELDOUT_EDITS:
        t = globals()[name](text, rng)
        if t is not None and t != text:
            out[name] = t
    return out
