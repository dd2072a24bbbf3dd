"""The chat-template check (`distillate build --tokenizer T [--max-length N]`).

Renders every SFT row with the tokenizer's chat template the way TRL's SFTTrainer does and reports:
- rendered lengths against max_length (rows TRL would truncate, losing the end of the solution with its
  default keep_start truncation; rows whose whole completion falls beyond max_length);
- whether the thought and the solution survive the template (some templates strip reasoning);
- assistant-only masking: with `assistant_only_loss=True` TRL needs `{% generation %}` markers; without
  them every assistant mask is all zeros (TRL swaps in its own training template for known families:
  we check with the same template TRL would use) and whether the masked tokens hold the thought and the
  solution.
Without a tokenizer, `--max-length` alone compares the signals' n_tokens (no template rendering)."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import polars as pl

from distillate.errors import DistillateError, require
from distillate.log import log, progress

_MARKERS = re.compile(r"\{%-?\s*generation\s*-?%\}")
_EXAMPLES = 10


def _quantiles(vals: list[int]) -> dict:
    if not vals:
        return {}
    s = sorted(vals)

    def q(p):
        return s[min(len(s) - 1, int(p * (len(s) - 1) + 0.5))]

    return {"min": s[0], "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": s[-1], "mean": round(sum(s) / len(s), 1)}


def _signals_only(kept: pl.DataFrame, max_length: int) -> dict:
    n = kept.select("trace_id", "n_tokens")
    over = n.filter(pl.col("n_tokens") > max_length)
    return {
        "lengths_from": "signals n_tokens (thought + solution, no chat template rendered: pass --tokenizer)",
        "rows": n.height, "max_length": max_length,
        "lengths": _quantiles(n["n_tokens"].drop_nulls().to_list()),
        "rows_without_length": int(n["n_tokens"].is_null().sum()),
        "over_max_length": over.height,
        "examples": {"over_max_length": sorted(over["trace_id"].to_list())[:_EXAMPLES]},
    }


def load_tokenizer(name: str):
    transformers = require("transformers", "hf")
    try:
        tok = transformers.AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as e:
        raise DistillateError(f"cannot load tokenizer {name!r}: {str(e).splitlines()[0]}") from e
    if not getattr(tok, "chat_template", None):
        raise DistillateError(f"tokenizer {name!r} has no chat template: the check needs one")
    return tok


def mask_template(tok) -> tuple[str | None, str]:
    """The template TRL would mask assistant tokens with, and where it comes from."""
    if _MARKERS.search(tok.chat_template if isinstance(tok.chat_template, str) else tok.chat_template["default"]):
        return None, "tokenizer template ({% generation %} markers)"
    try:
        from trl.chat_template_utils import get_training_chat_template
    except ImportError:
        return None, "none: no {% generation %} markers and TRL is not installed"
    try:
        patched = get_training_chat_template(tok)
    except Exception:  # TRL raises for template families it cannot patch
        return None, "none: no {% generation %} markers and TRL cannot patch this template"
    return patched, "TRL training template (the tokenizer's has no {% generation %} markers)"


def _ids(out) -> list[int]:
    return list(out["input_ids"])


def check_row(tok, conv: list[dict], masked_tmpl: str | None, mask_ok: bool) -> dict:
    """Render one conversation; lengths, completion start, mask and survival of thought / solution."""
    prompt = conv[:-1]
    assistant = conv[-1]
    full = tok.apply_chat_template(conv, tokenize=True, return_dict=True)
    ids = _ids(full)
    p_ids = _ids(tok.apply_chat_template(prompt, tokenize=True, return_dict=True, add_generation_prompt=True))
    start = 0
    for a, b in zip(p_ids, ids):
        if a != b:
            break
        start += 1
    text = tok.apply_chat_template(conv, tokenize=False)
    content = assistant.get("content") or ""
    thought = assistant.get("reasoning_content")
    sol = content
    for close in ("</think>",):
        if close in content:
            thought = content.split(close, 1)[0].split("<think>", 1)[-1]
            sol = content.split(close, 1)[1]
    thought = (thought or "").strip()
    sol = sol.strip()
    res = {"tokens": len(ids), "completion_start": start,
           "thought_rendered": (not thought) or thought[:200] in text,
           "solution_rendered": (not sol) or sol[-200:] in text}
    if mask_ok:
        m = tok.apply_chat_template(conv, tokenize=True, return_dict=True, return_assistant_tokens_mask=True,
                                    chat_template=masked_tmpl)
        mask = list(m["assistant_masks"])
        mids = _ids(m)
        res["mask_tokens"] = sum(mask)
        res["mask_first"] = mask.index(1) if 1 in mask else None
        masked = tok.decode([t for t, k in zip(mids, mask) if k])
        res["thought_masked_in"] = (not thought) or thought[:200] in masked
        res["solution_masked_in"] = (not sol) or sol[-200:] in masked
    return res


def check_lengths(sft_path: Path, kept: pl.DataFrame, recipe, tokenizer: str | None, max_length: int | None,
                  cache: dict, show_progress: bool = True) -> dict:
    """The check's summary for one built variant (goes into manifest.json and DATACARD.md)."""
    if tokenizer is None:
        return _signals_only(kept, max_length)
    if "tok" not in cache:
        tok = load_tokenizer(tokenizer)
        cache["tok"] = tok
        cache["mask"] = mask_template(tok)
        cache["rows"] = {}
    tok = cache["tok"]
    masked_tmpl, mask_source = cache["mask"]
    mask_ok = not mask_source.startswith("none")
    fmt_key = orjson.dumps(recipe.format.__dict__, option=orjson.OPT_SORT_KEYS)
    per: dict[str, dict] = {}
    with open(sft_path, "rb") as f:
        lines = f.readlines()
    with progress(disable=not show_progress) as bar:
        task = bar.add_task(f"chat template {recipe.variant or recipe.name}", total=len(lines), info="")
        for line in lines:
            row = orjson.loads(line)
            conv = row["messages"] if "messages" in row else row["prompt"] + row["completion"]
            key = (row["trace_id"], fmt_key)
            if key not in cache["rows"]:
                cache["rows"][key] = check_row(tok, conv, masked_tmpl, mask_ok)
            per[row["trace_id"]] = cache["rows"][key]
            bar.advance(task)
    lengths = [r["tokens"] for r in per.values()]
    L = max_length

    def ids(pred):
        return sorted(t for t, r in per.items() if pred(r))

    over = ids(lambda r: L is not None and r["tokens"] > L)
    no_completion = ids(lambda r: L is not None and r["completion_start"] >= L)
    summary = {
        "lengths_from": f"chat template of {tokenizer}",
        "tokenizer": tokenizer,
        "rows": len(per),
        "max_length": L,
        "lengths": _quantiles(lengths),
        "over_max_length": len(over),
        "solution_cut_by_truncation": len(over),
        "completion_beyond_max_length": len(no_completion),
        "thought_not_rendered": len(ids(lambda r: not r["thought_rendered"])),
        "solution_not_rendered": len(ids(lambda r: not r["solution_rendered"])),
        "assistant_mask_source": mask_source,
        "examples": {"over_max_length": over[:_EXAMPLES], "completion_beyond_max_length": no_completion[:_EXAMPLES],
                     "thought_not_rendered": ids(lambda r: not r["thought_rendered"])[:_EXAMPLES]},
    }
    if mask_ok:
        zero = ids(lambda r: r["mask_tokens"] == 0)
        zero_trunc = ids(lambda r: r["mask_tokens"] == 0 or (L is not None and (r["mask_first"] or 0) >= L))
        summary.update({
            "assistant_mask_all_zero": len(zero),
            "assistant_mask_all_zero_after_truncation": len(zero_trunc),
            "thought_not_in_assistant_mask": len(ids(lambda r: not r["thought_masked_in"])),
            "solution_not_in_assistant_mask": len(ids(lambda r: not r["solution_masked_in"])),
        })
        summary["examples"]["assistant_mask_all_zero"] = zero[:_EXAMPLES]
    else:
        # every mask would be all zeros: TRL raises on the first row with assistant_only_loss=True
        summary.update({"assistant_mask_all_zero": len(per), "assistant_mask_all_zero_after_truncation": len(per)})
    problems = [k for k in ("over_max_length", "thought_not_rendered", "solution_not_rendered",
                            "assistant_mask_all_zero", "solution_not_in_assistant_mask") if summary.get(k)]
    if problems:
        log.warning("chat template check (%s): %s", recipe.variant or recipe.name,
                    ", ".join(f"{k}={summary[k]}" for k in problems))
    return summary
