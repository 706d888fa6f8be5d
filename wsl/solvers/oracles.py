"""Exact linear minimisation oracles: given a cost matrix G (T x K), the feasible 0/1 assignment
Z minimising <G, Z>, returned as labels (one per row) or as step positions.

- :func:`ordering_lmo` — Bojanowski et al. 2014: a monotone path through [bg, a1, bg, a2, ..., aL, bg];
  every listed action gets at least one frame (or ``min_length``), in order; background optional
  between. Dynamic programming in O(T S) over S path states, vectorised over states and run over
  all videos at once, ragged and time-major (:class:`RaggedChains`, :func:`ordering_lmo_batch`).
- :func:`narration_lmo` (in :mod:`wsl.solvers.narration`) — Alayrac et al. 2016: K steps, each placed
  on exactly one frame per video (or at most once), in order, a narrated step only inside its time window. O(T K).
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
    mins = ([int(min_length)] * len(transcript) if isinstance(min_length, (int, np.integer))
            else [int(m) for m in min_length])
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


def _batches(costs: Sequence[np.ndarray], chains: Sequence[Chain], max_cells: int) -> list[np.ndarray]:
    """Indices of videos grouped by similar length, each group's padded table under ``max_cells``
    (used by the forward-backward pass, whose tables are float64 per cell)."""
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


def check_chain_lengths(lengths: Sequence[int], chains: Sequence[Chain], n_classes: int,
                        names: Sequence[str] | None = None) -> None:
    """Every video long enough for its chain, every chain label a class (BadInput names the video)."""
    if len(lengths) != len(chains):
        raise ValueError(f"{len(lengths)} videos for {len(chains)} chains")
    for v, (n, ch) in enumerate(zip(lengths, chains, strict=True)):
        if n < ch.min_frames:
            name = names[v] if names is not None else f"#{v}"
            raise BadInput(f"video {name}: its transcript needs at least {ch.min_frames} frames "
                           f"but the video has {n}")
        if int(ch.labels.max()) >= n_classes:
            raise ValueError(f"chain label {int(ch.labels.max())} outside the cost's {n_classes} classes")


def _check_chains(costs: Sequence[np.ndarray], chains: Sequence[Chain], names: Sequence[str] | None) -> None:
    check_chain_lengths([c.shape[0] for c in costs], chains, min((c.shape[1] for c in costs), default=0), names)


class RaggedChains:
    """The ordering oracle for a fixed set of videos, planned once and run on many cost matrices.

    Time-major and ragged: videos are sorted by length (longest first), so at frame t the videos
    still running are a prefix of that order, and the table of frame t holds exactly those videos'
    states (no padding in time, no batches). The state costs of every (frame, video) cell are one
    gather from the stacked (N, K) cost; back-pointers are int8 (how many states back), N x S bytes.
    Ties break as in a left-to-right scan: stay, then step, then skip.
    """

    def __init__(self, lengths: Sequence[int], chains: Sequence[Chain]):
        lengths_a = np.asarray(lengths, dtype=np.int64)
        if len(lengths_a) != len(chains):
            raise ValueError(f"{len(lengths_a)} lengths for {len(chains)} chains")
        self.n_rows = int(lengths_a.sum())
        starts = np.r_[0, np.cumsum(lengths_a)[:-1]]
        order = np.argsort(-lengths_a, kind="stable")  # longest first: live videos are a prefix
        self.order = order
        L = lengths_a[order]
        T = int(L.max(initial=0))
        S = max((len(ch.labels) for ch in chains), default=1)
        # live[t] = number of videos with more than t frames; offsets of each frame's table
        self.live = np.searchsorted(-L, -np.arange(T), side="left").astype(np.int64)
        self.offsets = np.r_[0, np.cumsum(self.live)].astype(np.int64)
        # the row of G behind each time-major cell (t, rank)
        t_of = np.repeat(np.arange(T), self.live)
        rank_of = np.arange(self.n_rows) - self.offsets[t_of]
        self.src = starts[order][rank_of] + t_of
        lab = np.zeros((len(chains), S), dtype=np.int64)
        bad = np.full((len(chains), S), np.inf)
        stay = np.zeros((len(chains), S), dtype=bool)
        skip = np.zeros((len(chains), S), dtype=bool)
        can_start = np.zeros((len(chains), S), dtype=bool)
        can_end = np.zeros((len(chains), S), dtype=bool)
        for r, v in enumerate(order):
            ch = chains[v]
            n = len(ch.labels)
            lab[r, :n] = ch.labels
            bad[r, :n] = 0.0
            stay[r, :n] = ch.stay
            skip[r, 2:n] = ch.optional[1 : n - 1]
            can_start[r, 0] = can_end[r, n - 1] = True
            if n >= 2 and ch.optional[0]:
                can_start[r, 1] = True
            if n >= 2 and ch.optional[n - 1]:
                can_end[r, n - 2] = True
        self.S = S
        self.lab = lab  # (V, S) in rank order
        self.lab_cells = lab[rank_of].astype(np.int32)  # (N, S) the class of each state of each cell
        self.bad_cells = bad[rank_of]  # (N, S) +inf on the padded states
        self.stay_inf = np.where(stay, 0.0, np.inf)
        self.skip_inf = np.where(skip, 0.0, np.inf)
        self.start_inf = np.where(can_start, 0.0, np.inf)
        self.end_inf = np.where(can_end, 0.0, np.inf)
        self.lengths_sorted = L

    def decode(self, G: np.ndarray) -> np.ndarray:
        """Labels (N,) of the cheapest path of every video, for the stacked cost G (N, K)."""
        return self.decode_states(G)[0]

    def decode_states(self, G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Labels (N,) and chain states (N,) of the cheapest path of every video."""
        G = np.asarray(G)
        sc = G[self.src[:, None], self.lab_cells]
        sc = sc.astype(np.float64, copy=False) + self.bad_cells
        live, off, S = self.live, self.offsets, self.S
        T = len(live)
        bp = np.zeros((self.n_rows, S), dtype=np.int8)
        V = len(self.lengths_sorted)
        final = np.full((V, S), np.inf)
        n0 = int(live[0]) if T else 0
        D = sc[:n0] + self.start_inf[:n0]
        for t in range(1, T):
            n = int(live[t])
            if n < len(D):  # videos n.. ended at frame t - 1
                final[n:len(D)] = D[n:]
                D = D[:n]
            best = D + self.stay_inf[:n]
            arg = np.zeros((n, S), dtype=np.int8)
            step = np.full((n, S), np.inf)
            step[:, 1:] = D[:, :-1]
            m = step < best
            best = np.where(m, step, best)
            arg[m] = 1
            if S > 2:
                skip = np.full((n, S), np.inf)
                skip[:, 2:] = D[:, :-2]
                skip += self.skip_inf[:n]
                m = skip < best
                best = np.where(m, skip, best)
                arg[m] = 2
            bp[off[t]: off[t + 1]] = arg
            D = best + sc[off[t]: off[t + 1]]
        final[: len(D)] = D
        state = (final + self.end_inf).argmin(axis=1)
        out_state = np.zeros(self.n_rows, dtype=np.int64)
        # backtrack: walk time backwards; the videos that end at frame t join at t
        for t in range(T - 1, -1, -1):
            n = int(live[t])
            cells = slice(int(off[t]), int(off[t + 1]))
            out_state[cells] = state[:n]
            if t > 0:
                state[:n] -= bp[cells][np.arange(n), state[:n]]
        labels = np.empty(self.n_rows, dtype=np.int64)
        labels[self.src] = self.lab_cells[np.arange(self.n_rows), out_state]
        states = np.empty(self.n_rows, dtype=np.int64)
        states[self.src] = out_state
        return labels, states


def ordering_lmo_batch(costs: Sequence[np.ndarray], chains: Sequence[Chain], names: Sequence[str] | None = None,
                       max_cells: int | None = None) -> list[np.ndarray]:
    """Per-frame labels of the cheapest path of each video through its chain.

    ``costs[v]`` is (T_v, K). All videos go through one ragged, time-major dynamic programme
    (:class:`RaggedChains`); ``max_cells`` is accepted for compatibility and no longer needed (the
    tables hold exactly the videos' frames). ``names`` name the videos in errors (a transcript
    longer than its video).
    """
    _check_chains(costs, chains, names)
    if not len(costs):
        return []
    lengths = [c.shape[0] for c in costs]
    labels = RaggedChains(lengths, chains).decode(np.concatenate([np.asarray(c) for c in costs]))
    return np.split(labels, np.cumsum(lengths)[:-1])


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
    for j, (rows_in, need_in) in enumerate(zip(bags, bag_labels, strict=True)):
        bag = names[j] if names is not None else f"#{j}"
        rows = np.asarray(rows_in, dtype=np.int64)
        need = np.unique(np.asarray(need_in, dtype=np.int64))
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
