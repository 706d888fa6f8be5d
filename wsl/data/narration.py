"""One narration reader for every command that learns from narrated video (discover-steps, milnce).

A narration is a video's timed speech, read into one caption type whatever the file:

    .csv    HowTo100M caption CSV: a header with start,end,text (seconds); bad rows are skipped and
            recorded with their line (``Narration.skipped``), as :func:`wsl.data.howto100m.read_captions` does
    .srt    SubRip subtitles         .vtt   WebVTT subtitles   (parsed by :mod:`wsl.text.subtitles`)
    .json   a list of {"start", "end", "text"} (or {"narration": [...]} / {"cues": [...]})

Every caption keeps its source line (CSV row, subtitle timing line, JSON entry number), so an output
row can be traced back to the file. :func:`check_timing` is the shared sanity check of a narration
against the video it narrates (fps implausible, features that do not cover the video's duration,
captions past the video's end): both commands call it, so a wrong fps is caught the same way.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wsl.data.howto100m import Caption, read_captions
from wsl.errors import BadInput
from wsl.io import load_json

NARRATION_SUFFIXES = (".srt", ".vtt", ".csv", ".json")
# Feature or frame rates above this are not a video's: a sign of a wrong --fps or index.json.
MAX_FPS = 240.0
# Seconds a narration may run past the end of the features (captions run on over the end card).
DEFAULT_SLACK = 10.0


@dataclass(frozen=True)
class Narration:
    """A video's captions in time order, where they came from and the rows that were skipped.

    Attribute names match :class:`wsl.data.howto100m.CaptionFile`, so code written for caption CSVs
    reads any narration file unchanged.
    """

    video: str
    path: str
    captions: tuple[Caption, ...]
    format: str = "csv"
    encoding: str = "utf-8"
    skipped: tuple[tuple[int, str], ...] = field(default_factory=tuple)

    @property
    def end(self) -> float:
        """When the last caption ends (0 without captions)."""
        return max((c.end for c in self.captions), default=0.0)

    duration = end  # CaptionFile's name for the same figure


def _json_captions(data: Any, path: Path) -> tuple[list[Caption], list[tuple[int, str]]]:
    items = data.get("narration", data.get("cues")) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise BadInput('narration JSON must be a list of {"start", "end", "text"} (or {"narration": [...]})', path)
    out: list[Caption] = []
    skipped: list[tuple[int, str]] = []
    for i, it in enumerate(items, start=1):
        try:
            start, end, text = float(it["start"]), float(it["end"]), " ".join(str(it["text"]).split())
        except (KeyError, TypeError, ValueError):
            raise BadInput(f"narration entry {i} needs numeric start, end and a text", path) from None
        if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end < start:
            raise BadInput(f"narration entry {i}: start/end must be finite seconds with 0 <= start <= end "
                           f"(got {start}, {end})", path)
        if text:
            out.append(Caption(start, end, text, i))
    return out, skipped


def read_narration(path: str | os.PathLike[str], video: str | None = None) -> Narration:
    """Read one narration file (.csv, .srt, .vtt, .json) into time-ordered captions."""
    p = Path(path)
    suffix = p.suffix.lower()
    video = video or p.stem
    skipped: list[tuple[int, str]] = []
    if suffix in (".srt", ".vtt"):
        from wsl.text.subtitles import read_subtitles

        sub = read_subtitles(p)
        caps = [Caption(c.start, c.end, " ".join(" ".join(c.lines).split()), int(c.line or 0)) for c in sub.cues]
        caps = [c for c in caps if c.text]
        fmt, enc = sub.format, sub.encoding
    elif suffix == ".csv":
        cf = read_captions(p, video)
        caps, skipped, fmt, enc = list(cf.captions), list(cf.skipped), "csv", cf.encoding
    elif suffix == ".json":
        caps, skipped = _json_captions(load_json(p), p)
        fmt, enc = "json", "utf-8"
    else:
        raise BadInput(f"not a narration file: expected one of {', '.join(NARRATION_SUFFIXES)}", p)
    caps.sort(key=lambda c: (c.start, c.end))
    return Narration(video, str(p), tuple(caps), fmt, enc, tuple(skipped))


def narration_files(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """``video id -> narration file`` for every narration in ``folder`` (index.json is not one).

    Two narrations of one video (``a.srt`` and ``a.csv``) are an error: which one is meant is unclear.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInput("not a folder of narration files (.csv/.srt/.vtt/.json)", folder)
    out: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in NARRATION_SUFFIXES and p.name != "index.json":
            if p.stem in out:
                raise BadInput(f"two narrations for video {p.stem!r} ({out[p.stem].name}, {p.name}); keep one", folder)
            out[p.stem] = p
    return out


def read_narration_dir(folder: str | os.PathLike[str], videos: Iterable[str] | None = None) -> dict[str, Narration]:
    """Every narration in ``folder`` (or just those of ``videos``), keyed by video id, sorted."""
    files = narration_files(folder)
    if videos is not None:
        wanted = list(videos)
        missing = [v for v in wanted if v not in files]
        if missing:
            raise BadInput(f"no narration for video(s) {', '.join(missing[:5])}", folder)
        files = {v: files[v] for v in wanted}
    if not files:
        raise BadInput("no narration files (.csv/.srt/.vtt/.json) in this folder", folder)
    return {v: read_narration(p, v) for v, p in files.items()}


def check_timing(narration: Narration | None = None, *, fps: float | None = None, rows: int | None = None,
                 duration: float | None = None, slack: float = DEFAULT_SLACK,
                 path: str | os.PathLike[str] | None = None) -> float | None:
    """Check a narration against its video; returns the seconds the video is known to cover, or None.

    - ``fps`` must be a plausible frame/feature rate (0 < fps <= ``MAX_FPS``);
    - ``rows`` feature rows at ``fps`` must match ``duration`` (2 rows or 2 % of tolerance);
    - the narration must not run more than ``slack`` seconds past the video's end (``duration``, else
      ``rows / fps``): captions at 5,000 s in a 55 s video mean a wrong fps, a truncated file or the
      captions of another video.

    Raises :class:`BadInput` naming ``path`` (the feature or video file) on a violation.
    """
    if fps is not None:
        if not math.isfinite(fps) or fps <= 0:
            raise BadInput(f"`fps` must be a positive number, got {fps}", path, param="fps")
        if fps > MAX_FPS:
            raise BadInput(f"fps {fps:g} is implausible (more than {MAX_FPS:g} frames per second): check fps "
                           "(`fps`) or the feature stride", path, param="fps")
    if duration is not None and (not math.isfinite(duration) or duration < 0):
        raise BadInput(f"duration must be non-negative seconds, got {duration}", path)
    if rows is not None and fps is not None and duration is not None:
        expected = duration * fps
        if abs(rows - expected) > max(2.0, 0.02 * expected):
            raise BadInput(f"{rows} feature rows, but the video lasts {duration:g} s at {fps:g} fps "
                           f"(about {expected:.0f} rows expected): wrong fps or a truncated file", path)
    covered = duration if duration is not None else (rows / fps if rows is not None and fps else None)
    if narration is not None and covered is not None and narration.end > covered + slack:
        where = Path(narration.path).name if narration.path else narration.video
        raise BadInput(f"the video covers {covered:.1f} s, but its narration {where} runs to {narration.end:.1f} s: "
                       "wrong fps, a truncated file or another video's captions", path)
    return covered
