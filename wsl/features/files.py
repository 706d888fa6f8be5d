"""Feature files (DESIGN.md): one ``<video>.npy`` of shape (T, d) float32 per video, plus ``index.json``.

``index.json`` maps each video id to its metadata (fps, stride, backbone, source, frames) and holds
the folder-wide defaults under ``"_defaults"``. MS-TCN/Breakfast files are (d, T): read them with
``layout="dT"``. No torch here: the solvers read features through this module.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from wsl.errors import BadInput
from wsl.io import save_npy, write_json

INDEX = "index.json"
LAYOUTS = ("Td", "dT")


def read_features(path: str | os.PathLike[str], layout: str = "Td", mmap: bool = True,
                  dim: int | None = None) -> np.ndarray:
    """Read one feature file as a (T, d) float32 array, memory-mapped when possible.

    Rejects files that are not 2-D numeric arrays, hold NaN or inf, or (with ``dim``) have another
    feature dimension, with a message naming the file.
    """
    if layout not in LAYOUTS:
        raise BadInput(f"unknown layout {layout!r}: use Td (frames x dims) or dT (dims x frames, MS-TCN)")
    path = Path(path)
    try:
        arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise BadInput("no such feature file", path) from None
    except ValueError as e:
        if "pickle" in str(e):  # never pass on numpy's advice to unpickle: a feature file is plain numbers
            with open(path, "rb") as f:
                npy = f.read(6) == b"\x93NUMPY"
            what = "holds Python objects, not a numeric array" if npy else "is not a .npy file (no NPY header)"
            raise BadInput(f"{what}; wsl reads plain .npy arrays (np.save of a float array)", path) from None
        raise BadInput(f"not a readable .npy feature file ({e})", path) from None
    except (OSError, EOFError) as e:
        raise BadInput(f"not a readable .npy feature file ({e})", path) from None
    if arr.ndim != 2:
        raise BadInput(f"expected a 2-D array ({layout}), got shape {arr.shape}", path)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise BadInput(f"expected numbers, got dtype {arr.dtype}", path)
    if layout == "dT":
        arr = arr.T
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise BadInput(f"empty feature array, shape {arr.shape}", path)
    if dim is not None and arr.shape[1] != dim:
        hint = " (is it (d, T)? try --layout dT)" if arr.shape[0] == dim else ""
        raise BadInput(f"feature dimension {arr.shape[1]} differs from the others' {dim}{hint}", path)
    if arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    finite = np.isfinite(arr)
    if not finite.all():
        row = int(np.argwhere(~finite)[0][0])
        raise BadInput(f"non-finite value (NaN or inf) at frame {row}", path)
    return arr


def read_index(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The folder's ``index.json`` (empty when there is none)."""
    path = Path(folder) / INDEX
    if not path.exists():
        return {}
    from wsl.io import load_json

    index = load_json(path)
    if not isinstance(index, dict):
        raise BadInput("index.json must hold an object mapping video ids to metadata", path)
    for video, meta in index.items():
        if not isinstance(meta, dict):
            raise BadInput(f"entry {video!r} must be an object of metadata, got {type(meta).__name__}", path)
        for key in ("fps", "stride", "duration"):
            value = meta.get(key)
            if value is not None and not (isinstance(value, (int, float)) and not isinstance(value, bool)
                                          and math.isfinite(value) and value > 0):
                raise BadInput(f"{video}: {key} must be a positive number, got {value!r}", path)
    return index


def video_meta(index: Mapping[str, Any], video: str) -> dict[str, Any]:
    """Metadata of one video: the folder defaults overridden by the video's own entry."""
    meta = dict(index.get("_defaults", {}))
    meta.update(index.get(video, {}))
    return meta


def load_feature_dir(folder: str | os.PathLike[str], layout: str = "Td",
                     videos: list[str] | None = None, mmap: bool = True) -> dict[str, np.ndarray]:
    """All ``<video>.npy`` files in ``folder`` (or just ``videos``), sorted by id, each (T, d) float32.

    All files must share one feature dimension.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInput("not a folder of .npy feature files", folder)
    if videos is None:
        paths = sorted(folder.glob("*.npy"))
        if not paths:
            raise BadInput("no .npy feature files in this folder", folder)
    else:
        paths = [folder / f"{v}.npy" for v in videos]
        missing = [p.name for p in paths if not p.exists()]
        if missing:
            raise BadInput(f"missing feature files: {', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else ""),
                           folder)
    out: dict[str, np.ndarray] = {}
    dim: int | None = None
    for p in paths:
        arr = read_features(p, layout=layout, mmap=mmap, dim=dim)
        dim = arr.shape[1]
        out[p.stem] = arr
    return out


def write_features(folder: str | os.PathLike[str], video: str, features: np.ndarray,
                   meta: Mapping[str, Any] | None = None) -> Path:
    """Write ``<folder>/<video>.npy`` atomically and record ``meta`` for it in ``index.json``."""
    features = np.asarray(features)
    if features.ndim != 2 or not np.isfinite(features).all():
        raise ValueError(f"features of {video} must be a finite (T, d) array, got shape {features.shape}")
    folder = Path(folder)
    path = folder / f"{video}.npy"
    save_npy(path, features.astype(np.float32, copy=False))
    if meta is not None:
        update_index(folder, {video: {**meta, "frames": int(features.shape[0]), "dim": int(features.shape[1])}})
    return path


def update_index(folder: str | os.PathLike[str], entries: Mapping[str, Any]) -> None:
    """Merge ``entries`` into ``index.json`` (atomic; safe for one writer at a time)."""
    index = read_index(folder)
    index.update(entries)
    write_json(Path(folder) / INDEX, index)


