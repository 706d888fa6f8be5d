"""Metrics for per-frame action labels (Bojanowski et al. 2014): frame accuracy and IoU/Jaccard."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from wsl.data.segments import BACKGROUND
from wsl.errors import BadInput


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
    for vid, g_seq in gold.items():
        p = np.asarray(list(pred.get(vid, [])), dtype=object)
        g = np.asarray(list(g_seq), dtype=object)
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


def evaluate_actions(predictions: str | os.PathLike[str] | Mapping[str, Sequence[str]],
                     gold: str | os.PathLike[str], *, fps: float | None = None,
                     mapping: str | os.PathLike[str] | None = None,
                     background: str | None = None) -> dict[str, float]:
    """Score saved label-actions output (its JSON, or {video: frames}) against ground truth: an MS-TCN
    folder of ``<video>.txt`` files or a COIN JSON file (sampled at ``fps``, default each video's
    frame count over its duration). ``background`` names the gold files' no-action label (e.g. SIL)."""
    from wsl.data.transcripts import read_ground_truth

    if isinstance(predictions, Mapping):
        pred = {str(v): list(f) for v, f in predictions.items()}
    else:
        from wsl.io import load_json

        data: Any = load_json(predictions)
        videos = data.get("videos") if isinstance(data, dict) else None
        if not isinstance(videos, dict) or not all(isinstance(v, dict) and isinstance(v.get("frames"), list)
                                                   for v in videos.values()):
            raise BadInput('expected label-actions output: {"videos": {video: {"frames": [...]}}}', predictions)
        pred = {str(v): list(d["frames"]) for v, d in videos.items()}
    truth = read_ground_truth(gold, sorted(pred), {v: len(f) for v, f in pred.items()}, fps, mapping, background)
    return action_metrics(pred, truth)
