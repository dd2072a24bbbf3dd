"""The lexical ensemble: one index over benchmark items, queried with each problem (or trace) text.

Methods (each recorded separately, so a report can say which one caught what):
- exact   : equal token sequences (LaTeX-, case-, whitespace- and boilerplate-insensitive).
- ngram   : share of the item's word n-grams (default 8) found in the text, or a minimum count of them
            (a long verbatim passage inside a longer text).
- masked  : the same two tests with every number masked: copies with the numbers changed.
- fuzzy   : rapidfuzz ratio of the token strings for short texts, where n-grams have nothing to hold on
            to.
ngram and fuzzy also require the same numbers (a copy with other numbers is the masked method's call,
which has its own, stricter thresholds: number-masked templates are less specific).
N-grams found in many items of a benchmark ("express your answer as a common fraction") are boilerplate:
they are left out of that benchmark's index and shares. Every rule is per benchmark, so the matches of
a benchmark never depend on the other benchmarks indexed with it (scan.py relies on that)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from .text import MASK, Tokens, tokenize

LEXICAL_METHODS = ("exact", "ngram", "masked", "fuzzy")


@dataclass(frozen=True)
class MatchConfig:
    """Thresholds of the lexical methods (defaults measured by bench/decontam_bench.py)."""

    ngram: int = 8                  # n of the word n-grams
    ngram_min_share: float = 0.6    # flag when this share of the item's n-grams is in the text ...
    ngram_min_text_share: float = 0.3  # ... and this share of the text's (a short item inside a long text is not a copy)
    ngram_min_count: int = 40       # ... or at least this many of them (long passage in a longer text)
    masked_min_share: float = 0.85  # share of the item's number-masked n-grams
    masked_min_text_share: float = 0.7  # ... and this share of the text's (both ways: no containment)
    masked_min_tokens: int = 14     # masked methods need this many tokens (short templates are generic)
    masked_min_words: int = 8       # ... and this many non-number tokens in the benchmark item
    min_number_agreement: float = 0.9  # ngram/fuzzy: similarity of the number sequences (same numbers)
    fuzzy_max_tokens: int = 40      # fuzzy compares texts (and items) up to this many tokens
    fuzzy_min_ratio: float = 85.0   # rapidfuzz ratio (0-100) of the token strings
    common_ngram_items: int = 8     # an n-gram in more benchmark items than this is boilerplate
    fuzzy_candidates: int = 20      # short items verified per text (ranked by shared 3-grams)
    borderline: bool = False        # also return near misses (Match.near) for the LLM judge
    borderline_ngram_share: float = 0.3   # near miss: this share of the item's (plain or masked) n-grams
    borderline_fuzzy_ratio: float = 75.0  # near miss: this fuzzy ratio
    methods: tuple[str, ...] = LEXICAL_METHODS

    def key(self) -> str:
        return repr(sorted(asdict(self).items()))


@dataclass(slots=True)
class Match:
    item: int          # index into the index's items
    method: str
    score: float
    text_ranges: list[tuple[int, int]] = field(default_factory=list)   # token index ranges
    item_ranges: list[tuple[int, int]] = field(default_factory=list)
    near: bool = False  # under the method's threshold but over its borderline floor (for the LLM judge)


def _grams(toks: tuple[str, ...], n: int) -> dict[int, int]:
    """hash of each distinct n-gram -> its first position."""
    out: dict[int, int] = {}
    for i in range(len(toks) - n + 1):
        out.setdefault(hash(toks[i:i + n]), i)
    return out


class BenchmarkIndex:
    """items: (benchmark, benchmark_id, problem) triples."""

    def __init__(self, items: list[tuple[str, str, str]], cfg: MatchConfig = MatchConfig()):
        self.items = items
        self.cfg = cfg
        n = cfg.ngram
        self.tokens: list[Tokens] = [tokenize(p) for _, _, p in items]
        self.masked: list[tuple[str, ...]] = [t.masked() for t in self.tokens]
        self.exact: dict[int, list[int]] = defaultdict(list)
        self.exact_masked: dict[int, list[int]] = defaultdict(list)
        self.post: dict[int, list[int]] = defaultdict(list)
        self.post_masked: dict[int, list[int]] = defaultdict(list)
        self.short: dict[int, list[int]] = defaultdict(list)
        self.canon: list[str] = []
        for i, (tk, mk) in enumerate(zip(self.tokens, self.masked)):
            self.canon.append(" ".join(tk.toks))
            if tk.toks:
                self.exact[hash(tk.toks)].append(i)
                if self._masked_ok(mk):
                    self.exact_masked[hash(mk)].append(i)
            for g in _grams(tk.toks, n):
                self.post[g].append(i)
            if self._masked_ok(mk):
                for g in _grams(mk, n):
                    self.post_masked[g].append(i)
            if 0 < len(tk.toks) <= cfg.fuzzy_max_tokens:
                for g in _grams(tk.toks, 3):
                    self.short[g].append(i)
        # Boilerplate n-grams (in more than `common_ngram_items` items of one benchmark) leave that
        # benchmark's postings and shares. Everything is per benchmark, so a benchmark's matches never
        # depend on which other benchmarks are scanned with it (incremental scans stay exact).
        self.bench = [b for b, _, _ in items]
        self.common = self._prune(self.post, cfg.common_ngram_items)
        self.common_masked = self._prune(self.post_masked, cfg.common_ngram_items)
        self.n_grams = Counter(i for v in self.post.values() for i in v)
        self.n_grams_masked = Counter(i for v in self.post_masked.values() for i in v)
        # 3-grams of many short items ("what is the") only slow candidate ranking down
        self._prune(self.short, 8 * cfg.common_ngram_items)

    def _prune(self, post: dict[int, list[int]], limit: int) -> dict[str, set[int]]:
        """Drop, per benchmark, postings of grams found in more than `limit` of its items."""
        common: dict[str, set[int]] = defaultdict(set)
        for g, v in list(post.items()):
            if len(v) <= limit:
                continue
            per = Counter(self.bench[i] for i in v)
            drop = {b for b, c in per.items() if c > limit}
            for b in drop:
                common[b].add(g)
            kept = [i for i in v if self.bench[i] not in drop]
            if kept:
                post[g] = kept
            elif drop:
                del post[g]
        return common

    def _masked_ok(self, mk: tuple[str, ...]) -> bool:
        return (len(mk) >= self.cfg.masked_min_tokens
                and sum(t != MASK for t in mk) >= self.cfg.masked_min_words)

    # -- query ---------------------------------------------------------------------------------
    def match(self, text: str, methods: tuple[str, ...] | None = None,
              containment: bool = False) -> tuple[Tokens, list[Match]]:
        """Matches of one text. containment=True (long texts such as traces): an item counts when its
        n-grams are inside the text, whatever else the text holds and whatever its numbers."""
        cfg = self.cfg
        methods = cfg.methods if methods is None else methods
        tk = tokenize(text)
        toks = tk.toks
        if not toks:
            return tk, []
        mk = tk.masked()
        found: dict[tuple[int, str], Match] = {}
        whole = [(0, len(toks))]

        def add(m: Match):
            k = (m.item, m.method)
            old = found.get(k)
            if old is None or (old.near and not m.near) or (old.near == m.near and old.score < m.score):
                found[k] = m

        if "exact" in methods:
            for i in self.exact.get(hash(toks), ()):
                add(Match(i, "exact", 1.0, whole, [(0, len(self.tokens[i].toks))]))
        if "masked" in methods and len(mk) >= cfg.masked_min_tokens:
            for i in self.exact_masked.get(hash(mk), ()):
                if (i, "exact") not in found:
                    add(Match(i, "masked", 1.0, whole, [(0, len(self.tokens[i].toks))]))
        if containment:
            self._ngram(toks, self.post, self.n_grams, self.common, cfg.ngram_min_share, 0.0, "ngram",
                        False, add, None)
            return tk, list(found.values())
        if "ngram" in methods:
            self._ngram(toks, self.post, self.n_grams, self.common, cfg.ngram_min_share,
                        cfg.ngram_min_text_share, "ngram", False, add, tk.numbers())
        if "masked" in methods and len(mk) >= cfg.masked_min_tokens:
            self._ngram(mk, self.post_masked, self.n_grams_masked, self.common_masked, cfg.masked_min_share,
                        cfg.masked_min_text_share, "masked", True, add)
        if "fuzzy" in methods and len(toks) <= cfg.fuzzy_max_tokens * 1.25:
            self._fuzzy(tk, add)
        # a pair already caught exactly needs no weaker evidence; a near miss only when nothing caught it
        exact_items = {i for (i, meth), m in found.items() if meth == "exact"}
        caught = {i for (i, _), m in found.items() if not m.near}
        return tk, [m for (i, meth), m in found.items()
                    if (meth == "exact" or i not in exact_items) and (not m.near or i not in caught)]

    def _numbers_agree(self, numbers: tuple[str, ...], i: int) -> bool:
        """The number sequences of the text and item are (nearly) the same."""
        theirs = self.tokens[i].numbers()
        if not theirs and not numbers:
            return True
        return Indel.normalized_similarity(numbers, theirs) >= self.cfg.min_number_agreement

    def _ngram(self, toks, post, n_grams, common, min_share, min_text_share, method, masked, add, numbers=()):
        n = self.cfg.ngram
        grams = _grams(toks, n)
        hits: dict[int, list[int]] = defaultdict(list)
        for g, pos in grams.items():
            for i in post.get(g, ()):
                hits[i].append(pos)
        if not hits:
            return
        n_text: dict[str, int] = {}
        for i, positions in hits.items():
            b = self.bench[i]
            if b not in n_text:
                n_text[b] = max(1, len(grams) - len(common[b].intersection(grams)) if b in common else len(grams))
            share = len(positions) / max(1, n_grams[i])
            text_share = len(positions) / n_text[b]
            passage = len(positions) >= self.cfg.ngram_min_count
            # plain n-grams stand for "same text, same numbers"; other numbers are the masked method's call
            ok = passage or (share >= min_share and text_share >= min_text_share
                             and (masked or numbers is None or self._numbers_agree(numbers, i)))
            near = not ok and self.cfg.borderline and share >= self.cfg.borderline_ngram_share
            if not ok and not near:
                continue
            item_toks = self.masked[i] if masked else self.tokens[i].toks
            item_pos = [p for g, p in _grams(item_toks, n).items() if g in grams]
            add(Match(i, method, round(min(1.0, share), 4),
                      [(p, p + n) for p in positions], [(p, p + n) for p in item_pos], near))

    def _fuzzy(self, tk: Tokens, add):
        cfg = self.cfg
        counts: Counter = Counter()
        short = self.short
        for g in _grams(tk.toks, 3):
            v = short.get(g)
            if v:
                counts.update(v)
        canon = " ".join(tk.toks)
        numbers = tk.numbers()
        floor = cfg.borderline_fuzzy_ratio if cfg.borderline else cfg.fuzzy_min_ratio
        # the best candidates of each benchmark (per benchmark: independent of the others scanned);
        # a pair near the fuzzy floor shares far more than a quarter of its 3-grams
        least = max(1, (len(tk.toks) - 2) // 4)
        taken: Counter = Counter()
        for i, _ in sorted(((i, c) for i, c in counts.items() if c >= least), key=lambda kv: (-kv[1], kv[0])):
            b = self.bench[i]
            if taken[b] >= cfg.fuzzy_candidates:
                continue
            taken[b] += 1
            r = fuzz.ratio(canon, self.canon[i], score_cutoff=floor)
            if not r:
                continue
            # plain fuzzy means "edited text, same numbers": numbers changed is the masked method's call
            ok = r >= cfg.fuzzy_min_ratio and self._numbers_agree(numbers, i)
            if ok or (cfg.borderline and r >= cfg.borderline_fuzzy_ratio):
                add(Match(i, "fuzzy", round(r / 100, 4), *self._aligned(canon, self.canon[i]), near=not ok))

    @staticmethod
    def _aligned(a: str, b: str):
        """Token ranges of the equal blocks of a character alignment of two token strings."""
        ta, tb = _char_to_token(a), _char_to_token(b)
        ra, rb = [], []
        for op in Indel.opcodes(a, b):
            if op.tag == "equal" and op.src_end - op.src_start >= 3:
                ra.append((ta[op.src_start], ta[op.src_end - 1] + 1))
                rb.append((tb[op.dest_start], tb[op.dest_end - 1] + 1))
        return ra, rb


def _char_to_token(s: str) -> list[int]:
    out, k = [], 0
    for ch in s:
        out.append(k)
        if ch == " ":
            k += 1
    return out
