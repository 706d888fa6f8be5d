"""Accelerated projected gradient for the ordering problem, in the cumulative (order-polytope)
coordinates of :mod:`wsl.solvers.order_polytope`, where the projection onto each video's path polytope
is isotonic regression. The optimum of these problems is usually deep inside a face of huge dimension
(every frame a mixture of many paths), which Frank-Wolfe methods approach one vertex per iteration;
projection reaches it directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import OptimizeResult

from wsl.solvers.extrapolation import RREWindow
from wsl.solvers.ordering_problem import OrderingProblem, check_stop


def solve_apg(p: OrderingProblem, labels0: np.ndarray, *, max_iter: int, atol: float, rtol: float,
               max_seconds: float | None, callback: Callable[[OptimizeResult], Any] | None,
               clock: Callable[[], float],
               sweeps: int = 1, check_every: int = 20, rre: int = 10, average: bool = True) -> OptimizeResult:
    """Accelerated projected gradient (FISTA with gradient restart) in the cumulative coordinates c of
    :class:`~wsl.solvers.order_polytope.OrderPolytope`, each video's own step N / ||W^1/2 (c -> Z)||^2 (its
    Lipschitz constant: a diagonal metric, constant on each video, so the projection is unchanged; 1.6x
    smaller certificates after 1,000 iterations than one step for all; backtracking from a quarter of
    the common step bought nothing), the projection by
    warm-started Dykstra (one sweep per iteration: the increments carry over, so the sweeps
    accumulate across iterations). Every ``check_every`` iterations (a check costs two to three
    iterations: every 20 rather than 10 bought 30 % more iterations in the same CPU time and halved the
    certified gap on 100 videos) the iterate is repaired to an
    exactly feasible point (the upper bound) and the Frank-Wolfe bound f(Y) - gap(Y) <= f*, valid at
    any Y, is taken at it and at the reduced-rank extrapolation of the last ``rre`` steps
    (:mod:`wsl.solvers.extrapolation`; it pays late in a run: 6x tighter after 3,000 iterations on 20
    videos, where the bound at FISTA's momentum point gained nothing) and, with ``average``, at the mean of
    the iterates over a window that restarts once it spans more than half the run (the iterates circle
    the optimal set, so the mean's gradient is nearer the optimum's: 2-3x tighter after 1,000-1,500
    iterations on 100 videos, docs/benchmarks.md 2i); the certified gap is the best upper bound minus
    the best lower bound. The result's ``c`` is the last iterate in those coordinates
    (nearly feasible; :meth:`~wsl.solvers.order_polytope.OrderPolytope.repair` makes it exact), for a
    caller's own bound (benchmarks/bench_ordering_relaxation.py)."""
    start = clock()
    poly = p.polytope()
    curv = poly.row_curvature(p.w)  # (N, 1): each video's own Lipschitz constant, times N
    curv = np.maximum(curv, 1e-9 * float(curv.max(initial=1.0)))  # a larger one is valid too: no 1/0 at zero weights
    step = p.n / curv
    onehot = np.zeros((p.n, p.K))
    onehot[np.arange(p.n), np.asarray(labels0, dtype=np.int64)] = 1.0
    c = poly.from_states(p._plan.decode_states(-onehot)[1])  # the vertex nearest labels0
    del onehot
    duals = poly.new_duals()
    # the iterates' class marginals and gradient live on the support cells (each video's frames times its
    # own classes): both products with X then do a quarter of the dense products' work
    sup = p.support()
    sc = sup.state_cells(poly.lab, poly.real_states())
    best_Z = poly.to_cells(c, sc, sup.n_cells)  # the best exactly feasible point, on the cells (smaller than c)
    U, col, _ = p.stats_cells(sup, best_Z)
    c_prev, U_prev, col_prev = c, U, col
    t_k = 1.0
    best_f, best_fw = np.inf, np.inf
    best_lb = -np.inf
    window = RREWindow(rre) if rre else None
    acc = np.zeros_like(c) if average else None  # the sum of the iterates since acc_start
    acc_start = 0
    cells = np.flatnonzero(poly.valid).astype(np.int32 if poly.valid.size < 2**31 else np.int64)  # the free cells
    history: list[tuple[float, float]] = []
    success, message, nit, gap = False, "maximum number of iterations reached", 0, np.inf
    for nit in range(max_iter + 1):
        if nit % check_every == 0 or nit == max_iter:
            w = window.extrapolate(c.ravel()[cells]) if window is not None else None
            if w is not None:  # the bound at the extrapolated iterate (need not be feasible)
                w_c = c.copy()
                w_c.ravel()[cells] = w
                del w
                Zw = poly.to_cells(w_c, sc, sup.n_cells)
                del w_c  # before the oracle's tables: the solve's peak memory is at this check
                f_w, fw_w = p.value_and_gap(sup, Zw)
                del Zw
                best_lb = max(best_lb, f_w - fw_w)
            n_in = nit - acc_start
            if acc is not None and n_in >= check_every:
                acc /= n_in  # the mean in place: no (N, M) temporary at the check, where the solve's memory peaks
                Za = poly.to_cells(acc, sc, sup.n_cells)
                f_a, fw_a = p.value_and_gap(sup, Za)
                del Za
                best_lb = max(best_lb, f_a - fw_a)
                if n_in > nit // 2:  # the window restarts once it spans more than half the run
                    acc[:] = 0.0
                    acc_start = nit
                else:
                    acc *= n_in
            Zf = poly.to_cells(poly.repair(c), sc, sup.n_cells)
            f_f, fw_f = p.value_and_gap(sup, Zf)
            lb = f_f - fw_f
            best_lb = max(best_lb, lb)
            if f_f < best_f:
                best_f, best_Z, best_fw = f_f, Zf, fw_f
            gap = best_f - best_lb
            stop = check_stop(history, callback, best_f, gap, nit, atol=atol, rtol=rtol, max_iter=max_iter,
                              max_seconds=max_seconds, elapsed=clock() - start)
            if stop is not None:
                success, message = stop
                break
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t_k * t_k))
        beta = (t_k - 1.0) / t_next
        y = c - c_prev
        y *= beta
        y += c
        Zy = poly.to_cells(y, sc, sup.n_cells)
        Uy, coly = (1 + beta) * U - beta * U_prev, (1 + beta) * col - beta * col_prev
        Gy = p.grad_cells(sup, Zy, p._solve(Uy), coly)
        del Zy
        g_c = poly.grad_c_cells(Gy, sc)
        g_c *= step
        y -= g_c
        del g_c
        del Gy
        c_new = poly.project(y, duals, sweeps, overwrite=True)
        del y
        # restart when the momentum points against the step taken (O'Donoghue-Candes), in the steps' metric:
        # <c_new - c, c - c_prev> < 0 with each row weighted by its curvature (row dot products: no temporaries)
        rows_dot = (np.einsum("ij,ij->i", c_new, c) - np.einsum("ij,ij->i", c_new, c_prev)
                    - np.einsum("ij,ij->i", c, c) + np.einsum("ij,ij->i", c, c_prev))
        if float(rows_dot @ curv[:, 0]) < 0:
            t_next = 1.0
        if window is not None:
            window.push(c_new.ravel()[cells], c.ravel()[cells])  # the free cells only: 0.6 of N x M here
        c_prev, U_prev, col_prev = c, U, col
        c = c_new
        if acc is not None:
            acc += c
        U, col, _ = p.stats_cells(sup, poly.to_cells(c, sc, sup.n_cells))
        t_k = t_next
    return OptimizeResult(x=sup.dense(best_Z), fun=best_f, gap=best_f - best_lb, nit=nit, success=success,
                          message=message, history=np.array(history).reshape(-1, 2), lower_bound=best_lb,
                          fw_gap=best_fw, active=None, seconds=clock() - start, c=c)
