"""Metrics for per-frame action labels (Bojanowski et al. 2014): frame accuracy and IoU/Jaccard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from wsl.data.segments import BACKGROUND


def frame_accuracy(pred: Mapping[str, Sequence[str]], gold: Mapping[str, Sequence[str]]) -> float:
    """Share of frames, over all videos, whose predicted label equals the gold one.

    A video whose prediction is longer or shorter than its gold labels is compared on the common
    prefix and the difference counts as errors.
    """
    right = total = 0
    for vid, g in gold.items():
        p = pred.get(vid, [])
        n = min(len(p), len(g))
        right += int(np.sum(np.asarray(p[:n], dtype=object) == np.asarray(g[:n], dtype=object)))
        total += max(len(p), len(g))
    return right / total if total else 0.0


def mean_iou(pred: Mapping[str, Sequence[str]], gold: Mapping[str, Sequence[str]],
             background: str | None = BACKGROUND) -> float:
    """Jaccard measure of Bojanowski et al. 2014: per video and per action class present in the gold
    labels or in the prediction (background excluded), |pred ∩ gold| / |pred ∪ gold| over frames,
    averaged over (video, class) pairs."""
    scores: list[float] = []
    for vid, g in gold.items():
        p = np.asarray(list(pred.get(vid, [])), dtype=object)
        g = np.asarray(list(g), dtype=object)
        n = min(len(p), len(g))
        p, g = p[:n], g[:n]
        for c in set(g.tolist()) | set(p.tolist()):
            if c == background:
                continue
            inter = np.sum((p == c) & (g == c))
            union = np.sum((p == c) | (g == c))
            scores.append(inter / union if union else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def action_metrics(pred: Mapping[str, Sequence[str]], gold: Mapping[str, Sequence[str]],
                   background: str | None = BACKGROUND) -> dict[str, float]:
    """``frame_accuracy``, ``mean_iou``, and the number of videos and frames compared."""
    return {"frame_accuracy": frame_accuracy(pred, gold), "mean_iou": mean_iou(pred, gold, background),
            "videos": len(gold), "frames": int(sum(len(g) for g in gold.values()))}
