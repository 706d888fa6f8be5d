"""Exact linear minimisation oracles: given a cost matrix G (N x K), the feasible 0/1 assignment
Z minimising <G, Z>, returned as labels (one per row).

- :func:`bags_lmo` — Bojanowski et al. 2013: one label per row, and every label listed for a bag
  appears at least once in it (exact, through ``linear_sum_assignment``).
- :func:`row_lmo` — one label per row, nothing else.

The ordering oracle (a monotone path through a chain of states) is in
:mod:`wsl.solvers.chain_oracle`, the narration oracle in :mod:`wsl.solvers.narration`. Infeasible constraints raise
:class:`~wsl.errors.BadInput` naming the bag.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from wsl.errors import BadInput

_INF = np.inf


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
