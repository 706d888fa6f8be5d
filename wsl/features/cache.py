"""A feature cache for commands that take videos directly (discover-steps, label-actions).

    from wsl.features.cache import cached_features
    got = cached_features(["a.mp4", "b.mp4"], "steps.features/", fps=2)   # CachedFeatures
    got.features["a"], got.index["a"]["times"], got.extracted, got.reused

The cache folder is an ordinary feature folder, exactly as ``wsl features extract`` writes it
(``<video>.npy`` (T, d) float32 + ``index.json``), so it can be passed on as ``--features`` later. An
entry is reused only when it was made from the same file (size and modification time) with the same
settings (backbone, fps, size, weights); otherwise that video is extracted again. Each video is
written atomically and recorded in ``index.json`` as soon as it is done, so an interrupted run keeps
the videos finished before the interruption. The cache is never placed inside an input folder.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wsl.errors import BadInput, MissingExtra
from wsl.progress import info

# index.json field holding what must match for a cached entry to stand for a video extracted now.
KEY = "cache_key"


@dataclass(frozen=True)
class CachedFeatures:
    """Features of the requested videos, by video id (file stem): arrays (T, d) float32, their
    ``index.json`` entries (fps, times, duration, backbone...), the ``.npy`` paths, and which were
    extracted by this call and which were found in the cache."""

    cache_dir: Path
    features: dict[str, np.ndarray] = field(repr=False)
    index: dict[str, dict[str, Any]] = field(repr=False)
    paths: dict[str, Path]
    extracted: tuple[str, ...]
    reused: tuple[str, ...]


def default_cache_dir(name: str, anchor: str | os.PathLike[str] | None = None) -> Path:
    """Where features go when no cache folder is named: ``<anchor>.features`` beside an output file
    (``steps.json`` -> ``steps.features``), else the user cache (``$XDG_CACHE_HOME`` or ``~/.cache``)
    under ``wsl/features/<name>-<hash of name's absolute path>``."""
    if anchor is not None and str(anchor) != "-":
        a = Path(anchor)
        return a.with_name(a.stem + ".features") if a.suffix else a.with_name(a.name + ".features")
    import hashlib

    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha1(os.path.realpath(name).encode()).hexdigest()[:10]
    return root / "wsl" / "features" / f"{Path(name).resolve().name or 'videos'}-{digest}"


def _key(video: Path, backbone: str, fps: float, size: int, weights: str | None) -> dict[str, Any]:
    st = video.stat()
    return {"backbone": backbone, "fps": float(fps), "size": int(size), "weights": weights,
            "source_bytes": int(st.st_size), "source_mtime_ns": int(st.st_mtime_ns)}


def _check_outside(cache: Path, keep_out: Iterable[str | os.PathLike[str]]) -> None:
    real = Path(os.path.realpath(cache))
    for folder in keep_out:
        f = Path(os.path.realpath(folder))
        if real == f or real.is_relative_to(f):
            raise BadInput(f"the feature cache {cache} lies inside the input folder {folder}; wsl never writes "
                           "into its inputs: choose `features_cache` elsewhere", cache, param="features_cache")


def require_extractor(backbone: str) -> None:
    """MissingExtra (one line naming the pip install) when ``backbone`` cannot run here."""
    import importlib

    if backbone == "classic":
        what, extra, needs = "the classic video descriptor", "video", {"av": "av", "cv2": "opencv-python-headless"}
    else:
        what, extra = "extracting video features with the pretrained EfficientNet-Lite trunk", "vision"
        needs = {"av": "av", "torch": "torch", "efficientnet_lite_pytorch": "efficientnet-lite-pytorch"}
    for module, package in needs.items():
        try:
            importlib.import_module(module)
        except ImportError:
            raise MissingExtra(what, extra, package) from None


def cached_features(videos: Sequence[str | os.PathLike[str]], cache_dir: str | os.PathLike[str], *,
                    fps: float = 2.0, backbone: str = "lite0", size: int = 224, batch_size: int = 32,
                    weights: str | os.PathLike[str] | None = None, device: str = "auto",
                    keep_out: Iterable[str | os.PathLike[str]] = ()) -> CachedFeatures:
    """Features of ``videos`` from ``cache_dir``, extracting (and caching) only what is missing or stale.

    ``keep_out``: folders the cache must not lie in (the command's input folders). Videos are named
    by their file stem, which must be unique. Raises MissingExtra before any work when a video must
    be extracted and the backbone's packages are not installed.
    """
    from wsl.features.extraction import BACKBONES, PRETRAINED_BACKBONES, ExtractConfig, check_config
    from wsl.features.files import read_features, read_index
    from wsl.io import check_unique_stems

    paths = [Path(v) for v in videos]
    for p in paths:
        if not p.is_file():
            raise BadInput("no such video file", p)
    check_unique_stems(paths, "videos")
    if backbone not in BACKBONES or backbone == "clip":
        usable = [b for b in BACKBONES if b != "clip"]
        raise BadInput(f"unknown backbone {backbone!r} for cached features: choose one of {', '.join(usable)}",
                       param="backbone")
    cache = Path(cache_dir)
    _check_outside(cache, keep_out)
    if cache.exists() and not cache.is_dir():
        raise BadInput("is a file; the feature cache must be a folder", cache, param="features_cache")
    w = str(weights) if weights is not None else None
    index = read_index(cache) if cache.is_dir() else {}
    keys = {p.stem: _key(p, backbone, fps, size, w) for p in paths}
    todo = []
    for p in paths:
        entry = index.get(p.stem)
        fresh = (isinstance(entry, dict) and (cache / f"{p.stem}.npy").is_file()
                 and entry.get(KEY) == keys[p.stem])
        if not fresh:
            todo.append(p)
    if todo:
        require_extractor(backbone)
        if device == "auto":
            device = "cpu"
            if backbone in PRETRAINED_BACKBONES:
                import torch

                device = "cuda" if torch.cuda.is_available() else "cpu"
        cfg = ExtractConfig(backbone=backbone, fps=fps, weights=w, size=size, batch_size=batch_size, device=device)
        check_config(cfg)
        _extract_into(cache, todo, cfg, keys)
        index = read_index(cache)
    feats: dict[str, np.ndarray] = {}
    out_paths: dict[str, Path] = {}
    for p in paths:
        out_paths[p.stem] = cache / f"{p.stem}.npy"
        feats[p.stem] = read_features(out_paths[p.stem])
    done_now = {p.stem for p in todo}
    return CachedFeatures(cache, feats, {p.stem: dict(index.get(p.stem, {})) for p in paths}, out_paths,
                          tuple(p.stem for p in paths if p.stem in done_now),
                          tuple(p.stem for p in paths if p.stem not in done_now))


def _extract_into(cache: Path, todo: Sequence[Path], cfg: Any, keys: Mapping[str, dict[str, Any]]) -> None:
    """Extract ``todo`` one by one, each written and indexed as soon as it is done."""
    from wsl.features.extraction import PRETRAINED_BACKBONES, extract_video, load_trunk
    from wsl.features.files import update_index, write_features

    info(f"extracting {cfg.backbone} features of {len(todo)} video(s) at {cfg.fps:g} fps into {cache}")
    trunk = load_trunk(cfg) if cfg.backbone in PRETRAINED_BACKBONES else None
    for i, p in enumerate(todo, 1):
        t0 = time.perf_counter()
        res = extract_video(p, cfg, trunk)
        write_features(cache, p.stem, res.features)
        meta = {**res.meta, KEY: keys[p.stem], "frames": int(res.features.shape[0]),
                "dim": int(res.features.shape[1])}
        update_index(cache, {p.stem: meta})
        took = time.perf_counter() - t0
        span = float(meta.get("duration") or 0.0)
        info(f"[{i}/{len(todo)}] {p.name}: {res.features.shape[0]} frames in {took:.1f} s"
             + (f" ({span / took:.2f}x real time)" if took > 0 and span else ""))
