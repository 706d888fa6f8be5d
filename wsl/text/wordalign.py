"""Monotone word alignment of two long token sequences (a screenplay's speech and a film's subtitles).

Anchors first: word n-grams that occur exactly once in each sequence, kept when they form the longest
chain increasing in both (longest increasing subsequence). Between consecutive anchors the problem
splits into small independent gaps; a gap that is still large is anchored again with shorter n-grams
that are unique inside it, and what remains is solved by Needleman-Wunsch dynamic programming (match,
near-match, mismatch and gap scores) vectorised by rows. The cost over a whole film is close to linear
in its length: no N x M matrix is ever built, except by `align_full`, the plain full-matrix baseline
kept for comparison.
"""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["WordAlignment", "Scoring", "align_words", "align_full", "words_in_runs", "run_lengths"]


@dataclass(frozen=True)
class Scoring:
    """Scores of the dynamic programme. Near matches are spelling variants (Nabakov / Nabokov)."""

    match: float = 3.0
    near: float = 2.0
    mismatch: float = -1.0
    gap_open: float = 2.0  # cost of starting a run of unmatched words on either side
    gap_extend: float = 0.5  # cost of each further unmatched word in the run
    near_ratio: float = 0.8  # difflib ratio for two words of >= 4 letters to count as a near match


@dataclass
class WordAlignment:
    """Matched pairs ``(i, j)`` (index into a, index into b), increasing in both; ``exact[k]`` is False
    for near matches. ``cells`` counts the DP cells computed, ``anchors`` the anchor words."""

    pairs: np.ndarray  # (K, 2) int
    exact: np.ndarray  # (K,) bool
    cells: int = 0
    anchors: int = 0
    stats: dict[str, int] = field(default_factory=dict)


def _encode(a: Sequence[str], b: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    vocab: dict[str, int] = {}
    ai = np.fromiter((vocab.setdefault(w, len(vocab)) for w in a), dtype=np.int64, count=len(a))
    bi = np.fromiter((vocab.setdefault(w, len(vocab)) for w in b), dtype=np.int64, count=len(b))
    words = [""] * len(vocab)
    for w, k in vocab.items():
        words[k] = w
    return ai, bi, words


def _near_pairs(ai: np.ndarray, bi: np.ndarray, words: list[str], ratio: float) -> dict[int, np.ndarray]:
    """For each word of a, the words of b (other than itself) that are near spellings of it."""
    # Only words without an exact partner on the other side need a near one.
    # Python sets, not np.unique: that would import numpy.ma, a tenth of align's start-up.
    a_all = set(ai.tolist())
    b_all = set(bi.tolist())
    a_words, b_words = a_all - b_all, b_all - a_all
    buckets: dict[str, list[int]] = {}
    for k in b_words:
        w = words[k]
        if len(w) >= 4 and w.isalpha():
            buckets.setdefault(w[:2], []).append(k)
    out: dict[int, np.ndarray] = {}
    for k in a_words:
        w = words[k]
        if len(w) < 4 or not w.isalpha():
            continue
        near = []
        for c in buckets.get(w[:2], ()):
            v = words[c]
            if c != k and abs(len(v) - len(w)) <= 2:
                sm = difflib.SequenceMatcher(None, w, v, autojunk=False)
                if sm.real_quick_ratio() >= ratio and sm.quick_ratio() >= ratio and sm.ratio() >= ratio:
                    near.append(c)
        if near:
            out[k] = np.asarray(near, dtype=np.int64)
    return out


def _row_scores(ai: int, b: np.ndarray, near: dict[int, np.ndarray], sc: Scoring) -> np.ndarray:
    s = np.where(b == ai, sc.match, sc.mismatch)
    alt = near.get(int(ai))
    if alt is not None:
        s = np.where((s < sc.match) & (b[:, None] == alt[None, :]).any(axis=1), sc.near, s)
    return s


# Last move: diagonal, a-word unmatched (up), b-word unmatched (left). d_state relies on _M == 0, _X == 1.
_M, _X, _Y = 0, 1, 2


def _dp(a: np.ndarray, b: np.ndarray, near: dict[int, np.ndarray], sc: Scoring, free_start: bool,
        free_end: bool) -> tuple[list[tuple[int, int, bool]], float]:
    """Needleman-Wunsch with affine gaps (Gotoh) on a (rows) x b (columns).

    ``free_start``/``free_end`` make leading/trailing unmatched words free. Each row is computed with
    NumPy: the left-gap state is a running maximum of ``D[k] + extend*k`` over the row, so no Python
    loop runs over columns. Affine gaps prefer one long unmatched stretch (a cut scene, a line the
    script lacks) to many short ones, which keeps a block's words together.
    """
    n, m = len(a), len(b)
    o, e = sc.gap_open, sc.gap_extend
    cols = np.arange(m + 1, dtype=np.float64)
    neg = -1e18
    edge = np.zeros(m + 1) if free_start else np.concatenate(([0.0], -(o + e * (cols[1:] - 1))))
    h_prev = edge
    x_prev = np.full(m + 1, neg)
    h_state = np.empty((n + 1, m + 1), dtype=np.int8)  # which of M, X, Y gives H
    d_state = np.empty((n + 1, m + 1), dtype=np.int8)  # which of M, X gives max(M, X)
    x_ext = np.zeros((n + 1, m + 1), dtype=bool)  # X extends X (else opens from H above)
    y_ext = np.zeros((n + 1, m + 1), dtype=bool)  # Y extends Y (else opens from D on the left)
    h_state[0, :] = _Y
    h_state[0, 0] = _M
    y_ext[0, 2:] = True
    best = (neg, 0, 0)
    ecols = e * cols
    y_off = o + e * (cols[1:] - 1)
    # Scores of all rows at once while the gap is small (always, inside anchors); row by row otherwise.
    whole = np.where(a[:, None] == b[None, :], sc.match, sc.mismatch) if n * m <= 2_000_000 else None
    mm = np.empty(m + 1)
    yy = np.empty(m + 1)
    mm[0] = yy[0] = neg
    for i in range(1, n + 1):
        ai = a[i - 1]
        s = _row_scores(ai, b, near, sc) if whole is None or int(ai) in near else whole[i - 1]
        np.add(h_prev[:-1], s, out=mm[1:])
        x_open = h_prev - o
        x_extend = x_prev - e
        xx = np.maximum(x_open, x_extend)
        x_ext[i] = x_extend > x_open
        xx[0] = 0.0 if free_start else -(o + e * (i - 1))
        dd = np.maximum(mm, xx)
        d_state[i] = xx > mm  # _X where the gap wins, else _M
        # Y[j] = max over k < j of D[k] - o - e*(j-1-k): a running maximum, no loop over columns.
        run = np.maximum.accumulate(dd + ecols)
        yy[1:] = run[:-1] - y_off
        y_ext[i, 0] = False
        y_ext[i, 1:] = yy[1:] > dd[:-1] - o + 1e-9
        hh = np.maximum(dd, yy)
        h_state[i] = np.where(yy > dd, _Y, d_state[i])
        h_prev, x_prev = hh, xx
        if free_end and hh[m] > best[0]:
            best = (float(hh[m]), i, m)
    if free_end:
        j_best = int(np.argmax(h_prev))
        if h_prev[j_best] >= best[0]:
            best = (float(h_prev[j_best]), n, j_best)
        score, i, j = best
    else:
        i, j = n, m
        score = float(h_prev[m])
    out: list[tuple[int, int, bool]] = []
    state = int(h_state[i, j])
    while i > 0 and j > 0:
        if state == _M:
            if a[i - 1] == b[j - 1]:
                out.append((i - 1, j - 1, True))
            else:
                alt = near.get(int(a[i - 1]))
                if alt is not None and b[j - 1] in alt:
                    out.append((i - 1, j - 1, False))
            i, j = i - 1, j - 1
            state = int(h_state[i, j])
        elif state == _X:
            ext = x_ext[i, j]
            i -= 1
            state = _X if ext else int(h_state[i, j])
        else:
            ext = y_ext[i, j]
            j -= 1
            state = _Y if ext else int(d_state[i, j]) if i > 0 else _M
    out.reverse()
    return out, score


def _unique_ngrams(x: np.ndarray, lo: int, hi: int, n: int) -> dict[tuple[int, ...], int]:
    """n-grams occurring exactly once in x[lo:hi] -> their start."""
    seen: dict[tuple[int, ...], int] = {}
    dup: set[tuple[int, ...]] = set()
    seg = x[lo:hi].tolist()
    for k in range(len(seg) - n + 1):
        key = tuple(seg[k:k + n])
        if key in seen:
            dup.add(key)
        else:
            seen[key] = lo + k
    for key in dup:
        del seen[key]
    return seen


def _lis(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Longest chain of points strictly increasing in both coordinates (points sorted by the first)."""
    tails: list[int] = []  # smallest second coordinate ending a chain of each length
    tails_idx: list[int] = []
    parent = [-1] * len(points)
    for k, (_, j) in enumerate(points):
        pos = bisect.bisect_left(tails, j)
        if pos == len(tails):
            tails.append(j)
            tails_idx.append(k)
        else:
            tails[pos] = j
            tails_idx[pos] = k
        parent[k] = tails_idx[pos - 1] if pos > 0 else -1
    chain = []
    k = tails_idx[-1] if tails_idx else -1
    while k >= 0:
        chain.append(points[k])
        k = parent[k]
    chain.reverse()
    return chain


class _Aligner:
    def __init__(self, a: np.ndarray, b: np.ndarray, near: dict[int, np.ndarray], sc: Scoring,
                 dp_cells: int, max_cells: int, ngrams: tuple[int, ...]):
        self.a, self.b, self.near, self.sc = a, b, near, sc
        self.dp_cells, self.max_cells, self.ngrams = dp_cells, max_cells, ngrams
        self.pairs: list[tuple[int, int, bool]] = []
        self.cells = 0
        self.anchors = 0
        self.skipped_cells = 0
        self.near_b: dict[int, np.ndarray] | None = None

    def solve(self, i0: int, i1: int, j0: int, j1: int, free_start: bool, free_end: bool) -> None:
        # An explicit stack keeps deep nesting off Python's call stack on long films.
        stack = [(i0, i1, j0, j1, free_start, free_end)]
        while stack:
            i0, i1, j0, j1, fs, fe = stack.pop()
            na, nb = i1 - i0, j1 - j0
            if na <= 0 or nb <= 0:
                continue
            if na * nb <= self.dp_cells:
                self._run_dp(i0, i1, j0, j1, fs, fe)
                continue
            chain = self._anchors(i0, i1, j0, j1)
            if not chain:
                if na * nb <= self.max_cells:
                    self._run_dp(i0, i1, j0, j1, fs, fe)
                else:
                    self.skipped_cells += na * nb  # nothing in common that can be trusted: leave unmatched
                continue
            # Emit the anchors now and queue the gaps between them (pairs are sorted at the end).
            pi, pj = i0, j0
            for k, (ia, jb, ln) in enumerate(chain):
                stack.append((pi, ia, pj, jb, fs if k == 0 else False, False))
                self._emit_anchor(ia, jb, ln)
                pi, pj = ia + ln, jb + ln
            stack.append((pi, i1, pj, j1, False, fe))

    def _emit_anchor(self, ia: int, jb: int, ln: int) -> None:
        for d in range(ln):
            self.pairs.append((ia + d, jb + d, True))
        self.anchors += ln

    def _anchors(self, i0: int, i1: int, j0: int, j1: int) -> list[tuple[int, int, int]]:
        for n in self.ngrams:
            ua = _unique_ngrams(self.a, i0, i1, n)
            if not ua:
                continue
            ub = _unique_ngrams(self.b, j0, j1, n)
            pts = sorted((ia, ub[key]) for key, ia in ua.items() if key in ub)
            if not pts:
                continue
            chain = _lis(pts)
            # Merge overlapping n-grams on the same diagonal into runs; drop crossing overlaps.
            runs: list[list[int]] = []
            for ia, jb in chain:
                if runs:
                    ra, rb, rl = runs[-1]
                    if ia - ra == jb - rb and ia <= ra + rl:
                        runs[-1][2] = ia + n - ra
                        continue
                    if ia < ra + rl or jb < rb + rl:
                        continue
                runs.append([ia, jb, n])
            if n == 1 and len(runs) * 4 < min(i1 - i0, j1 - j0) ** 0.5:
                continue  # a few scattered single words are no evidence in a large gap
            return [(ia, jb, ln) for ia, jb, ln in runs]
        return []

    def _run_dp(self, i0: int, i1: int, j0: int, j1: int, fs: bool, fe: bool) -> None:
        self.cells += (i1 - i0) * (j1 - j0)
        if i1 - i0 > j1 - j0:
            # The DP loops over rows in Python: the shorter side as rows (the scores are symmetric)
            # halves the row count on a film (5,000 -> 2,200 rows for Mission: Impossible).
            for j, i, exact in _dp(self.b[j0:j1], self.a[i0:i1], self._near_b(), self.sc, fs, fe)[0]:
                self.pairs.append((i0 + i, j0 + j, exact))
            return
        for i, j, exact in _dp(self.a[i0:i1], self.b[j0:j1], self.near, self.sc, fs, fe)[0]:
            self.pairs.append((i0 + i, j0 + j, exact))

    def _near_b(self) -> dict[int, np.ndarray]:
        """The near-spelling pairs seen from b's side (built once, when first needed)."""
        if self.near_b is None:
            rev: dict[int, list[int]] = {}
            for k, alts in self.near.items():
                for c in alts.tolist():
                    rev.setdefault(c, []).append(k)
            self.near_b = {c: np.asarray(ks, dtype=np.int64) for c, ks in rev.items()}
        return self.near_b


def _result(pairs: list[tuple[int, int, bool]], cells: int, anchors: int, stats: dict[str, int]) -> WordAlignment:
    if pairs:
        arr = np.asarray([(i, j) for i, j, _ in pairs], dtype=np.int64)
        exact = np.asarray([e for _, _, e in pairs], dtype=bool)
        order = np.argsort(arr[:, 0], kind="stable")
        arr, exact = arr[order], exact[order]
    else:
        arr, exact = np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=bool)
    return WordAlignment(arr, exact, cells, anchors, stats)


def align_words(a: Sequence[str], b: Sequence[str], scoring: Scoring | None = None, *,
                dp_cells: int = 4096, max_cells: int = 4_000_000, ngrams: tuple[int, ...] = (4, 3, 2, 1)
                ) -> WordAlignment:
    """Align token sequences ``a`` and ``b`` monotonically: anchors, then DP in the gaps between them.

    ``dp_cells``: a gap this small (rows x columns) goes straight to DP; ``max_cells``: a gap with no
    anchor at all is solved by DP only up to this size, else left unmatched (nothing links the two).
    Leading and trailing unmatched words cost nothing: either text may start or end with extra material.
    """
    sc = scoring or Scoring()
    ai, bi, words = _encode(a, b)
    near = _near_pairs(ai, bi, words, sc.near_ratio)
    al = _Aligner(ai, bi, near, sc, dp_cells, max_cells, ngrams)
    al.solve(0, len(ai), 0, len(bi), True, True)
    return _result(al.pairs, al.cells, al.anchors, {"skipped_cells": al.skipped_cells})


def align_full(a: Sequence[str], b: Sequence[str], scoring: Scoring | None = None) -> WordAlignment:
    """The baseline: one Needleman-Wunsch over the full len(a) x len(b) matrix (same scores, free ends)."""
    sc = scoring or Scoring()
    ai, bi, words = _encode(a, b)
    near = _near_pairs(ai, bi, words, sc.near_ratio)
    pairs, _ = _dp(ai, bi, near, sc, True, True)
    return _result(pairs, len(ai) * len(bi), 0, {})


def words_in_runs(pairs: np.ndarray, min_run: int = 4) -> int:
    """How many matched pairs lie in runs of at least ``min_run`` consecutive words on both sides.

    Two unrelated texts share common words and the odd phrase; long runs of consecutive matches only
    come from the same speech, so this tells the subtitles of the film from those of another.
    """
    if len(pairs) == 0:
        return 0
    step = np.all(np.diff(pairs, axis=0) == 1, axis=1)
    breaks = np.flatnonzero(~step)
    bounds = np.concatenate(([0], breaks + 1, [len(pairs)]))
    lengths = np.diff(bounds)
    return int(lengths[lengths >= min_run].sum())


def run_lengths(pairs: np.ndarray) -> np.ndarray:
    """For each matched pair, the length of the run of consecutive matches (on both sides) it lies in."""
    if len(pairs) == 0:
        return np.zeros(0, dtype=np.int64)
    step = np.all(np.diff(pairs, axis=0) == 1, axis=1)
    bounds = np.concatenate(([0], np.flatnonzero(~step) + 1, [len(pairs)]))
    return np.repeat(np.diff(bounds), np.diff(bounds))
