"""One redaction for everything that records an endpoint, an argument list or an error text.

Secrets (API keys, URL credentials) must never reach a file, a table, a log line or an error message.
`redact(text)` removes:
- the literal value of every API key this process read (`register_secret`, called by
  `distillate.endpoint.EndpointConfig.api_key`), and any 8+ character piece of it (servers echo masked
  keys such as `sk-abc...wxyz`);
- URL credentials (`https://user:pass@host` -> `https://***@host`);
- key-like query parameters (`?api-key=`, `api_key=`, `key=`, `token=`, `access_token=`, `secret=`,
  `password=`, `sig=`, `code=`): the value becomes `***`;
- `Authorization`/`api-key` header values, `Bearer ...`/`Basic ...` credentials and `sk-...` key patterns.

`redact_obj` applies it to every string of a JSON-like value (job arguments, an eval config), and
`public_url` is the form an endpoint is stored in (no credentials, no query string). The logging filter
installed by `distillate.log.setup` and the CLI's error printer use the same function."""

from __future__ import annotations

import logging
import re
import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
MIN_PIECE = 8  # shorter fragments of a key are too likely to occur by chance

_lock = threading.Lock()
_secrets: set[str] = set()

_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@'\"<>]+@")
_QUERY = re.compile(r"(?i)(?P<k>[?&;](?:api[-_]?key|key|token|access[-_]?token|auth[-_]?token|secret|client[-_]?secret"
                    r"|password|passwd|pwd|sig|signature|code)=)[^&#\s'\"<>]+")
_HEADER = re.compile(r"(?i)(?P<k>\b(?:authorization|proxy-authorization|api-key|x-api-key)['\"]?\s*[:=]\s*['\"]?)"
                     r"(?:(?:bearer|basic)\s+)?[^\s'\",}&;)]+")
_BEARER = re.compile(r"(?i)\b(?P<k>bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_SK = re.compile(r"\bsk-[A-Za-z0-9_-]{8,}")


def register_secret(value: str | None) -> None:
    """Remember a secret read by this process (an API key) so that every later redaction removes it."""
    if value and len(value) >= MIN_PIECE and value != "EMPTY":
        with _lock:
            _secrets.add(value)


def _remove(text: str, secret: str) -> str:
    text = text.replace(secret, MASK)
    n = len(secret)
    if not any(secret[i:i + MIN_PIECE] in text for i in range(n - MIN_PIECE + 1)):
        return text  # the common case: no fragment at all
    for size in range(n - 1, MIN_PIECE - 1, -1):  # longest pieces first
        for i in range(n - size + 1):
            piece = secret[i:i + size]
            if piece in text:
                text = text.replace(piece, MASK)
    return text


def redact(text: Any, *secrets: str | None) -> Any:
    """`text` without secrets (see the module docstring); non-strings are returned unchanged."""
    if not isinstance(text, str) or not text:
        return text
    with _lock:
        known = [*_secrets]
    for s in (*secrets, *known):
        if s and len(s) >= MIN_PIECE and s != "EMPTY":
            text = _remove(text, s)
    text = _USERINFO.sub(lambda m: m["scheme"] + MASK + "@", text)
    text = _QUERY.sub(lambda m: m["k"] + MASK, text)
    text = _HEADER.sub(lambda m: m["k"] + MASK, text)
    text = _BEARER.sub(lambda m: m["k"] + " " + MASK, text)
    return _SK.sub("sk-" + MASK, text)


def redact_obj(obj: Any, *secrets: str | None) -> Any:
    """A copy of a JSON-like value (dicts, lists, tuples, strings) with `redact` applied to every string."""
    if isinstance(obj, str):
        return redact(obj, *secrets)
    if isinstance(obj, dict):
        return {k: redact_obj(v, *secrets) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(redact_obj(v, *secrets) for v in obj)
    return obj


def public_url(url: str | None) -> str | None:
    """An endpoint as it is stored and shown: scheme, host, port and path; no user:password@, no query
    string (either may carry a secret)."""
    if not url:
        return url
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return redact(url)
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return urlunsplit((parts.scheme, host + (f":{parts.port}" if parts.port else ""), parts.path, "", ""))


class RedactingFilter(logging.Filter):
    """Applies `redact` to every log record's final message (installed on the `distillate` logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - a badly formatted record is logged as it is
            return True
        clean = redact(msg)
        if clean != msg or record.args:
            record.msg, record.args = clean, ()
        return True
