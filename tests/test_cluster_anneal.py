"""The annealed Gibbs start of `wsl cluster`'s search: tempered sampling, and a planted labelling found
from a random start."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from wsl.actions import bag_search
from wsl.actions.bag_posterior import BagPosterior
from wsl.actions.bag_search import BagSearch
from wsl.solvers.bags import BagPolytope


def test_tempered_marginals_match_exact_enumeration() -> None:
    """At temperature T the sampler draws from exp(-E / (2 T)): vote shares against exact enumeration."""
    rng = np.random.default_rng(3)
    K, bags, need = 3, [[0, 1, 2], [3, 4], [5, 6, 7]], [[0, 1], [1, 2], [0, 2]]
    y = np.array([0, 1, 0, 1, 2, 2, 0, 2])
    Z = 0.5 * ((rng.normal(size=(K, 2)) * 1.5)[y] + rng.normal(size=(8, 2)))
    allowed = np.zeros((8, K), dtype=bool)
    for r, n in zip(bags, need, strict=True):
        allowed[np.ix_(r, n)] = True
    dom = BagPolytope(8, K, bags, need, allowed)
    sampler = BagPosterior(Z, dom, K, False, None, 1.0, 2.0, np.random.default_rng(0))
    T = 2.5
    exact = np.zeros((8, K))
    for lab in itertools.product(*[np.flatnonzero(a) for a in allowed]):
        lab_a = np.array(lab)
        if not all(set(n) <= set(lab_a[r].tolist()) for r, n in zip(bags, need, strict=True)):
            continue
        E = sum(float(sampler._energy(np.array(float((lab_a == k).sum())),
                                      np.array(float(Z[lab_a == k].sum(0) @ Z[lab_a == k].sum(0)))))
                for k in range(K))
        exact[np.arange(8), lab_a] += np.exp(-0.5 * E / T)
    exact /= exact.sum(axis=1, keepdims=True)
    votes = sampler.run(np.array([0, 1, 1, 1, 2, 0, 2, 2]), 1200, 100, np.full(1200, T))
    share = votes / votes.sum(axis=1, keepdims=True)
    assert np.abs(share - exact).max() < 0.05, np.abs(share - exact).max()
    for r, n in zip(bags, need, strict=True):  # the last state is kept, and satisfies every bag
        assert set(n) <= set(sampler.final_[r].tolist())


def _planted(seed: int) -> tuple[np.ndarray, BagPolytope, np.ndarray, int]:
    """One component of 12 labels: 30 bags of 4-6 samples, each listing the 3-4 labels it carries."""
    rng = np.random.default_rng(seed)
    K, d = 12, 8
    mu = rng.normal(size=(K, d)) * 3.0
    bags, need, y = [], [], []
    for _ in range(30):
        labs = rng.choice(K, int(rng.integers(3, 5)), replace=False)
        n = int(rng.integers(len(labs), 7))
        lab = np.r_[labs, rng.choice(labs, n - len(labs))]
        bags.append(list(range(len(y), len(y) + n)))
        need.append(sorted(labs.tolist()))
        y.extend(lab.tolist())
    ya = np.array(y)
    allowed = np.zeros((len(ya), K), dtype=bool)
    for r, nd in zip(bags, need, strict=True):
        allowed[np.ix_(r, nd)] = True
    return mu[ya] + rng.normal(size=(len(ya), d)), BagPolytope(len(ya), K, bags, need, allowed), ya, K


def test_annealed_start_finds_the_planted_labelling(monkeypatch: pytest.MonkeyPatch) -> None:
    """From a random labelling that satisfies the bags, the annealed chain ends (last state and most
    voted labelling, after the hard rounds) at the planted labels, and every bag holds."""
    monkeypatch.setattr(bag_search, "GIBBS_SWEEPS", 40)
    for seed in range(2):
        X, dom, y, K = _planted(seed)
        search = BagSearch(X, dom, K, False, 0.1, 4, np.random.default_rng(seed))
        (part,) = search.parts
        assert np.array_equal(part.rows, np.arange(len(y))) and np.array_equal(part.cols, np.arange(K))
        Z = search.whiten(y)
        starts, _ = search._gibbs_starts(part, Z, part.assign(np.random.default_rng(seed).normal(size=(len(y), K))),
                                      None)
        assert len(starts) == 2
        for start in starts:
            lab, _ = search._hard(part, Z, start, None, 30)
            assert np.mean(lab == y) > 0.95
            for r, nd in zip(dom.bags, dom.bag_labels, strict=True):
                assert set(np.asarray(nd).tolist()) <= set(lab[r].tolist())


def test_annealed_start_runs_only_on_large_components() -> None:
    """COIN-sized components (a dozen labels) keep the round-5 search: no Gibbs start, no extra time."""
    X, dom, y, K = _planted(0)
    search = BagSearch(X, dom, K, False, 0.1, 2, np.random.default_rng(0))
    _, stats = search.run(y.copy(), 5)
    assert stats["gibbs_wins"] == 0 and stats["gibbs_starts"] == 0


def test_anneal_is_a_plain_estimator_parameter() -> None:
    """``anneal`` is stored unchanged and survives sklearn's clone; off, the search makes no Gibbs start."""
    from sklearn.base import clone

    from wsl.actions import BagClusterer

    X, dom, y, K = _planted(1)
    m = clone(BagClusterer(anneal=False, sweeps=0))
    assert m.anneal is False
    search = BagSearch(X, dom, K, False, 0.1, 2, np.random.default_rng(0), gibbs=m.anneal)
    assert search.gibbs is False
