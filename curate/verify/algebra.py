"""A bounded algebra check for pairs math-verify calls different (runs in the worker, under its hard limit).

math-verify compares expressions with symbols structurally after simplification, so `(1+i)^2` vs `2i` (it reads
`i` as a variable), `x^{5/2}` vs `x^2\\sqrt{x}` or `\\frac{1}{x(x+1)}` vs `\\frac{1}{x} - \\frac{1}{x+1}` may come
back different. Here the two expressions are compared at fixed points (the PRM800K / lm-evaluation-harness
habit is `simplify(a - b) == 0`; sampling at points is the bounded form of it, and Qwen2.5-Math's
`symbolic_equal` ends with a numeric comparison too):

- `i` is the imaginary unit when it is the only symbol on either side (`-2+2i` vs `(1+i)^3`; MATH's complex
  number answers), and then the two values are compared exactly (or to 50 digits);
- otherwise both sides must have the same free symbols (at most 3; `2x` vs `2t` is not decided here), no
  unevaluated integrals, sums, limits or derivatives, and at most 400 operations;
- each point gives every symbol a different rational value (positive and negative, none an integer: `sin(pi x)`
  is zero at every integer); a point where a side is undefined (a pole) is skipped; values are compared
  exactly when both are rational, else to 40 digits with a relative tolerance of 1e-25, complex values
  included (principal branches: `\\sqrt{x^2}` vs `x` and `|x|` vs `x` differ at negative points);
- equal means equal at every one of at least 5 defined points out of 8; one point that differs means not equal.

It only ever turns "different" into "equal" (method `mathverify+algebra`); it never rejects what math-verify
accepted. Functions that agree everywhere except at isolated points (`\\frac{x^2-1}{x-1}` and `x+1`) are equal
here, as under `simplify`."""

from __future__ import annotations

from fractions import Fraction

_TOLERANCE_EXP = -25
_DIGITS = 40
_MIN_POINTS = 5
_MAX_SYMBOLS = 3
_MAX_OPS = 400


def _points() -> list[list[Fraction]]:
    """8 points x 3 symbols of distinct non-integer rationals in (-3, 3), fixed (a tiny LCG): the same for
    every check, so a verdict never depends on the run."""
    out, state = [], 12345
    dens = (97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151)
    for j in range(8):
        row = []
        for k in range(_MAX_SYMBOLS):
            state = (state * 1103515245 + 12345) % 2**31
            den = dens[(j * _MAX_SYMBOLS + k) % len(dens)]
            num = state % (6 * den) - 3 * den
            if num % den == 0:
                num += 1
            row.append(Fraction(num, den))
        out.append(row)
    return out


POINTS = _points()


def _finite(v) -> bool:
    from sympy import S

    return bool(v.is_number) and not v.has(S.NaN, S.ComplexInfinity, S.Infinity, S.NegativeInfinity)


def algebra_equal(g, p) -> bool | None:
    """True when the two sympy expressions are equal by the rules above, False when a point tells them
    apart, None when this check does not apply."""
    from sympy import Derivative, Expr, I, Integral, Limit, Product, Rational, Sum, Symbol, count_ops, expand

    if not (isinstance(g, Expr) and isinstance(p, Expr)) or g.is_Relational or p.is_Relational:
        return None
    if any(e.has(Integral, Sum, Product, Limit, Derivative) for e in (g, p)):
        return None
    free = g.free_symbols | p.free_symbols
    if not all(isinstance(s, Symbol) for s in free):
        return None
    if {s.name for s in free} == {"i"}:  # the imaginary unit: (1+i)^2 = 2i
        unit = {s: I for s in free}
        g, p = g.xreplace(unit), p.xreplace(unit)
        d = expand(g - p)
        if d == 0:
            return True
        if not d.free_symbols:
            a, b = g.evalf(50), p.evalf(50)
            if _finite(a) and _finite(b):
                return bool(abs(a - b) <= 10 ** -45 * max(1, abs(a), abs(b)))
        return False
    names = sorted({s.name for s in g.free_symbols})
    if not names or names != sorted({s.name for s in p.free_symbols}) or len(names) > _MAX_SYMBOLS:
        return None
    if count_ops(g) + count_ops(p) > _MAX_OPS:
        return None
    tol = Rational(1, 10 ** -_TOLERANCE_EXP)
    defined = 0
    for row in POINTS:
        value = {n: Rational(v.numerator, v.denominator) for n, v in zip(names, row)}
        pt = {s: value[s.name] for s in free}
        a, b = g.xreplace(pt), p.xreplace(pt)
        if a.is_Rational and b.is_Rational:
            if a != b:
                return False
            defined += 1
            continue
        a, b = a.evalf(_DIGITS), b.evalf(_DIGITS)
        if not (_finite(a) and _finite(b)):
            continue
        if not bool(abs(a - b) <= tol * max(1, abs(a), abs(b))):
            return False
        defined += 1
    return True if defined >= _MIN_POINTS else None
