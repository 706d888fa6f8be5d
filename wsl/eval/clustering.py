"""Metrics for naming samples from bags (Bojanowski et al. 2013): accuracy and the curve of accuracy
against the share of samples labelled, most confident first."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def accuracy(pred: Sequence[str], gold: Sequence[str]) -> float:
    """Share of samples whose label equals the gold one."""
    if len(pred) != len(gold):
        raise ValueError(f"{len(pred)} predictions for {len(gold)} gold labels")
    return float(np.mean(np.asarray(pred, dtype=object) == np.asarray(gold, dtype=object))) if gold else 0.0


def accuracy_curve(pred: Sequence[str], gold: Sequence[str], confidence: Sequence[float],
                   shares: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
                   ) -> list[dict[str, float]]:
    """Accuracy over the most confident ``share`` of the samples, for each share (ties broken by index)."""
    order = np.argsort(-np.asarray(confidence, dtype=np.float64), kind="stable")
    right = np.asarray(pred, dtype=object)[order] == np.asarray(gold, dtype=object)[order]
    out = []
    for s in shares:
        n = max(1, int(round(s * len(order))))
        out.append({"share": float(s), "samples": n, "accuracy": float(right[:n].mean())})
    return out


def average_precision_of_curve(curve: Sequence[dict[str, float]]) -> float:
    """The mean accuracy over the curve's points: one number that rewards well-ordered confidence."""
    return float(np.mean([p["accuracy"] for p in curve])) if curve else 0.0
