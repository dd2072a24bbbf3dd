"""`distillate build RECIPE --out DIR`: select, write and record one SFT set and its ablations.

The build is one job (`ws.job("build")`), so it sees the latest review flags (mirrored at job start) and
records `builds` / `build_rows` for the review app. Outputs are deterministic: the same recipe on the same
catalog writes byte-identical files (rows in ingest order, sorted JSON keys in the manifest, no clock in
any file; the wall-clock time and job id live only in the catalog)."""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pyarrow as pa

from distillate import __version__
from distillate.errors import DistillateError
from distillate.log import log, progress

from ..catalog import Catalog, sql_text
from ..workspace import Workspace
from .recipe import Recipe, apply_ablation, base_variant, load_recipe, with_range
from .select import Selection, select

VERSION = "build-1"
FORMAT_VERSION = 1
FILES = ("sft.jsonl", "sft.parquet", "dropped.jsonl", "DATACARD.md", "distributions.png")
_TEXT_CHUNK = 2000  # kept rows fetched (with their texts) per batch, and per Parquet row group


@dataclass
class VariantResult:
    variant: str
    out_dir: Path
    kept: int
    dropped: int
    candidates: int
    manifest: dict


@dataclass
class BuildResult:
    name: str
    out_dir: Path
    job_id: str
    variants: list[VariantResult] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"name": self.name, "out_dir": str(self.out_dir), "job_id": self.job_id,
                "variants": [{"variant": v.variant or "(base)", "out_dir": str(v.out_dir), "kept": v.kept,
                              "dropped": v.dropped, "candidates": v.candidates,
                              "funnel": v.manifest["counts"]["funnel"],
                              "chat_template": v.manifest.get("chat_template")} for v in self.variants]}


# -- candidates -------------------------------------------------------------------------------------

def _candidates(cat: Catalog, recipe: Recipe) -> pl.DataFrame:
    """The candidates view with `_selected` (where AND range) and `_where_null` computed by DuckDB: the
    where clause is parsed as one SQL expression (never a statement) through the relational API."""
    import duckdb

    rel = cat.con.sql(sql_text("build/candidates"))
    cols = set(rel.columns)
    cond = None
    if recipe.where:
        try:
            cond = duckdb.SQLExpression(recipe.where)
        except duckdb.Error as e:
            raise DistillateError(f"recipe where {recipe.where!r} is not one SQL expression: {e}") from e
    if recipe.range is not None:
        rg = recipe.range
        if rg.column not in cols:
            raise DistillateError(f"range column {rg.column!r} is not a candidates column (see docs/build.md)")
        col = duckdb.ColumnExpression(rg.column)
        parts = []
        if rg.min is not None:
            parts.append(col >= duckdb.ConstantExpression(float(rg.min)))
        if rg.max is not None:
            parts.append(col < duckdb.ConstantExpression(float(rg.max)))
        if not parts:
            parts.append(col.isnotnull())
        for p in parts:
            cond = p if cond is None else (cond & p)
    if cond is None:
        cond = duckdb.ConstantExpression(True)
    sel = duckdb.CaseExpression(cond, duckdb.ConstantExpression(True)).otherwise(duckdb.ConstantExpression(False))
    try:
        out = rel.select(duckdb.StarExpression(), sel.alias("_selected"), cond.isnull().alias("_where_null")).pl()
    except duckdb.Error as e:
        raise DistillateError(f"recipe where/range failed on the candidates view: {str(e).splitlines()[0]}") from e
    if recipe.sample is not None and recipe.sample.stratify and recipe.sample.stratify not in cols:
        raise DistillateError(f"sample.stratify column {recipe.sample.stratify!r} is not a candidates column")
    return out.sort(["seq", "trace_id"])


def _quantile_edges(values: list[float], q: int) -> list[float]:
    import numpy as np

    return [float(x) for x in np.quantile(np.asarray(values, dtype=float), [i / q for i in range(1, q)])]


def _sweep_variants(recipe: Recipe, base: Recipe, base_sel: Selection) -> list[Recipe]:
    out = []
    # the pool a sweep bins: the base recipe's rows before sampling
    pool = base_sel.rows.filter(pl.col("kept") | (pl.col("reasons") == pl.lit(["sampled_out"])))
    for name, sw in recipe.sweeps.items():
        if sw.column not in base_sel.rows.columns:
            raise DistillateError(f"sweep '{name}': {sw.column!r} is not a candidates column")
        if sw.quantiles is not None:
            vals = pool[sw.column].drop_nulls().cast(pl.Float64).to_list()
            if not vals:
                raise DistillateError(f"sweep '{name}': no row of the base recipe has a value in {sw.column!r} "
                                      "(run the stage that computes it first)")
            inner = _quantile_edges(vals, sw.quantiles)
            bounds = [None] + inner + [None]
            labels = [f"{name}_q{i + 1}" for i in range(sw.quantiles)]
        else:
            bounds = list(sw.edges)
            labels = [f"{name}_b{i + 1}" for i in range(len(bounds) - 1)]
        for i, label in enumerate(labels):
            out.append(with_range(base, label, sw.column, bounds[i], bounds[i + 1]))
    return out


# -- rows -------------------------------------------------------------------------------------------

def _messages(fmt, problem: str, thought: str | None, solution: str | None) -> tuple[list[dict], dict]:
    field_mode = fmt.reasoning == "field"

    def msg(role, content, reasoning=None):
        m = {"role": role, "content": content}
        if field_mode:
            m["reasoning_content"] = reasoning
        return m

    prompt = [msg("system", fmt.system_prompt)] if fmt.system_prompt else []
    prompt.append(msg("user", fmt.prompt_template.replace("{problem}", problem)))
    sol = (solution or "").strip()
    if fmt.reasoning == "inline" and thought is not None:
        content = f"{fmt.think_open}\n{thought.strip()}\n{fmt.think_close}\n\n{sol}"
        assistant = msg("assistant", content)
    elif field_mode:
        assistant = msg("assistant", sol, thought.strip() if thought is not None else None)
    else:
        assistant = msg("assistant", sol)
    return prompt, assistant


def _msg_type(field_mode: bool) -> pa.DataType:
    fields = [("role", pa.string()), ("content", pa.string())]
    if field_mode:
        fields.append(("reasoning_content", pa.string()))
    return pa.list_(pa.struct(fields))


def _sft_schema(recipe: Recipe) -> pa.Schema:
    mt = _msg_type(recipe.format.reasoning == "field")
    conv = [("messages", mt)] if recipe.format.style == "messages" else [("prompt", mt), ("completion", mt)]
    return pa.schema(conv + [("trace_id", pa.string()), ("problem_id", pa.string()), ("source", pa.string()),
                             ("source_id", pa.string()), ("n_tokens", pa.int64())])


def _iter_kept_texts(cat: Catalog, kept: pl.DataFrame):
    """(ord, trace_id, thought, solution, problem) of the kept rows in output order: one query, streamed in
    batches so the texts of a large set never sit in memory at once."""
    ids = kept["trace_id"].to_list()
    cat.con.register("_build_keep", pa.table({"trace_id": ids, "ord": list(range(len(ids)))}))
    try:
        cur = cat.sql("build/texts")
        n = 0
        while rows := cur.fetchmany(_TEXT_CHUNK):
            n += len(rows)
            yield from rows
    finally:
        cat.con.unregister("_build_keep")
    if n != len(ids):
        raise DistillateError("the catalog changed during the build (kept traces missing their text)")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_sft(cat: Catalog, recipe: Recipe, sel: Selection, out: Path, show_progress: bool) -> dict:
    """sft.jsonl + sft.parquet, one row per kept trace in ingest order. Returns format stats."""
    import pyarrow.parquet as pq

    kept = sel.kept
    schema = _sft_schema(recipe)
    info = kept.select("trace_id", "problem_id", "source", "source_id", "n_tokens").rows()
    stats = {"rows_without_thought": 0, "rows_without_solution": 0}
    tmp_j, tmp_p = out / "sft.jsonl.tmp", out / "sft.parquet.tmp"
    writer = pq.ParquetWriter(tmp_p, schema, compression="zstd")
    cols: dict[str, list] = {n: [] for n in schema.names}

    def flush():
        if cols[schema.names[0]]:
            writer.write_table(pa.table(cols, schema=schema), row_group_size=_TEXT_CHUNK)
            for v in cols.values():
                v.clear()

    with open(tmp_j, "wb") as fj, progress(disable=not show_progress) as bar:
        task = bar.add_task(f"writing {recipe.variant or recipe.name}", total=len(info), info="")
        for (ord_, tid, thought, solution, problem) in _iter_kept_texts(cat, kept):
            trace_id, problem_id, source, source_id, n_tokens = info[ord_]
            assert tid == trace_id
            stats["rows_without_thought"] += thought is None
            stats["rows_without_solution"] += solution is None
            prompt, assistant = _messages(recipe.format, problem, thought, solution)
            if recipe.format.style == "messages":
                row = {"messages": prompt + [assistant]}
            else:
                row = {"prompt": prompt, "completion": [assistant]}
            row.update(trace_id=trace_id, problem_id=problem_id, source=source, source_id=source_id,
                       n_tokens=n_tokens)
            fj.write(orjson.dumps(row) + b"\n")
            for k in schema.names:
                cols[k].append(row[k])
            if len(cols["trace_id"]) >= _TEXT_CHUNK:
                flush()
            bar.advance(task)
        flush()
    writer.close()
    os.replace(tmp_j, out / "sft.jsonl")
    os.replace(tmp_p, out / "sft.parquet")
    stats["columns"] = schema.names
    return stats


def _contamination(cat: Catalog, problem_ids: list[str]) -> dict[str, list[dict]]:
    if not problem_ids:
        return {}
    cat.con.register("_build_problems", pa.table({"problem_id": sorted(set(problem_ids))}))
    try:
        rows = cat.query("build/contamination")
    finally:
        cat.con.unregister("_build_problems")
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r.pop("problem_id"), []).append(r)
    return out


def _write_dropped(cat: Catalog, sel: Selection, out: Path) -> list[str]:
    """dropped.jsonl; returns each candidate's details as JSON (in sel.rows order) for build_rows."""
    dropped = sel.dropped
    contaminated = [p for p, rs in zip(dropped["problem_id"].to_list(), dropped["reasons"].to_list())
                    if "contaminated" in rs]
    matches = _contamination(cat, contaminated)
    tmp = out / "dropped.jsonl.tmp"
    with open(tmp, "wb") as f:
        for r in dropped.select("source_id", "trace_id", "reasons", "details", "problem_id", "source",
                                "n_tokens").iter_rows(named=True):
            details = dict(r["details"])
            if "contaminated" in r["reasons"]:
                details["matches"] = matches.get(r["problem_id"], [])
            row = {"source_id": r["source_id"], "trace_id": r["trace_id"], "reasons": r["reasons"],
                   "details": details, "problem_id": r["problem_id"], "source": r["source"],
                   "n_tokens": r["n_tokens"]}
            f.write(orjson.dumps(row, option=orjson.OPT_SORT_KEYS) + b"\n")
            r["details"].update(details)  # the catalog's build_rows get the same details
    os.replace(tmp, out / "dropped.jsonl")
    return [orjson.dumps(d, option=orjson.OPT_SORT_KEYS).decode() for d in sel.rows["details"].to_list()]


# -- context shared by the variants -----------------------------------------------------------------

@dataclass
class _Context:
    fingerprint: str
    schema_version: int
    stage_results: list[dict]
    stage_runs: list[dict]
    sources: list[dict]
    trace_sources: dict[str, list[str]]
    decontam: list[dict]


def _context(cat: Catalog) -> _Context:
    ts: dict[str, list[str]] = {}
    for tid, src in cat.sql("build/trace_sources").fetchall():
        ts.setdefault(tid, []).append(src)
    return _Context(
        fingerprint=cat.scalar("build/fingerprint"),
        schema_version=cat.schema_version(),
        stage_results=[{"table": s, "version": v, "rows": n} for s, v, n in cat.sql("build/stage_versions").fetchall()],
        stage_runs=cat.query("build/stage_runs"),
        sources=cat.query("build/sources"),
        trace_sources=ts,
        decontam=cat.query("build/decontam_benchmarks"),
    )


def _decontamination(ctx: _Context, sel: Selection) -> list[dict]:
    """manifest `decontamination`: every benchmark the catalog was scanned against (zero matches included),
    with this variant's candidate and kept traces whose problem matched it."""
    per: dict[str, list[int]] = {}
    cont = sel.rows.filter(pl.col("contaminated")).select("kept", "contaminated_benchmarks")
    for kept, benches in cont.iter_rows():
        for b in benches or []:
            c = per.setdefault(b, [0, 0])
            c[0] += 1
            c[1] += bool(kept)
    return [{**d, "candidate_traces_matched": per.get(d["benchmark"], [0, 0])[0],
             "kept_traces_matched": per.get(d["benchmark"], [0, 0])[1]} for d in ctx.decontam]


def _token_totals(kept: pl.DataFrame) -> dict:
    def s(c):
        v = kept[c].sum()
        return int(v) if v is not None else 0
    tokenizers = sorted(kept["tokenizer"].drop_nulls().unique().to_list())
    return {"signals_tokenizers": tokenizers, "n_tokens": s("n_tokens"), "thought_tokens": s("thought_tokens"),
            "solution_tokens": s("solution_tokens"),
            "rows_without_token_count": int(kept["n_tokens"].is_null().sum()), "characters": s("n_chars")}


def _prepare_out(out: Path, variant_names: list[str]) -> None:
    """Create DIR; refuse a non-empty folder that is not a build; remove ablation folders of an earlier
    build of DIR that this recipe no longer has (they would read as current)."""
    if out.exists() and not out.is_dir():
        raise DistillateError(f"--out {out} is a file")
    if out.exists() and any(out.iterdir()):
        man = out / "manifest.json"
        if not man.exists():
            raise DistillateError(f"--out {out} is not empty and holds no build (no manifest.json); "
                                  "choose an empty or new folder")
        try:
            old = orjson.loads(man.read_bytes()).get("ablations", {})
        except orjson.JSONDecodeError:
            old = {}
        for name in old:
            d = out / name
            if name not in variant_names and (d / "manifest.json").exists():
                log.info("removing %s: the recipe no longer has variant %r", d, name)
                shutil.rmtree(d)
    out.mkdir(parents=True, exist_ok=True)


def _write_variant(cat: Catalog, ctx: _Context, recipe: Recipe, sel: Selection, out: Path, *, tokenizer: str | None,
                   max_length: int | None, template_cache: dict, show_progress: bool) -> dict:
    from .datacard import write_datacard, write_plot
    from .template import check_lengths

    out.mkdir(parents=True, exist_ok=True)
    fmt_stats = _write_sft(cat, recipe, sel, out, show_progress)
    details_json = _write_dropped(cat, sel, out)
    chat = check_lengths(out / "sft.jsonl", sel.kept, recipe, tokenizer, max_length, template_cache,
                         show_progress) if (tokenizer or max_length) else None
    recipe_dict = recipe.to_dict()
    recipe_sha = hashlib.sha256(orjson.dumps(recipe_dict, option=orjson.OPT_SORT_KEYS)).hexdigest()
    counts = {"candidates": sel.rows.height, "kept": sel.kept.height, "dropped": sel.dropped.height,
              "funnel": sel.funnel, "reasons": sel.reasons}
    if getattr(sel, "sample_info", None):
        counts["sample"] = sel.sample_info
    manifest: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "name": recipe.name,
        "variant": recipe.variant,
        "recipe": recipe_dict,
        "recipe_sha256": recipe_sha,
        "code_version": f"distillate {__version__} ({VERSION})",
        "catalog": {"fingerprint": ctx.fingerprint, "schema_version": ctx.schema_version,
                    "stage_results": ctx.stage_results,
                    "stage_runs": [{"stage": r["stage"], "version": r["version"]} for r in ctx.stage_runs]},
        "counts": counts,
        "tokens": _token_totals(sel.kept),
        "tokenizer": tokenizer,
        "max_length": max_length,
        "chat_template": chat,
        "format": fmt_stats,
        "decontamination": _decontamination(ctx, sel),
        "warnings": sel.warnings,
    }
    from distillate.experiment.transparency import build_facts

    # what the Transparency Index scores this variant from, as the catalog holds it now (DATACARD, `distillate tti`)
    manifest["transparency"] = build_facts(cat, manifest, sel, ctx, recipe.transparency)
    write_plot(sel, out / "distributions.png")
    write_datacard(out / "DATACARD.md", manifest, sel, ctx)
    manifest["files"] = {f: {"sha256": _sha256(out / f), "bytes": (out / f).stat().st_size} for f in FILES}
    manifest["_details_json"] = details_json
    return manifest


def _record(cat: Catalog, job_id: str, recipe: Recipe, sel: Selection, out: Path, manifest: dict,
            details_json: list[str]) -> str:
    build_id = f"{job_id}/{recipe.variant or 'base'}"
    rows = pa.table({
        "trace_id": sel.rows["trace_id"].to_list(),
        "kept": sel.rows["kept"].to_list(),
        "reasons": pa.array(sel.rows["reasons"].to_list(), type=pa.list_(pa.string())),
        "step": sel.rows["step"].to_list(),
        "details": details_json,
    })
    cat.con.register("_build_rows_in", rows)
    try:
        cat.run("build/record", {
            "build_id": build_id, "name": recipe.name, "variant": recipe.variant, "out_dir": str(out),
            "recipe": orjson.dumps(manifest["recipe"]).decode(),
            "counts": orjson.dumps(manifest["counts"]).decode(), "job_id": job_id,
            "fingerprint": manifest["catalog"]["fingerprint"], "recipe_sha256": manifest["recipe_sha256"],
            "files": orjson.dumps(manifest["files"]).decode(), "kept": manifest["counts"]["kept"],
            "dropped": manifest["counts"]["dropped"],
        })
    finally:
        cat.con.unregister("_build_rows_in")
    return build_id


def build(ws: Workspace, recipe: str | Path | Recipe, out_dir: str | Path, *, tokenizer: str | None = None,
          max_length: int | None = None, show_progress: bool = True) -> BuildResult:
    """Build the recipe (and every ablation / sweep bin) into out_dir (ablations in out_dir/NAME/)."""
    r = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    if not ws.exists():
        raise DistillateError(f"no catalog in {ws.root}: run `distillate ingest ...` first")
    out = Path(out_dir).expanduser().resolve()
    tokenizer = tokenizer or r.tokenizer
    max_length = max_length or r.max_length
    base = base_variant(r)
    named = [apply_ablation(r, n) for n in r.ablations]
    sweep_names = []
    for n, sw in r.sweeps.items():
        k = sw.quantiles if sw.quantiles is not None else len(sw.edges) - 1
        sweep_names += [f"{n}_q{i + 1}" if sw.quantiles is not None else f"{n}_b{i + 1}" for i in range(k)]
    _prepare_out(out, [v.variant for v in named] + sweep_names)

    args = {"recipe": r.name, "out": str(out), "tokenizer": tokenizer, "max_length": max_length}
    with ws.job("build", args) as (cat, job_id):
        result = BuildResult(r.name, out, job_id)
        ctx = _context(cat)
        template_cache: dict = {}
        base_sel = select(_candidates(cat, base), base)
        variants: list[tuple[Recipe, Selection]] = [(base, base_sel)]
        variants += [(v, select(_candidates(cat, v), v)) for v in named]
        variants += [(v, select(_candidates(cat, v), v)) for v in _sweep_variants(r, base, base_sel)]
        manifests = {}
        for v, sel in variants:
            for w in sel.warnings:
                log.warning("%s: %s", v.variant or r.name, w)
            vout = out / v.variant if v.variant else out
            manifest = _write_variant(cat, ctx, v, sel, vout, tokenizer=tokenizer, max_length=max_length,
                                      template_cache=template_cache, show_progress=show_progress)
            details_json = manifest.pop("_details_json")
            manifests[v.variant] = (vout, manifest, sel, details_json)
        base_manifest = manifests[""][1]
        base_manifest["ablations"] = {
            name: {"dir": name, "kept": m["counts"]["kept"], "recipe_sha256": m["recipe_sha256"]}
            for name, (_, m, _, _) in manifests.items() if name}
        for name, (vout, manifest, sel, details_json) in manifests.items():
            tmp = vout / "manifest.json.tmp"
            tmp.write_bytes(orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n")
            os.replace(tmp, vout / "manifest.json")
            v = next(x for x, _ in variants if x.variant == name)
            _record(cat, job_id, v, sel, vout, manifest, details_json)
            result.variants.append(VariantResult(name, vout, manifest["counts"]["kept"],
                                                 manifest["counts"]["dropped"], manifest["counts"]["candidates"],
                                                 manifest))
    return result
