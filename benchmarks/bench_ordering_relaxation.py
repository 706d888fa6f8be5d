"""How tight two lower bounds on the ordering problem's optimum are at APG's iterates, one JSON line.

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
  the kept set holds the constraints active at the optimum, LB_S = f*.

A certificate built on the second needs a cheap dual bound for the relaxed problem; this benchmark
only measures how far such a certificate could go (docs/benchmarks.md 2h).

    python benchmarks/bench_ordering_relaxation.py [--videos 20] [--frames 1800] [--d 64]
        [--iters 200 400 800] [--tols 1e-4 1e-3]
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

from wsl.solvers._threads import few_blas_threads
from wsl.solvers.order_polytope import OrderPolytope
from wsl.solvers.ordering import solve_ordering
from wsl.solvers.ordering_problem import OrderingProblem
from wsl.solvers.reference import ordering_reference

sys.path.insert(0, str(Path(__file__).parent))
from bench_ordering_scale import instance  # noqa: E402


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
        self.copies = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        if len(poly.eq_nodes):
            order = np.argsort(poly.eq_comp, kind="stable")
            nodes, comp = poly.eq_nodes[order], poly.eq_comp[order]
            same = comp[1:] == comp[:-1]
            self.copies = (nodes[:-1][same], nodes[1:][same])
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=20)
    ap.add_argument("--frames", type=int, default=1800)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--classes", type=int, default=17)
    ap.add_argument("--lam", type=float, default=1e-2)
    ap.add_argument("--iters", type=int, nargs="+", default=[200, 400, 800])
    ap.add_argument("--tols", type=float, nargs="+", default=[1e-4, 1e-3])
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
            rows.append(row)
        out["at"] = rows
    print(json.dumps(out))


if __name__ == "__main__":
    main()
