"""Pure per-trace and per-problem signal functions (no catalog, no tokenizer): the stage, tests and the
review app call the same code. Everything here is `re`/`regex` (with the RE2 prefilter of textcase), numpy,
zlib and the numba kernels of kernels.py, so a worker process stays light."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from distillate import textcase

# ---- configuration -----------------------------------------------------------------------------------

# kind -> regex alternatives (case-insensitive, matched on word boundaries). Kinds do not overlap: one
# combined pattern is matched left to right with longer phrases first, so "but wait" counts as but_wait,
# not also as wait.
DEFAULT_MARKERS: dict[str, list[str]] = {
    "but_wait": [r"but wait"],
    "wait": [r"wait"],
    "alternatively": [r"alternatively", r"another approach", r"another way"],
    "check": [r"let me (?:re-?)?(?:check|verify|double[- ]check|confirm|recheck)",
              r"let's (?:re-?)?(?:check|verify|double[- ]check|confirm)", r"double[- ]check(?:ing)?"],
    "hmm": [r"hmm+"],
    "actually": [r"actually"],
    "second_thought": [r"on second thought", r"on reflection"],
    "mistake": [r"i made a mistake", r"(?:that|this)(?:'s| is) (?:not right|wrong|incorrect)",
                r"(?:that|this) can(?:'t|not) be right", r"something(?:'s| is) (?:wrong|off|not right)",
                r"(?:that|this) does(?:n't| not) (?:seem|look) right", r"my mistake"],
    "rethink": [r"let(?: me|'s| us) (?:re-?think|reconsider|re-?examine|re-?evaluate|re-?read|think again|revisit)"],
}

_ASK = (r"(?:find|compute|calculate|determine|evaluate|show|prove|what|how|which|why|is|are|does|do|can|give|"
        r"express|explain|sketch|list|write|solve|simplify|use|hence|deduce|verify|state)\b")
# reason -> regex (case-insensitive) on the problem text. Order is the order of unsuitable_reasons.
DEFAULT_PROBLEM_PATTERNS: dict[str, str] = {
    "image": (r"\[asy\]|!\[[^\]]*\]\([^)]*\)|\\includegraphics|<img\b"
              r"|\b(?:in|from|see|of) the (?:figure|diagram|picture|graph|image|drawing|illustration)\b"
              r"|\b(?:figure|diagram|picture|graph|image) (?:below|above)\b"
              r"|\b(?:shown|pictured|depicted|illustrated|drawn) (?:below|above|here|in the (?:figure|diagram))\b"),
    "proof": (r"\bprove\b|\bproof\b|\bshow that\b|\bdemonstrate that\b|\bprove or disprove\b"
              r"|\bshow (?:why|how)\b|\bjustify your answer\b"),
    "multiple_choice": (r"\\textbf\{\s*\(A\)|\(A\)[^\n]{0,200}?\(B\)[^\n]{0,200}?\(C\)"
                        r"|(?-i:(?:^|\n)\s*\(?A[.)]\s.+\n\s*\(?B[.)]\s.+\n\s*\(?C[.)]\s)|\banswer choices\b|\bchoose (?:the|one)\b"),
    # two labelled sub-questions, each opening with a question word or an instruction (a list of
    # conditions "a) ... b) ..." is not multi-part)
    "multi_part": (r"(?:^|\s)\(?(?:a|i)[.)]\s*" + _ASK + r"[\s\S]{0,3000}?\s\(?(?:b|ii)[.)]\s*" + _ASK
                   + r"|\bpart \((?:a|b|i|ii)\)"),
}
UNSUITABLE_REASONS = ("image", "proof", "multiple_choice", "multi_part", "no_reference")


@dataclass
class SignalConfig:
    """Options of the `stats` stage. Changing any field changes `config_hash`, so rows are recomputed."""

    markers: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_MARKERS))
    # reflection / backtracking markers: kind -> regex alternatives (case-insensitive, word boundaries)
    ngram: int = 8                       # word n-gram size of the repetition signals
    loop_share: float = 0.3              # looping when the repeated n-gram share reaches this ...
    loop_tail_share: float = 0.8         # ... or the share over the last quarter of the words reaches this
    loop_min_words: int = 200            # shorter texts are never called looping
    foreign_share: float = 0.05          # language_mixed when other-script letters reach this share
    problem_patterns: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PROBLEM_PATTERNS))
    # unsuitable-problem reasons: reason -> regex on the problem text (no_reference is built in)
    unsuitable_reasons: tuple[str, ...] = UNSUITABLE_REASONS
    # the reasons that make a problem `unsuitable` (the per-reason booleans are stored regardless)
    tokenizer: str = "Qwen/Qwen2.5-7B-Instruct"   # HF id or local path (see tokenize.py)
    batch_size: int = 2048               # traces per worker batch
    workers: int | None = None           # worker processes (default: every core; 1 = in process)

    def hash(self) -> str:
        import hashlib
        import json

        key = json.dumps([self.markers, self.ngram, self.loop_share, self.loop_tail_share, self.loop_min_words,
                          self.foreign_share, self.problem_patterns, list(self.unsuitable_reasons)],
                         sort_keys=True)
        return hashlib.sha256(key.encode()).hexdigest()[:12]


def compile_markers(markers: dict[str, list[str]]) -> tuple[re.Pattern, list[str]]:
    """One pattern with a named group per kind; longer alternatives first so phrases beat single words.
    Compiled with the `regex` module (same syntax, same matches), which scans this wide alternation about
    twice as fast as `re`, and ~1.5x faster again on lowercased text (distillate/textcase.py): it is the
    largest cost of the signals after tokenizing."""
    import regex

    if not markers:
        return regex.compile(r"(?!x)x"), []
    kinds = list(markers)
    parts = []
    for i, k in enumerate(kinds):
        alts = sorted(markers[k], key=len, reverse=True)
        parts.append((max(len(a) for a in alts), f"(?P<k{i}>{'|'.join(alts)})"))
    parts.sort(key=lambda p: -p[0])
    return regex.compile(r"\b(?:" + "|".join(p for _, p in parts) + r")\b", regex.IGNORECASE | regex.V0), kinds


# ---- pieces ------------------------------------------------------------------------------------------

_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_FINAL_PHRASE = re.compile(r"final answer|the answer is|answer\s*[:=]|\*\*answer", re.IGNORECASE)
# the definitions kernels.text_stats implements in one pass (tests compare the two)
_STEP = re.compile(r"^\s*(?:\*\*|#+\s*)?(?:step\s*\d+|\d+[.)]\s)", re.IGNORECASE | re.MULTILINE)
_PARA = re.compile(r"\n\s*\n")
_TAGS = ("<think>", "</think>", "<|begin_of_thought|>", "<|end_of_thought|>",
         "<|begin_of_solution|>", "<|end_of_solution|>")
_TAG = re.compile("|".join(map(re.escape, _TAGS)))
# letters of Latin/Greek scripts (math uses Greek); anything else alphabetic counts as another script
_LATIN_GREEK = re.compile(r"[A-Za-z\u00C0-\u024F\u1E00-\u1EFF\u0370-\u03FF\u1F00-\u1FFF]")
_LETTER = re.compile(r"[^\W\d_]")
_ENDS_OK = set(".!?:;)]}$`\"'*>|")


def boxed_values(text: str) -> list[str]:
    """Contents of every \\boxed{...} / \\fbox{...} (balanced braces), whitespace-normalized."""
    out = []
    for m in _BOXED.finditer(text):
        i, depth, start = m.end(), 1, m.end()
        while i < len(text) and depth:
            c = text[i]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            i += 1
        if depth == 0:
            out.append(" ".join(text[start:i - 1].split()))
    return out


def _norm_answer(a: str) -> str:
    a = a.replace(" ", "").replace("\\left", "").replace("\\right", "").replace("\\!", "").replace("\\,", "")
    a = a.replace("dfrac", "frac").replace("tfrac", "frac").rstrip(".")
    return a.removeprefix("$").removesuffix("$")


def compiled_signals(encoded, ngram: int) -> np.ndarray:
    """The signals the numba kernels compute, for each (thought, solution) pair of `encoded`
    (kernels.encode of thought0, solution0, thought1, ...). One row per pair:

    0-3  over the pair's whitespace-separated words (lowercased per code point), read as one text: words,
         share of word n-grams already seen earlier, that share over the last quarter of the n-grams,
         longest run of words whose n-grams all occurred earlier + n - 1;
    4-7  summed over the two texts: matches of _STEP, non-blank pieces of _PARA.split, letters
         (`_LETTER`), letters of scripts other than _LATIN_GREEK."""
    from . import kernels

    out = np.zeros((len(encoded.texts) // 2, 8), np.float64)
    tab = kernels.text_tables()
    kernels.word_repetition(encoded.cp, encoded.offs, tab, kernels.lower_table(), ngram, out[:, :4])
    per_text = np.zeros((len(encoded.texts), 4), np.int64)
    kernels.text_stats(encoded.cp, encoded.offs, tab, per_text)
    out[:, 4:] = per_text[0::2] + per_text[1::2]
    return out


# ---- per trace ---------------------------------------------------------------------------------------

def trace_signals(thought: str | None, solution: str | None, thought_closed: bool | None,
                  finish_reason: str | None, cfg: SignalConfig, marker_re: re.Pattern, kinds: list[str],
                  n_tokens: int, compiled: np.ndarray | None = None
                  ) -> tuple[dict[str, Any], list[tuple[str, str, int, int]]]:
    """Every text signal of one trace (token counts come from the caller; `compiled`, its row of
    compiled_signals, too when the caller computed a batch). Returns (row, markers) where markers are
    (kind, part, pos, len)."""
    th, so = thought or "", solution or ""
    full = f"{th}\n\n{so}" if th and so else (th or so)
    row: dict[str, Any] = {
        "n_chars": len(th) + len(so),
        "n_lines": (th.count("\n") + 1 if th else 0) + (so.count("\n") + 1 if so else 0),
    }
    if compiled is None:
        from . import kernels

        compiled = compiled_signals(kernels.encode([th, so]), cfg.ngram)[0]
    words, share, tail_share, longest, steps, paragraphs, letters, other = compiled.tolist()
    row["n_paragraphs"], row["n_steps"] = int(paragraphs), int(steps)
    # markers
    markers: list[tuple[str, str, int, int]] = []
    counts: dict[str, int] = {}
    for part, text in (("thought", th), ("solution", so)):
        for m in textcase.finditer(marker_re, text):   # RE2-prefiltered when the pattern allows
            k = kinds[int(m.lastgroup[1:])]
            counts[k] = counts.get(k, 0) + 1
            markers.append((k, part, m.start(), m.end() - m.start()))
    row["n_markers"] = len(markers)
    row["markers_per_1k"] = round(1000.0 * len(markers) / n_tokens, 3) if n_tokens else None
    row["marker_counts"] = counts
    # final answers
    b_th, b_so = boxed_values(th), boxed_values(so)
    row["n_boxed"] = len(b_th) + len(b_so)
    row["n_distinct_boxed"] = len({_norm_answer(b) for b in b_th + b_so})
    row["final_answer"] = b_so[-1] if b_so else (b_th[-1] if not so and b_th else None)
    row["thought_answer"] = b_th[-1] if (so and b_th) else None
    row["answers_agree"] = (_norm_answer(row["thought_answer"]) == _norm_answer(b_so[-1])
                            if row["thought_answer"] is not None and b_so else None)
    # truncation
    tail_text = (so or th).rstrip()
    last = tail_text[-1:] if tail_text else ""
    row["thought_unclosed"] = thought_closed is False
    row["no_final_answer"] = not (b_th or b_so) and not _FINAL_PHRASE.search((so or th)[-3000:])
    row["ends_mid_sentence"] = bool(tail_text) and last not in _ENDS_OK
    row["finish_length"] = None if finish_reason is None else finish_reason == "length"
    reasons = []
    if row["thought_unclosed"]:
        reasons.append("thought_unclosed")
    if row["finish_length"]:
        reasons.append("finish_length")
    has_th, has_so = bool(th) and not th.isspace(), bool(so) and not so.isspace()
    if not (has_th or has_so):
        reasons.append("empty")
    elif row["no_final_answer"] and row["ends_mid_sentence"]:
        reasons.append("mid_sentence_no_answer")
    row["truncation_reasons"] = reasons
    row["truncated"] = bool(reasons)
    # loops
    raw = full.encode("utf-8", "surrogatepass")
    row["rep_ngram_share"] = round(share, 4)
    row["tail_rep_ngram_share"] = round(tail_share, 4)
    row["longest_repeat_words"] = int(longest)
    # zlib, not a faster deflate: ISA-L's level 1 is 4x faster but its output for the same input varied
    # between processes (a Ray worker and the driver stored different ratios), and a signal must not
    row["compression_ratio"] = round(len(zlib.compress(raw, 1)) / len(raw), 4) if raw else None
    row["looping"] = words >= cfg.loop_min_words and (share >= cfg.loop_share or tail_share >= cfg.loop_tail_share)
    # language mixing: letters of other scripts over all letters
    row["foreign_script_share"] = round(other / letters, 4) if letters else 0.0
    row["language_mixed"] = row["foreign_script_share"] >= cfg.foreign_share
    # format
    row["has_thought"], row["has_solution"] = has_th, has_so
    row["tags_well_formed"] = thought_closed is not False and not (_TAG.search(th) or _TAG.search(so))
    row["format_ok"] = row["has_thought"] and row["has_solution"] and row["tags_well_formed"]
    return row, markers


# ---- per problem -------------------------------------------------------------------------------------

def problem_signals(problem: str, answer: str | None, cfg: SignalConfig,
                    compiled: dict[str, re.Pattern] | None = None) -> dict[str, Any]:
    """Unsuitable-problem signals: per-reason booleans, the reasons that count, and matched snippets."""
    compiled = compiled or {k: re.compile(v, re.IGNORECASE) for k, v in cfg.problem_patterns.items()}
    hits: dict[str, bool] = {}
    evidence: dict[str, str] = {}
    for reason, pat in compiled.items():
        m = pat.search(problem or "")
        hits[reason] = m is not None
        if m:
            evidence[reason] = m.group(0)[:80]
    hits["no_reference"] = answer is None or not str(answer).strip()
    reasons = [r for r in cfg.unsuitable_reasons if hits.get(r)]
    return {"is_image": hits.get("image", False), "is_proof": hits.get("proof", False),
            "is_multiple_choice": hits.get("multiple_choice", False),
            "is_multi_part": hits.get("multi_part", False), "no_reference": hits["no_reference"],
            "unsuitable": bool(reasons), "unsuitable_reasons": reasons, "evidence": evidence}
