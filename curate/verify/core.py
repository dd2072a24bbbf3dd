"""verify / verify_batch / reward: extraction, fast path, cache, then math-verify in a bounded worker."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from distillate.curate.ingest.formats import split_response

from .extract import _is_bare_answer, _strip_wrappers, extract_trace, extract_with_method, gold_boxes
from .normalize import clean_markup, fast_compare, normalize
from .pool import get_pool

# Bump when extraction, normalization or equivalence rules change: cached results and stored verdicts
# of an older version are recomputed.
VERSION = "1"
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


def _prepare(gold: str | None, thought: str | None, solution: str | None) -> Verdict | tuple[str, str, Verdict]:
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
    if pred is None:
        v.verdict = "no_answer"
        return v
    if len(pred) > _MAX_ANSWER_CHARS:
        v.verdict, v.method = "pred_unparseable", "extract"
        v.details["error"] = f"extracted answer is {len(pred):,} characters"
        v.extracted = pred[:2000]
        return v
    pred = clean_markup(pred)
    v.pred_normalized = normalize(pred)
    verdict, method = fast_compare(v.gold_normalized, v.pred_normalized)
    if verdict:
        v.verdict, v.method = verdict, method
        return v
    return g, pred, v


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
           memory_mb: int | None = None) -> Verdict:
    """Check one response (a whole response, or just an answer) against a reference answer.

    Safe in any thread: the slow part runs in a worker process killed after `timeout` seconds."""
    t0 = time.perf_counter()
    thought, solution = _split(response)
    prep = _prepare(gold, thought, solution)
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


async def averify(gold: str | None, response: str, *, timeout: float = DEFAULT_TIMEOUT) -> Verdict:
    """verify() for async code: runs in a thread, the event loop is never blocked."""
    return await asyncio.to_thread(verify, gold, response, timeout=timeout)


def verify_batch(pairs: Iterable[tuple[str | None, str]], *, workers: int | None = None,
                 timeout: float = DEFAULT_TIMEOUT, memory_mb: int | None = None,
                 show_progress: bool = False, parts: bool = False) -> list[Verdict]:
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
        prep = _prepare(gold, thought, solution)
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


def reward(gold: str | None, response: str, *, timeout: float = DEFAULT_TIMEOUT) -> float | None:
    """1.0 correct, 0.0 wrong / no answer / unparseable answer, None when it cannot be judged
    (no or unparseable reference, timeout, error): callers skip those samples (the open-r1 habit)."""
    v = verify(gold, response, timeout=timeout)
    if v.verdict == "correct":
        return 1.0
    if v.verdict in ("incorrect", "no_answer", "pred_unparseable"):
        return 0.0
    return None
