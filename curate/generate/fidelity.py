"""Reformat fidelity: a rewrite into the long-thought format must keep the original's final answer (checked by
the verifier), stay within a length-ratio band, and keep enough of the original's content (word n-gram
overlap). A rewrite that fails is still stored, with `passed = FALSE` and its reasons (reformat_checks)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"\w+|[^\w\s]")


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    toks = _TOKEN.findall(text.lower())
    if len(toks) < n:
        return {tuple(toks)} if toks else set()
    return {tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)}


def overlap(original: str, rewrite: str, n: int) -> float | None:
    """Share of the original's distinct n-grams that the rewrite contains (None: the original has none)."""
    a = ngrams(original, n)
    if not a:
        return None
    return len(a & ngrams(rewrite, n)) / len(a)


def as_response(thought: str | None, solution: str | None) -> str:
    """A trace as one response text (what the verifier's extraction reads)."""
    if thought is not None:
        return f"<think>\n{thought}\n</think>\n\n{solution or ''}"
    return solution or ""


@dataclass
class Fidelity:
    passed: bool
    reasons: list[str] = field(default_factory=list)
    original_answer: str | None = None
    new_answer: str | None = None
    answer_verdict: str | None = None
    length_ratio: float | None = None
    ngram_overlap: float | None = None


async def check(cfg, original_text: str, original_response: str, reference_answer: str | None,
                new_thought: str | None, new_solution: str | None) -> Fidelity:
    """`original_text` is what was rewritten ({solution}); `original_response` the whole original trace
    (its final answer is the one to keep; the problem's reference answer when it has none)."""
    from distillate.curate.verify import averify, extract_answer

    new_text = as_response(new_thought, new_solution)
    f = Fidelity(passed=True)
    if new_solution is None:
        f.reasons.append("no_solution")  # the rewrite stopped inside its thought
    f.original_answer = extract_answer(original_response) or reference_answer
    if f.original_answer is None:
        f.reasons.append("answer_unverifiable")
    else:
        v = await averify(f.original_answer, new_text, timeout=cfg.verify_timeout)
        f.new_answer, f.answer_verdict = v.extracted, v.verdict
        if v.verdict in ("incorrect", "no_answer"):
            f.reasons.append("answer_changed" if v.verdict == "incorrect" else "answer_missing")
        elif v.verdict != "correct":
            f.reasons.append("answer_unverifiable")
    rewrite_chars = len((new_thought or "") + (new_solution or ""))
    f.length_ratio = rewrite_chars / max(1, len(original_text))
    if f.length_ratio < cfg.min_length_ratio:
        f.reasons.append("too_short")
    elif f.length_ratio > cfg.max_length_ratio:
        f.reasons.append("too_long")
    f.ngram_overlap = overlap(original_text, new_text, cfg.ngram)
    if f.ngram_overlap is not None:
        if f.ngram_overlap < cfg.min_overlap:
            f.reasons.append("low_overlap")
        elif f.ngram_overlap > cfg.max_overlap:
            f.reasons.append("high_overlap")
    f.passed = not f.reasons
    return f
