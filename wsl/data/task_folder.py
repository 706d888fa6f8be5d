"""A task folder for `wsl discover-steps`: per video a narration and/or a feature file.

    task/
      <video>.srt | .vtt | .csv | .json     narration (HowTo100M caption CSV: start,end,text)
      <video>.npy                           features (T, d), or in a separate --features folder
      index.json                            feature metadata (fps, duration), as written by `wsl features`
      <video>.mp4 | .mkv | .avi | .mov | .webm   the video itself: features are extracted (and cached)
                                            for videos without a feature file (wsl.features.cache)

A video is any stem seen among them; it may lack a narration or features. Feature lengths are
checked against the video's duration (index.json) and against its narration: a mismatch is an
error naming the feature file, since it means the wrong fps or a truncated extraction.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wsl.data.narration import Narration, check_timing, narration_files, read_narration
from wsl.errors import BadInput
from wsl.progress import track


@dataclass
class TaskVideo:
    """One video of the task: its narration, features (T, d), fps and duration when known."""

    video: str
    narration: Narration | None = None
    features: np.ndarray | None = None
    features_path: str | None = None
    fps: float | None = None
    duration: float | None = None
    video_path: str | None = None  # the video file in the task folder, if any

    def attach_features(self, X: np.ndarray, fps: float, path: str | os.PathLike[str],
                        duration: float | None = None, slack: float = 10.0) -> None:
        """Take features (T, d) at ``fps`` from ``path``, checked against the narration's timing."""
        check_timing(self.narration, fps=fps, rows=X.shape[0], duration=duration, slack=slack, path=Path(path))
        self.features, self.features_path, self.fps, self.duration = X, str(path), float(fps), duration

    @property
    def length(self) -> float:
        """Seconds the video is known to last (features, index duration, or narration end)."""
        if self.duration is not None:
            return self.duration
        if self.features is not None and self.fps:
            return self.features.shape[0] / self.fps
        return self.narration.end if self.narration is not None else 0.0


def read_task_folder(folder: str | os.PathLike[str], features: str | os.PathLike[str] | None = None,
                     fps: float | None = None, layout: str = "Td", text_only: bool = False,
                     slack: float = 10.0) -> list[TaskVideo]:
    """The videos of a task folder, sorted by id. Features come from ``features`` (a folder) or the
    task folder itself; ``fps`` is used where index.json gives none. ``slack`` seconds of narration
    past the end of the features are tolerated (captions may run on over the end card)."""
    from wsl.features.files import read_features, read_index, video_meta

    folder = Path(folder)
    if not folder.is_dir():
        raise BadInput("expected a task folder of narrations (.srt/.vtt/.csv/.json) and features (.npy)", folder)
    nar_files = narration_files(folder)
    feat_dir = Path(features) if features is not None else folder
    if features is not None and not feat_dir.is_dir():
        raise BadInput("not a folder of .npy feature files", feat_dir)
    feat_files = {} if text_only else {p.stem: p for p in sorted(feat_dir.glob("*.npy"))}
    index = read_index(feat_dir) if feat_files else {}
    video_files = {} if text_only else task_video_files(folder)
    videos = []
    dim = None
    for vid in track(sorted(set(nar_files) | set(feat_files) | set(video_files)), "reading videos"):
        tv = TaskVideo(vid)
        if vid in video_files:
            tv.video_path = str(video_files[vid])
        if vid in nar_files:
            tv.narration = read_narration(nar_files[vid], vid)
        if vid in feat_files:
            path = feat_files[vid]
            X = read_features(path, layout=layout, dim=dim)
            dim = X.shape[1]
            meta = video_meta(index, vid)
            v_fps = meta.get("fps", fps)
            if v_fps is None:
                raise BadInput(f"no fps for {path.name}: index.json has none; pass `fps`", path, param="fps")
            try:
                v_fps = float(v_fps)
            except (TypeError, ValueError):
                raise BadInput(f"`fps` of {vid} must be a number, got {v_fps!r}", path, param="fps") from None
            duration = None
            if "duration" in meta:
                try:
                    duration = float(meta["duration"])
                except (TypeError, ValueError):
                    raise BadInput(f"duration of {vid} must be a number, got {meta['duration']!r}", path) from None
            tv.attach_features(X, v_fps, path, duration, slack)
        videos.append(tv)
    return videos


# The video files a task folder may hold (lower-case suffixes).
TASK_VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".webm")


def task_video_files(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """The video files directly in ``folder``, by stem (two videos with one stem are an error)."""
    found: dict[str, Path] = {}
    for p in sorted(Path(folder).iterdir()):
        if p.suffix.lower() in TASK_VIDEO_SUFFIXES and p.is_file():
            if p.stem in found:
                raise BadInput(f"two videos named {p.stem!r} ({found[p.stem].name}, {p.name}): keep one", folder)
            found[p.stem] = p
    return found
