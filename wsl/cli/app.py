"""The `wsl` Typer app: global options, command registration and the one place errors become exit codes.

Every command module registers itself here; none of them imports torch at import time, so
`wsl --help` and torch-free commands start fast.
"""

from __future__ import annotations

import sys

import typer

from wsl import __version__
from wsl.cli import align, cluster, discover_steps, doctor, features, label_actions, localize, milnce
from wsl.errors import WslError
from wsl.progress import set_quiet

app = typer.Typer(
    name="wsl",
    help="Weakly supervised learning from video and text.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wsl {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or status lines on stderr."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
) -> None:
    set_quiet(quiet)
    _state["debug"] = debug


app.command("doctor")(doctor.doctor)
app.command("discover-steps")(discover_steps.discover_steps)
app.command("label-actions")(label_actions.label_actions)
app.command("cluster")(cluster.cluster)
app.add_typer(align.app, name="align")
app.add_typer(features.app, name="features")
app.add_typer(localize.app, name="localize")
app.add_typer(milnce.app, name="milnce")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app and map failures to exit codes (2 bad input, 1 failed work)."""
    _state["debug"] = False
    try:
        app(args=argv, prog_name="wsl")
    except WslError as e:
        if _state["debug"]:
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as e:  # an unexpected failure is a bug: say so in one line unless debugging
        if _state["debug"]:
            raise
        print(f"error: internal error: {type(e).__name__}: {e} (rerun with --debug for a traceback)",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
