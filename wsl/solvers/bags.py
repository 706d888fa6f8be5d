"""The at-least-one (bags) problem of Bojanowski et al. 2013, solved to a certified optimum.

Domain: one label distribution per row (a row may use only its ``allowed`` labels), and for every
bag, each of its required labels summing to at least 1 over the bag's rows. At the optimum of the
DIFFRAC cost nearly every row is fractional and many bag constraints are tight, so the optimum sits
inside a face of very high dimension: Frank-Wolfe, which adds one vertex per iteration, needs
thousands of iterations there. Here instead:

- :class:`BagPolytope` projects onto the domain exactly. Per bag, the projection's dual has one
  multiplier per required label (at most L): for multipliers mu, each row is the projection of
  y_i + mu onto its allowed simplex, and the dual is maximised by projected Newton on mu (the
  Jacobian of a simplex projection is known in closed form), vectorised over bags and warm-started
  from the previous call (one or two Newton steps once the iterates settle).
- :func:`solve_bags` runs accelerated projected gradient (FISTA, step 1 / Lipschitz, with the
  gradient restart of O'Donoghue & Candes 2015) and certifies its answer every few iterations with
  the exact at-least-one oracle: the Frank-Wolfe gap <grad f(x), x - s> bounds f(x) - f*.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.optimize import OptimizeResult

from wsl.errors import BadInput
from wsl.solvers.diffrac import DiffracCost
from wsl.solvers.oracles import bags_lmo

_NEG = -1e30  # stands for -inf in the sorted simplex projection (keeps the arithmetic finite)


def project_simplex(V: np.ndarray, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project each row of V onto the probability simplex over its ``allowed`` entries.

    Returns (Z, tau, support size): Z = max(V - tau, 0) on allowed entries, 0 elsewhere.
    """
    W = V if allowed is None else np.where(allowed, V, _NEG)
    U = -np.sort(-W, axis=1)
    css = np.cumsum(U, axis=1) - 1.0
    k = np.arange(1, W.shape[1] + 1)
    cond = U - css / k > 0
    rho = cond.sum(axis=1)  # cond is a prefix of True
    rho = np.maximum(rho, 1)
    tau = css[np.arange(len(W)), rho - 1] / rho
    Z = np.maximum(W - tau[:, None], 0.0)
    return Z, tau, rho


class BagPolytope:
    """The at-least-one domain over N rows and K labels, with an exact projection and oracle.

    ``bags[j]`` row indices, ``bag_labels[j]`` the label indices required at least once among them;
    ``allowed`` (N, K) bool, default all. Bags must be disjoint and list each row once; ``names``
    name the bags in errors, ``source`` the file they came from.
    """

    def __init__(self, n_rows: int, n_classes: int, bags: Sequence[Sequence[int]],
                 bag_labels: Sequence[Sequence[int]], allowed: np.ndarray | None = None,
                 names: Sequence[str] | None = None, source: str | None = None):
        N, K = n_rows, n_classes
        self.n_rows, self.n_classes = N, K
        self.allowed = np.ones((N, K), dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
        if not self.allowed.any(axis=1).all():
            raise BadInput("a row has no allowed label", source)
        self.names = list(names) if names is not None else [f"#{j}" for j in range(len(bags))]
        owner = np.full(N, -1, dtype=np.int64)
        rows_list: list[np.ndarray] = []
        need_list: list[np.ndarray] = []
        for j, (rows, need) in enumerate(zip(bags, bag_labels, strict=True)):
            bag = self.names[j]
            r = np.asarray(rows, dtype=np.int64).reshape(-1)
            n = np.unique(np.asarray(need, dtype=np.int64).reshape(-1))
            if len(r) == 0:
                raise BadInput(f"bag {bag}: no samples", source)
            if r.min() < 0 or r.max() >= N:
                bad = int(r.max()) if r.max() >= N else int(r.min())
                raise BadInput(f"bag {bag}: sample index {bad} outside 0..{N - 1}", source)
            if len(np.unique(r)) != len(r):
                vals, counts = np.unique(r, return_counts=True)
                raise BadInput(f"bag {bag}: lists sample {int(vals[counts > 1][0])} more than once; "
                               "each sample can carry only one label", source)
            if (owner[r] >= 0).any():
                other = self.names[int(owner[r][owner[r] >= 0][0])]
                raise BadInput(f"bag {bag}: shares samples with bag {other}; bags must be disjoint", source)
            owner[r] = j
            if len(n) and (n.min() < 0 or n.max() >= K):
                raise ValueError(f"bag {bag}: label index outside 0..{K - 1}")
            if len(n) > len(r):
                raise BadInput(f"bag {bag}: needs {len(n)} labels but has only {len(r)} samples", source)
            if len(n) and not self.allowed[np.ix_(r, n)].any(axis=0).all():
                raise BadInput(f"bag {bag}: a required label is not allowed for any of its samples", source)
            rows_list.append(r)
            need_list.append(n)
        self.bags = rows_list
        self.bag_labels = need_list
        # rows of bags that require something, grouped by bag, for the vectorised dual
        active = [j for j, n in enumerate(need_list) if len(n)]
        self._bag_ids = np.array(active, dtype=np.int64)
        self._order = np.concatenate([rows_list[j] for j in active]) if active else np.zeros(0, dtype=np.int64)
        sizes = np.array([len(rows_list[j]) for j in active], dtype=np.int64)
        self._starts = np.r_[0, np.cumsum(sizes)[:-1]] if active else np.zeros(0, dtype=np.int64)
        self._row_bag = np.repeat(np.arange(len(active)), sizes)
        self._req = np.zeros((len(active), K), dtype=bool)
        for b, j in enumerate(active):
            self._req[b, need_list[j]] = True
        # each bag's required labels, padded to the longest list: the Newton system lives on these
        width = max((len(need_list[j]) for j in active), default=0)
        self._lab = np.zeros((len(active), width), dtype=np.int64)
        self._lab_ok = np.zeros((len(active), width), dtype=bool)
        for b, j in enumerate(active):
            self._lab[b, : len(need_list[j])] = need_list[j]
            self._lab_ok[b, : len(need_list[j])] = True
        self._free_rows = np.setdiff1d(np.arange(N), self._order)
        self._mu = np.zeros((len(active), K))  # warm start of the dual multipliers
        self.newton_steps = 0
        # feasibility of the bag constraints (distinct rows for the labels) is checked by the general oracle
        bags_lmo(np.zeros((N, K)), self.bags, self.bag_labels, self.allowed, self.names)  # type: ignore[arg-type]
        self._single = [(r, int(n[0])) for r, n in zip(rows_list, need_list, strict=True) if len(n) == 1]
        self._multi = [(r, n) for r, n in zip(rows_list, need_list, strict=True) if len(n) > 1]

    # -- oracle ----------------------------------------------------------------------------------
    def lmo_labels(self, G: np.ndarray) -> np.ndarray:
        """Labels (N,) of the vertex minimising <G, Z> (exact, as :func:`bags_lmo`, without its checks:
        the bags were checked once here; the refinement of `wsl cluster` calls this thousands of times)."""
        from scipy.optimize import linear_sum_assignment

        masked = np.where(self.allowed, np.asarray(G, dtype=np.float64), np.inf)
        labels = masked.argmin(axis=1)
        base = masked[np.arange(len(labels)), labels]
        for rows, k in self._single:
            if not (labels[rows] == k).any():
                labels[rows[int(np.argmin(masked[rows, k] - base[rows]))]] = k
        for rows, need in self._multi:
            extra = masked[np.ix_(rows, need)] - base[rows, None]
            r, c = linear_sum_assignment(np.where(np.isfinite(extra), extra, 1e18).T)
            labels[rows[c]] = need[r]
        return labels

    def lmo(self, G: np.ndarray) -> np.ndarray:
        """The minimising vertex as an (N, K) 0/1 matrix."""
        Z = np.zeros(G.shape)
        Z[np.arange(len(G)), self.lmo_labels(G)] = 1.0
        return Z

    # -- projection ------------------------------------------------------------------------------
    def project(self, Y: np.ndarray, tol: float = 1e-10, max_newton: int = 50) -> np.ndarray:
        """The Euclidean projection of Y (N, K) onto the domain."""
        Y = np.asarray(Y, dtype=np.float64)
        Z = np.zeros_like(Y)
        if len(self._free_rows):
            Z[self._free_rows] = project_simplex(Y[self._free_rows], self.allowed[self._free_rows])[0]
        if len(self._order):
            Z[self._order] = self._project_bags(Y[self._order], tol, max_newton)
        return Z

    def _rows(self, Yb: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Rows at multipliers mu: (Z, tau, support size, per-bag dual value)."""
        shifted = Yb + mu[self._row_bag]
        Zb, tau, cnt = project_simplex(shifted, self.allowed[self._order])
        per_row = 0.5 * np.square(Zb - Yb).sum(axis=1) - (Zb * mu[self._row_bag]).sum(axis=1)
        dual = np.add.reduceat(per_row, self._starts) + mu.sum(axis=1)
        return Zb, tau, cnt, dual

    def _project_bags(self, Yb: np.ndarray, tol: float, max_newton: int) -> np.ndarray:
        req, starts = self._req, self._starts
        allowed_b = self.allowed[self._order]
        mu = np.where(req, self._mu, 0.0)
        Zb, tau, cnt, dual = self._rows(Yb, mu)
        for _ in range(max_newton):
            grad = np.where(req, 1.0 - np.add.reduceat(Zb, starts), 0.0)  # ascent direction of the dual
            viol = np.where(mu > 0, np.abs(grad), np.maximum(grad, 0.0))
            if viol.max(initial=0.0) <= tol:
                break
            self.newton_steps += 1
            free = req & ((mu > 0) | (grad > 0))
            support = Zb > 0
            diagJ = np.add.reduceat(support.astype(np.float64), starts)
            # a free label in no row's support: step to where it enters the cheapest row's support
            dead = free & (diagJ == 0)
            gapm = np.where(allowed_b, tau[:, None] - Yb - mu[self._row_bag], np.inf)
            entry = np.minimum.reduceat(gapm, starts, axis=0) + 1e-9
            live = free & ~dead
            # the Jacobian restricted to each bag's required labels (at most L of the K): with many
            # labels (Mining-YouTube: K = 280, L <= 19) the full (rows, K, K) product took seconds
            lab = self._lab
            A = np.take_along_axis(support, lab[self._row_bag], axis=1) & self._lab_ok[self._row_bag]
            A = A.astype(np.float64)
            J = -np.add.reduceat(np.einsum("mk,ml->mkl", A / cnt[:, None], A), starts)
            eyeL = np.eye(lab.shape[1])
            J += np.take_along_axis(diagJ, lab, axis=1)[:, :, None] * eyeL
            liveL = np.take_along_axis(live, lab, axis=1) & self._lab_ok
            M = np.where(liveL[:, :, None] & liveL[:, None, :], J, 0.0) + eyeL * (~liveL)[:, None, :] + 1e-12 * eyeL
            rhs = np.where(liveL, np.take_along_axis(grad, lab, axis=1), 0.0)
            dL = np.linalg.solve(M, rhs[:, :, None])[:, :, 0]
            delta = np.zeros_like(mu)
            bag_i, slot = np.nonzero(self._lab_ok)
            delta[bag_i, lab[bag_i, slot]] = dL[bag_i, slot]
            delta = np.where(dead, np.maximum(entry, 0.0), delta)
            delta = np.where(free, delta, 0.0)
            step = np.ones(len(mu))
            new_mu = mu
            searching = np.ones(len(mu), dtype=bool)
            for _ls in range(40):  # backtracking on the (concave) dual, per bag
                cand = np.where(searching[:, None], np.maximum(mu + step[:, None] * delta, 0.0), new_mu)
                cZ, ctau, ccnt, cdual = self._rows(Yb, cand)
                ok = cdual >= dual - 1e-13 * np.maximum(1.0, np.abs(dual))
                new_mu = np.where((searching & ok)[:, None], cand, new_mu)
                searching &= ~ok
                if not searching.any():
                    break
                step = np.where(searching, step * 0.5, step)
            if np.array_equal(new_mu, mu):
                break
            mu = new_mu
            Zb, tau, cnt, dual = self._rows(Yb, mu)
        self._mu = mu
        return Zb


def solve_bags(cost: DiffracCost, domain: BagPolytope, x0: np.ndarray | None = None, *, max_iter: int = 2000,
               atol: float = 0.0, rtol: float = 1e-4, check_every: int = 5,
               callback: Callable[[OptimizeResult], Any] | None = None) -> OptimizeResult:
    """Minimise the DIFFRAC ``cost`` over the bag ``domain`` by FISTA with the exact projection.

    Stops when the certified gap (the oracle's Frank-Wolfe gap at the current point, checked every
    ``check_every`` iterations) is at most ``atol + rtol * |f|``. The result has ``x``, ``fun``,
    ``gap`` (certified), ``nit``, ``success`` (False: stopped by ``max_iter`` above tolerance),
    ``message`` and ``history`` ((f, gap) at each check). ``callback`` gets a copy at each check.
    """
    N = cost.n
    w = 1.0 if cost.class_weights is None else float(np.max(cost.class_weights))
    step = N / w  # 1 / Lipschitz: B <= P / N, times the largest class weight
    x = domain.project(np.full((N, domain.n_classes), 1.0 / domain.n_classes) if x0 is None else x0)
    y = x.copy()
    t = 1.0
    history: list[tuple[float, float]] = []
    gap, fun = np.inf, np.inf
    success, message, nit = False, "maximum number of iterations reached", 0
    for nit in range(0, max_iter + 1):
        if nit % check_every == 0 or nit == max_iter:
            fun, g = cost.f_grad(x)
            gap = max(float(np.vdot(g, x - domain.lmo(g))), 0.0)
            history.append((fun, gap))
            if callback is not None:
                callback(OptimizeResult(x=x.copy(), fun=fun, gap=gap, nit=nit))
            if gap <= atol + rtol * abs(fun):
                success, message = True, "certified duality gap below tolerance"
                break
            if nit == max_iter:
                break
        _, gy = cost.f_grad(y)
        x_new = domain.project(y - step * gy)
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        if float(np.vdot(y - x_new, x_new - x)) > 0:  # momentum points uphill: restart
            t_new, y = 1.0, x_new.copy()
        else:
            y = x_new + ((t - 1.0) / t_new) * (x_new - x)
        x, t = x_new, t_new
    return OptimizeResult(x=x, fun=fun, gap=gap, nit=nit, success=success, message=message,
                          history=np.array(history).reshape(-1, 2))
