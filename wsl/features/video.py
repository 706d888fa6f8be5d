"""Video decoding with PyAV: frames sampled at a requested rate and size, each with its presentation time.

Times are seconds from the first frame of the stream (what a player's clock shows), taken from the
frames' own timestamps rather than from a frame count, so variable-frame-rate files come out right.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wsl.errors import BadInput

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts")


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about the first video stream."""

    path: str
    duration: float  # seconds
    fps: float  # average frame rate
    width: int
    height: int
    frames: int  # as declared by the container, or estimated from duration x fps


@dataclass(frozen=True)
class Frames:
    """Sampled frames as a (T, 3, H, W) uint8 RGB array and the time (s) of each."""

    data: np.ndarray
    times: np.ndarray
    info: VideoInfo


def _open(path: str | os.PathLike[str]):  # -> av.container.InputContainer
    import av

    path = Path(path)
    if not path.exists():
        raise BadInput("no such video file", path)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as e:
        raise BadInput(f"cannot open as a video ({e}); is it a video file?", path) from None
    if not container.streams.video:
        container.close()
        raise BadInput("has no video stream", path)
    return container


def _info(container, path: str | os.PathLike[str]) -> VideoInfo:
    stream = container.streams.video[0]
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 25.0
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / 1_000_000
    else:
        duration = 0.0
    frames = stream.frames or int(round(duration * fps))
    ctx = stream.codec_context
    return VideoInfo(str(path), duration, fps, int(ctx.width), int(ctx.height), int(frames))


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Duration, frame rate, size and frame count of a video, without decoding it."""
    container = _open(path)
    try:
        return _info(container, path)
    finally:
        container.close()


def output_size(width: int, height: int, size: int | tuple[int, int] | None) -> tuple[int, int]:
    """(W, H) after resizing: ``size`` an int is the shorter side (aspect kept), a pair is (W, H)."""
    if size is None:
        return width, height
    if isinstance(size, int):
        scale = size / min(width, height)
        return max(1, round(width * scale)), max(1, round(height * scale))
    return int(size[0]), int(size[1])


def iter_frames(path: str | os.PathLike[str], fps: float | None = None,
                size: int | tuple[int, int] | None = None,
                every_frame: bool = False, damage: list[str] | None = None) -> Iterator[tuple[float, np.ndarray, bool]]:
    """Stream ``(time, HxWx3 uint8 RGB frame, sampled)`` from a video.

    With ``fps``, a frame is *sampled* for each instant k / fps: the frame on screen at that instant
    (the last one whose time is <= it). A frame on screen at several instants (``fps`` above the
    native rate) is yielded once per instant. With ``every_frame``, frames between samples are also
    yielded with ``sampled=False`` (motion descriptors need the neighbours of each sample).

    A damaged or truncated stream raises BadInput, or, when a ``damage`` list is given, ends the
    iteration at the break and appends what went wrong to that list.
    """
    if fps is not None and not (fps > 0 and math.isfinite(fps)):
        raise BadInput(f"fps must be a positive number, got {fps}", param="fps")
    import av

    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        info = _info(container, path)
        out_w, out_h = output_size(info.width, info.height, size)
        tb = float(stream.time_base) if stream.time_base else 1.0 / info.fps
        start = None
        next_k = 0  # the next sampling instant is next_k / fps
        pending: tuple[float, Any] | None = None  # the last frame seen, not yet known to be on screen
        index = 0

        def emit(until: float) -> Iterator[tuple[float, np.ndarray, bool]]:
            """Yield the pending frame for every instant before ``until`` (it was on screen then)."""
            nonlocal next_k
            assert pending is not None and fps is not None
            pt, pframe = pending
            rgb = None
            while next_k / fps < until - 1e-9:
                rgb = pframe.to_ndarray(width=out_w, height=out_h, format="rgb24") if rgb is None else rgb
                yield pt, rgb, True
                next_k += 1
            if rgb is None and every_frame:
                yield pt, pframe.to_ndarray(width=out_w, height=out_h, format="rgb24"), False

        try:
            for frame in container.decode(stream):
                t = frame.pts * tb if frame.pts is not None else index / info.fps
                if start is None:
                    start = t
                t -= start
                index += 1
                if fps is None:
                    yield t, frame.to_ndarray(width=out_w, height=out_h, format="rgb24"), True
                    continue
                if pending is not None:
                    yield from emit(t)  # instants before this frame's time showed the previous frame
                pending = (t, frame)
            if pending is not None and fps is not None:
                yield from emit(pending[0] + 1.0 / info.fps)  # the last frame stays up one frame period
        except av.error.FFmpegError as e:
            if damage is None:
                raise BadInput(f"video is damaged or truncated after {index} frames ({e})", path) from None
            damage.append(f"damaged or truncated after {index} frames ({e})")
    finally:
        container.close()


def decode(path: str | os.PathLike[str], fps: float | None = None, size: int | tuple[int, int] | None = None,
           max_frames: int | None = None) -> Frames:
    """Decode a whole video into memory: (T, 3, H, W) uint8 frames sampled at ``fps`` and their times."""
    times: list[float] = []
    frames: list[np.ndarray] = []
    for t, rgb, _ in iter_frames(path, fps=fps, size=size):
        times.append(t)
        frames.append(rgb)
        if max_frames is not None and len(frames) >= max_frames:
            break
    info = probe(path)
    if not frames:
        raise BadInput("no frames could be decoded", path)
    data = np.stack(frames).transpose(0, 3, 1, 2)
    return Frames(np.ascontiguousarray(data), np.asarray(times, dtype=np.float64), info)


def list_videos(inputs: list[Path]) -> list[Path]:
    """Video files named directly, plus the video files inside named folders (sorted)."""
    out: list[Path] = []
    for p in inputs:
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.suffix.lower() in VIDEO_SUFFIXES and q.is_file())
            if not found:
                raise BadInput(f"no video files ({', '.join(VIDEO_SUFFIXES[:4])}, ...) in this folder", p)
            out.extend(found)
        elif p.exists():
            out.append(p)
        else:
            raise BadInput("no such file or folder", p)
    return out


def write_video(path: str | os.PathLike[str], frames: np.ndarray, fps: float, codec: str = "mpeg4",
                quality: int = 2) -> None:
    """Encode (T, H, W, 3) uint8 RGB frames as a video (demo data and tests); written atomically."""
    import fractions

    import av

    from wsl.io import atomic_open

    frames = np.asarray(frames, dtype=np.uint8)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be (T, H, W, 3), got {frames.shape}")
    path = Path(path)
    with atomic_open(path, "wb") as f:
        container = av.open(f, mode="w", format=path.suffix.lstrip(".") or "mp4")
        stream: Any = container.add_stream(codec, rate=fractions.Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        if codec == "mpeg4":  # near-lossless, so tests can read pixel values back
            stream.options = {"qscale": str(quality)}
        for rgb in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
        container.close()
