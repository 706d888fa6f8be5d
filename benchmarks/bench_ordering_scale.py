"""Benchmark 2: an ordering problem the size of Hollywood Extended (about 900 videos, 80k frames, d = 512,
16 actions + background): wall time of 100 Frank-Wolfe iterations (full FW, exact line search,
batched ordering oracle) and of 100 block-coordinate epochs' worth of single-video steps. One JSON line.

    python benchmarks/bench_ordering_scale.py [--iters 100]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from wsl.solvers._threads import few_blas_threads
from wsl.solvers.diffrac import DiffracCost, one_hot
from wsl.solvers.frank_wolfe import block_frank_wolfe, frank_wolfe
from wsl.solvers.oracles import ordering_chain, ordering_lmo_batch
from wsl.actions.labeler import uniform_labels


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=900)
    ap.add_argument("--frames", type=int, default=80000)
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--classes", type=int, default=17)
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--block-epochs", type=int, default=5)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    lengths = np.maximum(10, rng.gamma(2.0, a.frames / a.videos / 2.0, a.videos).astype(int))
    trs = [list(rng.integers(1, a.classes, size=int(rng.integers(1, 6)))) for _ in range(a.videos)]
    X = rng.normal(size=(int(lengths.sum()), a.d)).astype(np.float64)
    ends = np.cumsum(lengths)
    blocks = [slice(int(s), int(e)) for s, e in zip(np.r_[0, ends[:-1]], ends, strict=True)]
    chains = [ordering_chain(t) for t in trs]
    K = a.classes
    limit = few_blas_threads(a.d)
    limit.__enter__()
    t0 = time.perf_counter()
    cost = DiffracCost(X, 1e-2, blocks=blocks)
    t_setup = time.perf_counter() - t0

    def lmo(G: np.ndarray) -> np.ndarray:
        return one_hot(np.concatenate(ordering_lmo_batch([G[b] for b in blocks], chains)), K)

    x0 = one_hot(np.concatenate([uniform_labels(n, t) for n, t in zip(lengths, trs, strict=True)]), K)
    t0 = time.perf_counter()
    res = frank_wolfe(cost.f_grad, lmo, x0, max_iter=a.iters, rtol=0.0, curvature=cost.curvature)
    t_fw = time.perf_counter() - t0
    t0 = time.perf_counter()
    blk = block_frank_wolfe(cost, lambda i, g: one_hot(ordering_lmo_batch([g], [chains[i]])[0], K), x0,
                            max_epochs=a.block_epochs, rtol=0.0)
    t_blk = time.perf_counter() - t0
    print(json.dumps({"benchmark": "ordering_scale", "videos": a.videos, "frames": int(lengths.sum()), "d": a.d,
                      "classes": K, "setup_seconds": round(t_setup, 2), "fw_iterations": int(res.nit),
                      "fw_seconds": round(t_fw, 1), "fw_seconds_per_iteration": round(t_fw / max(res.nit, 1), 3),
                      "fw_objective": res.fun, "fw_gap": res.gap, "block_epochs": int(blk.nit),
                      "block_seconds": round(t_blk, 1), "block_objective": blk.fun,
                      "target_seconds": 120, "within_target": t_fw < 120}))


if __name__ == "__main__":
    main()
