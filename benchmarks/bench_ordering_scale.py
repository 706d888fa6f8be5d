"""Ordering problem the size of Hollywood Extended (900 videos, ~80k frames, d = 512, 16 actions +
background), one JSON line.

Times, in one process and on one BLAS thread:
- ``seconds``: ``iters`` plain Frank-Wolfe iterations (exact line search) of the current solver
  (`wsl.solvers.ordering`: cached statistics; per iteration the gradient on each video's own classes
  (one pass over the float32 X), the state-by-state DP oracle, the vertex's X^T S by its changes);
- ``previous_seconds``: the same iterations of the turn-1 implementation (benchmarks/_previous/,
  commit 7946266: DIFFRAC operator twice per iteration on float64 X, padded batched DP), run for
  ``--previous-iters`` iterations and scaled to ``iters`` if fewer;
- ``floor_seconds_per_iter``: the gradient's product with X + one oracle call timed alone (the
  per-iteration floor);
- ``certified_*``: ``--certify-method`` (default ``apg``: accelerated projected gradient in the
  order-polytope coordinates of `wsl.solvers.order_polytope`) run to a certified relative gap of
  1e-3, ``--certify-seconds`` of CPU (``time.process_time``) or ``--certify-iters`` iterations (APG's
  bound also at the reduced-rank extrapolation of its last ``--rre`` steps), with its iterations, wall and CPU
  seconds, the certified relative gap (best feasible objective minus the best Frank-Wolfe lower
  bound seen, over the objective) and that gap at 30 / 60 / 120 s of CPU;
- ``baseline_certified_*``: the same for ``--certify-baseline`` (default pairwise FW, the previous
  default), and ``certified_gap_ratio`` = its final gap / ours.
- ``trace`` (with ``--reference-iters R``): the certified solve's objective above that of a longer
  reference solve (R APG iterations) and its certified gap, both relative, at a dozen checks: how far
  the certificate is from the truth;
``peak_rss_mb`` is the process's peak resident memory after the current solver's runs (the caller's X
included), before the certified baseline runs (``peak_rss_mb_with_baseline``: after it) and before
the turn-1 baseline is built (it needs a float64 copy of X).

    python benchmarks/bench_ordering_scale.py [--iters 100] [--previous-iters 100] [--certify-seconds 120]
        [--certify-method apg] [--certify-baseline pairwise|none] [--certify-iters N] [--rre 10]
        [--min-length 0.1] [--reference-iters 6000] [--lam 1e-2] [--videos 900] [--frames 80000] [--d 512]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

from wsl.actions.labeler import uniform_labels
from wsl.solvers._threads import few_blas_threads
from wsl.solvers.chains import Chain, ordering_chain
from wsl.solvers.ordering import solve_ordering
from wsl.solvers.ordering_problem import OrderingProblem


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def instance(videos: int, frames: int, d: int, classes: int, min_length: float = 0.0, seed: int = 0
             ) -> tuple[np.ndarray, np.ndarray, list[Chain], np.ndarray]:
    """The benchmark's problem: (X, frames per video, chains, uniform start labels). Videos of Gamma(2)
    lengths (10 frames at least), transcripts of 1-5 actions drawn with repetition, background between
    them, Gaussian features."""
    rng = np.random.default_rng(seed)
    lengths = np.maximum(10, rng.gamma(2.0, frames / videos / 2.0, videos).astype(int))
    trs = [list(rng.integers(1, classes, size=int(rng.integers(1, 6)))) for _ in range(videos)]
    X = rng.standard_normal(size=(int(lengths.sum()), d), dtype=np.float32)
    chains = [ordering_chain(t, 0, max(1, int(min_length * n / len(t)))) for n, t in zip(lengths, trs, strict=True)]
    lab0 = np.concatenate([uniform_labels(n, t) for n, t in zip(lengths, trs, strict=True)])
    return X, lengths, chains, lab0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=900)
    ap.add_argument("--frames", type=int, default=80000)
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--classes", type=int, default=17)
    ap.add_argument("--lam", type=float, default=1e-2,
                    help="the ridge (larger: the classifier's part better conditioned)")
    ap.add_argument("--min-length", type=float, default=0.0,
                    help="each action lasts at least this share of its video's length / its actions, as "
                         "label-actions' min_length (0: one frame)")
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--previous-iters", type=int, default=100, help="0 skips the baseline")
    ap.add_argument("--certify-seconds", type=float, default=120.0, help="0 skips the certified solve")
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--certify-method", default="apg", choices=["apg", "pairwise", "fw"])
    ap.add_argument("--certify-baseline", default="pairwise", choices=["pairwise", "fw", "none"])
    ap.add_argument("--certify-iters", type=int, default=100_000, help="most iterations of the certified solves")
    ap.add_argument("--rre", type=int, default=10, help="APG's extrapolation window for its bound (0: none)")
    ap.add_argument("--no-average", action="store_true", help="APG's bound without the mean of its recent iterates")
    ap.add_argument("--reference-iters", type=int, default=0,
                    help="after the certified solve, a reference APG solve of this many iterations; the JSON then "
                         "has a trace of the certified solve: [iterations, CPU s, objective above the reference's, "
                         "certified gap], both relative (0: none)")
    a = ap.parse_args()
    X, lengths, chains, lab0 = instance(a.videos, a.frames, a.d, a.classes, a.min_length)
    N, K = len(X), a.classes
    out: dict[str, object] = {"benchmark": "ordering_scale", "videos": a.videos, "frames": N, "d": a.d, "classes": K,
                              "lam": a.lam, "min_length": a.min_length}
    with few_blas_threads(a.d):
        t0 = time.perf_counter()
        prob = OrderingProblem(X, lengths, chains, K, lam=a.lam)
        out["setup_seconds"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        res = solve_ordering(prob, lab0, method="fw", max_iter=a.iters, rtol=0.0)
        out.update(iters=int(res.nit), seconds=round(time.perf_counter() - t0, 2), objective=res.fun,
                   gap_after_iters=res.gap)
        # the floor: the gradient's product with X and one oracle call, nothing else
        Z = res.x
        U, col, _ = prob.stats(Z)
        V = prob._solve(U)
        sup = prob.support()
        Zs = Z[sup.cell_row, sup.cell_class]
        t0 = time.perf_counter()
        for _ in range(5):
            Gs = prob.grad_cells(sup, Zs, V, col)
            prob._plan.solve_cells(Gs, sup.dp_index, partial(sup.dense, Gs, np.inf))
        out["floor_seconds_per_iter"] = round((time.perf_counter() - t0) / 5, 4)
        del Z, U, Zs, sup
        if a.certify_seconds > 0:
            del res
            # ours first, so that the peak memory recorded after it is ours; the baseline's CPU time is
            # not changed by the order polytope the problem then keeps cached (only its memory)
            runs = [("certified", a.certify_method)]
            if a.certify_baseline != "none":
                runs.append(("baseline_certified", a.certify_baseline))
            trace: list[tuple[int, float, float, float]] = []
            for key, method in runs:
                marks: dict[str, float] = {}
                c0 = time.process_time()

                def seen(r: object, c0: float = c0, marks: dict[str, float] = marks, key: str = key) -> None:
                    cpu = time.process_time() - c0
                    for m in (30, 60, 120):
                        if cpu >= m and str(m) not in marks:
                            marks[str(m)] = float(r.gap / abs(r.fun))  # type: ignore[attr-defined]
                    if key == "certified":
                        trace.append((int(r.nit), cpu, float(r.fun), float(r.gap)))  # type: ignore[attr-defined]

                t0 = time.perf_counter()
                cert = solve_ordering(prob, lab0, method=method, max_iter=a.certify_iters, rtol=a.rtol, rre=a.rre,
                                      average=not a.no_average, max_seconds=a.certify_seconds, clock=time.process_time,
                                      callback=seen)
                out.update({f"{key}_method": method, f"{key}_iters": int(cert.nit), f"{key}_gap_at_cpu_s": marks,
                            f"{key}_seconds": round(time.perf_counter() - t0, 1),
                            f"{key}_cpu_seconds": round(time.process_time() - c0, 1),
                            f"{key}_gap": cert.gap / abs(cert.fun), f"{key}_success": bool(cert.success),
                            f"{key}_objective": cert.fun})
                del cert
                if key == "certified":
                    out["peak_rss_mb"] = round(_peak_mb(), 1)
            if a.reference_iters > 0:
                # how far the certified solve's objective really is from the optimum, against its certificate
                ref = solve_ordering(prob, lab0, method="apg", max_iter=a.reference_iters, rtol=0.0, rre=a.rre)
                f_ref = min(ref.fun, min(t[2] for t in trace))
                out.update(reference_iters=int(ref.nit), reference_objective=f_ref,
                           reference_certified_gap=float((ref.fun - ref.lower_bound) / abs(f_ref)))
                step = max(1, len(trace) // 12)
                out["trace"] = [[n, round(cpu, 1), float(f"{(f - f_ref) / abs(f_ref):.3g}"),
                                 float(f"{g / abs(f):.3g}")] for n, cpu, f, g in trace[::step] + trace[-1:]]
                del ref
            if a.certify_baseline != "none":
                out["certified_gap_ratio"] = round(float(out["baseline_certified_gap"])  # type: ignore[arg-type]
                                                   / max(float(out["certified_gap"]), 1e-300), 2)  # type: ignore[arg-type]
        out.setdefault("peak_rss_mb", round(_peak_mb(), 1))
        out["peak_rss_mb_with_baseline"] = round(_peak_mb(), 1)
        del prob
        if a.previous_iters > 0:
            sys.path.insert(0, str(Path(__file__).parent / "_previous"))
            from turn1_diffrac import DiffracCost, one_hot  # type: ignore[import-not-found]
            from turn1_frank_wolfe import frank_wolfe  # type: ignore[import-not-found]
            from turn1_oracles import ordering_lmo_batch  # type: ignore[import-not-found]

            ends = np.cumsum(lengths)
            blocks = [slice(int(s), int(e)) for s, e in zip(np.r_[0, ends[:-1]], ends, strict=True)]
            cost = DiffracCost(X.astype(np.float64), a.lam, blocks=blocks)

            def lmo(G: np.ndarray) -> np.ndarray:
                return one_hot(np.concatenate(ordering_lmo_batch([G[b] for b in blocks], chains)), K)

            t0 = time.perf_counter()
            old = frank_wolfe(cost.f_grad, lmo, one_hot(lab0, K), max_iter=a.previous_iters, rtol=0.0,
                              curvature=cost.curvature)
            prev = time.perf_counter() - t0
            out.update(previous_iters=int(old.nit), previous_seconds=round(prev * a.iters / max(old.nit, 1), 2),
                       previous_objective=old.fun, previous_peak_rss_mb=round(_peak_mb(), 1))
            out["speedup"] = round(float(out["previous_seconds"]) / max(float(out["seconds"]), 1e-9), 2)  # type: ignore[arg-type]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
