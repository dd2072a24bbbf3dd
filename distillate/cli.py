"""The `distillate` command line: thin wrappers over the public API in distillate.curate (and train/eval).

Each command turns a user error (DistillateError) into one clear line on stderr and exit code 2;
`--debug` (any position) shows the full traceback instead."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from distillate import __version__
from distillate.errors import DistillateError
from distillate.log import console, out, setup

app = typer.Typer(
    name="distillate", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Curate long-thought reasoning traces into versioned SFT sets: ingest, curate, report, build, review.",
)

# Shared options, defined once.
WorkspaceOpt = Annotated[Optional[Path], typer.Option(
    "--workspace", "-w", help="Workspace directory (default: $DISTILLATE_WORKSPACE, else ./.distillate).",
    show_default=False)]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show full tracebacks and debug logs.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]


def _ws(workspace: Optional[Path]):
    from distillate.curate import Workspace

    return Workspace.resolve(workspace)


def _show_progress(quiet: bool) -> bool:
    return not quiet and console.is_terminal


@app.callback()
def _root(debug: DebugOpt = False,
          version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False):
    """Distillate: a data curation and trace-quality toolkit for reasoning distillation."""
    setup(debug or "--debug" in sys.argv)
    if version:
        out.print(f"distillate {__version__}")
        raise typer.Exit()


@app.command()
def ingest(
    inputs: Annotated[list[str], typer.Argument(help="JSONL (.gz), JSON array, Parquet files, or hf:org/name[:config][@split].")],
    source: Annotated[str, typer.Option("--source", "-s", help="Name of this source in the catalog.")],
    format: Annotated[str, typer.Option("--format", "-f", help="auto|plain|chat|sharegpt|openr1|samples|s1k|problems")] = "auto",
    license: Annotated[Optional[str], typer.Option("--license", help="Licence of this source (shown in data cards).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    workspace: WorkspaceOpt = None, quiet: QuietOpt = False, debug: DebugOpt = False,
):
    """Ingest trace or problem files into the catalog (new / already present / quarantined)."""
    from distillate.curate.ingest import ingest as ingest_fn, validate_inputs

    validate_inputs(inputs, source, format)
    ws = _ws(workspace)
    with ws.job("ingest", {"inputs": inputs, "source": source, "format": format}) as (cat, job_id):
        stats = ingest_fn(cat, job_id, inputs, source=source, fmt=format, license=license,
                          show_progress=_show_progress(quiet))
    if json_out:
        out.print_json(json.dumps(stats.as_dict()))
    else:
        out.print(f"[bold]{source}[/]: ingested {stats.ingested:,}, already present {stats.already_present:,}, "
                  f"quarantined {stats.quarantined:,} (from {stats.rows_read:,} rows in {len(stats.files)} file(s))")
        if stats.quarantined:
            out.print(f"  see them with: distillate quarantine --source {source}")
    if stats.rows_read and stats.quarantined == stats.rows_read:
        raise DistillateError(f"nothing could be read from {', '.join(inputs)}: every row was quarantined")
    if stats.rows_read == 0:
        raise DistillateError(f"no rows found in {', '.join(inputs)}")


@app.command()
def quarantine(
    source: Annotated[Optional[str], typer.Option("--source", "-s", help="Only this source.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    workspace: WorkspaceOpt = None, debug: DebugOpt = False,
):
    """List quarantined input rows with file, line and reason."""
    from rich.table import Table

    with _ws(workspace).reader() as cat:
        rows = cat.query("quarantine_list", {"source": source, "limit": limit})
    t = Table(title="Quarantine")
    for c in ("source", "file", "line", "reason"):
        t.add_column(c)
    for r in rows:
        t.add_row(r["source"], r["file"], str(r["line"]), r["reason"])
    out.print(t)


@app.command()
def report(
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    html: Annotated[Optional[Path], typer.Option("--html", help="Also write a self-contained HTML report here.")] = None,
    workspace: WorkspaceOpt = None, debug: DebugOpt = False,
):
    """Show the catalog's funnel, sources and per-stage numbers."""
    from distillate.curate.report import build_report, render_report

    with _ws(workspace).reader() as cat:
        rep = build_report(cat)
        if html is not None:
            from distillate.curate.report import write_html

            write_html(cat, rep, html)
    if json_out:
        sys.stdout.write(json.dumps(rep, default=str) + "\n")
    else:
        render_report(rep, out)
        if html is not None:
            out.print(f"HTML report: {html}")


@app.command()
def curate(
    stages: Annotated[Optional[str], typer.Option("--stages", help="Comma-separated stages (default: all): stats,verify,dedup,decontam.")] = None,
    tokenizer: Annotated[Optional[str], typer.Option("--tokenizer", help="Tokenizer for token counts: HF id or local path.")] = None,
    benchmarks: Annotated[Optional[str], typer.Option("--benchmarks", help="Benchmarks to decontaminate against: a,b,...")] = None,
    benchmarks_dir: Annotated[Optional[Path], typer.Option("--benchmarks-dir", help="Folder of benchmark JSONL files (id, problem, answer).")] = None,
    engine: Annotated[str, typer.Option("--engine", help="local (processes on this machine) or ray.")] = "local",
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", help="Ray cluster address (with --engine ray).")] = None,
    workspace: WorkspaceOpt = None, quiet: QuietOpt = False, debug: DebugOpt = False,
):
    """Run curation stages: signals (stats), answer verification, dedup, decontamination."""
    from distillate.curate.pipeline import curate as curate_fn

    results = curate_fn(
        _ws(workspace), stages, show_progress=_show_progress(quiet), tokenizer=tokenizer,
        benchmarks=benchmarks, benchmarks_dir=str(benchmarks_dir) if benchmarks_dir else None,
        engine=engine, ray_address=ray_address,
    )
    for name, counters in results.items():
        out.print(f"[bold]{name}[/]: " + ", ".join(f"{k}={v}" for k, v in counters.items()))


@app.command()
def check(workspace: WorkspaceOpt = None, debug: DebugOpt = False):
    """Run the catalog's data checks (sql/checks); exit 1 if any returns rows."""
    with _ws(workspace).reader() as cat:
        failing = cat.run_checks()
    if not failing:
        out.print("all checks pass")
        return
    for name, rows in failing.items():
        out.print(f"[red]{name}[/]: {len(rows)} offending row(s), e.g. {rows[:3]}")
    raise typer.Exit(1)


@app.command()
def demo(
    workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help="Workspace for the demo.")] = Path("demo-workspace"),
    out_dir: Annotated[Path, typer.Option("--out", help="Where the demo build goes.")] = Path("demo-build"),
    quiet: QuietOpt = False, debug: DebugOpt = False,
):
    """Run the whole pipeline on the shipped demo corpus and print the funnel."""
    from distillate.curate.demo import run_demo

    run_demo(workspace, out_dir, show_progress=_show_progress(quiet), console=out)


def main() -> None:
    debug = "--debug" in sys.argv
    try:
        app(standalone_mode=False)
    except DistillateError as e:
        if debug:
            raise
        console.print(f"[red]error:[/] {e}", highlight=False)
        sys.exit(2)
    except (typer.Exit, SystemExit) as e:
        code = getattr(e, "exit_code", getattr(e, "code", 0))
        sys.exit(code or 0)
    except typer.Abort:
        console.print("aborted")
        sys.exit(130)
    except Exception as e:  # click usage errors and unexpected failures
        if hasattr(e, "show") and hasattr(e, "exit_code"):  # click usage errors (typer vendors click)
            e.show()
            sys.exit(e.exit_code)
        if debug:
            raise
        console.print(f"[red]error:[/] {type(e).__name__}: {e}  (run with --debug for the traceback)", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
