"""The DIFFRAC cost under ordering constraints (Bojanowski et al. 2014), in the cached-statistics form
its solvers (:mod:`wsl.solvers.ordering_fw`, :mod:`wsl.solvers.ordering_apg`) share.

f(Z) = 1/2 sum_k w_k z_k^T B z_k + <c, Z> over Z in the product of each video's path polytope
(the convex hull of the ordering oracle's vertices). Instead of applying B twice per iteration
(four passes over X), a solver keeps

    U = Xc^T Z (d x K),  s = 1^T Z (K,),  n_k = ||z_k||^2,

so the gradient is ONE product Xc (M^-1 U), the oracle's vertex enters U by a sparse gather-add
(its rows are one-hot), and the exact line search costs O(d^2 K + N K) with no pass over X. X is
stored in float32 (halving the memory and the bandwidth of the one product); the d x d system
stays in float64. Iterates that are mixtures of paths live on each video's frames times its own
chain's classes only (:class:`_Support`), where the gradient is one matrix-vector product per video
and class.

Every point Y gives f* >= f(Y) - gap(Y) (the oracle's Frank-Wolfe gap; the tangent plane of a convex
f lies below it everywhere): the solvers' certificate, checked by :func:`check_stop`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse
from scipy.optimize import OptimizeResult

from wsl.errors import BadInput
from wsl.solvers.chain_oracle import RaggedChains
from wsl.solvers.chains import Chain, check_chain_lengths
from wsl.solvers.order_polytope import OrderPolytope
from wsl.solvers.prep import blocks_from_lengths


class OrderingProblem:
    """The DIFFRAC cost over videos with ordering chains, in the cached-statistics form.

    ``X`` (N, d), already standardised (stored as float32); ``lengths`` frames per video, in the
    order of X's rows; ``chains`` one :class:`~wsl.solvers.chains.Chain` per video; ``lam`` ridge;
    ``class_weights`` (K,); ``linear`` (K,) cost per frame of each class (kappa on background).
    """

    def __init__(self, X: np.ndarray, lengths: Sequence[int], chains: Sequence[Chain], n_classes: int,
                 lam: float = 1e-2, class_weights: np.ndarray | None = None, linear: np.ndarray | None = None,
                 names: Sequence[str] | None = None):
        if not lam > 0:
            raise BadInput(f"lam must be positive, got {lam}", param="lam")
        self.Xc = np.array(X, dtype=np.float32)  # one copy, centred in place (the caller's X untouched)
        self.Xc -= self.Xc.mean(axis=0, dtype=np.float64).astype(np.float32)
        self.n, self.d = self.Xc.shape
        self.K = int(n_classes)
        self.lam = float(lam)
        self.blocks = blocks_from_lengths(lengths)
        if self.blocks[-1].stop != self.n:
            raise ValueError(f"lengths sum to {self.blocks[-1].stop}, X has {self.n} rows")
        self.chains = list(chains)
        self.names = list(names) if names is not None else None
        check_chain_lengths([b.stop - b.start for b in self.blocks], self.chains, self.K, self.names)
        self._plan = RaggedChains([b.stop - b.start for b in self.blocks], self.chains)
        gram = np.asarray(self.Xc.T @ self.Xc, dtype=np.float64)
        gram[np.diag_indices_from(gram)] += self.n * lam
        self._chol = scipy.linalg.cho_factor(gram, lower=True, check_finite=False)
        self.w = np.ones(self.K) if class_weights is None else np.asarray(class_weights, dtype=np.float64)
        self.c = np.zeros(self.K) if linear is None else np.asarray(linear, dtype=np.float64)
        self._polytope: OrderPolytope | None = None

    def _solve(self, R: np.ndarray) -> np.ndarray:
        return scipy.linalg.cho_solve(self._chol, R, check_finite=False)

    def oracle(self, G: np.ndarray) -> np.ndarray:
        """Labels (N,) of the vertex minimising <G, Z> (one ordering DP per video)."""
        return self._plan.decode(G)

    def gather(self, labels: np.ndarray, rows: np.ndarray | None = None, minus: np.ndarray | None = None
               ) -> np.ndarray:
        """Xc^T onehot(labels) (d, K) over all rows or the given (sorted, distinct) ones, minus
        onehot(``minus``) on the same rows when given: one sparse pass over the rows touched, in row
        order (the one-hot matrix is built as CSR with one or two entries per row: no sort)."""
        lab = np.asarray(labels)
        if rows is None:
            S = scipy.sparse.csr_matrix((np.ones(self.n, dtype=np.float32), lab, np.arange(self.n + 1)),
                                        shape=(self.n, self.K))
        else:
            r = np.asarray(rows)
            per = 1 if minus is None else 2
            indptr = np.zeros(self.n + 1, dtype=np.int64)
            indptr[r + 1] = per
            np.cumsum(indptr, out=indptr)
            if minus is None:
                S = scipy.sparse.csr_matrix((np.ones(len(r), dtype=np.float32), lab, indptr), shape=(self.n, self.K))
            else:
                idx = np.empty(2 * len(r), dtype=np.int64)
                idx[0::2], idx[1::2] = lab, np.asarray(minus)
                data = np.empty(2 * len(r), dtype=np.float32)
                data[0::2], data[1::2] = 1.0, -1.0
                S = scipy.sparse.csr_matrix((data, idx, indptr), shape=(self.n, self.K))
        return np.asarray(S.T @ self.Xc, dtype=np.float64).T

    def quad(self, sq: np.ndarray, colsum: np.ndarray, U: np.ndarray, V: np.ndarray | None = None) -> float:
        """1/2 sum_k w_k z^T B z from ||z_k||^2, 1^T z_k and U = Xc^T z_k (V = M^-1 U when known)."""
        per = sq - colsum * colsum / self.n - (U * (self._solve(U) if V is None else V)).sum(axis=0)
        return 0.5 * float(np.sum(self.w * per)) / self.n

    def value(self, Z: np.ndarray) -> float:
        Z = np.asarray(Z, dtype=np.float64)
        U = np.asarray(self.Xc.T @ Z.astype(np.float32), dtype=np.float64)
        return self.quad((Z * Z).sum(axis=0), Z.sum(axis=0), U) + float(Z.sum(axis=0) @ self.c)

    def grad(self, Z: np.ndarray, U: np.ndarray, colsum: np.ndarray) -> np.ndarray:
        """The gradient at Z: one (N, d) x (d, K) product."""
        V = self._solve(U).astype(np.float32)
        G = Z - colsum / self.n
        G -= self.Xc @ V
        G *= self.w / self.n
        G += self.c
        return G

    def support(self) -> _Support:
        """Where the iterates of the Frank-Wolfe methods live. Built anew on each call (once per
        solve, some 15 MB at Hollywood size: not kept between solves)."""
        return _Support([b.stop - b.start for b in self.blocks], self.chains, self.K, self._plan)

    def grad_cells(self, sup: _Support, Zs: np.ndarray, V: np.ndarray, colsum: np.ndarray) -> np.ndarray:
        """The gradient on the support cells ``sup`` at Z with V = M^-1 U.

        Only each video's own classes are computed: per video and class, its frames times that
        class's column of V (a matrix-vector product; the video's rows stay in cache for its next
        class), about 4 of 17 classes here. That reads X once, as the full (N, d) x (d, K) product
        does, with a quarter of its multiplications: 27 ms against 55 at Hollywood size (37 ms with
        one (k, d) x (d, frames) product per video)."""
        VS = np.ascontiguousarray(V.T, dtype=np.float32)[sup.classes]
        XV = np.empty(sup.n_cells, dtype=np.float32)
        Xc = self.Xc
        for a, n, o, k, q in sup.blocks:
            rows = Xc[a: a + n]
            for j in range(k):
                np.dot(rows, VS[q + j], out=XV[o + j * n: o + (j + 1) * n])
        Gs = np.subtract(Zs, XV)
        del XV
        a_k = self.w / self.n
        Gs *= a_k[sup.cell_class]
        Gs += (self.c - a_k * colsum / self.n)[sup.cell_class]
        return Gs

    def stats_cells(self, sup: _Support, Zs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`stats` of Z given on the support cells: per video, its frames times its own classes (one
        small product each, in float32, summed in float64): a quarter of the full product's work, 0.7-0.8 of
        its time at Hollywood size (the per-video calls cost the rest)."""
        UT = np.zeros((self.K, self.d))
        Z32 = Zs.astype(np.float32)
        Xc = self.Xc
        for a, n, o, k, q in sup.blocks:  # (k, n) x (n, d), row-major both: 1.5x faster than X^T Z per video
            UT[sup.classes[q: q + k]] += Z32[o: o + k * n].reshape(k, n) @ Xc[a: a + n]
        U = np.ascontiguousarray(UT.T)
        colsum = np.bincount(sup.cell_class, Zs, minlength=self.K)
        sq = np.bincount(sup.cell_class, Zs * Zs, minlength=self.K)
        return U, colsum, sq

    def classifier(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ridge classifier (W (d, K), b (K,)) of Z, on the centred features."""
        U = np.asarray(self.Xc.T @ np.asarray(Z, dtype=np.float32), dtype=np.float64)
        return self._solve(U), np.asarray(Z, dtype=np.float64).mean(axis=0)

    def polytope(self) -> OrderPolytope:
        """The videos' path polytopes in cumulative coordinates (built on first use)."""
        if self._polytope is None:
            self._polytope = OrderPolytope([b.stop - b.start for b in self.blocks], self.chains, self.K)
        return self._polytope

    def stats(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """U = Xc^T Z (one GEMM), the column sums and the squared column norms of Z."""
        U = np.asarray(self.Xc.T @ Z.astype(np.float32), dtype=np.float64)
        return U, Z.sum(axis=0), (Z * Z).sum(axis=0)

    def scores(self, Z: np.ndarray) -> np.ndarray:
        W, b = self.classifier(Z)
        return np.asarray(self.Xc @ W.astype(np.float32), dtype=np.float64) + b

    def value_and_gap(self, sup: _Support, Zs: np.ndarray) -> tuple[float, float]:
        """f(Z) and the Frank-Wolfe gap at Z given on the support cells ``sup`` (the oracle's vertices live
        there too): no N x K array."""
        U, col, sq = self.stats_cells(sup, Zs)
        V = self._solve(U)
        Gs = self.grad_cells(sup, Zs, V, col)
        _, _, cost = self._plan.solve_cells(Gs, sup.dp_index, partial(sup.dense, Gs, np.inf))
        return self.quad(sq, col, U, V) + float(col @ self.c), float(Gs @ Zs) - cost


class _Support:
    """The cells where Frank-Wolfe iterates can be non-zero: each video's frames times the classes of
    its chain (the iterates are mixtures of the oracle's paths; 3.8 of 17 classes per frame at
    Hollywood size). Label-major per video: cells [off + j n, off + (j + 1) n) hold the n frames of
    the video for its j-th class, so the oracle reads each state's costs from consecutive cells."""

    def __init__(self, lengths: Sequence[int], chains: Sequence[Chain], n_classes: int, plan: RaggedChains):
        L = np.asarray(lengths, dtype=np.int64)
        V, N = len(L), int(L.sum())
        starts = np.r_[0, np.cumsum(L)[:-1]].astype(np.int64)
        own = [np.unique(ch.labels) for ch in chains]
        u = np.array([len(c) for c in own], dtype=np.int64)
        self.classes = np.concatenate(own)  # every video's classes, video after video
        first = np.r_[0, np.cumsum(u)[:-1]].astype(np.int64)
        off = np.r_[0, np.cumsum(u * L)[:-1]].astype(np.int64)
        self.n_cells = int((u * L).sum())
        self.n_rows, self.K = N, int(n_classes)
        self.slot = np.full((V, self.K), -1, dtype=np.int64)  # j of class k in video v, -1 if not its class
        for v, c in enumerate(own):
            self.slot[v, c] = np.arange(len(c))
        it = np.int32 if self.n_cells < 2**31 else np.int64  # the index arrays: half the memory (Hollywood: 6 MB)
        self.video_of_row = np.repeat(np.arange(V), L).astype(it)
        self.row_base = (off[self.video_of_row] + np.arange(N) - starts[self.video_of_row]).astype(it)
        self.row_len = L[self.video_of_row].astype(it)
        self.cell_class = np.repeat(self.classes, np.repeat(L, u)).astype(it)
        seg_start = np.repeat(starts, u)  # the first row of every (video, class) segment
        seg_len = np.repeat(L, u)
        self.cell_row = (np.repeat(seg_start - np.r_[0, np.cumsum(seg_len)[:-1]], seg_len)
                         + np.arange(self.n_cells)).astype(it)
        # per video: first row, frames, first cell, classes, first class (plain ints for the GEMM loop)
        self.blocks = list(zip(starts.tolist(), L.tolist(), off.tolist(), u.tolist(), first.tolist(), strict=True))
        self.dp_index = self.index(*plan.table_cells()).astype(it)

    def index(self, rows: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """The cells of (row, label) pairs; each label must be one of its video's classes."""
        return self.row_base[rows] + self.slot[self.video_of_row[rows], labels] * self.row_len[rows]

    def state_cells(self, state_labels: np.ndarray, real: np.ndarray) -> np.ndarray:
        """(N, S) cell of each row's states, given their labels (N, S) and which are real (N, S) bool; a
        padding state gets its row's first cell."""
        rows = np.arange(self.n_rows)
        slot = np.where(real, self.slot[self.video_of_row[:, None], state_labels], 0)
        cells = self.row_base[rows, None] + slot * self.row_len[rows, None]
        return cells.astype(np.int32 if self.n_cells < 2**31 else np.int64)

    def score(self, cells: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Sums of the cell values along label vectors (m, N): <G, vertex> for each."""
        return cells[self.index(np.arange(self.n_rows)[None, :], labels)].sum(axis=1)

    def holds(self, labels: np.ndarray) -> bool:
        """Whether every row's label is one of its video's classes."""
        return bool((self.slot[self.video_of_row, labels] >= 0).all())

    def dense(self, cells: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """The (N, K) array of values on the cells, ``fill`` elsewhere."""
        out = np.full((self.n_rows, self.K), fill)
        out[self.cell_row, self.cell_class] = cells
        return out


def check_stop(history: list[tuple[float, float]], callback: Callable[[OptimizeResult], Any] | None, fun: float,
               gap: float, nit: int, *, atol: float, rtol: float, max_iter: int, max_seconds: float | None,
               elapsed: float) -> tuple[bool, str] | None:
    """Log one check of a solve (history, callback); (success, message) when it stops there, else None."""
    history.append((fun, gap))
    if callback is not None:
        callback(OptimizeResult(x=None, fun=fun, gap=gap, nit=nit))
    if gap <= atol + rtol * abs(fun):
        return True, "certified duality gap below tolerance"
    if nit == max_iter:
        return False, "maximum number of iterations reached"
    if max_seconds is not None and elapsed > max_seconds:
        return False, "time limit reached"
    return None
