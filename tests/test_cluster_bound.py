"""The identifiability bound of `wsl eval`/the cluster benchmark on tiny hand-made bags."""

from __future__ import annotations

import pytest

from wsl.eval.clustering import exchangeable_labels, expected_accuracy, identifiability_bound


def test_same_bag_lists_are_exchangeable() -> None:
    # a and b are listed by exactly the same bags: 1/2 on their samples; c is pinned
    gold = ["a", "b", "c", "a", "b", "c"]
    bags = [[0, 1, 2], [3, 4, 5]]
    labels = [["a", "b", "c"], ["a", "b", "c"]]
    assert identifiability_bound(gold, bags, labels) == pytest.approx(1 / 3)
    gold2 = ["a", "b", "c", "a", "b", "d"]
    labels2 = [["a", "b", "c"], ["a", "b", "d"]]
    assert exchangeable_labels(gold2, bags, labels2)["c"] == {"c"}
    assert identifiability_bound(gold2, bags, labels2) == pytest.approx((0.5 * 4 + 2) / 6)


def test_labels_whose_samples_sit_in_one_bag_are_exchangeable_there() -> None:
    """Bag 0 lists p (also in bag 1), q, r; bag 2 lists r too, but no sample of r is outside bag 0 (bag 2
    lists it while carrying none: the benchmark's 'absent' label). q's and r's samples both sit only in
    bag 0, so nothing outside it pins either mean and their names can be exchanged there at the same
    likelihood: the bound counts 1/2 for them (by bag lists alone every label here was its own group: 1.0)."""
    gold = ["p", "q", "r", "p", "s", "s", "t"]
    bags = [[0, 1, 2], [3, 4], [5, 6]]
    labels = [["p", "q", "r"], ["p", "s"], ["r", "s", "t"]]
    ex = exchangeable_labels(gold, bags, labels)
    assert ex["q"] == {"q", "r"} and ex["r"] == {"q", "r"}
    assert ex["p"] == {"p"} and ex["s"] == {"s"}
    # t's samples sit in bag 2 only, and so does nothing else of bag 2's list (s spans bags 1 and 2)
    assert ex["t"] == {"t"}
    assert identifiability_bound(gold, bags, labels) == pytest.approx((5 + 0.5 + 0.5) / 7)
    # expected accuracy uses the same sets: q named r scores 1/2, like q named q
    assert expected_accuracy(["p", "r", "q", "p", "s", "s", "t"], gold, bags, labels) == pytest.approx(6 / 7)
    assert expected_accuracy(["p", "q", "r", "p", "s", "s", "t"], gold, bags, labels) == pytest.approx(6 / 7)


def test_background_counts_only_when_asked() -> None:
    gold = ["a", "background", "a", "b"]
    bags = [[0, 1], [2, 3]]
    labels = [["a"], ["a", "b"]]
    assert identifiability_bound(gold, bags, labels) == pytest.approx(3 / 4)
    assert identifiability_bound(gold, bags, labels, background="background") == 1.0
