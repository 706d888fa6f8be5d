"""Per-video feature extraction: decoded frames -> a (T, d) float32 array, its timestamps and metadata.

Backbones:
- ``lite0`` (default; ``lite1``, ``lite2``): the ImageNet-pretrained EfficientNet-Lite trunk of
  wsl.features.pretrained, per sampled frame; the vector is the global average of the last feature
  map (1280-d). Frames keep their aspect ratio (shorter side ``size``, sides multiples of 32) and
  go through the trunk in batches. ``spatial=True`` also writes the maps themselves.
- ``classic``: the weight-free HOG + colour + optical-flow descriptor (wsl.features.classic).
- ``clip``: the from-scratch ClipEncoder over a short window around each sample (needs ``weights``).

``extract`` runs a whole set of videos into a folder (``<video>.npy`` + ``index.json`` with the
frame timestamps); ``extract_video`` does one video in memory.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from wsl.errors import BadInput
from wsl.features import classic
from wsl.features.video import iter_frames, probe
from wsl.progress import warn

PRETRAINED_BACKBONES = ("lite0", "lite1", "lite2")
BACKBONES = (*PRETRAINED_BACKBONES, "classic", "clip")
# A decoded span shorter than this share of the declared duration means the file is cut short.
TRUNCATED_SHARE = 0.9


@dataclass(frozen=True)
class ExtractConfig:
    backbone: str = "lite0"
    fps: float = 2.0
    weights: str | None = None  # clip: encoder weights; lite*: other trunk weights
    size: int = 224  # lite*: shorter side of the frames the trunk sees
    spatial: bool = False  # lite*: also keep the (C, h, w) maps per frame
    clip_frames: int = 8  # frames per clip for the clip backbone, centred on each sample
    clip_size: int = 112
    batch_size: int = 32
    device: str = "cpu"

    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"backbone": self.backbone, "fps": self.fps, "stride": 1}
        if self.backbone == "classic":
            meta["blocks"] = dict(classic.BLOCKS)
        elif self.backbone == "clip":
            meta.update(weights=self.weights, clip_frames=self.clip_frames, clip_size=self.clip_size)
        else:
            meta.update(size=self.size, pooling="global average of the last feature map",
                        weights=self.weights or f"ImageNet ({self.backbone} package)")
        return meta


@dataclass(frozen=True)
class VideoFeatures:
    """One video's features (T, d), the time (s) of each row, optional maps (T, C, h, w) and metadata."""

    features: np.ndarray
    times: np.ndarray
    meta: dict[str, Any]
    maps: np.ndarray | None = None


def _classic(path: Path, cfg: ExtractConfig, damage: list[str]) -> tuple[np.ndarray, np.ndarray, None]:
    rows: list[np.ndarray] = []
    times: list[float] = []
    prev_gray = None
    last: tuple[float, np.ndarray] | None = None
    for t, rgb, sampled in iter_frames(path, fps=cfg.fps, size=classic.WORK_SIZE, every_frame=True,
                                       damage=damage):
        if sampled:
            if last is not None and last[0] == t:  # the same frame again (fps above the native rate)
                rows.append(rows[-1])
            else:
                rows.append(classic.describe(rgb, prev_gray))
            times.append(t)
            last = (t, rgb)
        prev_gray = classic.to_gray(rgb)
    return np.stack(rows) if rows else np.zeros((0, classic.DIM), np.float32), np.asarray(times), None


def load_trunk(cfg: ExtractConfig) -> Any:
    """The pretrained trunk for ``cfg`` on its device, in inference mode."""
    from wsl.features.pretrained import load_pretrained

    return load_pretrained(cfg.backbone, cfg.weights).to(cfg.device).eval()


def _pretrained(path: Path, cfg: ExtractConfig, damage: list[str], trunk: Any = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    import torch

    from wsl.features.preprocess import input_size, normalize

    trunk = trunk if trunk is not None else load_trunk(cfg)
    info = probe(path)
    size = input_size(info.width, info.height, cfg.size, trunk.stride, keep_aspect=True)
    device = torch.device(cfg.device)
    cuda = device.type == "cuda"
    vectors: list[np.ndarray] = []
    maps: list[np.ndarray] = []
    times: list[float] = []
    pending: list[np.ndarray] = []

    def flush() -> None:
        x = normalize(torch.from_numpy(np.stack(pending)).permute(0, 3, 1, 2).to(device), "imagenet", cuda)
        with torch.inference_mode(), torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=cuda):
            fmap = trunk(x).float()
        vectors.append(fmap.mean(dim=(2, 3)).cpu().numpy())
        if cfg.spatial:
            maps.append(fmap.to(torch.float16).cpu().numpy())
        pending.clear()

    for t, rgb, _ in iter_frames(path, fps=cfg.fps, size=size, damage=damage):
        pending.append(rgb)
        times.append(t)
        if len(pending) == cfg.batch_size:
            flush()
    if pending:
        flush()
    dim = int(trunk.out_channels)
    feats = np.concatenate(vectors) if vectors else np.zeros((0, dim), np.float32)
    return feats, np.asarray(times), (np.concatenate(maps) if maps else None)


def _clip(path: Path, cfg: ExtractConfig, damage: list[str]) -> tuple[np.ndarray, np.ndarray, None]:
    import torch

    from wsl.features.backbones import ClipEncoder, load_weights, normalize_frames

    encoder = ClipEncoder()
    if cfg.weights:
        load_weights(encoder, cfg.weights)
    encoder.eval().to(cfg.device)
    # Sample frames at clip_frames x the output rate, so each output step owns clip_frames frames.
    frames, times = [], []
    for t, rgb, _ in iter_frames(path, fps=cfg.fps * cfg.clip_frames, size=(cfg.clip_size, cfg.clip_size),
                                 damage=damage):
        frames.append(rgb)
        times.append(t)
    if not frames:
        return np.zeros((0, encoder.out_dim), np.float32), np.zeros(0), None
    dense = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)  # (N, 3, S, S)
    # Output step k is dense frame k * L; its clip is the L frames centred there (edges repeated), so
    # T matches the other backbones' count of sample instants.
    length = cfg.clip_frames
    starts = np.arange(0, len(dense), length)
    out = []
    with torch.inference_mode():
        for i in range(0, len(starts), cfg.batch_size):
            centre = starts[i:i + cfg.batch_size, None]
            idx = np.clip(centre + np.arange(length)[None, :] - length // 2, 0, len(dense) - 1)
            batch = normalize_frames(dense[torch.from_numpy(idx)].to(cfg.device))
            out.append(encoder(batch).float().cpu().numpy())
    return np.concatenate(out), np.asarray(times)[starts], None


def check_config(cfg: ExtractConfig) -> None:
    if cfg.backbone not in BACKBONES:
        raise BadInput(f"unknown backbone {cfg.backbone!r}: choose one of {', '.join(BACKBONES)}", param="backbone")
    if not (cfg.fps > 0 and np.isfinite(cfg.fps)):
        raise BadInput(f"fps must be a positive number, got {cfg.fps}", param="fps")
    if cfg.batch_size < 1:
        raise BadInput(f"batch_size must be at least 1, got {cfg.batch_size}", param="batch_size")
    if cfg.backbone in PRETRAINED_BACKBONES and cfg.size < 32:
        raise BadInput(f"size must be at least 32 px for a pretrained trunk, got {cfg.size}", param="size")


def extract_video(path: str | os.PathLike[str], cfg: ExtractConfig = ExtractConfig(), trunk: Any = None
                  ) -> VideoFeatures:
    """Features (T, d) float32 of one video, their times and the metadata to store in index.json.

    A video that stops decoding early (truncated, damaged) keeps the frames decoded before the
    break, with a warning; its metadata records the span actually decoded next to the declared one.
    """
    check_config(cfg)
    path = Path(path)
    info = probe(path)
    damage: list[str] = []
    if cfg.backbone == "classic":
        feats, times, maps = _classic(path, cfg, damage)
    elif cfg.backbone == "clip":
        feats, times, maps = _clip(path, cfg, damage)
    else:
        feats, times, maps = _pretrained(path, cfg, damage, trunk)
    damaged = damage[0] if damage else None
    if len(feats) == 0:
        raise BadInput("no frames could be decoded", path)
    meta = cfg.meta()
    span = float(times[-1]) + 1.0 / cfg.fps if len(times) else 0.0
    declared = float(info.duration)
    meta.update(source=str(path), native_fps=round(info.fps, 3), first_time=float(times[0]),
                times=[round(float(t), 3) for t in times], duration=round(min(span, declared) if declared else span, 3))
    if damaged or (declared > 0 and span < TRUNCATED_SHARE * declared):
        meta.update(declared_duration=round(declared, 3), truncated=True)
        warn(f"{path}: decoded {span:.1f} s of the {declared:.1f} s the file declares "
             f"({damaged or 'truncated?'}); features cover the decoded span only")
    return VideoFeatures(feats.astype(np.float32), np.asarray(times, dtype=np.float64), meta, maps)


@dataclass(frozen=True)
class ExtractResult:
    """What ``extract`` wrote: the output folder, the videos done now, those skipped as already done."""

    out_dir: Path
    written: tuple[str, ...]
    already_done: tuple[str, ...]
    config: ExtractConfig


def _extract_one(job: tuple[str, str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """Worker for ``jobs`` > 1: extract one video and write its .npy (index.json is written by the parent)."""
    video, out_dir, cfg_kwargs = job
    return _write_one(Path(video), Path(out_dir), ExtractConfig(**cfg_kwargs), None)


def _write_one(video: Path, out: Path, cfg: ExtractConfig, trunk: Any) -> tuple[str, dict[str, Any]]:
    from wsl.features.files import write_features
    from wsl.io import save_npy

    res = extract_video(video, cfg, trunk)
    write_features(out, video.stem, res.features)
    meta = dict(res.meta)
    if res.maps is not None:
        save_npy(out / f"{video.stem}.maps.npy", res.maps)
        meta["maps_file"] = f"{video.stem}.maps.npy"
    meta.update(frames=int(res.features.shape[0]), dim=int(res.features.shape[1]))
    return video.stem, meta


def extract(inputs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str], out_dir: str | os.PathLike[str],
            backbone: str = "lite0", fps: float = 2.0, weights: str | os.PathLike[str] | None = None, size: int = 224,
            spatial: bool = False, batch_size: int = 32, device: str = "auto", jobs: int = 1,
            skip_existing: bool = False, shard: tuple[int, int] | None = None) -> ExtractResult:
    """Extract one ``<video>.npy`` (T, d) float32 per video into ``out_dir``, with ``index.json``
    recording each video's fps, frame timestamps, backbone and the span decoded.

    ``inputs`` are video files or folders of them; ``shard`` (K, N) takes every N-th sorted video.
    """
    from wsl.features.files import update_index
    from wsl.features.video import list_videos
    from wsl.io import output_folder_for
    from wsl.parallel import map_jobs, shard_inputs
    from wsl.progress import info, track

    items = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    paths = shard_inputs(list_videos([Path(p) for p in items]), shard, "video")
    out = output_folder_for(out_dir, paths, "videos", "features need an output folder")
    if device == "auto":
        device = "cpu"
        if backbone != "classic":
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
    cfg = ExtractConfig(backbone=backbone, fps=fps, weights=str(weights) if weights else None, size=size,
                        spatial=spatial, batch_size=batch_size, device=device)
    check_config(cfg)
    if backbone == "clip" and weights is None:
        warn("backbone clip without weights uses random weights: the features carry little meaning")
    todo = [p for p in paths if not (skip_existing and (out / f"{p.stem}.npy").exists())]
    done = tuple(p.stem for p in paths if p not in todo)
    if done:
        info(f"skipping {len(done)} video(s) already extracted")
    entries: dict[str, Any] = {}
    try:
        if jobs > 1 and len(todo) > 1:
            kwargs = asdict(replace(cfg))
            for stem, meta in map_jobs(_extract_one, [(str(p), str(out), kwargs) for p in todo], jobs, "extracting"):
                entries[stem] = meta
        else:
            trunk = load_trunk(cfg) if backbone in PRETRAINED_BACKBONES and todo else None
            for p in track(todo, "extracting"):
                stem, meta = _write_one(p, out, cfg, trunk)
                entries[stem] = meta
    finally:
        if entries:  # record what was done even when a later video fails
            update_index(out, entries)
    return ExtractResult(out, tuple(entries), done, cfg)
