"""The two kinds of failure every command reports the same way (DESIGN.md: exit codes)."""

from __future__ import annotations

from os import PathLike


class WslError(Exception):
    """Base class of the errors the CLI turns into one line and an exit code."""

    exit_code = 1


class BadInput(WslError, ValueError):
    """Bad input or usage: the user can fix it. Exit code 2.

    Rendered as ``error: FILE:LINE: message`` (FILE and LINE when known).
    """

    exit_code = 2

    def __init__(self, message: str, path: str | PathLike[str] | None = None, line: int | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path + (f":{self.line}" if self.line is not None else "") + ": "
        return where + self.message


class WorkFailed(WslError, RuntimeError):
    """The input was fine but the work failed (no convergence, divergence, no match). Exit code 1."""

    exit_code = 1
