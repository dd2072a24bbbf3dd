"""Answer normalization and the fast path that decides most pairs without sympy.

The fast path only concludes what is certain: equal normalized strings, equal exact numbers (integers with
zero padding, decimals, simple fractions, thousands separators, `x = 5`, degrees, units in `\\text{}`),
different exact numbers when no percent sign, rounding or irrational value is involved, and
multiple-choice letters. Everything else goes to math-verify in a worker process."""

from __future__ import annotations

import math
import re
from fractions import Fraction

from .extract import is_choice

_SPACING = re.compile(r"\\[!,;: ]|\\(?:q?quad|displaystyle|textstyle|left|right|big|Big|bigg|Bigg)(?![a-zA-Z])|~")
_FRAC_VARIANTS = re.compile(r"\\[dtc]frac(?![a-zA-Z])")
_TEXT_CMD = re.compile(r"\\(?:text|textbf|textit|textrm|textnormal|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}")
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree(?![a-zA-Z])")
_UNIT_WORDS = (r"(?:cm|mm|km|m|kg|g|mg|s|sec|seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|years?|"
               r"inch(?:es)?|in|feet|foot|ft|yards?|miles?|mph|meters?|metres?|units?|dollars?|cents?|"
               r"degrees?|deg|sq\.?\s*\w+|square\s+\w+|cubic\s+\w+|yuan|people|students|ways|points?)")
_TRAILING_UNIT = re.compile(rf"^(?P<num>.*?[\d}}])\s*(?:{_UNIT_WORDS})(?:\s*\^\s*\{{?[23]\}}?)?\.?$", re.IGNORECASE)
_ASSIGN = re.compile(r"^[a-zA-Z](?:_\{?\w+\}?)?\s*=\s*(?=[^=]+$)")
_THOUSANDS = re.compile(r"^-?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?$")  # "0,111" is not thousands
_THOUSANDS_SP = re.compile(r"^-?[1-9]\d{0,2}(?: \d{3})+(?:\.\d+)?$")
_NUM = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)$")
_FRAC = re.compile(r"^(-?)\\frac\{\s*(-?\d+(?:\.\d+)?)\s*\}\{\s*(-?\d+(?:\.\d+)?)\s*\}$")
_FRAC_SHORT = re.compile(r"^(-?)\\frac(\d)(\d)$")
_SLASH = re.compile(r"^(-?\d+)\s*/\s*(-?\d+)$")
_PERCENT = re.compile(r"(?:\\?%|\s*\\text\{\s*percent\s*\}|\s+percent(?:age)?|\s+pct)$")
_DECIMALS = re.compile(r"\.(\d+)")
_DOLLAR = re.compile(r"^\\\$\s*|^\$(?=\d)|\\\$$")


_THOUSANDS_MARKUP = re.compile(r"(?<=\d)(?:\{,\}|,\s*\\!|\\,|\\!)\s*(?=\d{3}(?!\d))")
_ROMAN_CONST = re.compile(r"\\(?:mathrm|text|operatorname)\s*\{\s*([ei])\s*\}")
_NEG_SPACE = re.compile(r"\\!")
_NUM_CMD_SPACE = re.compile(r"(?<=\d)\s+(?=\\(?:sqrt|pi|frac|sin|cos|tan|log|ln)(?![a-zA-Z]))")


def clean_markup(ans: str) -> str:
    """Typesetting that never changes the value, removed before any comparison (math-verify included):
    LaTeX thousands markup ("29,\\!322", "10{,}000", "10\\,000") and negative thin spaces."""
    # \mathrm{e}/\mathrm{i} are the constants; math-verify's unit stripping drops them ("1 - 1/\mathrm{e}" -> 1)
    return _ROMAN_CONST.sub(r"\1", _NEG_SPACE.sub("", _THOUSANDS_MARKUP.sub("", ans)))


def normalize(ans: str) -> str:
    """A canonical string for an extracted answer (used for exact comparison and shown to users)."""
    s = ans.strip()
    s = s.replace("\\\\", " ") if s.count("\\\\") and "matrix" not in s and "array" not in s else s
    s = _SPACING.sub(" ", clean_markup(s))
    s = _NUM_CMD_SPACE.sub("", s)
    s = _FRAC_VARIANTS.sub(r"\\frac", s)
    s = s.replace("{,}", ",").replace("\\{,\\}", ",")
    s = _DEGREE.sub("", s)
    s = _DOLLAR.sub("", s)
    # \text{...} -> its content; repeated for nesting like \text{\textbf{C}}
    for _ in range(3):
        t = _TEXT_CMD.sub(r"\1", s)
        if t == s:
            break
        s = t
    s = s.replace("\\le ", "\\leq ").replace("\\ge ", "\\geq ").replace("\\leqslant", "\\leq")
    s = s.replace("\\geqslant", "\\geq").replace("≤", "\\leq ").replace("≥", "\\geq ")
    s = " ".join(s.split())
    s = s.rstrip(".").strip()
    # remove spaces around operators / punctuation, they never change the meaning
    s = re.sub(r"\s*([=+\-*/^_;:()\[\]{}<>|])\s*", r"\1", s)
    # "1, 2" -> "1,2", but "32, 349" keeps its space: it is two values, not a thousands separator
    s = re.sub(r"\s*,(?:\s+(?!\d{3}(?!\d)))?", ",", s)
    return s


def _to_number(s: str) -> tuple[Fraction, bool, bool] | None:
    """(value, is_exact_literal, has_percent) for a plain number, or None. is_exact_literal is False for
    decimals (they may be roundings of an irrational or repeating value)."""
    t = s.strip()
    if len(t) > 400:  # long answers are never plain numbers; keep the regexes linear in practice
        return None
    pct = False
    m = _PERCENT.search(t)
    if m:
        t = t[:m.start()].strip()
        pct = True
    m = _ASSIGN.match(t)
    if m:
        t = t[m.end():].strip()
    m = _TRAILING_UNIT.match(t)
    if m:
        t = m.group("num").strip()
    if t.startswith("{") and t.endswith("}"):
        t = t[1:-1].strip()
    if _THOUSANDS.match(t):
        t = t.replace(",", "")
    elif _THOUSANDS_SP.match(t):
        t = t.replace(" ", "")
    try:
        if _NUM.match(t):
            return Fraction(t), "." not in t, pct
        m = _FRAC.match(t) or _FRAC_SHORT.match(t)
        if m:
            sign, a, b = m.groups()
            v = Fraction(a) / Fraction(b)
            return (-v if sign else v), "." not in a + b, pct
        m = _SLASH.match(t)
        if m:
            return Fraction(int(m.group(1)), int(m.group(2))), True, pct
    except (ValueError, ZeroDivisionError):
        return None
    return None


_SIMPLE_ASSIGN = re.compile(r"^[a-zA-Z](?:_\{?\w+\}?)?=(?P<rhs>[^=<>]+)$")


_WORDS_ONLY = re.compile(r"^(?!(?:pi|inf|infinity|infty)$)[A-Za-z]{2,}(?: [A-Za-z]{2,})*$", re.IGNORECASE)
_PLAIN_MATH = re.compile(r"^[\w\\{}()\[\],.+\-*/^ &]+$")
_ENV = re.compile(r"\\(?:begin|end)\{[a-z]*\}")
_PROSE = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{2,}")


def _multi_valued(s: str) -> bool:
    """An interval, tuple, set, union or matrix: never equal to one plain number. Only for clean math
    (no prose, no stray '$'): anything else is left to math-verify."""
    bare = _ENV.sub("", s)
    if not _PLAIN_MATH.match(s) or _PROSE.search(bare):
        return False
    if "\\cup" in s or "matrix" in s:
        return True
    depth = 0
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth <= 1 and (s[:1] in "([" or depth == 0):
            return True
    return False


def fast_compare(gold_norm: str, pred_norm: str) -> tuple[str | None, str | None]:
    """(verdict, method) when certain without sympy, else (None, None)."""
    if gold_norm == pred_norm and gold_norm:
        return "correct", "exact"
    # "x=5" against "5" (either side): the value is the right-hand side (math-verify unwraps it the same way)
    for a, b in ((gold_norm, pred_norm), (pred_norm, gold_norm)):
        m = _SIMPLE_ASSIGN.match(b)
        if m and "=" not in a and m.group("rhs") == a:
            return "correct", "exact"
    gc, pc = is_choice(gold_norm), is_choice(pred_norm)
    if gc and pc:
        return ("correct" if gc == pc else "incorrect"), "choice"
    g, p = _to_number(gold_norm), _to_number(pred_norm)
    if (gc and p is not None) or (pc and g is not None):
        return "incorrect", "structure"  # a choice letter against a number
    if (g is not None and p is None and _multi_valued(pred_norm)) or \
            (p is not None and g is None and _multi_valued(gold_norm)):
        return "incorrect", "structure"  # one number against several values
    if (g is not None and _WORDS_ONLY.match(pred_norm)) or (p is not None and _WORDS_ONLY.match(gold_norm)):
        return "incorrect", "structure"  # a number against a word answer ("ellipse", "Evelyn", "even")
    if g is None or p is None:
        return _eval_reject(gold_norm, pred_norm)
    (gv, g_exact, g_pct), (pv, p_exact, p_pct) = g, p
    if gv == pv:
        return "correct", "numeric"
    if g_pct or p_pct:
        return None, None  # 10% vs 0.1: math-verify's percent handling decides
    if g_exact and p_exact:
        return "incorrect", "numeric"
    if not g_exact and not p_exact:
        return "incorrect", "numeric"  # two different decimal literals
    # a decimal against an exact value: wrong unless it is a rounding of it (math-verify decides then)
    dec = pv if not p_exact else gv
    exact = gv if p_exact is False else pv
    m = _DECIMALS.search(pred_norm if not p_exact else gold_norm)
    digits = len(m.group(1)) if m else 0
    if abs(float(exact - dec)) > 10 ** (-min(digits, 12)):
        return "incorrect", "numeric"
    return None, None


def _eval_reject(gold_norm: str, pred_norm: str) -> tuple[str | None, str | None]:
    """Both sides closed-form constants with clearly different values -> incorrect; else undecided."""
    gv, pv = eval_constant(gold_norm), eval_constant(pred_norm)
    if gv is None or pv is None:
        return None, None
    scale = max(abs(gv), abs(pv), 1e-300)
    if abs(gv - pv) / scale <= 1e-6:
        return None, None
    for s, other in ((pred_norm, gv), (gold_norm, pv)):  # "1.414" may be a rounding of \sqrt{2}
        m = re.fullmatch(r"-?\d*\.(\d+)", s)
        if m and abs(float(s) - other) <= 0.5 * 10 ** -len(m.group(1)) + 1e-12:
            return None, None
    return "incorrect", "numeric_eval"


# ---- a tiny evaluator for closed-form constants (reject-only) ------------------------------------------

_TOKEN = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+|\\frac|\\sqrt|\\pi|\\cdot|\\times|[-+*/^(){}\[\]])")


class _Eval:
    """Evaluates +, -, *, /, ^ (small exponents), \\frac, \\sqrt, \\pi and implicit products of numbers.
    Anything else (variables, functions, commas, %) -> None. Used only to reject clearly different values
    fast; equal-looking values are still proven by math-verify."""

    def __init__(self, s: str):
        self.toks: list[str] = []
        pos = 0
        while pos < len(s):
            m = _TOKEN.match(s, pos)
            if not m:
                raise ValueError("token")
            self.toks.append(m.group(1))
            pos = m.end()
            while pos < len(s) and s[pos] == " ":
                pos += 1
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, t=None):
        tok = self.peek()
        if tok is None or (t is not None and tok != t):
            raise ValueError("syntax")
        self.i += 1
        return tok

    def expr(self) -> float:
        v = self.term()
        while self.peek() in ("+", "-"):
            v = v + self.term() if self.take() == "+" else v - self.term()
        return v

    def term(self) -> float:
        v = self.factor()
        while True:
            t = self.peek()
            if t in ("*", "/", "\\cdot", "\\times"):
                self.take()
                r = self.factor()
                v = v / r if t == "/" else v * r
            elif t is not None and (t[0].isdigit() or t[0] == "." or t in ("\\frac", "\\sqrt", "\\pi", "(", "{")):
                v = v * self.factor()
            else:
                return v

    def factor(self) -> float:
        if self.peek() in ("-", "+"):
            return -self.factor() if self.take() == "-" else self.factor()
        base = self.atom()
        if self.peek() == "^":
            self.take()
            e = self.atom() if self.peek() != "-" else -(self.take() and self.atom())
            if abs(e) > 64 or abs(base) > 1e6:
                raise ValueError("too large")
            return float(base) ** e
        return base

    def group(self) -> float:
        self.take("{")
        v = self.expr()
        self.take("}")
        return v

    def atom(self) -> float:
        t = self.take()
        if t[0].isdigit() or t[0] == ".":
            return float(t)
        if t == "\\pi":
            return math.pi
        if t == "\\frac":
            if self.peek() == "{":
                return self.group() / self.group()
            a = self.take()  # \frac34
            if not a.isdigit():
                raise ValueError("syntax")
            return float(a[0]) / float(a[1:]) if len(a) == 2 else float(a) / self.atom()
        if t == "\\sqrt":
            n = 2.0
            if self.peek() == "[":
                self.take("[")
                n = self.expr()
                self.take("]")
            x = self.group() if self.peek() == "{" else self.atom()
            if x < 0 or n <= 0:
                raise ValueError("domain")
            return x ** (1.0 / n)
        if t in ("(", "{"):
            v = self.expr()
            self.take(")" if t == "(" else "}")
            return v
        raise ValueError("syntax")


_MIXED = re.compile(r"\d\s*\\frac")


def eval_constant(s: str) -> float | None:
    if len(s) > 200 or not s or _MIXED.search(s):  # "1\frac{4}{5}" may be the mixed number 1 4/5
        return None
    try:
        e = _Eval(s)
        v = e.expr()
        if e.peek() is not None or not math.isfinite(v):
            return None
        return v
    except (ValueError, ZeroDivisionError, OverflowError, RecursionError, TypeError):
        return None
