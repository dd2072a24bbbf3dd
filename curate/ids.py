"""Content-addressed ids. problem_id hashes the normalized problem text, so two sources with the same
problem share it; trace_id hashes problem_id + thought + solution, so re-ingesting adds nothing.

Normalization here is deliberately conservative (Unicode NFC, whitespace runs collapsed, ends stripped):
an id must never merge two texts a reader would call different. Looser matching (case, LaTeX spacing,
near-duplicates) is the dedup stage's job, which records what it merged and why."""

from __future__ import annotations

import hashlib
import unicodedata


def normalize_text(text: str) -> str:
    # str.split() splits on the same Unicode whitespace as re's \s (both use Py_UNICODE_ISSPACE) and drops
    # the ends: the same result as re.sub(r"\s+", " ", t).strip(), ~20x faster on long traces (ingest's
    # largest cost). tests/test_ingest.py holds the two to the same output.
    return " ".join(unicodedata.normalize("NFC", text).split())


def _digest(*parts: str) -> str:
    h = hashlib.blake2b(digest_size=10)
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()


def problem_id(problem: str) -> str:
    return "p" + _digest(normalize_text(problem))


def trace_id(problem_id_: str, thought: str | None, solution: str | None) -> str:
    # None and "" differ: a missing solution (generation stopped) is not an empty one.
    enc = lambda s: "\x00" if s is None else normalize_text(s)  # noqa: E731
    return "t" + _digest(problem_id_, enc(thought), enc(solution))
