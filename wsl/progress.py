"""Status lines, warnings and progress bars on stderr, through the standard ``logging`` module.

The library never holds a quiet flag of its own: it logs to the ``wsl`` logger, and whoever runs it
decides what is shown. The CLI (``configure``) shows INFO and above, or only warnings and errors with
``--quiet``; a notebook user who does nothing sees warnings (Python's last-resort handler) and no
progress. Progress bars appear only when INFO is enabled and stderr is a terminal.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator, Sized
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger("wsl")


class _Format(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        return f"warning: {msg}" if record.levelno == logging.WARNING else msg


def configure(quiet: bool = False) -> None:
    """Route the ``wsl`` logger to stderr: status lines unless ``quiet``, warnings always."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Format())
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.WARNING if quiet else logging.INFO)


def enabled() -> bool:
    """True when a person is watching: status lines are on and stderr is a terminal."""
    return log.isEnabledFor(logging.INFO) and bool(log.handlers) and sys.stderr.isatty()


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate over ``items`` with a rich progress bar on stderr when a person can see it."""
    if not enabled():
        yield from items
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    if total is None and isinstance(items, Sized):
        total = len(items)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)


class Status:
    """A live one-line status for loops without a known length (solver iterations and their gap).

    ``update("iteration 120, gap 3.1e-4")`` redraws the line when a person is watching; otherwise
    nothing is printed.
    """

    def __init__(self, description: str):
        self.description = description
        self._live = None
        if enabled():
            from rich.console import Console
            from rich.status import Status as RichStatus

            self._live = RichStatus(description, console=Console(stderr=True))
            self._live.start()

    def update(self, text: str) -> None:
        if self._live is not None:
            self._live.update(f"{self.description}: {text}")

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __enter__(self) -> Status:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def warn(message: str) -> None:
    """A one-line warning on stderr (shown even with --quiet: warnings are not progress)."""
    log.warning(message)


def info(message: str) -> None:
    """A status line on stderr, hidden by --quiet."""
    log.info(message)
