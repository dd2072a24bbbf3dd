"""Cost of a request from its usage and a price table (USD per 1M tokens).

There is no built-in table: list prices change and differ per provider, and a wrong default would be a
silent error. Give `--price-table FILE` (JSON or YAML):

    {"deepseek-reasoner": {"input": 0.55, "output": 2.19},
     "gpt-4o*":           {"input": 2.5,  "output": 10.0, "cached_input": 1.25}}

Keys are model names or fnmatch patterns (the exact name wins, then the longest pattern). Reasoning tokens
are billed as output tokens (they are part of completion_tokens for OpenAI, DeepSeek and vLLM). A model
without a price gets cost NULL (not 0), and one warning."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import orjson

from distillate.errors import DistillateError


@dataclass(frozen=True)
class Price:
    input: float          # USD per 1M prompt tokens
    output: float         # USD per 1M completion tokens (reasoning included)
    cached_input: float | None = None  # USD per 1M cached prompt tokens, when the server reports them

    def cost(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> float:
        cached = min(cached_tokens or 0, prompt_tokens) if self.cached_input is not None else 0
        return ((prompt_tokens - cached) * self.input + cached * (self.cached_input or 0.0)
                + completion_tokens * self.output) / 1e6


def load_price_table(path: str | Path | None) -> dict[str, Price]:
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise DistillateError(f"no such price table: {p}")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = orjson.loads(text)
    except Exception as e:
        raise DistillateError(f"cannot read the price table {p}: {e}") from e
    if not isinstance(data, dict):
        raise DistillateError(f"the price table {p} must map model names to {{input, output}} prices")
    table = {}
    for model, v in data.items():
        if not isinstance(v, dict) or not {"input", "output"} <= set(v):
            raise DistillateError(f"price table {p}: entry {model!r} needs 'input' and 'output' (USD per 1M tokens)")
        try:
            table[str(model)] = Price(float(v["input"]), float(v["output"]),
                                      float(v["cached_input"]) if v.get("cached_input") is not None else None)
        except (TypeError, ValueError) as e:
            raise DistillateError(f"price table {p}: entry {model!r} has a non-numeric price ({e})") from e
    return table


def price_for(table: dict[str, Price], model: str) -> Price | None:
    if model in table:
        return table[model]
    hits = [k for k in table if fnmatch.fnmatchcase(model, k)]
    return table[max(hits, key=len)] if hits else None
