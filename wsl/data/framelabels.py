"""MS-TCN / Breakfast ground truth: ``<video>.txt`` with one label per line, one line per frame.

An optional ``mapping.txt`` (``index name`` per line) lets files hold class indices instead of
names. ``background`` names the label that means "no action" (SIL in Breakfast); it is read as the
project's background label so predictions and ground truth compare directly.
"""

from __future__ import annotations

import os
from pathlib import Path

from wsl.data.segments import BACKGROUND
from wsl.errors import BadInput
from wsl.io import atomic_open, read_text


def read_mapping(path: str | os.PathLike[str]) -> dict[str, str]:
    """``index name`` lines -> {index: name}."""
    text, _ = read_text(path)
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise BadInput("expected 'index name' per line", path, n)
        out[parts[0]] = parts[1]
    return out


def read_frame_labels(path: str | os.PathLike[str], mapping: dict[str, str] | None = None,
                      background: str | None = None) -> list[str]:
    """One video's per-frame labels; ``background`` (e.g. SIL) is renamed to ``"background"``."""
    text, _ = read_text(path)
    labels: list[str] = []
    for n, line in enumerate(text.splitlines(), 1):
        lab = line.strip()
        if not lab:
            continue
        if mapping is not None:
            if lab not in mapping:
                raise BadInput(f"label {lab!r} is not in the mapping", path, n)
            lab = mapping[lab]
        labels.append(BACKGROUND if background is not None and lab == background else lab)
    if not labels:
        raise BadInput("no frame labels", path)
    return labels


def read_label_dir(folder: str | os.PathLike[str], videos: list[str] | None = None,
                   mapping: str | os.PathLike[str] | None = None,
                   background: str | None = None) -> dict[str, list[str]]:
    """``<video>.txt`` files of a folder (all, or ``videos``; missing ones are an error)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInput("not a folder of <video>.txt ground-truth files", folder)
    if mapping is None and (folder / "mapping.txt").exists():
        mapping = folder / "mapping.txt"
    mp = read_mapping(mapping) if mapping is not None else None
    names = sorted(p.stem for p in folder.glob("*.txt") if p.name != "mapping.txt") if videos is None else videos
    missing = [v for v in names if not (folder / f"{v}.txt").exists()]
    if missing:
        raise BadInput(f"no ground truth for {', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else ""), folder)
    return {v: read_frame_labels(folder / f"{v}.txt", mp, background) for v in names}


def write_frame_labels(path: str | os.PathLike[str], labels: list[str]) -> None:
    """Write one label per line, atomically."""
    with atomic_open(path) as f:
        f.write("".join(f"{lab}\n" for lab in labels))
