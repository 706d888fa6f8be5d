"""Reduced-rank extrapolation: exact on a linear iteration, and a valid, tighter ordering certificate."""

from __future__ import annotations

import numpy as np
import pytest

from wsl.solvers.extrapolation import RREWindow


def test_rre_cancels_the_slow_modes_of_a_linear_iteration() -> None:
    """x_{k+1} = T x_k + b with three slow modes among 40 fast ones: the iterate keeps the slow modes
    for long, RRE over a few steps removes them."""
    rng = np.random.default_rng(0)
    n = 40
    Q = np.linalg.qr(rng.normal(size=(n, n)))[0]
    T = Q @ np.diag(np.r_[0.95, 0.85, -0.9, rng.uniform(-0.1, 0.1, n - 3)]) @ Q.T
    b = rng.normal(size=n)
    x_star = np.linalg.solve(np.eye(n) - T, b)
    window = RREWindow(size=6)
    x = np.zeros(n)
    assert window.extrapolate(x) is None  # not full yet
    for _ in range(20):
        x_new = T @ x + b
        window.push(x_new, x)
        x = x_new
    w = window.extrapolate(x)
    assert w is not None
    assert np.linalg.norm(w - x_star) < 1e-2 * np.linalg.norm(x - x_star)


def test_tiny_steps_keep_their_direction() -> None:
    """Late steps are tiny (their float32 products would be denormal): scaled down by 1e-30, the same
    iteration extrapolates to the same point, scaled."""
    rng = np.random.default_rng(1)
    n = 30
    Q = np.linalg.qr(rng.normal(size=(n, n)))[0]
    T = Q @ np.diag(np.r_[0.98, 0.9, rng.uniform(-0.1, 0.1, n - 2)]) @ Q.T
    b = rng.normal(size=n)
    out = []
    for scale in (1.0, 1e-30):
        window = RREWindow(size=4)
        x = np.zeros(n)
        for _ in range(12):
            x_new = T @ x + scale * b
            window.push(x_new, x)
            x = x_new
        w = window.extrapolate(x)
        assert w is not None
        out.append(w / scale)
    assert np.allclose(out[0], out[1], rtol=1e-5, atol=1e-8)


def test_window_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="size"):
        RREWindow(0)
