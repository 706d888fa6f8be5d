"""Shared fixtures: the real data folder (skips when absent) and a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

# One BLAS/OpenMP thread per test process: tests (and the 2-process DDP ones) then never fight over the
# cores, which made small torch and LAPACK calls 50x slower on a loaded 2-core machine.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402  (after the thread settings, which must precede any BLAS/OpenMP import)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip the test when it is not there."""
    if not SHARED_DATA.is_dir():
        pytest.skip("real data (../shared/data) not available")
    return SHARED_DATA


def _cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if any("gpu" in item.keywords for item in items) and not _cuda():
        skip = pytest.mark.skip(reason="needs CUDA")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):
    """Run `wsl ARGS...` in-process; return (exit_code, stdout, stderr)."""
    from wsl.cli.app import main

    def run(*args: str) -> tuple[int, str, str]:
        code = 0
        try:
            main([str(a) for a in args])
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return run
