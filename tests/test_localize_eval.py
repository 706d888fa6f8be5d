"""Localisation metrics against hand-computed values: AP, mAP with ignored pairs, pointing with tolerance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wsl.data.tagged import Box
from wsl.eval.localization import (
    average_precision,
    distance_to_box,
    format_report,
    localization_report,
    mean_average_precision,
    pointing_accuracy,
    pointing_hit,
)


def test_average_precision_by_hand() -> None:
    # Ranked: P N P N -> precisions at the positives 1/1 and 2/3 -> AP = (1 + 2/3) / 2.
    assert average_precision(np.array([0.9, 0.8, 0.7, 0.1]), np.array([1, 0, 1, 0], bool)) == pytest.approx(5 / 6)
    assert average_precision(np.array([0.1, 0.2, 0.3]), np.array([1, 0, 0], bool)) == pytest.approx(1 / 3)
    assert average_precision(np.array([3.0, 2.0]), np.array([1, 1], bool)) == 1.0
    assert math.isnan(average_precision(np.array([1.0, 2.0]), np.array([0, 0], bool)))
    # Ties rank negatives first: a constant score earns the base rate at best, not 1.
    assert average_precision(np.zeros(4), np.array([1, 0, 0, 0], bool)) == pytest.approx(1 / 4)


def test_average_precision_matches_sklearn_without_ties() -> None:
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(0)
    for _ in range(5):
        scores = rng.random(50)
        labels = rng.random(50) < 0.3
        assert average_precision(scores, labels) == pytest.approx(average_precision_score(labels, scores))


def test_mean_average_precision_skips_classes_without_positives_and_ignored_pairs() -> None:
    scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.8, 0.4], [0.7, 0.3, 0.3]])
    targets = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 0]], bool)
    m, aps = mean_average_precision(scores, targets)
    # class 0: P first -> 1; class 1: ranked 0.8(P) 0.3(P) 0.1(N) -> 1; class 2: no positive -> NaN.
    assert aps[0] == 1.0 and aps[1] == 1.0 and math.isnan(aps[2]) and m == 1.0
    targets2 = np.array([[0, 0, 0], [0, 1, 0], [1, 1, 0]], bool)
    m2, aps2 = mean_average_precision(scores, targets2)
    assert aps2[0] == pytest.approx(0.5)  # ranked 0.9(N) 0.7(P)
    ignore = np.zeros_like(targets2)
    ignore[0, 0] = True  # a "difficult-only" image for class 0 leaves its ranking
    _, aps3 = mean_average_precision(scores, targets2, ignore)
    assert aps3[0] == 1.0


def test_pointing_tolerance_is_euclidean_distance_to_the_box() -> None:
    box = Box("cat", 10, 20, 50, 60)
    assert distance_to_box(30, 40, box) == 0.0
    assert distance_to_box(50 + 17.9, 40, box) == pytest.approx(17.9)
    assert distance_to_box(50 + 12, 60 + 16, box) == pytest.approx(20.0)  # corner: 3-4-5 triangle
    assert pointing_hit((67.9, 40), [box]) and not pointing_hit((68.1, 40), [box])
    assert not pointing_hit((62, 76), [box])  # 12 and 16 px off each side, 20 px away diagonally
    assert pointing_hit((62, 76), [box], tolerance=20.0)
    assert pointing_hit((0, 0), [Box("cat", 100, 100, 120, 120), box], tolerance=20.0) is False
    assert pointing_hit((5, 5), [Box("cat", 100, 100, 120, 120), box], tolerance=20.0)


def test_pointing_accuracy_per_class_and_over_pairs() -> None:
    classes = ["a", "b", "c"]
    boxes = [[Box("a", 0, 0, 10, 10), Box("b", 50, 50, 60, 60)],
             [Box("a", 100, 100, 110, 110)],
             [Box("b", 0, 0, 5, 5, difficult=True)]]  # difficult-only pairs are not evaluated
    points = [{"a": (5, 5), "b": (0, 0), "c": (1, 1)},
              {"a": (0, 0), "b": (0, 0), "c": (1, 1)},
              {"a": (0, 0), "b": (100, 100), "c": (1, 1)}]
    mean, per_class, counts, overall = pointing_accuracy(points, boxes, classes)
    assert per_class[0] == 0.5 and per_class[1] == 0.0 and math.isnan(per_class[2])
    assert list(counts) == [2, 1, 0] and mean == 0.25 and overall == pytest.approx(1 / 3)


def test_report_and_table() -> None:
    classes = ["cat", "dog"]
    scores = np.array([[0.9, 0.2], [0.1, 0.8]])
    targets = np.array([[1, 0], [0, 1]], bool)
    boxes = [[Box("cat", 0, 0, 10, 10)], [Box("dog", 0, 0, 10, 10)]]
    points = [{"cat": (5, 5), "dog": (90, 90)}, {"cat": (5, 5), "dog": (40, 40)}]
    report = localization_report(scores, targets, points, boxes, classes, tolerance=18)
    assert report["mAP"] == 1.0 and report["pointing"] == 0.5 and report["pointing_pairs"] == 2
    assert report["per_class"]["dog"] == {"ap": 1.0, "pointing": 0.0, "pointing_inside": 0.0, "positives": 1,
                                          "pointing_pairs": 1}
    # Inside the box, no tolerance: the cat's point (5, 5) is inside its box, the dog's are not.
    assert report["pointing_inside"] == 0.5 and report["pointing_inside_all_pairs"] == 0.5
    table = format_report(report)
    assert "cat" in table and "100.0" in table and "mean" in table and "18 px" in table and "inside" in table
