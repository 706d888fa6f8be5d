"""Principal-component reduction of per-frame features before a convex solver.

Pretrained features (EfficientNet-Lite0: 1280-d) against a few hundred or thousand frames let the
DIFFRAC ridge classifier fit almost any labelling, so the objective flattens towards 0 (the solvers
stall and the rounding follows noise), and every solver step costs a d x d solve. Projecting on the
leading components of all videos' frames together keeps what separates frames and drops the rest
(measured in docs/benchmarks.md, "Solvers on real video features": discover-steps and label-actions
both score higher and run faster on Lite0 reduced to 128 components than on the raw 1280-d).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Wider features are reduced to this many components by default (discover-steps, label-actions).
DEFAULT_PCA_DIM = 128


def reduce_dim(features: Sequence[np.ndarray], dim: int | None) -> list[np.ndarray]:
    """Project the videos' frames (standardised over all videos) on their ``dim`` leading principal
    components, computed over all frames together; unchanged when ``dim`` is None or not smaller."""
    feats = [np.asarray(f, dtype=np.float64) for f in features]
    d = feats[0].shape[1] if feats else 0
    if dim is None or dim >= d:
        return feats
    X = np.concatenate(feats)
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    std[std <= 1e-12] = 1.0
    X = (X - mean) / std
    if X.shape[0] <= d:
        _, _, vt = np.linalg.svd(X, full_matrices=False)
        basis = vt[:dim].T
    else:
        w, v = np.linalg.eigh(X.T @ X)
        basis = v[:, np.argsort(w)[::-1][:dim]]
    Y = X @ basis
    return np.split(Y, np.cumsum([len(f) for f in feats])[:-1])
