"""The word aligner: the vectorised affine-gap DP against a plain reference, anchors against the full matrix."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsl.text.wordalign import Scoring, _dp, _lis, align_full, align_words, words_in_runs


def reference_score(a: list[int], b: list[int], sc: Scoring, free: bool) -> float:
    """Gotoh's recurrences cell by cell, in plain Python."""
    n, m = len(a), len(b)
    neg = float("-inf")
    o, e = sc.gap_open, sc.gap_extend
    H = [[neg] * (m + 1) for _ in range(n + 1)]
    X = [[neg] * (m + 1) for _ in range(n + 1)]
    Y = [[neg] * (m + 1) for _ in range(n + 1)]
    H[0][0] = 0.0
    for i in range(1, n + 1):
        H[i][0] = X[i][0] = 0.0 if free else -(o + e * (i - 1))
    for j in range(1, m + 1):
        H[0][j] = Y[0][j] = 0.0 if free else -(o + e * (j - 1))
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            s = sc.match if a[i - 1] == b[j - 1] else sc.mismatch
            X[i][j] = max(H[i - 1][j] - o, X[i - 1][j] - e)
            Y[i][j] = max(H[i][j - 1] - o, Y[i][j - 1] - e)
            H[i][j] = max(H[i - 1][j - 1] + s, X[i][j], Y[i][j])
    if free:
        return max(max(H[n]), max(H[i][m] for i in range(n + 1)))
    return H[n][m]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=9), st.lists(st.integers(0, 4), min_size=1, max_size=9),
       st.booleans())
def test_vectorised_dp_reaches_the_optimal_score(a, b, free):
    sc = Scoring()
    pairs, score = _dp(np.asarray(a), np.asarray(b), {}, sc, free, free)
    assert score == pytest.approx(reference_score(a, b, sc, free))
    # The traceback is a valid monotone alignment of equal words.
    assert all(a[i] == b[j] for i, j, _ in pairs)
    assert all(i1 < i2 and j1 < j2 for (i1, j1, _), (i2, j2, _) in zip(pairs, pairs[1:], strict=False))


def test_lis_is_longest_and_increasing():
    pts = [(0, 5), (1, 1), (2, 2), (3, 9), (4, 3), (5, 4), (6, 0)]
    chain = _lis(pts)
    assert chain == [(1, 1), (2, 2), (4, 3), (5, 4)]


def _film(seed: int, n: int) -> tuple[list[str], list[str], dict[int, int]]:
    """A long 'script' and 'subtitles' made from it: words dropped, changed, lines inserted, a scene cut."""
    rng = random.Random(seed)
    vocab = [f"w{k}" for k in range(400)] + ["i", "you", "the", "a", "to", "and"] * 40
    a = [rng.choice(vocab) for _ in range(n)]
    b: list[str] = []
    truth: dict[int, int] = {}
    cut = range(n // 3, n // 3 + n // 20)
    for i, w in enumerate(a):
        if i in cut:
            continue
        r = rng.random()
        if r < 0.08:
            continue  # dropped by the subtitler
        if r < 0.13:
            b.append("changed")
            continue
        if r < 0.16:
            b.extend(rng.choice(vocab) for _ in range(3))  # an ad-lib
        truth[i] = len(b)
        b.append(w)
    return a, b, truth


def test_anchored_alignment_matches_the_full_matrix_and_the_truth_with_few_cells():
    a, b, truth = _film(1, 1500)
    fast = align_words(a, b)
    full = align_full(a, b)
    got = {int(i): int(j) for i, j in fast.pairs}
    correct = sum(1 for i, j in got.items() if truth.get(i) == j)
    assert correct / len(truth) > 0.97
    assert correct / len(got) > 0.97
    assert len(fast.pairs) >= 0.98 * len(full.pairs)
    assert fast.cells < 0.05 * len(a) * len(b)  # near-linear: no N x M matrix
    assert fast.anchors > 0.5 * len(truth)


def test_pairs_are_strictly_monotone_and_unrelated_texts_have_no_runs():
    a, b, _ = _film(2, 800)
    p = align_words(a, b).pairs
    assert np.all(np.diff(p, axis=0) > 0)
    rng = random.Random(3)
    other = [rng.choice(a) for _ in range(800)]
    unrelated = align_words(a, other).pairs
    assert words_in_runs(unrelated) < 0.03 * len(a)
    assert words_in_runs(p) > 0.5 * len(a)


def test_words_in_runs_counts_only_long_diagonal_runs():
    pairs = np.array([[0, 0], [1, 1], [2, 2], [3, 3], [5, 9], [6, 10], [8, 12]])
    assert words_in_runs(pairs, 4) == 4 and words_in_runs(pairs, 2) == 6 and words_in_runs(pairs[:0]) == 0
