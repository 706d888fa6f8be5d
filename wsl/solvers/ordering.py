"""DIFFRAC under ordering constraints (Bojanowski et al. 2014): the entry point to its certified solvers.

The problem, its cached statistics (one product with X per gradient, X in float32) and its
certificate are in :mod:`wsl.solvers.ordering_problem`.

Three methods, all certified: every point Y gives f* >= f(Y) - gap(Y) (the oracle's Frank-Wolfe
gap; the tangent plane of a convex f lies below it everywhere), so the certified gap is the best
feasible objective minus the best such bound seen, f(Z) - f* <= gap.

- ``"apg"`` (default): accelerated projected gradient in order-polytope coordinates
  (:mod:`wsl.solvers.ordering_apg`). Chains outside that form (a last state that may not be stayed
  on, a state that must be left but may be skipped: none that ``ordering_chain`` makes) fall back to
  ``"pairwise"``.
- ``"pairwise"``: pairwise Frank-Wolfe; ``"fw"``: plain Frank-Wolfe with exact line search
  (:mod:`wsl.solvers.ordering_fw`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import OptimizeResult

from wsl.solvers.order_polytope import OrderPolytope
from wsl.solvers.ordering_apg import solve_apg
from wsl.solvers.ordering_fw import solve_fw
from wsl.solvers.ordering_problem import OrderingProblem


def solve_ordering(problem: OrderingProblem, labels0: np.ndarray, *, method: str = "apg", max_iter: int = 500,
                   atol: float = 0.0, rtol: float = 1e-3, max_seconds: float | None = None,
                   clock: Callable[[], float] | None = None,
                   callback: Callable[[OptimizeResult], Any] | None = None, rre: int = 10,
                   average: bool = True) -> OptimizeResult:
    """Minimise the ordering problem from the vertex ``labels0`` (N,) (each frame labelled with a
    class of its video's chain).

    Stops when the certified gap is at most ``atol + rtol * |f|``, after ``max_iter`` iterations or
    after ``max_seconds`` of ``clock`` (default wall time; ``time.process_time`` counts CPU).
    Returns an OptimizeResult (x (N, K), fun, gap certified (fun minus ``lower_bound``, the best
    bound on f* seen), fw_gap (the Frank-Wolfe gap at x), nit, success, message, history of
    (f, gap)); ``"apg"`` checks the gap every 20 iterations, also at the reduced-rank extrapolation
    of its last ``rre`` steps (0: not) and, with ``average``, at the mean of its recent iterates.
    ``callback`` gets a summary (fun, gap, nit) at every check.
    """
    import time

    if method not in ("fw", "pairwise", "apg"):
        raise ValueError(f"method must be fw, pairwise or apg, got {method!r}")
    if method == "apg" and not all(OrderPolytope.supports(ch) for ch in problem.chains):
        method = "pairwise"  # chains outside the order-polytope form (none that ordering_chain makes)
    clock = clock or time.perf_counter
    if method == "apg":
        return solve_apg(problem, labels0, max_iter=max_iter, atol=atol, rtol=rtol, max_seconds=max_seconds,
                         clock=clock, callback=callback, rre=rre, average=average)
    return solve_fw(problem, labels0, pairwise=method == "pairwise", max_iter=max_iter, atol=atol, rtol=rtol,
                    max_seconds=max_seconds, clock=clock, callback=callback)
