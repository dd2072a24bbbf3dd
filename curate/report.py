"""`distillate report`: the catalog's numbers, as a dict (`--json`) and as rich tables.

Sections: `totals` and `sources` here; each curation stage module may add its own through
`report_section(cat) -> dict` and `render_section(console, data)` (the stage's key is its name in
STAGE_SECTIONS). All SQL is in sql/queries/report_*.sql, shared with the review app."""

from __future__ import annotations

import importlib
import os
from typing import Any

from rich.console import Console
from rich.table import Table

from .catalog import Catalog

# report key -> module providing report_section/render_section (added as stages land)
STAGE_SECTIONS: dict[str, str] = {
    "signals": "distillate.curate.signals",
    "verify": "distillate.curate.verify",
    "dedup": "distillate.curate.dedup",
    "decontam": "distillate.curate.decontam",
    "generation": "distillate.curate.generate",
    "shards": "distillate.curate.shards",
}


def _section_modules():
    for key, modname in STAGE_SECTIONS.items():
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as e:
            if e.name and modname.startswith(e.name):
                continue  # that stage has not landed in this version
            raise
        if hasattr(mod, "report_section"):
            yield key, mod


def build_report(cat: Catalog) -> dict[str, Any]:
    totals = cat.query("report/totals")[0]
    sources = {r.pop("source"): r for r in cat.query("report/sources")}
    report: dict[str, Any] = {"totals": totals, "sources": sources, "funnel": cat.query("report/funnel", {"source": None})}
    for key, mod in _section_modules():
        report[key] = mod.report_section(cat)
    return report


def render_report(report: dict[str, Any], console: Console) -> None:
    t = report["totals"]
    console.print(f"[bold]Catalog[/]: {t['problems']:,} problems, {t['traces']:,} traces, "
                  f"{t['quarantined']:,} quarantined rows")
    table = Table(title="Sources", show_lines=False)
    for col in ("source", "problems", "traces", "quarantined"):
        table.add_column(col, justify="left" if col == "source" else "right")
    for name, r in report["sources"].items():
        table.add_row(name, f"{r['problems']:,}", f"{r['traces']:,}", f"{r['quarantined']:,}")
    console.print(table)
    render_funnel(report, console)
    for key, mod in _section_modules():
        if key in report and hasattr(mod, "render_section"):
            mod.render_section(console, report[key])


def render_funnel(report: dict[str, Any], console: Console) -> None:
    """Ingested traces, then what each stage flagged and removed (steps of stages that have not run are
    shown as such, so a zero is never mistaken for 'nothing found')."""
    table = Table(title="Funnel (each step removes what it flags among the traces still left)")
    for col in ("step", "stage", "flagged", "removed", "left"):
        table.add_column(col, justify="left" if col in ("step", "stage") else "right")
    table.add_row("ingested", "ingest", "", "", f"{report['totals']['traces']:,}")
    for f in report.get("funnel", []):
        if f["ran"]:
            table.add_row(f["step"], f["stage"], f"{f['flagged']:,}", f"{f['removed']:,}", f"{f['remaining']:,}")
        else:
            table.add_row(f["step"], f["stage"], "[dim]not run[/]", "", "")
    console.print(table)


def write_html(cat: Catalog, report: dict[str, Any], path) -> None:
    """A self-contained offline HTML report: funnel, per-source token histograms, marker and truncation/loop
    rates (matplotlib PNGs inlined as base64; no external asset), plus the tables of the terminal report."""
    import html
    import json
    from pathlib import Path

    from rich.console import Console as RichConsole

    from .signals.report import charts

    imgs = charts(cat, report)
    rec = RichConsole(record=True, width=160, file=open(os.devnull, "w"))  # noqa: SIM115 - closed below
    try:
        render_report(report, rec)
        tables = rec.export_text()
    finally:
        rec.file.close()
    titles = {"funnel": "Curation funnel", "tokens": "Token lengths per source",
              "rates": "Truncation, loop and language-mixing rates", "markers": "Reflection markers"}
    figs = "\n".join(f'<figure><img alt="{titles[k]}" src="{v}"><figcaption>{titles[k]}</figcaption></figure>'
                     for k, v in imgs.items())
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Distillate report</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}}
figure{{display:inline-block;margin:1em;vertical-align:top}} img{{max-width:560px}}
pre{{background:#f6f6f6;padding:1em;overflow:auto;font-size:12px}}</style></head><body>
<h1>Distillate curation report</h1>
<p>{report['totals']['traces']:,} traces, {report['totals']['problems']:,} problems,
{report['totals']['quarantined']:,} quarantined rows.</p>
{figs or '<p>No signals yet: run <code>distillate curate --stages stats</code>.</p>'}
<h2>Tables</h2><pre>{html.escape(tables)}</pre>
<h2>Numbers (JSON)</h2><pre>{html.escape(json.dumps(report, indent=1, default=str))}</pre>
</body></html>
"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc, encoding="utf-8")
