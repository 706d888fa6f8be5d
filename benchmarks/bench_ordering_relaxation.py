"""How tight lower bounds on the ordering problem's optimum are at APG's iterates, one JSON line.

The problem is bench_ordering_scale.py's, small enough for cvxpy. Its exact optimum f* comes from
the order-polytope form (cumulative coordinates c, `wsl.solvers.order_polytope`), checked against
the independent flow form (`wsl.solvers.reference.ordering_reference`). Then, after k APG
iterations (``--iters``), at the iterate c_k (repaired to be exactly feasible):

- ``primal``: (f(c_k) - f*) / f*;
- ``fw_bound``: (f* - LB) / f* for the solver's own certificate, LB = the best Frank-Wolfe bound
  f(Y) - gap(Y) of its checks (first order: it errs by the gradient's error times the optimal face's width);
- ``relaxed[tol]``: (f* - LB_S) / f* for LB_S = the exact minimum (cvxpy) over the polytope cut by
  only the constraints within ``tol`` of tight at c_k (and the cells fixed by the chain), with how many
  of the order constraints that keeps. Fewer constraints: a relaxation, so LB_S <= f* always; once
  the kept set holds the constraints active at the optimum, LB_S = f*;
- ``face[tol]`` (with ``--face-tols``): (f* - LB) / f* for the FW bound at the minimiser of f over
  the affine hull of the face read off c_k (cells tied by constraints within ``tol`` of tight move
  together; :class:`FaceBound`), and ``face_at_optimum`` the same for the face of cvxpy's optimum.

A certificate built on LB_S needs a cheap dual bound for the relaxed problem; this benchmark only
measures how far such a certificate could go, and whether the face of an iterate gives one
(docs/benchmarks.md 2h, 2i).

    python benchmarks/bench_ordering_relaxation.py [--videos 20] [--frames 1800] [--d 64]
        [--iters 200 400 800] [--tols 1e-4 1e-3] [--face-tols 1e-6 1e-4 1e-3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from wsl.solvers._threads import few_blas_threads
from wsl.solvers.order_polytope import OrderPolytope
from wsl.solvers.ordering import solve_ordering
from wsl.solvers.ordering_problem import OrderingProblem
from wsl.solvers.reference import ordering_reference

sys.path.insert(0, str(Path(__file__).parent))
from bench_ordering_scale import instance  # noqa: E402


def copy_pairs(poly: OrderPolytope) -> tuple[np.ndarray, np.ndarray]:
    """The cells that must be equal (copies of a state that must be left) as chained node pairs (a, b)."""
    if not len(poly.eq_nodes):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.argsort(poly.eq_comp, kind="stable")
    nodes, comp = poly.eq_nodes[order], poly.eq_comp[order]
    same = comp[1:] == comp[:-1]
    return nodes[:-1][same], nodes[1:][same]


class OrderPolytopeQP:
    """The problem in cvxpy over c (every cell of the N x M grid; padding fixed at 1), with a chosen
    subset of the order constraints."""

    def __init__(self, p: OrderingProblem, poly: OrderPolytope):
        N, M, K = poly.n, poly.M, p.K
        t = np.repeat(np.arange(N), M)
        m = np.tile(np.arange(M), N)
        # Z = A c + a0: state m's mass is c[m] - c[m-1] (c[-1] = 0, c[M] = 1), summed into its class
        A = sp.csr_matrix((np.r_[np.ones(N * M), -np.ones(N * M)],
                           (np.r_[t * K + poly.lab[t, m], t * K + poly.lab[t, m + 1]], np.r_[t * M + m, t * M + m])),
                          shape=(N * K, N * M))
        a0 = np.zeros(N * K)
        a0[np.arange(N) * K + poly.lab[:, M]] = 1.0
        pairs = list(poly.edges())
        self.ea, self.eb = np.concatenate([a for a, _ in pairs]), np.concatenate([b for _, b in pairs])
        self.copies = copy_pairs(poly)
        self.lo, self.hi = poly.lo.ravel().astype(np.float64), poly.hi.ravel().astype(np.float64)
        self.A, self.a0, self.p, self.shape = A, a0, p, (N, M)

    def solve(self, keep: np.ndarray | None = None, bounds: tuple[np.ndarray, np.ndarray] | None = None) -> float:
        import cvxpy as cp

        p, (N, M) = self.p, self.shape
        K, d = p.K, p.d
        x = cp.Variable(N * M)
        W = cp.Variable((d, K))
        b = cp.Variable(K)
        Z = cp.reshape(self.A @ x + self.a0, (N, K), order="C")
        sw = np.sqrt(p.w)
        R = Z - p.Xc.astype(np.float64) @ W - np.ones((N, 1)) @ cp.reshape(b, (1, K), order="C")
        obj = (cp.sum_squares(R @ np.diag(sw)) / (2 * N) + p.lam / 2 * cp.sum_squares(W @ np.diag(sw))
               + cp.sum(Z @ p.c))
        ea, eb = (self.ea, self.eb) if keep is None else (self.ea[keep], self.eb[keep])
        lo, hi = (self.lo, self.hi) if bounds is None else bounds
        cons = [x[ea] <= x[eb], x >= lo, x <= hi]
        if len(self.copies[0]):
            cons.append(x[self.copies[0]] == x[self.copies[1]])
        prob = cp.Problem(cp.Minimize(obj), cons)
        prob.solve(solver="CLARABEL", tol_gap_abs=1e-14, tol_gap_rel=1e-12, tol_feas=1e-12)
        if prob.status != "optimal":
            raise RuntimeError(f"cvxpy: {prob.status}")
        self.x = np.clip(np.asarray(x.value), self.lo, self.hi).reshape(N, M)  # the minimiser, in c
        return float(prob.value)

    def relaxed(self, c: np.ndarray, tol: float) -> tuple[float, int]:
        """The minimum with only the order constraints and bounds within ``tol`` of tight at c (cells
        the chain fixes stay fixed), and how many order constraints that keeps."""
        x = c.ravel()
        keep = (x[self.eb] - x[self.ea]) <= tol
        fixed = self.lo == self.hi
        lo = np.where((x <= self.lo + tol) | fixed, self.lo, -np.inf)
        hi = np.where((x >= self.hi - tol) | fixed, self.hi, np.inf)
        return self.solve(keep, (lo, hi)), int(keep.sum())


class FaceBound:
    """The Frank-Wolfe bound f(Y) - gap(Y) (valid at any Y, feasible or not) at Y = the minimiser of f
    over the affine hull of a face: the cells tied by the order constraints within ``tol`` of tight at c
    move together, those within ``tol`` of a bound stay there. If the face is the optimum's, Y is an
    optimum and the bound is exact; the question is whether the face can be read off an iterate."""

    def __init__(self, p: OrderingProblem, poly: OrderPolytope):
        self.p, self.poly = p, poly
        self.sup = p.support()
        self.sc = self.sup.state_cells(poly.lab, poly.real_states())
        self.pairs = [*poly.edges(), copy_pairs(poly)]  # the copies are tied like tight edges

    def bound(self, c: np.ndarray, tol: float, steps: int = 200) -> float:
        p, poly, sup, sc = self.p, self.poly, self.sup, self.sc
        x = c.ravel()
        nn = x.size
        tight = [np.abs(x[a] - x[b]) <= tol for a, b in self.pairs]
        a = np.concatenate([a[m] for (a, _), m in zip(self.pairs, tight, strict=True)])
        b = np.concatenate([b[m] for (_, b), m in zip(self.pairs, tight, strict=True)])
        _, comp = connected_components(sp.coo_matrix((np.ones(len(a)), (a, b)), shape=(nn, nn)), directed=False)
        lo, hi = poly.lo.ravel().astype(np.float64), poly.hi.ravel().astype(np.float64)
        at_lo, at_hi = x <= lo + tol, x >= hi - tol  # the cells the chain fixes are both
        n_comp = int(comp.max()) + 1
        touches_lo = np.bincount(comp, at_lo, minlength=n_comp) > 0
        touches_hi = np.bincount(comp, at_hi, minlength=n_comp) > 0
        # a component at a bound stays there (the lower one when it touches both, as a fixed 0 cell can)
        fixed_val = np.where(touches_lo, np.bincount(comp, np.where(at_lo, lo, 0), minlength=n_comp)
                             / np.maximum(np.bincount(comp, at_lo, minlength=n_comp), 1), 1.0)
        free = ~(touches_lo | touches_hi)
        fid = np.cumsum(free) - 1
        cell_free = free[comp]
        slot = fid[comp][cell_free]
        base = np.where(cell_free, 0.0, fixed_val[comp])
        theta = np.bincount(slot, x[cell_free]) / np.bincount(slot)
        lin = p.c[sup.cell_class]

        def c_of(th: np.ndarray, with_base: bool = True) -> np.ndarray:
            out = base.copy() if with_base else np.zeros(nn)
            out[cell_free] = th[slot]
            return out.reshape(c.shape)

        def grad_theta(Gs: np.ndarray) -> np.ndarray:
            return np.bincount(slot, poly.grad_c_cells(Gs, sc).ravel()[cell_free], minlength=len(theta))

        def gradient(Zs: np.ndarray, drop: np.ndarray | None = None) -> np.ndarray:
            U, col, _ = p.stats_cells(sup, Zs)
            Gs = p.grad_cells(sup, Zs, p._solve(U), col)
            return grad_theta(Gs if drop is None else Gs - drop)

        a0 = poly.to_cells(np.zeros(c.shape), sc, sup.n_cells)  # c -> Z is affine: its constant part
        r = -gradient(poly.to_cells(c_of(theta), sc, sup.n_cells))
        d = r.copy()
        rr = float(r @ r)
        for _ in range(steps):  # conjugate gradient on the face's values (f is quadratic)
            dZ = poly.to_cells(c_of(d, False), sc, sup.n_cells) - a0
            Hd = gradient(dZ, lin)
            dHd = float(d @ Hd)
            if dHd <= 0 or rr == 0:
                break
            step = rr / dHd
            theta += step * d
            r -= step * Hd
            rr, rr_old = float(r @ r), rr
            d = r + (rr / rr_old) * d
        f_y, gap_y = p.value_and_gap(sup, poly.to_cells(c_of(theta), sc, sup.n_cells))
        return f_y - gap_y


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=20)
    ap.add_argument("--frames", type=int, default=1800)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--classes", type=int, default=17)
    ap.add_argument("--lam", type=float, default=1e-2)
    ap.add_argument("--iters", type=int, nargs="+", default=[200, 400, 800])
    ap.add_argument("--tols", type=float, nargs="+", default=[1e-4, 1e-3])
    ap.add_argument("--face-tols", type=float, nargs="*", default=[],
                    help="also the FW bound at the minimiser over the face read off the iterate at these tols "
                         "(and off cvxpy's optimum at 1e-7: face_at_optimum)")
    a = ap.parse_args()
    X, lengths, chains, lab0 = instance(a.videos, a.frames, a.d, a.classes)
    out: dict[str, Any] = {"benchmark": "ordering_relaxation", "videos": a.videos, "frames": len(X), "d": a.d,
                           "lam": a.lam}
    with few_blas_threads(a.d):
        p = OrderingProblem(X, lengths, chains, a.classes, lam=a.lam)
        poly = p.polytope()
        qp = OrderPolytopeQP(p, poly)
        t0 = time.perf_counter()
        f_star = qp.solve()
        out["cvxpy_seconds"] = round(time.perf_counter() - t0, 1)
        f_flow, _ = ordering_reference(X, lengths, chains, a.classes, lam=a.lam)
        out.update(f_star=f_star, flow_form_rel_diff=float(f"{(f_flow - f_star) / f_star:.3g}"),
                   order_constraints=len(qp.ea))
        faces = FaceBound(p, poly) if a.face_tols else None
        if faces is not None:
            out["face_at_optimum"] = float(f"{(f_star - faces.bound(qp.x, 1e-7)) / f_star:.3g}")
        rows = []
        for k in a.iters:
            r = solve_ordering(p, lab0, method="apg", max_iter=k, rtol=0.0)
            c = poly.repair(r.c)
            f_k = p.value(poly.to_Z(c))
            row: dict[str, Any] = {"iters": k, "primal": float(f"{(f_k - f_star) / f_star:.3g}"),
                                   "fw_bound": float(f"{(f_star - r.lower_bound) / f_star:.3g}")}
            for tol in a.tols:
                lb, kept = qp.relaxed(c, tol)
                row[f"relaxed[{tol:g}]"] = float(f"{(f_star - lb) / f_star:.3g}")
                row[f"kept[{tol:g}]"] = kept
            for tol in a.face_tols if faces is not None else []:
                row[f"face[{tol:g}]"] = float(f"{(f_star - faces.bound(c, tol)) / f_star:.3g}")
            rows.append(row)
        out["at"] = rows
    print(json.dumps(out))


if __name__ == "__main__":
    main()
