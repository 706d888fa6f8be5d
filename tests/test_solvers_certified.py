"""Certified solvers against independent cvxpy formulations; estimator contract; bag input errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from wsl.actions import BagClusterer, OrderingLabeler
from wsl.errors import BadInput
from wsl.solvers.bags import BagPolytope, solve_bags
from wsl.solvers.chains import ordering_chain
from wsl.solvers.diffrac import DiffracCost
from wsl.solvers.ordering import solve_ordering
from wsl.solvers.ordering_problem import OrderingProblem
from wsl.solvers.prep import standardize

pytest.importorskip("cvxpy")


@pytest.mark.parametrize("seed", [0, 1])
def test_bags_optimum_matches_cvxpy(seed: int) -> None:
    from wsl.solvers.reference import bags_reference

    rng = np.random.default_rng(seed)
    N, K, d = 80, 5, 6
    X = standardize(rng.normal(size=(N, d)))[0]
    bags = [list(range(j * 8, (j + 1) * 8)) for j in range(9)]  # the last 8 rows are in no bag
    need = [sorted(rng.choice(np.arange(1, K), size=2, replace=False).tolist()) for _ in bags]
    allowed = np.ones((N, K), bool)
    for b, n in zip(bags, need, strict=True):
        allowed[b] = False
        allowed[np.ix_(b, [0, *n])] = True
    w = rng.random(K) + 0.5
    cost = DiffracCost(X, 1e-2, class_weights=w)
    res = solve_bags(cost, BagPolytope(N, K, bags, need, allowed), rtol=1e-6)
    f_ref, _ = bags_reference(X, K, bags, need, 1e-2, allowed, class_weights=w)
    assert res.success and res.gap <= 1e-6 * res.fun + 1e-12
    assert res.fun == pytest.approx(f_ref, rel=1e-3)


def test_bags_optimum_with_many_labels_matches_cvxpy() -> None:
    """K much larger than the labels of any bag (Mining-YouTube: 280 labels, at most 19 per bag): the
    projection's Newton system is built on each bag's own labels (it was (rows, K, K) and took 5 s per
    iteration there); the optimum must not change."""
    from wsl.solvers.reference import bags_reference

    rng = np.random.default_rng(3)
    N, K, d = 60, 24, 5
    X = standardize(rng.normal(size=(N, d)))[0]
    bags = [list(range(j * 6, (j + 1) * 6)) for j in range(10)]
    need = [sorted(rng.choice(K, size=3, replace=False).tolist()) for _ in bags]
    allowed = np.zeros((N, K), bool)
    for b, n in zip(bags, need, strict=True):
        allowed[np.ix_(b, n)] = True
    res = solve_bags(DiffracCost(X, 1e-2), BagPolytope(N, K, bags, need, allowed), rtol=1e-6)
    f_ref, _ = bags_reference(X, K, bags, need, 1e-2, allowed)
    assert res.success and res.fun == pytest.approx(f_ref, rel=1e-3)


@pytest.mark.parametrize("method", ["apg", "pairwise", "fw"])
def test_ordering_optimum_matches_cvxpy(method: str) -> None:
    from wsl.solvers.reference import ordering_reference

    rng = np.random.default_rng(3)
    V, K, d = 4, 4, 5
    lengths = rng.integers(6, 10, V)
    trs = [list(rng.integers(1, K, size=int(rng.integers(1, 3)))) for _ in range(V)]
    X = standardize(rng.normal(size=(int(lengths.sum()), d)))[0]
    chains = [ordering_chain(t) for t in trs]
    p = OrderingProblem(X, lengths, chains, K, 1e-2)
    res = solve_ordering(p, p.oracle(np.zeros((int(lengths.sum()), K))), method=method, max_iter=20000, rtol=1e-3)
    f_ref, _ = ordering_reference(X, lengths, chains, K, 1e-2)
    assert res.gap >= res.fun - f_ref - 1e-9  # the gap certifies: f - f* <= gap
    assert res.lower_bound <= f_ref + 1e-9 and res.gap == pytest.approx(res.fun - res.lower_bound)
    if method != "fw":
        assert res.success and res.fun - f_ref <= 1e-3 * f_ref + 1e-9
    assert p.value(res.x) == pytest.approx(res.fun, rel=1e-6)


def test_apg_bound_at_the_mean_of_iterates_is_valid_and_only_tightens() -> None:
    """The mean of recent iterates only adds bound evaluations: the iterates are the same, the best
    bound is at least as high, and it stays below cvxpy's optimum."""
    from wsl.solvers.reference import ordering_reference

    rng = np.random.default_rng(7)
    V, K, d = 8, 5, 6
    lengths = rng.integers(12, 20, V)
    trs = [list(rng.integers(1, K, size=int(rng.integers(1, 4)))) for _ in range(V)]
    X = standardize(rng.normal(size=(int(lengths.sum()), d)))[0]
    p = OrderingProblem(X, lengths, [ordering_chain(t) for t in trs], K, 1e-2)
    lab0 = p.oracle(np.zeros((int(lengths.sum()), K)))
    runs = [solve_ordering(p, lab0, max_iter=300, rtol=0.0, average=a) for a in (False, True)]
    f_ref, _ = ordering_reference(X, lengths, [ordering_chain(t) for t in trs], K, 1e-2)
    np.testing.assert_array_equal(runs[0].c, runs[1].c)
    assert runs[1].lower_bound > runs[0].lower_bound  # here the mean gives the best bound
    assert runs[1].lower_bound <= f_ref + 1e-9


def test_estimators_follow_the_sklearn_contract() -> None:
    for est in (OrderingLabeler(lam=0.5, refine=3), BagClusterer(lam=0.5, starts=1)):
        c = clone(est)
        assert c.get_params() == est.get_params()
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        BagClusterer().predict(np.zeros((2, 3)))
    with pytest.raises(BadInput, match="lam must be positive"):
        BagClusterer(lam=-1).fit(np.random.default_rng(0).normal(size=(6, 2)), [[0, 1]], [["a"]])


def test_bag_listing_a_sample_twice_and_constant_features_are_refused(tmp_path: Path, run_cli) -> None:
    X = np.random.default_rng(0).normal(size=(6, 3))
    with pytest.raises(BadInput, match="lists sample 0 more than once"):
        BagClusterer().fit(X, [[0, 0, 0]], [["a", "b", "c"]])
    with pytest.raises(BadInput, match="constant"):
        BagClusterer().fit(np.ones((6, 3)), [[0, 1]], [["a"]])
    np.save(tmp_path / "x.npy", X.astype(np.float32))
    (tmp_path / "b.json").write_text(json.dumps([{"name": "s1", "samples": [0, 0, 0], "labels": ["a", "b", "c"]}]))
    code, _, err = run_cli("cluster", tmp_path / "x.npy", "--bags", tmp_path / "b.json", "-o", tmp_path / "o.json")
    assert code == 2 and "b.json" in err and "bag s1" in err and err.count("error:") == 1
    code, _, err = run_cli("cluster", tmp_path / "x.npy", "--bags", tmp_path / "b.json", "--lambda", "-1")
    assert code == 2 and "lambda" in err


def test_every_cluster_output_satisfies_its_bags() -> None:
    from wsl.data.action_tasks import face_track_bags

    X, bags, gold = face_track_bags(20, noise=2.0, seed=4)
    m = BagClusterer(starts=2).fit(X, [b["samples"] for b in bags], [b["labels"] for b in bags])
    for b in bags:
        got = {m.labels_[i] for i in b["samples"]}
        assert set(b["labels"]) <= got
    assert np.allclose(m.proba_.sum(axis=1), 1.0)
    conv = BagClusterer(refine=0).fit(X, [b["samples"] for b in bags], [b["labels"] for b in bags])
    assert conv.init_ == "convex" and conv.fw_.success


def test_transposed_feature_files_are_refused(tmp_path: Path, run_cli) -> None:
    feats = tmp_path / "f"
    feats.mkdir()
    rng = np.random.default_rng(0)
    for v in ("a", "b", "c"):
        np.save(feats / f"{v}.npy", rng.normal(size=(40, 64)).astype(np.float32))  # (d, T): 40 dims, 64 frames
    (tmp_path / "t.json").write_text(json.dumps({v: ["x", "y"] for v in ("a", "b", "c")}))
    code, _, err = run_cli("label-actions", feats, "-t", tmp_path / "t.json", "-o", tmp_path / "o.json")
    assert code == 2 and "layout" in err and "dT" in err and err.count("error:") == 1
