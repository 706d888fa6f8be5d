"""Video stage of discover-steps (Alayrac et al. 2016, section 4.2): where each step happens.

Given the text stage's steps, each video's narration spans and its own step order, the steps are
placed by :class:`wsl.solvers.narration.StepLocalizer` (DIFFRAC + block Frank-Wolfe + rounding).
A step a video narrates must lie within ``window`` seconds of its narration. A step it does not
narrate may be left out ("not in this video"): placing it costs ``absence_weight * (1 - share_k)``
per video, scaled to the DIFFRAC objective's size, where ``share_k`` is the share of videos that
narrate step k. Steps most videos narrate are cheap to place where they go unmentioned (they are
probably done but not said); rare ones must earn their place through the features.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from wsl.errors import BadInput
from wsl.features.reduce import DEFAULT_PCA_DIM, reduce_dim
from wsl.solvers.narration import Span, StepLocalizer

# Cost of placing a step a video does not narrate, relative to the objective's scale (1 / frames).
DEFAULT_ABSENCE_WEIGHT = 1.0


def place_costs(narrated: Sequence[Sequence[Span]], n_frames: int, absence_weight: float = DEFAULT_ABSENCE_WEIGHT
                ) -> np.ndarray:
    """(V, K) cost of placing step k in video n: 0 where narrated, else the evidence-scaled absence cost."""
    told = np.array([[s is not None for s in row] for row in narrated], dtype=bool)
    share = told.mean(axis=0) if len(told) else np.zeros(0)
    cost = absence_weight * (1.0 - share)[None, :] / max(n_frames, 1)
    return np.where(told, 0.0, np.broadcast_to(cost, told.shape))


def localize_steps(features: Sequence[np.ndarray], fps: Sequence[float], narrated: Sequence[Sequence[Span]],
                   orders: Sequence[Sequence[int]] | None, names: Sequence[str], *, window: float = 10.0,
                   lam: float = 1e-2, at_most_once: bool = True, absence_weight: float = DEFAULT_ABSENCE_WEIGHT,
                   max_iter: int = 300, tol: float = 1e-3, seed: int = 0, pca_dim: int | None = DEFAULT_PCA_DIM,
                   progress: Callable[[int, float, float], None] | None = None) -> StepLocalizer:
    """Fit the step localiser on the videos with features; returns the fitted estimator.

    Features wider than ``pca_dim`` are first reduced to that many principal components (None: never)."""
    if pca_dim is not None and pca_dim < 1:
        raise BadInput(f"`pca_dim` must be at least 1, got {pca_dim}", param="pca_dim")
    features = reduce_dim(features, pca_dim)
    n_frames = sum(int(f.shape[0]) for f in features)
    pc = place_costs(narrated, n_frames, absence_weight) if at_most_once else None
    model = StepLocalizer(window=window, lam=lam, at_most_once=at_most_once, max_iter=max_iter, tol=tol,
                          seed=seed)
    return model.fit(features, fps, narrated, names, orders=orders, place_cost=pc, progress=progress)
