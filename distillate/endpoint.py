"""One endpoint configuration for every OpenAI-compatible client: `generate`, `reformat`, `eval --backend
openai`, the verify judge and the decontam judge (docs/generate.md, "Endpoints").

    from distillate.endpoint import EndpointConfig
    ep = EndpointConfig(model="gpt-4o-mini", endpoint="http://127.0.0.1:8000/v1")  # key from $OPENAI_API_KEY
    client = ep.client()                                # the official `openai` client (ep.client(asynchronous=True))
    r = client.chat.completions.create(**ep.chat_kwargs(messages, max_tokens=512, temperature=0.0))

`EndpointConfig` holds what every client needs: base URL, the *name* of the environment variable holding
the API key (the key itself is read when a client is made, registered for redaction and never stored),
model, timeout, client-side retries, and the model family rules. `chat_kwargs` turns the caller's wishes
into the parameters this model family accepts:

| family | models | output cap sent as | sampling parameters | `reasoning_effort` |
|---|---|---|---|---|
| reasoning | o-series (o1, o3-mini, o4-mini, ...), the gpt-5 family, every name or pattern in `reasoning_models` | `max_completion_tokens` | not sent (these models refuse temperature, top_p, ...) | sent when set |
| chat | every other model (vLLM/SGLang servers, DeepSeek, gpt-4o, ...) | `max_tokens` | sent | refused: a configuration error |

`refusal(e)` reads a 400 that names an unsupported parameter (OpenAI's `unsupported_parameter` /
`unsupported_value` errors, or the same words in another server's message) and `refusal_fix` says how to
fix the configuration, so that callers report it once instead of retrying every request."""

from __future__ import annotations

import base64
import fnmatch
import os
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from distillate.errors import DistillateError, require
from distillate.redact import public_url, redact, register_secret

REASONING_EFFORTS = ("low", "medium", "high")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
DEFAULT_BASE_URL = "https://api.openai.com/v1"  # what the openai client uses without base_url / $OPENAI_BASE_URL

# o1, o1-mini, o3-mini, o4-mini-2025-04-16, gpt-5, gpt-5-mini, gpt-5.1 ... (optionally after a router's "openai/")
_REASONING_NAME = re.compile(r"^(o\d+|gpt-5)([-_.:]|$)", re.I)
# sampling parameters that reasoning models refuse (OpenAI: "Unsupported parameter" / "Unsupported value")
SAMPLING_PARAMS = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "logprobs", "top_logprobs",
                   "logit_bias")


@dataclass(frozen=True)
class Family:
    name: str              # reasoning | chat
    token_param: str       # how the output cap is sent
    sampling: bool         # temperature / top_p are sent
    effort: bool           # reasoning_effort may be sent


CHAT = Family("chat", "max_tokens", True, False)
REASONING = Family("reasoning", "max_completion_tokens", False, True)


def model_family(model: str, reasoning_models: list[str] | tuple[str, ...] = ()) -> Family:
    """The family of a model name: reasoning by name (o-series, gpt-5 family) or because it matches one of
    `reasoning_models` (names or fnmatch patterns, e.g. an Azure deployment name); chat otherwise."""
    base = model.rsplit("/", 1)[-1]
    if _REASONING_NAME.match(base) or any(fnmatch.fnmatchcase(m, p) for p in reasoning_models for m in (model, base)):
        return REASONING
    return CHAT


@dataclass
class EndpointConfig:
    """An OpenAI-compatible endpoint and model (the fields every client shares; commands inherit them)."""

    model: str = field(metadata={"flag": "--model", "help": "Model name as the endpoint knows it."})
    endpoint: str | None = field(default=None, metadata={
        "flag": "--endpoint", "help": "OpenAI-compatible base URL, e.g. https://api.deepseek.com/v1 or "
                                      "http://127.0.0.1:8000/v1 (stored without credentials or query string)."})
    api_key_env: str = field(default="OPENAI_API_KEY", metadata={
        "flag": "--api-key-env", "help": "Environment variable holding the API key (the key is never stored or "
                                         "logged; local servers need none)."})
    timeout: float = field(default=600.0, metadata={
        "flag": "--timeout", "help": "Seconds one request may take end to end."})
    max_retries: int = 0  # retries inside the openai client (generate retries itself, and journals each attempt)
    reasoning_models: list[str] = field(default_factory=list, metadata={
        "flag": "--reasoning-model", "help": "Treat this model name (or fnmatch pattern) as a reasoning model: "
                                             "max_completion_tokens, no sampling parameters (repeatable; o-series and "
                                             "gpt-5 names are recognised without it).", "metavar": "NAME"})
    reasoning_effort: str | None = field(default=None, metadata={
        "flag": "--reasoning-effort", "help": "Reasoning models: reasoning effort low | medium | high (default: "
                                              "the server's).", "metavar": "LEVEL"})

    # -- rules -------------------------------------------------------------------------------------
    @property
    def family(self) -> Family:
        return model_family(self.model, self.reasoning_models)

    @property
    def base_url(self) -> str:
        return self.endpoint or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL

    @property
    def public_endpoint(self) -> str | None:
        """The endpoint as stored and shown (no credentials, no query string)."""
        return public_url(self.base_url)

    def validate_endpoint(self) -> None:
        if self.reasoning_effort is not None:
            if self.reasoning_effort not in REASONING_EFFORTS:
                raise DistillateError(f"--reasoning-effort must be one of {', '.join(REASONING_EFFORTS)}, "
                                      f"not {self.reasoning_effort!r}")
            if not self.family.effort:
                raise DistillateError(f"--reasoning-effort applies to reasoning models, and {self.model} is not one "
                                      f"(name it with --reasoning-model {self.model} if it is)")
        if self.timeout <= 0:
            raise DistillateError(f"--timeout must be positive, got {self.timeout}")

    def api_key(self) -> str:
        """The key from $api_key_env (registered for redaction); "EMPTY" for a local server without one."""
        key = os.environ.get(self.api_key_env)
        if key:
            register_secret(key)
            return key
        if (urlsplit(self.base_url).hostname or "") in LOCAL_HOSTS:
            return "EMPTY"  # local servers (vLLM, SGLang) accept any key
        raise DistillateError(f"no API key: set ${self.api_key_env} (or name another variable with --api-key-env)")

    # -- clients -----------------------------------------------------------------------------------
    def client(self, *, asynchronous: bool = False, max_retries: int | None = None):
        """The official `openai` client for this endpoint (OpenAI, or AsyncOpenAI with asynchronous=True)."""
        openai = require("openai", "openai")
        parts = urlsplit(self.base_url)
        if parts.password:  # httpx sends URL credentials as Basic auth: servers may echo either form
            register_secret(parts.password)
            register_secret(base64.b64encode(f"{parts.username or ''}:{parts.password}".encode()).decode())
        cls = openai.AsyncOpenAI if asynchronous else openai.OpenAI
        return cls(base_url=self.base_url, api_key=self.api_key(), timeout=self.timeout,
                   max_retries=self.max_retries if max_retries is None else max_retries)

    def chat_kwargs(self, messages: list[dict], *, max_tokens: int, temperature: float | None = None,
                    top_p: float | None = None, seed: int | None = None, **extra: Any) -> dict[str, Any]:
        """Keyword arguments of `client.chat.completions.create` for this model family: the output cap as
        max_tokens or max_completion_tokens, sampling parameters only where accepted, reasoning_effort for
        reasoning models. `extra` (n, stream, extra_headers, extra_body, ...) is passed through."""
        fam = self.family
        kw: dict[str, Any] = {"model": self.model, "messages": messages, fam.token_param: max_tokens}
        if fam.sampling:
            for k, v in (("temperature", temperature), ("top_p", top_p)):
                if v is not None:
                    kw[k] = v
        if seed is not None:
            kw["seed"] = seed
        if fam.effort and self.reasoning_effort:
            kw["reasoning_effort"] = self.reasoning_effort
        kw.update({k: v for k, v in extra.items() if v is not None})
        return kw

    def reply_tokens(self, visible: int) -> int:
        """An output cap for a short visible reply (a judge's one word): reasoning models spend hidden
        reasoning tokens out of the same cap first, so they get 4096 more."""
        return visible if self.family.sampling else visible + 4096

    # -- refusals ----------------------------------------------------------------------------------
    def refusal_message(self, param: str, server_message: str) -> str:
        """One clear line for a refused parameter: what the server said and how to fix the configuration."""
        return (f"{self.model} at {self.public_endpoint} refused the parameter '{param}': "
                f"{redact(server_message)[:300]} -> {refusal_fix(self, param)}")


_REFUSED = re.compile(r"Unsupported (?:parameter|value):?\s*'?([A-Za-z_][\w.\[\]]*)'?", re.I)


def refusal(e: BaseException) -> tuple[str, str] | None:
    """(parameter, message) when `e` is a 400 refusing a parameter the model does not support; else None."""
    if getattr(e, "status_code", None) != 400:
        return None
    code, param = getattr(e, "code", None), getattr(e, "param", None)
    body = getattr(e, "body", None)
    msg = (body.get("message") if isinstance(body, dict) else None) or str(e)
    m = _REFUSED.search(msg)
    if code in ("unsupported_parameter", "unsupported_value") or m:
        return (param or (m.group(1) if m else "?")), msg
    return None


def refusal_fix(ep: EndpointConfig, param: str) -> str:
    fam = ep.family
    if param in ("max_tokens", *SAMPLING_PARAMS) and fam is CHAT:
        return (f"it is a reasoning model: rerun with --reasoning-model {ep.model} (it is then sent "
                "max_completion_tokens and no sampling parameters)")
    if param.startswith("messages"):
        return "this model refuses a system message: leave --system (or --system-prompt) out"
    if param == "reasoning_effort":
        return "this model takes no reasoning effort: drop --reasoning-effort"
    if param in ("max_completion_tokens", "max_tokens") and fam is REASONING:
        return (f"this server expects max_tokens: {ep.model} is not an OpenAI reasoning model here; drop "
                f"--reasoning-model for it (or use a model name the server treats as a reasoning model)")
    return f"the server does not take '{param}': change the option that sends it and rerun"
