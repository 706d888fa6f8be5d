"""Retrieval metrics: text-to-video R@K and median rank; zero-shot step localisation recall (CrossTask style)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

import numpy as np

K = TypeVar("K", bound=Hashable)


def ranks_of_gold(scores: np.ndarray, gold: Sequence[int] | np.ndarray) -> np.ndarray:
    """1-based rank of ``gold[q]`` among row q of ``scores`` (Q, N); ties count against the gold item."""
    scores = np.asarray(scores, dtype=np.float64)
    gold = np.asarray(gold, dtype=np.int64)
    if scores.ndim != 2 or gold.shape != (scores.shape[0],):
        raise ValueError(f"scores (Q, N) and gold (Q,) expected, got {scores.shape} and {gold.shape}")
    g = scores[np.arange(len(gold)), gold][:, None]
    # Items scoring at least as high as the gold one (itself included): a tie is not a win.
    return (scores >= g).sum(axis=1)


def retrieval_metrics(scores: np.ndarray, gold: Sequence[int] | np.ndarray,
                      ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """R@K (share of queries whose gold item is in the top K) and median rank, from a (Q, N) score matrix."""
    r = ranks_of_gold(scores, gold)
    out = {f"R@{k}": float(np.mean(r <= k)) for k in ks}
    out["median_rank"] = float(np.median(r))
    out["queries"] = int(len(r))
    return out


def step_localisation_recall(window_times: np.ndarray, scores: np.ndarray, intervals: np.ndarray) -> dict[str, float]:
    """Zero-shot step localisation per annotated segment (the per-segment figure; see ``step_recall``).

    ``scores`` (S, W): each step sentence against the W windows of its video (middle times
    ``window_times`` (W,)); ``intervals`` (S, 2): the step's annotated [start, end]. A step is found when
    its best-scoring window's middle falls inside its interval; recall = found / steps.
    """
    scores = np.asarray(scores)
    intervals = np.asarray(intervals, dtype=np.float64).reshape(-1, 2)
    if scores.shape[0] == 0:
        return {"found": 0, "steps": 0}
    t = np.asarray(window_times, dtype=np.float64)[np.argmax(scores, axis=1)]
    found = (t >= intervals[:, 0]) & (t <= intervals[:, 1])
    return {"found": int(found.sum()), "steps": int(len(found))}


def step_recall(predicted: Mapping[K, float], annotated: Mapping[K, Sequence[tuple[float, float]]]
                ) -> dict[str, float]:
    """Step localisation recall per (video, step), as CrossTask counts it.

    ``annotated[(video, step)]``: the annotated intervals of that step in that video (a step done twice
    has two); ``predicted[(video, step)]``: the one time predicted for it. A (video, step) is found when
    its time falls inside any of its intervals; recall = found / annotated (video, step) pairs (a pair
    with no prediction counts as missed).
    """
    found = 0
    for key, spans in annotated.items():
        t = predicted.get(key)
        found += t is not None and any(a <= t <= b for a, b in spans)
    n = len(annotated)
    return {"found": found, "steps": n, "recall": found / n if n else 0.0}
