"""Ordering chains (Bojanowski et al. 2014): what a video's path of states may be.

A :class:`Chain` is a left-to-right path of states, e.g. [bg, a1, bg, a2, ..., aL, bg] for a transcript
(:func:`ordering_chain`): every listed action gets at least one frame (or ``min_length``), in order,
background optional between. The exact oracle over them (the cheapest path) is
:mod:`wsl.solvers.chain_oracle`, its soft counterpart (posteriors over the paths)
:mod:`wsl.solvers.chain_posteriors`; both read the per-state tables of :func:`chain_tables`. Infeasible
chains raise :class:`~wsl.errors.BadInput` naming the video.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wsl.errors import BadInput


# ---------------------------------------------------------------------------------------------
# Ordering (a chain of states)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Chain:
    """A left-to-right path of states: each state's label, whether it may be skipped (optional),
    and whether the path may stay on it for more than one frame. A path starts at the first
    non-skipped state, moves to the next state or (over one optional state) the one after."""

    labels: np.ndarray  # (S,) int
    optional: np.ndarray  # (S,) bool
    stay: np.ndarray  # (S,) bool

    @property
    def min_frames(self) -> int:
        return int((~self.optional).sum())


def ordering_chain(transcript: Sequence[int], background: int | None = 0, min_length: int | Sequence[int] = 1,
                   gaps: bool = True) -> Chain:
    """The chain [bg, a1, bg, a2, ..., aL, bg] of a transcript (bg states optional).

    ``background=None`` or ``gaps=False``: no background states (a1, a2, ... back to back).
    A transcript entry equal to ``background`` is a required background segment. ``min_length``
    (one int, or one per transcript entry) expands an action into that many states, so each
    segment lasts at least that many frames, still exactly and in O(T S).
    """
    if len(transcript) == 0:
        raise ValueError("empty transcript")
    mins = ([int(min_length)] * len(transcript) if isinstance(min_length, (int, np.integer))
            else [int(m) for m in min_length])
    if len(mins) != len(transcript) or min(mins) < 1:
        raise ValueError("min_length must be >= 1, one value or one per transcript entry")
    labels: list[int] = []
    optional: list[bool] = []
    stay: list[bool] = []
    use_bg = background is not None and gaps

    def bg() -> None:
        labels.append(int(background))  # type: ignore[arg-type]
        optional.append(True)
        stay.append(True)

    for a, m in zip(transcript, mins, strict=True):
        if use_bg:
            bg()
        labels.extend([int(a)] * m)
        optional.extend([False] * m)
        stay.extend([False] * (m - 1) + [True])
    if use_bg:
        bg()
    return Chain(np.array(labels, dtype=np.int64), np.array(optional), np.array(stay))


def chain_tables(chains: Sequence[Chain], S: int) -> dict[str, np.ndarray]:
    """Per-state tables (V, S) of chains padded to S states: ``lab`` (class), ``n`` (states), ``stay``,
    ``skip`` (may enter s from s-2: s-1 optional), ``can_start``, ``can_end``."""
    V = len(chains)
    t = {"lab": np.zeros((V, S), dtype=np.int64), "stay": np.zeros((V, S), dtype=bool),
         "skip": np.zeros((V, S), dtype=bool), "can_start": np.zeros((V, S), dtype=bool),
         "can_end": np.zeros((V, S), dtype=bool), "n": np.array([len(ch.labels) for ch in chains], dtype=np.int64)}
    for v, ch in enumerate(chains):
        n = len(ch.labels)
        t["lab"][v, :n] = ch.labels
        t["stay"][v, :n] = ch.stay
        t["skip"][v, 2:n] = ch.optional[1: n - 1]
        t["can_start"][v, 0] = t["can_end"][v, n - 1] = True
        if n >= 2 and ch.optional[0]:
            t["can_start"][v, 1] = True
        if n >= 2 and ch.optional[n - 1]:
            t["can_end"][v, n - 2] = True
    return t


def check_chain_lengths(lengths: Sequence[int], chains: Sequence[Chain], n_classes: int,
                        names: Sequence[str] | None = None) -> None:
    """Every video long enough for its chain, every chain label a class (BadInput names the video)."""
    if len(lengths) != len(chains):
        raise ValueError(f"{len(lengths)} videos for {len(chains)} chains")
    for v, (n, ch) in enumerate(zip(lengths, chains, strict=True)):
        if n < ch.min_frames:
            name = names[v] if names is not None else f"#{v}"
            raise BadInput(f"video {name}: its transcript needs at least {ch.min_frames} frames "
                           f"but the video has {n}")
        if int(ch.labels.max()) >= n_classes:
            raise ValueError(f"chain label {int(ch.labels.max())} outside the cost's {n_classes} classes")


def check_chain_costs(costs: Sequence[np.ndarray], chains: Sequence[Chain], names: Sequence[str] | None) -> None:
    """:func:`check_chain_lengths` for a batch of cost matrices (T_v, K)."""
    check_chain_lengths([c.shape[0] for c in costs], chains, min((c.shape[1] for c in costs), default=0), names)
