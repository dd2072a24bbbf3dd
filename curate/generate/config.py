"""Configuration of a generation or reformat run (the CLI, the API and the tests build the same objects),
and the prompt templates: named ones shipped in templates/, a file (@FILE) or the template text itself.

Every field with a `flag` is a command-line option of `generate` / `reformat` (distillate/options.py builds
the CLI from these dataclasses, so an option is declared here once); the endpoint fields (model, endpoint,
api_key_env, timeout, reasoning_models, reasoning_effort) come from `distillate.endpoint.EndpointConfig`."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from distillate.endpoint import EndpointConfig
from distillate.errors import DistillateError
from distillate.options import redefault

TEMPLATES_DIR = Path(__file__).parent / "templates"
LENGTH_POLICIES = ("keep", "retry", "drop")
BACKENDS = ("openai", "vllm")


@dataclass(frozen=True)
class Template:
    name: str    # a shipped template's name, "@path" for a file, "inline" for a literal template
    text: str


def named_templates() -> dict[str, str]:
    """The shipped templates by name (templates/<name>.txt, one trailing newline dropped)."""
    return {p.stem: p.read_text(encoding="utf-8").removesuffix("\n") for p in sorted(TEMPLATES_DIR.glob("*.txt"))}


def resolve_prompt(value: str) -> Template:
    """--prompt: `@FILE` (or a path without braces), the name of a shipped template, or the template text."""
    p = Path(value[1:] if value.startswith("@") else value)
    if value.startswith("@"):
        if not p.is_file():
            raise DistillateError(f"no such prompt file: {p}")
        return Template(f"@{p}", p.read_text(encoding="utf-8"))
    named = named_templates()
    if value in named:
        return Template(value, named[value])
    if "{" not in value and p.is_file():
        return Template(f"@{p}", p.read_text(encoding="utf-8"))
    if re.fullmatch(r"[\w.-]{1,64}", value):
        raise DistillateError(f"--prompt {value}: no template of that name and no such file "
                              f"(named templates: {', '.join(named)}; a file: @FILE)")
    return Template("inline", value)


# The default texts (their hashes are part of request ids: they must not change, or a rerun resends).
DEFAULT_PROMPT = named_templates()["default"]
DEFAULT_REFORMAT_PROMPT = named_templates()["reformat"]


def option(default, flag: str, help: str, **more):
    """A config field that is also a command-line option (distillate/options.py)."""
    return field(default=default, metadata={"flag": flag, "help": help, **more})


@dataclass
class GenerateConfig(EndpointConfig):
    """One generation run. Every field that shapes the request is part of the request id (runner.request_id):
    changing one of them makes new requests; rerunning the same config resumes."""

    model: str = redefault(EndpointConfig, "model",
                           help="Model name as the endpoint knows it (a local path with --backend vllm).")
    n: int = option(1, "--n", "Samples per problem (K for rejection sampling / pass rates).")
    max_tokens: int = option(16384, "--max-tokens", "Output token cap per request, reasoning included (sent as "
                                                    "max_completion_tokens to reasoning models).")
    temperature: float = option(0.7, "--temperature", "Sampling temperature (not sent to reasoning models).")
    top_p: float = option(0.95, "--top-p", "Nucleus sampling (not sent to reasoning models).")
    seed: int | None = option(None, "--seed", "Sample k is sent seed+k (servers that honour seeds).")
    prompt: str = option("default", "--prompt", "User message template with {problem} (and {answer}): a named "
                                                "template (default, long-thought: docs/generate.md), @FILE, or the "
                                                "template text.")
    system: str | None = option(None, "--system", "Optional system message.")
    concurrency: int = option(8, "--concurrency", "Requests in flight.")
    rpm: float | None = option(None, "--rpm", "Requests per minute limit (client-side token bucket).")
    tpm: float | None = option(None, "--tpm", "Tokens per minute limit (prompt estimate + max_tokens reserved, "
                                              "real usage settled).")
    source: str | None = option(None, "--source", "Source name of the new traces (default gen:<model> / "
                                                  "reformat:<model>).", aliases=("-s",))
    on_length: str = option("keep", "--on-length", "finish_reason=length: keep (truncated trace) | retry (double "
                                                   "max_tokens) | drop.")
    length_retries: int = 2              # with on_length=retry: resend at most this many times, doubling max_tokens
    max_tokens_limit: int | None = None  # with on_length=retry: never ask for more (default 4 x max_tokens)
    price_table: str | None = option(None, "--price-table", "JSON/YAML {model: {input, output}} in USD per 1M "
                                                            "tokens, for costs (and the --dry-run estimate).")
    stream: bool = option(True, "--stream/--no-stream", "Stream responses (keeps long generations alive).")
    backend: str = option("openai", "--backend", "openai (any OpenAI-compatible endpoint) | vllm (offline engine "
                                                 "on a local GPU, extra 'vllm').")
    timeout: float = redefault(EndpointConfig, "timeout", 1800.0, help="Seconds one attempt may take end to end.")
    max_attempts: int = option(6, "--max-attempts", "Attempts per request on 429, 5xx, timeouts and malformed "
                                                    "responses.")
    backoff_base: float = 1.0            # first backoff in seconds; doubles per attempt, with jitter
    backoff_max: float = 120.0           # longest backoff; a server's Retry-After is honoured above it up to 600 s
    retry_failed: bool = option(True, "--retry-failed/--no-retry-failed", "Whether a rerun retries requests that "
                                                                          "failed before (completed ones are never "
                                                                          "resent).")
    commit_interval: float = 0.5         # seconds between catalog commits (finished requests are durable at once in
                                         # the completion log; the catalog takes them in batches)
    limit: int | None = option(None, "--limit", "Only the first N problems (traces for reformat).")
    extra_body: dict = field(default_factory=dict)  # extra request fields (e.g. {"top_k": 20} for vLLM servers)

    required_placeholder = "{problem}"  # class constant, not a field

    @property
    def source_name(self) -> str:
        return self.source or f"gen:{self.model}"

    @cached_property
    def template(self) -> Template:
        return resolve_prompt(self.prompt)

    @property
    def template_hash(self) -> str:
        h = hashlib.blake2b(digest_size=12)
        for part in ("system", self.system or "", "prompt", self.template.text):
            h.update(str(part).encode("utf-8", "surrogatepass"))
            h.update(b"\x1f")
        return h.hexdigest()[:16]

    def validate(self) -> None:
        if self.backend not in BACKENDS:
            raise DistillateError(f"unknown backend {self.backend!r}; choose one of: {', '.join(BACKENDS)}")
        if self.backend == "openai" and not self.endpoint:
            raise DistillateError("--endpoint is required with the openai backend (e.g. https://api.openai.com/v1)")
        if self.on_length not in LENGTH_POLICIES:
            raise DistillateError(f"--on-length must be one of {', '.join(LENGTH_POLICIES)}, not {self.on_length!r}")
        for name, v, lo in (("--n", self.n, 1), ("--max-tokens", self.max_tokens, 1),
                            ("--concurrency", self.concurrency, 1), ("--max-attempts", self.max_attempts, 1)):
            if v < lo:
                raise DistillateError(f"{name} must be at least {lo}, got {v}")
        for name, v in (("--rpm", self.rpm), ("--tpm", self.tpm)):
            if v is not None and v <= 0:
                raise DistillateError(f"{name} must be positive, got {v}")
        self.validate_endpoint()
        if self.required_placeholder not in self.template.text:
            raise DistillateError(f"the prompt template ({self.template.name}) must contain {self.required_placeholder}")
        if self.price_table and not Path(self.price_table).is_file():
            raise DistillateError(f"no such price table: {self.price_table}")


@dataclass
class ReformatConfig(GenerateConfig):
    """A reformat run: rewrite existing traces' solutions into the long-thought format, then check fidelity."""

    prompt: str = redefault(GenerateConfig, "prompt", "reformat", help=(
        "Template with {solution} (and {problem}, {thought}, {answer}): a named template (reformat, ...), @FILE, "
        "or the template text."))
    traces_source: str = option("", "--traces", "Catalog source whose traces' solutions are rewritten.",
                                required=True)
    field: str = option("solution", "--field", "What {solution} holds: solution | full (thought + solution).")
    min_length_ratio: float = option(1.0, "--min-length-ratio", "Fidelity: rewrite/original characters at least "
                                                                "this.")
    max_length_ratio: float = option(30.0, "--max-length-ratio", "Fidelity: rewrite/original characters at most "
                                                                 "this.")
    ngram: int = option(3, "--ngram", "Word n-gram size of the overlap check.")
    min_overlap: float = option(0.2, "--min-overlap", "Fidelity: share of the original's word n-grams the rewrite "
                                                      "keeps, at least.")
    max_overlap: float = option(1.0, "--max-overlap", "Fidelity: ... at most (below 1 rejects near-copies).")
    verify_timeout: float = 5.0          # seconds for one answer check

    required_placeholder = "{solution}"

    @property
    def source_name(self) -> str:
        return self.source or f"reformat:{self.model}"

    def validate(self) -> None:
        super().validate()
        if not self.traces_source:
            raise DistillateError("--traces SOURCE is required: the catalog source whose traces are rewritten")
        if self.field not in ("solution", "full"):
            raise DistillateError(f"--field must be solution or full, not {self.field!r}")
        if not 0 < self.min_length_ratio <= self.max_length_ratio:
            raise DistillateError("length-ratio bounds must satisfy 0 < min <= max")
        if not 0 <= self.min_overlap <= self.max_overlap <= 1:
            raise DistillateError("overlap bounds must satisfy 0 <= min <= max <= 1")
        if self.ngram < 1:
            raise DistillateError("--ngram must be at least 1")


def load_prompt(value: str | None, default: str) -> str:
    """The template text of a --prompt value (None: `default`); see resolve_prompt."""
    return default if value is None else resolve_prompt(value).text


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{(problem|answer|solution|thought)\}")


def render(template: str, **values: str | None) -> str:
    """Fill {problem}/{answer}/{solution}/{thought}; every other brace is literal (so `\\boxed{}` needs no
    escaping), and doubled braces `{{ }}` give single ones for templates written for str.format."""
    def sub(m: re.Match) -> str:
        tok = m.group(0)
        if tok in ("{{", "}}"):
            return tok[0]
        return values.get(m.group(1)) or ""
    return _PLACEHOLDER.sub(sub, template)
