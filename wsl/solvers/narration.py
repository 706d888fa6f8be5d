"""Stage 2 of `wsl discover-steps`: where each of K ordered steps happens in each video (Alayrac 2016).

Discriminative clustering (DIFFRAC) over all videos' frames with one column per step: Z[t, k] = 1
marks the frame of video n where step k happens. Per video the steps keep their order, each is
placed once (or at most once), and a step narrated at time s is placed within ``window`` seconds
of its narration. These are exactly the vertices of :func:`narration_lmo` (below), so
the relaxed problem is solved by block-coordinate pairwise Frank-Wolfe (one block per video) and rounded by
the same oracle, applied to the relaxed Z and to the classifier's scores (the better objective wins).

Two baselines for the benchmark: each narrated step at its narration time, and the K steps spread
uniformly over the video.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.optimize import OptimizeResult
from sklearn.base import BaseEstimator

from wsl.errors import BadInput
from wsl.progress import warn
from wsl.solvers._threads import few_blas_threads
from wsl.solvers.diffrac import DiffracCost, one_hot
from wsl.solvers.frank_wolfe import block_frank_wolfe, frank_wolfe
from wsl.solvers.prep import blocks_from_lengths, standardize
from wsl.solvers.rounding import round_assignment

Span = tuple[float, float] | None
#: Solvers of the relaxed narration problem (the first is the default; see :class:`StepLocalizer`).
METHODS = ("pairwise", "block", "joint-pairwise")
_INF = np.inf


def narration_lmo(cost: np.ndarray, windows: Sequence[tuple[int, int] | None] | None = None,
                  at_most_once: bool = False, required: Sequence[bool] | None = None,
                  name: str | None = None) -> np.ndarray:
    """Place K ordered steps on distinct frames of one video, minimising the summed cost.

    ``cost`` is (T, K): cost[t, k] of putting step k at frame t. Steps keep their order
    (t_1 < t_2 < ...). ``windows[k] = (lo, hi)`` (frames, inclusive) confines a narrated step to
    a window around its narration; ``None`` leaves it free. By default every step is placed
    exactly once; with ``at_most_once`` a step is placed only where it lowers the cost, except
    steps marked ``required`` (default: the ones with a window). Returns (K,) frame indices,
    -1 for a step not placed. The assignment matrix is Z[t, k] = 1 where ``pos[k] == t``.
    """
    cost = np.asarray(cost, dtype=np.float64)
    T, K = cost.shape
    who = f"video {name}: " if name is not None else ""
    c = cost.copy()
    if windows is not None:
        if len(windows) != K:
            raise ValueError(f"{len(windows)} windows for {K} steps")
        for k, w in enumerate(windows):
            if w is None:
                continue
            lo, hi = max(0, int(w[0])), min(T - 1, int(w[1]))
            if lo > hi:
                raise BadInput(f"{who}the window of step {k} ({w[0]}..{w[1]}) lies outside its {T} frames")
            c[:lo, k] = _INF
            c[hi + 1:, k] = _INF
    if required is None:
        req = np.ones(K, dtype=bool) if not at_most_once else np.array([w is not None for w in (windows or [None] * K)])
    else:
        req = np.asarray(required, dtype=bool)
        if req.shape != (K,):
            raise ValueError(f"required must have {K} entries")
    if int(req.sum()) > T:
        raise BadInput(f"{who}{int(req.sum())} steps must be placed but the video has only {T} frames")
    # F[k][t + 1]: best cost of steps 0..k with every placed one at a frame <= t (index 0: t = -1).
    F_prev = np.zeros(T + 1)
    frames = np.arange(T)
    placed_at = np.zeros((K, T), dtype=np.int64)  # where the prefix minimum of G_k up to t sits
    take = np.zeros((K, T), dtype=bool)  # whether step k is placed (not skipped) in F[k][t + 1]
    for k in range(K):
        G = F_prev[:-1] + c[:, k]  # step k at frame t, steps before it at frames <= t - 1
        P = np.minimum.accumulate(G)
        new_min = np.ones(T, dtype=bool)
        new_min[1:] = G[1:] < P[:-1]
        placed_at[k] = np.maximum.accumulate(np.where(new_min, frames, 0))
        F = np.empty(T + 1)
        F[0] = _INF if req[: k + 1].any() else 0.0
        if req[k]:
            take[k] = True
            F[1:] = P
        else:
            take[k] = F_prev[1:] > P
            F[1:] = np.where(take[k], P, F_prev[1:])
        F_prev = F
    if not np.isfinite(F_prev[-1]):
        raise BadInput(f"{who}no ordered placement of the required steps fits their windows")
    out = np.full(K, -1, dtype=np.int64)
    t = T - 1
    for k in range(K - 1, -1, -1):
        if t < 0:
            break
        if take[k, t]:
            out[k] = placed_at[k, t]
            t = out[k] - 1
    return out


def narration_windows(narrated: Sequence[Span], n_frames: int, fps: float, window: float
                      ) -> list[tuple[int, int] | None]:
    """Frame windows [lo, hi] (inclusive) of narrated steps: the narration widened by ``window`` seconds,
    clipped to the video (a narration past the end keeps the last frames)."""
    out: list[tuple[int, int] | None] = []
    for span in narrated:
        if span is None:
            out.append(None)
            continue
        lo = int(np.floor((span[0] - window) * fps))
        hi = int(np.ceil((span[1] + window) * fps))
        lo = min(max(lo, 0), n_frames - 1)
        hi = max(min(hi, n_frames - 1), lo)
        out.append((lo, hi))
    return out


def _vertex(pos: np.ndarray, n_frames: int) -> np.ndarray:
    Z = np.zeros((n_frames, len(pos)))
    placed = pos >= 0
    Z[pos[placed], np.flatnonzero(placed)] = 1.0
    return Z


class StepLocalizer(BaseEstimator):
    """Place K steps in each video by DIFFRAC + block Frank-Wolfe under narration constraints.

    Parameters (stored as given, checked in :meth:`fit`): ``window`` seconds around a narration;
    ``lam`` the ridge of the DIFFRAC classifier; ``at_most_once`` lets a step that a video does not
    narrate be left out of it (each placement of such a step costs ``place_cost`` of :meth:`fit`);
    Frank-Wolfe stops when its certified duality gap is at most ``tol`` times the objective (so the
    objective is within a factor 1 + tol/(1 - tol) of the optimum) or after ``max_iter`` passes over
    the videos; ``seed`` orders the visits. ``method``: "pairwise" (block-coordinate pairwise FW, the
    default: certifies 1e-3 in tens of passes), "block" (block-coordinate FW: stalls at a gap of a
    few per cent) or "joint-pairwise" (pairwise FW over all videos at once: one vertex of every video
    per iteration, so it needs many more iterations); the latter two are kept for comparison.

    After :meth:`fit`: ``positions_`` (per video (K,) frame index, -1 when not placed), ``times_``
    ((K,) seconds, NaN), ``intervals_`` (per video, per step ``(start, end)`` seconds or None),
    ``scores_`` (per video (T, K) classifier scores), ``result_`` (the Frank-Wolfe result: ``gap`` is
    certified, ``success`` False when it stopped above tolerance), ``rounding_`` (which rounding won),
    ``windows_`` (per video, per step frame windows).
    """

    def __init__(self, window: float = 10.0, lam: float = 1e-2, at_most_once: bool = True,
                 max_iter: int = 300, tol: float = 1e-3, seed: int = 0, method: str = "pairwise"):
        self.method = method
        self.window = window
        self.lam = lam
        self.at_most_once = at_most_once
        self.max_iter = max_iter
        self.tol = tol
        self.seed = seed

    def _check_params(self) -> None:
        if not self.window >= 0:
            raise BadInput(f"window must be non-negative seconds, got {self.window}", param="window")
        if not self.lam > 0:
            raise BadInput(f"lam must be positive, got {self.lam}", param="lam")
        if int(self.max_iter) < 1:
            raise BadInput(f"max_iter must be at least 1, got {self.max_iter}", param="max_iter")
        if self.method not in METHODS:
            raise BadInput(f"`method` must be one of {', '.join(METHODS)}, got {self.method!r}", param="method")
        if not self.tol >= 0:
            raise BadInput(f"tol must be non-negative, got {self.tol}", param="tol")

    def fit(self, features: Sequence[np.ndarray], fps: float | Sequence[float], narrated: Sequence[Sequence[Span]],
            names: Sequence[str] | None = None, orders: Sequence[Sequence[int]] | None = None,
            place_cost: np.ndarray | None = None, progress: Callable[[int, float, float], None] | None = None
            ) -> StepLocalizer:
        """``features[n]`` (T_n, d); ``narrated[n][k]`` the (start, end) seconds step k is narrated in
        video n, or None (K = len(narrated[n])). ``orders[n]``: the order of the steps in video n
        (default: 0..K-1 everywhere). ``place_cost`` (V, K): a cost added to the objective for
        placing step k in video n (the "not in this video" option costs 0); used with
        ``at_most_once`` for the steps a video does not narrate. ``progress(epoch, f, gap)`` is
        called after every epoch."""
        for attr in ("positions_", "times_", "intervals_", "scores_", "result_", "rounding_", "windows_"):
            self.__dict__.pop(attr, None)
        self._check_params()
        V = len(features)
        if V == 0:
            raise BadInput("no videos with features to localise steps in", param="features")
        if len(narrated) != V:
            raise ValueError(f"{len(narrated)} narration lists for {V} videos")
        fps_list = [float(fps)] * V if isinstance(fps, (int, float)) else [float(f) for f in fps]
        names = list(names) if names is not None else [f"#{n}" for n in range(V)]
        K = len(narrated[0])
        order_list = [list(range(K))] * V if orders is None else [list(o) for o in orders]
        for n, o in enumerate(order_list):
            if sorted(o) != list(range(K)):
                raise ValueError(f"video {names[n]}: the order {o} is not a permutation of the {K} steps")
        lengths = [int(f.shape[0]) for f in features]
        X, _, _ = standardize(np.concatenate([np.asarray(f, dtype=np.float64) for f in features]))
        blocks = blocks_from_lengths(lengths)
        linear = None
        if place_cost is not None:
            pc = np.asarray(place_cost, dtype=np.float64)
            if pc.shape != (V, K):
                raise ValueError(f"place_cost must be ({V}, {K}), got {pc.shape}")
            linear = np.repeat(pc, lengths, axis=0)
        windows = []
        for n in range(V):
            if len(narrated[n]) != K:
                raise ValueError(f"video {names[n]}: {len(narrated[n])} narration spans for {K} steps")
            w = narration_windows(narrated[n], lengths[n], fps_list[n], self.window)
            try:  # an ordered placement must exist; text-stage times are ordered, user input may not be
                _ordered_lmo(np.zeros((lengths[n], K)), w, order_list[n], self.at_most_once, names[n])
            except BadInput as e:
                warn(f"{e}; ignoring this video's narration windows")
                w = [None] * K
            if lengths[n] < K and not self.at_most_once:
                raise BadInput(f"video {names[n]}: {K} steps must be placed but it has only {lengths[n]} frames")
            windows.append(w)

        def place(i: int, g: np.ndarray) -> np.ndarray:
            return _ordered_lmo(g, windows[i], order_list[i], self.at_most_once, names[i])

        def lmo(i: int, g: np.ndarray) -> np.ndarray:
            return _vertex(place(i, g), lengths[i])

        # start at the placement nearest the narrations (steps at their narration, the rest spread out)
        p0 = [place(n, -self._prior(lengths[n], fps_list[n], narrated[n], order_list[n])) for n in range(V)]
        callback = None
        if progress is not None:
            def callback(r: Any) -> None:
                progress(int(r.nit), float(r.fun), float(r.gap))
        with few_blas_threads(X.shape[1]):
            cost = DiffracCost(X, lam=self.lam, blocks=blocks, linear=linear)
            if self.method == "pairwise":
                res = block_pairwise_frank_wolfe(cost, place, p0, max_iter=int(self.max_iter), rtol=float(self.tol),
                                                 seed=self.seed, callback=callback)
            else:
                x0 = np.concatenate([_vertex(p, lengths[n]) for n, p in enumerate(p0)])
                if self.method == "joint-pairwise":  # one vertex of all videos per iteration, away steps
                    def full_lmo(g: np.ndarray) -> np.ndarray:
                        return np.concatenate([lmo(n, g[b]) for n, b in enumerate(blocks)])

                    res = frank_wolfe(cost.f_grad, full_lmo, x0, max_iter=int(self.max_iter), atol=0.0,
                                      rtol=float(self.tol), step="exact", curvature=cost.curvature, pairwise=True,
                                      callback=callback)
                else:
                    res = block_frank_wolfe(cost, lmo, x0, max_epochs=int(self.max_iter), atol=0.0,
                                            rtol=float(self.tol), seed=self.seed, callback=callback)
            if not res.success:
                warn(f"the narration problem stopped after {res.nit} iterations with certified gap {res.gap:.2e} "
                     f"({res.gap / max(abs(res.fun), 1e-300):.1e} of the objective, above the tolerance "
                     f"{self.tol:g}); the placements may be off the optimum: raise the iteration limit "
                     "(max_iter / --max-iter) or the tolerance (tol / --tol)")

            def labels_of(G: np.ndarray) -> np.ndarray:  # vertex labels with column K = "no step here"
                out = np.full(G.shape[0], K, dtype=np.int64)
                rel = G[:, :K] - G[:, K:]
                for n, b in enumerate(blocks):
                    pos = _ordered_lmo(rel[b], windows[n], order_list[n], self.at_most_once, names[n])
                    placed = pos >= 0
                    out[b.start + pos[placed]] = np.flatnonzero(placed)
                return out

            labels, self.rounding_, _ = round_assignment(_with_rest(res.x), _RestColumn(cost), labels_of)  # type: ignore[arg-type]
            Y = one_hot(labels, K + 1)[:, :K]
            scores = cost.scores(Y)
        self.result_ = res
        self.windows_ = windows
        self.positions_ = [np.array([int(np.flatnonzero(Y[b, k])[0]) if Y[b, k].any() else -1 for k in range(K)])
                           for b in blocks]
        self.scores_ = [scores[b] for b in blocks]
        self.times_ = [np.where(p >= 0, p / fps_list[n], np.nan) for n, p in enumerate(self.positions_)]
        self.intervals_ = [_intervals(p, s, fps_list[n]) for n, (p, s) in enumerate(zip(self.positions_,
                                                                                         self.scores_, strict=True))]
        return self

    @staticmethod
    def _prior(n_frames: int, fps: float, narrated: Sequence[Span], order: Sequence[int]) -> np.ndarray:
        """(T, K) closeness of each frame to where a step is expected: its narration, else its share of
        the video in this video's order (the j-th of K around (j + 1/2) / K)."""
        K = len(order)
        where = {k: j for j, k in enumerate(order)}
        t = np.arange(n_frames) / fps
        P = np.empty((n_frames, K))
        for k in range(K):
            span = narrated[k]
            centre = (span[0] + span[1]) / 2 if span is not None else (where[k] + 0.5) / K * n_frames / fps
            P[:, k] = -np.abs(t - centre)
        return P - P.min() + 1.0  # positive: the at-most-once oracle places every step


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
                               seed: int = 0, inner: int = 10,
                               callback: Callable[[OptimizeResult], Any] | None = None) -> OptimizeResult:
    """Block-coordinate pairwise Frank-Wolfe (Osokin et al. 2016) over one placement polytope per video.

    ``lmo(i, g_i)`` returns video i's best placement (K,) for the gradient rows g_i; ``x0[i]`` a
    starting placement. Each pass visits the videos in a random order (``seed``) and makes up to
    ``inner`` pairwise steps in each (moving weight from the worst active placement to the oracle's,
    exact line search): unlike plain block FW, which zig-zags towards an optimum inside a face and
    stalls at a few per cent, the pairwise steps converge linearly on polytopes. The iterate keeps
    M^-1 Xc^T Z and the column sums (:class:`DiffracBlockState`), so a step costs O(T_i d K + d^2 K).
    Stops when the certified duality gap (recomputed exactly at the end of a pass that estimates it
    small enough) is at most ``rtol * |f|``; ``nit`` counts passes.
    """
    assert cost.blocks is not None
    blocks = cost.blocks
    K = len(x0[0])
    Z0 = np.zeros((cost.n, K))
    for b, p in zip(blocks, x0, strict=True):
        Z0[b] = _vertex(p, b.stop - b.start)
    st = _PlacementState(cost, Z0)
    active = [_ActivePlacements(p) for p in x0]
    rng = np.random.default_rng(seed)
    nb = len(blocks)
    history: list[tuple[float, float]] = []
    success, message = False, "iteration limit reached"
    fun, gap, it = st.value(), np.inf, 0
    cols = np.arange(K)
    zero_row = np.zeros((1, K))

    for it in range(1, max_iter + 1):
        gap = 0.0
        for i in rng.permutation(nb):
            b = blocks[i]
            for rep in range(inner):
                g = st.grad(i)
                g_ext = np.vstack([g, zero_row])
                s = lmo(i, g)
                gs = float(g_ext[s, cols].sum())
                fw_gap = float(np.vdot(g, st.Z[b])) - gs
                if rep == 0:
                    gap += fw_gap
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


def _ordered_lmo(cost: np.ndarray, windows: Sequence[tuple[int, int] | None], order: Sequence[int],
                 at_most_once: bool, name: str) -> np.ndarray:
    """:func:`narration_lmo` with the steps in this video's own order; positions indexed by step."""
    order = list(order)
    pos = narration_lmo(cost[:, order], [windows[k] for k in order], at_most_once, name=name)
    out = np.empty_like(pos)
    out[order] = pos
    return out


def _with_rest(Z: np.ndarray) -> np.ndarray:
    """Z with a last column for "no step at this frame" (1 - the row's sum), so that every vertex row
    is one-hot and :func:`wsl.solvers.rounding.round_assignment` applies."""
    return np.hstack([Z, 1.0 - Z.sum(axis=1, keepdims=True)])


class _RestColumn:
    """The DIFFRAC cost seen through :func:`_with_rest`: the last column is dropped."""

    def __init__(self, cost: DiffracCost):
        self.cost = cost

    def __call__(self, Z: np.ndarray) -> float:
        return self.cost(Z[:, :-1])

    def scores(self, Z: np.ndarray) -> np.ndarray:
        return _with_rest(self.cost.scores(Z[:, :-1]))


def _intervals(pos: np.ndarray, scores: np.ndarray, fps: float) -> list[tuple[float, float] | None]:
    """Around each placed frame, the run of frames whose score for that step stays above half the
    placed frame's score, not reaching into the neighbouring steps' frames."""
    T, K = scores.shape
    out: list[tuple[float, float] | None] = []
    placed = [int(p) for p in pos if p >= 0]
    for k in range(K):
        p = int(pos[k])
        if p < 0:
            out.append(None)
            continue
        left = max([q for q in placed if q < p], default=-1) + 1
        right = min([q for q in placed if q > p], default=T) - 1
        s = scores[:, k]
        thr = s[p] / 2 if s[p] > 0 else s[p]
        a = p
        while a - 1 >= left and s[a - 1] >= thr:
            a -= 1
        b = p
        while b + 1 <= right and s[b + 1] >= thr:
            b += 1
        out.append((a / fps, (b + 1) / fps))
    return out


def narration_baseline(narrated: Sequence[Span], duration: float) -> np.ndarray:
    """Each narrated step at the middle of its narration (clipped to the video); others not placed (NaN)."""
    return np.array([np.nan if s is None else min(max((s[0] + s[1]) / 2, 0.0), duration) for s in narrated])


def uniform_baseline(n_steps: int, duration: float) -> np.ndarray:
    """The K steps spread evenly: step k at (k + 1/2) / K of the video."""
    return (np.arange(n_steps) + 0.5) / n_steps * duration
