"""Token counts for the signals stage: a real fast tokenizer when it loads, else a documented approximation.

`resolve_tokenizer(spec, cache_dir)` runs once per stage: it loads the tokenizer (a local folder or a
Hugging Face id, through transformers' AutoTokenizer, which builds the fast tokenizer from vocab.json +
merges.txt when no tokenizer.json is shipped; that build runs in a child process, see start_resolve) and
saves its `tokenizer.json` into the workspace, so worker processes only need the tokenizer file.

Counting is the stage's hot loop, so a byte-level BPE tokenizer (GPT-2, Qwen2/2.5/3, Llama 3 and the like:
a Split regex + ByteLevel pre-tokenizer, merges in id order, an optional NFC normalizer) is converted into a
`tiktoken` encoding, which counts 2-4x faster than `tokenizers` (engine "tiktoken"). When its split pattern
is Qwen2's, the "pieces" engine counts ~7x faster again: kernels.count_pieces splits the text and sums the
counts of its pieces, each distinct piece encoded once per process by the tiktoken encoding. Each engine
is checked against the `tokenizers` encoding of a probe text in every script this stage meets (LaTeX, CJK,
emoji, combining marks, whitespace runs, special tokens) when the tokenizer is resolved; the fastest that
matches is recorded in the spec, and any mismatch, an unsupported tokenizer or a missing `tiktoken` keeps
`tokenizers.encode_batch_fast`. All give the tokenizer's own counts.

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
from typing import Callable
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
    engine: str = "tokenizers"   # or "pieces" / "tiktoken": the fastest that matched the tokenizer on the probe


def approx_count(text: str) -> int:
    return round(len(_PRETOKEN.findall(text)) * APPROX_FACTOR)


def resolve_tokenizer(spec: str | None, cache_dir: Path) -> TokenizerSpec:
    """Load `spec` (HF id or local path; None = DEFAULT_TOKENIZER) once and save it for the workers; fall
    back to the approximation with one warning when it cannot be loaded."""
    return start_resolve(spec, cache_dir)()


def start_resolve(spec: str | None, cache_dir: Path) -> Callable[[], TokenizerSpec]:
    """resolve_tokenizer in two steps: the returned function finishes it. When the tokenizer must be built by
    transformers (a folder without tokenizer.json, a hub id) and this process has not imported transformers,
    the build runs in a child process meanwhile: its ~5 s and ~250 MB of imports (torch among them) stay out
    of this process, whose memory the stage's pool workers inherit."""
    import subprocess
    import sys
    import tempfile

    spec = spec or DEFAULT_TOKENIZER
    local = Path(spec).expanduser()
    name = str(local.resolve()) if local.exists() else spec
    child = out = None
    if _json_file(local) is None and "transformers" not in sys.modules:
        fd, out = tempfile.mkstemp(suffix=".json", prefix="tokenizer-")
        os.close(fd)
        child = subprocess.Popen([sys.executable, "-m", __name__, spec, out], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)

    def finish() -> TokenizerSpec:
        try:
            if child is None:
                text = _load_backend(spec, local).to_str()
            else:
                err = child.communicate()[1].strip().splitlines()
                if child.returncode:  # the child's exception line ("OSError: ..."), not its traceback
                    raise _BuildFailed(next((line for line in reversed(err) if _EXC_LINE.match(line)),
                                            err[-1] if err else f"exit status {child.returncode}"))
                text = Path(out).read_text(encoding="utf-8")
            import tokenizers

            backend = tokenizers.Tokenizer.from_str(text)
        except Exception as e:  # noqa: BLE001 - any load failure (offline, missing extra, bad files) falls back
            why = str(e) if isinstance(e, _BuildFailed) else f"{type(e).__name__}: {e}"
            log.warning("tokenizer %r could not be loaded (%s); token counts use the approximation %s "
                        "(recorded in trace_signals.tokenizer)", spec, why.splitlines()[0][:200], APPROX_NAME)
            return TokenizerSpec(APPROX_NAME, None)
        finally:
            if out:
                Path(out).unlink(missing_ok=True)
        cache_dir.mkdir(parents=True, exist_ok=True)
        path = cache_dir / f"tokenizer-{hashlib.sha256(text.encode()).hexdigest()[:16]}.json"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        return TokenizerSpec(name, str(path), _engine(str(path), backend))

    return finish


class _BuildFailed(Exception):
    """The child of start_resolve failed; the message is its exception line."""


_EXC_LINE = re.compile(r"[A-Za-z_][\w.]*: ")   # "module.Name: message", as a traceback ends


def _json_file(local: Path) -> Path | None:
    """The tokenizer.json that `local` is or holds, if any (read directly, no transformers build)."""
    if local.is_file() and local.suffix == ".json":
        return local
    return local / "tokenizer.json" if local.is_dir() and (local / "tokenizer.json").exists() else None


def _load_backend(spec: str, local: Path):
    if (path := _json_file(local)) is not None:
        import tokenizers

        return tokenizers.Tokenizer.from_file(str(path))
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


# ---- tiktoken fast path ------------------------------------------------------------------------------

_PROBE = ("Let me check: \\frac{3}{4} + x^{2} = 0.75,  so x = \\pm\\sqrt{2}?\n\n  Wait... hmm -- I'd say 1,234,567.\r\n"
          "   \t\n\n\n**Final Answer** $\\boxed{073}$ <think>\u6240\u4ee5\u7b54\u6848\u662f 42\u3002</think>"
          " caf\u0065\u0301 na\u00efve \u0391\u03b2\u03b3 \U0001F600\U0001F9EE \u0627\u0644\u062c\u0648\u0627\u0628 "
          "\u0432\u044b\u0447\u0438\u0441\u043b\u0438\u043c \u2200\u03b5>0 \u2203\u03b4 \u00a0\u2009\u3000end"
          "<|im_end|>  trailing   ")


def _bytes_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet: the printable stand-in character of each byte -> the byte."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("\u00a1"), ord("\u00ac") + 1), *range(ord("\u00ae"), ord("\u00ff") + 1)]
    cs, extra = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(bs, cs)}


@lru_cache(maxsize=4)
def _tiktoken_encoding(json_path: str):
    """A tiktoken Encoding equivalent to a byte-level BPE tokenizer.json, or None when it is not one."""
    import json

    try:
        import tiktoken
    except ImportError:
        return None
    tj = json.loads(Path(json_path).read_text(encoding="utf-8"))
    model, pre, norm = tj.get("model") or {}, tj.get("pre_tokenizer") or {}, tj.get("normalizer")
    if model.get("type") != "BPE" or model.get("byte_fallback") or model.get("dropout") \
            or model.get("continuing_subword_prefix") or model.get("end_of_word_suffix"):
        return None
    if norm is not None and norm.get("type") != "NFC":
        return None
    steps = pre.get("pretokenizers", [pre]) if pre.get("type") == "Sequence" else [pre]
    if len(steps) == 1 and steps[0].get("type") == "ByteLevel" and steps[0].get("use_regex", True):
        pattern = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""  # GPT-2
    elif (len(steps) == 2 and steps[0].get("type") == "Split" and "Regex" in steps[0].get("pattern", {})
          and steps[0].get("behavior") == "Isolated" and not steps[0].get("invert")
          and steps[1].get("type") == "ByteLevel" and not steps[1].get("use_regex", True)):
        pattern = steps[0]["pattern"]["Regex"]
    else:
        return None
    if any(s.get("add_prefix_space") for s in steps if s.get("type") == "ByteLevel"):
        return None
    dec = _bytes_decoder()
    try:
        ranks = {bytes(dec[ch] for ch in tok): i for tok, i in model["vocab"].items()}
    except KeyError:  # a vocab entry outside the byte-level alphabet
        return None
    # tiktoken merges the adjacent pair whose merged token has the lowest id: the same as BPE's merge
    # order only when merged ids grow with the merge rank
    last = -1
    for m in model.get("merges", []):
        a, b = m.split(" ", 1) if isinstance(m, str) else m
        rid = model["vocab"].get(a + b)
        if rid is None or rid <= last:
            return None
        last = rid
    added = tj.get("added_tokens") or []
    if any(t.get("lstrip") or t.get("rstrip") or t.get("single_word") for t in added):
        return None
    special = {t["content"]: t["id"] for t in added if t["content"] not in model["vocab"]}
    try:
        return tiktoken.Encoding(Path(json_path).stem, pat_str=pattern, mergeable_ranks=ranks,
                                 special_tokens=special), norm is not None, pattern
    except Exception:  # noqa: BLE001 - a pattern tiktoken's regex engine rejects, duplicate ranks, ...
        return None


def _nfc(texts: list[str], check=None) -> list[str]:
    """NFC of each text (the text itself when it is NFC already); `check[i]` False skips text i."""
    import unicodedata

    return [t if t.isascii() or (check is not None and not check[i]) or unicodedata.is_normalized("NFC", t)
            else unicodedata.normalize("NFC", t) for i, t in enumerate(texts)]


def _max_code_points(encoded):
    """The largest code point of each text of a kernels.Encoded batch (0 for an empty text)."""
    import numpy as np

    lengths = np.diff(encoded.offs)
    out = np.zeros(len(lengths), np.uint32)
    full = lengths > 0
    if full.any():
        out[full] = np.maximum.reduceat(encoded.cp, encoded.offs[:-1][full])
    return out


def _tiktoken_counts(texts: list[str], converted: tuple) -> list[int]:
    enc, nfc, _ = converted
    return [len(ids) for ids in enc.encode_batch(_nfc(texts) if nfc else texts, num_threads=1,
                                                 allowed_special="all")]


class _PieceCounter:
    """Token counts as the sum of the pre-token pieces' counts (kernels.count_pieces), each distinct piece
    counted once per process by the tiktoken encoding. Texts holding a special token or a lone surrogate
    go to tiktoken whole."""

    def __init__(self, converted: tuple):
        import numpy as np

        from . import kernels

        self.enc, self.nfc, _ = converted
        specials = sorted(self.enc.special_tokens_set, key=len, reverse=True)
        self.special = re.compile("|".join(map(re.escape, specials))) if specials else None
        self.classes = kernels.piece_classes()
        self.keys, self.vals, self.used = np.zeros(1 << 16, np.uint64), np.zeros(1 << 16, np.int32), 0
        self.miss = np.zeros((1 << 15, 4), np.int64)

    def count(self, texts: list[str], encoded=None) -> list[int]:
        """Counts of texts; `encoded` (kernels.encode(texts)) saves encoding them again."""
        from . import kernels

        normal = texts
        if self.nfc:
            # text below U+0300 is NFC already (no combining marks, nothing that composes)
            wide = None if encoded is None else _max_code_points(encoded) >= 0x300
            normal = _nfc(texts, wide)
        if encoded is None or any(a is not b for a, b in zip(normal, texts)):
            encoded = kernels.encode(normal)
        # the texts tiktoken counts whole: index -> count
        whole = {i: len(self.enc.encode(t, allowed_special="all")) for i, t in enumerate(normal)
                 if (self.special is not None and self.special.search(t))
                 or (encoded.surrogates and kernels.encode([t]).surrogates)}
        if whole:
            encoded = kernels.encode(["" if i in whole else t for i, t in enumerate(normal)])
        counts = self._count(encoded)
        for i, n in whole.items():
            counts[i] = n
        return counts.tolist()

    def _count(self, encoded):
        import numpy as np

        from . import kernels

        while True:
            limit = int(0.6 * len(self.keys)) - self.used
            counts, n_miss, n_new = kernels.count_pieces(encoded.cp, encoded.offs, self.classes, self.keys,
                                                         self.vals, self.miss, limit)
            self.used += n_new
            miss = self.miss[:min(n_miss, len(self.miss))]
            slots, first = np.unique(miss[:, 1], return_index=True)
            todo = self.vals[slots] < 0
            for s, k in zip(slots[todo].tolist(), first[todo].tolist()):
                t, i, j = int(miss[k, 0]), int(miss[k, 2]), int(miss[k, 3])
                start = int(encoded.offs[t])
                self.vals[s] = len(self.enc.encode_ordinary(encoded.texts[t][i - start:j - start]))
            full = n_new > 0 and n_new >= limit   # the kernel stopped early
            if not full and n_miss <= len(self.miss):
                np.add.at(counts, miss[:, 0], self.vals[miss[:, 1]])
                return counts
            # the table or the occurrence buffer filled up: keep the counted pieces, grow, run again
            if n_miss > len(self.miss):
                self.miss = np.zeros((2 * len(self.miss), 4), np.int64)
            size = len(self.keys) * (4 if full else 1)
            keys, vals = np.zeros(size, np.uint64), np.zeros(size, np.int32)
            kernels.rehash(self.keys, self.vals, keys, vals)
            self.keys, self.vals, self.used = keys, vals, int(np.count_nonzero(keys))



@lru_cache(maxsize=4)
def _piece_counter(json_path: str) -> _PieceCounter | None:
    """The piece counter of a tokenizer whose split pattern is kernels.QWEN2_SPLIT, else None."""
    from .kernels import QWEN2_SPLIT

    converted = _tiktoken_encoding(json_path)
    return _PieceCounter(converted) if converted is not None and converted[2] == QWEN2_SPLIT else None


def _engine(json_path: str, backend) -> str:
    """The fastest engine that gives the backend's own counts on the probe texts."""
    probe = [_PROBE, _PROBE * 3, _PROBE.upper(), " ".join(_PROBE.split()), "", "\n\n\n"]
    want = [len(e.ids) for e in backend.encode_batch(probe, add_special_tokens=False)]
    for engine in ("pieces", "tiktoken"):
        spec = TokenizerSpec("probe", json_path, engine)
        if _counter(spec) is not None and count_tokens(probe, spec) == want:
            return engine
    return "tokenizers"


def _counter(spec: TokenizerSpec):
    """The counting function `f(texts, encoded)` of spec's engine in this process, or None when it does not
    apply here (a Ray node without tiktoken, a tokenizer the engine cannot express)."""
    if spec.engine == "pieces" and (counter := _piece_counter(spec.json_path)) is not None:
        return counter.count
    if spec.engine == "tiktoken" and (converted := _tiktoken_encoding(spec.json_path)) is not None:
        return lambda texts, encoded: _tiktoken_counts(texts, converted)
    return None


def count_tokens(texts: list[str], spec: TokenizerSpec, encoded=None) -> list[int]:
    """Token counts of texts (no special tokens added), in one batch call of the fast tokenizer. `encoded`,
    kernels.encode(texts) when the caller has it, saves the piece engine encoding them again."""
    if spec.json_path is None:
        return [approx_count(t) for t in texts]
    # a worker where the engine does not apply (a Ray node without tiktoken) gets the same counts from
    # `tokenizers`, slower
    counter = _counter(spec)
    if counter is not None:
        return counter(texts, encoded)
    tok = _worker_tokenizer(spec.json_path)
    return [len(e.ids) for e in tok.encode_batch_fast(texts, add_special_tokens=False)]


if __name__ == "__main__":  # start_resolve's child: python -m ...tokenize SPEC OUT_JSON
    import sys

    _spec = sys.argv[1]
    Path(sys.argv[2]).write_text(_load_backend(_spec, Path(_spec).expanduser()).to_str(), encoding="utf-8")
