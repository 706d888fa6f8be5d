"""Frank-Wolfe solvers of the ordering problem (:class:`~wsl.solvers.ordering_problem.OrderingProblem`).

- pairwise Frank-Wolfe (Lacoste-Julien & Jaggi 2015): vertices are kept as label vectors (one int per
  frame), so the active set costs N bytes per vertex and a pairwise direction touches only the frames
  where two vertices differ;
- plain Frank-Wolfe with exact line search: a new vertex's Xc^T S is gathered from the last one's
  over the frames whose label changed.

Z and the gradient are kept on the support cells (each video's frames times its own classes), and
V = M^-1 U is carried along (one d x d solve per iteration).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from scipy.optimize import OptimizeResult

from wsl.solvers.ordering_problem import OrderingProblem, check_stop


def solve_fw(p: OrderingProblem, labels0: np.ndarray, *, pairwise: bool, max_iter: int, atol: float, rtol: float,
             max_seconds: float | None, clock: Callable[[], float],
             callback: Callable[[OptimizeResult], Any] | None) -> OptimizeResult:
    """Plain or pairwise Frank-Wolfe from the vertex ``labels0``; arguments and result as
    :func:`wsl.solvers.ordering.solve_ordering` (``clock`` given)."""
    N, K = p.n, p.K
    rows = np.arange(N)
    sup = p.support()
    lab0 = np.asarray(labels0, dtype=np.int64)
    if lab0.shape != (N,) or not sup.holds(lab0):
        raise ValueError("labels0 must give every frame one of the classes of its video's chain")
    Zs = np.zeros(sup.n_cells)
    Zs[sup.index(rows, lab0)] = 1.0
    U = p.gather(lab0)
    V = p._solve(U)
    colsum = np.bincount(lab0, minlength=K).astype(np.float64)
    sq = colsum.copy()
    # the last vertex and its Xc^T S: the next vertex's differs on the frames whose label changed
    # (a few percent after the first iterations), gathered afresh every `_REGATHER` iterations
    last_lab, last_U, last_full = lab0, U.copy(), 0
    # active set of the pairwise method: label vectors and their weights
    active = _ActiveLabels(lab0)
    history: list[tuple[float, float]] = []
    start = clock()
    success, message, gap, fun, nit = False, "maximum number of iterations reached", np.inf, np.inf, 0
    # the certificate: every point Y gives f* >= f(Y) - gap(Y); keep the best such bound over the
    # iterates (their running average, tried too, gave no better one)
    best_lb, fw_gap = -np.inf, np.inf
    for nit in range(max_iter + 1):
        fun = p.quad(sq, colsum, U, V) + float(colsum @ p.c)
        Gs = p.grad_cells(sup, Zs, V, colsum)
        s_lab, _, s_cost = p._plan.solve_cells(Gs, sup.dp_index, partial(sup.dense, Gs, np.inf))
        fw_gap = float(Gs @ Zs) - s_cost  # s_cost = <G, S>
        best_lb = max(best_lb, fun - fw_gap)
        gap = fun - best_lb
        stop = check_stop(history, callback, fun, gap, nit, atol=atol, rtol=rtol, max_iter=max_iter,
                          max_seconds=max_seconds, elapsed=clock() - start)
        if stop is not None:
            success, message = stop
            break
        if not pairwise:
            a_lab, gmax, j = None, 1.0, -1
        else:
            j, a_lab, gmax = active.away(partial(sup.score, Gs))
        # direction D = S - A (A = Z for plain FW): its summaries without forming it densely
        if a_lab is None:
            slope = -fw_gap  # <G, S - Z> at this iterate (the certified gap may be smaller)
            if nit - last_full >= _REGATHER:
                sU, last_full = p.gather(s_lab), nit
            else:
                moved = np.flatnonzero(s_lab != last_lab)
                sU = last_U + p.gather(s_lab[moved], moved, minus=last_lab[moved])
            last_lab, last_U = s_lab, sU
            dU = sU - U
            s_cnt = np.bincount(s_lab, minlength=K).astype(np.float64)
            dcol = s_cnt - colsum
            s_cells = sup.index(rows, s_lab)
            zs = np.bincount(s_lab, weights=Zs[s_cells], minlength=K)
            dsq = s_cnt - 2 * zs + sq  # ||s - z||^2 per column
            zd = zs - sq  # <z, d> per column
        else:
            diff = np.flatnonzero(s_lab != a_lab)
            if len(diff) == 0:
                success, message = True, "no descent direction"
                break
            ls, la = s_lab[diff], a_lab[diff]
            s_cells, a_cells = sup.index(diff, ls), sup.index(diff, la)
            slope = float(Gs[s_cells].sum() - Gs[a_cells].sum())
            if slope >= 0:
                success, message = True, "no descent direction"
                break
            dU = p.gather(ls, diff, minus=la)
            cs, ca = np.bincount(ls, minlength=K).astype(np.float64), np.bincount(la, minlength=K).astype(np.float64)
            dcol = cs - ca
            dsq = cs + ca
            zd = (np.bincount(ls, weights=Zs[s_cells], minlength=K)
                  - np.bincount(la, weights=Zs[a_cells], minlength=K)).astype(np.float64)
        del Gs
        dV = p._solve(dU)
        curv = float(np.sum(p.w * (dsq - dcol * dcol / N - (dU * dV).sum(axis=0)))) / N
        gamma = gmax if curv <= 0 else min(gmax, -slope / curv)
        if a_lab is None:
            Zs *= 1 - gamma
            Zs[s_cells] += gamma
        else:
            Zs[s_cells] += gamma
            Zs[a_cells] -= gamma
            active.move(j, s_lab, gamma)
        sq += 2 * gamma * zd + gamma * gamma * dsq
        U += gamma * dU
        V += gamma * dV
        colsum += gamma * dcol
    return OptimizeResult(x=sup.dense(Zs), fun=fun, gap=gap, nit=nit, success=success, message=message,
                          history=np.array(history).reshape(-1, 2), lower_bound=best_lb, fw_gap=fw_gap,
                          active=active.size if pairwise else None,
                          seconds=clock() - start)


_REGATHER = 64  # plain FW: a vertex's Xc^T S gathered in full every this many iterations, else by its changes


class _ActiveLabels:
    """The pairwise method's active set: vertices as rows of a label matrix (found again by their
    bytes), their convex weights, and free slots reused after a drop step."""

    def __init__(self, labels: np.ndarray):
        self.dtype = np.int16 if int(labels.max(initial=0)) < 32000 else np.int32
        self.V = np.zeros((8, len(labels)), dtype=self.dtype)
        self.V[0] = labels
        self.w = np.zeros(8)
        self.w[0] = 1.0
        self.index: dict[bytes, int] = {self.V[0].tobytes(): 0}
        self.used = 1

    @property
    def size(self) -> int:
        return int((self.w > 0).sum())

    def away(self, score: Callable[[np.ndarray], np.ndarray]) -> tuple[int, np.ndarray, float]:
        """The active vertex with the largest <G, v> (``score`` gives it for a stack of label
        vectors), its labels and weight."""
        n = self.used
        # in chunks of vertices: scoring all at once would grow with the active set (160 MB at 250
        # vertices of 80,000 frames)
        scores = np.concatenate([score(self.V[i:min(i + 16, n)].astype(np.int64)) for i in range(0, n, 16)])
        scores[self.w[:n] <= 0] = -np.inf
        j = int(np.argmax(scores))
        return j, self.V[j].astype(np.int64), float(self.w[j])

    def move(self, j: int, s_lab: np.ndarray, gamma: float) -> None:
        row = s_lab.astype(self.dtype)
        key = row.tobytes()
        k = self.index.get(key)
        if k is None:
            free = np.flatnonzero(self.w[: self.used] <= 0)
            if len(free):
                k = int(free[0])
                del self.index[self.V[k].tobytes()]
            else:
                if self.used == len(self.w):
                    self.V = np.concatenate([self.V, np.zeros_like(self.V)])
                    self.w = np.concatenate([self.w, np.zeros_like(self.w)])
                k = self.used
                self.used += 1
            self.V[k] = row
            self.index[key] = k
        self.w[k] += gamma
        self.w[j] -= gamma
        if self.w[j] <= 1e-12 and j != k:
            self.w[j] = 0.0
