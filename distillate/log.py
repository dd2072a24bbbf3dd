"""One logger for diagnostics, rendered by rich on stderr; stdout stays for results (JSON, tables)."""

from __future__ import annotations

import logging

from rich.console import Console
from rich.logging import RichHandler

console = Console(stderr=True)  # progress bars and diagnostics
out = Console()                  # results
log = logging.getLogger("distillate")


def _redacting() -> None:
    from distillate.redact import RedactingFilter

    if not any(isinstance(f, RedactingFilter) for f in log.filters):
        log.addFilter(RedactingFilter())  # no key, URL credential or token reaches a log line


_redacting()


def setup(debug: bool = False) -> None:
    if not log.handlers:
        handler = RichHandler(console=console, show_path=debug, rich_tracebacks=debug, markup=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(logging.DEBUG if debug else logging.INFO)


def progress(**kw):
    """A rich progress bar on stderr; disabled when stderr is not a terminal unless forced."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=console, transient=False, disable=kw.pop("disable", False), **kw,
    )
