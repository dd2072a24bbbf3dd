"""Generation and reformatting through OpenAI-compatible endpoints (or vLLM's offline engine).

Public API (the CLI's `generate` / `reformat` call these; docs/generate.md has the details):

    generate(ws, cfg: GenerateConfig, problems: str, show_progress=True) -> RunResult
        K samples per problem of a JSONL file (id, problem, answer) or a catalog source, stored as traces
        of source cfg.source_name (default gen:<model>) with provenance in traces.metadata.generation.
    reformat(ws, cfg: ReformatConfig, show_progress=True) -> RunResult
        rewrite the traces of cfg.traces_source into the long-thought format; new traces carry
        parent_trace_id and a fidelity row in reformat_checks (failures kept, with reasons).
    report_section(cat) / render_section(console, data)   (report key `generation`)

Every request is journaled in gen_requests (migration 007); a rerun of the same command resumes."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb

from distillate.errors import DistillateError, require
from distillate.log import log

from ..catalog import Catalog
from ..workspace import Workspace
from .client import api_key
from .config import DEFAULT_PROMPT, DEFAULT_REFORMAT_PROMPT, GenerateConfig, ReformatConfig, load_prompt, render
from .fidelity import as_response
from .pricing import load_price_table
from .runner import RunResult, Runner, Spec, request_id, request_params, template_hash

__all__ = ["generate", "reformat", "GenerateConfig", "ReformatConfig", "RunResult", "DEFAULT_PROMPT",
           "DEFAULT_REFORMAT_PROMPT", "load_prompt", "report_section", "render_section"]


def _messages(cfg: GenerateConfig, user: str) -> list[dict]:
    return ([{"role": "system", "content": cfg.system}] if cfg.system else []) + [{"role": "user", "content": user}]


def _preflight(cfg: GenerateConfig) -> str | None:
    """Everything that can fail before a job starts: config, key, price table, the vllm extra."""
    cfg.validate()
    load_price_table(cfg.price_table)
    if cfg.backend == "vllm":
        require("vllm", "vllm")
        return None
    return api_key(cfg.api_key_env, cfg.endpoint)


def _job_args(cfg: GenerateConfig, **more: Any) -> dict:
    return {**asdict(cfg), **more}  # the key is never in cfg: only the name of its variable


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
    known = {r["source"] for r in cat.query("generate/sources")}
    if problems not in known:
        raise DistillateError(f"--problems {problems}: no such file, and no catalog source of that name "
                              f"(sources: {', '.join(sorted(known)) or 'none'})")
    return cat.query("generate/problems_of_source", {"source": problems})


def generate(ws: Workspace, cfg: GenerateConfig, problems: str, show_progress: bool = True) -> RunResult:
    secret = _preflight(cfg)
    with ws.job("generate", _job_args(cfg, problems=problems)) as (cat, job_id):
        rows = load_problems(cat, job_id, problems, show_progress)
        if cfg.limit is not None:
            rows = rows[:cfg.limit]
        if not rows:
            raise DistillateError(f"no problems in {problems}")
        th = template_hash(cfg)
        specs = []
        for r in rows:
            user = render(cfg.prompt, problem=r["problem"], answer=r["answer"])
            for k in range(cfg.n):
                params = request_params(cfg, k)
                specs.append(Spec(request_id("generate", r["problem_id"], None, k, cfg.model, params, th),
                                  "generate", r["problem_id"], r["problem"], r["answer"], k,
                                  _messages(cfg, user), params))
        _register_source(cat, cfg, "generated")
        return Runner(cat, job_id, cfg, specs, show_progress=show_progress, secret=secret).run()


def reformat(ws: Workspace, cfg: ReformatConfig, show_progress: bool = True) -> RunResult:
    secret = _preflight(cfg)
    if not ws.exists():
        raise DistillateError(f"no catalog in {ws.root}: ingest the traces to reformat first")
    with ws.job("reformat", _job_args(cfg)) as (cat, job_id):
        rows = cat.query("generate/reformat_traces", {"source": cfg.traces_source})
        if not rows:
            known = {r["source"] for r in cat.query("generate/sources")}
            raise DistillateError(f"--traces {cfg.traces_source}: " + (
                "that source has no traces to rewrite" if cfg.traces_source in known else
                f"no such source (sources: {', '.join(sorted(known)) or 'none'})"))
        if cfg.limit is not None:
            rows = rows[:cfg.limit]
        th = template_hash(cfg)
        specs, skipped = [], 0
        for r in rows:
            original = r["solution"] if cfg.field == "solution" else as_response(r["thought"], r["solution"])
            if not (original or "").strip():
                skipped += 1  # nothing to rewrite (a truncated trace without a solution)
                continue
            user = render(cfg.prompt, problem=r["problem"], solution=original, thought=r["thought"], answer=r["answer"])
            for k in range(cfg.n):
                params = request_params(cfg, k)
                specs.append(Spec(request_id("reformat", r["problem_id"], r["trace_id"], k, cfg.model, params, th),
                                  "reformat", r["problem_id"], r["problem"], r["answer"], k, _messages(cfg, user),
                                  params, parent_trace_id=r["trace_id"], original_text=original,
                                  original_response=as_response(r["thought"], r["solution"])))
        if skipped:
            log.warning("%d trace(s) of %s have no %s to rewrite: skipped", skipped, cfg.traces_source,
                        "solution" if cfg.field == "solution" else "text")
        if not specs:
            raise DistillateError(f"no trace of {cfg.traces_source} has a solution to rewrite")
        _register_source(cat, cfg, "generated")
        res = Runner(cat, job_id, cfg, specs, show_progress=show_progress, secret=secret).run()
        res.counters["skipped_no_solution"] = skipped
        return res


def _register_source(cat: Catalog, cfg: GenerateConfig, kind: str) -> None:
    where = cfg.endpoint if cfg.backend == "openai" else "vLLM offline engine"
    from .client import public_endpoint

    cat.run("ingest/upsert_source", {"source": cfg.source_name, "kind": kind, "license": None,
                              "description": f"{cfg.model} via {public_endpoint(where) if cfg.backend == 'openai' else where}"})


# ---- report ---------------------------------------------------------------------------------------

def report_section(cat: Catalog, limit: int = 200) -> dict:
    try:
        status = cat.query("generate/report_status")
    except duckdb.CatalogException:
        return {}  # a catalog from before migration 007
    totals = {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0, "reasoning_tokens": 0, "cost_usd": 0.0,
              "unpriced_requests": 0}
    by_status: dict[str, int] = {}
    for r in status:
        by_status[r["status"]] = by_status.get(r["status"], 0) + r["requests"]
        totals["requests"] += r["requests"]
        for k in ("prompt_tokens", "completion_tokens", "reasoning_tokens"):
            totals[k] += int(r[k] or 0)
        totals["cost_usd"] += r["cost_usd"] or 0.0
        totals["unpriced_requests"] += r["unpriced"]
    priced = any(r["cost_usd"] is not None for r in status)
    totals["cost_usd"] = round(totals["cost_usd"], 9) if priced else None
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
        t = Table(title="Generation journal")
        for c in ("kind", "model", "status", "requests", "attempts", "prompt tok", "output tok", "reasoning tok", "cost $"):
            t.add_column(c, justify="left" if c in ("kind", "model", "status") else "right")
        for r in j["rows"]:
            t.add_row(r["kind"], r["model"], r["status"], f"{r['requests']:,}", f"{r['attempts'] or 0:,}",
                      f"{r['prompt_tokens']:,}", f"{r['completion_tokens']:,}", f"{r['reasoning_tokens']:,}",
                      "?" if r["cost_usd"] is None else f"{r['cost_usd']:.4f}")
        console.print(t)
        cost = "cost unknown (no price table)" if j["cost_usd"] is None else f"${j['cost_usd']:.4f}"
        if j["unpriced_requests"] and j["cost_usd"] is not None:
            cost += f" (+{j['unpriced_requests']} unpriced requests)"
        console.print(f"total: {j['requests']:,} requests, {j['prompt_tokens'] + j['completion_tokens']:,} tokens, {cost}")
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
