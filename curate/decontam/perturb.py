"""Edited copies of benchmark problems, for measuring what decontamination catches (bench and tests).

`light_edits` makes the edits a careless or deliberate copy makes: whitespace, `$..$` to `\\(..\\)`,
`\\frac` to `\\dfrac`, an added instruction before or after, one word outside math replaced.
`change_numbers` replaces every digit run with a different number of the same length."""

from __future__ import annotations

import random
import re

PREFIXES = ("Solve the following problem. ", "Solve the following math problem step by step. ")
SUFFIXES = (" Put your answer in \\boxed{}.", " Please reason step by step, and put your final answer within \\boxed{}.")
REPLACEMENTS = ("number", "value", "point", "set", "line", "circle", "integer", "sum", "real", "positive")
_WORD = re.compile(r"(?<![\\\w])[A-Za-z]{4,}(?!\w)")
_MATH = re.compile(r"\$\$.*?\$\$|\$.*?\$|\\\(.*?\\\)|\\\[.*?\\\]|\[asy\].*?\[/asy\]", re.S)
LIGHT_EDITS = ("whitespace", "dollar_paren", "dfrac", "prefix", "suffix", "one_word")


def light_edits(text: str, rng: random.Random) -> dict[str, str]:
    """edit name -> edited copy (one_word is absent when the text has no word outside math)."""
    out = {
        "whitespace": re.sub(r" ", lambda m: rng.choice(["  ", " ", "\n", " \t"]), text),
        "dollar_paren": re.sub(r"(?<!\$)\$([^$]+)\$(?!\$)", lambda m: r"\(" + m.group(1) + r"\)", text),
        "dfrac": text.replace("\\frac", "\\dfrac"),
        "prefix": rng.choice(PREFIXES) + text,
        "suffix": text + rng.choice(SUFFIXES),
    }
    math = [m.span() for m in _MATH.finditer(text)]
    words = [m for m in _WORD.finditer(text) if not any(a <= m.start() < b for a, b in math)]
    if words:
        m = rng.choice(words)
        new = rng.choice([w for w in REPLACEMENTS if w != m.group().lower()])
        out["one_word"] = text[:m.start()] + new + text[m.end():]
    return out


def change_numbers(text: str, rng: random.Random) -> str | None:
    """Every digit run replaced by a different one of the same length; None if the text has no digits."""
    def rep(m: re.Match) -> str:
        s = m.group()
        lo = 10 ** (len(s) - 1) if len(s) > 1 else 0
        while True:
            new = str(rng.randint(lo, 10 ** len(s) - 1))
            if new != s:
                return new

    new = re.sub(r"\d+", rep, text)
    return new if new != text else None
