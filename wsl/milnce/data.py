"""MIL-NCE's data: narrations (any format of ``wsl.data.narration``) paired with clips of features or frames,
and the paper's clip/candidate sampling (the text side is in ``wsl.milnce.text``).

A training folder holds ``captions/<video>.{csv,srt,vtt,json}`` and either ``features/<video>.npy``
(+ ``index.json`` with fps) or ``videos/<video>.mp4``.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from wsl.data.howto100m import Caption
from wsl.errors import BadInput
from wsl.milnce.model import MilNceConfig
from wsl.milnce.text import TextSide

# --- clip and candidate sampling ------------------------------------------------------------------------------

def candidate_indices(captions: Sequence[Caption], centre: float, candidates: int) -> list[int]:
    """Indices of the ``candidates`` captions nearest in time to ``centre`` (by caption middle), in time order."""
    mids = np.array([c.middle for c in captions])
    order = np.argsort(np.abs(mids - centre), kind="stable")[:candidates]
    return sorted(int(i) for i in order)


def sample_clip(captions: Sequence[Caption], duration: float, clip_seconds: float, candidates: int,
                rng: np.random.Generator) -> tuple[float, float, list[int]]:
    """Draw one training sample: a caption uniformly, a clip of ``clip_seconds`` centred on it (kept inside
    [0, duration]), and the ``candidates`` captions nearest in time to the clip as its positive bag.

    This is the paper's sampling: the narration nearest the clip is often about something else (speech and
    action are misaligned), so the bag lets the loss pick whichever of them the clip actually shows.
    """
    if not captions:
        raise ValueError("no captions to sample from")
    c = captions[int(rng.integers(len(captions)))]
    start = centred_clip(c.middle, duration, clip_seconds)
    return start, start + clip_seconds, candidate_indices(captions, start + clip_seconds / 2, candidates)


def centred_clip(centre: float, duration: float, clip_seconds: float) -> float:
    """Start of the ``clip_seconds`` clip centred on ``centre``, moved inside [0, duration]."""
    return min(max(0.0, centre - clip_seconds / 2), max(0.0, duration - clip_seconds))


def clip_windows(duration: float, clip_seconds: float, stride: float) -> list[tuple[float, float]]:
    """Sliding windows (start, end) of ``clip_seconds`` every ``stride`` s covering [0, duration]."""
    if clip_seconds <= 0 or stride <= 0:
        raise BadInput(f"clip length and `stride` must be positive (got {clip_seconds}, {stride})", param="stride")
    if duration <= clip_seconds:
        return [(0.0, max(duration, clip_seconds))]
    n = int(math.floor((duration - clip_seconds) / stride + 1e-9)) + 1
    windows = [(k * stride, k * stride + clip_seconds) for k in range(n)]
    if windows[-1][1] < duration - 1e-6:  # cover the tail too
        windows.append((duration - clip_seconds, duration))
    return windows


def window_rows(start: float, end: float, fps: float, steps: int, n_rows: int) -> np.ndarray:
    """``steps`` row (or frame) indices evenly spread over [start, end) at ``fps``, clamped to the file."""
    times = start + (np.arange(steps) + 0.5) * (end - start) / steps
    return np.clip(np.floor(times * fps).astype(np.int64), 0, n_rows - 1)


# --- evaluation pairs ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SentencePair:
    """A gold (clip, sentence) pair for evaluation: video id, start, end (s), sentence, CSV line."""

    video: str
    start: float
    end: float
    text: str
    line: int


def read_sentence_pairs(path: str | os.PathLike[str]) -> tuple[list[SentencePair], list[tuple[int, str]]]:
    """Read an evaluation CSV with columns video_id,start,end,text in any order (YouCook2 / CrossTask style).

    Returns the pairs and the skipped rows (line, reason).
    """
    from wsl.io import read_text

    path = Path(path)
    body, _ = read_text(path)
    try:
        rows = list(csv.reader(io.StringIO(body)))
    except csv.Error as e:
        raise BadInput(f"unreadable CSV ({e})", path) from None
    if not rows:
        raise BadInput("empty file (expected a video_id,start,end,text header)", path, 1)
    names = [h.strip().lower().lstrip("\ufeff") for h in rows[0]]
    needed = ("video_id", "start", "end", "text")
    missing = [n for n in needed if n not in names]
    if missing:
        raise BadInput(f"pairs CSV needs the columns {','.join(needed)}; missing {', '.join(missing)}", path, 1)
    col = {n: names.index(n) for n in needed}
    pairs: list[SentencePair] = []
    skipped: list[tuple[int, str]] = []
    for i, row in enumerate(rows[1:], start=2):
        if not row or not any(f.strip() for f in row):
            continue
        if len(row) <= max(col.values()):
            skipped.append((i, f"{len(row)} field(s), expected at least {max(col.values()) + 1}"))
            continue
        try:
            start, end = float(row[col["start"]]), float(row[col["end"]])
        except ValueError:
            skipped.append((i, "start/end not numbers"))
            continue
        text, vid = " ".join(row[col["text"]].split()), row[col["video_id"]].strip()
        if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end < start:
            skipped.append((i, f"start/end not seconds with 0 <= start <= end ({start}, {end})"))
        elif not text or not vid:
            skipped.append((i, "empty text" if not text else "empty video_id"))
        else:
            pairs.append(SentencePair(vid, start, end, text, i))
    return pairs, skipped


# --- video sources ---------------------------------------------------------------------------------------------

class FeatureSource:
    """Clips from a folder of ``<video>.npy`` feature files (read memory-mapped)."""

    def __init__(self, folder: str | os.PathLike[str], fps: float | None = None, layout: str = "Td",
                 videos: Sequence[str] | None = None):
        from wsl.features.files import load_feature_dir, read_index, video_meta

        self.folder = Path(folder)
        self.feats = load_feature_dir(folder, layout=layout, videos=list(videos) if videos is not None else None)
        index = read_index(folder)
        self.fps: dict[str, float] = {}
        for v in self.feats:
            raw = fps or video_meta(index, v).get("fps")
            try:
                f = float(raw) if raw is not None else 0.0
            except (TypeError, ValueError):
                raise BadInput(f"index.json gives {v} the fps {raw!r}, not a number (give `fps`)",
                               self.folder / "index.json", param="fps") from None
            if not (math.isfinite(f) and f > 0):
                raise BadInput(f"no usable fps for {v} (index.json has {raw!r}): give `fps`", self.folder, param="fps")
            self.fps[v] = f
        self.dim = next(iter(self.feats.values())).shape[1]

    @property
    def videos(self) -> list[str]:
        return list(self.feats)

    def rows(self, video: str) -> int:
        return int(self.feats[video].shape[0])

    def duration(self, video: str) -> float:
        return self.feats[video].shape[0] / self.fps[video]

    def path(self, video: str) -> Path:
        return self.folder / f"{video}.npy"

    def clip(self, video: str, start: float, end: float, steps: int) -> np.ndarray:
        arr = self.feats[video]
        return np.asarray(arr[window_rows(start, end, self.fps[video], steps, arr.shape[0])], dtype=np.float32)


class FrameSource:
    """Clips of decoded frames from a folder of videos; each video is decoded whole at the clip frame rate
    and kept in an LRU cache of ``cache_bytes`` (per data-loader worker): decoding is the cost of
    end-to-end training, and a video gives many clips."""

    def __init__(self, folder: str | os.PathLike[str], fps: float, size: int, videos: Sequence[str] | None = None,
                 cache_bytes: int = 2 << 30):
        from wsl.features.video import list_videos

        paths = list_videos([Path(folder)])
        if videos is not None:
            wanted = set(videos)
            paths = [p for p in paths if p.stem in wanted]
        if not paths:
            raise BadInput("no video files in this folder", folder)
        self.paths = {p.stem: p for p in paths}
        self.fps, self.size, self._cache_bytes = fps, size, cache_bytes
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._durations: dict[str, float] = {}

    @property
    def videos(self) -> list[str]:
        return list(self.paths)

    def rows(self, video: str) -> int | None:
        return None

    def path(self, video: str) -> Path:
        return self.paths[video]

    def duration(self, video: str) -> float:
        if video not in self._durations:
            from wsl.features.video import probe

            self._durations[video] = probe(self.paths[video]).duration
        return self._durations[video]

    def _frames(self, video: str) -> np.ndarray:
        if video in self._cache:
            self._cache.move_to_end(video)
            return self._cache[video]
        from wsl.features.video import decode

        frames = decode(self.paths[video], fps=self.fps, size=(self.size, self.size)).data
        self._cache[video] = frames
        while len(self._cache) > 1 and sum(f.nbytes for f in self._cache.values()) > self._cache_bytes:
            self._cache.popitem(last=False)
        return frames

    def clip(self, video: str, start: float, end: float, steps: int) -> np.ndarray:
        frames = self._frames(video)
        return frames[window_rows(start, end, self.fps, steps, frames.shape[0])]


Source = FeatureSource | FrameSource


def open_source(cfg: MilNceConfig, folder: str | os.PathLike[str], videos: Sequence[str] | None = None,
                fps: float | None = None, layout: str = "Td") -> Source:
    """The clips of ``folder`` as the model ``cfg`` reads them (features of its dimension, or frames)."""
    if cfg.video == "frames":
        return FrameSource(folder, cfg.clip_steps / cfg.clip_seconds, cfg.frame_size, videos)
    src = FeatureSource(folder, fps=fps, layout=layout, videos=videos)
    if cfg.feature_dim and src.dim != cfg.feature_dim:
        hint = " (is it (d, T)? try `layout` dT)" if layout == "Td" else ""
        raise BadInput(f"features of dimension {src.dim}, but the model was trained on {cfg.feature_dim}{hint}",
                       folder, param="layout")
    return src


# --- training folders ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DataFolders:
    """Where a training set's narrations and clips are, and which video encoder reads the clips."""

    captions: Path
    source: Path
    video: str  # features or frames


def resolve_folders(data: str | os.PathLike[str], captions: str | os.PathLike[str] | None = None,
                    features: str | os.PathLike[str] | None = None, videos: str | os.PathLike[str] | None = None,
                    video: str = "auto") -> DataFolders:
    """``data/captions`` + ``data/features`` (or ``data/videos``), unless given explicitly."""
    root = Path(data)
    if not root.is_dir():
        raise BadInput("not a folder (expected captions/ plus features/ or videos/ inside)", root)
    from wsl.data.narration import NARRATION_SUFFIXES

    cap = Path(captions) if captions else root / "captions"
    if not cap.is_dir() and any(p.suffix.lower() in NARRATION_SUFFIXES and p.name != "index.json"
                                for p in root.iterdir()):
        cap = root
    if not cap.is_dir():
        raise BadInput("no captions/ folder of narration files here; give `captions`", root, param="captions")
    if video == "auto":
        video = "frames" if videos or (not features and not (root / "features").is_dir()) else "features"
    if video not in ("features", "frames"):
        raise BadInput(f"unknown video encoder {video!r} (`video`): use features, frames or auto", param="video")
    source = Path(videos or root / "videos") if video == "frames" else Path(features or root / "features")
    if not source.is_dir():
        param = "videos" if video == "frames" else "features"
        raise BadInput(f"no {source.name}/ folder here; give `{param}`", root, param=param)
    return DataFolders(cap, source, video)


def _available(video: str, folder: Path) -> set[str]:
    if video == "frames":
        from wsl.features.video import list_videos

        return {p.stem for p in list_videos([folder])}
    return {p.stem for p in folder.glob("*.npy")}


def read_training_narrations(captions_dir: str | os.PathLike[str], video: str,
                             source_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Narrations that have usable captions and a video (or features) beside them; warns about the rest."""
    from wsl.data.narration import read_narration_dir
    from wsl.progress import warn

    files = read_narration_dir(captions_dir)
    bad = [(f.path, line, why) for f in files.values() for line, why in f.skipped]
    if bad:
        where = "; ".join(f"{p}:{line}: {why}" for p, line, why in bad[:3])
        warn(f"skipped {len(bad)} bad caption row(s), kept {sum(len(f.captions) for f in files.values())} "
             f"(first: {where})")
    have = _available(video, Path(source_dir))
    what = "video" if video == "frames" else "feature file"
    no_source = sorted(v for v in files if v not in have)
    empty = sorted(v for v in files if v in have and not files[v].captions)
    if no_source:
        warn(f"{len(no_source)} caption file(s) have no {what} in {source_dir} and are left out "
             f"(e.g. {', '.join(no_source[:3])})")
    if empty:
        warn(f"{len(empty)} caption file(s) have no usable row and are left out (e.g. {', '.join(empty[:3])})")
    kept = {v: f for v, f in files.items() if v in have and f.captions}
    if not kept:
        raise BadInput(f"no video has both usable captions in {captions_dir} and "
                       f"{'a video' if video == 'frames' else 'features'} in {source_dir}", captions_dir)
    return kept


def check_sources(narrations: Mapping[str, Any], source: Source) -> dict[str, Any]:
    """The shared narration/video timing check (``wsl.data.narration.check_timing``) over every video.

    A wrong fps shows in every video at once: refused with the first video's message. A few videos
    whose captions run past their end (a truncated file, another video's captions) are left out
    with a warning.
    """
    from wsl.data.narration import check_timing
    from wsl.progress import warn

    kept: dict[str, Any] = {}
    failed: list[BadInput] = []
    for v, n in narrations.items():
        fps = source.fps[v] if isinstance(source, FeatureSource) else None
        rows = source.rows(v)
        try:
            check_timing(n, fps=fps, rows=rows, duration=None if rows is not None else source.duration(v),
                         path=source.path(v))
        except BadInput as e:
            failed.append(e)
            continue
        kept[v] = n
    if failed and (len(failed) * 2 > len(narrations) or not kept):
        raise failed[0]
    if failed:
        warn(f"{len(failed)} video(s) left out, their narration does not fit the video (first: {failed[0]})")
    return kept


class ClipCaptionDataset(Dataset):
    """Samples (clip, bag of P candidate captions, mask) as in the paper; ``clips_per_video`` samples per
    video per epoch. The randomness comes from torch's generator, which the training loop seeds per epoch."""

    def __init__(self, narrations: Mapping[str, Any], source: Source, cfg: MilNceConfig, text: TextSide,
                 clips_per_video: int = 1):
        self.videos = [v for v in narrations if narrations[v].captions]
        self.captions = {v: list(narrations[v].captions) for v in self.videos}
        self.source, self.cfg, self.text = source, cfg, text
        self.clips_per_video = clips_per_video
        self.durations = {v: source.duration(v) for v in self.videos}

    def __len__(self) -> int:
        return len(self.videos) * self.clips_per_video

    def __getitem__(self, i: int) -> dict[str, Any]:
        rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))
        video = self.videos[i % len(self.videos)]
        caps = self.captions[video]
        p = self.cfg.candidates
        start, end, cands = sample_clip(caps, self.durations[video], self.cfg.clip_seconds, p, rng)
        texts = [caps[c].text for c in cands]
        mask = np.zeros(p, dtype=bool)
        mask[: len(texts)] = True
        texts += [texts[0]] * (p - len(texts))  # padding of short bags, masked out of the loss
        return {"video": self.source.clip(video, start, end, self.cfg.clip_steps), "text": self.text.encode(texts),
                "mask": mask, "group": np.int64(i % len(self.videos))}
