"""The refinement search of `wsl cluster`: its vectorised at-least-one oracle and its starts."""

from __future__ import annotations

import numpy as np

from wsl.actions.bag_search import BagPart, kmeans
from wsl.solvers.bags import BagPolytope


def test_vectorised_oracle_matches_the_assignment_oracle() -> None:
    """BagPart.assign (enumeration per bag shape, LSA for large bags) reaches the same optimum as
    BagPolytope.lmo_labels (one LSA per bag) and satisfies every bag."""
    rng = np.random.default_rng(0)
    for _trial in range(60):
        N, bags, need = 0, [], []
        K = int(rng.integers(3, 10))
        for _j in range(int(rng.integers(1, 15))):
            n = int(rng.integers(1, 9))
            m = int(rng.integers(1, min(n, K) + 1))
            bags.append(list(range(N, N + n)))
            N += n
            need.append(sorted(rng.choice(K, m, replace=False).tolist()))
        allowed = np.ones((N, K), dtype=bool)
        for r, nd in zip(bags, need, strict=True):
            allowed[r] = False
            allowed[np.ix_(r, nd)] = True
            if rng.random() < 0.5:
                allowed[r, 0] = True  # a background-like spare label
        dom = BagPolytope(N, K, bags, need, allowed)
        part = BagPart(np.arange(N), np.arange(K), dom, [])
        G = rng.normal(size=(N, K))
        a, b = dom.lmo_labels(G), part.assign(G)
        assert np.isclose(G[np.arange(N), b].sum(), G[np.arange(N), a].sum(), rtol=0, atol=1e-9)
        assert allowed[np.arange(N), b].all()
        for r, nd in zip(bags, need, strict=True):
            assert set(nd) <= set(b[r].tolist())


def test_kmeans_separates_clear_clusters() -> None:
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 5)) * 10
    y = np.repeat(np.arange(3), 20)
    Z = centres[y] + rng.normal(size=(60, 5))
    _, assign = kmeans(Z, 3, rng)
    # the same partition up to naming
    assert len({(int(a), int(b)) for a, b in zip(assign, y, strict=True)}) == 3


def test_large_bag_is_not_enumerated() -> None:
    """A bag of 25 samples and 19 labels (Mining-YouTube has such bags) has 25!/6! injective maps: the
    count once overflowed int64 into a small number and the enumeration exhausted memory."""
    dom = BagPolytope(25, 20, [list(range(25))], [list(range(19))])
    part = BagPart(np.arange(25), np.arange(20), dom, [])
    assert not part._groups and len(part._large) == 1
    G = np.random.default_rng(0).normal(size=(25, 20))
    assert np.isclose(G[np.arange(25), part.assign(G)].sum(), G[np.arange(25), dom.lmo_labels(G)].sum())


def test_every_sample_its_own_label_is_no_crash() -> None:
    """As many labels as samples: the within-class scatter is 0 and the shared covariance was singular
    (a LinAlgError traceback); the labels are then forced and the scores split within each group."""
    import wsl

    X = np.random.default_rng(0).normal(size=(6, 4))
    res = wsl.cluster(X, [{"samples": [0, 1, 2], "labels": ["a", "b", "c"]},
                          {"samples": [3, 4, 5], "labels": ["d", "e", "f"]}])
    assert sorted(res.labels) == ["a", "b", "c", "d", "e", "f"]
    assert np.allclose(res.confidence, 1 / 3)


def test_prior_weight_is_noise_over_mean_variance() -> None:
    """The search's class means are posterior means: prior weight sigma2 / tau2 samples, from the data
    (noise 2 around means of variance 1 -> about 4; a fixed weight of 1 before round 5)."""
    from wsl.actions.bag_search import prior_samples

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(40), 25)
    mu = rng.normal(size=(40, 16))
    for noise in (1.0, 2.0, 3.0):
        Z = mu[y] + noise * rng.normal(size=(len(y), 16))
        Z -= Z.mean(axis=0)
        assert abs(prior_samples(Z, y, 40) - noise**2) < 0.25 * noise**2


def test_name_swaps_are_left_to_the_chains_on_wide_components() -> None:
    """A component of 50 labels or more tries no name swaps (the posterior step's annealed chains
    decide its names; on Mining-YouTube the swaps were 80 % of the search's time and changed the answer
    by 0.0006); smaller components keep them."""
    from wsl.actions.bag_search import BagSearch

    rng = np.random.default_rng(0)
    for K, wide in ((60, True), (12, False)):
        bags, need, N = [], [], 0
        for _ in range(40):
            labs = sorted(rng.choice(K, size=5, replace=False).tolist())
            bags.append(list(range(N, N + 7)))
            need.append(labs)
            N += 7
        allowed = np.zeros((N, K), dtype=bool)
        for r, n in zip(bags, need, strict=True):
            allowed[np.ix_(r, n)] = True
        dom = BagPolytope(N, K, bags, need, allowed)
        search = BagSearch(rng.normal(size=(N, 4)), dom, K, False, 0.1, 1, rng)
        assert len(search.parts) == 1
        assert (search.parts[0].pairs == []) == wide
