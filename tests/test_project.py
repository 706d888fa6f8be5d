"""The project's own promises: CI runs the README's commands, start-up stays free of torch."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [line for block in blocks[:2] for line in block.strip().splitlines()]


def test_ci_runs_readme_setup_and_test_commands_verbatim() -> None:
    setup, test = _readme_commands()[:2]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert setup in ci and test in ci
    assert ci.index(setup) < ci.index(test)


def test_cli_start_up_does_not_import_torch() -> None:
    heavy = ("torch", "spacy", "cvxpy", "av", "cv2")
    code = f"import sys, wsl.cli.app; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
