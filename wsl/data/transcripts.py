"""Ordered action lists (transcripts) for `wsl label-actions`, and per-frame ground truth.

A transcripts file is JSON ``{video: [action, ...]}`` (or the same under ``"transcripts"``), or a
COIN annotation file (``{"database": ...}``, ``{id: record}`` or the split lists), whose ordered step
labels become the transcripts. Ground truth for evaluation is a folder of MS-TCN ``<video>.txt``
files or a COIN file (frames at a given fps).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from wsl.data.segments import BACKGROUND, ActionVideo
from wsl.errors import BadInput


def _is_coin(data: Any) -> bool:
    if isinstance(data, dict) and isinstance(data.get("database"), dict):
        return True
    recs = list(data.values())[:3] if isinstance(data, dict) else (
        [next(iter(x.values())) for x in data[:3] if isinstance(x, dict) and len(x) == 1]
        if isinstance(data, list) else [])
    return bool(recs) and all(isinstance(r, dict) and "annotation" in r for r in recs)


def read_transcripts(path: str | os.PathLike[str], background: str = BACKGROUND) -> dict[str, list[str]]:
    """{video: ordered action labels} from a transcripts JSON or a COIN annotation file."""
    from wsl.io import load_json

    data: Any = load_json(path)
    if _is_coin(data):
        from wsl.data.coin import read_coin

        return {v.video: v.transcript for v in read_coin(path) if v.segments}
    if isinstance(data, dict) and isinstance(data.get("transcripts"), dict):
        data = data["transcripts"]
    if not isinstance(data, dict) or not data:
        raise BadInput("expected a JSON object mapping each video id to its ordered list of action labels "
                       "(or a COIN annotation file)", path)
    out: dict[str, list[str]] = {}
    for vid, acts in data.items():
        if not isinstance(acts, list) or not all(isinstance(a, str) and a.strip() for a in acts):
            raise BadInput(f"video {vid}: the transcript must be a list of non-empty label strings", path)
        if not [a for a in acts if a.strip() != background]:
            raise BadInput(f"video {vid}: the transcript lists no action", path)
        out[str(vid)] = [a.strip() for a in acts]
    return out


def read_ground_truth(source: str | os.PathLike[str], videos: list[str], n_frames: dict[str, int] | None = None,
                      fps: float | None = None, mapping: str | os.PathLike[str] | None = None,
                      background: str | None = None) -> dict[str, list[str]]:
    """Per-frame gold labels of ``videos``: an MS-TCN folder of ``<video>.txt`` files, or a COIN JSON
    file sampled at ``fps`` (default: each video's frame count over its duration)."""
    source = Path(source)
    if source.is_dir():
        from wsl.data.framelabels import read_label_dir

        return read_label_dir(source, videos, mapping, background)
    from wsl.data.coin import read_coin

    recs = {v.video: v for v in read_coin(source)}
    missing = [v for v in videos if v not in recs]
    if missing:
        raise BadInput(f"no annotations for video(s) {', '.join(missing[:5])}", source)
    return {v: coin_frames(recs[v], fps, (n_frames or {}).get(v)) for v in videos}


def coin_frames(video: ActionVideo, fps: float | None, n_frames: int | None) -> list[str]:
    """Per-frame labels of an annotated video, cut or padded (background) to ``n_frames`` when given."""
    if fps is None:
        if not n_frames:
            raise BadInput(f"video {video.video}: give fps to sample its annotation into frames", param="fps")
        fps = n_frames / video.duration
    frames = video.frames(fps)
    if n_frames is not None:
        frames = (frames + [BACKGROUND] * n_frames)[:n_frames]
    return frames
