"""Weakly supervised localisation metrics: classification mAP and the pointing metric (Oquab et al. 2015).

- Average precision per class over images ranked by score: the mean of the precision at the rank
  of each positive (non-interpolated; ties are broken against the positives, so a constant score
  earns no credit). Images whose only instances of a class are "difficult" are left out of that
  class' ranking, as VOC does.
- Pointing: for every (image, class present) pair with boxes, the maximum of the class' score map
  is a hit when its Euclidean distance to some box of that class is at most ``tolerance`` pixels
  (18 at the original image scale in the paper). Per class and averaged over classes.
- Pointing inside: the same with no tolerance, the share of points that fall inside a box of the
  class. At small image sizes the 18 px tolerance is a large part of the image and hides points a
  cell off the object; this figure does not.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wsl.data.tagged import Box


def average_precision(scores: np.ndarray, positives: np.ndarray) -> float:
    """AP of one class: ``scores`` (N,), ``positives`` (N,) bool. NaN when there is no positive."""
    scores = np.asarray(scores, dtype=np.float64)
    positives = np.asarray(positives, dtype=bool)
    n_pos = int(positives.sum())
    if n_pos == 0:
        return float("nan")
    # Sort by score descending; among equal scores negatives first (the pessimistic tie rule).
    order = np.lexsort((positives, -scores))
    hits = positives[order]
    precision_at_hit = np.cumsum(hits)[hits] / (np.flatnonzero(hits) + 1)
    return float(precision_at_hit.sum() / n_pos)


def mean_average_precision(scores: np.ndarray, targets: np.ndarray, ignore: np.ndarray | None = None
                           ) -> tuple[float, np.ndarray]:
    """(mAP over classes with a positive, per-class AP with NaN for classes without one).

    ``scores`` and ``targets`` are (N, K); ``ignore`` (N, K) bool marks pairs left out (VOC difficult).
    """
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets, dtype=bool)
    if scores.shape != targets.shape or scores.ndim != 2:
        raise ValueError(f"scores {scores.shape} and targets {targets.shape} must both be (N, K)")
    keep = np.ones_like(targets) if ignore is None else ~np.asarray(ignore, dtype=bool)
    aps = np.array([average_precision(scores[keep[:, k], k], targets[keep[:, k], k])
                    for k in range(scores.shape[1])])
    valid = ~np.isnan(aps)
    return (float(aps[valid].mean()) if valid.any() else float("nan")), aps


def distance_to_box(x: float, y: float, box: Box) -> float:
    """Euclidean distance from a point to a box (0 inside it)."""
    dx = max(box.x0 - x, 0.0, x - box.x1)
    dy = max(box.y0 - y, 0.0, y - box.y1)
    return float(np.hypot(dx, dy))


def pointing_hit(point: tuple[float, float], boxes: Sequence[Box], tolerance: float = 18.0) -> bool:
    """Whether ``point`` lies within ``tolerance`` pixels of any of ``boxes``."""
    return any(distance_to_box(point[0], point[1], b) <= tolerance for b in boxes)


def pointing_accuracy(points: Sequence[dict[str, tuple[float, float]]], boxes: Sequence[Sequence[Box]],
                      classes: Sequence[str], tolerance: float = 18.0
                      ) -> tuple[float, np.ndarray, np.ndarray, float]:
    """Pointing over images: (mean of per-class accuracy, per-class accuracy (NaN: no box), per-class
    counts of evaluated pairs, accuracy over all pairs).

    ``points[i][c]`` is the predicted maximum of class ``c`` in image ``i``; ``boxes[i]`` the image's
    ground-truth boxes. Every class with a non-difficult box in an image is evaluated there.
    """
    index = {c: k for k, c in enumerate(classes)}
    hits = np.zeros(len(classes))
    counts = np.zeros(len(classes))
    for pts, bxs in zip(points, boxes, strict=True):
        by_class: dict[str, list[Box]] = {}
        for b in bxs:
            if b.label in index:
                by_class.setdefault(b.label, []).append(b)
        for label, group in by_class.items():
            if all(b.difficult for b in group):
                continue
            k = index[label]
            counts[k] += 1
            hits[k] += pointing_hit(pts[label], group, tolerance)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)
    valid = counts > 0
    mean = float(per_class[valid].mean()) if valid.any() else float("nan")
    overall = float(hits.sum() / counts.sum()) if counts.sum() else float("nan")
    return mean, per_class, counts, overall


def _nan_to_none(x: float) -> float | None:
    return None if np.isnan(x) else round(float(x), 6)


def localization_report(scores: np.ndarray, targets: np.ndarray, points: Sequence[dict[str, tuple[float, float]]],
                        boxes: Sequence[Sequence[Box]], classes: Sequence[str], tolerance: float = 18.0,
                        ignore: np.ndarray | None = None) -> dict:
    """Every figure as a JSON-ready dict: mAP, pointing (mean over classes and over pairs), per class."""
    m_ap, aps = mean_average_precision(scores, targets, ignore)
    point_mean, point_cls, counts, point_all = pointing_accuracy(points, boxes, classes, tolerance)
    inside_mean, inside_cls, _, inside_all = pointing_accuracy(points, boxes, classes, 0.0)
    targets = np.asarray(targets, dtype=bool)
    return {
        "images": int(len(targets)),
        "mAP": _nan_to_none(m_ap),
        "pointing": _nan_to_none(point_mean),
        "pointing_all_pairs": _nan_to_none(point_all),
        "pointing_inside": _nan_to_none(inside_mean),
        "pointing_inside_all_pairs": _nan_to_none(inside_all),
        "pointing_pairs": int(counts.sum()),
        "tolerance_px": float(tolerance),
        "per_class": {
            c: {"ap": _nan_to_none(aps[k]), "pointing": _nan_to_none(point_cls[k]),
                "pointing_inside": _nan_to_none(inside_cls[k]),
                "positives": int(targets[:, k].sum()), "pointing_pairs": int(counts[k])}
            for k, c in enumerate(classes)
        },
    }


def format_report(report: dict) -> str:
    """A small fixed-width table of the report: one row per class and a mean row."""
    def fmt(v: float | None) -> str:
        return "   -  " if v is None else f"{100 * v:6.1f}"

    width = max([5] + [len(c) for c in report["per_class"]])
    lines = [f"{'class':<{width}}  {'AP':>6}  {'point':>6}  {'inside':>6}  {'pos':>5}  {'pairs':>5}"]
    for c, row in report["per_class"].items():
        lines.append(f"{c:<{width}}  {fmt(row['ap'])}  {fmt(row['pointing'])}  {fmt(row.get('pointing_inside'))}  "
                     f"{row['positives']:>5}  {row['pointing_pairs']:>5}")
    lines.append(f"{'mean':<{width}}  {fmt(report['mAP'])}  {fmt(report['pointing'])}  "
                 f"{fmt(report.get('pointing_inside'))}  {report['images']:>5}  {report['pointing_pairs']:>5}")
    lines.append(f"(AP and pointing in %, tolerance {report['tolerance_px']:g} px; inside: no tolerance; "
                 f"pointing over all pairs {fmt(report['pointing_all_pairs']).strip()}%)")
    return "\n".join(lines) + "\n"
