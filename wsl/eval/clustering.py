"""Metrics for naming samples from bags (Bojanowski et al. 2013): accuracy, the curve of accuracy
against the share of samples labelled (most confident first), and what the bags allow at best (the
identifiability bound, and accuracy measured the same way)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from wsl.errors import BadInput


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


def calibration_error(proba_of_chosen: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Expected calibration error: sum over confidence bins of |accuracy - mean confidence| x share."""
    p = np.asarray(proba_of_chosen, dtype=np.float64)
    c = np.asarray(correct, dtype=np.float64)
    if len(p) == 0:
        return 0.0
    edges = np.minimum((p * bins).astype(int), bins - 1)
    err = 0.0
    for b in range(bins):
        m = edges == b
        if m.any():
            err += abs(c[m].mean() - p[m].mean()) * m.mean()
    return float(err)


def exchangeable_labels(gold: Sequence[str], bags: Sequence[Sequence[int]], bag_labels: Sequence[Sequence[str]]
                         ) -> dict[str, set[str]]:
    """Each listed label -> the labels (itself included) whose names no bag-based method can tell from it.

    Two reasons, both about perfectly clustered samples whose names are chosen from the bags:
    - the labels are listed by exactly the same bags (every bag constraint treats them alike);
    - the label's samples all sit in ONE bag b, and so do the other label's: nothing outside b pins
      either mean, so exchanging the two names inside b keeps every bag satisfied and the same
      likelihood (a label listed by more bags whose samples all sit in b, such as a bag listing an
      absent label, is pinned by no sample outside b either).
    The relation is not transitive (a label whose samples span bags is pinned, though it may share
    its bag list with one that is not), so each label gets its own set rather than a partition.
    """
    listed: dict[str, set[int]] = {}
    for j, need in enumerate(bag_labels):
        for lab in need:
            listed.setdefault(lab, set()).add(j)
    holds: dict[str, set[int]] = {}  # label -> listing bags that hold one of its samples
    for j, rows in enumerate(bags):
        listing = set(bag_labels[j])
        for i in rows:
            if 0 <= i < len(gold) and gold[i] in listing:
                holds.setdefault(gold[i], set()).add(j)
    by_sig: dict[frozenset[int], set[str]] = {}
    for lab, js in listed.items():
        by_sig.setdefault(frozenset(js), set()).add(lab)
    by_bag: dict[int, set[str]] = {}
    for lab, js in holds.items():
        if len(js) == 1:
            by_bag.setdefault(next(iter(js)), set()).add(lab)
    out = {}
    for lab, js in listed.items():
        same = set(by_sig[frozenset(js)])
        if len(holds.get(lab, ())) == 1:
            same |= by_bag[next(iter(holds[lab]))]
        out[lab] = same
    return out


def identifiability_bound(gold: Sequence[str], bags: Sequence[Sequence[int]], bag_labels: Sequence[Sequence[str]],
                          background: str | None = None) -> float:
    """Expected accuracy of a method that clusters perfectly and names each sample at random among the
    labels exchangeable with its true one (:func:`exchangeable_labels`): 1/g for a set of g.
    ``background``: samples of that label (listed by no bag) count as identifiable, background
    being their answer; any other unlisted label scores 0."""
    ex = exchangeable_labels(gold, bags, bag_labels)
    if not gold:
        return 0.0
    return float(np.mean([1.0 / len(ex[g]) if g in ex else float(background is not None and g == background)
                          for g in gold]))


def expected_accuracy(pred: Sequence[str], gold: Sequence[str], bags: Sequence[Sequence[int]],
                      bag_labels: Sequence[Sequence[str]]) -> float:
    """Accuracy with the naming among exchangeable labels taken at random, as in
    :func:`identifiability_bound`: a prediction among the g labels exchangeable with the gold one
    scores 1/g. Raw accuracy swings by whole groups (two names the wrong way round cost both), so
    this is what compares with the bound."""
    if len(pred) != len(gold):
        raise ValueError(f"{len(pred)} predictions for {len(gold)} gold labels")
    ex = exchangeable_labels(gold, bags, bag_labels)
    if not gold:
        return 0.0
    return float(np.mean([(1.0 / len(ex[g]) if p in ex[g] else 0.0) if g in ex else float(p == g)
                          for p, g in zip(pred, gold, strict=True)]))


def evaluate_cluster(predictions: str | os.PathLike[str] | Sequence[str], gold: str | os.PathLike[str] | Sequence[str],
                     confidence: Sequence[float] | None = None) -> dict[str, Any]:
    """Score saved `wsl cluster` output (its JSON, or a list of labels) against gold labels (a JSON list,
    ``{"labels": [...]}`` or one label per line): accuracy, the accuracy-vs-share curve (most
    confident first) and the calibration error of the reported confidences (``confidence`` per sample
    with a list of labels)."""
    from wsl.data.bags import read_sample_labels

    conf: list[float] | None = None
    if isinstance(predictions, (str, os.PathLike)):
        from wsl.io import load_json

        data: Any = load_json(predictions)
        samples = data.get("samples") if isinstance(data, dict) else None
        if not isinstance(samples, list) or not all(isinstance(s, dict) and "label" in s for s in samples):
            raise BadInput('expected `wsl cluster` output: {"samples": [{"label": ...}, ...]}', predictions)
        pred = [str(s["label"]) for s in samples]
        conf = [float(s.get("confidence", 1.0)) for s in samples]
    else:
        pred = list(predictions)
        conf = None if confidence is None else [float(c) for c in confidence]
    truth = read_sample_labels(gold) if isinstance(gold, (str, os.PathLike)) else list(gold)
    if len(truth) != len(pred):
        raise BadInput(f"{len(truth)} gold labels for {len(pred)} samples", gold if isinstance(gold, str) else None)
    out: dict[str, Any] = {"accuracy": accuracy(pred, truth), "samples": len(pred)}
    if conf is not None:
        out["curve"] = accuracy_curve(pred, truth, conf)
        right = [p == g for p, g in zip(pred, truth, strict=True)]
        out["calibration_error"] = calibration_error(conf, right)
    return out
