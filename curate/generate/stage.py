"""`generate` and `reformat`: build the requests of a run, send them through the runner, and the report section
`generation`; `dry_run` prints what a run would send and what it would cost, sending nothing."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb

from distillate.errors import DistillateError, require
from distillate.log import log

from ..catalog import Catalog
from ..ids import problem_id as make_problem_id
from ..workspace import Workspace
from .config import GenerateConfig, ReformatConfig, render
from .estimate import estimate
from .fidelity import as_response
from .pricing import load_price_table
from .runner import RunResult, Runner, Spec, request_id, request_params
from .wal import CompletionLog


def _messages(cfg: GenerateConfig, user: str) -> list[dict]:
    return ([{"role": "system", "content": cfg.system}] if cfg.system else []) + [{"role": "user", "content": user}]


def _preflight(cfg: GenerateConfig, *, key: bool = True) -> None:
    """Everything that can fail before a job starts: config, price table, the vllm extra, the key."""
    cfg.validate()
    load_price_table(cfg.price_table)
    if cfg.backend == "vllm":
        require("vllm", "vllm")
    elif key:
        cfg.api_key()  # read now (and registered for redaction): a missing key fails before any job starts


def _job_args(cfg: GenerateConfig, **more: Any) -> dict:
    return {**asdict(cfg), **more}  # the key is never in cfg (only its variable's name); URLs are redacted by job()


# ---- the requests of a run -------------------------------------------------------------------------

def generate_specs(cfg: GenerateConfig, problems: list[dict]) -> list[Spec]:
    """K requests per problem ({problem_id, problem, answer} rows, in order)."""
    th = cfg.template_hash
    specs = []
    for r in problems:
        user = render(cfg.template.text, problem=r["problem"], answer=r["answer"])
        for k in range(cfg.n):
            params = request_params(cfg, k)
            specs.append(Spec(request_id("generate", r["problem_id"], None, k, cfg.model, params, th), "generate",
                              r["problem_id"], r["problem"], r["answer"], k, _messages(cfg, user), params))
    return specs


def reformat_specs(cfg: ReformatConfig, traces: list[dict]) -> tuple[list[Spec], int]:
    """K rewrites per trace; also the number of traces skipped for having nothing to rewrite."""
    th = cfg.template_hash
    specs, skipped = [], 0
    for r in traces:
        original = r["solution"] if cfg.field == "solution" else as_response(r["thought"], r["solution"])
        if not (original or "").strip():
            skipped += 1  # nothing to rewrite (a truncated trace without a solution)
            continue
        user = render(cfg.template.text, problem=r["problem"], solution=original, thought=r["thought"],
                      answer=r["answer"])
        for k in range(cfg.n):
            params = request_params(cfg, k)
            specs.append(Spec(request_id("reformat", r["problem_id"], r["trace_id"], k, cfg.model, params, th),
                              "reformat", r["problem_id"], r["problem"], r["answer"], k, _messages(cfg, user), params,
                              parent_trace_id=r["trace_id"], original_text=original,
                              original_response=as_response(r["thought"], r["solution"])))
    return specs, skipped


def load_problems(cat: Catalog, job_id: str, problems: str, show_progress: bool = True) -> list[dict]:
    """--problems: a JSONL file (ingested as source problems:<file name>) or the name of a catalog source."""
    p = Path(problems)
    if p.is_file():
        from ..ingest import ingest

        source = f"problems:{p.name}"
        stats = ingest(cat, job_id, [str(p)], source=source, fmt="problems", show_progress=show_progress)
        if stats.quarantined:
            log.warning("%d row(s) of %s could not be read: see `distillate quarantine --source %s`",
                        stats.quarantined, p, source)
        return cat.query("generate/problems_of_file", {"source": source, "file": str(p)})
    return _problems_of_source(cat, problems)


def _problems_of_source(cat: Catalog | None, problems: str) -> list[dict]:
    known = {r["source"] for r in cat.query("generate/sources")} if cat is not None else set()
    if problems not in known:
        raise DistillateError(f"--problems {problems}: no such file, and no catalog source of that name "
                              f"(sources: {', '.join(sorted(known)) or 'none'})")
    return cat.query("generate/problems_of_source", {"source": problems})


def _problems_of_file(path: Path) -> list[dict]:
    """A problem file read without ingesting it (for --dry-run): the problems in file order, each once."""
    from ..ingest import iter_rows, parse_row
    from ..ingest.formats import RecordError

    seen: dict[str, dict] = {}
    for row in iter_rows(str(path)):
        if row.error is not None:
            continue
        try:
            _, records = parse_row(row.value, "problems")
        except RecordError:
            continue
        for rec in records:
            pid = make_problem_id(rec.problem)
            if pid not in seen:
                seen[pid] = {"problem_id": pid, "problem": rec.problem, "answer": rec.answer}
            elif seen[pid]["answer"] is None:
                seen[pid]["answer"] = rec.answer
    return list(seen.values())


def _reformat_traces(cat: Catalog | None, cfg: ReformatConfig) -> list[dict]:
    rows = cat.query("generate/reformat_traces", {"source": cfg.traces_source}) if cat is not None else []
    if not rows:
        known = {r["source"] for r in cat.query("generate/sources")} if cat is not None else set()
        raise DistillateError(f"--traces {cfg.traces_source}: " + (
            "that source has no traces to rewrite" if cfg.traces_source in known else
            f"no such source (sources: {', '.join(sorted(known)) or 'none'})"))
    return rows[:cfg.limit] if cfg.limit is not None else rows


# ---- the commands ----------------------------------------------------------------------------------

def generate(ws: Workspace, cfg: GenerateConfig, problems: str, show_progress: bool = True) -> RunResult:
    _preflight(cfg)
    with ws.job("generate", _job_args(cfg, problems=problems)) as (cat, job_id):
        rows = load_problems(cat, job_id, problems, show_progress)
        if cfg.limit is not None:
            rows = rows[:cfg.limit]
        if not rows:
            raise DistillateError(f"no problems in {problems}")
        specs = generate_specs(cfg, rows)
        _register_source(cat, cfg, "generated")
        return Runner(cat, job_id, cfg, specs, log_dir=_log_dir(ws), show_progress=show_progress).run()


def reformat(ws: Workspace, cfg: ReformatConfig, show_progress: bool = True) -> RunResult:
    _preflight(cfg)
    if not ws.exists():
        raise DistillateError(f"no catalog in {ws.root}: ingest the traces to reformat first")
    with ws.job("reformat", _job_args(cfg)) as (cat, job_id):
        specs, skipped = reformat_specs(cfg, _reformat_traces(cat, cfg))
        if skipped:
            log.warning("%d trace(s) of %s have no %s to rewrite: skipped", skipped, cfg.traces_source,
                        "solution" if cfg.field == "solution" else "text")
        if not specs:
            raise DistillateError(f"no trace of {cfg.traces_source} has a solution to rewrite")
        _register_source(cat, cfg, "generated")
        res = Runner(cat, job_id, cfg, specs, log_dir=_log_dir(ws), show_progress=show_progress).run()
        res.counters["skipped_no_solution"] = skipped
        return res


def dry_run(ws: Workspace, cfg: GenerateConfig, problems: str | None = None) -> dict:
    """What `generate` (problems given) or `reformat` (cfg is a ReformatConfig) would send and cost, reading
    the catalog's latest snapshot only: nothing is written, no key is needed, no request is sent."""
    _preflight(cfg, key=False)
    with ExitStack() as stack:
        cat = stack.enter_context(ws.reader()) if ws.current_snapshot() is not None else None
        if isinstance(cfg, ReformatConfig):
            specs, _ = reformat_specs(cfg, _reformat_traces(cat, cfg))
            input_source = cfg.traces_source
        else:
            p = Path(problems or "")
            rows = _problems_of_file(p) if p.is_file() else _problems_of_source(cat, problems or "")
            rows = rows[:cfg.limit] if cfg.limit is not None else rows
            if not rows:
                raise DistillateError(f"no problems in {problems}")
            specs = generate_specs(cfg, rows)
            input_source = None if p.is_file() else problems
        entries, _ = CompletionLog.read_pending(ws.root / LOG_DIR)  # finished, not yet in the catalog
        logged = {e["update"]["request_id"] for e in entries
                  if e["update"]["status"] in ("completed", "dropped") or not cfg.retry_failed}
        return estimate(cat, cfg, specs, input_source, done=logged)


LOG_DIR = "generate/completion-log"


def _log_dir(ws: Workspace) -> Path:
    """Where the completion log lives (runner.py, wal.py): replayed by the next generate/reformat after a kill."""
    return ws.path(*LOG_DIR.split("/"))


def _register_source(cat: Catalog, cfg: GenerateConfig, kind: str) -> None:
    where = cfg.public_endpoint if cfg.backend == "openai" else "vLLM offline engine"
    cat.run("ingest/upsert_source", {"source": cfg.source_name, "kind": kind, "license": None,
                                     "description": f"{cfg.model} via {where}"})


# ---- report ---------------------------------------------------------------------------------------

_TOKEN_KEYS = ("prompt_tokens", "completion_tokens", "visible_completion_tokens", "reasoning_tokens",
               "hidden_reasoning_tokens")


def report_section(cat: Catalog, limit: int = 200) -> dict:
    try:
        status = cat.query("generate/report_status")
    except duckdb.CatalogException:
        return {}  # a catalog from before migration 007
    totals: dict[str, Any] = {"requests": 0, **{k: 0 for k in _TOKEN_KEYS}, "cost_usd": 0.0,
                              "hidden_reasoning_cost_usd": 0.0, "unpriced_requests": 0}
    by_status: dict[str, int] = {}
    for r in status:
        by_status[r["status"]] = by_status.get(r["status"], 0) + r["requests"]
        totals["requests"] += r["requests"]
        for k in _TOKEN_KEYS:
            totals[k] += int(r[k] or 0)
        totals["cost_usd"] += r["cost_usd"] or 0.0
        totals["hidden_reasoning_cost_usd"] += r["hidden_reasoning_cost_usd"] or 0.0
        totals["unpriced_requests"] += r["unpriced"]
    priced = any(r["cost_usd"] is not None for r in status)
    for k in ("cost_usd", "hidden_reasoning_cost_usd"):
        totals[k] = round(totals[k], 9) if priced else None
    pr_tot = cat.query("generate/report_pass_rate_totals")[0]
    rf = cat.query("generate/report_reformat")[0]
    return {
        "journal": {"by_status": by_status, **totals,
                    "rows": [{k: (round(v, 9) if isinstance(v, float) else v) for k, v in r.items()} for r in status]},
        "failures": cat.query("generate/report_errors"),
        "pass_rates": {**{k: (round(v, 4) if isinstance(v, float) else v) for k, v in pr_tot.items()},
                       "buckets": {r["bucket"]: r["problems"] for r in cat.query("generate/report_pass_rates")},
                       "per_problem": cat.query("generate/report_pass_rate_list", {"limit": limit}), "limit": limit},
        "reformat": {**{k: (round(v, 4) if isinstance(v, float) else v) for k, v in rf.items()},
                     "reasons": {r["reason"]: r["traces"] for r in cat.query("generate/report_reformat_reasons")}},
    }


def render_section(console, data: dict) -> None:
    from rich.table import Table

    if not data or not data["journal"]["requests"] and not data["pass_rates"]["problems_graded"]:
        return
    j = data["journal"]
    if j["requests"]:
        t = Table(title="Generation journal (cost table)")
        cols = ("kind", "model", "status", "requests", "attempts", "prompt tok", "visible output tok",
                "hidden reasoning tok", "cost $", "of which hidden $")
        for c in cols:
            t.add_column(c, justify="left" if c in ("kind", "model", "status") else "right")
        for r in j["rows"]:
            t.add_row(r["kind"], r["model"], r["status"], f"{r['requests']:,}", f"{r['attempts'] or 0:,}",
                      f"{r['prompt_tokens']:,}", f"{r['visible_completion_tokens']:,}",
                      f"{r['hidden_reasoning_tokens']:,}",
                      "?" if r["cost_usd"] is None else f"{r['cost_usd']:.4f}",
                      "?" if r["hidden_reasoning_cost_usd"] is None else f"{r['hidden_reasoning_cost_usd']:.4f}")
        console.print(t)
        cost = "cost unknown (no price table)" if j["cost_usd"] is None else f"${j['cost_usd']:.4f}"
        if j["unpriced_requests"] and j["cost_usd"] is not None:
            cost += f" (+{j['unpriced_requests']} unpriced requests)"
        hidden = ""
        if j["hidden_reasoning_tokens"]:
            hidden = (f" ({j['hidden_reasoning_tokens']:,} of them hidden reasoning, billed but not returned" +
                      ("" if j["hidden_reasoning_cost_usd"] is None else f": ${j['hidden_reasoning_cost_usd']:.4f}")
                      + ")")
        console.print(f"total: {j['requests']:,} requests, {j['prompt_tokens']:,} prompt + "
                      f"{j['completion_tokens']:,} output tokens{hidden}, {cost}")
        if data["failures"]:
            console.print("failed requests by last error: " +
                          ", ".join(f"{f['error_kind']} {f['requests']}" for f in data["failures"]))
    pr = data["pass_rates"]
    if pr["problems_graded"]:
        t = Table(title=f"Pass rates ({pr['problems_graded']:,} problems, mean {pr['mean_pass_rate']:.3f})")
        t.add_column("pass rate")
        t.add_column("problems", justify="right")
        for b, n in pr["buckets"].items():
            t.add_row(b, f"{n:,}")
        console.print(t)
    rf = data["reformat"]
    if rf["checked"]:
        console.print(f"reformat fidelity: {rf['passed']:,} passed, {rf['failed']:,} failed" +
                      ("" if not rf["reasons"] else " (" + ", ".join(f"{k} {v}" for k, v in rf["reasons"].items()) + ")"))
