"""Honest probabilities from `wsl cluster` by default: cross-fitted over folds of bags, the temperature
fitted on held-out bags inside the fit (no true label), ambiguity groups split evenly."""

from __future__ import annotations

import numpy as np
import pytest
from test_cluster import _scenes, _tasks

from wsl.actions import BagClusterer, cluster
from wsl.eval.clustering import calibration_error


def test_default_probabilities_are_calibrated_without_true_labels() -> None:
    X, bags, bag_labels, gold = _scenes(1, n_bags=60, noise=3.0)  # noisy: about a quarter of samples wrong
    m = BagClusterer().fit(X, bags, bag_labels)
    idx = np.asarray(m.label_indices_)
    right = np.array(m.labels_) == np.array(gold)
    assert 0.6 < right.mean() < 0.9
    after = calibration_error(m.proba_[np.arange(len(idx)), idx], right)
    in_sample = m._proba((X - m.mean_) / m.scale_, idx, m.allowed_, len(m.classes_))  # the old default
    before = calibration_error(in_sample[np.arange(len(idx)), idx], right)
    assert after < 0.1 and after < before, (before, after)
    assert m.temperature_ > 0 and np.allclose(m.proba_.sum(axis=1), 1.0)


def test_given_temperature_is_used_and_bad_one_refused() -> None:
    X, bags, bag_labels, _ = _scenes(0, n_bags=20)
    assert BagClusterer(temperature=2.5).fit(X, bags, bag_labels).temperature_ == 2.5
    from wsl.errors import BadInput

    with pytest.raises(BadInput, match="temperature must be positive"):
        BagClusterer(temperature=0.0).fit(X, bags, bag_labels)


def test_ambiguity_groups_share_their_probability() -> None:
    """s0, s1, s2 of each task are listed by the same bags: no score may prefer one of them."""
    X, bags, labels, _ = _tasks()
    res = cluster(X, [{"samples": b, "labels": lab} for b, lab in zip(bags, labels, strict=True)])
    assert res.solver["temperature"] == res.model.temperature_
    g = [res.classes.index(f"t0s{k}") for k in range(3)]
    rows = [i for i, lab in enumerate(res.labels) if lab in {"t0s0", "t0s1", "t0s2"}]
    assert rows and np.allclose(res.proba[rows][:, g], res.proba[rows][:, g[:1]])
    assert (res.confidence[rows] <= 1 / 3 + 1e-9).all()
