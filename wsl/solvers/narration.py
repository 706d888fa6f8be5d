"""Stage 2 of `wsl discover-steps`: where each of K ordered steps happens in each video (Alayrac 2016).

Discriminative clustering (DIFFRAC) over all videos' frames with one column per step: Z[t, k] = 1
marks the frame of video n where step k happens. Per video the steps keep their order, each is
placed once (or at most once), and a step narrated at time s is placed within ``window`` seconds
of its narration. These are exactly the vertices of :func:`narration_lmo` (below), so
the relaxed problem is solved by block-coordinate pairwise Frank-Wolfe (one block per video) and rounded by
the same oracle, applied to the relaxed Z and to the classifier's scores (the better objective wins);
with "at most once" also with each (video, step) kept where its relaxed mass in the video is at least
1/2 and placed at its best frame (frame-by-frame rounding leaves out a step whose mass is spread).

Two baselines for the benchmark: each narrated step at its narration time, and the K steps spread
uniformly over the video.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from wsl.errors import BadInput
from wsl.progress import warn
from wsl.solvers._threads import few_blas_threads
from wsl.solvers.diffrac import DiffracCost, one_hot
from wsl.solvers.frank_wolfe import block_frank_wolfe, frank_wolfe
from wsl.solvers.placements import block_pairwise_frank_wolfe, placement_vertex
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
            return placement_vertex(place(i, g), lengths[i])

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
                x0 = np.concatenate([placement_vertex(p, lengths[n]) for n, p in enumerate(p0)])
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

            def placed_labels(rel: np.ndarray, present: list[np.ndarray] | None = None) -> np.ndarray:
                """Labels (column K = "no step here") of each video's cheapest placement for the
                costs ``rel`` (N, K); ``present``: per video, exactly these steps placed."""
                out = np.full(rel.shape[0], K, dtype=np.int64)
                for n, b in enumerate(blocks):
                    pos = _ordered_lmo(rel[b], windows[n], order_list[n], self.at_most_once, names[n],
                                       None if present is None else present[n])
                    placed = pos >= 0
                    out[b.start + pos[placed]] = np.flatnonzero(placed)
                return out

            def labels_of(G: np.ndarray) -> np.ndarray:  # G (N, K + 1), its last column "no step here"
                return placed_labels(G[:, :K] - G[:, K:])

            rest_cost = _RestColumn(cost)
            labels, self.rounding_, f_best = round_assignment(_with_rest(res.x), rest_cost, labels_of)  # type: ignore[arg-type]
            if self.at_most_once:
                # Per-frame rounding places a step only where one frame holds most of a video's mass,
                # so a step whose relaxed weight in a video is spread over frames is always left out.
                # Decide presence per (video, step) from its total relaxed mass, then place.
                present = [res.x[b].sum(axis=0) >= 0.5 for b in blocks]
                for name, G in (("mass, nearest", -res.x), ("mass, classifier", -cost.scores(res.x))):
                    cand = placed_labels(G, present)
                    f = rest_cost(one_hot(cand, K + 1))
                    if f < f_best:
                        labels, self.rounding_, f_best = cand, name, f
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


def _ordered_lmo(cost: np.ndarray, windows: Sequence[tuple[int, int] | None], order: Sequence[int],
                 at_most_once: bool, name: str, present: np.ndarray | None = None) -> np.ndarray:
    """:func:`narration_lmo` with the steps in this video's own order; positions indexed by step.
    ``present`` (K,) bool: place exactly these steps (narrated ones included) and leave out the rest."""
    order = list(order)
    required = None
    if present is not None:
        keep = np.asarray(present, dtype=bool) | np.array([w is not None for w in windows])
        cost = np.where(keep[None, :], cost, _INF)
        required = keep[order]
    pos = narration_lmo(cost[:, order], [windows[k] for k in order], at_most_once, required=required, name=name)
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
