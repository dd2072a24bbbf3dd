"""Answer normalization and the fast path that decides most pairs without sympy.

The fast path only concludes what is certain: equal normalized strings, equal exact numbers (integers with
zero padding, decimals, simple fractions, mixed numbers, thousands separators, `x = 5`, degrees, units in
`\\text{}`), different exact numbers when no percent sign, rounding or irrational value is involved, clock
times, matrices cell by cell, and a number against several values or a word. Everything else goes to
math-verify in a worker process. `canonical_forms` rewrites notations the worker would misread (mixed
numbers, nested-list and array matrices, double-escaped LaTeX) before either looks at an answer."""

from __future__ import annotations

import math
import re
from fractions import Fraction

from .choice import gold_choice
from .conventions import DEFAULT, Conventions

_SPACING = re.compile(r"(?<!\\)\\[!,;: ]|\\(?:q?quad|displaystyle|textstyle|left|right|big|Big|bigg|Bigg)(?![a-zA-Z])"
                      r"|~")
_FRAC_VARIANTS = re.compile(r"\\[dtc]frac(?![a-zA-Z])")
_TEXT_CMD = re.compile(r"\\(?:text|textbf|textit|textrm|textnormal|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}")
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree(?![a-zA-Z])")
_UNIT_WORDS = (r"(?:cm|mm|km|m|kg|g|mg|s|sec|seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|years?|"
               r"inch(?:es)?|in|feet|foot|ft|yards?|miles?|mph|meters?|metres?|units?|dollars?|cents?|"
               r"degrees?|deg|sq\.?\s*\w+|square\s+\w+|cubic\s+\w+|yuan|people|students|ways|points?|"
               r"cups?|lit(?:er|re)s?|ml|gallons?|pounds?|lbs?|ounces?|oz|grams?|tons?|kilomet(?:er|re)s?|"
               r"centimet(?:er|re)s?|millimet(?:er|re)s?|acres?|hectares?|euros?|€|pesos?|rupees?|yen|km/h|m/s)")
_TRAILING_UNIT = re.compile(rf"^(?P<num>.*?[\d}}])\s*(?P<unit>{_UNIT_WORDS}(?:\s*\^\s*\{{?[23]\}}?)?)\.?$",
                            re.IGNORECASE)
_ASSIGN = re.compile(r"^[a-zA-Z](?:_\{?\w+\}?)?\s*=\s*(?=[^=]+$)")
_THOUSANDS = re.compile(r"^-?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?$")  # "0,111" is not thousands
_THOUSANDS_SP = re.compile(r"^-?[1-9]\d{0,2}(?: \d{3})+(?:\.\d+)?$")
_NUM = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)$")
_FRAC = re.compile(r"^(-?)\\frac\{\s*(-?\d+(?:\.\d+)?)\s*\}\{\s*(-?\d+(?:\.\d+)?)\s*\}$")
_FRAC_SHORT = re.compile(r"^(-?)\\frac(\d)(\d)$")
_SLASH = re.compile(r"^(-?\d+)\s*/\s*(-?\d+)$")
_PERCENT = re.compile(r"(?:\\?%|\s*\\text\{\s*percent\s*\}|\s+percent(?:age)?|\s+pct)$")
_DECIMALS = re.compile(r"\.(\d+)")
_DOLLAR = re.compile(r"\\\$\s*|^\$(?=\d)")


_THOUSANDS_MARKUP = re.compile(r"(?<=\d)(?:\{,\}|,\s*\\!|\\,|\\!)\s*(?=\d{3}(?!\d))")
_ROMAN_CONST = re.compile(r"\\(?:mathrm|text|operatorname)\s*\{\s*([ei])\s*\}")
_NEG_SPACE = re.compile(r"\\!")
_NUM_CMD_SPACE = re.compile(r"(?<=\d)\s+(?=\\(?:sqrt|pi|frac|sin|cos|tan|log|ln)(?![a-zA-Z]))")


def clean_markup(ans: str) -> str:
    """Typesetting that never changes the value, removed before any comparison (math-verify included):
    double-escaped LaTeX ("\\\\sqrt{2}"), LaTeX thousands markup ("29,\\!322", "10{,}000", "10\\,000",
    "1 234 567" with thin spaces) and negative thin spaces."""
    ans = _undouble(ans)
    if "\\prime" in ans:  # f^{\prime}(x) is f'(x) (OlympiadBench's special_signal_map does the same)
        ans = _PRIME.sub(lambda m: "'" * m.group(0).count("\\prime"), ans)
    if not ans.isascii():
        ans = ans.translate(_UNICODE_SPACES)
    # \mathrm{e}/\mathrm{i} are the constants; math-verify's unit stripping drops them ("1 - 1/\mathrm{e}" -> 1)
    return _ROMAN_CONST.sub(r"\1", _NEG_SPACE.sub("", _THOUSANDS_MARKUP.sub("", ans)))


_PRIME = re.compile(r"\^\s*(?:\{\s*(?:\\prime\s*)+\}|\\prime)")
_UNICODE_SPACES = str.maketrans({c: " " for c in "\u00a0\u2009\u202f\u2007\u2008\u200a\u205f\u3000"})
_BACKSLASHES = re.compile(r"\\+")


def _undouble(s: str) -> str:
    """An answer whose every backslash is doubled (JSON escaped twice: "\\\\frac{\\\\sqrt{3}}{2}") with its
    backslashes halved. A single-escaped answer has an odd run somewhere ("\\frac", or "\\\\" before "\\end")."""
    if "\\\\" not in s:
        return s
    command = False
    for m in _BACKSLASHES.finditer(s):
        if len(m.group()) % 2:
            return s
        command = command or (len(m.group()) == 2 and s[m.end():m.end() + 1].isalpha())
    return _BACKSLASHES.sub(lambda m: "\\" * (len(m.group()) // 2), s) if command else s


# ---- notations rewritten before any comparison -----------------------------------------------------------

_MIXED_SLASH = re.compile(r"^(-?)(\d+)\s+(\d+)\s*/\s*(\d+)$")
_MIXED_FRAC = re.compile(r"^(-?)(\d+)\s*\\[dt]?frac\s*(?:\{\s*(\d+)\s*\}\s*\{\s*(\d+)\s*\}|(\d)(\d))$")


def mixed_number(s: str) -> Fraction | None:
    """The value of a mixed number, "2 3/4" or "2\\frac{3}{4}" = 11/4 (the PRM800K grader's implicit mixed
    numbers; MATH references write them "6\\frac15"): a proper fraction after a whole number."""
    m = _MIXED_SLASH.match(s) or _MIXED_FRAC.match(s)
    if not m:
        return None
    sign, whole, a, b = m.group(1), m.group(2), m.group(3), m.group(4)
    if a is None:
        a, b = m.group(5), m.group(6)
    a, b, w = int(a), int(b), int(whole)
    if not 0 < a < b or len(whole) > 12:
        return None
    v = w + Fraction(a, b)
    return -v if sign else v


_ARRAY = re.compile(r"(?:\\left\s*)?[(\[]?\s*\\begin\{array\}\s*\{[^{}]*\}(.*?)\\end\{array\}\s*(?:\\right\s*)?[)\]]?",
                    re.DOTALL)
_ROW_SPACING = re.compile(r"(?<!\\)\\\\\s*\[\s*-?\d*\.?\d+\s*(?:pt|em|ex|mm|cm|in|bp)\s*\]")
_NESTED_LIST = re.compile(r"^\[\s*\[(.*)\]\s*\]$", re.DOTALL)


def _nested_list_matrix(s: str) -> str | None:
    """"[[1, 2], [3, 4]]" as a pmatrix (rows of equal length, no brackets inside the cells)."""
    m = _NESTED_LIST.match(s)
    if not m:
        return None
    rows = re.split(r"\]\s*,\s*\[", m.group(1))
    cells = [[c.strip() for c in r.split(",")] for r in rows]
    if len(cells) < 1 or any("[" in c or "]" in c or not c for r in cells for c in r) \
            or len({len(r) for r in cells}) != 1 or (len(cells) == 1 and len(cells[0]) == 1):
        return None
    return "\\begin{pmatrix}" + " \\\\ ".join(" & ".join(r) for r in cells) + "\\end{pmatrix}"


def canonical_forms(ans: str) -> str:
    """Notations the worker would misread, in the form it reads: a whole-answer mixed number as an
    improper fraction, a nested list / array / bmatrix / matrix as a pmatrix (Qwen2.5-Math's strip_string
    does the same with array and bmatrix), row spacing `\\\\[2pt]` dropped."""
    s = ans.strip()
    v = mixed_number(s)
    if v is not None:
        return f"{'-' if v < 0 else ''}\\frac{{{abs(v.numerator)}}}{{{v.denominator}}}"
    if s.startswith("[["):
        return _nested_list_matrix(s) or ans
    if "\\begin" in s:
        s = _ARRAY.sub(lambda m: "\\begin{pmatrix}" + m.group(1) + "\\end{pmatrix}", s)
        s = re.sub(r"\\(begin|end)\{[bB]?matrix\}", r"\\\1{pmatrix}", s)
        s = _ROW_SPACING.sub(lambda m: "\\\\", s)
        return s
    return ans


_CURRENCY = re.compile(r"^(?:dollars?|cents?|euros?|€|pesos?|rupees?|yen|yuan)$", re.IGNORECASE)


def has_known_unit(ans: str) -> bool:
    """Whether `ans` is a value followed by a unit the normalizer knows ("5 cm", "45 degrees"); a currency
    is not kept ("42 euros" is 42)."""
    m = _TRAILING_UNIT.match(ans.strip())
    return m is not None and not _CURRENCY.match(m.group("unit").strip())


_DEF_LHS = re.compile(r"^(?:[A-Za-z]|\\[a-zA-Z]+)(?:_\{?[\w\\]+\}?)?'*(?:\(\s*[A-Za-z](?:\s*,\s*[A-Za-z])*\s*\))?$")
_RELATION = re.compile(r"[=<>≤≥≠]|\\(?:le|ge|ne|leq|geq|neq|lt|gt|in|approx|sim|equiv)(?![a-zA-Z])")


def split_definition(ans: str) -> tuple[str, str] | None:
    """(name, value) of an answer that defines one name: "y = t^2", "g(t) = t^2", "a_n = 2^n", "\\theta = \\pi/4"
    (one "=", a plain name on its left)."""
    if ans.count("=") != 1 or len(ans) > 2000:
        return None
    lhs, rhs = ans.split("=")
    if lhs[-1:] in "<>!:\\" or not rhs.strip() or _RELATION.search(rhs):
        return None
    lhs = lhs.strip()
    return (lhs, rhs.strip()) if _DEF_LHS.match(lhs) else None


def has_relation(ans: str) -> bool:
    return _RELATION.search(ans) is not None


_DIGIT_SPACE_VAR = re.compile(r"(?<=\d) (?=[a-zA-Z](?![a-zA-Z]))")


def _outer_braces(s: str) -> str:
    """"{24 + 6\\sqrt{2}}" -> "24 + 6\\sqrt{2}": a group around the whole answer is only grouping."""
    while len(s) > 2 and s[0] == "{" and s[-1] == "}":
        depth = 0
        for i, c in enumerate(s):
            depth += (c == "{") - (c == "}")
            if depth == 0 and i < len(s) - 1:
                return s
        s = s[1:-1].strip()
    return s


def normalize(ans: str) -> str:
    """A canonical string for an extracted answer (used for exact comparison and shown to users)."""
    s = _outer_braces(ans.strip())
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
    s = _DIGIT_SPACE_VAR.sub("", s.rstrip(".").strip())  # "2 x^3" is 2x^3
    # remove spaces around operators / punctuation, they never change the meaning
    s = re.sub(r"\s*([=+\-*/^_;:()\[\]{}<>|])\s*", r"\1", s)
    # "1, 2" -> "1,2", but "32, 349" keeps its space: it is two values, not a thousands separator
    s = re.sub(r"\s*,(?:\s+(?!\d{3}(?!\d)))?", ",", s)
    if s.startswith("((") and s.endswith("))") and _one_group(s[1:-1]):
        s = s[1:-1]  # "\\left( (4,5) \\right)": the same tuple
    return s


def _one_group(s: str) -> bool:
    """Whether s is one parenthesized group: "(4,5)" yes, "(1,2),(3,4)" no."""
    depth = 0
    for i, c in enumerate(s):
        depth += (c in "([{") - (c in ")]}")
        if depth == 0 and i < len(s) - 1:
            return False
    return depth == 0


_NUM_WORDS = re.compile(r"^(?P<num>[-+]?[\d.,/]+)\s+(?P<words>[A-Za-z]{2,}(?: [A-Za-z]{2,}){0,3})$")
_NOT_UNITS = {"and", "or", "pi", "sqrt", "frac", "cdot", "times", "infty", "inf", "sin", "cos", "tan", "log", "ln",
              "exp", "mod", "choose", "over", "plus", "minus", "divided", "squared", "cubed", "root", "to", "of"}


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
    else:
        m = _NUM_WORDS.match(t)  # "65 children tickets": simple-evals gives units the benefit of the doubt
        if m and not any(w.lower() in _NOT_UNITS for w in m.group("words").split()):
            t = m.group("num").strip()
    if (t.startswith("{") and t.endswith("}")) or (t.startswith("(") and t.endswith(")") and "," not in t):
        t = t[1:-1].strip()
    if _THOUSANDS.match(t):
        t = t.replace(",", "")
    elif _THOUSANDS_SP.match(t):
        t = t.replace(" ", "")
    mixed = mixed_number(t)
    if mixed is not None:
        return mixed, True, pct
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


_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(?:([ap])\.?\s*m\.?)?$", re.IGNORECASE)


def _time_readings(s: str) -> tuple[set[int], bool] | None:
    """The seconds after midnight a clock time can mean, and whether it is explicit (seconds or am/pm).
    "7:05 PM" -> {68700}; "7:05" -> 7:05 or 19:05 (a 12-hour reading); "07:05" and "19:05" one reading."""
    m = _TIME.match(s)
    if not m:
        return None
    hs, ms, ss, ap = m.groups()
    h, mi, se = int(hs), int(ms), int(ss or 0)
    if mi >= 60 or se >= 60 or h > 24 or (ap and not 1 <= h <= 12):
        return None
    if ap:
        return {((h % 12) + (12 if ap.lower() == "p" else 0)) * 3600 + mi * 60 + se}, True
    t = (h % 24) * 3600 + mi * 60 + se
    readings = {t}
    if 1 <= h <= 12 and not hs.startswith("0"):
        readings |= {(h % 12) * 3600 + mi * 60 + se, (h % 12 + 12) * 3600 + mi * 60 + se}
    return readings, ss is not None


def _compare_times(gold_norm: str, pred_norm: str) -> str | None:
    """Clock times (the MATH references write "4:51:06 p.m.", "\\text{1:03 PM}"): "7:05" = "7:05:00",
    "19:05" = "7:05 PM"; only when one side has seconds or am/pm (plain "7:32" may be a ratio)."""
    g, p = _time_readings(gold_norm), _time_readings(pred_norm)
    if g is None or p is None or not (g[1] or p[1]):
        return None
    if len(g[0]) > 1 and len(p[0]) > 1:  # neither has am/pm: both read on the same clock
        return "correct" if min(g[0]) == min(p[0]) and max(g[0]) == max(p[0]) else "incorrect"
    return "correct" if g[0] & p[0] else "incorrect"


_MATRIX = re.compile(r"^\\begin\{pmatrix\}(.*)\\end\{pmatrix\}$", re.DOTALL)


def split_top(s: str, sep: str) -> list[str]:
    out, depth, start, i = [], 0, 0, 0
    while i < len(s):
        c = s[i]
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
        elif depth == 0 and s.startswith(sep, i):
            out.append(s[start:i])
            i += len(sep)
            start = i
            continue
        i += 1
    out.append(s[start:])
    return out


def _matrix_cells(s: str) -> list[list[str]] | None:
    m = _MATRIX.match(s)
    if not m or "\\begin" in m.group(1):
        return None
    rows = [r for r in split_top(m.group(1), "\\\\") if r.strip()]
    return [[c.strip() for c in split_top(r, "&")] for r in rows] or None


def _compare_matrices(gold_norm: str, pred_norm: str, conv: Conventions) -> str | None:
    """pmatrix against pmatrix cell by cell (Qwen2.5-Math `compare_matrices`): a different shape or a cell
    that is certainly different -> incorrect; every cell certainly equal -> correct; else undecided."""
    g, p = _matrix_cells(gold_norm), _matrix_cells(pred_norm)
    if g is None or p is None:
        return None
    if [len(r) for r in g] != [len(r) for r in p]:
        return "incorrect"
    undecided = False
    for gr, pr in zip(g, p):
        for a, b in zip(gr, pr):
            v, _ = fast_compare(a, b, conv)
            if v == "incorrect":
                return "incorrect"
            undecided = undecided or v != "correct"
    return None if undecided else "correct"


def _unit(s: str) -> str | None:
    m = _TRAILING_UNIT.match(s)
    if not m:
        return None
    u = re.sub(r"\s+", " ", m.group("unit").lower().rstrip("."))
    return {"inch": "inches", "foot": "feet", "metre": "meter"}.get(u.rstrip("s"), u.rstrip("s"))


def fast_compare(gold_norm: str, pred_norm: str, conv: Conventions = DEFAULT) -> tuple[str | None, str | None]:
    """(verdict, method) when certain without sympy, else (None, None)."""
    if gold_norm == pred_norm and gold_norm:
        return "correct", "exact"
    # "x=5" against "5" (either side): the value is the right-hand side (math-verify unwraps it the same way)
    for a, b in ((gold_norm, pred_norm), (pred_norm, gold_norm)):
        m = _SIMPLE_ASSIGN.match(b)
        if m and "=" not in a and m.group("rhs") == a:
            return "correct", "exact"
    if ":" in gold_norm and ":" in pred_norm:
        t = _compare_times(gold_norm, pred_norm)
        if t:
            return t, "time"
    if "matrix" in gold_norm and "matrix" in pred_norm:
        t = _compare_matrices(gold_norm, pred_norm, conv)
        if t:
            return t, "structure"
    if conv.units == "match":
        gu, pu = _unit(gold_norm), _unit(pred_norm)
        if gu and pu and gu != pu:
            return "incorrect", "units"
    g, p = _to_number(gold_norm), _to_number(pred_norm)
    if gold_choice(pred_norm) and g is not None:
        return "incorrect", "structure"  # a choice letter against a number
    if (g is not None and p is None and _multi_valued(pred_norm)) or \
            (p is not None and g is None and _multi_valued(gold_norm)):
        return "incorrect", "structure"  # one number against several values
    if (g is not None and _WORDS_ONLY.match(pred_norm)) or (p is not None and _WORDS_ONLY.match(gold_norm)):
        return "incorrect", "structure"  # a number against a word answer ("ellipse", "Evelyn", "even")
    if g is None or p is None:
        return _eval_reject(gold_norm, pred_norm, g, p)
    (gv, g_exact, g_pct), (pv, p_exact, p_pct) = g, p
    if g_pct or p_pct:
        if conv.percent == "fraction":  # 10% is 0.1
            gv, pv = gv / 100 if g_pct else gv, pv / 100 if p_pct else pv
        elif conv.percent == "either" and gv != pv:
            if (g_pct and gv / 100 == pv) or (p_pct and pv / 100 == gv):
                return "correct", "numeric"  # 10% vs 0.1 (Qwen2.5-Math include_percentage)
    if gv == pv:
        return "correct", "numeric"
    if (g_pct or p_pct) and conv.percent == "either":
        if g_exact and p_exact:
            return "incorrect", "numeric"  # neither 7% = 36 nor 0.07 = 36
        return None, None  # 12.5% vs 0.125 rounded: math-verify's percent handling decides
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


def _eval_reject(gold_norm: str, pred_norm: str, g=None, p=None) -> tuple[str | None, str | None]:
    """Both sides closed-form constants with clearly different values -> incorrect; a constant against a
    tuple/interval/set, a relation, a base-b numeral of another value or an expression whose value changes
    with its variables -> incorrect; an expression against a tuple/interval/set, or a word answer against
    formulas -> incorrect; else undecided."""
    gv = float(g[0]) if g is not None and not g[2] else eval_constant(gold_norm)
    pv = float(p[0]) if p is not None and not p[2] else eval_constant(pred_norm)
    if (gv is None) != (pv is None):
        other, value = (pred_norm, gv) if pv is None else (gold_norm, pv)
        if _multi_valued(other) or _other_relation(other, value):
            return "incorrect", "structure"
        b = base_numeral(other)
        if b is not None and abs(b - value) > 1e-9 * max(1.0, abs(value)):
            return "incorrect", "numeric"
        if _nonconstant(other):
            return "incorrect", "numeric_eval"
    for a, b in ((gold_norm, pred_norm), (pred_norm, gold_norm)):
        if gv is None and pv is None and _multi_valued(a) and not _multi_valued(b) and _nonconstant(b):
            return "incorrect", "structure"  # "y = 2x + 3" against "(-2, 1)"
        if _WORDS_ONLY.match(a) and not _PROSE.search(_TEX_CMD.sub("", b)) and any(c.isdigit() for c in b):
            return "incorrect", "structure"  # "even" against "5+6\\sqrt{2}"
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

_TOKEN = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+|\\frac|\\sqrt|\\pi|\\cdot|\\times|[-+*/^(){}\[\]]|[a-zA-Z])")


class _Eval:
    """Evaluates +, -, *, /, ^ (small exponents), \\frac, \\sqrt, \\pi and implicit products of numbers.
    Anything else (variables, functions, commas, %) -> None. Used only to reject clearly different values
    fast; equal-looking values are still proven by math-verify."""

    def __init__(self, s: str, env: dict[str, float] | None = None):
        self.env = env or {}
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
            elif t is not None and (t[0].isdigit() or t[0] == "." or t[0].isalpha()
                                    or t in ("\\frac", "\\sqrt", "\\pi", "(", "{")):
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
        if t.isalpha():  # a variable (only where env gives it a value)
            if t not in self.env:
                raise ValueError("variable")
            return self.env[t]
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


def _other_relation(s: str, value: float) -> bool:
    """One relation ("x^2/16 - y^2/9 = 1", "x \\in [-2, 7]") whose right side is not `value`: a relation is
    not a number. A chain ("1 = \\zzz = x = 0") or a right side equal to the number is left to math-verify."""
    rel = _RELATION.findall(s)
    if len(rel) != 1:
        return False
    rhs = _RELATION.split(s, maxsplit=1)[1].strip()
    r = _to_number(rhs)
    v = float(r[0]) if r is not None else eval_constant(rhs)
    return v is None or abs(v - value) > 1e-9 * max(1.0, abs(value))


_BASE = re.compile(r"^([0-9A-Za-z]+)_\{?(\d{1,2})\}?$")
_TEX_CMD = re.compile(r"\\[a-zA-Z]+")


def base_numeral(s: str) -> int | None:
    """The value of a numeral written in base b ("52_8" = 42, "152A_{11}"), or None."""
    m = _BASE.match(s)
    if not m:
        return None
    base = int(m.group(2))
    if not 2 <= base <= 36:
        return None
    try:
        return int(m.group(1), base)
    except ValueError:
        return None


_VARIABLE = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z](?![a-zA-Z])")


def _nonconstant(s: str) -> bool:
    """Whether `s` is an expression in single-letter variables (no words, no i) whose value differs at two
    points: then it is no constant. A failure to evaluate says nothing."""
    names = set(_VARIABLE.findall(s))
    if not names or len(names) > 4 or names & {"e", "i"} or _PROSE.search(s) or len(s) > 200 or _MIXED.search(s):
        return False
    values = []
    for base, step in ((3.5731, 0.1317), (5.4123, 0.2311)):
        env = {n: base + k * step for k, n in enumerate(sorted(names))}
        try:
            e = _Eval(s, env)
            v = e.expr()
            if e.peek() is not None or not math.isfinite(v):
                return False
        except (ValueError, ZeroDivisionError, OverflowError, RecursionError, TypeError):
            return False
        values.append(v)
    return abs(values[0] - values[1]) > 1e-6 * max(1.0, abs(values[0]), abs(values[1]))


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
