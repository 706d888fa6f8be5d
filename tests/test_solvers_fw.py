"""DIFFRAC operator identities, and Frank-Wolfe reaching the cvxpy optimum."""

from __future__ import annotations

import numpy as np
import pytest

from wsl.solvers.chain_oracle import ordering_lmo_batch
from wsl.solvers.chains import ordering_chain
from wsl.solvers.diffrac import DiffracCost, one_hot
from wsl.solvers.frank_wolfe import block_frank_wolfe, frank_wolfe
from wsl.solvers.oracles import bags_lmo
from wsl.solvers.rounding import round_assignment


def _dense_B(X: np.ndarray, lam: float) -> np.ndarray:
    N, d = X.shape
    P = np.eye(N) - np.ones((N, N)) / N
    return (P - P @ X @ np.linalg.solve(X.T @ P @ X + N * lam * np.eye(d), X.T @ P)) / N


def test_operator_matches_dense_formula_and_classifier() -> None:
    rng = np.random.default_rng(0)
    X, Z = rng.normal(size=(30, 4)), rng.random((30, 3))
    lam = 0.05
    cost = DiffracCost(X, lam)
    B = _dense_B(X, lam)
    assert np.allclose(cost.apply_B(Z), B @ Z)
    f, g = cost.f_grad(Z)
    assert f == pytest.approx(0.5 * np.trace(Z.T @ B @ Z))
    assert np.allclose(g, B @ Z)
    W, b = cost.classifier(Z)
    direct = np.sum((Z - X @ W - b) ** 2) / (2 * 30) + lam / 2 * np.sum(W**2)
    assert direct == pytest.approx(f)
    D = rng.normal(size=Z.shape)
    assert cost.curvature(D) == pytest.approx(np.trace(D.T @ B @ D))


def test_block_methods_agree_with_full_operator() -> None:
    rng = np.random.default_rng(1)
    X, Z = rng.normal(size=(20, 3)), rng.random((20, 4))
    blocks = [slice(0, 7), slice(7, 20)]
    w, lin = rng.random(4) + 0.5, rng.normal(size=4)
    cost = DiffracCost(X, 0.1, class_weights=w, linear=lin, blocks=blocks)
    st = cost.block_state(Z)
    f, g = cost.f_grad(Z)
    assert st.value() == pytest.approx(f)
    assert np.allclose(st.block_grad(1), g[blocks[1]])
    D = np.zeros_like(Z)
    D[blocks[0]] = rng.normal(size=(7, 4))
    assert st.block_curvature(0, D[blocks[0]]) == pytest.approx(cost.curvature(D))
    st.block_step(0, D[blocks[0]], 0.3)
    assert st.value() == pytest.approx(cost(Z + 0.3 * D))
    assert not hasattr(cost, "_state")  # the iterate lives in the state object, not in the cost


def _bag_problem(seed: int):
    rng = np.random.default_rng(seed)
    N, K, d = 36, 4, 5
    y = rng.integers(0, K, N)
    X = rng.normal(size=(K, d))[y] * 1.5 + rng.normal(size=(N, d))
    bags = [list(range(i, i + 6)) for i in range(0, N, 6)]
    need = [sorted({int(y[i]) for i in b if y[i] > 0}) for b in bags]
    allowed = np.ones((N, K), bool)
    for b, n in zip(bags, need, strict=True):
        allowed[b] = False
        allowed[np.ix_(b, [0, *n])] = True
    return X, K, bags, need, allowed


@pytest.mark.parametrize("seed", [0, 1])
def test_frank_wolfe_reaches_cvxpy_optimum(seed: int) -> None:
    pytest.importorskip("cvxpy")
    from wsl.solvers.reference import bags_reference

    X, K, bags, need, allowed = _bag_problem(seed)
    lam = 1e-2
    ref, _ = bags_reference(X, K, bags, need, lam, allowed)
    cost = DiffracCost(X, lam)

    def lmo(G: np.ndarray) -> np.ndarray:
        return one_hot(bags_lmo(G, bags, need, allowed), K)

    x0 = lmo(np.zeros((len(X), K)))
    res = frank_wolfe(cost.f_grad, lmo, x0, max_iter=5000, rtol=1e-3, curvature=cost.curvature, pairwise=True)
    assert res.success, res.message
    assert abs(res.fun - ref) / abs(ref) <= 1e-3
    assert res.gap >= -1e-12 and res.history.shape[1] == 2
    # the rounding is feasible and no better than the relaxation
    labels, _, f = round_assignment(res.x, cost, lambda G: bags_lmo(G, bags, need, allowed))
    assert all(set(n) <= set(labels[b].tolist()) for b, n in zip(bags, need, strict=True))
    assert allowed[np.arange(len(X)), labels].all()
    assert f >= res.fun - 1e-9


def test_block_frank_wolfe_matches_frank_wolfe_on_ordering() -> None:
    rng = np.random.default_rng(4)
    trs = [[1, 2, 3], [2, 3], [1, 3], [1, 2]]
    lengths = [12, 9, 10, 8]
    X = rng.normal(size=(sum(lengths), 6))
    ends = np.cumsum(lengths)
    blocks = [slice(int(a), int(b)) for a, b in zip(np.r_[0, ends[:-1]], ends, strict=True)]
    chains = [ordering_chain(t) for t in trs]
    K = 4
    cost = DiffracCost(X, 1e-2, blocks=blocks)

    def lmo(G: np.ndarray) -> np.ndarray:
        return one_hot(np.concatenate(ordering_lmo_batch([G[b] for b in blocks], chains)), K)

    x0 = lmo(rng.normal(size=(len(X), K)))
    full = frank_wolfe(cost.f_grad, lmo, x0, max_iter=3000, rtol=1e-3, curvature=cost.curvature, pairwise=True)
    blk = block_frank_wolfe(cost, lambda i, g: one_hot(ordering_lmo_batch([g], [chains[i]])[0], K), x0,
                            max_epochs=1000, atol=1e-3 * cost(x0), rtol=0.0, seed=0)
    assert full.success and blk.success
    # each gap bounds its distance to the optimum, so the two objectives agree within the larger gap
    assert abs(blk.fun - full.fun) <= blk.gap + full.gap + 1e-12
    assert blk.gap <= 1e-3 * cost(x0)


def test_ordering_plain_fw_takes_the_exact_line_search_step() -> None:
    """solve_ordering's plain FW (cached statistics) follows the dense textbook FW with exact line
    search iterate for iterate: its step uses the Frank-Wolfe gap at the iterate, not the certified
    gap (which the best earlier bound can make smaller)."""
    from wsl.solvers.chains import ordering_chain
    from wsl.solvers.diffrac import one_hot
    from wsl.solvers.frank_wolfe import frank_wolfe
    from wsl.solvers.ordering import solve_ordering
    from wsl.solvers.ordering_problem import OrderingProblem
    from wsl.solvers.prep import blocks_from_lengths, standardize

    rng = np.random.default_rng(5)
    V, K, d = 6, 5, 4
    lengths = rng.integers(8, 14, V)
    trs = [list(rng.integers(1, K, size=int(rng.integers(1, 4)))) for _ in range(V)]
    X = standardize(rng.normal(size=(int(lengths.sum()), d)))[0]
    chains = [ordering_chain(t) for t in trs]
    p = OrderingProblem(X, lengths, chains, K, 1e-2)
    lab0 = p.oracle(np.zeros((int(lengths.sum()), K)))
    ours = solve_ordering(p, lab0, method="fw", max_iter=40, rtol=0.0)
    cost = DiffracCost(X, 1e-2, blocks=blocks_from_lengths(lengths))
    ref = frank_wolfe(cost.f_grad, lambda G: one_hot(p.oracle(G), K), one_hot(lab0, K), max_iter=40, rtol=0.0,
                      curvature=cost.curvature)
    assert ours.nit == ref.nit == 40
    assert ours.fun == pytest.approx(ref.fun, rel=1e-5)
