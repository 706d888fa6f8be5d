"""The ordering oracle of commit 7946266 (the padded, batched DP), trimmed to what
benchmarks/bench_ordering_scale.py calls: ``ordering_lmo_batch`` and what it needs, the code
unchanged. Its chains are the library's ``Chain``s, as the benchmark builds them. The module also
held the posteriors and the narration, bag and row oracles; the benchmark does not run them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wsl.errors import BadInput
from wsl.solvers.chains import Chain  # the chains it is given: the library's (the same fields)

_INF = np.inf


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
