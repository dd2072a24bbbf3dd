"""distillate.textcase: the lowered scan and the RE2 prefilter give exactly pattern.finditer's matches."""

from __future__ import annotations

import re

import orjson
import pytest
import regex

from distillate import textcase

_ODD = ["\u5b57but wait \u00e9wait wait\u00e9 awaiting hmmm\u00df wait WAIT", "x\ud800 wait", "\u0130 wait \u017fo HMM",
        "wa\nt wa t wa\u00e9t wait\u212a LET ME CHECK let me recheck", "", "wait", "caf\u00e9 CAF\u00c9 wait,hmm"]
# (source, whether the prefilter takes it)
_PATTERNS = [(r"\b(?:wait|hmm+)\b", True), (r"\b(?:let me (?:re-?)?check|(?P<w>wait))\b", True),
             (r"\bwa.t\b", True), (r"wait[,.]?", True),
             (r"(?<=\s)wait\b", False), (r"\b\w+ wait\b", False), (r"[^a]wait", False), (r"^wait", False),
             (r"wait|", False), (r"\bcaf\u00e9\b", False)]


@pytest.mark.parametrize("source,prefiltered", _PATTERNS)
def test_finditer_equals_plain_finditer(source, prefiltered, shared_data):
    texts = [v for line in (shared_data / "traces" / "s1k_gemini_fixture.jsonl").open()
             for v in orjson.loads(line).values() if isinstance(v, str)] + _ODD
    for pattern in (regex.compile(source, regex.IGNORECASE | regex.V0), re.compile(source, re.IGNORECASE)):
        fast = textcase._case_sensitive(pattern)
        assert (fast is not None and textcase._prefilter(fast) is not None) == prefiltered
        for t in texts:
            assert [(m.span(), m.lastgroup) for m in textcase.finditer(pattern, t)] == \
                   [(m.span(), m.lastgroup) for m in pattern.finditer(t)]
