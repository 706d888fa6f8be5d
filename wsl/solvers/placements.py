"""Block-coordinate pairwise Frank-Wolfe for DIFFRAC over one placement polytope per video: the default
solver of the narration problem (:mod:`wsl.solvers.narration`), whose vertices place each of K steps
on one frame of a video."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.optimize import OptimizeResult

from wsl.solvers.diffrac import DiffracCost


class _ActivePlacements:
    """The active set of one video in block pairwise Frank-Wolfe: placements (K,) frame indices,
    -1 for "not placed" (rows of ``P``), and their convex weights ``w``. A placement's inner product
    with a gradient is a gather of K entries, so the away step never forms dense vertices."""

    def __init__(self, pos: np.ndarray):
        self.P = np.asarray(pos, dtype=np.int64)[None, :].copy()
        self.w = np.ones(1)
        self.index = {self.P[0].tobytes(): 0}

    def away(self, g_ext: np.ndarray) -> int:
        """The active placement with the largest <g, v> (``g_ext``: the gradient with a zero row appended)."""
        return int(np.argmax(g_ext[self.P, np.arange(self.P.shape[1])].sum(axis=1)))

    def move(self, j: int, s: np.ndarray, gamma: float) -> None:
        key = s.tobytes()
        k = self.index.get(key)
        if k is None:
            k = len(self.w)
            self.P = np.vstack([self.P, s[None, :]])
            self.w = np.append(self.w, 0.0)
            self.index[key] = k
        self.w[k] += gamma
        self.w[j] -= gamma
        if self.w[j] <= 1e-15 and j != k:  # a drop step: forget the placement
            del self.index[self.P[j].tobytes()]
            last = len(self.w) - 1
            if j != last:  # the last one takes the freed row
                self.P[j], self.w[j] = self.P[last], self.w[last]
                self.index[self.P[j].tobytes()] = j
            self.P, self.w = self.P[:last], self.w[:last]


class _PlacementState:
    """The iterate of the block solvers over placements, with the cheap statistics of the DIFFRAC cost.

    f(Z) = 1/(2N) sum_k (||z_k||^2 - (1^T z_k)^2 / N - u_k^T M^-1 u_k) + <C, Z>, with U = Xc^T Z and
    M = Xc^T Xc + N lam I. Keeping U, W = M^-1 U and the column sums makes a video's gradient
    O(T_i d K), and a pairwise direction (at most 2K nonzero entries) a gather: its curvature and the
    step cost O(d K + d^2 K), with no pass over the video's frames.
    """

    def __init__(self, cost: DiffracCost, Z: np.ndarray):
        import scipy.linalg

        assert cost.blocks is not None
        self.blocks: list[slice] = cost.blocks
        self.n = cost.n
        self.Xc = cost.Xc
        gram = self.Xc.T @ self.Xc
        gram[np.diag_indices_from(gram)] += self.n * cost.lam
        self._chol = scipy.linalg.cho_factor(gram, lower=True, check_finite=False)
        self._cho_solve = scipy.linalg.cho_solve
        self.linear = None if cost.linear is None else np.broadcast_to(cost.linear, Z.shape)
        self.Z = np.array(Z, dtype=np.float64)
        self.U = self.Xc.T @ self.Z
        self.W = self._solve(self.U)
        self.s = self.Z.sum(axis=0)

    def _solve(self, R: np.ndarray) -> np.ndarray:
        return self._cho_solve(self._chol, R, check_finite=False)

    def grad(self, i: int) -> np.ndarray:
        b = self.blocks[i]
        g = (self.Z[b] - self.s / self.n - self.Xc[b] @ self.W) / self.n
        return g if self.linear is None else g + self.linear[b]

    def value(self) -> float:
        per = (self.Z * self.Z).sum() - float(self.s @ self.s) / self.n - float((self.U * self.W).sum())
        lin = 0.0 if self.linear is None else float(np.vdot(self.linear, self.Z))
        return 0.5 * per / self.n + lin

    def pair(self, i: int, s: np.ndarray, v: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """For the direction vertex(s) - vertex(v) in video i: its curvature <D, H D>, and what the
        step needs (the column sums of D, Xc^T D, M^-1 Xc^T D)."""
        ps, pv = s >= 0, v >= 0
        start = self.blocks[i].start
        u = (self.Xc[start + np.maximum(s, 0)] * ps[:, None] - self.Xc[start + np.maximum(v, 0)] * pv[:, None]).T
        col = ps.astype(np.float64) - pv
        sq = float(np.sum(ps) + np.sum(pv) - 2 * np.sum(ps & pv & (s == v)))
        Mu = self._solve(u)
        return (sq - float(col @ col) / self.n - float((u * Mu).sum())) / self.n, col, u, Mu

    def step(self, i: int, s: np.ndarray, v: np.ndarray, gamma: float, col: np.ndarray, u: np.ndarray,
             Mu: np.ndarray) -> None:
        Zb = self.Z[self.blocks[i]]
        k = np.arange(len(s))
        Zb[s[s >= 0], k[s >= 0]] += gamma
        Zb[v[v >= 0], k[v >= 0]] -= gamma
        self.U += gamma * u
        self.W += gamma * Mu
        self.s += gamma * col


def block_pairwise_frank_wolfe(cost: DiffracCost, lmo: Callable[[int, np.ndarray], np.ndarray],
                               x0: Sequence[np.ndarray], *, max_iter: int = 300, rtol: float = 1e-3,
                               seed: int = 0, inner: int = 10, focus: bool = True,
                               callback: Callable[[OptimizeResult], Any] | None = None) -> OptimizeResult:
    """Block-coordinate pairwise Frank-Wolfe (Osokin et al. 2016) over one placement polytope per video.

    ``lmo(i, g_i)`` returns video i's best placement (K,) for the gradient rows g_i; ``x0[i]`` a
    starting placement. Each pass visits the videos in a random order (``seed``) and makes up to
    ``inner`` pairwise steps in each (moving weight from the worst active placement to the oracle's,
    exact line search): unlike plain block FW, which zig-zags towards an optimum inside a face and
    stalls at a few per cent, the pairwise steps converge linearly on polytopes. The iterate keeps
    M^-1 Xc^T Z and the column sums (:class:`_PlacementState`), so a step costs O(T_i d K + d^2 K).
    Stops when the certified duality gap (recomputed exactly at the end of a pass that estimates it
    small enough) is at most ``rtol * |f|``; ``nit`` counts passes. With ``focus`` each pass then
    visits again the videos whose gap is above the mean, largest first (the gap concentrates in a few
    videos; gap-based block choice as in Osokin et al. 2016).
    """
    assert cost.blocks is not None
    blocks = cost.blocks
    K = len(x0[0])
    Z0 = np.zeros((cost.n, K))
    for b, p in zip(blocks, x0, strict=True):
        Z0[b] = placement_vertex(p, b.stop - b.start)
    st = _PlacementState(cost, Z0)
    active = [_ActivePlacements(p) for p in x0]
    rng = np.random.default_rng(seed)
    nb = len(blocks)
    history: list[tuple[float, float]] = []
    success, message = False, "iteration limit reached"
    fun, gap, it = st.value(), np.inf, 0
    cols = np.arange(K)
    zero_row = np.zeros((1, K))

    def visit(i: int) -> float:
        """Up to ``inner`` pairwise steps in video i; returns its Frank-Wolfe gap before them."""
        b = blocks[i]
        first = 0.0
        for rep in range(inner):
            g = st.grad(i)
            g_ext = np.vstack([g, zero_row])
            s = lmo(i, g)
            gs = float(g_ext[s, cols].sum())
            fw_gap = float(np.vdot(g, st.Z[b])) - gs
            if rep == 0:
                first = fw_gap
            if fw_gap <= 0:
                break
            act = active[i]
            j = act.away(g_ext)
            v = act.P[j]
            slope = gs - float(g_ext[v, cols].sum())
            if slope >= 0 or np.array_equal(v, s):
                break
            curv, col, u, Mu = st.pair(i, s, v)
            gmax = act.w[j]
            gamma = gmax if curv <= 0 else min(gmax, -slope / curv)
            st.step(i, s, v, gamma, col, u, Mu)
            act.move(j, s, gamma)
        return first

    block_gap = np.zeros(nb)
    for it in range(1, max_iter + 1):
        for i in rng.permutation(nb):
            block_gap[i] = visit(int(i))
        gap = float(block_gap.sum())
        if focus and gap > rtol * abs(st.value()):
            # the gap sits in a few videos (long ones, crowded steps): visit those above the mean again
            for i in np.argsort(-block_gap):
                if block_gap[i] <= gap / nb:
                    break
                visit(int(i))
        fun = st.value()
        history.append((fun, gap))
        if callback is not None:
            callback(OptimizeResult(x=st.Z.copy(), fun=fun, gap=gap, nit=it))
        if gap <= rtol * abs(fun):
            exact = _exact_gap(st, lmo)
            if exact <= rtol * abs(fun):
                gap = exact
                success, message = True, "duality gap below tolerance"
                break
    if not success:
        gap = _exact_gap(st, lmo)
    return OptimizeResult(x=st.Z.copy(), fun=fun, gap=gap, nit=it, success=success, message=message,
                          history=np.array(history).reshape(-1, 2))


def _exact_gap(st: _PlacementState, lmo: Callable[[int, np.ndarray], np.ndarray]) -> float:
    """The Frank-Wolfe duality gap at the current point: sum over videos of <g_i, x_i - s_i> >= f - f*."""
    total = 0.0
    for i, b in enumerate(st.blocks):
        g = st.grad(i)
        p = lmo(i, g)
        placed = p >= 0
        total += float(np.vdot(g, st.Z[b])) - float(g[p[placed], np.flatnonzero(placed)].sum())
    return total


def placement_vertex(pos: np.ndarray, n_frames: int) -> np.ndarray:
    Z = np.zeros((n_frames, len(pos)))
    placed = pos >= 0
    Z[pos[placed], np.flatnonzero(placed)] = 1.0
    return Z
