"""Frank-Wolfe with a pluggable linear minimisation oracle, and its block-coordinate variant.

The shape follows ``scipy.optimize``: the objective and the oracle are functions, the answer is an
``OptimizeResult`` (x, fun, gap, nit, success, message, history). The duality gap
<grad f(x), x - s> bounds f(x) - f* from above, so it is the stopping rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from scipy.optimize import OptimizeResult

FGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]
LMO = Callable[[np.ndarray], np.ndarray]


def _stop(gap: float, fun: float, atol: float, rtol: float) -> bool:
    return gap <= atol + rtol * abs(fun)


def frank_wolfe(f_grad: FGrad, lmo: LMO, x0: np.ndarray, *, max_iter: int = 1000, atol: float = 0.0,
                rtol: float = 1e-6, step: str = "exact", curvature: Callable[[np.ndarray], float] | None = None,
                pairwise: bool = False, callback: Callable[[OptimizeResult], Any] | None = None) -> OptimizeResult:
    """Minimise a smooth convex f over the convex hull of the oracle's vertices.

    ``lmo(g)`` returns a vertex s minimising <g, s>; ``x0`` must be feasible (a vertex, ideally).
    ``step``: "exact" (quadratics: gamma = -<g, d> / <d, H d>, with ``curvature(d) = <d, H d>``),
    "backtracking" (Armijo halving on f) or "default" (2 / (k + 2)). Stops when the gap is at most
    ``atol + rtol * |f|``. ``pairwise=True`` keeps the active set of vertices and moves weight
    from the worst one to the oracle's (pairwise FW, Lacoste-Julien & Jaggi 2015): linear
    convergence on polytopes, at the cost of storing the vertices; x0 must then be a vertex.
    """
    if step == "exact" and curvature is None:
        raise ValueError("step='exact' needs curvature(d) = <d, H d>")
    x = np.array(x0, dtype=np.float64)
    fun, g = f_grad(x)
    history: list[tuple[float, float]] = []
    active = _ActiveSet(x) if pairwise else None
    gap = np.inf
    success = False
    message = "maximum number of iterations reached"
    nit = 0
    for nit in range(1, max_iter + 1):
        s = lmo(g)
        gap = float(np.vdot(g, x - s))
        history.append((fun, gap))
        if _stop(gap, fun, atol, rtol):
            success, message = True, "duality gap below tolerance"
            nit -= 1
            break
        if active is not None:
            j, v_away, gmax = active.away(g)  # the active vertex with the largest <g, v> gives up weight
            d = s - v_away
        else:
            d = s - x
            gmax = 1.0
        slope = float(np.vdot(g, d))
        if slope >= 0:  # no descent left along d (can happen in pairwise mode at numerical precision)
            success, message = True, "no descent direction"
            break
        if step == "exact":
            curv = curvature(d)  # type: ignore[misc]
            gamma = gmax if curv <= 0 else min(gmax, -slope / curv)
        elif step == "backtracking":
            gamma = gmax
            while gamma > 1e-10 and f_grad(x + gamma * d)[0] > fun + 0.5 * gamma * slope:
                gamma *= 0.5
        elif step == "default":
            gamma = min(gmax, 2.0 / (nit + 1))
        else:
            raise ValueError(f"unknown step rule {step!r}")
        x += gamma * d
        if active is not None:
            active.move(j, s, gamma)
        fun, g = f_grad(x)
        if callback is not None:  # a copy: the callback cannot change the iterate
            callback(OptimizeResult(x=x.copy(), fun=fun, gap=gap, nit=nit))
    return OptimizeResult(x=x, fun=fun, gap=gap, nit=nit, success=success, message=message,
                          history=np.array(history).reshape(-1, 2))


class _ActiveSet:
    """Vertices (rows of a matrix, found again by their bytes) and their convex weights; the slot of
    a vertex whose weight drops to zero is reused, so memory follows the active set's size."""

    def __init__(self, x0: np.ndarray):
        self.shape = x0.shape
        self.V = np.zeros((16, x0.size))
        self.V[0] = x0.ravel()
        self.w = np.zeros(16)
        self.w[0] = 1.0
        self.n = 1  # slots used so far (some may be free)
        self.keys: list[bytes | None] = [x0.tobytes()] + [None] * 15
        self.index = {self.keys[0]: 0}
        self.free: list[int] = []

    def away(self, g: np.ndarray) -> tuple[int, np.ndarray, float]:
        scores = self.V[: self.n] @ g.ravel()
        scores[self.w[: self.n] <= 0] = -np.inf
        j = int(np.argmax(scores))
        return j, self.V[j].reshape(self.shape), float(self.w[j])

    def move(self, j: int, s: np.ndarray, gamma: float) -> None:
        key = s.tobytes()
        k = self.index.get(key)
        if k is None:
            if self.free:
                k = self.free.pop()
            else:
                if self.n == len(self.w):  # grow
                    self.V = np.concatenate([self.V, np.zeros_like(self.V)])
                    self.w = np.concatenate([self.w, np.zeros_like(self.w)])
                    self.keys += [None] * (len(self.w) - len(self.keys))
                k = self.n
                self.n += 1
            self.V[k] = s.ravel()
            self.keys[k] = key
            self.index[key] = k
        self.w[k] += gamma
        self.w[j] -= gamma
        if self.w[j] <= 1e-15 and j != k:  # a drop step: forget the vertex
            self.w[j] = 0.0
            del self.index[self.keys[j]]
            self.keys[j] = None
            self.free.append(j)


class BlockState(Protocol):
    """The iterate of a block-coordinate solve: where it is and how to move one block."""

    blocks: list[slice]

    @property
    def x(self) -> np.ndarray: ...
    def block_grad(self, i: int) -> np.ndarray: ...
    def block_curvature(self, i: int, d: np.ndarray) -> float: ...
    def block_step(self, i: int, d: np.ndarray, gamma: float) -> None: ...
    def value(self) -> float: ...


class BlockObjective(Protocol):
    """What block-coordinate Frank-Wolfe needs from a (quadratic) objective over a product of blocks:
    a fresh iterate per solve (the objective itself keeps none)."""

    def block_state(self, x: np.ndarray) -> BlockState: ...


def block_frank_wolfe(obj: BlockObjective, block_lmo: Callable[[int, np.ndarray], np.ndarray], x0: np.ndarray, *,
                      max_epochs: int = 100, atol: float = 0.0, rtol: float = 1e-6, seed: int = 0,
                      callback: Callable[[OptimizeResult], Any] | None = None) -> OptimizeResult:
    """Block-coordinate Frank-Wolfe (Lacoste-Julien et al. 2013) with exact line search per block.

    The domain is a product of one polytope per block (a video); ``block_lmo(i, g_i)`` returns a
    vertex of block i. Each epoch visits every block once in a random order (``seed``); the full
    duality gap is the sum of the block gaps measured during an epoch, so it is an estimate made
    while x moves; the gap returned is always an exact one (computed at the end), so it certifies
    f(x) - f* <= gap.
    """
    rng = np.random.default_rng(seed)
    st = obj.block_state(x0)
    nb = len(st.blocks)
    history: list[tuple[float, float]] = []
    success, message = False, "maximum number of epochs reached"
    gap = np.inf
    fun = st.value()
    epoch = 0
    for epoch in range(1, max_epochs + 1):
        gap = 0.0
        for i in rng.permutation(nb):
            g = st.block_grad(i)
            s = block_lmo(i, g)
            d = s - st.x[st.blocks[i]]
            slope = float(np.vdot(g, d))
            gap -= slope
            if slope >= 0:
                continue
            curv = st.block_curvature(i, d)
            gamma = 1.0 if curv <= 0 else min(1.0, -slope / curv)
            st.block_step(i, d, gamma)
        fun = st.value()
        history.append((fun, gap))
        if callback is not None:
            callback(OptimizeResult(x=st.x.copy(), fun=fun, gap=gap, nit=epoch))
        if _stop(gap, fun, atol, rtol):
            exact = _exact_block_gap(st, block_lmo)
            if _stop(exact, fun, atol, rtol):
                gap = exact
                success, message = True, "duality gap below tolerance"
                break
    if not success and max_epochs > 0:  # report a certified gap, not the estimate made while x moved
        gap = _exact_block_gap(st, block_lmo)
    return OptimizeResult(x=st.x.copy(), fun=fun, gap=gap, nit=epoch, success=success, message=message,
                          history=np.array(history).reshape(-1, 2))


def _exact_block_gap(st: BlockState, block_lmo: Callable[[int, np.ndarray], np.ndarray]) -> float:
    total = 0.0
    for i in range(len(st.blocks)):
        g = st.block_grad(i)
        total += float(np.vdot(g, st.x[st.blocks[i]] - block_lmo(i, g)))
    return total
