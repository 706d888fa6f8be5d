"""Build the `wsl eval` and `wsl demo-data` groups from what each command module offers.

A command module contributes ``evaluate`` (becomes ``wsl eval NAME``) and ``demos`` (a dict of
name -> command, each becomes ``wsl demo-data NAME``), so each method keeps its evaluation and its
sample data beside its own command while the user meets one vocabulary.
"""

from __future__ import annotations

import importlib

import typer

# The command modules in the order their contributions are listed.
MODULES = {
    "align": "wsl.cli.align",
    "steps": "wsl.cli.discover_steps",
    "actions": "wsl.cli.label_actions",
    "cluster": "wsl.cli.cluster",
    "localize": "wsl.cli.localize",
    "milnce": "wsl.cli.milnce",
    "features": "wsl.cli.features",
}


def group(help: str) -> typer.Typer:
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None)


def collect_evaluations(app: typer.Typer) -> None:
    for name, path in MODULES.items():
        fn = getattr(importlib.import_module(path), "evaluate", None)
        if fn is not None:
            app.command(name)(fn)


def collect_demos(app: typer.Typer) -> None:
    for path in MODULES.values():
        for name, fn in getattr(importlib.import_module(path), "demos", {}).items():
            app.command(name)(fn)
