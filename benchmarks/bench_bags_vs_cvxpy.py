"""At-least-one bags: FISTA + exact projection (wsl.solvers.bags) against cvxpy (CLARABEL and SCS).

    python benchmarks/bench_bags_vs_cvxpy.py [--n 2000] [--solvers CLARABEL SCS] [--fw]

Prints one JSON line: ``ours_s``, ``cvxpy_best_s``, ``cvxpy_best_solver``, ``rel_diff`` (our objective
against the best cvxpy objective), ``certified_gap`` (relative), ``speedup`` (cvxpy_best_s / ours_s);
with ``--fw`` also the pairwise Frank-Wolfe of the previous implementation, for comparison.
Problem: K classes with Gaussian means, noise 2, bags of 10 consecutive samples listing the
non-background labels present; one BLAS thread.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from wsl.solvers._threads import few_blas_threads
from wsl.solvers.bags import BagPolytope, solve_bags
from wsl.solvers.diffrac import DiffracCost, one_hot
from wsl.solvers.frank_wolfe import frank_wolfe
from wsl.solvers.prep import standardize
from wsl.solvers.reference import bags_reference


def problem(n: int, k: int, d: int, per_bag: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    X = rng.normal(size=(k, d))[y] + 2.0 * rng.normal(size=(n, d))
    bags = [list(range(i, min(i + per_bag, n))) for i in range(0, n, per_bag)]
    need = [sorted({int(y[i]) for i in b if y[i] > 0}) for b in bags]
    allowed = np.ones((n, k), bool)
    for b, lab in zip(bags, need, strict=True):
        allowed[b] = False
        allowed[np.ix_(b, [0, *lab])] = True
    return X, bags, need, allowed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--lam", type=float, default=1e-2)
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--solvers", nargs="*", default=["CLARABEL", "SCS"])
    ap.add_argument("--fw", action="store_true", help="also time the previous pairwise Frank-Wolfe (slow)")
    ap.add_argument("--cvxpy-time-limit", type=float, default=None,
                    help="seconds per cvxpy solve; a solver stopped by it is reported as '>LIMIT' and left out "
                    "of the ratio's baseline")
    a = ap.parse_args()
    X, bags, need, allowed = problem(a.n, a.k, a.d)
    X = standardize(X)[0]
    out: dict[str, object] = {"benchmark": "bags_vs_cvxpy", "n": a.n, "k": a.k, "d": a.d, "bags": len(bags)}
    with few_blas_threads(a.d):
        t = time.perf_counter()
        cost = DiffracCost(X, a.lam)
        dom = BagPolytope(a.n, a.k, bags, need, allowed)
        res = solve_bags(cost, dom, rtol=a.rtol)
        ours = time.perf_counter() - t
        if a.fw:
            def lmo(G: np.ndarray) -> np.ndarray:
                return one_hot(dom.lmo_labels(G), a.k)

            t = time.perf_counter()
            fw = frank_wolfe(cost.f_grad, lmo, lmo(np.zeros((a.n, a.k))), max_iter=3000, rtol=a.rtol,
                             curvature=cost.curvature, pairwise=True)
            out.update(fw_s=round(time.perf_counter() - t, 2), fw_objective=fw.fun,
                       fw_certified_gap=fw.gap / abs(fw.fun), fw_iterations=int(fw.nit))
    times: dict[str, float] = {}
    objs: dict[str, float] = {}
    capped: list[str] = []
    limit_key = {"CLARABEL": "time_limit", "SCS": "time_limit_secs"}
    for solver in a.solvers:
        opts = {limit_key[solver]: a.cvxpy_time_limit} if a.cvxpy_time_limit and solver in limit_key else {}
        t = time.perf_counter()
        try:
            f_s, _ = bags_reference(X, a.k, bags, need, a.lam, allowed, solver=solver, solver_options=opts)
            if a.cvxpy_time_limit and time.perf_counter() - t >= 0.95 * a.cvxpy_time_limit:
                raise RuntimeError("time limit")  # an 'inaccurate' answer at the limit is no baseline either
            objs[solver], times[solver] = f_s, time.perf_counter() - t
        except RuntimeError:  # stopped by the time limit (or failed): not a baseline
            capped.append(solver)
            out[f"{solver}_stopped_s"] = round(time.perf_counter() - t, 2)
    if capped:
        out["cvxpy_capped"] = capped
        out["cvxpy_time_limit"] = a.cvxpy_time_limit
    best = min(times, key=lambda s: times[s]) if times else None
    f_ref = min(objs.values()) if objs else float("nan")
    out.update(ours_s=round(ours, 3), ours_objective=res.fun, iterations=int(res.nit),
               newton_steps=dom.newton_steps, converged=bool(res.success),
               certified_gap=res.gap / abs(res.fun),
               cvxpy_s={s: round(v, 2) for s, v in times.items()}, cvxpy_objective=objs,
               cvxpy_best_s=round(times[best], 2) if best else None, cvxpy_best_solver=best,
               rel_diff=(res.fun - f_ref) / abs(f_ref),
               speedup=round(times[best] / ours, 1) if best else None)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
