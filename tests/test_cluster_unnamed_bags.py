"""A bag that lists no label: its samples can only be background, so the background class is chosen
for it (once an error: the fit without background was tried and refused the bag)."""

from __future__ import annotations

import numpy as np
import pytest

from wsl.actions import BagClusterer
from wsl.errors import BadInput


def _data() -> tuple[np.ndarray, list[list[int]], list[list[str]]]:
    rng = np.random.default_rng(0)
    centres = {"ann": np.r_[4.0, 0, 0], "bob": np.r_[0, 4.0, 0], "bg": np.r_[0, 0, 4.0]}
    truth = ["ann", "bob", "ann", "bob", "ann", "bob", "bg", "bg", "bg"]
    X = np.array([centres[t] for t in truth]) + rng.normal(scale=0.3, size=(len(truth), 3))
    bags = [[0, 1], [2, 3], [4, 5], [6, 7, 8]]
    return X, bags, [["ann", "bob"], ["ann", "bob"], ["ann", "bob"], []]


def test_a_bag_listing_no_label_makes_its_samples_background() -> None:
    X, bags, labels = _data()
    m = BagClusterer(sweeps=0).fit(X, bags, labels, names=["s0", "s1", "s2", "crowd"])
    assert m.background_used_
    assert [m.labels_[i] for i in bags[3]] == ["background"] * 3
    for rows, need in zip(bags[:3], labels[:3], strict=True):  # the other bags still hold both names
        assert set(need) <= {m.labels_[i] for i in rows}


def test_forcing_the_background_off_names_the_bag() -> None:
    X, bags, labels = _data()
    with pytest.raises(BadInput, match="bag crowd lists no label"):
        BagClusterer(use_background=False).fit(X, bags, labels, names=["s0", "s1", "s2", "crowd"])
