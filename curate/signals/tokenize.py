"""Token counts for the signals stage: a real fast tokenizer when it loads, else a documented approximation.

`resolve_tokenizer(spec, cache_dir)` runs once in the stage's process: it loads the tokenizer (a local
folder or a Hugging Face id, through transformers' AutoTokenizer, which builds the fast tokenizer from
vocab.json + merges.txt when no tokenizer.json is shipped) and saves its `tokenizer.json` into the
workspace, so worker processes only need the `tokenizers` library (`Tokenizer.from_file`, cached per
process) and batch-encode with `encode_batch_fast` (no offsets).

When nothing loads (offline, no cache, or the `hf` extra missing) the count is APPROX_NAME: pieces of a
Qwen2-style pre-tokenizer regex (letters runs, single digits, punctuation runs, whitespace) times
APPROX_FACTOR, calibrated on the real traces of ../shared/data against the Qwen2.5 BPE (see docs/signals.md).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from distillate.log import log

DEFAULT_TOKENIZER = "Qwen/Qwen2.5-7B-Instruct"
APPROX_FACTOR = 1.05  # real/pieces on the 981 real traces: 1.051 overall, 1.01-1.15 per trace (5-95%)
APPROX_NAME = f"approx:qwen2-pretokens*{APPROX_FACTOR}"
# Qwen2's pre-tokenizer pattern, with \p{L} / \p{N} written for Python's `re`
_PRETOKEN = re.compile(r"'(?:s|t|re|ve|m|ll|d)|[^\r\n\w]?[^\W\d_]+|\d| ?[^\s\w]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
                       re.IGNORECASE)


@dataclass(frozen=True)
class TokenizerSpec:
    name: str                # what trace_signals.tokenizer records: the id/path, or APPROX_NAME
    json_path: str | None    # the saved tokenizer.json the workers load; None = approximation


def approx_count(text: str) -> int:
    return round(len(_PRETOKEN.findall(text)) * APPROX_FACTOR)


def resolve_tokenizer(spec: str | None, cache_dir: Path) -> TokenizerSpec:
    """Load `spec` (HF id or local path; None = DEFAULT_TOKENIZER) once and save it for the workers; fall
    back to the approximation with one warning when it cannot be loaded."""
    spec = spec or DEFAULT_TOKENIZER
    local = Path(spec).expanduser()
    name = str(local.resolve()) if local.exists() else spec
    try:
        backend = _load_backend(spec, local)
    except Exception as e:  # noqa: BLE001 - any load failure (offline, missing extra, bad files) falls back
        log.warning("tokenizer %r could not be loaded (%s: %s); token counts use the approximation %s "
                    "(recorded in trace_signals.tokenizer)", spec, type(e).__name__, str(e).splitlines()[0][:200],
                    APPROX_NAME)
        return TokenizerSpec(APPROX_NAME, None)
    text = backend.to_str()
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"tokenizer-{hashlib.sha256(text.encode()).hexdigest()[:16]}.json"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return TokenizerSpec(name, str(path))


def _load_backend(spec: str, local: Path):
    if local.is_file() and local.suffix == ".json":
        import tokenizers

        return tokenizers.Tokenizer.from_file(str(local))
    if local.is_dir() and (local / "tokenizer.json").exists():
        import tokenizers

        return tokenizers.Tokenizer.from_file(str(local / "tokenizer.json"))
    from distillate.errors import require

    transformers = require("transformers", "hf")
    if local.exists():
        tok = transformers.AutoTokenizer.from_pretrained(str(local))
    else:
        # a hub id: use the local HF cache when the hub cannot be reached, instead of waiting on retries
        offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0") or not _hub_reachable()
        tok = transformers.AutoTokenizer.from_pretrained(spec, local_files_only=offline)
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is None:
        raise ValueError(f"{spec} has no fast tokenizer")
    return backend


def _hub_reachable(timeout: float = 3.0) -> bool:
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    try:
        socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)), timeout).close()
        return True
    except OSError:
        return False


@lru_cache(maxsize=4)
def _worker_tokenizer(json_path: str):
    import tokenizers

    return tokenizers.Tokenizer.from_file(json_path)


def count_tokens(texts: list[str], spec: TokenizerSpec) -> list[int]:
    """Token counts of texts (no special tokens added), in one batch call of the fast tokenizer."""
    if spec.json_path is None:
        return [approx_count(t) for t in texts]
    tok = _worker_tokenizer(spec.json_path)
    return [len(e.ids) for e in tok.encode_batch_fast(texts, add_special_tokens=False)]
