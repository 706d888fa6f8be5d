"""Per-video feature extraction: decoded frames -> a (T, d) float32 array and its metadata.

Two backbones: ``classic`` (weight-free HOG + colour + optical-flow histograms, wsl.features.classic)
and ``clip`` (the ClipEncoder of wsl.features.backbones over a short window of frames around each
sample; meaningful with ``weights``, random without).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wsl.errors import BadInput
from wsl.features import classic
from wsl.features.video import iter_frames, probe

BACKBONES = ("classic", "clip")


@dataclass(frozen=True)
class ExtractConfig:
    backbone: str = "classic"
    fps: float = 2.0
    weights: str | None = None
    clip_frames: int = 8  # frames per clip for the clip backbone, centred on each sample
    clip_size: int = 112
    batch_size: int = 16
    device: str = "cpu"

    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"backbone": self.backbone, "fps": self.fps, "stride": 1}
        if self.backbone == "classic":
            meta["blocks"] = dict(classic.BLOCKS)
        else:
            meta.update(weights=self.weights, clip_frames=self.clip_frames, clip_size=self.clip_size)
        return meta


def _classic(path: Path, cfg: ExtractConfig) -> tuple[np.ndarray, np.ndarray]:
    rows: list[np.ndarray] = []
    times: list[float] = []
    prev_gray = None
    last: tuple[float, np.ndarray] | None = None
    for t, rgb, sampled in iter_frames(path, fps=cfg.fps, size=classic.WORK_SIZE, every_frame=True):
        if sampled:
            if last is not None and last[0] == t:  # the same frame again (fps above the native rate)
                rows.append(rows[-1])
            else:
                rows.append(classic.describe(rgb, prev_gray))
            times.append(t)
            last = (t, rgb)
        prev_gray = classic.to_gray(rgb)
    return np.stack(rows) if rows else np.zeros((0, classic.DIM), np.float32), np.asarray(times)


def _clip(path: Path, cfg: ExtractConfig) -> tuple[np.ndarray, np.ndarray]:
    import torch

    from wsl.features.backbones import ClipEncoder, load_weights, normalize_frames

    encoder = ClipEncoder()
    if cfg.weights:
        load_weights(encoder, cfg.weights)
    encoder.eval().to(cfg.device)
    # Sample frames at clip_frames x the output rate, so each output step owns clip_frames frames.
    frames, times = [], []
    for t, rgb, _ in iter_frames(path, fps=cfg.fps * cfg.clip_frames, size=(cfg.clip_size, cfg.clip_size)):
        frames.append(rgb)
        times.append(t)
    if not frames:
        return np.zeros((0, encoder.out_dim), np.float32), np.zeros(0)
    dense = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)  # (N, 3, S, S)
    # Output step k is dense frame k * L; its clip is the L frames centred there (edges repeated), so
    # T matches the classic backbone's count of sample instants.
    length = cfg.clip_frames
    starts = np.arange(0, len(dense), length)
    out = []
    with torch.inference_mode():
        for i in range(0, len(starts), cfg.batch_size):
            centre = starts[i:i + cfg.batch_size, None]
            idx = np.clip(centre + np.arange(length)[None, :] - length // 2, 0, len(dense) - 1)
            batch = normalize_frames(dense[torch.from_numpy(idx)].to(cfg.device))
            out.append(encoder(batch).float().cpu().numpy())
    return np.concatenate(out), np.asarray(times)[starts]


def extract(path: str | os.PathLike[str], cfg: ExtractConfig = ExtractConfig()) -> tuple[np.ndarray, dict[str, Any]]:
    """Features (T, d) float32 of one video and the metadata to store in index.json."""
    if cfg.backbone not in BACKBONES:
        raise BadInput(f"unknown backbone {cfg.backbone!r}: choose one of {', '.join(BACKBONES)}")
    path = Path(path)
    info = probe(path)
    feats, times = (_classic if cfg.backbone == "classic" else _clip)(path, cfg)
    if len(feats) == 0:
        raise BadInput("no frames could be decoded", path)
    meta = cfg.meta()
    meta.update(source=str(path), duration=round(info.duration, 3), native_fps=round(info.fps, 3),
                first_time=float(times[0]) if len(times) else 0.0)
    return feats.astype(np.float32), meta
