"""Multiple sequence alignment of the videos' relation sequences into an ordered template of slots.

Alayrac et al. 2016 (section 4.1): find a template, a sequence of slots each labelled with one
relation, and for every video a monotone alignment of its relation sequence to the template (each
relation to at most one slot, each slot at most one relation per video), maximising the number of
matches (a relation aligned to a slot of the same, or a similar, label). A slot's *support* is the
number of videos that match it; the K best-supported slots, in template order, are the steps.

The problem is NP-hard. It is solved here by coordinate ascent over the template with an exact
dynamic-programming oracle for the alignments: for a template, every video's best alignment and,
from its forward and backward tables, the exact gain of inserting any label at any position are
computed at once. Greedy insertion builds the template; then each slot in turn is removed and the
best single insertion re-added (moving or relabelling it) until no move improves the score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class Template:
    """An aligned template: slot labels (indices into the vocabulary), each slot's support, and per
    video the item matched to each slot (-1: none)."""

    labels: np.ndarray  # (L,) int
    support: np.ndarray  # (L,) int, videos matching each slot
    alignments: list[np.ndarray]  # per video, (L,) int item index or -1
    score: float  # total similarity of the matches over all videos

    def __len__(self) -> int:
        return len(self.labels)


def _forward(M: np.ndarray) -> np.ndarray:
    """F[i, l]: best alignment score of the first i items to the first l slots; M is (m, L) match scores."""
    m, L = M.shape
    F = np.zeros((m + 1, L + 1))
    for i in range(1, m + 1):
        cand = F[i - 1].copy()
        cand[1:] = np.maximum(cand[1:], F[i - 1, :-1] + M[i - 1])
        F[i] = np.maximum.accumulate(cand)  # the F[i, l-1] term: skip slot l
    return F


def align(items: np.ndarray, labels: np.ndarray, sim: np.ndarray) -> tuple[float, np.ndarray]:
    """Best monotone alignment of one video's items (label ids) to a template: (score, slot -> item or -1)."""
    L = len(labels)
    out = np.full(L, -1, dtype=np.int64)
    if len(items) == 0 or L == 0:
        return 0.0, out
    M = sim[np.ix_(items, labels)]
    F = _forward(M)
    i, j = len(items), L
    while i > 0 and j > 0:
        if F[i, j] == F[i - 1, j]:
            i -= 1
        elif F[i, j] == F[i, j - 1]:
            j -= 1
        else:
            out[j - 1] = i - 1
            i, j = i - 1, j - 1
    return float(F[-1, -1]), out


def _insertion_gains(items: np.ndarray, labels: np.ndarray, sim: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """(C, L+1) gain in this video's score from inserting candidate label c before slot p."""
    L = len(labels)
    if len(items) == 0:
        return np.zeros((len(cand), L + 1))
    M = sim[np.ix_(items, labels)] if L else np.zeros((len(items), 0))
    F = _forward(M)  # (m+1, L+1)
    B = _forward(M[::-1, ::-1])[::-1, ::-1]  # B[i, l]: items i.. to slots l..
    base = F[-1, -1]
    A = F[:-1] + B[1:]  # (m, L+1): item i takes the new slot placed before slot p
    S = sim[np.ix_(items, cand)]  # (m, C)
    best = np.full((len(cand), L + 1), base)
    for i in range(len(items)):
        ok = S[i] > 0
        if ok.any():
            best[ok] = np.maximum(best[ok], S[i, ok, None] + A[i][None, :])
    return best - base


def _score(seqs: Sequence[np.ndarray], labels: np.ndarray, sim: np.ndarray) -> float:
    return float(sum(align(s, labels, sim)[0] for s in seqs))


def _best_insertion(seqs: Sequence[np.ndarray], labels: np.ndarray, sim: np.ndarray,
                    cand: np.ndarray) -> tuple[float, int, int]:
    total = np.sum([_insertion_gains(s, labels, sim, cand) for s in seqs], axis=0)
    c, p = np.unravel_index(int(np.argmax(total)), total.shape)
    return float(total[c, p]), int(cand[c]), int(p)


def fit_template(seqs: Sequence[Sequence[int]], n_labels: int, max_slots: int = 20, min_support: int = 2,
                 sim: np.ndarray | None = None, max_rounds: int = 20) -> Template:
    """Template of at most ``max_slots`` slots maximising the matches of ``seqs`` (label ids per video).

    A slot is added only while it gains at least ``min_support`` matches. ``sim`` (n_labels x
    n_labels, values in [0, 1]) scores a label against a slot label; the identity by default.
    """
    arrays = [np.asarray(s, dtype=np.int64) for s in seqs]
    sim = np.eye(n_labels) if sim is None else np.asarray(sim, dtype=np.float64)
    # only labels seen in at least min_support videos can ever reach that support
    seen = np.zeros(n_labels)
    for s in arrays:
        seen[np.unique(s)] += 1
    reach = (sim > 0).astype(np.float64) @ seen if sim is not None else seen
    cand = np.flatnonzero(reach >= min_support)
    labels = np.zeros(0, dtype=np.int64)
    if len(cand) == 0:
        return _finish(arrays, labels, sim)
    # greedy construction
    while len(labels) < max_slots:
        gain, c, p = _best_insertion(arrays, labels, sim, cand)
        if gain < min_support:
            break
        labels = np.insert(labels, p, c)
    # local search: take a slot out, put the best single insertion back (a move or a relabelling)
    score = _score(arrays, labels, sim)
    for _ in range(max_rounds):
        improved = False
        for j in range(len(labels)):
            if j >= len(labels):
                break
            rest = np.delete(labels, j)
            gain, c, p = _best_insertion(arrays, rest, sim, cand)
            new = _score(arrays, rest, sim) + gain
            if new > score + 1e-9:
                labels, score, improved = np.insert(rest, p, c), new, True
        if not improved:
            break
    return _finish(arrays, labels, sim)


def _finish(seqs: Sequence[np.ndarray], labels: np.ndarray, sim: np.ndarray) -> Template:
    aligns, total = [], 0.0
    support = np.zeros(len(labels), dtype=np.int64)
    for s in seqs:
        sc, a = align(s, labels, sim)
        total += sc
        aligns.append(a)
        support += a >= 0
    return Template(labels, support, aligns, total)


def choose_k(support: Sequence[int], min_support: int = 2, min_k: int = 3) -> int:
    """K from the support curve: sort the slots' supports in decreasing order and cut at the largest
    drop (below the last slot the support drops to ``min_support - 1``); ties go to the larger K.
    Cuts leaving fewer than ``min_k`` steps are not considered (a task has a few steps; one
    dominant relation such as "add salt" would otherwise make K = 1)."""
    s = np.sort(np.asarray(support, dtype=np.int64))[::-1]
    s = s[s >= min_support]
    if len(s) <= min_k:
        return len(s)
    drops = (s - np.append(s[1:], min_support - 1))[min_k - 1:]
    return int(min_k - 1 + len(drops) - np.argmax(drops[::-1]))


def keep_best(template: Template, k: int) -> np.ndarray:
    """Indices of the ``k`` best-supported slots, in template order (ties: earlier slot first)."""
    order = sorted(range(len(template)), key=lambda j: (-int(template.support[j]), j))
    return np.array(sorted(order[:k]), dtype=np.int64)
