"""Timed action segments -> ordered transcripts and per-frame ground truth.

The common shape of COIN step annotations and Mining-YouTube action cues: a video with a
duration and ordered, labelled [start, end] segments in seconds; frames not covered are background.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

BACKGROUND = "background"


@dataclass(frozen=True)
class Segment:
    """One labelled interval in seconds; ``source`` traces it back (a JSON index or an SRT cue number)."""

    label: str
    start: float
    end: float
    source: int | None = None


@dataclass(frozen=True)
class ActionVideo:
    """A video's ordered action segments and its duration in seconds."""

    video: str
    duration: float
    segments: tuple[Segment, ...]
    task: str | None = None

    @property
    def transcript(self) -> list[str]:
        """The ordered action labels (repeats kept: an action done twice is listed twice)."""
        return [s.label for s in self.segments]

    def frames(self, fps: float, background: str = BACKGROUND) -> list[str]:
        """One label per frame at ``fps``: frame i covers time i / fps; uncovered frames are background.

        Every segment keeps at least one frame (a segment shorter than a frame takes the frame
        nearest its start), so the transcript and the frames always agree.
        """
        n = max(int(round(self.duration * fps)), 1)
        out = np.full(n, background, dtype=object)
        for s in self.segments:
            a = min(int(np.floor(s.start * fps + 0.5)), n - 1)
            b = min(max(int(np.floor(s.end * fps + 0.5)), a + 1), n)
            out[a:b] = s.label
        return list(out)


def frames_to_segments(frames: Iterable[str], background: str | None = BACKGROUND) -> list[dict[str, object]]:
    """Runs of equal labels as ``{"label", "start", "end"}`` frame ranges (end exclusive), background left out."""
    out: list[dict[str, object]] = []
    start = 0
    prev: str | None = None
    i = -1
    for i, lab in enumerate(frames):
        if lab != prev:
            if prev is not None and prev != background:
                out.append({"label": prev, "start": start, "end": i})
            start, prev = i, lab
    if prev is not None and prev != background:
        out.append({"label": prev, "start": start, "end": i + 1})
    return out


def transcript_of(frames: Iterable[str], background: str | None = BACKGROUND) -> list[str]:
    """The ordered list of actions in a per-frame labelling (runs collapsed, background dropped)."""
    return [str(s["label"]) for s in frames_to_segments(frames, background)]
