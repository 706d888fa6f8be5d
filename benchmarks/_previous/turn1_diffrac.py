"""The DIFFRAC cost (Bach & Harchaoui 2007) as an operator: never form the N x N matrix B.

For features X (N x d) and an assignment Z (N x K),

    f(Z) = min_{W, b} 1/(2N) ||Z - X W - 1 b^T||_F^2 + lam/2 ||W||_F^2 = 1/2 tr(Z^T B Z),
    B = (1/N) (P - P X (X^T P X + N lam I)^-1 X^T P),  P = I - 11^T / N.

Only the d x d matrix ``X^T P X + N lam I`` is factored (once); applying B to a direction costs
O(N d K). Optional extras, all keeping the cost quadratic: per-class weights on the squared loss
(class balancing), and a linear term <C, Z> (Bojanowski 2014's kappa on the background column).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.linalg


class DiffracCost:
    """f(Z) = 1/2 sum_k w_k z_k^T B z_k + <C, Z>, with B built from ``X`` and ridge ``lam``.

    ``class_weights`` (K,) scale each column's squared loss; ``linear`` is a (K,) vector applied to
    every row or an (N, K) matrix. ``blocks`` (row slices, e.g. one per video) enable the block
    methods used by block-coordinate Frank-Wolfe.
    """

    def __init__(self, X: np.ndarray, lam: float = 1e-3, class_weights: np.ndarray | None = None,
                 linear: np.ndarray | None = None, blocks: Sequence[slice] | None = None):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] < 2:
            raise ValueError(f"X must be (N, d) with N >= 2, got shape {X.shape}")
        if lam <= 0:
            raise ValueError(f"lam must be positive, got {lam}")
        self.n, self.d = X.shape
        self.lam = float(lam)
        self.x_mean = X.mean(axis=0)
        self.Xc = X - self.x_mean  # = P X
        gram = self.Xc.T @ self.Xc
        gram[np.diag_indices_from(gram)] += self.n * self.lam
        self._chol = scipy.linalg.cho_factor(gram, lower=True, check_finite=False)
        self.class_weights = None if class_weights is None else np.asarray(class_weights, dtype=np.float64)
        self.linear = None if linear is None else np.asarray(linear, dtype=np.float64)
        self.blocks = list(blocks) if blocks is not None else None
        self._state: dict[str, np.ndarray] | None = None

    # -- the operator --------------------------------------------------------------------------
    def _solve(self, R: np.ndarray) -> np.ndarray:
        return scipy.linalg.cho_solve(self._chol, R, check_finite=False)

    def apply_B(self, Z: np.ndarray) -> np.ndarray:
        """B Z in O(N d K)."""
        Zc = Z - Z.mean(axis=0)
        return (Zc - self.Xc @ self._solve(self.Xc.T @ Zc)) / self.n

    def _weighted(self, M: np.ndarray) -> np.ndarray:
        return M if self.class_weights is None else M * self.class_weights

    def _linear_term(self, Z: np.ndarray) -> float:
        if self.linear is None:
            return 0.0
        if self.linear.ndim == 1:
            return float(Z.sum(axis=0) @ self.linear)
        return float(np.vdot(self.linear, Z))

    def _linear_grad(self, shape: tuple[int, ...], rows: slice | None = None) -> np.ndarray | float:
        if self.linear is None:
            return 0.0
        if self.linear.ndim == 1:
            return np.broadcast_to(self.linear, shape)
        return self.linear if rows is None else self.linear[rows]

    def f_grad(self, Z: np.ndarray) -> tuple[float, np.ndarray]:
        """Objective and gradient at Z."""
        BZ = self._weighted(self.apply_B(Z))
        return 0.5 * float(np.vdot(Z, BZ)) + self._linear_term(Z), BZ + self._linear_grad(Z.shape)

    def __call__(self, Z: np.ndarray) -> float:
        return self.f_grad(Z)[0]

    def curvature(self, D: np.ndarray) -> float:
        """<D, H D> for the Hessian H of f: the exact line search of a quadratic needs nothing else."""
        return float(np.vdot(D, self._weighted(self.apply_B(D))))

    def classifier(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ridge classifier (W (d, K), b (K,)) that attains the minimum for this Z."""
        Z = np.asarray(Z, dtype=np.float64)
        z_mean = Z.mean(axis=0)
        W = self._solve(self.Xc.T @ (Z - z_mean))
        return W, z_mean - self.x_mean @ W

    def scores(self, Z: np.ndarray, X: np.ndarray | None = None) -> np.ndarray:
        """Classifier scores X W + b of the classifier fit to Z (on the training X by default)."""
        W, b = self.classifier(Z)
        if X is None:
            return self.Xc @ W + (b + self.x_mean @ W)
        return np.asarray(X, dtype=np.float64) @ W + b

    # -- block-coordinate interface (Lacoste-Julien et al. 2013) -------------------------------
    # State: V = M^-1 Xc^T Z (d x K) and the column sums of Z, so that a block's gradient costs
    # O(T_i d K) and a block update O(T_i d K + d^2 K) instead of O(N d K).
    def start(self, Z: np.ndarray) -> None:
        """Remember Z (a copy) and the summaries the block methods update."""
        if self.blocks is None:
            raise ValueError("block methods need DiffracCost(..., blocks=[slice, ...])")
        Z = np.array(Z, dtype=np.float64)
        self._state = {"Z": Z, "V": self._solve(self.Xc.T @ Z), "s": Z.sum(axis=0)}

    @property
    def x(self) -> np.ndarray:
        assert self._state is not None, "call start() first"
        return self._state["Z"]

    def block_grad(self, i: int) -> np.ndarray:
        """Gradient of f with respect to the rows of block i, at the current point."""
        st = self._state
        assert st is not None and self.blocks is not None, "call start() first"
        rows = self.blocks[i]
        Zi = st["Z"][rows]
        g = (Zi - st["s"] / self.n - self.Xc[rows] @ st["V"]) / self.n
        return self._weighted(g) + self._linear_grad(Zi.shape, rows)

    def block_curvature(self, i: int, Di: np.ndarray) -> float:
        """<D, H D> for a direction D that is zero outside block i (given as its rows Di)."""
        assert self.blocks is not None
        rows = self.blocks[i]
        col = Di.sum(axis=0)
        u = self.Xc[rows].T @ Di
        per_class = (Di * Di).sum(axis=0) - col * col / self.n - (u * self._solve(u)).sum(axis=0)
        w = 1.0 if self.class_weights is None else self.class_weights
        return float(np.sum(w * per_class)) / self.n

    def block_step(self, i: int, Di: np.ndarray, gamma: float) -> None:
        """Move block i of the current point by gamma * Di."""
        st = self._state
        assert st is not None and self.blocks is not None
        rows = self.blocks[i]
        st["Z"][rows] += gamma * Di
        st["V"] += gamma * self._solve(self.Xc[rows].T @ Di)
        st["s"] += gamma * Di.sum(axis=0)

    def value(self) -> float:
        """f at the current point of the block state."""
        st = self._state
        assert st is not None
        Z = st["Z"]
        w = 1.0 if self.class_weights is None else self.class_weights
        # tr(Z^T B Z) per column = (||z||^2 - (1^T z)^2/N - z^T Xc V) / N
        per_class = (Z * Z).sum(axis=0) - st["s"] ** 2 / self.n - ((self.Xc.T @ Z) * st["V"]).sum(axis=0)
        return 0.5 * float(np.sum(w * per_class)) / self.n + self._linear_term(Z)


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(N,) integer labels -> (N, K) float64 0/1 matrix."""
    labels = np.asarray(labels)
    Z = np.zeros((labels.shape[0], n_classes))
    Z[np.arange(labels.shape[0]), labels] = 1.0
    return Z


def balanced_class_weights(counts: np.ndarray, power: float = 1.0) -> np.ndarray:
    """Weights proportional to (N / (K count_k))^power, so rare classes' squared loss is not drowned out."""
    counts = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)
    w = (counts.sum() / (len(counts) * counts)) ** power
    return w / w.mean()
