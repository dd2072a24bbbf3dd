"""Selection: from the candidates view to kept / dropped rows, with every reason and the funnel.

Steps, in funnel order (docs/build.md):
  1. `where` and `range`            -> not_selected
  2. each quality reason in `exclude` (QUALITY_REASONS order); a row carries every reason that applies
  3. dedup: inside each stored duplicate cluster, the kept member is re-picked by `dedup.keep` among the
     rows that passed 1-2; the others that passed are exact_duplicate / near_duplicate of it
  4. per_problem: at most N rows per canonical problem, in `dedup.keep` order      -> per_problem_cap
     then a sweep's `bin` on the rows left (so bins partition the base set)       -> not_selected (step bin)
  5. sample: seeded, optionally stratified and length-weighted                    -> sampled_out
Steps 3-5 only see the rows still in after the earlier steps, so their reasons appear only on those.
Everything here is a pure function of the candidates table and the recipe: same input, same output."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import polars as pl
import xxhash

from distillate.errors import DistillateError

from .recipe import QUALITY_REASONS, Recipe

# reason -> condition over the candidates columns
_QUALITY_EXPR = {
    "contaminated": pl.col("contaminated").fill_null(False),
    "unsuitable_problem": pl.col("unsuitable_problem").fill_null(False),
    "flagged": pl.col("flagged").fill_null(False),
    "truncated": pl.col("truncated").fill_null(False),
    "looping": pl.col("looping").fill_null(False),
    "no_answer": (pl.col("verdict") == "no_answer").fill_null(False),
    "answer_incorrect": (pl.col("verdict") == "incorrect").fill_null(False),
}


@dataclass
class Selection:
    rows: pl.DataFrame
    """One row per candidate: the candidates columns plus kept, reasons (list), step, details (dict)."""
    funnel: list[dict] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def kept(self) -> pl.DataFrame:
        return self.rows.filter(pl.col("kept"))

    @property
    def dropped(self) -> pl.DataFrame:
        return self.rows.filter(~pl.col("kept"))


def _order_cols(policy: str) -> tuple[list, list[bool]]:
    """Sort keys (ascending unless flagged) for a keep policy; ties always fall to seq, then trace_id."""
    length_known = pl.col("n_tokens").is_null()
    if policy == "stored":
        return [pl.col("_is_rep").not_(), "seq", "trace_id"], [False, False, False]
    if policy == "verified_first":
        return [(pl.col("verdict") == "correct").fill_null(False).not_(), "seq", "trace_id"], [False] * 3
    if policy == "shortest":
        return [length_known, "n_tokens", "n_chars", "seq", "trace_id"], [False] * 5
    if policy == "longest":
        return ([length_known, "n_tokens", "n_chars", "seq", "trace_id"], [False, True, True, False, False])
    return ["seq", "trace_id"], [False, False]  # first_seen


def _rank_within(df: pl.DataFrame, key: str, policy: str) -> pl.DataFrame:
    by, desc = _order_cols(policy)
    df = df.sort(by, descending=desc, nulls_last=True)
    return df.with_columns(pl.int_range(pl.len()).over(key).alias("_rank"))


def _uniform(seed: int, trace_id: str) -> float:
    # in (0, 1): depends only on (seed, trace_id)
    return (xxhash.xxh64_intdigest(f"{seed}:{trace_id}".encode()) + 0.5) / 2**64


def _allocate(sizes: dict, quota: int, allocation: str) -> dict:
    total = sum(sizes.values())
    quota = min(quota, total)
    keys = sorted(sizes, key=lambda k: (str(k)))
    if allocation == "equal":
        out = {k: 0 for k in keys}
        left, open_ = quota, [k for k in keys if sizes[k] > 0]
        while left > 0 and open_:
            share = max(1, left // len(open_))
            for k in sorted(open_, key=lambda k: (sizes[k], str(k))):
                take = min(share, sizes[k] - out[k], left)
                out[k] += take
                left -= take
                if left == 0:
                    break
            open_ = [k for k in open_ if out[k] < sizes[k]]
        return out
    # proportional, largest remainder (ties by stratum name: deterministic)
    exact = {k: quota * sizes[k] / total if total else 0 for k in keys}
    out = {k: math.floor(exact[k]) for k in keys}
    rest = quota - sum(out.values())
    for k in sorted(keys, key=lambda k: (-(exact[k] - out[k]), str(k)))[:rest]:
        out[k] += 1
    return out


def _sample(df: pl.DataFrame, recipe: Recipe) -> tuple[set[str], dict]:
    """Trace ids kept by the sampling step, and per-stratum info for the manifest."""
    s = recipe.sample
    n_in = df.height
    quota = s.n if s.n is not None else math.floor(s.fraction * n_in)
    stratum = pl.col(s.stratify).cast(pl.String).fill_null("(null)") if s.stratify else pl.lit("all")
    d = df.select("trace_id", "n_tokens", "n_chars", stratum.alias("_stratum"))
    u = [_uniform(s.seed, t) for t in d["trace_id"].to_list()]
    d = d.with_columns(pl.Series("_u", u, dtype=pl.Float64))
    length = pl.coalesce(pl.col("n_tokens").cast(pl.Float64), pl.col("n_chars").cast(pl.Float64) / 4).fill_null(1.0)
    if s.weight == "tokens":
        logw = length.clip(lower_bound=1.0).log()
    elif s.weight == "rank":
        # s1: within a stratum, weight 2^-rank by length (the longest has rank 0)
        rank = length.rank("ordinal", descending=True).over("_stratum").cast(pl.Float64) - 1
        logw = -rank * math.log(2)
    else:
        logw = pl.lit(0.0)
    # Gumbel-top-k == weighted sampling without replacement (Efraimidis-Spirakis), stable under underflow
    d = d.with_columns((logw - (-pl.col("_u").log()).log()).alias("_key"))
    sizes = dict(d.group_by("_stratum").len().iter_rows())
    alloc = _allocate(sizes, quota, s.allocation)
    d = d.sort(["_key", "trace_id"], descending=[True, False])
    d = d.with_columns(pl.int_range(pl.len()).over("_stratum").alias("_r"))
    quota_col = pl.col("_stratum").replace_strict(alloc, default=0, return_dtype=pl.Int64)
    keep = d.filter(pl.col("_r") < quota_col)["trace_id"].to_list()
    info = {"quota": quota, "input_rows": n_in,
            "strata": {str(k): {"rows": sizes[k], "kept": alloc[k]} for k in sorted(sizes, key=str)}}
    return set(keep), info


def select(cands: pl.DataFrame, recipe: Recipe) -> Selection:
    """Decide every candidate. `cands` is the candidates view plus `_selected` / `_where_null` (the `where`
    and `range` result, computed by DuckDB in build.py)."""
    exclude = set(recipe.exclude)
    warnings: list[str] = []
    df = cands
    n = df.height

    # 1-2: not_selected and quality reasons (all that apply, in funnel order)
    reason_cols = [pl.when(~pl.col("_selected")).then(pl.lit("not_selected"))]
    reason_cols += [pl.when(_QUALITY_EXPR[r]).then(pl.lit(r)) for r in QUALITY_REASONS if r in exclude]
    df = df.with_columns(pl.concat_list(reason_cols).list.drop_nulls().alias("reasons"))
    df = df.with_columns((pl.col("reasons").list.len() == 0).alias("_in"))

    # 3: dedup over stored clusters; the representative is the cluster's trace without a duplicate row
    reps = set(df["duplicate_of"].drop_nulls().to_list())
    df = df.with_columns(
        pl.col("trace_id").is_in(list(reps)).alias("_is_rep"),
    ).with_columns(
        pl.when(pl.col("duplicate_of").is_not_null()).then(pl.col("duplicate_of"))
        .when(pl.col("_is_rep")).then(pl.col("trace_id")).otherwise(None).alias("_cluster"),
    )
    dup_details: dict[str, dict] = {}
    dup_reason: dict[str, str] = {}
    clustered = df.filter(pl.col("_in") & pl.col("_cluster").is_not_null())
    if clustered.height and (exclude & {"exact_duplicate", "near_duplicate"}):
        ranked = _rank_within(clustered, "_cluster", recipe.dedup.keep)
        kept = ranked.filter(pl.col("_rank") == 0).select(
            "_cluster", pl.col("trace_id").alias("_k_id"), pl.col("source_id").alias("_k_sid"),
            pl.col("_is_rep").alias("_k_rep"), pl.col("duplicate_kind").alias("_k_kind"),
            pl.col("duplicate_similarity").alias("_k_sim"))
        others = ranked.filter(pl.col("_rank") > 0).join(kept, on="_cluster", how="left")
        for r in others.iter_rows(named=True):
            if r["_k_rep"]:
                kind, sim = r["duplicate_kind"], r["duplicate_similarity"]
            elif r["_is_rep"]:
                kind, sim = r["_k_kind"], r["_k_sim"]
            elif r["duplicate_kind"] == "exact" or r["_k_kind"] == "exact":
                # one of them is an exact copy of the representative: its similarity to the other is direct
                both = r["duplicate_kind"] == "exact" and r["_k_kind"] == "exact"
                kind = "exact" if both else "near"
                sim = 1.0 if both else (r["_k_sim"] if r["duplicate_kind"] == "exact" else r["duplicate_similarity"])
            else:
                kind, sim = "near", None  # both near the representative: their mutual similarity was not stored
            code = "exact_duplicate" if kind == "exact" else "near_duplicate"
            if code not in exclude:
                continue
            dup_reason[r["trace_id"]] = code
            dup_details[r["trace_id"]] = {
                "duplicate_of": r["_k_sid"], "duplicate_of_trace_id": r["_k_id"], "kind": kind,
                "similarity": None if sim is None else round(float(sim), 6),
            }
            if sim is None:
                dup_details[r["trace_id"]]["similarity_note"] = "both rows are near duplicates of the cluster's representative"
    if dup_reason:
        code_s = pl.col("trace_id").replace_strict(dup_reason, default=None, return_dtype=pl.String)
        df = df.with_columns(
            pl.when(code_s.is_not_null()).then(pl.col("reasons").list.concat(pl.concat_list(code_s)))
            .otherwise(pl.col("reasons")).alias("reasons"))
        df = df.with_columns((pl.col("reasons").list.len() == 0).alias("_in"))

    # 4: per-problem cap across canonical problems
    cap_details: dict[str, dict] = {}
    if recipe.per_problem is not None:
        pool = df.filter(pl.col("_in"))
        policy = "first_seen" if recipe.dedup.keep == "stored" else recipe.dedup.keep
        ranked = _rank_within(pool, "canonical_problem_id", policy)
        over = ranked.filter(pl.col("_rank") >= recipe.per_problem)
        for tid, cpid, rank in over.select("trace_id", "canonical_problem_id", "_rank").iter_rows():
            cap_details[tid] = {"canonical_problem_id": cpid, "rank": int(rank) + 1, "cap": recipe.per_problem,
                                "order": policy}
        df = df.with_columns(
            pl.when(pl.col("trace_id").is_in(list(cap_details)))
            .then(pl.col("reasons").list.concat(pl.lit(["per_problem_cap"])))
            .otherwise(pl.col("reasons")).alias("reasons"))
        df = df.with_columns((pl.col("reasons").list.len() == 0).alias("_in"))

    # 4b: a sweep bin over the rows left so far, so the bins of a sweep partition the base set
    bin_out: list[str] = []
    if recipe.bin is not None:
        b = recipe.bin
        if b.column not in df.columns:
            raise DistillateError(f"bin column {b.column!r} is not a candidates column (see docs/build.md)")
        v = pl.col(b.column).cast(pl.Float64)
        inside = v.is_not_null()
        if b.min is not None:
            inside = inside & (v >= b.min)
        if b.max is not None:
            inside = inside & (v < b.max)
        bin_out = df.filter(pl.col("_in") & ~inside.fill_null(False))["trace_id"].to_list()
        df = df.with_columns(
            pl.when(pl.col("trace_id").is_in(bin_out))
            .then(pl.col("reasons").list.concat(pl.lit(["not_selected"])))
            .otherwise(pl.col("reasons")).alias("reasons"))
        df = df.with_columns((pl.col("reasons").list.len() == 0).alias("_in"))

    # 5: sampling
    sample_info = None
    if recipe.sample is not None:
        pool = df.filter(pl.col("_in"))
        keep_ids, sample_info = _sample(pool, recipe)
        out_ids = [t for t in pool["trace_id"].to_list() if t not in keep_ids]
        df = df.with_columns(
            pl.when(pl.col("trace_id").is_in(out_ids))
            .then(pl.col("reasons").list.concat(pl.lit(["sampled_out"])))
            .otherwise(pl.col("reasons")).alias("reasons"))

    bin_set = {"bin": {"column": recipe.bin.column, "min": recipe.bin.min, "max": recipe.bin.max}} if bin_out else None
    df = df.with_columns(
        (pl.col("reasons").list.len() == 0).alias("kept"),
        # the funnel step that dropped the row: its first reason ('bin' for rows outside a sweep bin)
        pl.when(pl.col("trace_id").is_in(bin_out)).then(pl.lit("bin"))
        .otherwise(pl.col("reasons").list.first()).alias("step"),
    )

    # details of each dropped row (JSON-able dicts)
    details = []
    bin_ids = set(bin_out)
    for r in df.select("trace_id", "reasons", "_where_null", "verdict", "extracted_answer", "reference_answer",
                       "unsuitable_reasons", "flag_label", "finish_reason").iter_rows(named=True):
        d: dict = {}
        rs = r["reasons"]
        if "not_selected" in rs and r["_where_null"]:
            d["where_null"] = True  # the expression was NULL (a column it reads is NULL), not false
        if "answer_incorrect" in rs or "no_answer" in rs:
            d["verdict"] = r["verdict"]
            d["extracted_answer"] = r["extracted_answer"]
            d["reference_answer"] = r["reference_answer"]
        if "unsuitable_problem" in rs:
            d["unsuitable_reasons"] = r["unsuitable_reasons"]
        if "flagged" in rs:
            d["flag_label"] = r["flag_label"]
        if "truncated" in rs and r["finish_reason"]:
            d["finish_reason"] = r["finish_reason"]
        if r["trace_id"] in dup_details:
            d.update(dup_details[r["trace_id"]])
        if r["trace_id"] in cap_details:
            d["per_problem"] = cap_details[r["trace_id"]]
        if bin_set and r["trace_id"] in bin_ids:
            d.update(bin_set)
        details.append(d)
    df = df.with_columns(pl.Series("details", details, dtype=pl.Object))

    # the funnel: each row counts at its first reason (the step that dropped it)
    funnel = [{"step": "candidates", "dropped": 0, "remaining": n}]
    steps = ["not_selected"] + [r for r in QUALITY_REASONS if r in exclude]
    steps += [r for r in ("exact_duplicate", "near_duplicate") if r in exclude]
    if recipe.per_problem is not None:
        steps.append("per_problem_cap")
    if recipe.bin is not None:
        steps.append("bin")
    if recipe.sample is not None:
        steps.append("sampled_out")
    first = dict(df.group_by("step").len().drop_nulls("step").iter_rows())
    remaining = n
    for s in steps:
        k = int(first.get(s, 0))
        remaining -= k
        funnel.append({"step": s, "dropped": k, "remaining": remaining})
    any_counts = dict(df.select(pl.col("reasons").explode().drop_nulls()).group_by("reasons").len().iter_rows())
    reasons = {s: int(any_counts.get(s, 0)) for s in steps if s != "bin"}

    if n == 0:
        warnings.append("the catalog has no traces: the set is empty (ingest trace files first)")
    elif remaining == 0:
        worst = max(funnel[1:], key=lambda f: f["dropped"])
        warnings.append(f"no row kept: the step dropping most is {worst['step']} ({worst['dropped']:,} rows)")
    n_null = int(df["_where_null"].sum())
    if n_null:
        warnings.append(f"the recipe's where/range was NULL (not false) for {n_null:,} rows, e.g. a column it "
                        "reads is not computed yet; they are dropped as not_selected with details.where_null")
    sel = Selection(df.drop([c for c in df.columns if c.startswith("_") and c != "_where_null"]),
                    funnel, reasons, warnings)
    sel.sample_info = sample_info  # type: ignore[attr-defined]
    return sel
