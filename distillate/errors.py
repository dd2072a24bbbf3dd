"""The three kinds of error (STYLE.md): fatal user errors stop with one clear line; per-item errors are
recorded (quarantine, journal) and the run goes on; retryable ones are retried where they happen."""

from __future__ import annotations

import importlib


class DistillateError(Exception):
    """A user-facing error: the CLI prints its message on one line (the traceback only with --debug)."""


class MissingExtra(DistillateError):
    pass


def require(module: str, extra: str):
    """Import an optional dependency, or fail with the pip command that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:  # the module itself, or one of its own imports, is missing
        raise MissingExtra(
            f"this needs the '{extra}' extra ({module} is not importable: {e}). "
            f"Install it with: pip install 'distillate[{extra}]'"
        ) from e
