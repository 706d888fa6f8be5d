"""The soft counterpart of the ordering oracle (:mod:`wsl.solvers.chain_oracle`): per-frame posteriors of a
Gibbs distribution over each video's feasible paths, by forward-backward over padded batches, for the
soft (annealed) assignments of label-actions' refinement."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wsl.solvers.chains import Chain, chain_tables, check_chain_costs

_INF = np.inf


def _pack(costs: Sequence[np.ndarray], chains: Sequence[Chain]) -> dict[str, np.ndarray]:
    """Pad a batch of videos to one length: state costs (V, T, S), +inf where padded, and the
    per-state flags of their chains."""
    V = len(costs)
    lengths = np.array([c.shape[0] for c in costs])
    T = int(lengths.max())
    S = max(len(ch.labels) for ch in chains)
    sc = np.full((V, T, S), _INF)
    for v, (c, ch) in enumerate(zip(costs, chains, strict=True)):
        sc[v, : c.shape[0], : len(ch.labels)] = c[:, ch.labels]
    t = chain_tables(chains, S)
    return {"sc": sc, "lengths": lengths, "stay": t["stay"], "skip_ok": t["skip"], "can_start": t["can_start"],
            "can_end": t["can_end"]}


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
    """The soft counterpart of :func:`~wsl.solvers.chain_oracle.ordering_lmo_batch`: for
    p(path) ~ exp(-beta * cost(path)) over the feasible paths of each video, the per-frame class marginals
    (T_v, K) and log Z.

    As beta grows the marginals concentrate on the oracle's path; small beta spreads them, which
    annealed (soft) EM uses to avoid locking onto the first segmentation it sees.
    """
    check_chain_costs(costs, chains, names)
    out: list[tuple[np.ndarray, float] | None] = [None] * len(costs)
    for idx in _batches(costs, chains, max_cells):
        res = _chain_posteriors([np.asarray(costs[v], dtype=np.float64) for v in idx], [chains[v] for v in idx], beta)
        for v, (post, logz) in zip(idx, res, strict=True):
            K = costs[v].shape[1]
            marg = np.zeros((post.shape[0], K))
            np.add.at(marg.T, chains[v].labels, post.T)  # sum the states that share a label
            out[v] = (marg, logz)
    return out  # type: ignore[return-value]
