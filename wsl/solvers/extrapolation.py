"""Reduced-rank extrapolation (RRE) of an iterate sequence, for better certificates.

A first-order method near a polyhedral optimum moves, late in the run, almost like a linear
iteration x_{k+1} - x* ~ T (x_k - x*); RRE (Sidi's vector extrapolation) picks the affine combination
sum_i g_i x_i (sum g_i = 1) of the last m + 1 iterates whose combined differences (m of them) are
smallest, which cancels the slowest modes of T. The ordering solver evaluates the Frank-Wolfe bound f(w) - gap(w) at
the extrapolated w: that bound is valid at ANY point (f is convex and defined everywhere), and its
error is first order in the gradient's error at w, so a w nearer the optimum than any iterate gives
a tighter certificate. The window keeps only the differences (storing them, not the iterates, keeps
the digits of late, tiny steps), each as a float32 unit vector and its float64 length; the newest
iterate stays with the caller.
"""

from __future__ import annotations

import numpy as np


class RREWindow:
    """The last ``size`` differences x_{k+1} - x_k of a sequence of arrays of one shape."""

    def __init__(self, size: int = 10):
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        self.size = int(size)
        self._diffs: np.ndarray | None = None  # unit steps, float32
        self._norms = np.zeros(self.size)  # their lengths
        self._gram = np.zeros((self.size, self.size))
        self._count = 0  # differences pushed

    @property
    def full(self) -> bool:
        return self._count >= self.size

    def push(self, new: np.ndarray, old: np.ndarray) -> None:
        """Record the step from ``old`` to ``new`` (the oldest recorded step drops out when full)."""
        d = np.subtract(new, old, dtype=np.float64).ravel()
        if self._diffs is None or self._diffs.shape[1] != d.size:
            self._diffs = np.zeros((self.size, d.size), dtype=np.float32)
            self._norms = np.zeros(self.size)
            self._count = 0
        slot = self._count % self.size
        norm = float(np.sqrt(d @ d))
        # kept as a unit vector and its norm: late steps are tiny, and float32 products of tiny entries
        # fall into denormals, which made one step's bookkeeping 5x a whole iteration; entries below
        # 1e-12 of the step count for nothing in its direction
        if norm > 0:
            d /= norm
            d[np.abs(d) < 1e-12] = 0.0
        self._diffs[slot] = d
        self._norms[slot] = norm
        # one float32 GEMV per step (float64 copies of the window would cost more than the step);
        # a rounded Gram matrix only makes w a little less good, never the bound invalid
        n = min(self._count + 1, self.size)
        row = (self._diffs[:n] @ self._diffs[slot]).astype(np.float64) * self._norms[:n] * norm
        self._gram[slot, :n] = row
        self._gram[:n, slot] = row
        self._count += 1

    def extrapolate(self, newest: np.ndarray) -> np.ndarray | None:
        """The RRE point from the recorded steps that end at ``newest``; None until the window is full.

        With differences u_0..u_{m-1} (oldest first) ending at x_m = newest, the iterates are
        x_i = x_m - sum_{j >= i} u_j; the combination sum g_i x_i with sum g = 1 minimising
        ||sum g_i u_i|| is x_m - sum_j b_j u_j, b_j = sum_{i <= j} g_i."""
        if not self.full or self._diffs is None:
            return None
        m = self.size
        order = [(self._count + j) % m for j in range(m)]  # slots, oldest first
        G = self._gram[np.ix_(order, order)]
        scale = float(np.trace(G)) / m
        if not scale > 0:
            return np.array(newest, dtype=np.float64)
        # min g^T G g s.t. 1^T g = 1: g ~ G^-1 1 (least squares: G is often near singular)
        A = np.block([[G / scale, np.ones((m, 1))], [np.ones((1, m)), np.zeros((1, 1))]])
        g = np.linalg.lstsq(A, np.r_[np.zeros(m), 1.0], rcond=None)[0][:m]
        b = np.cumsum(g)
        w = np.array(newest, dtype=np.float64).ravel()
        for j, slot in enumerate(order):
            w -= (b[j] * self._norms[slot]) * self._diffs[slot]
        return w.reshape(np.shape(newest))
