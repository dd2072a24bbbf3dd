"""Configuration of a generation or reformat run (the CLI, the API and the tests build the same objects)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from distillate.errors import DistillateError

# The paper's teacher prompt style: long step-by-step reasoning, the final answer boxed for the verifier.
DEFAULT_PROMPT = ("Solve the following math problem. Think step by step, check your work, and put the final "
                  "answer within \\boxed{{}}.\n\n{problem}")

DEFAULT_REFORMAT_PROMPT = (
    "Rewrite the solution below as a long, step-by-step chain of thought, the way a careful expert thinks "
    "before answering: restate what is asked, explore the approach, verify each step, and catch and fix "
    "slips out loud. Put that thinking between <think> and </think>, then write a concise final solution "
    "that ends with the final answer within \\boxed{{}}. Keep every mathematical fact and the final answer of "
    "the original unchanged; do not introduce new results.\n\nProblem:\n{problem}\n\nOriginal solution:\n"
    "{solution}"
)

LENGTH_POLICIES = ("keep", "retry", "drop")
BACKENDS = ("openai", "vllm")


@dataclass
class GenerateConfig:
    """One generation run. Every field that shapes the request is part of the request id (see journal.py):
    changing one of them makes new requests; rerunning the same config resumes."""

    model: str                           # model name as the endpoint knows it (or a local path for vllm)
    endpoint: str | None = None          # OpenAI-compatible base URL, e.g. https://api.deepseek.com/v1
    n: int = 1                           # samples per problem (K of rejection sampling)
    max_tokens: int = 16384              # output cap per request (reasoning included)
    temperature: float = 0.7
    top_p: float = 0.95
    seed: int | None = None              # sample k is sent seed + k when set (servers that honour seeds)
    prompt: str = DEFAULT_PROMPT         # user message template with {problem} (and {answer}); see render()
    system: str | None = None            # optional system message
    concurrency: int = 8                 # requests in flight
    rpm: float | None = None             # requests per minute (token bucket); None: no limit
    tpm: float | None = None             # tokens per minute (prompt estimate + max_tokens reserved, actual charged)
    api_key_env: str = "OPENAI_API_KEY"  # the environment variable holding the key (the key is never stored)
    source: str | None = None            # source name of the new traces (default gen:<model>)
    on_length: str = "keep"              # finish_reason=length: keep (truncated trace) | retry (more tokens) | drop
    length_retries: int = 2              # with on_length=retry: resend at most this many times, doubling max_tokens
    max_tokens_limit: int | None = None  # with on_length=retry: never ask for more (default 4 x max_tokens)
    price_table: str | None = None       # JSON/YAML file {model: {input, output} USD per 1M tokens}
    stream: bool = True                  # stream responses (long generations keep the connection alive)
    backend: str = "openai"              # openai | vllm (offline engine on a local GPU, extra 'vllm')
    timeout: float = 1800.0              # seconds one attempt may take end to end
    max_attempts: int = 6                # attempts per request for retryable errors (429, 5xx, timeouts, malformed)
    backoff_base: float = 1.0            # first backoff in seconds; doubles per attempt, with jitter
    backoff_max: float = 120.0           # longest backoff; a server's Retry-After is honoured above it up to 600 s
    retry_failed: bool = True            # a rerun retries requests that failed before (completed ones never)
    commit_interval: float = 0.5         # seconds between journal commits (a kill loses at most this much finished work)
    limit: int | None = None             # only the first N problems
    extra_body: dict = field(default_factory=dict)  # extra request fields (e.g. {"top_k": 20} for vLLM servers)

    required_placeholder = "{problem}"  # class constant, not a field

    @property
    def source_name(self) -> str:
        return self.source or f"gen:{self.model}"

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
        if self.timeout <= 0:
            raise DistillateError(f"--timeout must be positive, got {self.timeout}")
        if self.required_placeholder not in self.prompt:
            raise DistillateError(f"the prompt template must contain {self.required_placeholder}")
        if self.price_table and not Path(self.price_table).is_file():
            raise DistillateError(f"no such price table: {self.price_table}")


@dataclass
class ReformatConfig(GenerateConfig):
    """A reformat run: rewrite existing traces' solutions into the long-thought format, then check fidelity."""

    prompt: str = DEFAULT_REFORMAT_PROMPT  # placeholders: {problem} {solution} {thought} {answer}
    traces_source: str = ""              # catalog source whose traces are rewritten
    field: str = "solution"              # what {solution} holds: solution | full (thought + solution)
    min_length_ratio: float = 1.0        # rewrite chars / original chars must be within [min, max]
    max_length_ratio: float = 30.0
    ngram: int = 3                       # word n-gram size of the overlap check
    min_overlap: float = 0.2             # share of the original's n-grams found in the rewrite, within [min, max]
    max_overlap: float = 1.0
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
    """--prompt takes the template itself or a file holding it (@file or an existing path)."""
    if value is None:
        return default
    p = Path(value[1:] if value.startswith("@") else value)
    if (value.startswith("@") or "{" not in value) and p.is_file():
        return p.read_text(encoding="utf-8")
    if value.startswith("@"):
        raise DistillateError(f"no such prompt file: {p}")
    return value


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
