"""Generation and reformatting through OpenAI-compatible endpoints (or vLLM's offline engine).

Public API (the CLI's `generate` / `reformat` call these; docs/generate.md has the details):

    generate(ws, cfg: GenerateConfig, problems: str, show_progress=True) -> RunResult
        K samples per problem of a JSONL file (id, problem, answer) or a catalog source, stored as traces
        of source cfg.source_name (default gen:<model>) with provenance in traces.metadata.generation.
    reformat(ws, cfg: ReformatConfig, show_progress=True) -> RunResult
        rewrite the traces of cfg.traces_source into the long-thought format; new traces carry
        parent_trace_id and a fidelity row in reformat_checks (failures kept, with reasons).
    dry_run(ws, cfg, problems=None) -> dict     what a run would send and cost (render_estimate prints it)
    named_templates() -> {name: text}            the shipped prompt templates (--prompt NAME)
    report_section(cat) / render_section(console, data)   (report key `generation`)

Layout: stage.py (the commands, the report section), config.py (configs, prompt templates), runner.py (the
journaled request loop), client.py (one attempt), estimate.py (dry-run costs), pricing.py, ratelimit.py,
fidelity.py (reformat checks), vllm_backend.py. Every request is journaled in gen_requests (migrations 007,
013); a rerun of the same command resumes."""

from .config import (DEFAULT_PROMPT, DEFAULT_REFORMAT_PROMPT, GenerateConfig, ReformatConfig, Template, load_prompt,
                     named_templates, resolve_prompt)
from .estimate import render_estimate
from .runner import RunResult
from .stage import dry_run, generate, reformat, render_section, report_section

__all__ = ["generate", "reformat", "dry_run", "render_estimate", "GenerateConfig", "ReformatConfig", "RunResult",
           "DEFAULT_PROMPT", "DEFAULT_REFORMAT_PROMPT", "Template", "load_prompt", "named_templates",
           "resolve_prompt", "report_section", "render_section"]
