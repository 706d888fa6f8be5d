"""Stage 2 of `wsl discover-steps`: where each of K ordered steps happens in each video (Alayrac 2016).

Discriminative clustering (DIFFRAC) over all videos' frames with one column per step: Z[t, k] = 1
marks the frame of video n where step k happens. Per video the steps keep their order, each is
placed once (or at most once), and a step narrated at time s is placed within ``window`` seconds
of its narration. These are exactly the vertices of :func:`narration_lmo` (below), so
the relaxed problem is solved by block-coordinate Frank-Wolfe (one block per video) and rounded by
the same oracle, applied to the relaxed Z and to the classifier's scores (the better objective wins).

Two baselines for the benchmark: each narrated step at its narration time, and the K steps spread
uniformly over the video.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wsl.errors import BadInput
from wsl.progress import warn
from wsl.solvers._threads import few_blas_threads
from wsl.solvers.diffrac import DiffracCost
from wsl.solvers.frank_wolfe import block_frank_wolfe

Span = tuple[float, float] | None
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


class StepLocalizer:
    """Place K ordered steps in each video by DIFFRAC + Frank-Wolfe under narration constraints.

    Parameters: ``window`` seconds around a narration; ``lam`` the ridge of the DIFFRAC classifier;
    ``at_most_once`` lets a step that is not narrated in a video be left out of it; Frank-Wolfe stops
    after ``max_epochs`` or when its duality gap is below ``tol`` times the starting objective;
    ``seed`` orders its block visits.

    After :meth:`fit`: ``positions_`` (per video (K,) frame index, -1 when not placed), ``times_``
    ((K,) seconds, NaN), ``intervals_`` (per video, per step ``(start, end)`` seconds or None),
    ``scores_`` (per video (T, K) classifier scores), ``result_`` (the Frank-Wolfe result) and
    ``rounding_`` (which rounding won).
    """

    def __init__(self, window: float = 10.0, lam: float = 1e-2, at_most_once: bool = True,
                 max_epochs: int = 200, tol: float = 1e-2, seed: int = 0):
        self.window = window
        self.lam = lam
        self.at_most_once = at_most_once
        self.max_epochs = max_epochs
        self.tol = tol
        self.seed = seed

    def fit(self, features: Sequence[np.ndarray], fps: float | Sequence[float], narrated: Sequence[Sequence[Span]],
            n_steps: int, names: Sequence[str] | None = None) -> StepLocalizer:
        """``features[n]`` (T_n, d); ``narrated[n][k]`` the (start, end) seconds step k is narrated in
        video n, or None."""
        V = len(features)
        if V == 0:
            raise BadInput("no videos with features to localise steps in")
        if len(narrated) != V:
            raise ValueError(f"{len(narrated)} narration lists for {V} videos")
        fps_list = [float(fps)] * V if np.isscalar(fps) else [float(f) for f in fps]  # type: ignore[arg-type]
        names = list(names) if names is not None else [f"#{n}" for n in range(V)]
        K = int(n_steps)
        lengths = [int(f.shape[0]) for f in features]
        X = np.concatenate([np.asarray(f, dtype=np.float64) for f in features])
        X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-8)  # one scale for every dimension
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        blocks = [slice(int(bounds[n]), int(bounds[n + 1])) for n in range(V)]
        windows = []
        for n in range(V):
            if len(narrated[n]) != K:
                raise ValueError(f"video {names[n]}: {len(narrated[n])} narration spans for {K} steps")
            w = narration_windows(narrated[n], lengths[n], fps_list[n], self.window)
            try:  # an ordered placement must exist; text-stage times are ordered, user input may not be
                narration_lmo(np.zeros((lengths[n], K)), w, self.at_most_once, name=names[n])
            except BadInput as e:
                warn(f"{e}; ignoring this video's narration windows")
                w = [None] * K
            if lengths[n] < K and not self.at_most_once:
                raise BadInput(f"video {names[n]}: {K} steps must be placed but it has only {lengths[n]} frames")
            windows.append(w)
        self.windows_ = windows

        def lmo(i: int, g: np.ndarray) -> np.ndarray:
            return _vertex(narration_lmo(g, windows[i], self.at_most_once, name=names[i]), lengths[i])

        # start at the vertex nearest the narrations (steps at their narration, the rest spread out)
        x0 = np.concatenate([lmo(n, -self._prior(lengths[n], fps_list[n], narrated[n], K)) for n in range(V)])
        with few_blas_threads(X.shape[1]):
            cost = DiffracCost(X, lam=self.lam, blocks=blocks)
            # f* is near 0 (a good clustering fits almost exactly), so a gap relative to f never closes:
            # stop when the gap, which bounds f - f*, is below tol times the objective at the start
            res = block_frank_wolfe(cost, lmo, x0, max_epochs=self.max_epochs, atol=self.tol * cost(x0), rtol=0.0,
                                    seed=self.seed)
            Z = res.x
            scores = cost.scores(Z)
            best = None
            for how, G in (("nearest", -Z), ("classifier", -scores)):
                pos = [narration_lmo(G[blocks[n]], windows[n], self.at_most_once, name=names[n]) for n in range(V)]
                Y = np.concatenate([_vertex(p, lengths[n]) for n, p in enumerate(pos)])
                f = cost(Y)
                if best is None or f < best[0]:
                    best = (f, how, pos, Y)
            assert best is not None
            _, self.rounding_, self.positions_, Y = best
            self.scores_ = [cost.scores(Y)[b] for b in blocks]
        self.result_ = res
        self.times_ = [np.where(p >= 0, p / fps_list[n], np.nan) for n, p in enumerate(self.positions_)]
        self.intervals_ = [_intervals(p, s, fps_list[n]) for n, (p, s) in enumerate(zip(self.positions_,
                                                                                         self.scores_, strict=True))]
        return self

    @staticmethod
    def _prior(n_frames: int, fps: float, narrated: Sequence[Span], K: int) -> np.ndarray:
        """(T, K) closeness of each frame to where a step is expected: its narration, else its share of
        the video (step k of K around (k + 1/2) / K)."""
        t = np.arange(n_frames) / fps
        P = np.empty((n_frames, K))
        for k in range(K):
            span = narrated[k]
            centre = (span[0] + span[1]) / 2 if span is not None else (k + 0.5) / K * n_frames / fps
            P[:, k] = -np.abs(t - centre)
        return P - P.min() + 1.0  # positive: the at-most-once oracle places every step


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
