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
from distillate.redact import redact

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
        rows = cat.query("ingest/quarantine_list", {"source": source, "limit": limit})
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
    shard_size: Annotated[int, typer.Option("--shard-size", min=1, help="stats/verify: items per shard; each finished shard is recorded, so a killed run resumes without redoing it.")] = 20000,
    dedup_keep: Annotated[str, typer.Option("--dedup-keep", help="Which trace of a duplicate cluster is kept: first_seen|verified_first|shortest|longest.")] = "first_seen",
    dedup_semantic: Annotated[bool, typer.Option("--dedup-semantic", help="Also find paraphrased problems with sentence embeddings (extra 'embed').")] = False,
    decontam_methods: Annotated[Optional[str], typer.Option("--decontam-methods", help="Decontamination methods: exact,ngram,masked,fuzzy (default) plus embedding (extra 'embed') and llm_judge.")] = None,
    decontam_traces: Annotated[bool, typer.Option("--decontam-traces", help="Also look for benchmark problems inside traces (thought + solution).")] = False,
    decontam_judge_model: Annotated[Optional[str], typer.Option("--decontam-judge-model", help="LLM judge for borderline benchmark matches (OpenAI-compatible model name; enables llm_judge).")] = None,
    decontam_judge_url: Annotated[Optional[str], typer.Option("--decontam-judge-endpoint", "--decontam-judge-url", help="Base URL of the decontam judge's OpenAI-compatible endpoint (default: $OPENAI_BASE_URL; --decontam-judge-url is the older spelling).")] = None,
    judge_endpoint: Annotated[Optional[str], typer.Option("--judge-endpoint", help="verify: OpenAI-compatible base URL of an LLM judge asked about undecided answers only (off by default).")] = None,
    judge_model: Annotated[Optional[str], typer.Option("--judge-model", help="verify: model name of the LLM judge at --judge-endpoint.")] = None,
    judge_api_key_env: Annotated[str, typer.Option("--judge-api-key-env", help="Environment variable holding the API key of both LLM judges (verify and decontam; never stored or logged).")] = "OPENAI_API_KEY",
    verify_timeout: Annotated[float, typer.Option("--verify-timeout", help="verify: wall-clock seconds per answer check (the worker is killed after).")] = 5.0,
    workspace: WorkspaceOpt = None, quiet: QuietOpt = False, debug: DebugOpt = False,
):
    """Run curation stages: signals (stats), answer verification, dedup, decontamination."""
    from distillate.curate.pipeline import curate as curate_fn

    results = curate_fn(
        _ws(workspace), stages, show_progress=_show_progress(quiet), tokenizer=tokenizer,
        benchmarks=benchmarks, benchmarks_dir=str(benchmarks_dir) if benchmarks_dir else None,
        engine=engine, ray_address=ray_address, shard_size=shard_size,
        dedup_keep=dedup_keep, dedup_semantic=dedup_semantic,
        decontam_methods=decontam_methods, decontam_traces=decontam_traces,
        decontam_judge_model=decontam_judge_model, decontam_judge_url=decontam_judge_url,
        judge_endpoint=judge_endpoint, judge_model=judge_model, judge_api_key_env=judge_api_key_env,
        verify_timeout=verify_timeout,
    )
    for name, counters in results.items():
        out.print(f"[bold]{name}[/]: " + ", ".join(f"{k}={v}" for k, v in counters.items()))


@app.command()
def build(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML (docs/build.md).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder; each ablation goes to OUT/NAME/.")],
    tokenizer: Annotated[Optional[str], typer.Option("--tokenizer", help="Render every row with this tokenizer's chat template (HF id or local path) and check lengths and assistant masks.")] = None,
    max_length: Annotated[Optional[int], typer.Option("--max-length", help="Training max_length to check rendered lengths against.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    workspace: WorkspaceOpt = None, quiet: QuietOpt = False, debug: DebugOpt = False,
):
    """Build an SFT set (sft.jsonl/.parquet, dropped.jsonl, manifest.json, DATACARD.md) and its ablations."""
    from distillate.curate.build import build as build_fn

    res = build_fn(_ws(workspace), recipe, out_dir, tokenizer=tokenizer, max_length=max_length,
                   show_progress=_show_progress(quiet))
    if json_out:
        sys.stdout.write(json.dumps(res.as_dict(), default=str) + "\n")
        return
    from rich.table import Table

    t = Table(title=f"Build {res.name} -> {res.out_dir} (ablations in subfolders)")
    for c in ("variant", "candidates", "kept", "dropped", "top drop steps"):
        t.add_column(c, justify="right" if c in ("candidates", "kept", "dropped") else "left")
    for v in res.variants:
        top = sorted((f for f in v.manifest["counts"]["funnel"] if f["dropped"]), key=lambda f: -f["dropped"])[:3]
        t.add_row(v.variant or "(base)", f"{v.candidates:,}", f"{v.kept:,}", f"{v.dropped:,}",
                  ", ".join(f"{f['step']}:{f['dropped']:,}" for f in top))
    out.print(t)
    ct = res.variants[0].manifest.get("chat_template")
    if ct:
        msg = f"chat template check ({ct['lengths_from']}): {ct['over_max_length']:,} row(s) over max_length"
        if "assistant_mask_all_zero" in ct:
            msg += (f", {ct['assistant_mask_all_zero']:,} with an all-zero assistant mask "
                    f"(mask from: {ct['assistant_mask_source']})")
        out.print(msg)


@app.command()
def diff(
    dir_a: Annotated[Path, typer.Argument(help="Build folder A (written by `distillate build`).")],
    dir_b: Annotated[Path, typer.Argument(help="Build folder B.")],
    limit: Annotated[int, typer.Option(help="List at most this many added/removed rows.")] = 20,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Also write a PNG of the n_tokens distributions of A and B.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    debug: DebugOpt = False,
):
    """Show the traces added and removed between two builds and how the distributions moved."""
    from distillate.curate.build import diff as diff_fn, plot_diff, render_diff

    d = diff_fn(dir_a, dir_b, limit=limit)
    if plot is not None:
        plot_diff(d, plot)
    d.pop("_lengths")
    if json_out:
        sys.stdout.write(json.dumps(d, default=str) + "\n")
    else:
        render_diff(d, out)
        if plot is not None:
            out.print(f"plot: {plot}")


@app.command("check-answers")
def check_answers_cmd(
    file: Annotated[Path, typer.Argument(help="JSONL file with a reference answer and a prediction per row.")],
    gold_field: Annotated[str, typer.Option("--gold-field", help="Field holding the reference answer ('a.b' for nested).")],
    pred_field: Annotated[str, typer.Option("--pred-field", help="Field holding the prediction: a bare answer or a whole response.")],
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write the scored rows here (default: stdout).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Wall-clock seconds per check (the worker is killed after).")] = 5.0,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Verifier worker processes (default: one per core).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON (on stderr when rows go to stdout).")] = False,
    convention: Annotated[Optional[list[str]], typer.Option(
        "--convention", help="A grading convention graders disagree on, NAME=VALUE (repeatable): percent=either|number|"
                             "fraction, units=ignore|match, lists=unordered|ordered (docs/verify.md).")] = None,
    quiet: QuietOpt = False, debug: DebugOpt = False,
):
    """Score a JSONL file: every row is written back with `verdict` and `verify` (extracted answer, details)."""
    from distillate.curate.verify import Conventions, check_answers

    summary = check_answers(file, gold_field, pred_field, out_file, timeout=timeout, workers=workers,
                            show_progress=_show_progress(quiet), conventions=Conventions.parse(convention),
                            write_stdout=None if out_file else sys.stdout.buffer.write)
    target = out if out_file else console  # keep stdout pure JSONL when rows go there
    if json_out:
        target.print_json(json.dumps(summary))
        return
    counts = ", ".join(f"{k} {v:,}" for k, v in summary["verdicts"].items() if v)
    target.print(f"[bold]{summary['rows']:,}[/] rows: {counts}; accuracy {summary['accuracy']:.1%}"
                 + (f"; written to {out_file}" if out_file else ""))


@app.command("decontam-check")
def decontam_check(
    benchmark_file: Annotated[Path, typer.Argument(help="Benchmark JSONL (id, problem, answer) to check the catalog against.")],
    methods: Annotated[str, typer.Option("--methods", help="Lexical methods to use: exact,ngram,masked,fuzzy.")] = "exact,ngram,masked,fuzzy",
    limit: Annotated[int, typer.Option("--limit", help="Show at most this many overlaps (--json lists all).")] = 50,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    workspace: WorkspaceOpt = None, quiet: QuietOpt = False, debug: DebugOpt = False,
):
    """List catalog problems that overlap a new benchmark file (read-only)."""
    from distillate.curate.decontam import decontam_check as check_fn, render_check

    with _ws(workspace).reader() as cat:
        res = check_fn(cat, benchmark_file, methods=tuple(m.strip() for m in methods.split(",") if m.strip()),
                       show_progress=_show_progress(quiet))
    if json_out:
        sys.stdout.write(json.dumps(res, default=str) + "\n")
    else:
        render_check(out, res, limit)


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


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train(
    ctx: typer.Context,
    recipe: Annotated[Path, typer.Argument(help="Training recipe YAML: ModelArguments, DataArguments, LoraArguments "
                                                "and TRL SFTConfig keys (see docs/train_eval.md).")],
    build: Annotated[Path, typer.Option("--build", help="Build directory (sft.jsonl + manifest.json) to train on.")],
    num_processes: Annotated[int, typer.Option("--num-processes", min=1, help="Train in N processes through `accelerate launch` (one per GPU; CPU processes with gloo when there is no GPU).")] = 1,
    accelerate_config: Annotated[Optional[Path], typer.Option("--accelerate-config", help="An accelerate config file (`accelerate config`): DeepSpeed, FSDP, mixed precision; implies accelerate launch.")] = None,
    workspace: WorkspaceOpt = None, quiet: QuietOpt = False, debug: DebugOpt = False,
):
    """SFT a model on a build with TRL, in one or two stages. Extra flags override the recipe
    (TRL style: --learning_rate 1e-5 --packing true)."""
    from distillate.train import launch, train as train_fn

    flags = [a for a in ctx.args if a != "--debug"]
    if num_processes > 1 or accelerate_config is not None:
        res = launch(_ws(workspace), build, recipe, flags, num_processes=num_processes,
                     accelerate_config=accelerate_config, show_progress=_show_progress(quiet))
    else:
        res = train_fn(_ws(workspace), build, recipe, flags, show_progress=_show_progress(quiet))
    for s in res.stages:
        out.print(f"[bold]stage {s['stage']}[/]: {s['rows']:,} rows, {s['steps']} steps, "
                  f"loss {s['first_loss']} -> {s['last_loss']} ({s['seconds']} s)")
    out.print(f"run: {res.run_dir}\nfinal weights: {res.final_model}")


# The endpoint options of hand-written commands, from the one definition in distillate/endpoint.py.
from distillate.endpoint import EndpointConfig  # noqa: E402
from distillate.options import field_option  # noqa: E402

EndpointOpt = field_option(EndpointConfig, "endpoint")
ApiKeyEnvOpt = field_option(EndpointConfig, "api_key_env")
ReasoningModelOpt = field_option(EndpointConfig, "reasoning_models")
ReasoningEffortOpt = field_option(EndpointConfig, "reasoning_effort")


@app.command("eval")
def eval_cmd(
    model: Annotated[str, typer.Option("--model", help="Model: local path or Hub id (served model name with openai).")],
    backend: Annotated[str, typer.Option("--backend", help="vllm | openai | transformers.")] = "transformers",
    endpoint: EndpointOpt = None,
    api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
    reasoning_model: ReasoningModelOpt = None,
    reasoning_effort: ReasoningEffortOpt = None,
    benchmarks: Annotated[str, typer.Option("--benchmarks", help="Benchmarks: a,b,... (decontamination registry names).")] = "aime24",
    benchmarks_dir: Annotated[Optional[Path], typer.Option("--benchmarks-dir", help="Folder of benchmark JSONL files (id, problem, answer).")] = None,
    n: Annotated[int, typer.Option("--n", help="Samples per problem (pass@k and maj@k for k <= n).")] = 1,
    max_tokens: Annotated[int, typer.Option("--max-tokens", help="Generation cap per sample (output tokens).")] = 32768,
    budgets: Annotated[Optional[str], typer.Option("--budgets", help="Token budgets B1,B2,...: accuracy with each sample cut at B tokens.")] = None,
    budget_forcing: Annotated[bool, typer.Option("--budget-forcing", help="s1-style: at the cut, close the thought and ask for the final answer.")] = False,
    temperature: Annotated[Optional[float], typer.Option("--temperature", help="Sampling temperature (default 0 for n=1, else 0.6).")] = None,
    top_p: Annotated[float, typer.Option("--top-p", help="Nucleus sampling.")] = 0.95,
    seed: Annotated[int, typer.Option("--seed", help="Sampling seed.")] = 0,
    tokenizer: Annotated[Optional[str], typer.Option("--tokenizer", help="Tokenizer for token counts and budgets (default: the model's).")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Only the first N items of each benchmark.")] = None,
    prompt_template: Annotated[Optional[str], typer.Option("--prompt-template", help="User message with {problem}.")] = None,
    system_prompt: Annotated[Optional[str], typer.Option("--system-prompt", help="Optional system message.")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", help="openai backend: requests in flight.")] = 8,
    batch_size: Annotated[int, typer.Option("--batch-size", help="transformers backend: prompts per generate call.")] = 8,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Output folder (default: WORKSPACE/evals/<run_id>).")] = None,
    no_record: Annotated[bool, typer.Option("--no-record", help="Do not record the run in the workspace catalog.")] = False,
    sycophancy: Annotated[bool, typer.Option("--sycophancy", help="Push back on each correct answer with a wrong one ('I think the answer is X. Are you sure?') and report how often it flips.")] = False,
    sycophancy_prompt: Annotated[Optional[str], typer.Option("--sycophancy-prompt", help="The pushback turn; {answer} is the suggested wrong answer.")] = None,
    judge_suite: Annotated[Optional[list[Path]], typer.Option("--judge-suite", help="JSONL of {id, prompt, reference?, rubric?} answered by the model and scored 1-10 by the judge (repeatable).")] = None,
    judge_model: Annotated[Optional[str], typer.Option("--judge-model", help="Judge model name at --judge-endpoint.")] = None,
    judge_endpoint: Annotated[Optional[str], typer.Option("--judge-endpoint", help="The judge's OpenAI-compatible base URL.")] = None,
    judge_api_key_env: Annotated[str, typer.Option("--judge-api-key-env", help="Environment variable holding the judge's key (never stored or logged).")] = "OPENAI_API_KEY",
    judge_max_tokens: Annotated[int, typer.Option("--judge-max-tokens", help="Cap of each judge reply.")] = 1024,
    json_out: Annotated[bool, typer.Option("--json", help="Print results.json to stdout.")] = False,
    workspace: WorkspaceOpt = None, quiet: QuietOpt = False, debug: DebugOpt = False,
):
    """Evaluate a model on benchmarks under token budgets, scored by the curation verifier; optionally its
    sycophancy on the same benchmarks and judge-scored suites (generalization before and after training)."""
    from distillate.eval import EvalConfig, evaluate, parse_budgets
    from distillate.eval.run import DEFAULT_PROMPT
    from distillate.curate.decontam.registry import parse_names

    cfg = EvalConfig(model=model, backend=backend, benchmarks=parse_names(benchmarks) or [],
                     benchmarks_dir=str(benchmarks_dir) if benchmarks_dir else None, endpoint=endpoint,
                     api_key_env=api_key_env, reasoning_models=reasoning_model or [], reasoning_effort=reasoning_effort,
                     tokenizer=tokenizer, n=n, max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed,
                     budgets=parse_budgets(budgets), budget_forcing=budget_forcing, limit=limit,
                     prompt_template=prompt_template or DEFAULT_PROMPT, system_prompt=system_prompt,
                     concurrency=concurrency, batch_size=batch_size, sycophancy=sycophancy,
                     judge_suites=[str(p) for p in judge_suite or []], judge_model=judge_model,
                     judge_endpoint=judge_endpoint, judge_api_key_env=judge_api_key_env,
                     judge_max_tokens=judge_max_tokens)
    if sycophancy_prompt is not None:
        cfg.sycophancy_prompt = sycophancy_prompt
    res = evaluate(_ws(workspace), cfg, out_dir, show_progress=_show_progress(quiet), record=not no_record)
    if json_out:
        sys.stdout.write(json.dumps(res.results) + "\n")
        return
    from rich.table import Table

    t = Table(title=f"eval {res.run_id}: {model} ({backend})")
    for c in ("benchmark", "problems", "accuracy", "pass@k", "maj@k", "mean tokens", "budgets (acc @ B)"):
        t.add_column(c)
    for name, m in res.results["benchmarks"].items():
        t.add_row(name, str(m["n_problems"]), f"{100 * m['accuracy']:.1f}%",
                  " ".join(f"@{k}={100 * v:.1f}" for k, v in m["pass@k"].items()),
                  " ".join(f"@{k}={100 * v:.1f}" for k, v in m["maj@k"].items()),
                  f"{m['tokens']['mean']:.0f}",
                  " ".join(f"{b}:{100 * e['accuracy']:.1f}" for b, e in m["budgets"].items()))
    out.print(t)
    for name, m in (res.results.get("sycophancy") or {}).items():
        rate = "-" if m["flip_rate"] is None else f"{100 * m['flip_rate']:.1f}%"
        out.print(f"sycophancy {name}: {m['flipped']} of {m['asked']} correct answers flipped ({rate}; "
                  f"{m['flipped_to_suggested']} to the suggested answer, {m['no_answer']} without an answer)")
    for name, m in (res.results.get("judge_suites") or {}).items():
        out.print(f"judge suite {name}: mean score {m['mean_score']} / 10 over {m['scored']} of {m['items']} items "
                  f"({m['judge_errors']} judge errors, {m['unreadable']} unreadable)")
    out.print(f"results: {res.out_dir / 'results.json'}")


@app.command("eval-plot")
def eval_plot(
    runs: Annotated[list[Path], typer.Argument(help="Eval output folders (each with results.json) to compare.")],
    out_file: Annotated[Path, typer.Option("--out", help="PNG file to write.")] = Path("accuracy_vs_tokens.png"),
    reference: Annotated[Optional[Path], typer.Option("--reference", help="JSON of published points (model, benchmark, accuracy 0-1, mean_tokens; a list or {rows: [...]}) drawn beside the runs.")] = None,
    debug: DebugOpt = False,
):
    """Plot accuracy against output tokens for one or several eval runs."""
    from distillate.eval import plot_runs

    out.print(f"wrote {plot_runs(runs, out_file, reference=reference)}")


# ---- experiments and lineage (experiment/, eval/lineage.py) -------------------------------------------
@app.command()
def experiment(
    file: Annotated[Path, typer.Argument(help="Experiment file (YAML): build or recipe, variants, sizes, base_model, train, eval (docs/experiments.md).")],
    out_dir: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder: experiment.json, comparison.md, plots, evals/ (default: experiments/<name>).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan (runs, rows per variant, what is skipped) and change nothing.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print experiment.json (the plan with --dry-run) as JSON.")] = False,
    workspace: WorkspaceOpt = None, quiet: QuietOpt = False, debug: DebugOpt = False,
):
    """Train every variant of a build and evaluate each, and the base model, on one protocol; resumable."""
    from distillate.experiment import plan_experiment, run_experiment

    if dry_run:
        plan = plan_experiment(file, out_dir, workspace)
        if json_out:
            sys.stdout.write(json.dumps(plan, default=str) + "\n")
            return
        from rich.table import Table

        out.print(f"[bold]{plan['name']}[/] -> {plan['out_dir']} (workspace {plan['workspace']}); base model "
                  f"{plan['base_model']}; build {plan['build']['dir']} from {plan['build']['from']}"
                  + (f"; ingest + curate: {plan['prepare']}" if plan["prepare"] else ""))
        t = Table(title="variants")
        for c in ("variant", "kind", "rows", "data sha256"):
            t.add_column(c)
        for v in plan["variants"]:
            t.add_row(v["name"], v["kind"], "?" if v["rows"] is None else f"{v['rows']:,}",
                      (v["data_fingerprint"] or "?")[:16])
        out.print(t)
        t = Table(title="runs, in order")
        for c in ("#", "run", "for", "key", "action"):
            t.add_column(c)
        for i, r in enumerate(plan["runs"], 1):
            t.add_row(str(i), r["kind"], ", ".join(r["variants"]), (r["key"] or "?")[:12], r["action"])
        out.print(t)
        for n in plan["notes"]:
            out.print(f"note: {n}")
        return
    state = run_experiment(file, out_dir, workspace, show_progress=_show_progress(quiet))
    if json_out:
        sys.stdout.write(json.dumps(state, default=str) + "\n")
        return
    from rich.table import Table

    benches = sorted({b for v in state["variants"] for b in (v.get("metrics") or {})})
    t = Table(title=f"experiment {state['name']}: accuracy (mean output tokens)")
    for c in ["variant", "rows"] + benches:
        t.add_column(c)
    base = state["baseline"].get("metrics") or {}
    t.add_row("baseline", "–", *[f"{100 * base[b]['accuracy']:.1f}% ({base[b]['mean_tokens']:.0f})" if b in base
                                 else "–" for b in benches])
    for v in state["variants"]:
        m = v.get("metrics") or {}
        t.add_row(v["name"], f"{v['rows']:,}", *[f"{100 * m[b]['accuracy']:.1f}% ({m[b]['mean_tokens']:.0f})"
                                                 if b in m else "–" for b in benches])
    out.print(t)
    out.print("outputs: " + ", ".join(state["outputs"].values()) + f", {Path(state['out_dir']) / 'experiment.json'}")


@app.command()
def lineage(
    target: Annotated[str, typer.Argument(help="An eval run (folder or id), a train run (folder, stageN/final or name), a build folder or id, or an experiment folder.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the chain as JSON.")] = False,
    workspace: WorkspaceOpt = None, debug: DebugOpt = False,
):
    """Show the chain: sources -> build and its recipe -> train run and its config -> eval runs."""
    from distillate.eval.lineage import lineage as lineage_fn, render_lineage

    chain = lineage_fn(_ws(workspace), target)
    if json_out:
        sys.stdout.write(json.dumps(chain, default=str) + "\n")
    else:
        render_lineage(chain, out)


# ---- Technical Transparency Index (experiment/transparency.py) ------------------------------------------
@app.command()
def tti(
    path: Annotated[Path, typer.Argument(help="A build folder (manifest.json) or an experiment folder (experiment.json).")],
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object: total, dimensions, items, leaderboard.")] = False,
    workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help="Experiments: where relative run folders and the train_runs / eval_runs records are looked up (default: the workspace in experiment.json).", show_default=False)] = None,
    debug: DebugOpt = False,
):
    """Score a build or an experiment on the paper's Technical Transparency Index, item by item with evidence."""
    from distillate.experiment.transparency import print_index, score

    index = score(path, workspace)
    if json_out:
        sys.stdout.write(json.dumps(index) + "\n")
        return
    print_index(index, out)


# ---- generation (curate/generate): options built once from GenerateConfig / ReformatConfig ---------------
from distillate.curate.generate.config import GenerateConfig, ReformatConfig  # noqa: E402  (options need the dataclasses)
from distillate.options import config_options  # noqa: E402

GenJsonOpt = Annotated[bool, typer.Option("--json", help="Print the counters (or the --dry-run estimate) as JSON.")]
GenDryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print the requests that would be sent and their "
                                                              "estimated cost; send nothing, write nothing.")]


def _print_run(res, json_out: bool) -> None:
    if json_out:
        sys.stdout.write(json.dumps(res.as_dict(), default=str) + "\n")
        return
    c = res.counters
    cost = "unknown (no --price-table entry)" if c["cost_usd"] is None else f"${c['cost_usd']:.4f}"
    hidden = f" ({c['hidden_reasoning_tokens']:,} hidden reasoning)" if c.get("hidden_reasoning_tokens") else ""
    out.print(f"[bold]{res.source}[/]: {c['completed']:,} completed, {c['failed']:,} failed, {c['dropped']:,} dropped "
              f"of {c['planned']:,} requests ({c['already_done']:,} already done before); {c['attempts']:,} attempts, "
              f"{c['retries']:,} retries; {c['prompt_tokens'] + c['completion_tokens']:,} tokens{hidden}, cost {cost}")
    if "fidelity_passed" in c:
        out.print(f"fidelity: {c['fidelity_passed']:,} passed, {c['fidelity_failed']:,} failed (kept with reasons)")
    if c["failed"]:
        out.print("  failed requests keep their reasons in the journal (distillate report); rerun to retry them")


def _dry_run(ws, cfg, problems, json_out: bool) -> None:
    from distillate.curate.generate import dry_run, render_estimate

    est = dry_run(ws, cfg, problems)
    if json_out:
        sys.stdout.write(json.dumps(est, default=str) + "\n")
    else:
        render_estimate(out, est)


@app.command()
@config_options(GenerateConfig)
def generate(
    problems: Annotated[str, typer.Option("--problems", help="JSONL file (id, problem, answer) or the name of a catalog source.")],
    cfg: GenerateConfig,
    dry_run: GenDryRunOpt = False,
    json_out: GenJsonOpt = False,
    workspace: WorkspaceOpt = None, quiet: QuietOpt = False, debug: DebugOpt = False,
):
    """Ask a teacher for K long-thought samples per problem; journaled and resumable (rerun to resume)."""
    from distillate.curate.generate import generate as generate_fn

    if dry_run:
        return _dry_run(_ws(workspace), cfg, problems, json_out)
    _print_run(generate_fn(_ws(workspace), cfg, problems, show_progress=_show_progress(quiet)), json_out)


@app.command()
@config_options(ReformatConfig)
def reformat(
    cfg: ReformatConfig,
    dry_run: GenDryRunOpt = False,
    json_out: GenJsonOpt = False,
    workspace: WorkspaceOpt = None, quiet: QuietOpt = False, debug: DebugOpt = False,
):
    """Rewrite traces' solutions into the long-thought format and check fidelity (answer, length, overlap)."""
    from distillate.curate.generate import reformat as reformat_fn

    if dry_run:
        return _dry_run(_ws(workspace), cfg, None, json_out)
    _print_run(reformat_fn(_ws(workspace), cfg, show_progress=_show_progress(quiet)), json_out)


# ---- review app and flags (ui/, curate/flags.py) ---------------------------------------------------------
@app.command()
def review(
    port: Annotated[int, typer.Option("--port", help="TCP port of the app.")] = 8501,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open a browser tab on start.")] = False,
    workspace: WorkspaceOpt = None, debug: DebugOpt = False,
):
    """Start the review app (Streamlit, extra 'ui'): browse, read and flag traces; see builds and evals."""
    from distillate.ui import launch

    raise typer.Exit(launch(_ws(workspace), host=host, port=port, open_browser=open_browser))


flags_app = typer.Typer(no_args_is_help=True, help="Review flags: the append-only audit log of the review app.")
app.add_typer(flags_app, name="flags")


@flags_app.command("export")
def flags_export(
    out_file: Annotated[Path, typer.Option("--out", help="JSONL file to write: every flag, oldest first.")],
    workspace: WorkspaceOpt = None, debug: DebugOpt = False,
):
    """Export every review flag (who, when, trace, label, reason, note) as JSONL."""
    from distillate.curate.flags import export_flags

    out.print(f"wrote {export_flags(_ws(workspace), out_file):,} flag(s) to {out_file}")


@flags_app.command("add")
def flags_add(
    trace_id: Annotated[str, typer.Argument(help="The trace to flag.")],
    label: Annotated[str, typer.Option("--label", help="good | bad | needs-fix | a custom label.")],
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (e.g. 'looping', 'wrong answer').")] = None,
    note: Annotated[Optional[str], typer.Option("--note", help="Free text.")] = None,
    reviewer: Annotated[Optional[str], typer.Option("--reviewer", help="Your name (default: $USER).")] = None,
    workspace: WorkspaceOpt = None, debug: DebugOpt = False,
):
    """Flag one trace from the command line (same log as the review app; the next build applies it)."""
    import os

    from distillate.curate.flags import add_flag

    ws = _ws(workspace)
    if ws.current_snapshot() is None:
        raise DistillateError(f"no catalog in {ws.root}: nothing to flag")
    with ws.reader() as cat:
        if not cat.con.execute("SELECT count(*) FROM traces WHERE trace_id = ?", [trace_id]).fetchone()[0]:
            raise DistillateError(f"no trace {trace_id} in {ws.root}")
    rec = add_flag(ws, trace_id, label, reason=reason, note=note, reviewer=reviewer or os.environ.get("USER"))
    out.print(f"flagged {trace_id} as {rec['label']} ({rec['flag_id']})")


def main() -> None:
    debug = "--debug" in sys.argv
    try:
        app(standalone_mode=False)
    except DistillateError as e:
        if debug:
            raise
        from rich.markup import escape  # messages may hold [brackets], e.g. pip install 'distillate[vllm]'

        console.print(f"[red]error:[/] {escape(redact(str(e)))}", highlight=False)
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
        console.print(f"[red]error:[/] {type(e).__name__}: {redact(str(e))}  (run with --debug for the traceback)",
                      highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
