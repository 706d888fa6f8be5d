"""The path polytope of an ordering chain as an order polytope, and Euclidean projection onto it.

With s(t) the chain state at frame t and c[t, m] = P(s(t) <= m) (cumulative over states), every move
rule of a :class:`~wsl.solvers.chains.Chain` reads g(s(t)) <= s(t+1) <= h(s(t)) with g, h
nondecreasing (g(s) = s on a state that may be stayed on, s + 1 on one that may not, as the first
frames of a ``min_length`` action; h(s) = s + 1, or s + 2 over an optional state). Under the quantile
coupling s_t(u) = min{m : c[t, m] >= u} these are exactly the two-variable constraints

    c[t+1, m] <= c[t, g'(m)],   c[t+1, h(j)] >= c[t, j],   c[t, m] <= c[t, m+1],

(g'(m) = m on a stayable state, m - 1 on one that is not), with c in [0, 1] and the start and end
states fixed; so the convex hull of the paths is this set (tests/test_solvers_order_polytope.py
checks it), and Euclidean projection in c is isotonic regression on a DAG. The DAG's edges fall into
three families of disjoint chains (within a frame; along time on the stayable states; along the move
diagonals); each family is projected exactly by one PAV call (chains concatenated with offsets so that
none pools across another), and Dykstra's method, warm-started, combines them. A state a that must be
left and is entered only from a-1 gives both c[t+1, a] <= c[t, a-1] and >= : the cells are copies, and
the classes of copies are one more (linear) projection, their means; as two opposed chain edges in
different families Dykstra approached them very slowly (violation 1e-2 after 300 sweeps).
:meth:`OrderPolytope.repair` makes any nearly feasible c exactly feasible (one forward pass of
clamps), which is what a certificate needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import connected_components

from wsl.solvers.chains import Chain


def _isotonic(y: np.ndarray) -> np.ndarray:
    try:  # scipy >= 1.12
        from scipy.optimize import isotonic_regression

        return np.asarray(isotonic_regression(y).x)
    except ImportError:  # pragma: no cover
        from sklearn.isotonic import isotonic_regression as sk_isotonic

        return np.asarray(sk_isotonic(y))


class _Family:
    """Disjoint chains over the flat nodes, each to be nondecreasing in the order listed."""

    def __init__(self, order: np.ndarray, chain_id: np.ndarray):
        self.order = order
        self.chain = chain_id

    def project(self, x: np.ndarray) -> None:
        """Replace every chain of x (flat) by its isotonic regression, in place."""
        if not len(self.order):
            return
        v = x[self.order]
        big = 2.0 * float(v.max() - v.min()) + 1.0
        v += self.chain * big  # the shift made twice rather than kept: one array less beside PAV's own
        v = _isotonic(v)
        v -= self.chain * big
        x[self.order] = v


class OrderPolytope:
    """The path polytopes of many videos (rows stacked as in the problem's X) in cumulative coordinates.

    c is (N, M) with M = (most states of a chain) - 1; a video with S states uses columns 0..S-2
    (column m = P(state <= m)); the other columns are padding fixed at 1.
    """

    def __init__(self, lengths: Sequence[int], chains: Sequence[Chain], n_classes: int):
        lengths_a = np.asarray(lengths, dtype=np.int64)
        self.n = int(lengths_a.sum())
        self.K = int(n_classes)
        S_max = max(len(ch.labels) for ch in chains)
        self.M = M = max(S_max - 1, 1)
        starts = np.r_[0, np.cumsum(lengths_a)[:-1]]
        self.lab = np.zeros((self.n, M + 1), dtype=np.int32)  # label of each state of each row
        self.valid = np.zeros((self.n, M), dtype=bool)
        lo = np.ones((self.n, M))
        hi = np.ones((self.n, M))
        f1_o, f1_c, f2_o, f2_c, f3_o, f3_c = [], [], [], [], [], []
        eq_a: list[np.ndarray] = []
        eq_b: list[np.ndarray] = []
        idx_t = np.int32 if self.n * (M + 1) < 2**31 else np.int64
        n_chains = [0, 0, 0]
        self.h: list[np.ndarray] = []
        for v, ch in enumerate(chains):
            if not OrderPolytope.supports(ch):
                raise ValueError("the order-polytope form needs a last state that may be stayed on and states "
                                 "that must be left not to be skippable")
            S, T, r0 = len(ch.labels), int(lengths_a[v]), int(starts[v])
            rows = np.arange(r0, r0 + T)
            self.lab[rows, :S] = ch.labels
            m_free = S - 1
            self.valid[rows, :m_free] = True
            lo[rows, :m_free], hi[rows, :m_free] = 0.0, 1.0
            # start: state 0, or 1 when 0 is optional -> P(s(0) <= m) = 1 from m = first
            first = 1 if (S >= 2 and ch.optional[0]) else 0
            lo[r0, first:m_free] = 1.0
            # end: state S-1, or S-2 when S-1 is optional -> P(s(T-1) <= m) = 0 below that
            last = S - 2 if (S >= 2 and ch.optional[S - 1]) else S - 1
            hi[r0 + T - 1, :last] = 0.0
            opt = np.r_[np.asarray(ch.optional, dtype=bool), False]
            h = np.array([j + 2 if (j + 1 < S and opt[j + 1]) else j + 1 for j in range(S)])
            self.h.append(h)
            if m_free == 0:
                continue
            grid = rows[:, None] * M + np.arange(m_free)[None, :]  # flat node ids (T, m_free)
            # family 1: within each frame, nondecreasing in m
            f1_o.append(grid.ravel().astype(idx_t))
            f1_c.append(np.repeat(np.arange(T, dtype=idx_t) + n_chains[0], m_free))
            n_chains[0] += T
            st = np.asarray(ch.stay, dtype=bool)
            if not st[0]:
                hi[r0 + 1: r0 + T, 0] = 0.0  # a first state that must be left is only ever the first frame's
            # family 2 on the stayable states only: c[t+1, b] <= c[t, b]; a state a that must be left
            # (and is entered only from a-1) makes c[t+1, a] = c[t, a-1]: an equality class
            for b in range(m_free):
                if st[b] and T > 1:
                    f2_o.append(grid[::-1, b].astype(idx_t))
                    f2_c.append(np.full(T, n_chains[1], dtype=idx_t))
                    n_chains[1] += 1
            for a in range(1, m_free):
                if not st[a]:
                    eq_a.append(grid[1:, a])
                    eq_b.append(grid[:-1, a - 1])
            # family 3: c[t+1, h(j)] >= c[t, j]; only the last j of each h(j) matters (the others follow
            # from family 1), h(j) <= S - 2 (column S-1 is the constant 1)
            keep = np.array([h[j] <= m_free - 1 and (j == S - 1 or h[j] < h[j + 1]) for j in range(m_free)],
                            dtype=bool)
            entered = np.zeros(m_free, dtype=bool)
            entered[h[:m_free][keep]] = True
            for m0 in range(m_free):
                seq = [m0]
                while keep[seq[-1]]:
                    seq.append(int(h[seq[-1]]))
                t0s = np.arange(T) if not entered[m0] else np.array([0])
                if len(seq) == 1 and not entered[m0]:
                    continue  # a chain of one node constrains nothing
                ii = np.arange(len(seq))
                tt = t0s[:, None] + ii[None, :]
                ok = tt < T
                nodes = grid[np.minimum(tt, T - 1), np.asarray(seq)[None, :]]
                cid = np.broadcast_to(np.arange(len(t0s))[:, None], tt.shape)
                f3_o.append(nodes[ok].astype(idx_t))
                f3_c.append((cid[ok] + n_chains[2]).astype(idx_t))
                n_chains[2] += len(t0s)
        def cat(parts: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)

        # int32 pieces (node and chain ids; int64 would double the set-up's peak at 80,000 frames)
        self.families = []
        for o, c in ((f1_o, f1_c), (f2_o, f2_c), (f3_o, f3_c)):
            self.families.append(_Family(cat(o), cat(c)))
            o.clear()
            c.clear()
        # the classes of copies (diagonal runs): connected components of the links
        nn = self.n * M
        if eq_a:
            ea, eb = np.concatenate(eq_a), np.concatenate(eq_b)
            g = scipy.sparse.coo_matrix((np.ones(len(ea)), (ea, eb)), shape=(nn, nn))
            _, comp = connected_components(g, directed=False)
            size = np.bincount(comp)
            big = size[comp] > 1
            self.eq_nodes = np.flatnonzero(big)
            _, self.eq_comp = np.unique(comp[self.eq_nodes], return_inverse=True)
            self.eq_size = np.bincount(self.eq_comp).astype(np.float64)
            # bounds of a class: the tightest of its cells
            lo_f, hi_f = lo.ravel(), hi.ravel()
            clo = np.full(len(self.eq_size), -np.inf)
            np.maximum.at(clo, self.eq_comp, lo_f[self.eq_nodes])
            chi = np.full(len(self.eq_size), np.inf)
            np.minimum.at(chi, self.eq_comp, hi_f[self.eq_nodes])
            lo_f[self.eq_nodes] = clo[self.eq_comp]
            hi_f[self.eq_nodes] = chi[self.eq_comp]
        else:
            self.eq_nodes = np.zeros(0, dtype=np.int64)
            self.eq_comp = np.zeros(0, dtype=np.int64)
            self.eq_size = np.zeros(0)
        self.lo, self.hi = lo.astype(np.float32), hi.astype(np.float32)  # 0 and 1 only: exact, half the memory
        self.rows: np.ndarray = np.arange(self.n, dtype=np.int32 if self.n * self.K < 2**31 else np.int64)
        self._time_major = _TimeMajor(lengths_a, self.h, [np.asarray(ch.stay, dtype=bool) for ch in chains], M)
        self._chains = list(chains)
        self._lengths = lengths_a

    @staticmethod
    def supports(ch: Chain) -> bool:
        """Whether a chain has this form: its last state may be stayed on and no state that must be left
        may be skipped (true of every ordering chain)."""
        st, opt = np.asarray(ch.stay, dtype=bool), np.asarray(ch.optional, dtype=bool)
        return bool(st[-1]) and not bool(np.any(~st[1:-1] & opt[1:-1]))

    def row_curvature(self, class_weights: np.ndarray) -> np.ndarray:
        """(N, 1): for each row, ||W^1/2 A||^2 with A its chain's map c -> Z (one frame) and W the class
        weights. A cost 1/2 sum_k w_k z_k^T B z_k with B <= I / N then curves at most this / N along each
        video's cells, so each video may take its own step (the projection is per video: unchanged)."""
        w = np.asarray(class_weights, dtype=np.float64)
        seen: dict[tuple[tuple[int, ...], tuple[bool, ...]], float] = {}
        per = np.empty(len(self._chains))
        for v, ch in enumerate(self._chains):
            key = (tuple(ch.labels.tolist()), tuple(ch.optional.tolist()))
            if key not in seen:
                seen[key] = self._norm2(ch, w)
            per[v] = seen[key]
        return np.repeat(per, self._lengths)[:, None]

    @staticmethod
    def _norm2(ch: Chain, w: np.ndarray) -> float:
        S = len(ch.labels)
        K = int(ch.labels.max()) + 1
        if S < 2:
            return float(w[:K].max())
        A = np.zeros((K, S - 1))  # Z[k] = sum_{s: lab s = k} (c[s] - c[s-1]), c[-1] = 0, c[S-1] = 1
        for m in range(S - 1):
            A[ch.labels[m], m] += 1.0
            A[ch.labels[m + 1], m] -= 1.0
        A *= np.sqrt(w[:K])[:, None]
        return float(np.linalg.norm(A, 2) ** 2)

    # -- maps ------------------------------------------------------------------------------
    def from_states(self, states: np.ndarray) -> np.ndarray:
        """c (N, M) of the vertex whose state at each frame is ``states`` (N,)."""
        c = (np.arange(self.M)[None, :] >= np.asarray(states)[:, None]).astype(np.float64)
        return np.where(self.valid, c, 1.0)

    def state_mass(self, c: np.ndarray) -> np.ndarray:
        """(N, M + 1): P(state = m) at each frame, 0 on padding states."""
        Q = np.empty((self.n, self.M + 1))  # Q[:, m] = c[:, m] - c[:, m-1], with c[:, -1] = 0, c[:, M] = 1
        Q[:, : self.M] = c
        Q[:, self.M] = 1.0
        Q[:, 1:] -= c
        return Q

    def real_states(self) -> np.ndarray:
        """(N, M + 1) bool: the states of each row's own chain (the others are padding)."""
        real = np.ones((self.n, self.M + 1), dtype=bool)
        real[:, 1:] = self.valid
        return real

    def to_Z(self, c: np.ndarray) -> np.ndarray:
        """Z (N, K): the class marginals of c."""
        flat = (self.rows[:, None] * self.K + self.lab).ravel()
        return np.bincount(flat, weights=self.state_mass(c).ravel(), minlength=self.n * self.K).reshape(self.n, self.K)

    def to_cells(self, c: np.ndarray, state_cells: np.ndarray, n_cells: int) -> np.ndarray:
        """The class marginals of c on cells: ``state_cells`` (N, M + 1) is the cell of each state's class
        (padding states, whose mass is 0, anywhere)."""
        return np.bincount(state_cells.ravel(), weights=self.state_mass(c).ravel(), minlength=n_cells)

    def grad_c(self, G: np.ndarray) -> np.ndarray:
        """The gradient in c of a function whose gradient in Z is G."""
        return self._grad_from_states(G[self.rows[:, None], self.lab])

    def grad_c_cells(self, Gs: np.ndarray, state_cells: np.ndarray) -> np.ndarray:
        """:meth:`grad_c` of a gradient given on cells (``state_cells`` as in :meth:`to_cells`)."""
        return self._grad_from_states(Gs[state_cells])

    def _grad_from_states(self, gQ: np.ndarray) -> np.ndarray:
        out = gQ[:, :-1] - gQ[:, 1:]
        out[~self.valid] = 0.0
        return out

    # -- projection ------------------------------------------------------------------------
    def new_duals(self) -> list[np.ndarray]:
        return [np.zeros(self.n * self.M) for _ in range(4)]

    def project(self, y: np.ndarray, duals: list[np.ndarray], sweeps: int = 3, overwrite: bool = False) -> np.ndarray:
        """Approximately the Euclidean projection of y (N, M) onto the polytopes: ``sweeps`` rounds of
        Dykstra over the three chain families and the box, from the increments ``duals`` (updated in
        place; pass the previous call's to warm-start). The result satisfies the box exactly.
        ``overwrite``: y (C-contiguous float64) may be used as the result's buffer."""
        if overwrite:  # the caller's y is scratch: project in its buffer
            y[~self.valid] = 1.0
            x = y.reshape(-1)
        else:
            x = np.where(self.valid, y, 1.0).ravel()
        for d in duals:
            x -= d
        lo, hi = self.lo.ravel(), self.hi.ravel()
        for _ in range(sweeps):
            for i, fam in enumerate(self.families):
                x += duals[i]  # x + p_i, kept in p_i's buffer after the projection: p_i = (x + p_i) - P(x + p_i)
                duals[i][:] = x
                fam.project(x)
                duals[i] -= x
            x += duals[3]
            duals[3][:] = x
            np.clip(x, lo, hi, out=x)
            duals[3] -= x
            self._average(x)
        return x.reshape(self.n, self.M)

    def _average(self, x: np.ndarray) -> None:
        """Project onto the equalities: each class of copies to its mean (a subspace: no Dykstra term)."""
        if len(self.eq_nodes):
            mean = np.bincount(self.eq_comp, x[self.eq_nodes], minlength=len(self.eq_size)) / self.eq_size
            x[self.eq_nodes] = mean[self.eq_comp]

    def edges(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Per family, the order constraints as flat node pairs (a, b): c[a] <= c[b]."""
        for fam in self.families:
            o = fam.order.astype(np.int64)
            same = fam.chain[1:] == fam.chain[:-1]
            yield o[:-1][same], o[1:][same]

    def violation(self, c: np.ndarray) -> float:
        """The largest violation of any constraint at c."""
        x = c.ravel()
        worst = float(max(np.max(self.lo.ravel() - x, initial=0.0), np.max(x - self.hi.ravel(), initial=0.0)))
        for a, b in self.edges():
            worst = max(worst, float(np.max(x[a] - x[b], initial=0.0)))
        if len(self.eq_nodes):
            hi_c = np.full(len(self.eq_size), -np.inf)
            np.maximum.at(hi_c, self.eq_comp, x[self.eq_nodes])
            lo_c = np.full(len(self.eq_size), np.inf)
            np.minimum.at(lo_c, self.eq_comp, x[self.eq_nodes])
            worst = max(worst, float(np.max(hi_c - lo_c)))
        return worst

    def repair(self, c: np.ndarray) -> np.ndarray:
        """An exactly feasible c near a nearly feasible one: upper bounds propagated back from each
        video's end (c[t, j] <= c[t+1, h(j)]), then one forward pass clamping each frame between what
        the previous frame allows (c[t, j''] <= c[t+1, m] <= c[t, m]); clamps with nondecreasing
        bounds keep each frame nondecreasing. Time-major over all videos at once (live videos are a
        prefix when sorted by length), as the ordering oracle runs. Each frame is clamped between
        c[t-1, j''(m)] and c[t-1, g'(m)] (j'' <= g' as the slowest move is never faster than the fastest)."""
        tm = self._time_major
        x = np.maximum.accumulate(np.clip(c, 0.0, 1.0), axis=1)[tm.src]  # time-major cells (N, M)
        lo, hi = self.lo[tm.src], self.hi[tm.src]
        ones = np.ones((len(tm.live_n) and int(tm.live_n[0]), 1))
        ub = hi.copy()
        rank = np.arange(len(ones))[:, None]
        for t in range(len(tm.live_n) - 2, -1, -1):
            n, n1 = int(tm.live_n[t]), int(tm.live_n[t + 1])
            cur, nxt = slice(tm.off[t], tm.off[t] + n1), slice(tm.off[t + 1], tm.off[t + 1] + n1)
            ext = np.concatenate([ub[nxt], ones[:n1]], axis=1)
            bound = np.minimum(ub[cur], ext[rank[:n1], tm.hh[:n1]])
            ub[cur] = np.minimum.accumulate(bound[:, ::-1], axis=1)[:, ::-1]
        n0 = int(tm.live_n[0]) if len(tm.live_n) else 0
        x[:n0] = np.minimum(np.maximum(x[:n0], lo[:n0]), ub[:n0])
        zeros = np.zeros((n0, 1))
        for t in range(1, len(tm.live_n)):
            n = int(tm.live_n[t])
            cur, prev = slice(tm.off[t], tm.off[t] + n), slice(tm.off[t - 1], tm.off[t - 1] + n)
            ext = np.concatenate([zeros[:n], x[prev]], axis=1)
            low = np.maximum(ext[rank[:n], tm.jj[:n] + 1], lo[cur])
            high = np.minimum(ext[rank[:n], tm.jp[:n] + 1], ub[cur])
            x[cur] = np.minimum(np.maximum(x[cur], low), high)
        out = np.empty_like(x)
        out[tm.src] = x
        return out


class _TimeMajor:
    """Time-major order of the rows: videos sorted by length (longest first), so the videos still
    running at frame t are a prefix; per video (in that order) the maps h, j'' and g' over columns."""

    def __init__(self, lengths: np.ndarray, h: Sequence[np.ndarray], stay: Sequence[np.ndarray], M: int):
        starts = np.r_[0, np.cumsum(lengths)[:-1]]
        order = np.argsort(-lengths, kind="stable")
        L = lengths[order]
        T = int(L.max(initial=0))
        self.live_n = np.searchsorted(-L, -np.arange(T), side="left").astype(np.int64)
        self.off = np.r_[0, np.cumsum(self.live_n)].astype(np.int64)
        t_of = np.repeat(np.arange(T), self.live_n)
        rank_of = np.arange(int(lengths.sum())) - self.off[t_of]
        self.src = starts[order][rank_of] + t_of
        V = len(lengths)
        self.hh = np.full((V, M), M, dtype=np.int64)  # column of h(j) (M = the constant 1)
        self.jj = np.zeros((V, M), dtype=np.int64)  # j''(m) = the largest j with h(j) <= m, -1 if none
        self.jp = np.tile(np.arange(M, dtype=np.int64), (V, 1))  # g'(m): m, or m - 1 on a state to be left
        for r, v in enumerate(order):
            m_free = len(stay[v]) - 1
            hv = h[v]
            self.jp[r, :m_free] -= ~stay[v][:m_free]
            for m in range(M):
                if m < m_free:
                    self.hh[r, m] = min(int(hv[m]), M) if int(hv[m]) < m_free else M
                    self.jj[r, m] = max([j for j in range(m_free) if hv[j] <= m], default=-1)
                else:
                    self.jj[r, m] = m_free - 1
