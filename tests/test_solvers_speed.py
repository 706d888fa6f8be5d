"""The cheap ordering iteration's pieces agree with their dense definitions (issue 14, speed rounds)."""

from __future__ import annotations

import numpy as np
import pytest

from wsl.solvers.chains import ordering_chain
from wsl.solvers.ordering import solve_ordering
from wsl.solvers.ordering_problem import OrderingProblem
from wsl.solvers.prep import standardize


def _problem(seed: int, K: int = 6) -> tuple[OrderingProblem, np.ndarray]:
    rng = np.random.default_rng(seed)
    V, d = 7, 5
    lengths = rng.integers(6, 15, V)
    trs = [list(rng.integers(1, K, size=int(rng.integers(1, 4)))) for _ in range(V)]
    X = standardize(rng.normal(size=(int(lengths.sum()), d)))[0]
    p = OrderingProblem(X, lengths, [ordering_chain(t) for t in trs], K, 1e-2, class_weights=rng.random(K) + 0.5,
                        linear=rng.normal(size=K) * 1e-3)
    return p, rng.random((p.n, K))


def test_gradient_on_the_support_cells_matches_the_dense_gradient() -> None:
    """grad_cells computes, per video, only its own classes; on those cells it is the dense gradient."""
    p, Z = _problem(0)
    sup = p.support()
    Z = sup.dense(Z[sup.cell_row, sup.cell_class])  # zero off the support, as the iterates are
    U, col, _ = p.stats(Z)
    G = p.grad(Z, U, col)
    Gs = p.grad_cells(sup, Z[sup.cell_row, sup.cell_class], p._solve(U), col)
    assert np.allclose(Gs, G[sup.cell_row, sup.cell_class], rtol=1e-6, atol=1e-9)
    # the oracle on the cells takes the same path as on the dense gradient (off-support cells unused)
    lab, _, cost = p._plan.solve_cells(Gs, sup.dp_index, lambda: sup.dense(Gs, np.inf))
    assert np.array_equal(lab, p.oracle(G))
    assert cost == pytest.approx(Gs[sup.index(np.arange(p.n), lab)].sum(), rel=1e-12)
    assert cost == pytest.approx(G[np.arange(p.n), lab].sum(), rel=1e-6)


def test_apg_maps_on_the_support_cells_match_the_dense_maps() -> None:
    """APG's iteration on cells: the marginals of c, their statistics and the gradient's pull-back to c agree
    with the dense maps (a chain with repeated labels and min_length states included)."""
    q, _ = _problem(2)
    chains = [ordering_chain([1, 1, 2], 0, 2)] + q.chains[1:]  # a repeated action, states that must be left
    lengths = [b.stop - b.start for b in q.blocks]
    lengths[0] = max(lengths[0], 12)
    X = np.random.default_rng(3).normal(size=(sum(lengths), q.d))
    p = OrderingProblem(X, lengths, chains, q.K, 1e-2, class_weights=q.w)
    poly = p.polytope()
    sup = p.support()
    sc = sup.state_cells(poly.lab, poly.real_states())
    rng = np.random.default_rng(2)
    c = poly.project(rng.random((p.n, poly.M)), poly.new_duals(), 50)
    Z = poly.to_Z(c)
    Zs = poly.to_cells(c, sc, sup.n_cells)
    assert np.allclose(sup.dense(Zs), Z, atol=1e-12)
    for got, want in zip(p.stats_cells(sup, Zs), p.stats(Z), strict=True):
        assert np.allclose(got, want, rtol=1e-5, atol=1e-5)
    G = rng.normal(size=(p.n, p.K))
    assert np.allclose(poly.grad_c_cells(G[sup.cell_row, sup.cell_class], sc), poly.grad_c(G), atol=1e-12)


def test_gather_of_changed_rows_matches_the_dense_product() -> None:
    p, _ = _problem(1)
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, p.K, p.n), rng.integers(0, p.K, p.n)
    X = p.Xc.astype(np.float64)
    onehot = np.eye(p.K)
    assert np.allclose(p.gather(a), X.T @ onehot[a], atol=1e-4)
    rows = np.flatnonzero(a != b)
    assert np.allclose(p.gather(a[rows], rows, minus=b[rows]), X.T @ (onehot[a] - onehot[b]), atol=1e-4)
    assert np.allclose(p.gather(a[rows], rows), X[rows].T @ onehot[a[rows]], atol=1e-4)


@pytest.mark.parametrize("method", ["fw", "pairwise"])
def test_frank_wolfe_on_the_support_matches_dense_iterates(method: str) -> None:
    """The FW loops keep Z on the support cells; their iterate is the dense one, and a start that puts
    a frame on a class outside its video's chain is refused."""
    p, _ = _problem(2)
    lab0 = p.oracle(np.zeros((p.n, p.K)))
    res = solve_ordering(p, lab0, method=method, max_iter=30, rtol=0.0)
    assert res.x.shape == (p.n, p.K) and res.x.flags.c_contiguous
    assert np.allclose(res.x.sum(axis=1), 1.0)
    assert res.fun == pytest.approx(p.value(res.x), rel=1e-6)
    # f(x) - gap <= f* <= f(x): the certified bound holds against a long pairwise run
    ref = solve_ordering(p, lab0, method="pairwise", max_iter=1000, rtol=1e-4)
    assert res.fun - res.gap <= ref.fun + 1e-9
    bad = lab0.copy()
    bad[0] = min(set(range(p.K)) - set(p.chains[0].labels.tolist()))
    with pytest.raises(ValueError, match="classes of its video"):
        solve_ordering(p, bad, method=method, max_iter=5)


def test_apg_with_a_video_whose_classes_weigh_nothing() -> None:
    """Each video's step is N / its curvature; a video whose classes all have weight 0 has none (only
    the linear cost moves it): the solve stays finite and certified."""
    rng = np.random.default_rng(4)
    lengths = [9, 12, 10]
    X = standardize(rng.normal(size=(sum(lengths), 4)))[0]
    chains = [ordering_chain([1]), ordering_chain([2, 3]), ordering_chain([3])]
    w = np.array([0.0, 0.0, 1.0, 1.0])  # video 0 (background and class 1) weighs nothing
    p = OrderingProblem(X, lengths, chains, 4, 1e-2, class_weights=w, linear=np.array([1e-3, 0.0, 0.0, 0.0]))
    lab0 = np.concatenate([np.full(9, 1), np.r_[np.full(6, 2), np.full(6, 3)], np.full(10, 3)])
    res = solve_ordering(p, lab0, method="apg", max_iter=2000, rtol=1e-6, atol=1e-12)
    assert np.isfinite(res.fun) and np.isfinite(res.gap)
    assert res.gap <= 1e-12 + 1e-6 * abs(res.fun) and res.success


def test_each_videos_step_bounds_the_curvature_along_its_cells() -> None:
    """APG's per-video step is valid: along any direction d in the cumulative coordinates the cost curves
    at most sum over rows of row_curvature / N * ||d_row||^2 (class weights inside the bound)."""
    p, _ = _problem(5)
    poly = p.polytope()
    curv = poly.row_curvature(p.w)[:, 0]
    rng = np.random.default_rng(5)
    for trial in range(30):
        d = np.where(poly.valid, rng.normal(size=(p.n, poly.M)), 0.0)
        if trial % 3 == 0:  # one video's cells only: where a per-video bound is tightest
            v = p.blocks[trial % len(p.blocks)]
            d[: v.start] = 0.0
            d[v.stop:] = 0.0
        Dz = poly.to_Z(d + np.where(poly.valid, 0.0, 1.0)) - poly.to_Z(np.where(poly.valid, 0.0, 1.0))
        U, col, sq = p.stats(Dz)
        curvature = 2 * p.quad(sq, col, U)  # d^T H d
        bound = float((curv * (d * d).sum(axis=1)).sum()) / p.n
        assert curvature <= bound * (1 + 1e-6) + 1e-15
    # and it is not loose: on one frame's cells the largest curvature nearly reaches it (B ~ I/N on one row)
    base = np.where(poly.valid, 0.0, 1.0)

    def q(d: np.ndarray) -> float:
        Dz = poly.to_Z(d + base) - poly.to_Z(base)
        U, col, sq = p.stats(Dz)
        return 2 * p.quad(sq, col, U)

    for v in p.blocks:
        r = (v.start + v.stop) // 2
        cols = np.flatnonzero(poly.valid[r])
        E = [np.zeros((p.n, poly.M)) for _ in cols]
        for e, m in zip(E, cols, strict=True):
            e[r, m] = 1.0
        H = np.array([[(q(a + b) - q(a) - q(b)) / 2 for b in E] for a in E])
        top = float(np.linalg.eigvalsh(H)[-1])
        assert 0.8 * curv[r] / p.n <= top <= curv[r] / p.n * (1 + 1e-6)


def test_apg_returns_its_last_iterate_in_cumulative_coordinates() -> None:
    """``c`` (for a caller's own bound, as bench_ordering_relaxation.py's) is the solve's last iterate:
    nearly feasible, exactly so once repaired, and its objective lies between the certified bounds'
    lower end and the best point's plus the last steps' change."""
    p, _ = _problem(3)
    lab0 = p._plan.decode(np.zeros((p.n, p.K)))
    res = solve_ordering(p, lab0, method="apg", max_iter=300, rtol=0.0)
    poly = p.polytope()
    assert res.c.shape == (p.n, poly.M)
    assert poly.violation(res.c) < 1e-2
    c = poly.repair(res.c)
    assert poly.violation(c) <= 1e-12
    f = p.value(poly.to_Z(c))
    assert res.lower_bound <= f <= res.fun + 1e-3 * abs(res.fun)
