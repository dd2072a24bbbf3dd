"""Vectorized shingling and MinHash with numpy (no per-shingle Python work).

A batch of texts becomes one byte array. Word tokens are hashed all at once with a polynomial hash
computed from prefix sums (mod 2^64: numpy's uint64 arithmetic wraps, and an odd base is invertible),
n consecutive token hashes are combined into a shingle hash and mixed (splitmix64 finalizer), and the
K MinHash values come from multiply-add hashing `a_k * x + b_k (mod 2^64)` (Dietzfelbinger's
multiply-add-shift family: ordering by the full 64-bit value equals ordering by its top bits), reduced
per document with `np.minimum.reduceat`. Character n-grams (problems) use the bytes themselves as tokens.

Everything is deterministic for a given seed, so signatures stored in the catalog stay comparable with
signatures computed later (the incremental mode)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

HASH_VERSION = 2  # bump when hashing changes: stored signatures of older versions are recomputed
EMPTY = np.uint32(0xFFFFFFFF)  # the signature value of a text without any shingle
_WS = np.zeros(256, dtype=bool)
_WS[[9, 10, 11, 12, 13, 32]] = True
# LaTeX spacing that must not change a text's shingles (`a\,b` and `a b` are the same text)
_LATEX_SPACES = ("\\,", "\\;", "\\:", "\\!", "\\qquad", "\\quad")


def light_normalize(text: str) -> str:
    """Case folded, LaTeX spacing removed (`\\ ` is a space; \\left/\\right dropped before a delimiter);
    whitespace is handled by the tokenizers (runs of it separate words)."""
    text = text.lower()
    if "\\" in text:
        for s in _LATEX_SPACES:
            text = text.replace(s, "")
        text = _LEFT_RIGHT.sub("", text.replace("\\ ", " "))
    return text


_LEFT_RIGHT = re.compile(r"\\(?:left|right)(?![a-z])")
_SPACE_CMDS = (b"qquad", b"quad", b"left", b"right")


def _drop_latex_spacing(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Remove LaTeX spacing commands (\\, \\; \\: \\! \\quad \\qquad \\left \\right) from a byte array;
    `\\ ` becomes a plain space. Returns the new array and the sorted positions removed (None: none)."""
    bs = np.flatnonzero(buf[:-8] == 92)
    if len(bs) == 0:
        return buf, None
    nxt = buf[bs + 1]
    one = bs[np.isin(nxt, np.frombuffer(b",;:!", np.uint8))]
    drop = [one, one + 1]
    for cmd in _SPACE_CMDS:
        c = np.frombuffer(cmd, np.uint8)
        m = np.ones(len(bs), bool)
        for i, ch in enumerate(c):
            m &= buf[bs + 1 + i] == ch
        after = buf[bs + 1 + len(c)]
        m &= ~((after >= 97) & (after <= 122))  # the command ends there (\\leftarrow is not \\left)
        drop += [bs[m] + i for i in range(len(c) + 1)]
    space = bs[nxt == 32]
    if len(space):  # "\\ " is an explicit space
        buf = buf.copy()
        buf[space] = 32
    dropped = np.unique(np.concatenate(drop))
    if len(dropped) == 0:
        return buf, None
    return np.delete(buf, dropped), dropped


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer, in place on a uint64 array."""
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


@dataclass(frozen=True)
class Hasher:
    """The hash functions of one MinHash configuration (shingle kind, n, permutations, seed)."""

    unit: str          # "word" | "char"
    n: int
    permutations: int
    seed: int
    scheme: str = "oph"  # "oph": one-permutation hashing, "kperm": K multiply-add hash functions

    def __post_init__(self):
        rng = np.random.default_rng(self.seed)
        object.__setattr__(self, "_a", rng.integers(1, 1 << 63, self.permutations, dtype=np.uint64) * np.uint64(2) + np.uint64(1))
        object.__setattr__(self, "_b", rng.integers(0, 1 << 63, self.permutations, dtype=np.uint64))
        object.__setattr__(self, "_comb", rng.integers(1, 1 << 63, self.n, dtype=np.uint64) | np.uint64(1))
        base = int(rng.integers(1 << 20, 1 << 31)) | 1  # odd: invertible mod 2^32
        object.__setattr__(self, "_base", base)
        object.__setattr__(self, "_base_inv", pow(base, -1, 1 << 32))

    def __getstate__(self):
        # the power tables are rebuilt on demand: do not ship them to every worker task
        return {k: v for k, v in self.__dict__.items() if k not in ("_inv_cache", "_pow_tabs")}

    def __setstate__(self, state):
        self.__dict__.update(state)

    @property
    def key(self) -> str:
        """Identifies the configuration; stored with each signature so a changed config recomputes."""
        return f"h{HASH_VERSION}-{self.unit}{self.n}-{self.scheme}{self.permutations}-s{self.seed}"

    # -- tokens --------------------------------------------------------------------------------
    def _word_tokens(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Hashes of the whitespace-separated words of every text, and each text's token offsets."""
        enc = [t.encode("utf-8", "surrogatepass") for t in texts]
        lens = np.fromiter((len(e) for e in enc), dtype=np.int64, count=len(enc))
        # one separator byte between texts, so no word spans two texts. Case folding is ASCII-only:
        # fast, and right for math (a Greek capital is another symbol than its small letter)
        buf = np.frombuffer(b" ".join(enc).lower() + b" ", dtype=np.uint8)
        text_starts = np.concatenate(([0], np.cumsum(lens + 1)[:-1]))
        buf, dropped = _drop_latex_spacing(buf)
        if dropped is not None:  # where each text starts after the removal
            text_starts = text_starts - np.searchsorted(dropped, text_starts)
        nonws = buf > 32  # ASCII whitespace and control characters separate words
        # word edges alternate start/end; the buffer ends with a separator, so every word ends
        edges = np.flatnonzero(nonws[1:] != nonws[:-1]) + 1
        if nonws[0]:
            starts = np.concatenate(([0], edges[1::2]))
            ends = edges[0::2]
        else:
            starts, ends = edges[0::2], edges[1::2]
        if len(starts) == 0:
            return np.zeros(0, np.uint64), np.zeros(len(texts) + 1, np.int64)
        # polynomial hash of buf[s:e] = (Q[e] - Q[s]) * B^(e-1), Q[i] = sum_{j<i} buf[j] * B^-j (mod 2^32:
        # half the memory traffic of 64 bits; words are then combined and mixed in 64 bits). Word bytes
        # are never 0, so there is no leading-zero ambiguity.
        L = len(buf)
        q = np.empty(L + 1, dtype=np.uint32)
        q[0] = 0
        np.multiply(buf, self._inv_powers(L), out=q[1:])
        np.cumsum(q[1:], dtype=np.uint32, out=q[1:])  # dtype: numpy would accumulate in 64 bits
        tok = q[ends]
        tok -= q[starts]
        tok *= self._powers_at(ends - 1)
        tok = tok.astype(np.uint64)
        offsets = np.searchsorted(starts, np.append(text_starts, len(buf)))
        return tok, offsets

    def _inv_powers(self, L: int) -> np.ndarray:
        """B^-j for j < L, cached and grown geometrically (the same for every batch)."""
        cache = getattr(self, "_inv_cache", None)
        if cache is None or len(cache) < L:
            size = max(L, 2 * (0 if cache is None else len(cache)), 1 << 20)
            cache = np.full(size, self._base_inv, dtype=np.uint32)
            cache[0] = 1
            np.cumprod(cache, out=cache)
            object.__setattr__(self, "_inv_cache", cache)
        return cache[:L]

    def _powers_at(self, exp: np.ndarray) -> np.ndarray:
        """B^e for an array of exponents: two table look-ups (e = hi * 2^16 + lo)."""
        tabs = getattr(self, "_pow_tabs", None)
        if tabs is None:
            lo = np.full(1 << 16, self._base, dtype=np.uint32)
            lo[0] = 1
            np.cumprod(lo, out=lo)
            hi = np.full(1 << 16, pow(self._base, 1 << 16, 1 << 32), dtype=np.uint32)
            hi[0] = 1
            np.cumprod(hi, out=hi)
            tabs = (lo, hi)
            object.__setattr__(self, "_pow_tabs", tabs)
        lo, hi = tabs
        exp = exp.astype(np.int64)
        return lo[exp & 0xFFFF] * hi[exp >> 16]

    def _char_tokens(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Bytes of each text with whitespace runs collapsed to one space (char n-grams)."""
        enc = [" ".join(light_normalize(t).split()).encode("utf-8", "surrogatepass") for t in texts]
        lens = np.fromiter((len(e) for e in enc), dtype=np.int64, count=len(enc))
        tok = np.frombuffer(b"".join(enc), dtype=np.uint8).astype(np.uint64) + np.uint64(1)
        offsets = np.concatenate(([0], np.cumsum(lens)))
        return tok, offsets

    def tokens(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return self._word_tokens(texts) if self.unit == "word" else self._char_tokens(texts)

    # -- shingles ------------------------------------------------------------------------------
    def shingles(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mixed shingle hashes, per-text shingle offsets, exact keys) for a batch of texts.

        A text shorter than n tokens gets one shingle of all its tokens; an empty text gets none.
        The exact key sums the text's mixed shingle hashes (and its token count): equal for texts equal
        up to case, whitespace and LaTeX spacing (two different texts with one multiset of n-grams are
        not a practical concern for n >= 3)."""
        tok, off = self.tokens(texts)
        n = self.n
        counts = np.diff(off)
        T = len(tok)
        per_doc = np.maximum(counts - n + 1, 0)
        if T >= n:
            g = tok[: T - n + 1] * self._comb[0]
            for k in range(1, n):
                g += tok[k: T - n + 1 + k] * self._comb[k]
            # a shingle starting at one of the last n-1 positions of a text would cross into the next
            valid = np.ones(T - n + 1, bool)
            bad = (off[1:, None] - np.arange(1, n)[None, :]).ravel()
            valid[bad[(bad >= 0) & (bad < T - n + 1)]] = False
            sh = g[valid]
        else:
            sh = np.zeros(0, np.uint64)
        short = np.flatnonzero((counts > 0) & (counts < n))
        if len(short):
            extra = np.array([(tok[off[d]: off[d + 1]] * self._comb[: counts[d]]).sum(dtype=np.uint64)
                              for d in short], dtype=np.uint64)
            before = np.concatenate(([0], np.cumsum(per_doc)))[short]
            sh = np.insert(sh, before, extra)
            per_doc[short] = 1
        _mix64(sh)
        sh_off = np.concatenate(([0], np.cumsum(per_doc)))
        exact = np.zeros(len(texts), np.uint64)
        nz = per_doc > 0
        if nz.any():
            exact[nz] = np.add.reduceat(sh, sh_off[:-1][nz])
        exact = _mix64(exact + counts.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
        return sh, sh_off, exact

    # -- signatures ----------------------------------------------------------------------------
    def signatures(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """MinHash signatures (len(texts) x permutations, uint32), shingle counts, exact keys."""
        sh, sh_off, exact = self.shingles(texts)
        if self.scheme == "oph":
            sig = self._oph(sh, sh_off)
        elif self.scheme == "kperm":
            sig = self._kperm(sh, sh_off)
        else:
            raise ValueError(f"unknown MinHash scheme {self.scheme!r} (oph | kperm)")
        return sig, np.diff(sh_off), exact

    def _kperm(self, sh: np.ndarray, sh_off: np.ndarray, chunk: int = 1 << 15) -> np.ndarray:
        """Classic MinHash: K hash functions, the minimum of each over a text's shingles. O(K) per shingle."""
        D, K = len(sh_off) - 1, self.permutations
        sig = np.full((D, K), EMPTY, dtype=np.uint32)
        x = sh >> np.uint64(32)  # 32-bit keys for the multiply-add-shift family
        # (K x shingles) layout: reduceat along the contiguous axis is several times faster
        a, b = self._a[:, None], self._b[:, None]
        d = 0
        while d < D:
            # a chunk of whole documents, about `chunk` shingles (at least one document)
            e = min(D, max(d + 1, int(np.searchsorted(sh_off, sh_off[d] + chunk, side="right")) - 1))
            lo, hi = sh_off[d], sh_off[e]
            if hi > lo:
                h = a * x[None, lo:hi]
                h += b
                seg = sh_off[d:e] - lo
                nonempty = sh_off[d + 1: e + 1] > sh_off[d:e]
                red = np.minimum.reduceat(h, seg[nonempty], axis=1)
                sig[d:e][nonempty] = (red.T >> np.uint64(32)).astype(np.uint32)
            d = e
        return sig

    def _oph(self, sh: np.ndarray, sh_off: np.ndarray) -> np.ndarray:
        """One-permutation hashing (Li, Owen & Zhang 2012): the top bits of a shingle's hash pick one of
        K bins, the low 32 bits are its value, each bin keeps its minimum. Two texts agree on a bin with
        probability ~ Jaccard, like K-permutation MinHash, at O(1) per shingle instead of O(K).
        Bins left empty (texts with few shingles) borrow the next non-empty bin's value, shifted by the
        distance (rotation densification, Shrivastava & Li 2014), so empty bins never match by accident."""
        D, K = len(sh_off) - 1, self.permutations
        counts = np.diff(sh_off)
        h = sh  # already mixed, and seed-dependent through the n-gram combination constants
        bins = ((h >> np.uint64(32)) * np.uint64(K)) >> np.uint64(32)
        key = np.repeat(np.arange(D, dtype=np.int64) * K, counts) + bins.astype(np.int64)
        flat = np.full(D * K, EMPTY, dtype=np.uint32)
        np.minimum.at(flat, key, (h & np.uint64(0x7FFFFFFF)).astype(np.uint32))  # < EMPTY: never confused
        sig = flat.reshape(D, K)
        empty = sig == EMPTY
        empty[counts == 0] = False  # a text without shingles keeps EMPTY everywhere (never matched)
        if empty.any():
            src = sig.copy()
            for t in range(1, K):
                if not empty.any():
                    break
                nxt = np.roll(src, -t, axis=1)
                fill = empty & (nxt != EMPTY)
                sig[fill] = (nxt[fill].astype(np.uint64) + np.uint64(t) * np.uint64(0x9E3779B1) & np.uint64(0x7FFFFFFF)).astype(np.uint32)
                empty &= ~fill
        return sig

    def shingle_sets(self, texts: list[str]) -> list[np.ndarray]:
        """Sorted unique shingle hashes of each text (exact Jaccard verification). The top 32 bits of
        the mixed 64-bit hash: half the memory; a collision inside a pair of 5k-shingle sets is ~0.5%
        likely and moves the Jaccard by 1/5000."""
        sh, sh_off, _ = self.shingles(texts)
        top = (sh >> np.uint64(32)).astype(np.uint32)
        return [np.unique(top[sh_off[i]: sh_off[i + 1]]) for i in range(len(texts))]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard of two sorted unique hash arrays."""
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per (text, band): the band's rows hashed together (texts x bands)."""
    D = sig.shape[0]
    s = sig[:, : bands * rows].reshape(D, bands, rows).astype(np.uint64)
    key = np.zeros((D, bands), np.uint64)
    for r in range(rows):
        key = _mix64(key * np.uint64(0x100000001B3) + s[:, :, r] + np.uint64(r + 1))
    # the band index is part of the key, so equal rows in different bands never collide
    return _mix64(key + np.arange(bands, dtype=np.uint64)[None, :] * np.uint64(0x9E3779B97F4A7C15))


def collision_probability(j: float | np.ndarray, bands: int, rows: int):
    """P(two texts of Jaccard j share at least one band) = 1 - (1 - j^rows)^bands."""
    return 1.0 - (1.0 - np.asarray(j, dtype=float) ** rows) ** bands
