"""Rounding a relaxed assignment to a feasible 0/1 one (Bojanowski et al. 2014, section 4.3).

Two candidates, both feasible by construction because they come out of the oracle: the nearest
feasible integer point to Z (for 0/1 rows with one label each, ||Y - Z||^2 = const - 2 <Y, Z>, so
it is the oracle applied to -Z), and the oracle applied to the classifier's scores -(X W + b) of
the classifier Z defines. The one with the lower objective wins.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from wsl.solvers.diffrac import DiffracCost, one_hot


def round_assignment(Z: np.ndarray, cost: DiffracCost, lmo_labels: Callable[[np.ndarray], np.ndarray]
                     ) -> tuple[np.ndarray, str, float]:
    """Best rounding of the relaxed Z: (labels (N,), which candidate won, its objective).

    ``lmo_labels(G)`` is the oracle returning per-row labels of the vertex minimising <G, Y>.
    """
    K = Z.shape[1]
    best: tuple[np.ndarray, str, float] | None = None
    for name, G in (("nearest", -Z), ("classifier", -cost.scores(Z))):
        labels = lmo_labels(G)
        f = cost(one_hot(labels, K))
        if best is None or f < best[2]:
            best = (labels, name, f)
    assert best is not None
    return best
