"""The verifier worker process: math-verify + sympy under a memory cap, driven over stdin/stdout.

Started by `pool.Worker` as `python -m distillate.curate.verify._worker MEMORY_MB`. Protocol: frames of a
4-byte big-endian length + a pickle; the worker first sends ("ready", pid), then answers every request
(gold_answer, pred_answer) with a result dict. math-verify's own SIGALRM timeouts are disabled here
(parsing_timeout=None, timeout_seconds=None): the parent enforces the wall-clock limit by killing this
process, which works whatever thread or process the caller runs in."""

from __future__ import annotations

import logging
import os
import pickle
import resource
import struct
import sys

from distillate.curate.verify.algebra import algebra_equal

_HDR = struct.Struct("!I")


def _read_exact(fd: int, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _send(fd: int, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    _write_all(fd, _HDR.pack(len(data)) + data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


# ---- the check itself -----------------------------------------------------------------------------

_MV = None


def _mv():
    global _MV
    if _MV is None:
        import math_verify

        # math-verify warns once that its timeouts are off: that is the point here
        logging.getLogger("math_verify").setLevel(logging.ERROR)
        _MV = math_verify
    return _MV


def _parse(ans: str):
    """math-verify's parse of one extracted answer: as a boxed LaTeX answer first, then as free text
    (LaTeX spans and plain expressions). Returns the list parse() gives ([] when nothing parses)."""
    mv = _mv()
    latex = mv.LatexExtractionConfig(boxed_match_priority=0)
    res = mv.parse("\\boxed{" + ans + "}", [latex], parsing_timeout=None)
    if res and not isinstance(res[0], str):
        return res
    alt = mv.parse(ans, [mv.LatexExtractionConfig(), mv.ExprExtractionConfig()], parsing_timeout=None)
    if alt and not isinstance(alt[0], str):
        return alt
    return res or alt


def _is_set_like(e) -> bool:
    from sympy import FiniteSet, Tuple

    return isinstance(e, (FiniteSet, Tuple)) and len(e.args) > 1


def _numeric_guard(g, p) -> str | None:
    """math-verify compares numbers after rounding to 6 decimals, so 1/2004! == 1/2006! (both 0.000000).
    When it says equal and both sides are numbers, require agreement in relative terms too; a decimal
    literal may still be a rounding of the exact value to its own digits."""
    from sympy import Basic, Float, N

    if not (isinstance(g, Basic) and isinstance(p, Basic)):
        return None
    try:
        if not (g.is_number and p.is_number) or g.free_symbols or p.free_symbols:
            return None
        gv, pv = N(g, 30), N(p, 30)
        if not (gv.is_real and pv.is_real):
            return None
        scale = max(abs(gv), abs(pv))
        if scale == 0:
            return None
        rel = abs(gv - pv) / scale
        if rel <= 1e-6:
            return None
        if isinstance(p, Float) or isinstance(g, Float):
            return None  # a decimal at its shown precision (math-verify's rounding rule applies)
        return f"relative difference {float(rel):.3g} between numeric values"
    except Exception:  # noqa: BLE001 - a guard that cannot evaluate does not overrule
        return None


def _pm_guard(gold: str, pred: str, g, p) -> str | None:
    """'±2021' is two values: it never equals a single value (math-verify issue: ±2021 vs 2021)."""
    gpm = "\\pm" in gold or "±" in gold or "\\mp" in gold
    ppm = "\\pm" in pred or "±" in pred or "\\mp" in pred
    if gpm == ppm:
        return None
    other = p if gpm else g
    if _is_set_like(other):
        return None
    return "one side is a ± pair, the other a single value"


_PRIMES = ("\\prime", "'", "’", "′")


def _prime_guard(gold: str, pred: str) -> str | None:
    """math-verify drops primes (`f'(x)` equals `f(x)`, `A'` equals `a`): a different number of prime marks
    is a different object. Answers with text (`\\text{Pascal's}`) are left alone."""
    if "\\text" in gold or "\\text" in pred:
        return None
    count = lambda s: sum(s.count(p) for p in _PRIMES)  # noqa: E731
    return "different primes" if count(gold) != count(pred) else None


def check(gold: str, pred: str) -> dict:
    mv = _mv()
    g = _parse(gold)
    if not g:
        return {"verdict": "gold_unparseable", "method": "mathverify"}
    p = _parse(pred)
    if not p:
        return {"verdict": "pred_unparseable", "method": "mathverify", "gold_parsed": str(g[0])}
    g_sym, p_sym = g[0], p[0]
    out = {"gold_parsed": str(g_sym)[:500], "pred_parsed": str(p_sym)[:500], "method": "mathverify"}
    if isinstance(g_sym, str) != isinstance(p_sym, str):
        out["verdict"] = "gold_unparseable" if isinstance(g_sym, str) else "pred_unparseable"
        return out
    equal = mv.verify(g, p, timeout_seconds=None)
    if equal:
        reason = _pm_guard(gold, pred, g_sym, p_sym) or _prime_guard(gold, pred) or _numeric_guard(g_sym, p_sym)
        if reason:
            out["method"] = "mathverify+guard"
            out["guard"] = reason
            equal = False
    elif not isinstance(g_sym, str) and algebra_equal(g_sym, p_sym):
        out["method"] = "mathverify+algebra"  # equal at sampled points / with i the imaginary unit (algebra.py)
        equal = True
    out["verdict"] = "correct" if equal else "incorrect"
    return out


# One-time costs of sympy/latex2sympy (lazy submodule imports, first simplify, set and matrix code) paid
# at start-up, before "ready", so that they never count against a check's limit or latency.
_WARMUP = [("\\frac{\\sqrt{3}}{2}", "\\sin(\\pi/3)"), ("(0,1]", "(0,1)"), ("\\{1,2\\}", "\\{2,1\\}"),
           ("x^2+2x+1", "(x+1)^2"), ("x=5", "5"), ("10\\%", "0.1"), ("(1,2)", "(2,1)"), ("2\\pi", "6.2832"),
           ("\\begin{pmatrix}1&0\\\\0&1\\end{pmatrix}", "\\begin{pmatrix}1&0\\\\0&1\\end{pmatrix}"),
           ("x \\in [-2,7]", "-2 \\le x \\le 7"), ("\\text{odd}", "odd"), ("1\\pm\\sqrt{2}", "1+\\sqrt{2}"),
           ("(-\\infty, 3) \\cup (4, \\infty)", "x<3"), ("a^2+b", "0"), ("\\frac{1}{2004!}", "0"),
           ("2i", "(1+i)^2"), ("\\sin x", "\\tan x \\cos x"), ("x^{3/2}", "x^2")]


# Answers in the shapes benchmarks use: parsing them once trains ANTLR's prediction cache (latex2sympy's
# parser is slow on token patterns it has not seen: 100-500 ms cold, about 1 ms warm).
_WARM_PARSE = [
    "\\frac{14}{3}", "-\\frac{7}{4}", "3\\sqrt{13}", "\\frac{\\sqrt{3}}{2}", "\\sqrt[3]{2}", "2\\pi", "\\frac{\\pi}{4}",
    "(2,4)", "(-\\infty, 3]", "[0, 1) \\cup (1, \\infty)", "\\{1, 2, 3\\}", "(3, -\\frac{1}{2}, 7)", "\\left( 3, \\frac{\\pi}{2} \\right)",
    "x^2 + 2x + 1", "\\frac{x+1}{x-1}", "y = 2x + 3", "x \\le 5", "-2 < x < 7", "x = \\pm 2", "1 \\pm \\sqrt{19}",
    "\\begin{pmatrix} 1 \\\\ -2 \\end{pmatrix}", "\\begin{pmatrix} 0 & 3 \\\\ 0 & -1 \\end{pmatrix}", "\\text{(C)}", "\\text{Evelyn}",
    "90^\\circ", "15\\%", "0.25", "-3.75", "1.5 \\times 10^{3}", "2^{10}", "10^{-3}", "\\log_2 8", "\\ln 2", "e^{2}",
    "\\sin 30^\\circ", "\\cos \\theta", "\\tan^{-1} 1", "1011_2", "\\dfrac{3}{56}", "4\\sqrt{2} - 2", "a_{n} = 2^n",
    "f(x) = x^2", "\\infty", "\\emptyset", "10!", "\\binom{5}{2}", "|x - 3|", "\\$16.50", "5 \\text{ cm}^2", "\\mathbb{R}",
]


def main() -> None:
    mem_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    sys.setrecursionlimit(10_000)
    _mv()  # import before the cap: the import itself is the baseline, not a check's cost
    for g, p in _WARMUP:
        try:
            check(g, p)
        except Exception:  # noqa: BLE001 - warm-up only
            pass
    for a in _WARM_PARSE:
        try:
            _parse(a)
        except Exception:  # noqa: BLE001 - warm-up only
            pass
    if mem_mb > 0:
        try:
            limit = mem_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (ValueError, OSError):
            pass  # platform refuses: the wall-clock limit still holds
    rfd, wfd = sys.stdin.fileno(), sys.stdout.fileno()
    sys.stdout = sys.stderr  # anything printed by libraries must not corrupt the protocol
    _send(wfd, ("ready", os.getpid()))
    while True:
        hdr = _read_exact(rfd, _HDR.size)
        if hdr is None:
            return
        data = _read_exact(rfd, _HDR.unpack(hdr)[0])
        if data is None:
            return
        gold, pred = pickle.loads(data)
        restart = False
        try:
            res = check(gold, pred)
        except MemoryError:
            res, restart = {"verdict": "error", "method": "mathverify", "error": "memory cap exceeded"}, True
        except RecursionError:
            res = {"verdict": "error", "method": "mathverify", "error": "recursion limit exceeded"}
        except Exception as e:  # noqa: BLE001 - a per-item error is a verdict, not a crash
            res = {"verdict": "error", "method": "mathverify", "error": f"{type(e).__name__}: {e}"[:500]}
        _send(wfd, res)
        if restart:  # after a MemoryError the heap may be fragmented: start clean
            return


if __name__ == "__main__":
    main()
