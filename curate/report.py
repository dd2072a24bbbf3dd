"""`distillate report`: the catalog's numbers, as a dict (`--json`) and as rich tables.

Sections: `totals` and `sources` here; each curation stage module may add its own through
`report_section(cat) -> dict` and `render_section(console, data)` (the stage's key is its name in
STAGE_SECTIONS). All SQL is in sql/queries/report_*.sql, shared with the review app."""

from __future__ import annotations

import importlib
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
    totals = cat.query("report_totals")[0]
    sources = {r.pop("source"): r for r in cat.query("report_sources")}
    report: dict[str, Any] = {"totals": totals, "sources": sources}
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
    for key, mod in _section_modules():
        if key in report and hasattr(mod, "render_section"):
            mod.render_section(console, report[key])
