"""`distillate demo`: the whole pipeline on the demo corpus shipped in the package (demo/).

ingest (three formats + a file with broken lines) -> curate (stats, verify, dedup, decontam against the demo
benchmark) -> build demo/recipe.yaml with its ablations -> report (terminal + HTML) and where everything is."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .build import build
from .ingest import ingest
from .pipeline import curate
from .report import build_report, render_report, write_html
from .workspace import Workspace

# (file under demo/corpus, source name, licence recorded at ingest)
DEMO_SOURCES = [
    ("plain.jsonl", "demo-teacher-a", "Apache-2.0"),
    ("chat.jsonl", "demo-teacher-b", "Apache-2.0"),
    ("sharegpt.json", "demo-sky-style", "Apache-2.0"),
    ("broken.jsonl", "demo-broken", "Apache-2.0"),
]


def demo_path(*parts: str) -> Path:
    return Path(str(resources.files("distillate.demo").joinpath(*parts)))


def run_demo(workspace: str | Path, out_dir: str | Path, *, show_progress: bool = True,
             console: Console | None = None) -> dict:
    console = console or Console()
    ws = Workspace(workspace)
    out = Path(out_dir).resolve()
    console.rule("[bold]1. ingest")
    for fname, source, licence in DEMO_SOURCES:
        with ws.job("ingest", {"inputs": [fname], "source": source}) as (cat, job_id):
            st = ingest(cat, job_id, [str(demo_path("corpus", fname))], source=source, license=licence,
                        show_progress=show_progress)
        console.print(f"{source:<16} ingested {st.ingested:>3}, already present {st.already_present:>3}, "
                      f"quarantined {st.quarantined}")
    console.rule("[bold]2. curate")
    results = curate(ws, None, show_progress=show_progress,
                     benchmarks_dir=str(demo_path("benchmarks")))
    for name, counters in results.items():
        console.print(f"[bold]{name}[/]: " + ", ".join(f"{k}={v}" for k, v in counters.items()))
    console.rule("[bold]3. build")
    res = build(ws, demo_path("recipe.yaml"), out, show_progress=show_progress)
    t = Table(title=f"Build {res.name}")
    for c in ("variant", "kept", "dropped", "candidates", "out_dir"):
        t.add_column(c, justify="right" if c in ("kept", "dropped", "candidates") else "left")
    for v in res.variants:
        t.add_row(v.variant or "(base)", str(v.kept), str(v.dropped), str(v.candidates), str(v.out_dir))
    console.rule("[bold]4. report")
    with ws.reader() as cat:
        rep = build_report(cat)
        html = out / "report.html"
        write_html(cat, rep, html)
    render_report(rep, console)
    console.print(t)
    console.rule("[bold]outputs")
    console.print(f"workspace (catalog, snapshots, flags): {ws.root}")
    console.print(f"SFT set: {out / 'sft.jsonl'}  (+ sft.parquet, dropped.jsonl, manifest.json, DATACARD.md)")
    console.print(f"HTML report: {html}")
    console.print(f"review the traces: distillate review --workspace {workspace}")
    return {"report": rep, "build": res.as_dict()}
