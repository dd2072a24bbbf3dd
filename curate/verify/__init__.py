"""Answer verification: the one verifier that curation, eval/ and reward functions import.

Public API (stable; docs/verify.md has the details):

    from distillate.curate.verify import extract_answer, verify, verify_batch, reward, Verdict

    extract_answer(text) -> str | None
        The final answer of a whole response: the last \\boxed{}/\\fbox{} of the solution part (after a
        <think>/Sky-T1 thought), else an answer phrase in one of the common languages ("final answer is",
        "Answer:", "La réponse est", "答案是", "الإجابة هي"...; the value of its first clause), a **Final Answer**
        block, a bold answer in the last line, a bare short answer, a choice letter, the last math span or
        number of the last line. A multiple-choice reference makes the letter the response chose the answer.
    verify(gold, response, *, timeout=5.0, conventions=None) -> Verdict
        verdict in correct | incorrect | no_answer | no_reference | gold_unparseable | pred_unparseable |
        timeout | error, with extracted, thought_answer, gold_normalized, pred_normalized, method, seconds,
        details and the bool property .correct.
    verify_batch(pairs, *, workers=None, timeout=5.0) -> list[Verdict]   (input order; a bounded pool)
    reward(gold, response) -> float | None   (1.0 / 0.0; None = cannot verify: skip the sample)
    averify(gold, response)                  (async wrapper)

How: extraction and a fast path (exact normalized strings, integers with zero padding, decimals, fractions,
mixed numbers, thousands separators, times, `y = ...` definitions, units, degrees, matrices, choice letters)
run in the caller; the rest goes to math-verify + sympy in worker processes with a wall-clock limit (the
worker is killed and replaced) and a memory cap (RLIMIT_AS), with guards against math-verify's known false
positives and a bounded algebra check (algebra.py) for what it calls different. Conventions graders disagree
on (percent, units, list order) are options (conventions.py). Results are cached by (verifier VERSION, gold
answer, extracted answer) in memory and, for the `verify` stage, in the catalog.
"""

from .conventions import Conventions
from .core import (DEFAULT_TIMEOUT, UNDECIDED, VERDICTS, VERSION, Verdict, averify, gold_answer, reward,
                   verify, verify_batch)
from .extract import extract_answer, extract_parts
from .normalize import normalize
from .stage import VerifyConfig, check_answers, render_section, report_section, run_stage

__all__ = ["VERSION", "VERDICTS", "UNDECIDED", "DEFAULT_TIMEOUT", "Verdict", "Conventions", "extract_answer",
           "extract_parts", "normalize", "gold_answer", "verify", "averify", "verify_batch", "reward", "run_stage",
           "report_section", "render_section", "check_answers", "VerifyConfig"]
