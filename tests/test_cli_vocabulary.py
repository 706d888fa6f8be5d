"""One CLI vocabulary: every option documented, shared ideas under shared names with shared help."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
import typer

from wsl.cli.app import build_app

# Names that mean an idea wsl already has a name for.
ALIASES = {
    "--lam": "--lambda",
    "--max-epochs": "--epochs",
    "--iters": "--max-iter",
    "--max-iters": "--max-iter",
    "--n-jobs": "--jobs",
    "--random-seed": "--seed",
    "--out": "--output",
    "--output-dir": "--output",
    "--make-demo": "wsl demo-data",
}
# Options built by one factory in wsl/cli/options.py: the same help text wherever they appear.
SHARED = ("--seed", "--jobs", "--skip-existing", "--shard", "--device", "--threads", "--resume",
          "--lambda", "--max-iter", "--tol", "--layout", "--epochs", "--lr", "--batch-size")


def _walk(cmd: Any, path: str) -> list[tuple[str, Any]]:
    found = [(path, cmd)]
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        found += _walk(sub, f"{path} {name}")
    return found


@pytest.fixture(scope="module")
def commands() -> list[tuple[str, Any]]:
    return _walk(typer.main.get_command(build_app()), "wsl")


def test_every_option_and_argument_has_help(commands) -> None:
    missing = []
    for path, cmd in commands:
        for p in cmd.params:
            if p.name in ("help", "install_completion", "show_completion"):
                continue
            if not (getattr(p, "help", None) or "").strip():
                missing.append(f"{path}: {p.opts[0] if p.opts else p.name}")
        if cmd.params and not (cmd.help or "").strip():
            missing.append(f"{path}: the command itself")
    assert not missing, "without help text:\n" + "\n".join(missing)


def test_shared_ideas_use_shared_names(commands) -> None:
    bad = []
    for path, cmd in commands:
        for p in cmd.params:
            for opt in p.opts:
                if opt in ALIASES:
                    bad.append(f"{path}: {opt} (say {ALIASES[opt]})")
            if "--output" in p.opts and "-o" not in p.opts:
                bad.append(f"{path}: --output without -o")
    assert not bad, "\n".join(bad)


def test_shared_options_read_the_same_everywhere(commands) -> None:
    helps: dict[str, set[str]] = defaultdict(set)
    for _, cmd in commands:
        for p in cmd.params:
            for opt in p.opts:
                if opt in SHARED:
                    helps[opt].add(p.help or "")
    differing = {opt: sorted(h) for opt, h in helps.items() if len(h) > 1}
    assert not differing, differing


def test_evaluation_and_sample_data_have_one_home(commands) -> None:
    stray = [path for path, _ in commands
             if path.split()[-1] in ("eval", "demo-data", "make-demo") and path.count(" ") > 1]
    assert not stray, f"evaluation lives in `wsl eval`, samples in `wsl demo-data`: {stray}"
