"""The order-polytope form of the ordering paths (wsl.solvers.order_polytope): the constraint set is
exactly the convex hull of the chain's paths, the repair is exactly feasible, the projection is one."""

from __future__ import annotations

import numpy as np
import pytest

from wsl.solvers.oracles import Chain, RaggedChains, ordering_chain
from wsl.solvers.order_polytope import OrderPolytope


def _path_ok(ch: Chain, states: np.ndarray) -> bool:
    S = len(ch.labels)
    if states[0] not in ({0, 1} if ch.optional[0] else {0}):
        return False
    if states[-1] not in ({S - 1, S - 2} if ch.optional[S - 1] else {S - 1}):
        return False
    for a, b in zip(states[:-1], states[1:], strict=True):
        if not (b == a or b == a + 1 or (b == a + 2 and ch.optional[a + 1])):
            return False
    return True


def _random_chains(rng: np.random.Generator, kind: int) -> list[Chain]:
    chains = []
    for _ in range(3):
        tr = [int(x) for x in rng.integers(1, 5, size=int(rng.integers(1, 4)))]
        ch = ordering_chain(tr, background=None if kind == 2 else 0)
        if kind == 1:  # optional states anywhere (never two in a row, as the oracle allows one skip)
            opt = rng.random(len(ch.labels)) < 0.4
            opt[1:] &= ~opt[:-1]
            ch = Chain(ch.labels, opt, ch.stay)
        chains.append(ch)
    return chains


@pytest.mark.parametrize("kind", [0, 1, 2])
def test_constraints_are_the_convex_hull_of_the_paths(kind: int) -> None:
    rng = np.random.default_rng(kind)
    for _ in range(8):
        chains = _random_chains(rng, kind)
        lengths = [int(rng.integers(max(c.min_frames, 2), 9)) for c in chains]
        poly = OrderPolytope(lengths, chains, 5)
        plan = RaggedChains(lengths, chains)
        # every mixture of paths satisfies the constraints
        c = np.zeros((poly.n, poly.M))
        for _ in range(6):
            c += poly.from_states(plan.decode_states(rng.normal(size=(poly.n, 5)))[1]) / 6
        assert poly.violation(c) < 1e-12
        # every point of the set is the average of its quantile paths, each one a path of the chain
        x = poly.repair(poly.project(rng.random((poly.n, poly.M)), poly.new_duals(), sweeps=100))
        assert poly.violation(x) == 0.0
        r0 = 0
        for T, ch in zip(lengths, chains, strict=True):
            S = len(ch.labels)
            cv = np.c_[x[r0:r0 + T, : S - 1], np.ones(T)]
            cuts = np.unique(np.r_[0.0, cv.ravel(), 1.0])
            acc = np.zeros((T, S))
            for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):  # the paths are constant between cuts
                if hi <= lo:
                    continue
                st = (cv >= 0.5 * (lo + hi)).argmax(axis=1)
                assert _path_ok(ch, st)
                acc[np.arange(T), st] += hi - lo
            assert np.allclose(acc, np.diff(np.c_[np.zeros(T), cv], axis=1), atol=1e-12)
            r0 += T


def test_projection_is_the_euclidean_projection() -> None:
    """Converged Dykstra against an independent QP (cvxpy) on the same constraints: same point."""
    cp = pytest.importorskip("cvxpy")
    rng = np.random.default_rng(5)
    chains = [ordering_chain([1, 2]), ordering_chain([3])]
    lengths = [6, 4]
    poly = OrderPolytope(lengths, chains, 4)
    y = rng.normal(0.5, 0.6, size=(poly.n, poly.M))
    x = poly.project(y, poly.new_duals(), sweeps=2000)
    # independent formulation: the paths' state marginals, by flow conservation on the time-expanded chain
    best = []
    for v, (T, ch) in enumerate(zip(lengths, chains, strict=True)):
        S = len(ch.labels)
        r0 = sum(lengths[:v])
        Q = cp.Variable((T, S), nonneg=True)
        cons = [cp.sum(Q, axis=1) == 1, Q[0, 2:] == 0, Q[T - 1, : S - 2] == 0]
        C = cp.hstack([cp.reshape(cp.sum(Q[:, : m + 1], axis=1), (T, 1), order="C") for m in range(S - 1)])
        cons += [C[1:] <= C[:-1]]
        h = [j + 2 if j + 1 < S and ch.optional[j + 1] else j + 1 for j in range(S)]
        for j in range(S - 1):
            if h[j] <= S - 2:
                cons.append(C[1:, h[j]] >= C[:-1, j])
        cp.Problem(cp.Minimize(cp.sum_squares(C - y[r0:r0 + T, : S - 1])), cons).solve()
        best.append(C.value)
    ref = np.concatenate([np.c_[b, np.ones((len(b), poly.M - b.shape[1]))] for b in best])
    assert np.abs(x - ref).max() < 1e-4


def test_repair_makes_any_point_exactly_feasible() -> None:
    """The certificate's upper bound is taken at repair(c): it must be feasible whatever c is."""
    rng = np.random.default_rng(7)
    for kind in (0, 1, 2):
        chains = _random_chains(rng, kind)
        lengths = [int(rng.integers(max(c.min_frames, 2), 12)) for c in chains]
        poly = OrderPolytope(lengths, chains, 5)
        for scale in (0.01, 1.0):
            start = poly.from_states(np.zeros(poly.n, dtype=np.int64))
            x = poly.repair(start + scale * rng.normal(size=(poly.n, poly.M)))
            assert poly.violation(x) == 0.0


def test_apg_falls_back_for_chains_with_minimum_lengths() -> None:
    from wsl.solvers.ordering import OrderingProblem, solve_ordering
    from wsl.solvers.prep import standardize

    rng = np.random.default_rng(2)
    lengths = [12, 10]
    chains = [ordering_chain([1, 2], min_length=2), ordering_chain([3], min_length=3)]
    X = standardize(rng.normal(size=(22, 4)))[0]
    p = OrderingProblem(X, lengths, chains, 4, 1e-2)
    res = solve_ordering(p, p.oracle(np.zeros((22, 4))), max_iter=3000)
    assert res.active is not None and res.gap >= 0  # pairwise ran (it reports its active set)
