"""A cvxpy formulation of the at-least-one (bags) DIFFRAC problem, for checking Frank-Wolfe.

The lifted form keeps the classifier as variables (Z, W, b) instead of writing 1/2 tr(Z^T B Z)
with ``quad_form`` on the dense N x N matrix B, which is orders of magnitude faster for cvxpy.
cvxpy is imported here only, never at CLI start-up.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def bags_reference(X: np.ndarray, n_classes: int, bags: Sequence[Sequence[int]], bag_labels: Sequence[Sequence[int]],
                   lam: float = 1e-3, allowed: np.ndarray | None = None, class_weights: np.ndarray | None = None,
                   linear: np.ndarray | None = None, solver: str | None = None) -> tuple[float, np.ndarray]:
    """Minimise the DIFFRAC cost over {Z >= 0, rows sum to 1, every bag's labels at least once}.

    Returns (objective, Z). The same objective as :class:`wsl.solvers.diffrac.DiffracCost` with the
    same ``lam``, ``class_weights`` and ``linear`` term.
    """
    import cvxpy as cp

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
    prob.solve(solver=solver or "CLARABEL")
    if prob.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"cvxpy: {prob.status}")
    return float(prob.value), np.asarray(Z.value)
