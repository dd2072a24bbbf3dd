"""`--backend vllm`: the same requests through vLLM's offline engine on a local GPU (extra 'vllm').

The journal, trace storage and fidelity checks are the runner's (driven through its public methods
`begin`, `bill`, `store`, `drop`, `fail`, `commit`, `info`); only sending differs. Requests go to the engine
in chunks of BATCH, and a chunk's finished requests are committed (and only then counted) before the next
chunk starts, so a killed run loses at most one chunk. Retries do not apply (there is no network);
`--on-length retry` resends the truncated ones of a chunk with doubled max_tokens, up to length_retries times."""

from __future__ import annotations

import asyncio
import time

from distillate.errors import require

from . import client as cl

BATCH = 256


def _engine(cfg):
    vllm = require("vllm", "vllm")
    return vllm, vllm.LLM(model=cfg.model, seed=cfg.seed or 0)


async def _store_all(runner, items) -> None:
    async def one(s, comp, max_tokens):
        try:
            await runner.store(s, comp, max_tokens)
        except cl.MalformedResponse as e:
            runner.fail(s, "empty_response", str(e))

    await asyncio.gather(*(one(*it) for it in items))


def run_vllm(runner, todo, bar, task) -> None:
    cfg = runner.cfg
    vllm, llm = _engine(cfg)
    cap = cfg.max_tokens_limit or 4 * cfg.max_tokens
    for i in range(0, len(todo), BATCH):
        chunk = todo[i:i + BATCH]
        max_tokens = {s.request_id: s.params["max_tokens"] for s in chunk}
        pending = list(chunk)
        runner.begin(chunk)
        for round_ in range(1 + (cfg.length_retries if cfg.on_length == "retry" else 0)):
            if not pending:
                break
            params = [vllm.SamplingParams(n=1, max_tokens=max_tokens[s.request_id],
                                          temperature=s.params.get("temperature", 1.0),
                                          top_p=s.params.get("top_p", 1.0), seed=s.params["seed"]) for s in pending]
            t0 = time.monotonic()
            outs = llm.chat([s.messages for s in pending], params, use_tqdm=False)
            elapsed = (time.monotonic() - t0) / max(1, len(pending))
            again, finished = [], []
            for s, o in zip(pending, outs):
                runner.states[s.request_id].attempts += 1
                runner.c["attempts"] += 1
                g = o.outputs[0]
                comp = cl.Completion(content=g.text, reasoning=None, finish_reason=g.finish_reason,
                                     prompt_tokens=len(o.prompt_token_ids or []), completion_tokens=len(g.token_ids),
                                     reasoning_tokens=None, cached_tokens=0, usage_estimated=False,
                                     served_model=cfg.model)
                runner.bill(s, comp, elapsed)
                if g.finish_reason == "length" and cfg.on_length == "retry" and round_ < cfg.length_retries \
                        and max_tokens[s.request_id] < cap:
                    max_tokens[s.request_id] = min(cap, 2 * max_tokens[s.request_id])
                    runner.c["length_retries"] += 1
                    again.append(s)
                elif g.finish_reason == "length" and (cfg.on_length == "drop" or not comp.has_text):
                    runner.drop(s, "finish_reason=length: dropped (--on-length drop)" if cfg.on_length == "drop"
                                else "finish_reason=length before any output")
                else:
                    finished.append((s, comp, max_tokens[s.request_id]))
            asyncio.run(_store_all(runner, finished))
            pending = again
            runner.commit()  # every finished request of this round is committed before the next one starts
            bar.update(task, completed=runner.finished, info=runner.info())
