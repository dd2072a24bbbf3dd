"""Optional LLM judge for borderline pairs (the NeMo-Skills recipe): any OpenAI-compatible endpoint.

A pair is borderline when a method saw real overlap but stayed under its threshold (see
DecontamConfig.borderline_*). The judge answers whether the two problems are the same problem up to
rewording or changed numbers; a "yes" becomes an `llm_judge` match. Errors of a call are recorded in the
scan's counters and logged, never silently turned into "no"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from distillate.endpoint import EndpointConfig
from distillate.errors import DistillateError
from distillate.log import log
from distillate.redact import redact

PROMPT = """You check training data for benchmark contamination.
Decide whether the TRAINING problem is the same problem as the BENCHMARK problem: identical, reworded,
translated, wrapped in extra instructions, or with only numbers/names changed so that solving one
teaches the other. Different problems on the same topic are NOT the same.

BENCHMARK problem:
{benchmark}

TRAINING problem:
{problem}

Answer with exactly one word on the first line: True (same problem) or False (different problem)."""

_YES = re.compile(r"^\W*(true|yes)\b", re.I)
_NO = re.compile(r"^\W*(false|no)\b", re.I)


@dataclass
class JudgeConfig:
    model: str                       # model name at the endpoint
    base_url: str | None = None      # OpenAI-compatible endpoint (default: $OPENAI_BASE_URL or OpenAI)
    api_key_env: str = "OPENAI_API_KEY"  # the variable holding the key ("EMPTY" for local servers without auth)
    max_tokens: int = 8
    timeout: float = 60.0
    max_retries: int = 2


class Judge:
    def __init__(self, cfg: JudgeConfig):
        self.cfg = cfg
        self.endpoint = EndpointConfig(model=cfg.model, endpoint=cfg.base_url, api_key_env=cfg.api_key_env,
                                       timeout=cfg.timeout, max_retries=cfg.max_retries)
        self.client = self.endpoint.client()

    def same(self, problem: str, benchmark: str) -> bool | None:
        """True / False, or None when the reply could not be read (counted as an error)."""
        try:
            r = self.client.chat.completions.create(**self.endpoint.chat_kwargs(
                [{"role": "user", "content": PROMPT.format(benchmark=benchmark, problem=problem)}],
                max_tokens=self.endpoint.reply_tokens(self.cfg.max_tokens), temperature=0))
        except Exception as e:  # network, auth, rate limit after retries
            if type(e).__name__ in ("AuthenticationError", "NotFoundError", "PermissionDeniedError"):
                raise DistillateError(f"LLM judge at {self.endpoint.public_endpoint} refused: "
                                      f"{redact(str(e))}") from e
            log.warning("LLM judge call failed: %s: %s", type(e).__name__, e)  # the log filter redacts
            return None
        text = (r.choices[0].message.content or "").strip()
        if _YES.match(text):
            return True
        if _NO.match(text):
            return False
        log.warning("LLM judge reply not understood: %r", text[:80])
        return None
