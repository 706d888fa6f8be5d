"""The README's examples run as written (issue 16): the quick block in CI, the long one with -m slow.

Each block runs in a scratch copy of the layout the README assumes (the repository's examples/ and a
fresh work/), line by line, stopping at the first failure with the line and its stderr.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def _example_blocks() -> list[str]:
    blocks = [b for b in _blocks("bash") if "work/" in b]
    assert len(blocks) == 2, "README: expected the quick and the long example blocks"
    return blocks


def _run_block(block: str, cwd: Path) -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for line in block.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        done = subprocess.run(line, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, f"README line failed ({done.returncode}): {line}\n{done.stderr[-3000:]}"


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    return tmp_path


def test_quick_examples_run_as_written(scratch: Path) -> None:
    _run_block(_example_blocks()[0], scratch)
    code = _blocks("python")[0]
    done = subprocess.run([sys.executable, "-c", code], cwd=scratch, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.slow
def test_long_examples_run_as_written(scratch: Path) -> None:
    _run_block(_example_blocks()[1], scratch)


def test_work_folder_is_ignored_by_git() -> None:
    assert "/work/" in (ROOT / ".gitignore").read_text().split()
