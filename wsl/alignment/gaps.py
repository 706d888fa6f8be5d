"""Short lines the word alignment could not hold, placed by the script's turn order.

Subtitles condense speech: "Oh, hi Penny." becomes "," or nothing, "Oh, right, right right right
right." becomes "right, right.". Such a block matches too few words to pass ``min_confidence`` (or
none at all), yet its place is known: between its aligned neighbours in the script, there is a
subtitle turn nobody holds. Each still-unaligned block between two aligned ones takes the next free
turn between them whose words are a subsequence of its own words (the subtitle dropped the rest),
provided at most ``max_unheard`` of its words are missing from the turn: a long line reduced to one
word or to punctuation is more likely cut from the film, and one common word ("John.") is no
evidence for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wsl.alignment.spans import SubToken
from wsl.text.subtitles import SubtitleFile, Turn

__all__ = ["TurnSlot", "turn_slots", "fill_gaps"]


@dataclass(frozen=True)
class TurnSlot:
    """A speaker turn of a cue: its subtitle tokens ``[lo, hi)`` (empty when only punctuation is left)
    and its estimated time inside the cue."""

    cue: int
    turn: int
    lo: int
    hi: int
    t0: float
    t1: float


def turn_slots(subs: SubtitleFile, cleaned: list[tuple[str, list[Turn]]], tokens: list[SubToken]) -> list[TurnSlot]:
    """Every turn of every cue in file order, with its token range and time (spread over characters)."""
    first: dict[tuple[int, int], int] = {}
    count: dict[tuple[int, int], int] = {}
    for j, t in enumerate(tokens):
        first.setdefault((t.cue, t.turn), j)
        count[(t.cue, t.turn)] = count.get((t.cue, t.turn), 0) + 1
    out: list[TurnSlot] = []
    nxt = 0
    for c, (text, turns) in enumerate(cleaned):
        cue = subs.cues[c]
        dur = max(cue.end - cue.start, 0.0)
        for t_idx, turn in enumerate(turns):
            key = (c, t_idx)
            lo = first.get(key, nxt)
            hi = lo + count.get(key, 0)
            nxt = hi
            n = max(1, len(text))
            out.append(TurnSlot(c, t_idx, lo, hi, cue.start + dur * turn.offset / n,
                                cue.start + dur * (turn.offset + len(turn.text)) / n))
    return out


def _subsequence(needle: list[str], hay: list[str]) -> list[int] | None:
    """Positions in ``hay`` of the words of ``needle`` in order (first fit), or None."""
    pos: list[int] = []
    k = 0
    for w in needle:
        while k < len(hay) and hay[k] != w:
            k += 1
        if k == len(hay):
            return None
        pos.append(k)
        k += 1
    return pos


def fill_gaps(blocks: dict[int, tuple[int, int]], aligned: set[int], a_words: list[str], b_words: list[str],
              a_to_b: np.ndarray, b_to_a: np.ndarray, slots: list[TurnSlot], max_unheard: int
              ) -> dict[int, TurnSlot]:
    """Place unaligned blocks lying between aligned ones on free turns between those (see the module).

    ``aligned``: the blocks that keep their alignment. The words of a placed turn are matched to the
    block's words (a_to_b/b_to_a updated in place). Returns block -> the turn it was placed on.
    """
    order = sorted(blocks)
    slot_of_token = np.zeros(len(b_words), dtype=np.int64)
    for s_idx, s in enumerate(slots):
        slot_of_token[s.lo:s.hi] = s_idx
    placed: dict[int, TurnSlot] = {}
    k = 0
    while k < len(order):
        if order[k] in aligned:
            k += 1
            continue
        g = k
        while g < len(order) and order[g] not in aligned:
            g += 1
        gap, before, k = order[k:g], k - 1, g
        if before < 0 or g == len(order):
            continue  # the film's edges: nothing bounds the search
        p_lo, p_hi = blocks[order[before]]
        n_lo, n_hi = blocks[order[g]]
        p_held, n_held = a_to_b[p_lo:p_hi], a_to_b[n_lo:n_hi]
        j_prev, j_next = int(p_held[p_held >= 0].max()), int(n_held[n_held >= 0].min())
        if j_prev >= j_next:
            continue  # crossing neighbours (a moved scene): no order to go by
        s_from = int(slot_of_token[j_prev]) + 1
        s_to = int(slot_of_token[j_next])
        free = [s for s in slots[s_from:s_to] if not (b_to_a[s.lo:s.hi] >= 0).any()]
        q = 0
        for e in gap:
            lo, hi = blocks[e]
            words = a_words[lo:hi]
            for r in range(q, len(free)):
                s = free[r]
                turn_words = b_words[s.lo:s.hi]
                if len(words) - len(turn_words) > max_unheard:
                    continue
                pos = _subsequence(turn_words, words)
                if pos is None:
                    continue
                held = a_to_b[lo:hi]
                b_to_a[held[held >= 0]] = -1  # a few matches the rescue pass left under the threshold
                a_to_b[lo:hi] = -1
                for off, j in zip(pos, range(s.lo, s.hi), strict=True):
                    a_to_b[lo + off] = j
                    b_to_a[j] = lo + off
                placed[e] = s
                q = r + 1
                break
    return placed


def attach_leading(blocks: dict[int, tuple[int, int]], aligned: set[int], a_words: list[str], b_words: list[str],
                   a_to_b: np.ndarray, b_to_a: np.ndarray, slots: list[TurnSlot], taken: set[tuple[int, int]],
                   max_gap_s: float) -> dict[int, TurnSlot]:
    """An aligned block whose first words went unmatched ("Oh. Okay, but ...", the subtitles kept "."
    in a cue of its own) starts at the free turn just before its first matched turn, when that turn's
    words are a subsequence of those first words and it ends at most ``max_gap_s`` before.

    ``taken``: turns already given to blocks placed by order. Returns block -> the turn it now starts on.
    """
    slot_of_token = np.zeros(len(b_words), dtype=np.int64)
    for s_idx, slot in enumerate(slots):
        slot_of_token[slot.lo:slot.hi] = s_idx
    out: dict[int, TurnSlot] = {}
    floor = -1  # slot of the previous aligned block's last matched word
    for e in sorted(blocks):
        if e not in aligned:
            continue
        lo, hi = blocks[e]
        held = np.flatnonzero(a_to_b[lo:hi] >= 0)
        if not len(held):
            continue
        first_i, lead = lo + int(held[0]), int(held[0])
        j0 = int(a_to_b[first_i])
        s = int(slot_of_token[j0])
        prev_floor, floor = floor, int(slot_of_token[int(a_to_b[lo + int(held[-1])])])
        if not lead or j0 != slots[s].lo or s - 1 <= prev_floor:
            continue
        cand = slots[s - 1]
        if (cand.cue, cand.turn) in taken or (b_to_a[cand.lo:cand.hi] >= 0).any():
            continue
        if slots[s].t0 - cand.t1 > max_gap_s:
            continue
        pos = _subsequence(b_words[cand.lo:cand.hi], a_words[lo:first_i])
        if pos is None:
            continue
        for off, j in zip(pos, range(cand.lo, cand.hi), strict=True):
            a_to_b[lo + off] = j
            b_to_a[j] = lo + off
        out[e] = cand
    return out
