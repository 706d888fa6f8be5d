"""Small dense systems run faster on one BLAS thread.

The solvers multiply N x d by d x K matrices with small d and K many times; a multithreaded BLAS
spends longer waking its threads than computing (measured on a busy 2-core machine: DIFFRAC f, grad
and curvature for N = 2000, d = 64, K = 10 take 43 ms with the default threads, 1.4 ms with one).
"""

from __future__ import annotations

import contextlib


def few_blas_threads(dim: int, limit: int = 512) -> contextlib.AbstractContextManager[object]:
    """One BLAS thread while ``dim`` (the feature dimension) is at most ``limit``; otherwise no change."""
    if dim > limit:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # a scikit-learn dependency
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
