"""Exact linear minimisation oracles: given a cost matrix G (T x K), the feasible 0/1 assignment
Z minimising <G, Z>, returned as labels (one per row) or as step positions.

- :func:`ordering_lmo` — Bojanowski et al. 2014: a monotone path through [bg, a1, bg, a2, ..., aL, bg];
  every listed action gets at least one frame (or ``min_length``), in order; background optional
  between. Dynamic programming in O(T S) over S path states, vectorised over states and batched
  over videos (:func:`ordering_lmo_batch`).
- :func:`narration_lmo` — Alayrac et al. 2016: K steps, each placed on exactly one frame per video
  (or at most once), in order, a narrated step only inside its time window. O(T K).
- :func:`bags_lmo` — Bojanowski et al. 2013: one label per row, and every label listed for a bag
  appears at least once in it (exact, through ``linear_sum_assignment``).
- :func:`row_lmo` — one label per row, nothing else.

Infeasible constraints raise :class:`~wsl.errors.BadInput` naming the video or bag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from wsl.errors import BadInput

_INF = np.inf


# ---------------------------------------------------------------------------------------------
# Ordering (a chain of states)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Chain:
    """A left-to-right path of states: each state's label, whether it may be skipped (optional),
    and whether the path may stay on it for more than one frame. A path starts at the first
    non-skipped state, moves to the next state or (over one optional state) the one after."""

    labels: np.ndarray  # (S,) int
    optional: np.ndarray  # (S,) bool
    stay: np.ndarray  # (S,) bool

    @property
    def min_frames(self) -> int:
        return int((~self.optional).sum())


def ordering_chain(transcript: Sequence[int], background: int | None = 0, min_length: int | Sequence[int] = 1,
                   gaps: bool = True) -> Chain:
    """The chain [bg, a1, bg, a2, ..., aL, bg] of a transcript (bg states optional).

    ``background=None`` or ``gaps=False``: no background states (a1, a2, ... back to back).
    A transcript entry equal to ``background`` is a required background segment. ``min_length``
    (one int, or one per transcript entry) expands an action into that many states, so each
    segment lasts at least that many frames, still exactly and in O(T S).
    """
    if len(transcript) == 0:
        raise ValueError("empty transcript")
    mins = [int(min_length)] * len(transcript) if np.isscalar(min_length) else [int(m) for m in min_length]
    if len(mins) != len(transcript) or min(mins) < 1:
        raise ValueError("min_length must be >= 1, one value or one per transcript entry")
    labels: list[int] = []
    optional: list[bool] = []
    stay: list[bool] = []
    use_bg = background is not None and gaps

    def bg() -> None:
        labels.append(int(background))  # type: ignore[arg-type]
        optional.append(True)
        stay.append(True)

    for a, m in zip(transcript, mins, strict=True):
        if use_bg:
            bg()
        labels.extend([int(a)] * m)
        optional.extend([False] * m)
        stay.extend([False] * (m - 1) + [True])
    if use_bg:
        bg()
    return Chain(np.array(labels, dtype=np.int64), np.array(optional), np.array(stay))


def _pack(costs: Sequence[np.ndarray], chains: Sequence[Chain]) -> dict[str, np.ndarray]:
    """Pad a batch of videos to one length: state costs (V, T, S), +inf where padded, and the
    per-state flags of their chains."""
    V = len(costs)
    lengths = np.array([c.shape[0] for c in costs])
    T = int(lengths.max())
    S = max(len(ch.labels) for ch in chains)
    sc = np.full((V, T, S), _INF)
    optional = np.zeros((V, S), dtype=bool)
    stay = np.zeros((V, S), dtype=bool)
    can_start = np.zeros((V, S), dtype=bool)
    can_end = np.zeros((V, S), dtype=bool)
    for v, (c, ch) in enumerate(zip(costs, chains, strict=True)):
        n = len(ch.labels)
        sc[v, : c.shape[0], :n] = c[:, ch.labels]
        optional[v, :n] = ch.optional
        stay[v, :n] = ch.stay
        can_start[v, 0] = can_end[v, n - 1] = True
        if n >= 2 and ch.optional[0]:
            can_start[v, 1] = True
        if n >= 2 and ch.optional[n - 1]:
            can_end[v, n - 2] = True
    skip_ok = np.zeros((V, S), dtype=bool)  # may arrive at s from s-2 (state s-1 is optional)
    skip_ok[:, 2:] = optional[:, 1:-1]
    return {"sc": sc, "lengths": lengths, "stay": stay, "skip_ok": skip_ok, "can_start": can_start,
            "can_end": can_end}


def _chain_batch(costs: Sequence[np.ndarray], chains: Sequence[Chain]) -> list[np.ndarray]:
    """Viterbi over left-to-right chains for a batch of videos padded to one length."""
    pk = _pack(costs, chains)
    sc, lengths, stay, skip_ok, can_end = pk["sc"], pk["lengths"], pk["stay"], pk["skip_ok"], pk["can_end"]
    V, T, S = sc.shape
    D = np.where(pk["can_start"], sc[:, 0], _INF)
    bp = np.zeros((T, V, S), dtype=np.int8)  # how many states back the best predecessor is
    final = np.full((V, S), _INF)
    ends_now = lengths == 1
    final[ends_now] = D[ends_now]
    cand = np.empty((3, V, S))
    for t in range(1, T):
        cand[0] = np.where(stay, D, _INF)
        cand[1, :, 0] = _INF
        cand[1, :, 1:] = D[:, :-1]
        cand[2, :, :2] = _INF
        cand[2, :, 2:] = np.where(skip_ok[:, 2:], D[:, :-2], _INF)
        arg = cand.argmin(axis=0)
        bp[t] = arg
        D = np.take_along_axis(cand, arg[None], axis=0)[0] + sc[:, t]
        ends_now = lengths == t + 1
        if ends_now.any():
            final[ends_now] = D[ends_now]
    final = np.where(can_end, final, _INF)
    state = final.argmin(axis=1)
    paths = np.zeros((V, T), dtype=np.int64)
    rows = np.arange(V)
    for t in range(T - 1, -1, -1):
        active = t <= lengths - 1
        paths[active, t] = state[active]
        state = np.where(active, state - bp[t, rows, state], state)
    return [chains[v].labels[paths[v, : lengths[v]]] for v in range(V)]


def _batches(costs: Sequence[np.ndarray], chains: Sequence[Chain], max_cells: int) -> list[np.ndarray]:
    """Indices of videos grouped by similar length, each group's padded table under ``max_cells``."""
    order = np.argsort([c.shape[0] for c in costs], kind="stable")
    groups = []
    i = 0
    while i < len(order):
        j = i + 1
        t_max = costs[order[i]].shape[0]
        s_max = len(chains[order[i]].labels)
        while j < len(order):
            t_new = max(t_max, costs[order[j]].shape[0])
            s_new = max(s_max, len(chains[order[j]].labels))
            if (j - i + 1) * t_new * s_new > max_cells:
                break
            t_max, s_max, j = t_new, s_new, j + 1
        groups.append(order[i:j])
        i = j
    return groups


def _check_chains(costs: Sequence[np.ndarray], chains: Sequence[Chain], names: Sequence[str] | None) -> None:
    for v, (c, ch) in enumerate(zip(costs, chains, strict=True)):
        if c.shape[0] < ch.min_frames:
            name = names[v] if names is not None else f"#{v}"
            raise BadInput(f"video {name}: its transcript needs at least {ch.min_frames} frames "
                           f"but the video has {c.shape[0]}")
        if int(ch.labels.max()) >= c.shape[1]:
            raise ValueError(f"chain label {int(ch.labels.max())} outside the cost's {c.shape[1]} classes")


def ordering_lmo_batch(costs: Sequence[np.ndarray], chains: Sequence[Chain], names: Sequence[str] | None = None,
                       max_cells: int = 4_000_000) -> list[np.ndarray]:
    """Per-frame labels of the cheapest path of each video through its chain.

    ``costs[v]`` is (T_v, K); the videos are processed in batches of similar length so that the
    padded dynamic-programming tables stay under about ``max_cells`` entries. ``names`` name the
    videos in errors (a transcript longer than its video).
    """
    _check_chains(costs, chains, names)
    out: list[np.ndarray | None] = [None] * len(costs)
    for idx in _batches(costs, chains, max_cells):
        labs = _chain_batch([np.asarray(costs[v], dtype=np.float64) for v in idx], [chains[v] for v in idx])
        for v, lab in zip(idx, labs, strict=True):
            out[v] = lab
    return out  # type: ignore[return-value]


def _lse3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    m = np.maximum(np.maximum(a, b), c)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return safe + np.log(np.exp(a - safe) + np.exp(b - safe) + np.exp(c - safe))


def _chain_posteriors(costs: Sequence[np.ndarray], chains: Sequence[Chain], beta: float
                      ) -> list[tuple[np.ndarray, float]]:
    """Forward-backward over the chains of a batch: per-frame state posteriors of the Gibbs
    distribution p(path) ~ exp(-beta * cost(path)) over feasible paths."""
    pk = _pack(costs, chains)
    sc, lengths, stay, skip_ok = pk["sc"], pk["lengths"], pk["stay"], pk["skip_ok"]
    V, T, S = sc.shape
    e = -beta * sc  # log-potentials, -inf where padded
    ninf = np.full((V, S), -_INF)
    alpha = np.empty((T, V, S))
    alpha[0] = np.where(pk["can_start"], e[:, 0], -_INF)
    for t in range(1, T):
        a = alpha[t - 1]
        prev1 = np.concatenate([ninf[:, :1], a[:, :-1]], axis=1)
        prev2 = np.where(skip_ok, np.concatenate([ninf[:, :2], a[:, :-2]], axis=1), -_INF)
        alpha[t] = _lse3(np.where(stay, a, -_INF), prev1, prev2) + e[:, t]
    back = np.empty((T, V, S))
    end_init = np.where(pk["can_end"], 0.0, -_INF)
    b = end_init.copy()
    for t in range(T - 1, -1, -1):
        if t < T - 1:
            nxt = b + e[:, t + 1]
            next1 = np.concatenate([nxt[:, 1:], ninf[:, :1]], axis=1)
            next2 = np.concatenate([np.where(skip_ok, nxt, -_INF)[:, 2:], ninf[:, :2]], axis=1)
            b = _lse3(np.where(stay, nxt, -_INF), next1, next2)
        b = np.where((lengths == t + 1)[:, None], end_init, b)
        back[t] = b
    out = []
    for v, ch in enumerate(chains):
        n, L = len(ch.labels), lengths[v]
        logz = float(np.logaddexp.reduce(alpha[L - 1, v, :n] + end_init[v, :n]))
        post = np.exp(alpha[:L, v, :n] + back[:L, v, :n] - logz)
        out.append((post, logz))
    return out


def ordering_posteriors_batch(costs: Sequence[np.ndarray], chains: Sequence[Chain], beta: float = 1.0,
                              names: Sequence[str] | None = None, max_cells: int = 2_000_000
                              ) -> list[tuple[np.ndarray, float]]:
    """The soft counterpart of :func:`ordering_lmo_batch`: for p(path) ~ exp(-beta * cost(path))
    over the feasible paths of each video, the per-frame class marginals (T_v, K) and log Z.

    As beta grows the marginals concentrate on the oracle's path; small beta spreads them, which
    annealed (soft) EM uses to avoid locking onto the first segmentation it sees.
    """
    _check_chains(costs, chains, names)
    out: list[tuple[np.ndarray, float] | None] = [None] * len(costs)
    for idx in _batches(costs, chains, max_cells):
        res = _chain_posteriors([np.asarray(costs[v], dtype=np.float64) for v in idx], [chains[v] for v in idx], beta)
        for v, (post, logz) in zip(idx, res, strict=True):
            K = costs[v].shape[1]
            marg = np.zeros((post.shape[0], K))
            np.add.at(marg.T, chains[v].labels, post.T)  # sum the states that share a label
            out[v] = (marg, logz)
    return out  # type: ignore[return-value]


def ordering_lmo(cost: np.ndarray, transcript: Sequence[int], background: int | None = 0,
                 min_length: int | Sequence[int] = 1, gaps: bool = True, name: str | None = None) -> np.ndarray:
    """Labels (T,) of the cheapest ordered path for one video (see :func:`ordering_chain`)."""
    chain = ordering_chain(transcript, background, min_length, gaps)
    return ordering_lmo_batch([cost], [chain], None if name is None else [name])[0]


# ---------------------------------------------------------------------------------------------
# Narration (Alayrac et al. 2016)
# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# Bags (Bojanowski et al. 2013) and plain rows
# ---------------------------------------------------------------------------------------------
def row_lmo(cost: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
    """Each row's cheapest label (among ``allowed[i]`` when given, an (N, K) bool mask)."""
    cost = np.asarray(cost, dtype=np.float64)
    if allowed is not None:
        cost = np.where(allowed, cost, _INF)
    return cost.argmin(axis=1)


def bags_lmo(cost: np.ndarray, bags: Sequence[Sequence[int]], bag_labels: Sequence[Sequence[int]],
             allowed: np.ndarray | None = None, names: Sequence[str] | None = None) -> np.ndarray:
    """One label per row such that every label of ``bag_labels[j]`` appears at least once among the
    rows ``bags[j]``; rows may take only ``allowed`` labels (an (N, K) mask, default all).

    Exact: every row first takes its cheapest label; then, per bag, the cheapest set of distinct
    rows to carry the required labels is a rectangular assignment (``linear_sum_assignment``) on
    the extra cost cost[i, l] - cost[i, best(i)]. Bags must not share rows.
    """
    cost = np.asarray(cost, dtype=np.float64)
    labels = row_lmo(cost, allowed)
    masked = cost if allowed is None else np.where(allowed, cost, _INF)
    seen = np.zeros(cost.shape[0], dtype=bool)
    for j, (rows, need) in enumerate(zip(bags, bag_labels, strict=True)):
        bag = names[j] if names is not None else f"#{j}"
        rows = np.asarray(rows, dtype=np.int64)
        need = np.unique(np.asarray(need, dtype=np.int64))
        if len(need) == 0:
            continue
        if seen[rows].any():
            raise BadInput(f"bag {bag}: shares samples with another bag; bags must be disjoint")
        seen[rows] = True
        if len(need) > len(rows):
            raise BadInput(f"bag {bag}: needs {len(need)} labels but has only {len(rows)} samples")
        base = masked[rows, labels[rows]]
        extra = masked[np.ix_(rows, need)] - base[:, None]  # (n_rows, n_need)
        if not np.isfinite(extra).any(axis=0).all():
            raise BadInput(f"bag {bag}: a required label is not allowed for any of its samples")
        big = 1e18
        r, k = linear_sum_assignment(np.where(np.isfinite(extra), extra, big).T)
        if (extra[k, r] >= big).any() or not np.isfinite(extra[k, r]).all():
            raise BadInput(f"bag {bag}: its required labels cannot go to distinct samples")
        labels[rows[k]] = need[r]
    return labels
