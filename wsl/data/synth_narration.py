"""Narrations generated from annotated steps, for the video-stage benchmark of `wsl discover-steps`.

Real narration is loose about time and content (Alayrac et al. 2016; Miech et al. 2019): a step is
announced before it is done, commented on while or after it is done, often not mentioned at all,
and things are mentioned that are never done. The model used here, per step of the task:

- the step is done in the video (its first segment [a, b]): narrated with probability ``p_narrate``;
  the 3-second narration starts ``U(0, lag)`` s before a with probability 0.5 (announced), at a
  uniform time inside [a, b] with probability 0.3 (while doing it), ``U(0, lag)`` s after b with
  probability 0.2 (commented afterwards);
- the step is not done: narrated anyway, at a uniform time, with probability ``p_false``.

The narrated steps are then kept in the task's order (a longest increasing run by time), since the
text stage aligns narrations to the ordered template monotonically and drops the others.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wsl.data.segments import ActionVideo, Segment

Span = tuple[float, float] | None
SPOKEN = 3.0  # seconds one narrated sentence lasts


def canonical_steps(videos: Sequence[ActionVideo], min_videos: int = 1, max_steps: int | None = None) -> list[str]:
    """The task's steps in their usual order: sorted by mean relative position of their first
    occurrence in the videos that contain them; steps in fewer than ``min_videos`` videos are left
    out, and only the ``max_steps`` most frequent are kept."""
    pos: dict[str, list[float]] = {}
    for v in videos:
        seen: set[str] = set()
        for s in v.segments:
            if s.label not in seen:
                seen.add(s.label)
                pos.setdefault(s.label, []).append((s.start + s.end) / 2 / max(v.duration, 1e-9))
    keep = sorted((lab for lab, p in pos.items() if len(p) >= min_videos), key=lambda lab: (-len(pos[lab]), lab))
    keep = keep[:max_steps] if max_steps is not None else keep
    return sorted(keep, key=lambda lab: (float(np.mean(pos[lab])), lab))


def _longest_ordered(times: list[tuple[int, float]]) -> set[int]:
    """Steps (index, time) forming the longest run increasing both in step index and in time."""
    if not times:
        return set()
    times = sorted(times)
    n = len(times)
    best = [1] * n
    prev = [-1] * n
    for i in range(n):
        for j in range(i):
            if times[j][1] <= times[i][1] and best[j] + 1 > best[i]:
                best[i], prev[i] = best[j] + 1, j
    i = int(np.argmax(best))
    keep = set()
    while i >= 0:
        keep.add(times[i][0])
        i = prev[i]
    return keep


def narrate(video: ActionVideo, steps: Sequence[str], rng: np.random.Generator, p_narrate: float = 0.7,
            p_false: float = 0.1, lag: float = 8.0, ordered: bool = True) -> list[Span]:
    """Per step, the (start, end) seconds at which it is narrated in ``video``, or None.

    ``ordered`` keeps only the longest run of narrations in the canonical step order (a text stage
    that forces one order on every video); ``ordered=False`` keeps every narration."""
    first: dict[str, Segment] = {}
    for s in video.segments:
        first.setdefault(s.label, s)
    out: list[Span] = []
    for lab in steps:
        seg = first.get(lab)
        if seg is not None:
            if rng.random() >= p_narrate:
                out.append(None)
                continue
            u = rng.random()
            if u < 0.5:
                t = seg.start - rng.uniform(0, lag)
            elif u < 0.8:
                t = rng.uniform(seg.start, max(seg.end, seg.start))
            else:
                t = seg.end + rng.uniform(0, lag)
        elif rng.random() < p_false:
            t = rng.uniform(0, video.duration)
        else:
            out.append(None)
            continue
        t = float(min(max(t, 0.0), max(video.duration - SPOKEN, 0.0)))
        out.append((t, min(t + SPOKEN, video.duration)))
    if not ordered:
        return out
    keep = _longest_ordered([(k, s[0]) for k, s in enumerate(out) if s is not None])
    return [s if k in keep else None for k, s in enumerate(out)]
