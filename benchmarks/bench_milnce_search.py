"""Search latency and recall@10 of the approximate (faiss IVF) index against exact search over N random
unit vectors (default 1M x 512). Prints one JSON line; needs the ``ann`` extra (faiss-cpu).

    python benchmarks/bench_milnce_search.py [--n 1000000] [--dim 512] [--nlist 1024] [--nprobe 8 32 128]

Two query sets: random unit vectors (no structure at all: the worst case for any ANN index) and
near-duplicates (a stored vector plus noise of norm about 0.45, cosine about 0.9 to it, as when a query
really has a match in the index); for these, ``source@10`` is the share whose source vector is returned.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from wsl.milnce.outputs import ann_search, build_ann, exact_search


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def recall_at(approx: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(e)) / len(e) for a, e in zip(approx, exact, strict=True)]))


def source_found(sources: np.ndarray, ids: np.ndarray) -> float:
    return float(np.mean([s in row for s, row in zip(sources, ids, strict=True)]))


def main() -> None:
    import faiss

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--nlist", type=int, default=1024)
    ap.add_argument("--nprobe", type=int, nargs="+", default=[8, 32, 128])
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = np.empty((args.n, args.dim), dtype=np.float32)
    for lo in range(0, args.n, 100_000):  # in blocks: float64 normals for 1M x 512 would need 4 GB
        x[lo: lo + 100_000] = unit(rng.standard_normal((min(100_000, args.n - lo), args.dim)))
    sources = rng.choice(args.n, args.queries, replace=False)
    noise = 0.45 / np.sqrt(args.dim) * rng.standard_normal((args.queries, args.dim)).astype(np.float32)
    queries = {"random": unit(rng.standard_normal((args.queries, args.dim))),
               "near_duplicate": unit(x[sources] + noise)}
    res: dict = {"benchmark": "milnce_search", "n": args.n, "dim": args.dim, "k": args.k, "queries": args.queries,
                 "machine": f"{platform.machine()}, faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads"}
    exact: dict = {}
    for name, q in queries.items():
        t0 = time.perf_counter()
        _, ids = exact_search(x, q, args.k)
        batch_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for i in range(min(10, len(q))):
            exact_search(x, q[i: i + 1], args.k)
        single_s = (time.perf_counter() - t0) / min(10, len(q))
        exact[name] = ids
        res[f"exact_{name}"] = {"ms_per_query_batched": round(1000 * batch_s / len(q), 2),
                                "ms_single_query": round(1000 * single_s, 1)}
        if name == "near_duplicate":
            res[f"exact_{name}"]["source@10"] = source_found(sources, ids)
    t0 = time.perf_counter()
    index = build_ann(x, "ivf", nlist=args.nlist)
    res["ivf_build_s"] = round(time.perf_counter() - t0, 1)
    res["nlist"] = args.nlist
    for nprobe in args.nprobe:
        for name, q in queries.items():
            ann_search(index, q[:2], args.k, nprobe=nprobe)  # warm-up
            t0 = time.perf_counter()
            _, ids = ann_search(index, q, args.k, nprobe=nprobe)
            batch_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            for i in range(min(10, len(q))):
                ann_search(index, q[i: i + 1], args.k, nprobe=nprobe)
            single_s = (time.perf_counter() - t0) / min(10, len(q))
            exact_single = res[f"exact_{name}"]["ms_single_query"]
            res[f"ivf_nprobe{nprobe}_{name}"] = {
                "recall@10": round(recall_at(ids, exact[name]), 3),
                "ms_per_query_batched": round(1000 * batch_s / len(q), 3),
                "ms_single_query": round(1000 * single_s, 2),
                "speedup_single_vs_exact": round(exact_single / max(1000 * single_s, 1e-9), 1)}
            if name == "near_duplicate":
                res[f"ivf_nprobe{nprobe}_{name}"]["source@10"] = source_found(sources, ids)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
