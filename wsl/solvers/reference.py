"""cvxpy formulations of the bags and ordering DIFFRAC problems, independent checks of the solvers.

The lifted form keeps the classifier as variables (Z, W, b) instead of writing 1/2 tr(Z^T B Z)
with ``quad_form`` on the dense N x N matrix B, which is orders of magnitude faster for cvxpy.
cvxpy (the ``reference`` extra) is imported here only, inside the functions: never on a user's path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def bags_reference(X: np.ndarray, n_classes: int, bags: Sequence[Sequence[int]], bag_labels: Sequence[Sequence[int]],
                   lam: float = 1e-3, allowed: np.ndarray | None = None, class_weights: np.ndarray | None = None,
                   linear: np.ndarray | None = None, solver: str | None = None,
                   solver_options: dict[str, Any] | None = None) -> tuple[float, np.ndarray]:
    """Minimise the DIFFRAC cost over {Z >= 0, rows sum to 1, every bag's labels at least once}.

    Returns (objective, Z). The same objective as :class:`wsl.solvers.diffrac.DiffracCost` with the
    same ``lam``, ``class_weights`` and ``linear`` term. ``solver_options`` go to the solver (e.g. a
    time limit: CLARABEL ``time_limit``, SCS ``time_limit_secs``); a solve stopped by one raises
    RuntimeError naming the status.
    """
    cp = _cvxpy()

    X = np.asarray(X, dtype=np.float64)
    N, d = X.shape
    K = n_classes
    w = np.ones(K) if class_weights is None else np.asarray(class_weights, dtype=np.float64)
    Z = cp.Variable((N, K), nonneg=True)
    W = cp.Variable((d, K))
    b = cp.Variable(K)
    R = Z - X @ W - np.ones((N, 1)) @ cp.reshape(b, (1, K), order="C")
    sw = np.sqrt(w)
    obj = cp.sum_squares(R @ np.diag(sw)) / (2 * N) + lam / 2 * cp.sum_squares(W @ np.diag(sw))
    if linear is not None:
        C = np.broadcast_to(np.asarray(linear, dtype=np.float64), (N, K))
        obj = obj + cp.sum(cp.multiply(C, Z))
    cons = [cp.sum(Z, axis=1) == 1]
    if allowed is not None:
        mask = ~np.asarray(allowed, dtype=bool)
        if mask.any():
            cons.append(cp.multiply(mask.astype(float), Z) == 0)
    for rows, need in zip(bags, bag_labels, strict=True):
        for lab in set(int(x) for x in need):
            cons.append(cp.sum(Z[list(rows), lab]) >= 1)
    prob = cp.Problem(cp.Minimize(obj), cons)
    prob.solve(solver=solver or "CLARABEL", **(solver_options or {}))
    if prob.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"cvxpy: {prob.status}")
    return float(prob.value), np.asarray(Z.value)


def ordering_reference(X: np.ndarray, lengths: Sequence[int], chains: Sequence[Any], n_classes: int,
                       lam: float = 1e-2, class_weights: np.ndarray | None = None,
                       linear: np.ndarray | None = None, solver: str | None = None) -> tuple[float, np.ndarray]:
    """Minimise the DIFFRAC cost over the product of the videos' path polytopes, written as flows.

    Each video's feasible paths through its chain (see :class:`wsl.solvers.chains.Chain`) are the
    source-to-sink paths of a time x state graph; the path polytope is the set of unit flows, and
    Z[t, k] sums the flow through the states labelled k at time t. Independent of the dynamic
    programme, so it checks both the oracle and the solvers. Returns (objective, Z).
    """
    import scipy.sparse as sp

    cp = _cvxpy()

    X = np.asarray(X, dtype=np.float64)
    N, d = X.shape
    K = n_classes
    z_rows: list[int] = []
    z_cols: list[int] = []
    z_edges: list[int] = []
    a_rows: list[int] = []
    a_cols: list[int] = []
    a_vals: list[float] = []
    rhs: list[float] = []
    n_edges = 0
    n_nodes = 0
    offset = 0
    for T, ch in zip(lengths, chains, strict=True):
        S = len(ch.labels)
        node = {(t, s): n_nodes + t * S + s for t in range(T) for s in range(S)}
        n_nodes += T * S
        src = n_nodes  # one source and one sink node per video
        snk = n_nodes + 1
        n_nodes += 2
        edges: list[tuple[int, int, tuple[int, int] | None]] = []  # (from, to, (t, s) of the head)
        starts = [0] + ([1] if S >= 2 and ch.optional[0] else [])
        ends = [S - 1] + ([S - 2] if S >= 2 and ch.optional[S - 1] else [])
        for s in starts:
            edges.append((src, node[0, s], (0, s)))
        for t in range(T - 1):
            for s in range(S):
                if ch.stay[s]:
                    edges.append((node[t, s], node[t + 1, s], (t + 1, s)))
                if s + 1 < S:
                    edges.append((node[t, s], node[t + 1, s + 1], (t + 1, s + 1)))
                if s + 2 < S and ch.optional[s + 1]:
                    edges.append((node[t, s], node[t + 1, s + 2], (t + 1, s + 2)))
        for s in ends:
            edges.append((node[T - 1, s], snk, None))
        for e, (a, b, head) in enumerate(edges):
            a_rows += [a, b]
            a_cols += [n_edges + e] * 2
            a_vals += [-1.0, 1.0]
            if head is not None:
                z_rows.append(offset + head[0])
                z_cols.append(int(ch.labels[head[1]]))
                z_edges.append(n_edges + e)
        rhs_v = np.zeros(T * S + 2)
        rhs_v[T * S] = -1.0
        rhs_v[T * S + 1] = 1.0
        rhs += rhs_v.tolist()
        n_edges += len(edges)
        offset += T
    A = sp.csr_matrix((a_vals, (a_rows, a_cols)), shape=(n_nodes, n_edges))
    # Z (flattened row-major) = M f
    M = sp.csr_matrix((np.ones(len(z_edges)), (np.array(z_rows) * K + np.array(z_cols), z_edges)),
                      shape=(N * K, n_edges))
    f = cp.Variable(n_edges, nonneg=True)
    zflat = M @ f
    Z = cp.reshape(zflat, (N, K), order="C")
    W = cp.Variable((d, K))
    b = cp.Variable(K)
    w = np.ones(K) if class_weights is None else np.asarray(class_weights, dtype=np.float64)
    sw = np.sqrt(w)
    R = Z - X @ W - np.ones((N, 1)) @ cp.reshape(b, (1, K), order="C")
    obj = cp.sum_squares(R @ np.diag(sw)) / (2 * N) + lam / 2 * cp.sum_squares(W @ np.diag(sw))
    if linear is not None:
        obj = obj + cp.sum(Z @ np.asarray(linear, dtype=np.float64))
    prob = cp.Problem(cp.Minimize(obj), [A @ f == np.array(rhs)])
    prob.solve(solver=solver or "CLARABEL")
    if prob.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"cvxpy: {prob.status}")
    return float(prob.value), np.asarray(M @ f.value).reshape(N, K)


def _cvxpy() -> Any:
    from wsl.errors import require

    require("cvxpy", "the cvxpy reference solver", "reference")
    import cvxpy

    return cvxpy
