"""Cost before spending (`generate --dry-run`, `reformat --dry-run`): the requests a run would send and their
estimated cost, from the prompt sizes, the price table and an expected output length.

Prompt tokens are estimated as characters / 4 (the estimate the rate limiter uses). Output tokens are given
two ways: the cap (every request uses its whole --max-tokens: the most a run can cost) and the expected length
observed so far, first found of:
1. the journal: the mean billed completion tokens (hidden reasoning included) of this model's completed
   requests of the same kind -- the best guess for a teacher whose reasoning is hidden;
2. the source's traces (the --problems source for generate, the --traces source for reformat): their mean
   length in characters / 4;
both capped at --max-tokens. Without a price for the model the costs are None ("unknown"), never 0."""

from __future__ import annotations

import orjson
import pyarrow as pa

from ..catalog import Catalog
from .config import GenerateConfig
from .pricing import load_price_table, price_for
from .runner import Spec

SHOWN = 20  # requests listed one per line; --json lists every request


def _prompt_tokens(spec: Spec) -> int:
    return max(1, sum(len(m["content"]) for m in spec.messages) // 4)


def _observed(cat: Catalog | None, cfg: GenerateConfig, kind: str, input_source: str | None) -> tuple[float | None, str | None]:
    if cat is None:
        return None, None
    j = cat.query("generate/observed_completion", {"model": cfg.model, "kind": kind})[0]
    if j["requests"]:
        return float(j["mean_tokens"]), (f"journal: mean of {j['requests']:,} completed {kind} request(s) of "
                                         f"{cfg.model}")
    if input_source:
        t = cat.query("generate/observed_source_length", {"source": input_source})[0]
        if t["traces"]:
            return float(t["mean_chars"]) / 4, f"source {input_source}: mean length of {t['traces']:,} trace(s) (chars / 4)"
    return None, None


def estimate(cat: Catalog | None, cfg: GenerateConfig, specs: list[Spec], input_source: str | None,
             done: set[str] = frozenset()) -> dict:
    """`done`: request ids known to be finished outside the catalog (a killed run's completion log)."""
    done = set(done)
    if cat is not None and specs:
        ids = pa.table({"request_id": [s.request_id for s in specs]})
        with cat.registered(_gen_plan=ids):
            for r in cat.query("generate/plan_state"):
                if r["status"] in ("completed", "dropped") or (r["status"] == "failed" and not cfg.retry_failed):
                    done.add(r["request_id"])
    todo = [s for s in specs if s.request_id not in done]
    kind = specs[0].kind if specs else "generate"
    price = price_for(load_price_table(cfg.price_table), cfg.model)
    prompt = sum(_prompt_tokens(s) for s in todo)
    cap = cfg.max_tokens * len(todo)
    mean, basis = _observed(cat, cfg, kind, input_source)
    expected = None if mean is None else round(min(mean, cfg.max_tokens) * len(todo))

    def cost(out: int | None) -> float | None:
        return None if price is None or out is None else round(price.cost(prompt, out), 6)

    first = None
    if todo:
        s = todo[0]
        first = cfg.chat_kwargs(s.messages, max_tokens=s.params["max_tokens"], temperature=s.params.get("temperature"),
                                top_p=s.params.get("top_p"), seed=s.params.get("seed"), n=1,
                                extra_body=cfg.extra_body or None)
    return {
        "kind": kind, "source": cfg.source_name, "backend": cfg.backend,
        "endpoint": cfg.public_endpoint if cfg.backend == "openai" else f"vllm:{cfg.model}",
        "model": cfg.model, "family": cfg.family.name,
        "template": {"name": cfg.template.name, "hash": cfg.template_hash},
        "requests": {"planned": len(specs), "already_done": len(specs) - len(todo), "to_send": len(todo)},
        "prompt_tokens": prompt,
        "output_tokens": {"cap": cap, "expected": expected, "expected_from": basis},
        "price": None if price is None else {"input": price.input, "output": price.output,
                                             "cached_input": price.cached_input},
        "cost_usd": {"at_cap": cost(cap), "expected": cost(expected)},
        "first_request": first,
        "to_send": [{"request_id": s.request_id, "problem_id": s.problem_id, "parent_trace_id": s.parent_trace_id,
                     "sample_index": s.sample_index, "prompt_tokens": _prompt_tokens(s),
                     "max_tokens": s.params["max_tokens"]} for s in todo],
    }


def render_estimate(console, est: dict) -> None:
    from rich.markup import escape
    from rich.table import Table

    r = est["requests"]
    console.print(f"[bold]dry run[/]: {est['kind']} with {est['model']} ({est['family']} model) at {est['endpoint']}, "
                  f"template {est['template']['name']} ({est['template']['hash']}), traces to {est['source']}")
    console.print(f"{r['planned']:,} request(s) planned, {r['already_done']:,} already done, "
                  f"[bold]{r['to_send']:,} would be sent[/] (nothing is sent in a dry run)")
    if not r["to_send"]:
        return
    t = Table(title=f"Requests to send (first {min(SHOWN, r['to_send'])} of {r['to_send']:,}; --json lists all)")
    for c in ("request", "problem", "sample", "prompt tok", "max tokens"):
        t.add_column(c, justify="right" if c in ("sample", "prompt tok", "max tokens") else "left")
    for q in est["to_send"][:SHOWN]:
        t.add_row(q["request_id"], q["problem_id"], str(q["sample_index"]), f"{q['prompt_tokens']:,}",
                  f"{q['max_tokens']:,}")
    console.print(t)
    console.print("first request as sent:")
    console.print(escape(orjson.dumps(est["first_request"], option=orjson.OPT_INDENT_2).decode()), highlight=False)
    o, c = est["output_tokens"], est["cost_usd"]
    t = Table(title="Estimated cost")
    for col in ("output length", "prompt tok", "output tok", "cost $"):
        t.add_column(col, justify="left" if col == "output length" else "right")
    unknown = "? (no --price-table entry)"
    t.add_row("cap: every request uses --max-tokens", f"{est['prompt_tokens']:,}", f"{o['cap']:,}",
              unknown if c["at_cap"] is None else f"{c['at_cap']:.4f}")
    if o["expected"] is not None:
        t.add_row(f"expected ({o['expected_from']})", f"{est['prompt_tokens']:,}", f"{o['expected']:,}",
                  unknown if c["expected"] is None else f"{c['expected']:.4f}")
    console.print(t)
    if o["expected"] is None:
        console.print("no observed lengths yet (no completed request of this model, no traces in the input source): "
                      "only the cap is known")
