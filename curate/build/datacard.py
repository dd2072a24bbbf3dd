"""DATACARD.md and distributions.png of a build: the funnel, distributions, sources and licences,
decontamination per benchmark, and the build's Technical Transparency Index ("O1 Replication Journey Part 2";
scored by distillate.experiment.transparency from the facts the build recorded in its manifest). Both are
deterministic (no clock, sorted tables, fixed plot metadata)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

_LEN_COLS = ("n_tokens", "thought_tokens", "solution_tokens", "n_chars")


def _q(series: pl.Series) -> dict:
    s = series.drop_nulls()
    if s.len() == 0:
        return {}
    return {"n": s.len(), "min": int(s.min()), "p10": int(s.quantile(0.1, "nearest")),
            "p50": int(s.quantile(0.5, "nearest")), "p90": int(s.quantile(0.9, "nearest")), "max": int(s.max()),
            "mean": round(float(s.mean()), 1)}


def _table(headers: list[str], rows: list[list]) -> str:
    def cell(v):
        if v is None:
            return "–"
        if isinstance(v, float):
            return f"{v:,.1f}"
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def write_plot(sel, path: Path) -> None:
    """Two panels: the funnel, and the length distribution of kept vs dropped rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=90)
    steps = [f for f in sel.funnel]
    labels = [s["step"] for s in steps][::-1]
    ax1.barh(labels, [s["remaining"] for s in steps][::-1], color="#4c72b0")
    for i, s in enumerate(steps[::-1]):
        txt = f"{s['remaining']:,}" + (f"  (-{s['dropped']:,})" if s["dropped"] else "")
        ax1.text(s["remaining"], i, " " + txt, va="center", fontsize=8)
    ax1.set_title("funnel: rows remaining after each step")
    ax1.set_xlim(0, max(1, steps[0]["remaining"]) * 1.35)
    col = "n_tokens" if sel.rows["n_tokens"].drop_nulls().len() else "n_chars"
    kept = sel.kept[col].drop_nulls().to_list()
    dropped = sel.dropped[col].drop_nulls().to_list()
    if kept or dropped:
        import numpy as np

        # log10 on a linear axis: lengths span orders of magnitude, and log-scale tick layout is slow
        lk, ld = np.log10(np.maximum(kept, 1)), np.log10(np.maximum(dropped, 1))
        allv = np.concatenate([lk, ld])
        bins = np.linspace(allv.min(), allv.max() + 1e-9, 31)
        ax2.hist([lk, ld], bins=bins, stacked=True, label=[f"kept ({len(kept):,})", f"dropped ({len(dropped):,})"],
                 color=["#55a868", "#c44e52"])
        ax2.legend(fontsize=8)
    ax2.set_title(f"{col} of candidates")
    ax2.set_xlabel(f"log10({col})")
    fig.subplots_adjust(left=0.17, right=0.98, bottom=0.13, top=0.9, wspace=0.35)
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)


def write_datacard(path: Path, manifest: dict, sel, ctx) -> None:
    recipe = manifest["recipe"]
    counts = manifest["counts"]
    title = recipe["name"] + (f" / {recipe['variant']}" if recipe["variant"] else "")
    md: list[str] = [f"# Data card: {title}", ""]
    if recipe.get("description"):
        md += [recipe["description"], ""]
    md += [f"{counts['kept']:,} SFT rows kept out of {counts['candidates']:,} candidate traces "
           f"({counts['dropped']:,} dropped, each with its reasons in `dropped.jsonl`). "
           f"Built by {manifest['code_version']} from catalog fingerprint `{manifest['catalog']['fingerprint']}` "
           f"(schema v{manifest['catalog']['schema_version']}); recipe sha256 `{manifest['recipe_sha256'][:16]}`.", ""]
    md += ["![funnel and lengths](distributions.png)", ""]

    md += ["## Funnel", "", "Each row is counted at the first step that drops it.", ""]
    md.append(_table(["step", "dropped here", "remaining"],
                     [[f["step"], f["dropped"], f["remaining"]] for f in counts["funnel"]]))
    md += ["", "Rows carrying each reason (a row may carry several):", ""]
    md.append(_table(["reason", "rows"], [[k, v] for k, v in counts["reasons"].items()]))
    if "sample" in counts:
        s = counts["sample"]
        md += ["", f"Sampling: quota {s['quota']:,} of {s['input_rows']:,} rows.", ""]
        md.append(_table(["stratum", "rows", "kept"], [[k, v["rows"], v["kept"]] for k, v in s["strata"].items()]))
    md += ["", "## Distributions", ""]
    rows = []
    for c in _LEN_COLS:
        for label, df in (("kept", sel.kept), ("all candidates", sel.rows)):
            q = _q(df[c])
            if q:
                rows.append([c, label, q["n"], q["min"], q["p10"], q["p50"], q["p90"], q["max"], q["mean"]])
    md.append(_table(["column", "rows", "n", "min", "p10", "p50", "p90", "max", "mean"], rows) if rows
              else "No length information.")
    tok = manifest["tokens"]
    md += ["", f"Kept token totals: {tok['n_tokens']:,} (thought {tok['thought_tokens']:,}, solution "
           f"{tok['solution_tokens']:,}); counted with {', '.join(tok['signals_tokenizers']) or 'no tokenizer (signals not computed)'}"
           + (f"; {tok['rows_without_token_count']:,} kept rows have no token count." if tok["rows_without_token_count"] else "."), ""]
    verd = sel.rows.group_by("verdict").agg(pl.len().alias("all"), pl.col("kept").sum().alias("kept")).sort("verdict", nulls_last=True)
    md.append(_table(["verdict", "candidates", "kept"],
                     [[v if v is not None else "(not verified)", a, k] for v, a, k in verd.iter_rows()]))
    if sel.rows["difficulty"].drop_nulls().len():
        dif = sel.rows.group_by("difficulty").agg(pl.len().alias("all"), pl.col("kept").sum().alias("kept")).sort("difficulty", nulls_last=True)
        md += ["", _table(["difficulty", "candidates", "kept"], [list(r) for r in dif.iter_rows()])]

    md += ["", "## Sources and licences", "",
           "Licences as recorded at ingest (`--license`); a trace carried by several sources counts in each.", ""]
    kept_ids = set(sel.kept["trace_id"].to_list())
    per = {s["source"]: [0, 0] for s in ctx.sources}
    for tid in sel.rows["trace_id"].to_list():
        for src in ctx.trace_sources.get(tid, []):
            per.setdefault(src, [0, 0])
            per[src][0] += 1
            per[src][1] += tid in kept_ids
    md.append(_table(["source", "kind", "licence", "candidates", "kept", "description"],
                     [[s["source"], s["kind"], s["license"] or "NOT RECORDED", per.get(s["source"], [0, 0])[0],
                       per.get(s["source"], [0, 0])[1], s["description"]] for s in ctx.sources]))

    md += ["", "## Decontamination per benchmark", ""]
    dec = manifest["decontamination"]
    if dec:
        md += ["Every benchmark the catalog was scanned against, including those with no match "
               "(fingerprint: content hash of its items, as `distillate eval` checks it).", ""]
        md.append(_table(["benchmark", "fingerprint", "items", "matched problems", "matched items", "methods",
                          "scanned at", "traces matched", "traces kept"],
                         [[d["benchmark"], d["fingerprint"] or "(no scan record)", d["items"], d["matched_problems"],
                           d["matched_items"], ", ".join(d["methods"] or []), d["scanned_at"],
                           d["candidate_traces_matched"], d["kept_traces_matched"]] for d in dec]))
    else:
        md.append("No benchmark scan in the catalog"
                  + (" (the decontam stage ran with no benchmark)." if any(r["stage"] == "decontam" for r in ctx.stage_runs)
                     else ": the decontam stage has not run, so this set is NOT checked against benchmarks."))

    ct = manifest.get("chat_template")
    if ct:
        md += ["", "## Chat template and length check", ""]
        md.append(_table(["check", "value"], [[k, v] for k, v in ct.items() if k not in ("examples", "lengths")]
                         + [[f"length {k}", v] for k, v in ct.get("lengths", {}).items()]))

    from distillate.experiment.transparency import render_markdown, score_manifest

    md += [""] + render_markdown(score_manifest(manifest))
    if manifest.get("warnings"):
        md += ["", "## Warnings", ""] + [f"- {w}" for w in manifest["warnings"]]
    md += ["", "## Lineage", "", "Stage results the build read (table, version, rows):", ""]
    md.append(_table(["table", "version", "rows"], [[r["table"], r["version"], r["rows"]] for r in ctx.stage_results])
              if ctx.stage_results else "No stage results in the catalog.")
    path.write_text("\n".join(md) + "\n", encoding="utf-8")
