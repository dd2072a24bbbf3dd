"""One attempt of one chat request through the official async `openai` client, and what its failure means.

The client comes from the endpoint configuration (distillate/endpoint.py) with max_retries=0: retries,
backoff and Retry-After are ours (runner.py), so every attempt is journaled. A response is parsed into a `Completion` (reasoning from `reasoning_content` /
`reasoning` when the server sends it, else left in the content for split_response's <think> parsing) or
the attempt fails with an `AttemptError` that says whether to retry, how long the server asked us to wait,
and whether the whole run must stop (bad key, unknown model, a parameter the model refuses)."""

from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import dataclass
from typing import Any

from distillate.endpoint import EndpointConfig, refusal
from distillate.errors import require
from distillate.redact import redact

REQUEST_ID_HEADER = "X-Distillate-Request-Id"
ATTEMPT_HEADER = "X-Distillate-Attempt"
MAX_RETRY_AFTER = 600.0  # a Retry-After above this is capped (and the request retried later, not hung)


class MalformedResponse(ValueError):
    """The server answered 200 with something that is not a usable chat completion."""


@dataclass
class Completion:
    content: str
    reasoning: str | None
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int | None
    cached_tokens: int
    usage_estimated: bool
    response_id: str | None = None
    served_model: str | None = None

    @property
    def hidden_reasoning_tokens(self) -> int:
        """Reasoning tokens billed (inside completion_tokens) whose text the server did not return."""
        return (self.reasoning_tokens or 0) if self.reasoning is None else 0

    @property
    def has_text(self) -> bool:
        return bool(self.content.strip() or (self.reasoning or "").strip())


@dataclass
class AttemptError:
    kind: str                    # rate_limited | server_error | timeout | connection | malformed | empty_response | auth | not_found | unsupported_parameter | bad_request | error
    message: str
    status: int | None = None
    retry_after: float | None = None
    retryable: bool = True
    fatal: bool = False          # stop the run: no other request can succeed either (bad key, refused parameter)


def request_kwargs(cfg: EndpointConfig, messages: list[dict], params: dict[str, Any], max_tokens: int, stream: bool,
                   extra_body: dict, request_id: str, attempt: int) -> dict:
    """The request as sent: the endpoint's model family decides max_tokens / max_completion_tokens and whether
    sampling parameters go out (distillate/endpoint.py)."""
    return cfg.chat_kwargs(messages, max_tokens=max_tokens, temperature=params.get("temperature"),
                           top_p=params.get("top_p"), seed=params.get("seed"), n=1, stream=stream,
                           stream_options={"include_usage": True} if stream else None,
                           extra_headers={REQUEST_ID_HEADER: request_id, ATTEMPT_HEADER: str(attempt)},
                           extra_body=extra_body or None)


def _get(obj: Any, *names: str) -> Any:
    """First non-None attribute (or extra field) among names; openai objects keep unknown fields as extras."""
    for n in names:
        v = getattr(obj, n, None)
        if v is None:
            extra = getattr(obj, "model_extra", None) or {}
            v = extra.get(n) if isinstance(extra, dict) else None
        if v is not None:
            return v
    return None


def _usage(usage: Any, prompt_chars: int, text_chars: int) -> dict:
    if usage is None or _get(usage, "completion_tokens") is None:
        return {"prompt_tokens": max(1, prompt_chars // 4), "completion_tokens": max(1, text_chars // 4),
                "reasoning_tokens": None, "cached_tokens": 0, "usage_estimated": True}
    details = _get(usage, "completion_tokens_details")
    pdetails = _get(usage, "prompt_tokens_details")
    reasoning = _get(details, "reasoning_tokens") if details is not None else None
    cached = (_get(pdetails, "cached_tokens") if pdetails is not None else None) or _get(usage, "prompt_cache_hit_tokens")
    try:
        return {"prompt_tokens": int(_get(usage, "prompt_tokens") or 0),
                "completion_tokens": int(_get(usage, "completion_tokens")),
                "reasoning_tokens": int(reasoning) if reasoning is not None else None,
                "cached_tokens": int(cached or 0), "usage_estimated": False}
    except (TypeError, ValueError) as e:
        raise MalformedResponse(f"unreadable usage: {e}") from e


def _completion(content: str, reasoning: str | None, finish: str | None, usage: dict, rid=None, model=None) -> Completion:
    # a hidden-reasoning model that spent its whole cap thinking stops at "length" with nothing visible:
    # that is a truncated answer (the length policy decides), not a malformed one
    if not content.strip() and not (reasoning or "").strip() and finish != "length":
        raise MalformedResponse("empty response (no content, no reasoning)")
    return Completion(content=content, reasoning=reasoning or None, finish_reason=finish, response_id=rid,
                      served_model=model, **usage)


async def call(client, kw: dict, prompt_chars: int) -> Completion:
    """Send one request; raise on any failure (classified by `classify`)."""
    if not kw["stream"]:
        resp = await client.chat.completions.create(**kw)
        choices = _get(resp, "choices")
        if not isinstance(choices, list) or not choices:
            raise MalformedResponse("response without choices")
        ch = choices[0]
        msg = _get(ch, "message")
        if msg is None:
            raise MalformedResponse("choice without message")
        content = _get(msg, "content") or ""
        reasoning = _get(msg, "reasoning_content", "reasoning")
        if not isinstance(content, str) or (reasoning is not None and not isinstance(reasoning, str)):
            raise MalformedResponse("content / reasoning is not text")
        usage = _usage(_get(resp, "usage"), prompt_chars, len(content) + len(reasoning or ""))
        return _completion(content, reasoning, _get(ch, "finish_reason"), usage, _get(resp, "id"), _get(resp, "model"))
    stream = await client.chat.completions.create(**kw)
    content, reasoning, finish, usage_obj, rid, model = [], [], None, None, None, None
    try:
        async for chunk in stream:
            rid = rid or _get(chunk, "id")
            model = model or _get(chunk, "model")
            u = _get(chunk, "usage")
            if u is not None:
                usage_obj = u
            for ch in _get(chunk, "choices") or []:
                d = _get(ch, "delta")
                if d is not None:
                    c = _get(d, "content")
                    r = _get(d, "reasoning_content", "reasoning")
                    if c:
                        content.append(c)
                    if r:
                        reasoning.append(r)
                finish = _get(ch, "finish_reason") or finish
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            await close()
    text, rtext = "".join(content), "".join(reasoning)
    if finish is None:
        raise MalformedResponse("stream ended without a finish_reason")
    usage = _usage(usage_obj, prompt_chars, len(text) + len(rtext))
    return _completion(text, rtext or None, finish, usage, rid, model)


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return min(MAX_RETRY_AFTER, max(0.0, float(ms) / 1000))
        ra = headers.get("retry-after")
        if ra is None:
            return None
        try:
            return min(MAX_RETRY_AFTER, max(0.0, float(ra)))
        except ValueError:
            dt = email.utils.parsedate_to_datetime(ra)
            return min(MAX_RETRY_AFTER, max(0.0, dt.timestamp() - time.time()))
    except (TypeError, ValueError, OverflowError):
        return None


def classify(e: BaseException, ep: EndpointConfig) -> AttemptError:
    """What a failed attempt means. Unknown exceptions are not retried (they are bugs or local errors)."""
    openai = require("openai", "openai")
    msg = redact(f"{type(e).__name__}: {e}" if str(e) else f"{type(e).__name__}: no complete answer in time")[:2000]
    if isinstance(e, (asyncio.TimeoutError, openai.APITimeoutError)):
        return AttemptError("timeout", msg)
    if isinstance(e, MalformedResponse):
        return AttemptError("empty_response" if "empty response" in str(e) else "malformed", msg)
    if isinstance(e, openai.APIResponseValidationError):
        return AttemptError("malformed", msg, getattr(e, "status_code", None))
    if isinstance(e, openai.APIStatusError):
        st = e.status_code
        ra = _retry_after(getattr(e.response, "headers", None))
        if st == 429:
            return AttemptError("rate_limited", msg, st, ra)
        if st >= 500 or st in (408, 409):
            return AttemptError("server_error", msg, st, ra)
        if st in (401, 403):
            return AttemptError("auth", msg, st, retryable=False, fatal=True)
        if st == 404:
            return AttemptError("not_found", msg, st, retryable=False, fatal=True)
        refused = refusal(e)
        if refused is not None:  # every request would be refused alike: stop and say how to fix it, once
            return AttemptError("unsupported_parameter", ep.refusal_message(*refused), st, retryable=False,
                                fatal=True)
        return AttemptError("bad_request", msg, st, retryable=False)
    if isinstance(e, openai.APIConnectionError):
        return AttemptError("connection", msg)
    if isinstance(e, openai.APIError):  # e.g. an error event inside a stream, undecodable stream data
        return AttemptError("malformed", msg)
    if isinstance(e, (ValueError, KeyError, TypeError, AttributeError)):  # undecodable JSON and the like
        return AttemptError("malformed", msg)
    return AttemptError("error", msg, retryable=False)
