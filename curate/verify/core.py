"""verify / verify_batch / reward: extraction, fast path, cache, then math-verify in a bounded worker."""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from distillate.curate.ingest.formats import split_response

from .choice import gold_choice, response_choice
from .conventions import DEFAULT, Conventions
from .extract import _is_bare_answer, _strip_wrappers, extract_trace, extract_with_method, gold_boxes
from .normalize import (canonical_forms, clean_markup, fast_compare, has_relation, normalize, split_definition,
                        split_top)
from .pool import get_pool

# Bump when extraction, normalization or equivalence rules change: cached results and stored verdicts
# of an older version are recomputed.
# 2: letters, multilingual answer phrases, mixed numbers, times, definitions, matrices, algebra check
VERSION = "2"
DEFAULT_TIMEOUT = 5.0
VERDICTS = ("correct", "incorrect", "no_answer", "no_reference", "gold_unparseable", "pred_unparseable",
            "timeout", "error")
UNDECIDED = ("gold_unparseable", "pred_unparseable", "timeout", "error")
_MAX_ANSWER_CHARS = 20_000  # an "answer" longer than this is a runaway extraction, not an answer


@dataclass
class Verdict:
    """The outcome of one check.

    verdict:          one of VERDICTS.
    extracted:        the final answer extracted from the response (None: no_answer).
    thought_answer:   the thought's own last answer (boxed or "the answer is"), when there is a thought.
    gold_normalized:  normalized reference answer; pred_normalized: normalized extracted answer.
    method:           what decided: exact | numeric | choice | mathverify | mathverify+guard | llm_judge:...
    seconds:          wall time of this check.
    details:          extraction method, parsed forms, cache hits, guard reasons, errors."""

    verdict: str
    extracted: str | None = None
    thought_answer: str | None = None
    gold_normalized: str | None = None
    pred_normalized: str | None = None
    method: str | None = None
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def correct(self) -> bool:
        return self.verdict == "correct"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- cache: (verifier version, gold answer, extracted answer) -> worker result ----------------------

_CACHE: OrderedDict[tuple[str, str, str], dict] = OrderedDict()
_CACHE_MAX = 200_000
CACHEABLE = ("correct", "incorrect", "gold_unparseable", "pred_unparseable")  # not timeout/error: retry
_NEW: list[tuple[str, str, dict]] = []  # computed since the last drain_new(): the stage persists them


def cache_get(gold: str, pred: str) -> dict | None:
    r = _CACHE.get((VERSION, gold, pred))
    if r is not None:
        _CACHE.move_to_end((VERSION, gold, pred))
    return r


def cache_put(gold: str, pred: str, result: dict) -> None:
    if result.get("verdict") not in CACHEABLE:
        return
    _CACHE[(VERSION, gold, pred)] = result
    _NEW.append((gold, pred, result))
    if len(_NEW) > _CACHE_MAX:  # nobody drains (plain library use): keep memory bounded
        del _NEW[: len(_NEW) - _CACHE_MAX]
    if len(_CACHE) > _CACHE_MAX:
        _CACHE.popitem(last=False)


def cache_clear() -> None:
    _CACHE.clear()
    _NEW.clear()


def drain_new() -> list[tuple[str, str, dict]]:
    """The (gold, pred, result) entries computed since the last call (for the catalog cache)."""
    new = list(_NEW)
    _NEW.clear()
    return new


# ---- preparation: everything that runs in the caller (linear-time) --------------------------------

def gold_answer(gold: str) -> str:
    """The reference answer to compare against: a bare answer as is, else its last box, else extracted."""
    g = gold.strip()
    if "\\boxed" in g or "\\fbox" in g:
        b = gold_boxes(g)
        if b:
            return b
    if "\n" not in g and (len(g) <= 200 or _is_bare_answer(g)):
        return _strip_wrappers(g)
    ans, _ = extract_with_method(g)
    return ans or _strip_wrappers(g)


@dataclass
class _Pending:
    index: int
    gold: str
    pred: str
    verdict: Verdict
    t0: float


def _prepare(gold: str | None, thought: str | None, solution: str | None,
             conv: Conventions = DEFAULT) -> Verdict | tuple[str, str, Verdict]:
    """A final Verdict, or (gold_answer, pred_answer, partial Verdict) that needs the worker."""
    pred, how, thought_ans = extract_trace(thought, solution)
    v = Verdict("error", extracted=pred, thought_answer=thought_ans, details={"extraction": how})
    if gold is None or not str(gold).strip():
        v.verdict = "no_reference"
        return v
    g = clean_markup(gold_answer(str(gold)))
    v.gold_normalized = normalize(g) if g else None
    if not g or len(g) > _MAX_ANSWER_CHARS:
        v.verdict, v.method = "gold_unparseable", "extract"
        return v
    choice = gold_choice(g)
    if choice is not None:  # a multiple-choice reference: the letter the response chose decides
        letter, rule, _ = response_choice(solution)
        if letter is None and pred is not None and len(pred) <= 300:
            pc = gold_choice(clean_markup(pred))  # the extracted answer itself is a letter: "\\[ \\text{(C)} \\]"
            letter, rule = (pc[0], "extracted") if pc else (None, rule)
        if letter is not None:
            v.extracted, v.gold_normalized, v.pred_normalized = letter, choice[0], letter
            v.details["extraction"] = f"choice:{rule}"
            v.verdict, v.method = ("correct" if letter == choice[0] else "incorrect"), "choice"
            return v
        if pred is not None and len(pred) <= _MAX_ANSWER_CHARS and choice[1] is None:
            v.pred_normalized = normalize(clean_markup(pred))
            v.verdict, v.method = "incorrect", "choice"  # a value or a symbol, no letter: not the option
            return v
        if choice[1] is not None:  # "(A) 12 apples" against "12 apples": the option's own value
            g = clean_markup(choice[1])
            v.gold_normalized = normalize(g)
            v.details["option_text"] = choice[1]
    if pred is None:
        v.verdict = "no_answer"
        return v
    pc = gold_choice(clean_markup(pred)) if choice is None and len(pred) <= 300 else None
    if pc is not None and g.strip("()$ ") != pc[0]:
        v.pred_normalized = normalize(clean_markup(pred))
        v.verdict, v.method = "incorrect", "choice"  # an option letter against an answer that is not one ("e")
        return v
    if len(pred) > _MAX_ANSWER_CHARS:
        v.verdict, v.method = "pred_unparseable", "extract"
        v.details["error"] = f"extracted answer is {len(pred):,} characters"
        v.extracted = pred[:2000]
        return v
    g, pred = _forms(g, clean_markup(pred), conv)
    v.gold_normalized, v.pred_normalized = normalize(g), normalize(pred)
    verdict, method = fast_compare(v.gold_normalized, v.pred_normalized, conv)
    if verdict:
        v.verdict, v.method = verdict, method
        return v
    return g, pred, v


_PERCENT_END = re.compile(r"^(?P<x>.*?)\s*(?:\\?%|\\text\{\s*percent\s*\})$")


def _forms(g: str, p: str, conv: Conventions) -> tuple[str, str]:
    """The two answers as they are compared: notations rewritten (mixed numbers, matrices), a defined name
    dropped when both define one or the other is a bare value ("g(t) = t^2" vs "y = t^2": Minerva's
    normalize_final_answer keeps what follows "="), and the conventions that change strings applied."""
    g, p = canonical_forms(g), canonical_forms(p)
    gd, pd = split_definition(g), split_definition(p)
    if gd and pd:
        g, p = gd[1], pd[1]
    elif gd and not has_relation(p):
        g = gd[1]
    elif pd and not has_relation(g):
        p = pd[1]
    if conv.lists == "ordered":  # a bare list compared in order: as a tuple
        g, p = (f"({x})" if len(split_top(x, ",")) > 1 and x[:1] not in "([{\\" else x for x in (g, p))
    if conv.percent != "either":
        out = []
        for x in (g, p):
            m = _PERCENT_END.match(x.strip())
            if m and m.group("x"):
                x = m.group("x") if conv.percent == "number" else f"\\frac{{{m.group('x')}}}{{100}}"
            out.append(x)
        g, p = out
    return g, p


def _apply(v: Verdict, res: dict, cached: str | None) -> Verdict:
    v.verdict = res.get("verdict", "error")
    v.method = res.get("method", "mathverify")
    for k in ("gold_parsed", "pred_parsed", "guard", "error", "worker_seconds"):
        if res.get(k) is not None and not (cached and k == "worker_seconds"):
            v.details[k] = res[k]
    if cached:
        v.details["cache"] = cached
    return v


def _split(response: str | None) -> tuple[str | None, str | None]:
    if response is None:
        return None, None
    thought, solution, _ = split_response(str(response))
    return thought, solution


def verify(gold: str | None, response: str, *, timeout: float = DEFAULT_TIMEOUT,
           memory_mb: int | None = None, conventions: Conventions | None = None) -> Verdict:
    """Check one response (a whole response, or just an answer) against a reference answer.

    Safe in any thread: the slow part runs in a worker process killed after `timeout` seconds.
    `conventions`: the options on which graders disagree (percent, units, lists; conventions.py)."""
    t0 = time.perf_counter()
    thought, solution = _split(response)
    prep = _prepare(gold, thought, solution, conventions or DEFAULT)
    if isinstance(prep, Verdict):
        prep.seconds = time.perf_counter() - t0
        return prep
    g, p, v = prep
    res = cache_get(g, p)
    cached = "memory" if res is not None else None
    if res is None:
        res = get_pool(None, memory_mb).check(g, p, timeout)
        cache_put(g, p, res)
    _apply(v, res, cached)
    v.seconds = time.perf_counter() - t0
    return v


async def averify(gold: str | None, response: str, *, timeout: float = DEFAULT_TIMEOUT,
                  conventions: Conventions | None = None) -> Verdict:
    """verify() for async code: runs in a thread, the event loop is never blocked."""
    return await asyncio.to_thread(verify, gold, response, timeout=timeout, conventions=conventions)


def verify_batch(pairs: Iterable[tuple[str | None, str]], *, workers: int | None = None,
                 timeout: float = DEFAULT_TIMEOUT, memory_mb: int | None = None,
                 show_progress: bool = False, parts: bool = False,
                 conventions: Conventions | None = None) -> list[Verdict]:
    """Verify many (gold, response) pairs; results in input order. Fast-path pairs are decided here,
    the rest in `workers` bounded worker processes (default: one per core), each distinct
    (gold answer, extracted answer) pair at most once. With parts=True the items are
    (gold, thought, solution) triples (the catalog's trace columns) instead."""
    out: list[Verdict | None] = []
    pending: dict[tuple[str, str], list[_Pending]] = {}
    for i, item in enumerate(pairs):
        t0 = time.perf_counter()
        if parts:
            gold, thought, solution = item
        else:
            gold, response = item
            thought, solution = _split(response)
        prep = _prepare(gold, thought, solution, conventions or DEFAULT)
        if isinstance(prep, Verdict):
            prep.seconds = time.perf_counter() - t0
            out.append(prep)
            continue
        g, p, v = prep
        res = cache_get(g, p)
        if res is not None:
            _apply(v, res, "memory")
            v.seconds = time.perf_counter() - t0
            out.append(v)
            continue
        out.append(None)
        pending.setdefault((g, p), []).append(_Pending(i, g, p, v, time.perf_counter() - t0))
    if pending:
        pool = get_pool(workers, memory_mb)
        from distillate.log import progress

        def run(key):
            t = time.perf_counter()
            res = pool.check(key[0], key[1], timeout)
            return key, res, time.perf_counter() - t

        with progress(disable=not show_progress) as bar, ThreadPoolExecutor(pool.size) as ex:
            task = bar.add_task("verify", total=len(pending), info="math-verify")
            for key, res, secs in ex.map(run, list(pending)):
                cache_put(key[0], key[1], res)
                for n, pend in enumerate(pending[key]):
                    v = _apply(pend.verdict, res, None if n == 0 else "batch")
                    v.seconds = pend.t0 + (secs if n == 0 else 0.0)
                    out[pend.index] = v
                bar.advance(task)
    return out  # type: ignore[return-value]


def reward(gold: str | None, response: str, *, timeout: float = DEFAULT_TIMEOUT,
           conventions: Conventions | None = None) -> float | None:
    """1.0 correct, 0.0 wrong / no answer / unparseable answer, None when it cannot be judged
    (no or unparseable reference, timeout, error): callers skip those samples (the open-r1 habit)."""
    v = verify(gold, response, timeout=timeout, conventions=conventions)
    if v.verdict == "correct":
        return 1.0
    if v.verdict in ("incorrect", "no_answer", "pred_unparseable"):
        return 0.0
    return None
