"""From a dialogue block's matched subtitle words to its interval, and intervals for everything else.

A block's start and end come from its first and last matched subtitle words, after three
corrections: an isolated match at either edge, far in time from the block's other matches, is a
common word matched elsewhere in the film and is dropped (it stretched short lines over 50-100 s);
the block's unmatched edge words are laid over the unmatched subtitle words of the same cue turn
(they were reworded); and words with no subtitle word at all get time of their own (``word_seconds``
each) without crossing into the neighbouring cues. ``start`` is the estimated speech onset (time
is spread over a cue's characters, so the second speaker of a dash cue starts partway through);
``cue_start``/``cue_end`` are the bounds of the cues that carry the block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from wsl.alignment.options import SpanRules
from wsl.text.subtitles import SubtitleFile
from wsl.text.wordalign import run_lengths

__all__ = ["SubToken", "BlockSpan", "trim_edges", "block_span", "interpolate"]


class SubToken(NamedTuple):
    """A subtitle word: its normalised form, cue (position in the file), speaker turn and time (a named
    tuple, built once per subtitle word)."""

    norm: str
    cue: int
    turn: int
    t0: float
    t1: float


@dataclass(frozen=True)
class BlockSpan:
    first: int  # first subtitle token the block covers
    last: int
    start: float
    end: float
    cue_start: float
    cue_end: float


def trim_edges(a_to_b: np.ndarray, b_to_a: np.ndarray, lo: int, hi: int, tokens: list[SubToken],
               gap_s: float) -> int:
    """Drop stray matches at the edges of block ``[lo, hi)``: a few matches (at most 3, or a quarter of
    the block's) lying more than ``gap_s`` from the next match inwards, with no run of 3 consecutive
    words among them (common words matched elsewhere: "a ... to" 26 s before a moved speech). Updates
    both maps; returns how many were dropped."""
    dropped = 0
    for side in (0, 1):
        idx = lo + np.flatnonzero(a_to_b[lo:hi] >= 0)
        if side:
            idx = idx[::-1]
        limit = max(3, len(idx) // 4)
        for k in range(min(limit, len(idx) - 1)):
            here, there = tokens[int(a_to_b[idx[k]])], tokens[int(a_to_b[idx[k + 1]])]
            if (there.t0 - here.t1 if not side else here.t0 - there.t1) <= gap_s:
                continue
            cluster = np.sort(idx[:k + 1])
            pairs = np.stack([cluster, a_to_b[cluster]], axis=1)
            if len(cluster) >= 3 and int(run_lengths(pairs).max()) >= 3:
                break  # real speech, said after a pause
            b_to_a[a_to_b[cluster]] = -1
            a_to_b[cluster] = -1
            dropped += len(cluster)
            break
    return dropped


def _extend(j: int, unmatched: int, step: int, tokens: list[SubToken], b_to_a: np.ndarray) -> tuple[int, int]:
    """Move from a block's first (last) matched subtitle word over as many unmatched words as the block
    has unmatched words before (after) it, staying in the same cue turn: those are its reworded words.
    Returns the new position and how many of the block's words found no subtitle word to stand on."""
    cue, turn = tokens[j].cue, tokens[j].turn
    left = unmatched
    while left:
        k = j + step
        if k < 0 or k >= len(tokens) or b_to_a[k] >= 0 or tokens[k].cue != cue or tokens[k].turn != turn:
            break
        j = k
        left -= 1
    return j, left


def block_span(a_to_b: np.ndarray, b_to_a: np.ndarray, lo: int, hi: int, tokens: list[SubToken],
               subs: SubtitleFile, prev_end: float, rules: SpanRules) -> BlockSpan:
    """The interval of block ``[lo, hi)`` (which has at least one match)."""
    js = a_to_b[lo:hi]
    first_i = lo + int(np.argmax(js >= 0))
    last_i = hi - 1 - int(np.argmax(js[::-1] >= 0))
    j_start, lead = _extend(int(a_to_b[first_i]), first_i - lo, -1, tokens, b_to_a)
    j_end, trail = _extend(int(a_to_b[last_i]), hi - 1 - last_i, +1, tokens, b_to_a)
    start, end = tokens[j_start].t0, tokens[j_end].t1
    c0, c1 = tokens[j_start].cue, tokens[j_end].cue
    cues = subs.cues
    # Words of the block that the subtitles left out were still said: allow time for them, but not
    # before the previous cue ends (nor after the next one starts).
    if lead:
        floor = max(cues[c0 - 1].end if c0 > 0 else 0.0, prev_end)
        start = max(min(start, max(floor, start - lead * rules.word_seconds)), 0.0)
    if trail:
        ceil = cues[c1 + 1].start if c1 + 1 < len(cues) else end + trail * rules.word_seconds
        end = max(end, min(ceil, end + trail * rules.word_seconds))
    return BlockSpan(j_start, j_end, start, end, cues[c0].start, cues[c1].end)


def interpolate(records: list[dict[str, Any]], film_end: float) -> None:
    """Non-dialogue elements get the interval between their aligned neighbours (abstained dialogue
    stays null)."""
    prev_end = 0.0
    nexts: list[float | None] = [None] * len(records)
    nxt: float | None = None
    for k in range(len(records) - 1, -1, -1):
        nexts[k] = nxt
        r = records[k]
        if r["type"] == "dialogue" and r["aligned"]:
            nxt = r["start"]
    for k, r in enumerate(records):
        if r["type"] == "dialogue":
            if r["aligned"]:
                prev_end = r["end"]
            continue
        nk = nexts[k]
        end = film_end if nk is None else nk
        r["start"] = round(min(prev_end, end), 3)
        r["end"] = round(end, 3)
        r["interpolated"] = True
