"""The order-polytope form of the ordering paths (wsl.solvers.order_polytope): the constraint set is
exactly the convex hull of the chain's paths, the repair is exactly feasible, the projection is one."""

from __future__ import annotations

import numpy as np
import pytest

from wsl.solvers.chain_oracle import RaggedChains
from wsl.solvers.chains import Chain, ordering_chain
from wsl.solvers.order_polytope import OrderPolytope


def _path_ok(ch: Chain, states: np.ndarray) -> bool:
    S = len(ch.labels)
    if states[0] not in ({0, 1} if ch.optional[0] else {0}):
        return False
    if states[-1] not in ({S - 1, S - 2} if ch.optional[S - 1] else {S - 1}):
        return False
    for a, b in zip(states[:-1], states[1:], strict=True):
        if not ((b == a and ch.stay[a]) or b == a + 1 or (b == a + 2 and ch.optional[a + 1])):
            return False
    return True


def _random_chains(rng: np.random.Generator, kind: int) -> list[Chain]:
    chains = []
    for _ in range(3):
        tr = [int(x) for x in rng.integers(1, 5, size=int(rng.integers(1, 4)))]
        # kind 3: min_length actions (their first frames' states must be left at once), with and without
        # background, so that a state to be left can also come first
        mins = [int(m) for m in rng.integers(1, 4, size=len(tr))] if kind == 3 else 1
        ch = ordering_chain(tr, background=None if kind == 2 or (kind == 3 and rng.random() < 0.5) else 0,
                            min_length=mins)
        if kind == 1:  # optional states anywhere (never two in a row, as the oracle allows one skip)
            opt = rng.random(len(ch.labels)) < 0.4
            opt[1:] &= ~opt[:-1]
            ch = Chain(ch.labels, opt, ch.stay)
        chains.append(ch)
    return chains


@pytest.mark.parametrize("kind", [0, 1, 2, 3])
def test_constraints_are_the_convex_hull_of_the_paths(kind: int) -> None:
    rng = np.random.default_rng(kind)
    for _ in range(8):
        chains = _random_chains(rng, kind)
        lengths = [int(rng.integers(max(c.min_frames, 2), max(c.min_frames, 2) + 7)) for c in chains]
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
    for kind in (0, 1, 2, 3):
        chains = _random_chains(rng, kind)
        lengths = [int(rng.integers(max(c.min_frames, 2), max(c.min_frames, 2) + 10)) for c in chains]
        poly = OrderPolytope(lengths, chains, 5)
        for scale in (0.01, 1.0):
            start = poly.from_states(np.zeros(poly.n, dtype=np.int64))
            x = poly.repair(start + scale * rng.normal(size=(poly.n, poly.M)))
            assert poly.violation(x) == 0.0


def test_apg_solves_chains_with_minimum_lengths() -> None:
    """States that must be left (min_length > 1) are constraints of the order polytope too: APG runs
    on them (no fallback) and reaches the independent flow formulation's optimum, certified."""
    pytest.importorskip("cvxpy")
    from wsl.solvers.ordering import solve_ordering
    from wsl.solvers.ordering_problem import OrderingProblem
    from wsl.solvers.prep import standardize
    from wsl.solvers.reference import ordering_reference

    rng = np.random.default_rng(2)
    lengths = [12, 10, 9]
    chains = [ordering_chain([1, 2], min_length=2), ordering_chain([3], min_length=3),
              ordering_chain([2, 3], background=None, min_length=[3, 2])]
    X = standardize(rng.normal(size=(31, 4)))[0]
    p = OrderingProblem(X, lengths, chains, 4, 1e-2)
    res = solve_ordering(p, p.oracle(np.zeros((31, 4))), max_iter=20000, rtol=1e-4)
    f_ref, _ = ordering_reference(X, lengths, chains, 4, 1e-2)
    assert res.active is None  # APG ran (pairwise reports its active set)
    assert res.success and res.lower_bound <= f_ref + 1e-9
    assert res.fun - f_ref <= 1e-3 * f_ref + 1e-9


def test_chains_outside_the_form_fall_back_to_pairwise() -> None:
    """A state that must be left but may be skipped has no order-polytope form here: pairwise runs."""
    from wsl.solvers.ordering import solve_ordering
    from wsl.solvers.ordering_problem import OrderingProblem
    from wsl.solvers.prep import standardize

    odd = Chain(np.array([0, 1, 2, 0]), np.array([True, True, False, True]), np.array([True, False, True, True]))
    assert not OrderPolytope.supports(odd)
    assert all(OrderPolytope.supports(ordering_chain([1, 2], min_length=m)) for m in (1, 3))
    assert OrderPolytope.supports(ordering_chain([1, 2], background=None, min_length=[2, 3]))
    with pytest.raises(ValueError, match="skippable"):
        OrderPolytope([8], [odd], 3)
    rng = np.random.default_rng(4)
    X = standardize(rng.normal(size=(8, 3)))[0]
    p = OrderingProblem(X, [8], [odd], 3, 1e-2)
    res = solve_ordering(p, p.oracle(np.zeros((8, 3))), max_iter=200)
    assert res.active is not None  # pairwise ran (it reports its active set)
