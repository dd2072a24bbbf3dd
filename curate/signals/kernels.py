"""Compiled (numba) loops of the signals stage over the code points of a batch of texts.

The stage's cost is a few passes over 2 GB of text per 100k traces; in Python each pass runs at 5-20 MiB/s
per core. These kernels walk a batch's code points (one uint32 array, texts delimited by offsets) once per
signal at 50-200 MiB/s:

- `count_pieces`: token counts for tokenizers whose pre-tokenizer is the Qwen2 split pattern (QWEN2_SPLIT).
  BPE never merges across pre-token pieces, so a text's count is the sum of its pieces' counts. The kernel
  splits with a hand-written automaton equivalent to the pattern and looks each piece up in a hash table
  of piece -> token count; pieces not yet in the table are returned and counted once by the real BPE
  (tokenize.py). Equal to the tokenizer's own counts (tests/test_signals.py checks every real text).
- `word_repetition`: the loop signals over whitespace-separated, lowercased words.
- `text_stats`: step lines, paragraphs and letters by script, in one pass.

Character classes come from tables built once per process by running the very regexes the kernels stand
in for over every code point (and `str.lower`), so the two agree on every character."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numba as nb
import numpy as np

# the split pattern of Qwen2 / Qwen2.5 / Qwen3 tokenizer.json files that count_pieces implements
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")

OTHER, LETTER, NUMBER, SPACE, NEWLINE = 0, 1, 2, 3, 4   # piece classes; NEWLINE = \r or \n
SPACE_F, DIGIT_F, LETTER_F, LATIN_GREEK_F, S_F = 1, 2, 4, 8, 16   # text_tables flags


@dataclass(frozen=True)
class Encoded:
    """A batch of texts as the kernels read it: their code points end to end, text t at offs[t]:offs[t+1]."""

    texts: list[str]
    cp: np.ndarray      # uint32; a lone surrogate is its own code point
    offs: np.ndarray    # int64, len(texts) + 1
    surrogates: bool    # whether a text holds a lone surrogate


def encode(texts: list[str]) -> Encoded:
    """Text by text into one preallocated array (no joined copy of the batch: a batch of 2,048 traces is
    ~50 MB of text, 4 bytes per character here)."""
    offs = np.zeros(len(texts) + 1, np.int64)
    np.cumsum([len(t) for t in texts], out=offs[1:])
    cp = np.empty(int(offs[-1]), np.uint32)
    surrogates = False
    for t, a, b in zip(texts, offs[:-1].tolist(), offs[1:].tolist()):
        if t.isascii():
            cp[a:b] = np.frombuffer(t.encode("ascii"), np.uint8)
            continue
        try:
            raw = t.encode("utf-32-le")
        except UnicodeEncodeError:
            raw, surrogates = t.encode("utf-32-le", "surrogatepass"), True
        cp[a:b] = np.frombuffer(raw, np.uint32)
    return Encoded(texts, cp, offs, surrogates)


def _all_chars() -> tuple[np.ndarray, str]:
    cps = np.concatenate([np.arange(0xD800), np.arange(0xE000, 0x110000)]).astype(np.uint32)
    return cps, cps.astype("<u4").tobytes().decode("utf-32-le")


def _matching(runs) -> np.ndarray:
    """The code points covered by a compiled `re`/`regex` pattern that matches runs of one character class."""
    cps, chars = _all_chars()
    return np.concatenate([cps[m.start():m.end()] for m in runs.finditer(chars)] or [cps[:0]])


@lru_cache(maxsize=1)
def piece_classes() -> np.ndarray:
    """Code point -> OTHER/LETTER/NUMBER/SPACE/NEWLINE, as the `regex` module classifies \\p{L}, \\p{N}, \\s."""
    import regex

    table = np.zeros(0x110000, np.uint8)
    for cls, pat in ((LETTER, r"\p{L}+"), (NUMBER, r"\p{N}+"), (SPACE, r"\s+")):
        table[_matching(regex.compile(pat))] = cls
    table[[10, 13]] = NEWLINE
    return table


@lru_cache(maxsize=1)
def text_tables() -> np.ndarray:
    """Code point -> bit flags: SPACE_F (`\\s` of Python's re, = str.isspace), DIGIT_F (`\\d`, =
    str.isdecimal), LETTER_F (`[^\\W\\d_]`), LATIN_GREEK_F (text._LATIN_GREEK), S_F (what "s" matches
    under re.IGNORECASE: s, S, long s)."""
    import re

    from .text import _LATIN_GREEK, _LETTER

    table = np.zeros(0x110000, np.uint8)
    for flag, runs in ((SPACE_F, re.compile(r"\s+")), (DIGIT_F, re.compile(r"\d+")),
                       (LETTER_F, re.compile(_LETTER.pattern + "+")),
                       (LATIN_GREEK_F, re.compile(_LATIN_GREEK.pattern + "+")), (S_F, re.compile("s+", re.I))):
        table[_matching(runs)] |= flag
    return table


@lru_cache(maxsize=1)
def lower_table() -> np.ndarray:
    """The one-character `str.lower` of every code point (a character whose lowercase is longer, U+0130
    only, stays itself)."""
    _, chars = _all_chars()
    lower = np.arange(0x110000, dtype=np.uint32)
    for c in chars:
        lc = c.lower()
        if lc != c and len(lc) == 1:
            lower[ord(c)] = ord(lc)
    return lower


# ---- token counts ------------------------------------------------------------------------------------

@nb.njit(cache=True, nogil=True, inline="always")
def _run(cp, j, end, tab, cls):
    while j < end and tab[cp[j]] == cls:
        j += 1
    return j


@nb.njit(cache=True, nogil=True, inline="always")
def _piece_end(cp, i, end, tab):
    """End of the pre-token piece starting at i: QWEN2_SPLIT's alternatives in order, leftmost-first."""
    c = cp[i]
    k = tab[c]
    if c == 39 and i + 1 < end:                        # (?i:'s|'t|'re|'ve|'m|'ll|'d); long s folds to s
        d = cp[i + 1] | 32
        if d == 115 or d == 116 or d == 109 or d == 100 or cp[i + 1] == 0x17F:
            return i + 2
        if (d == 114 or d == 118) and i + 2 < end and (cp[i + 2] | 32) == 101:
            return i + 3
        if d == 108 and i + 2 < end and (cp[i + 2] | 32) == 108:
            return i + 3
    nk = tab[cp[i + 1]] if i + 1 < end else 255
    if k == LETTER:                                    # [^\r\n\p{L}\p{N}]?\p{L}+
        return _run(cp, i + 1, end, tab, LETTER)
    if (k == OTHER or k == SPACE) and nk == LETTER:
        return _run(cp, i + 2, end, tab, LETTER)
    if k == NUMBER:                                    # \p{N}
        return i + 1
    if k == OTHER:                                     # ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        return _run(cp, _run(cp, i + 1, end, tab, OTHER), end, tab, NEWLINE)
    if c == 32 and nk == OTHER:
        return _run(cp, _run(cp, i + 2, end, tab, OTHER), end, tab, NEWLINE)
    r = i                                              # a whitespace run
    last_nl = -1
    while r < end and tab[cp[r]] >= SPACE:
        if tab[cp[r]] == NEWLINE:
            last_nl = r
        r += 1
    if last_nl >= 0:                                   # \s*[\r\n]+
        return last_nl + 1
    if r == end or r - i == 1:                         # \s+(?!\S) at the end of the text; \s+
        return r
    return r - 1                                       # \s+(?!\S): the last space goes with the next piece


@nb.njit(cache=True, nogil=True)
def count_pieces(cp, offs, tab, keys, vals, miss, new_limit):
    """Token counts of the texts cp[offs[t]:offs[t+1]], from the table keys/vals (open addressing, 64-bit
    piece hashes, 0 = empty, value -1 = not counted yet). A piece whose count is unknown is inserted with -1
    and each of its occurrences is written to `miss` as (text, slot, start, end), leaving it out of the
    count; the caller fills the slot and adds it. Returns (counts, occurrences, new keys). When the
    occurrences outgrow `miss` (the rest are not written) or the new keys reach `new_limit` (the scan
    stops), the caller keeps the counts it can fill, grows the table and runs the batch again."""
    mask = np.uint64(len(keys) - 1)
    counts = np.zeros(len(offs) - 1, np.int64)
    n_miss = 0
    n_new = 0
    for t in range(len(offs) - 1):
        i, end, total = offs[t], offs[t + 1], 0
        while i < end:
            j = _piece_end(cp, i, end, tab)
            h = np.uint64(14695981039346656037)                    # FNV-1a over the code points
            for p in range(i, j):
                h = (h ^ np.uint64(cp[p])) * np.uint64(1099511628211)
            h = (h ^ np.uint64(j - i)) * np.uint64(0x9E3779B97F4A7C15)
            h = h if h != 0 else np.uint64(1)
            s = (h >> np.uint64(17)) & mask
            while keys[s] != h and keys[s] != 0:
                s = (s + np.uint64(1)) & mask
            if keys[s] == 0:
                keys[s] = h
                vals[s] = -1
                n_new += 1
                if n_new >= new_limit:
                    return counts, n_miss, n_new
            if vals[s] >= 0:
                total += vals[s]
            else:
                if n_miss < miss.shape[0]:
                    miss[n_miss, 0], miss[n_miss, 1], miss[n_miss, 2], miss[n_miss, 3] = t, s, i, j
                n_miss += 1
            i = j
        counts[t] = total
    return counts, n_miss, n_new


@nb.njit(cache=True, nogil=True)
def rehash(keys, vals, new_keys, new_vals):
    mask = np.uint64(len(new_keys) - 1)
    for s in range(len(keys)):
        h = keys[s]
        if h != 0 and vals[s] >= 0:
            t = (h >> np.uint64(17)) & mask
            while new_keys[t] != 0:
                t = (t + np.uint64(1)) & mask
            new_keys[t] = h
            new_vals[t] = vals[s]


# ---- repetition --------------------------------------------------------------------------------------

@nb.njit(cache=True, nogil=True)
def word_repetition(cp, offs, tab, lower, n, out):
    """Per document d (texts 2d and 2d+1 of the batch read as one, e.g. a trace's thought and solution),
    over its lowercased whitespace-separated words: out[d] = (words, share of word n-grams seen earlier in
    the document, the same share over the last quarter of the n-grams, longest run of words whose n-grams
    all occurred earlier + n - 1; both 0 with fewer than n + 1 words)."""
    for d in range(len(out)):
        a, mid, b = offs[2 * d], offs[2 * d + 1], offs[2 * d + 2]
        hashes = np.empty((b - a) // 2 + 2, np.uint64)
        m, in_word, h = 0, False, np.uint64(0)
        for p in range(a, b):
            blank = tab[cp[p]] & SPACE_F
            if in_word and (p == mid or blank):         # a word ends (the second text starts a new one)
                hashes[m] = h
                m += 1
                in_word = False
            if not blank:
                if not in_word:
                    in_word, h = True, np.uint64(14695981039346656037)
                h = (h ^ np.uint64(lower[cp[p]])) * np.uint64(1099511628211)
        if in_word:
            hashes[m] = h
            m += 1
        out[d, 0] = m
        g = m - n + 1
        if g <= 1:
            out[d, 1], out[d, 2], out[d, 3] = 0.0, 0.0, 0.0
            continue
        size = 1
        while size < 2 * g:
            size *= 2
        table = np.zeros(size, np.uint64)
        mask = np.uint64(size - 1)
        repeated = np.zeros(g, np.bool_)
        for i in range(g):
            x = np.uint64(0)
            for k in range(n):
                x = x * np.uint64(1_000_003) + hashes[i + k]
            x = x if x != 0 else np.uint64(1)
            s = (x * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(20) & mask
            while table[s] != 0 and table[s] != x:
                s = (s + np.uint64(1)) & mask
            repeated[i] = table[s] == x
            table[s] = x
        tail = max(1, g // 4)
        rep = 0
        tail_rep = 0
        longest = 0
        run = 0
        for i in range(g):
            if repeated[i]:
                rep += 1
                if i >= g - tail:
                    tail_rep += 1
                run += 1
                longest = max(longest, run)
            else:
                run = 0
        out[d, 1] = rep / g
        out[d, 2] = tail_rep / tail
        out[d, 3] = longest + n - 1 if longest else 0


# ---- steps, paragraphs, letters ---------------------------------------------------------------------

@nb.njit(cache=True, nogil=True, inline="always")
def _step_at(cp, j, b, tab):
    """End of a match of text._STEP at the line start j, or -1. Greedy throughout: no shorter choice can
    let the rest match (each next token starts with a character the shortened run holds none of)."""
    while j < b and tab[cp[j]] & SPACE_F:
        j += 1
    if j + 1 < b and cp[j] == 42 and cp[j + 1] == 42:            # **
        j += 2
    elif j < b and cp[j] == 35:                                 # #+\s*
        while j < b and cp[j] == 35:
            j += 1
        while j < b and tab[cp[j]] & SPACE_F:
            j += 1
    if (j + 3 < b and tab[cp[j]] & S_F and (cp[j + 1] | 32) == 116 and (cp[j + 2] | 32) == 101
            and (cp[j + 3] | 32) == 112):                         # step\s*\d+
        k = j + 4
        while k < b and tab[cp[k]] & SPACE_F:
            k += 1
        d = k
        while d < b and tab[cp[d]] & DIGIT_F:
            d += 1
        if d > k:
            return d
    d = j                                                       # \d+[.)]\s
    while d < b and tab[cp[d]] & DIGIT_F:
        d += 1
    if d > j and d + 1 < b and (cp[d] == 46 or cp[d] == 41) and tab[cp[d + 1]] & SPACE_F:
        return d + 2
    return -1


@nb.njit(cache=True, nogil=True)
def text_stats(cp, offs, tab, out):
    """Per text t: out[t] = (steps: matches of text._STEP, as re.findall counts them; paragraphs: the
    non-blank pieces of `_PARA.split` (runs of non-space separated by a space run holding two newlines);
    letters; letters of scripts other than Latin and Greek)."""
    for t in range(len(offs) - 1):
        a, b = offs[t], offs[t + 1]
        steps, paras, newlines, letters, other = 0, 0, 0, 0, 0
        seen = False
        free = a                                                # steps: where the next match may start
        if b > a:
            e = _step_at(cp, a, b, tab)                         # ^ of MULTILINE: the start and after \n
            if e > 0:
                steps, free = 1, e
        for p in range(a, b):
            c = cp[p]
            f = tab[c]
            if f & SPACE_F:
                if c == 10:
                    newlines += 1
                    if p + 1 >= free and p + 1 < b:
                        e = _step_at(cp, p + 1, b, tab)
                        if e > 0:
                            steps, free = steps + 1, e
            else:
                if not seen or newlines >= 2:
                    paras += 1
                seen, newlines = True, 0
                if f & LETTER_F:
                    letters += 1
                    if not f & LATIN_GREEK_F:
                        other += 1
        out[t, 0], out[t, 1], out[t, 2], out[t, 3] = steps, paras, letters, other
