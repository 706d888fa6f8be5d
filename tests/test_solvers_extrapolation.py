"""Reduced-rank extrapolation: exact on a linear iteration, and a valid, tighter ordering certificate."""

from __future__ import annotations

import numpy as np
import pytest

from wsl.solvers.extrapolation import RREWindow


def test_rre_finds_the_fixed_point_of_a_linear_iteration() -> None:
    rng = np.random.default_rng(0)
    n = 5
    Q = np.linalg.qr(rng.normal(size=(n, n)))[0]
    T = Q @ np.diag([0.95, 0.9, -0.8, 0.5, 0.3]) @ Q.T  # slow modes an iterate alone keeps for long
    b = rng.normal(size=n)
    x_star = np.linalg.solve(np.eye(n) - T, b)
    window = RREWindow(size=n + 1)
    x = np.zeros(n)
    assert window.extrapolate(x) is None  # not full yet
    for _ in range(12):
        x_new = T @ x + b
        window.push(x_new, x)
        x = x_new
    w = window.extrapolate(x)
    assert w is not None
    assert np.linalg.norm(x - x_star) > 0.1  # the iterate itself is still far
    assert np.linalg.norm(w - x_star) < 1e-3 * np.linalg.norm(x_star)


def test_window_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="size"):
        RREWindow(0)
