"""The two kinds of failure every command reports the same way (DESIGN.md: exit codes).

Library code names its own parameters in backticks (``param="image_size"``, message "`image_size` must
be ..."); the CLI's one error handler replaces the quoted name with the command's flag
(``--image-size``), so a notebook user and a shell user each read the name they typed. Words that
merely look like a parameter ("an early draft") are left alone.
"""

from __future__ import annotations

from os import PathLike


class WslError(Exception):
    """Base class of the errors the CLI turns into one line and an exit code."""

    exit_code = 1


class BadInput(WslError, ValueError):
    """Bad input or usage: the user can fix it. Exit code 2.

    Rendered as ``error: FILE:LINE: message`` (FILE and LINE when known). ``param`` names the library
    parameter at fault, when there is one.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        path: str | PathLike[str] | None = None,
        line: int | None = None,
        param: str | None = None,
    ):
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.param = param
        super().__init__(self.render())

    def render(self, flag: str | None = None) -> str:
        """The one-line message; with ``flag``, the parameter's name is replaced by that flag."""
        where = ""
        if self.path is not None:
            where = self.path + (f":{self.line}" if self.line is not None else "") + ": "
        message = self.message
        if self.param:
            quoted = f"`{self.param}`"
            if quoted in message:
                message = message.replace(quoted, flag or self.param)
            elif flag and "_" in self.param:  # an identifier cannot be an ordinary word
                message = message.replace(self.param, flag)
        return where + message


class WorkFailed(WslError, RuntimeError):
    """The input was fine but the work failed (no convergence, divergence, no match). Exit code 1."""

    exit_code = 1


class MissingExtra(BadInput):
    """An optional dependency is not installed: the message names the ``pip install`` to run."""

    def __init__(self, what: str, extra: str, package: str | None = None):
        pkg = f" ({package})" if package else ""
        super().__init__(f"{what} needs the '{extra}' extra{pkg}: pip install 'wsl[{extra}]'")
        self.extra = extra


def require(module: str, what: str, extra: str) -> None:
    """Import ``module`` or raise MissingExtra naming the extra that installs it."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        raise MissingExtra(what, extra, module) from None
