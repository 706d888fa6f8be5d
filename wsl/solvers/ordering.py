"""DIFFRAC under ordering constraints (Bojanowski et al. 2014) with a cheap, certified iteration.

f(Z) = 1/2 sum_k w_k z_k^T B z_k + <c, Z> over Z in the product of each video's path polytope
(the convex hull of the ordering oracle's vertices). Instead of applying B twice per iteration
(four passes over X), the solver keeps

    U = Xc^T Z (d x K),  s = 1^T Z (K,),  n_k = ||z_k||^2,

so the gradient is ONE product Xc (M^-1 U), the oracle's vertex enters U by a sparse gather-add
(its rows are one-hot), and the exact line search costs O(d^2 K + N K) with no pass over X. X is
stored in float32 (halving the memory and the bandwidth of the one product); the d x d system
stays in float64. The Frank-Wolfe methods go further: their iterates are mixtures of paths, so Z
lives on each video's frames times its own chain's classes only (:class:`_Support`), where the
gradient is one matrix-vector product per video and class; a new vertex's Xc^T S is gathered from
the last one's over the frames whose label changed.

Three methods, all certified: every point Y gives f* >= f(Y) - gap(Y) (the oracle's Frank-Wolfe
gap; the tangent plane of a convex f lies below it everywhere), so the certified gap is the best
feasible objective minus the best such bound seen, f(Z) - f* <= gap.

- ``"apg"`` (default): accelerated projected gradient in the cumulative (order-polytope) coordinates
  of :mod:`wsl.solvers.order_polytope`, where the projection onto each video's path polytope is
  isotonic regression. The optimum of these problems is usually deep inside a face of huge
  dimension (every frame a mixture of many paths), which Frank-Wolfe methods approach one vertex per
  iteration; projection reaches it directly. Chains outside that form (a last state that may not be
  stayed on, a state that must be left but may be skipped: none that ``ordering_chain`` makes) fall
  back to ``"pairwise"``.
- ``"pairwise"``: pairwise Frank-Wolfe (Lacoste-Julien & Jaggi 2015). Vertices are kept as label
  vectors (one int per frame), so the active set costs N bytes per vertex and a pairwise direction
  touches only the frames where two vertices differ.
- ``"fw"``: plain Frank-Wolfe with exact line search.
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
from wsl.solvers.extrapolation import RREWindow
from wsl.solvers.oracles import Chain, RaggedChains, check_chain_lengths
from wsl.solvers.order_polytope import OrderPolytope
from wsl.solvers.prep import blocks_from_lengths


class OrderingProblem:
    """The DIFFRAC cost over videos with ordering chains, in the cached-statistics form.

    ``X`` (N, d), already standardised (stored as float32); ``lengths`` frames per video, in the
    order of X's rows; ``chains`` one :class:`~wsl.solvers.oracles.Chain` per video; ``lam`` ridge;
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

    def lower_bound(self, Z: np.ndarray, U: np.ndarray, colsum: np.ndarray, sq: np.ndarray
                    ) -> tuple[float, float, np.ndarray, np.ndarray]:
        """f(Z), the Frank-Wolfe gap at Z (f(Z) - gap <= f*, valid at ANY Z: the tangent plane of a
        convex f lies below it), the gradient at Z and the oracle's vertex (labels) for it."""
        f = self.quad(sq, colsum, U) + float(colsum @ self.c)
        G = self.grad(Z, U, colsum)
        s_lab = self.oracle(G)
        return f, float(np.vdot(G, Z) - G[np.arange(self.n), s_lab].sum()), G, s_lab

    def scores(self, Z: np.ndarray) -> np.ndarray:
        W, b = self.classifier(Z)
        return np.asarray(self.Xc @ W.astype(np.float32), dtype=np.float64) + b


_CERTIFIED = "certified duality gap below tolerance"


def _record(history: list[tuple[float, float]], callback: Callable[[OptimizeResult], Any] | None, fun: float,
            gap: float, nit: int, *, atol: float, rtol: float, max_iter: int, max_seconds: float | None,
            elapsed: float) -> str | None:
    """Log one check of a solve (history, callback) and say why it stops there, or None to go on."""
    history.append((fun, gap))
    if callback is not None:
        callback(OptimizeResult(x=None, fun=fun, gap=gap, nit=nit))
    if gap <= atol + rtol * abs(fun):
        return _CERTIFIED
    if nit == max_iter:
        return "maximum number of iterations reached"
    if max_seconds is not None and elapsed > max_seconds:
        return "time limit reached"
    return None


def solve_ordering(problem: OrderingProblem, labels0: np.ndarray, *, method: str = "apg", max_iter: int = 500,
                   atol: float = 0.0, rtol: float = 1e-3, max_seconds: float | None = None,
                   clock: Callable[[], float] | None = None,
                   callback: Callable[[OptimizeResult], Any] | None = None, rre: int = 10) -> OptimizeResult:
    """Minimise the ordering problem from the vertex ``labels0`` (N,) (each frame labelled with a
    class of its video's chain).

    Stops when the certified gap is at most ``atol + rtol * |f|``, after ``max_iter`` iterations or
    after ``max_seconds`` of ``clock`` (default wall time; ``time.process_time`` counts CPU).
    Returns an OptimizeResult (x (N, K), fun, gap certified (fun minus ``lower_bound``, the best
    bound on f* seen), fw_gap (the Frank-Wolfe gap at x), nit, success, message, history of
    (f, gap)); ``"apg"`` checks the gap every 10 iterations, also at the reduced-rank extrapolation
    of its last ``rre`` steps (0: not). ``callback`` gets a summary (fun, gap, nit) at every check.
    """
    import time

    if method not in ("fw", "pairwise", "apg"):
        raise ValueError(f"method must be fw, pairwise or apg, got {method!r}")
    if method == "apg" and not all(OrderPolytope.supports(ch) for ch in problem.chains):
        method = "pairwise"  # chains outside the order-polytope form (none that ordering_chain makes)
    if method == "apg":
        return _solve_apg(problem, labels0, max_iter=max_iter, atol=atol, rtol=rtol, max_seconds=max_seconds,
                          clock=clock, callback=callback, rre=rre)
    # Frank-Wolfe on the cached statistics, with Z and the gradient kept on the support cells (each
    # video's frames times its own classes, see _Support). V = M^-1 U is carried along (one d x d
    # solve per iteration).
    p = problem
    N, K = p.n, p.K
    rows = np.arange(N)
    sup = p.support()
    lab0 = np.asarray(labels0, dtype=np.int64)
    if lab0.shape != (N,) or not sup.holds(lab0):
        raise ValueError("labels0 must give every frame one of the classes of its video's chain")
    Zs = np.zeros(sup.n_cells)
    Zs[sup.index(rows, lab0)] = 1.0
    U = p.gather(lab0)
    V = p._solve(U)
    colsum = np.bincount(lab0, minlength=K).astype(np.float64)
    sq = colsum.copy()
    # the last vertex and its Xc^T S: the next vertex's differs on the frames whose label changed
    # (a few percent after the first iterations), gathered afresh every `_REGATHER` iterations
    last_lab, last_U, last_full = lab0, U.copy(), 0
    # active set of the pairwise method: label vectors and their weights
    active = _ActiveLabels(lab0)
    history: list[tuple[float, float]] = []
    clock = clock or time.perf_counter
    start = clock()
    success, message, gap, fun, nit = False, "maximum number of iterations reached", np.inf, np.inf, 0
    # the certificate: every point Y gives f* >= f(Y) - gap(Y); keep the best such bound over the
    # iterates (their running average, tried too, gave no better one)
    best_lb, fw_gap = -np.inf, np.inf
    for nit in range(max_iter + 1):
        fun = p.quad(sq, colsum, U, V) + float(colsum @ p.c)
        Gs = p.grad_cells(sup, Zs, V, colsum)
        s_lab, _, s_cost = p._plan.solve_cells(Gs, sup.dp_index, partial(sup.dense, Gs, np.inf))
        fw_gap = float(Gs @ Zs) - s_cost  # s_cost = <G, S>
        best_lb = max(best_lb, fun - fw_gap)
        gap = fun - best_lb
        why = _record(history, callback, fun, gap, nit, atol=atol, rtol=rtol, max_iter=max_iter,
                      max_seconds=max_seconds, elapsed=clock() - start)
        if why is not None:
            success, message = why == _CERTIFIED, why
            break
        if method == "fw":
            a_lab, gmax, j = None, 1.0, -1
        else:
            j, a_lab, gmax = active.away(partial(sup.score, Gs))
        # direction D = S - A (A = Z for plain FW): its summaries without forming it densely
        if a_lab is None:
            slope = -fw_gap  # <G, S - Z> at this iterate (the certified gap may be smaller)
            if nit - last_full >= _REGATHER:
                sU, last_full = p.gather(s_lab), nit
            else:
                moved = np.flatnonzero(s_lab != last_lab)
                sU = last_U + p.gather(s_lab[moved], moved, minus=last_lab[moved])
            last_lab, last_U = s_lab, sU
            dU = sU - U
            s_cnt = np.bincount(s_lab, minlength=K).astype(np.float64)
            dcol = s_cnt - colsum
            s_cells = sup.index(rows, s_lab)
            zs = np.bincount(s_lab, weights=Zs[s_cells], minlength=K)
            dsq = s_cnt - 2 * zs + sq  # ||s - z||^2 per column
            zd = zs - sq  # <z, d> per column
        else:
            diff = np.flatnonzero(s_lab != a_lab)
            if len(diff) == 0:
                success, message = True, "no descent direction"
                break
            ls, la = s_lab[diff], a_lab[diff]
            s_cells, a_cells = sup.index(diff, ls), sup.index(diff, la)
            slope = float(Gs[s_cells].sum() - Gs[a_cells].sum())
            if slope >= 0:
                success, message = True, "no descent direction"
                break
            dU = p.gather(ls, diff, minus=la)
            cs, ca = np.bincount(ls, minlength=K).astype(np.float64), np.bincount(la, minlength=K).astype(np.float64)
            dcol = cs - ca
            dsq = cs + ca
            zd = (np.bincount(ls, weights=Zs[s_cells], minlength=K)
                  - np.bincount(la, weights=Zs[a_cells], minlength=K)).astype(np.float64)
        del Gs
        dV = p._solve(dU)
        curv = float(np.sum(p.w * (dsq - dcol * dcol / N - (dU * dV).sum(axis=0)))) / N
        gamma = gmax if curv <= 0 else min(gmax, -slope / curv)
        if a_lab is None:
            Zs *= 1 - gamma
            Zs[s_cells] += gamma
        else:
            Zs[s_cells] += gamma
            Zs[a_cells] -= gamma
            active.move(j, s_lab, gamma)
        sq += 2 * gamma * zd + gamma * gamma * dsq
        U += gamma * dU
        V += gamma * dV
        colsum += gamma * dcol
    return OptimizeResult(x=sup.dense(Zs), fun=fun, gap=gap, nit=nit, success=success, message=message,
                          history=np.array(history).reshape(-1, 2), lower_bound=best_lb, fw_gap=fw_gap,
                          active=active.size if method == "pairwise" else None,
                          seconds=clock() - start)

_REGATHER = 64  # plain FW: a vertex's Xc^T S gathered in full every this many iterations, else by its changes


def _solve_apg(p: OrderingProblem, labels0: np.ndarray, *, max_iter: int, atol: float, rtol: float,
               max_seconds: float | None, callback: Callable[[OptimizeResult], Any] | None,
               clock: Callable[[], float] | None = None,
               sweeps: int = 1, check_every: int = 10, rre: int = 10) -> OptimizeResult:
    """Accelerated projected gradient (FISTA with gradient restart) in the cumulative coordinates c of
    :class:`~wsl.solvers.order_polytope.OrderPolytope`, step 1 / (max w / N * ||c -> Z||^2) (the
    Lipschitz constant; backtracking from a quarter of it bought nothing), the projection by
    warm-started Dykstra (one sweep per iteration: the increments carry over, so the sweeps
    accumulate across iterations). Every ``check_every`` iterations the iterate is repaired to an
    exactly feasible point (the upper bound) and the Frank-Wolfe bound f(Y) - gap(Y) <= f*, valid at
    any Y, is taken at it and at the reduced-rank extrapolation of the last ``rre`` steps
    (:mod:`wsl.solvers.extrapolation`; it pays late in a run: 6x tighter after 3,000 iterations on 20
    videos, where the bound at FISTA's momentum point gained nothing); the certified gap is the best
    upper bound minus the best lower bound."""
    import time

    clock = clock or time.perf_counter
    start = clock()
    poly = p.polytope()
    step = 1.0 / (float(np.max(p.w)) / p.n * poly.norm2)
    onehot = np.zeros((p.n, p.K))
    onehot[np.arange(p.n), np.asarray(labels0, dtype=np.int64)] = 1.0
    c = poly.from_states(p._plan.decode_states(-onehot)[1])  # the vertex nearest labels0
    del onehot
    duals = poly.new_duals()
    U, col, _ = p.stats(poly.to_Z(c))
    c_prev, U_prev, col_prev = c, U, col
    t_k = 1.0
    best_f, best_c, best_fw = np.inf, c, np.inf  # the best exactly feasible point (kept as c: smaller)
    best_lb = -np.inf
    window = RREWindow(rre) if rre else None
    cells = np.flatnonzero(poly.valid).astype(np.int32 if poly.valid.size < 2**31 else np.int64)  # the free cells
    history: list[tuple[float, float]] = []
    success, message, nit, gap = False, "maximum number of iterations reached", 0, np.inf
    for nit in range(max_iter + 1):
        if nit % check_every == 0 or nit == max_iter:
            w = window.extrapolate(c.ravel()[cells]) if window is not None else None
            if w is not None:  # the bound at the extrapolated iterate (need not be feasible)
                w_c = c.copy()
                w_c.ravel()[cells] = w
                del w
                Zw = poly.to_Z(w_c)
                del w_c
                f_w, fw_w = _f_and_gap(p, Zw)
                del Zw
                best_lb = max(best_lb, f_w - fw_w)
            cf = poly.repair(c)
            f_f, fw_f = _f_and_gap(p, poly.to_Z(cf))
            lb = f_f - fw_f
            best_lb = max(best_lb, lb)
            if f_f < best_f:
                best_f, best_c, best_fw = f_f, cf, fw_f
            gap = best_f - best_lb
            why = _record(history, callback, best_f, gap, nit, atol=atol, rtol=rtol, max_iter=max_iter,
                          max_seconds=max_seconds, elapsed=clock() - start)
            if why is not None:
                success, message = why == _CERTIFIED, why
                break
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t_k * t_k))
        beta = (t_k - 1.0) / t_next
        y = c - c_prev
        y *= beta
        y += c
        Zy = poly.to_Z(y)
        Uy, coly = (1 + beta) * U - beta * U_prev, (1 + beta) * col - beta * col_prev
        Gy = p.grad(Zy, Uy, coly)
        del Zy
        g_c = poly.grad_c(Gy)
        g_c *= step
        y -= g_c
        del g_c
        del Gy
        c_new = poly.project(y, duals, sweeps, overwrite=True)
        del y
        # restart when the momentum points against the step taken (O'Donoghue-Candes): <c_new - c, c - c_prev> < 0
        if float(np.vdot(c_new, c) - np.vdot(c_new, c_prev) - np.vdot(c, c) + np.vdot(c, c_prev)) < 0:
            t_next = 1.0
        if window is not None:
            window.push(c_new.ravel()[cells], c.ravel()[cells])  # the free cells only: 0.6 of N x M here
        c_prev, U_prev, col_prev = c, U, col
        c = c_new
        U, col, _ = p.stats(poly.to_Z(c))
        t_k = t_next
    return OptimizeResult(x=poly.to_Z(best_c), fun=best_f, gap=best_f - best_lb, nit=nit, success=success,
                          message=message, history=np.array(history).reshape(-1, 2), lower_bound=best_lb,
                          fw_gap=best_fw, active=None, seconds=clock() - start)


def _f_and_gap(p: OrderingProblem, Z: np.ndarray) -> tuple[float, float]:
    """f(Z) and the Frank-Wolfe gap at Z, holding the gradient only inside (an N x K array less at the
    solver's peak)."""
    f, fw_gap, _, _ = p.lower_bound(Z, *p.stats(Z))
    return f, fw_gap


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
        self.video_of_row = np.repeat(np.arange(V), L)
        self.row_base = off[self.video_of_row] + np.arange(N) - starts[self.video_of_row]
        self.row_len = L[self.video_of_row]
        self.cell_class = np.repeat(self.classes, np.repeat(L, u))
        seg_start = np.repeat(starts, u)  # the first row of every (video, class) segment
        seg_len = np.repeat(L, u)
        self.cell_row = np.repeat(seg_start - np.r_[0, np.cumsum(seg_len)[:-1]], seg_len) + np.arange(self.n_cells)
        # per video: first row, frames, first cell, classes, first class (plain ints for the GEMM loop)
        self.blocks = list(zip(starts.tolist(), L.tolist(), off.tolist(), u.tolist(), first.tolist(), strict=True))
        self.dp_index = self.index(*plan.table_cells())

    def index(self, rows: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """The cells of (row, label) pairs; each label must be one of its video's classes."""
        return self.row_base[rows] + self.slot[self.video_of_row[rows], labels] * self.row_len[rows]

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


class _ActiveLabels:
    """The pairwise method's active set: vertices as rows of a label matrix (found again by their
    bytes), their convex weights, and free slots reused after a drop step."""

    def __init__(self, labels: np.ndarray):
        self.dtype = np.int16 if int(labels.max(initial=0)) < 32000 else np.int32
        self.V = np.zeros((8, len(labels)), dtype=self.dtype)
        self.V[0] = labels
        self.w = np.zeros(8)
        self.w[0] = 1.0
        self.index: dict[bytes, int] = {self.V[0].tobytes(): 0}
        self.used = 1

    @property
    def size(self) -> int:
        return int((self.w > 0).sum())

    def away(self, score: Callable[[np.ndarray], np.ndarray]) -> tuple[int, np.ndarray, float]:
        """The active vertex with the largest <G, v> (``score`` gives it for a stack of label
        vectors), its labels and weight."""
        n = self.used
        # in chunks of vertices: scoring all at once would grow with the active set (160 MB at 250
        # vertices of 80,000 frames)
        scores = np.concatenate([score(self.V[i:min(i + 16, n)].astype(np.int64)) for i in range(0, n, 16)])
        scores[self.w[:n] <= 0] = -np.inf
        j = int(np.argmax(scores))
        return j, self.V[j].astype(np.int64), float(self.w[j])

    def move(self, j: int, s_lab: np.ndarray, gamma: float) -> None:
        row = s_lab.astype(self.dtype)
        key = row.tobytes()
        k = self.index.get(key)
        if k is None:
            free = np.flatnonzero(self.w[: self.used] <= 0)
            if len(free):
                k = int(free[0])
                del self.index[self.V[k].tobytes()]
            else:
                if self.used == len(self.w):
                    self.V = np.concatenate([self.V, np.zeros_like(self.V)])
                    self.w = np.concatenate([self.w, np.zeros_like(self.w)])
                k = self.used
                self.used += 1
            self.V[k] = row
            self.index[key] = k
        self.w[k] += gamma
        self.w[j] -= gamma
        if self.w[j] <= 1e-12 and j != k:
            self.w[j] = 0.0
