"""Shared preparation of the solvers' inputs: one feature standardisation, one blocks-from-lengths.

Standardising makes the ridge ``lam`` and any covariance shrinkage mean the same on every feature
scale. A constant feature column carries no information; it is left at zero (its scale is taken
as 1), so it can neither blow up nor make the DIFFRAC system singular.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Feature columns whose standard deviation is below this are treated as constant.
STD_EPS = 1e-8


def standardize(X: np.ndarray, dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X - mean) / scale per column, with the mean and scale used (scale 1 for constant columns)."""
    X = np.asarray(X, dtype=dtype)
    mean = X.mean(axis=0, dtype=np.float64)
    std = X.std(axis=0, dtype=np.float64)
    scale = np.where(std > STD_EPS * np.maximum(1.0, np.abs(mean)), std, 1.0)
    return ((X - mean.astype(dtype)) / scale.astype(dtype)).astype(dtype, copy=False), mean, scale


def constant_columns(X: np.ndarray) -> np.ndarray:
    """Indices of the feature columns that do not vary."""
    X = np.asarray(X)
    mean = X.mean(axis=0, dtype=np.float64)
    std = X.std(axis=0, dtype=np.float64)
    return np.flatnonzero(std <= STD_EPS * np.maximum(1.0, np.abs(mean)))


def blocks_from_lengths(lengths: Sequence[int]) -> list[slice]:
    """Consecutive row slices of the given lengths (one per video)."""
    ends = np.cumsum(np.asarray(lengths, dtype=np.int64))
    starts = np.r_[0, ends[:-1]]
    return [slice(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]
