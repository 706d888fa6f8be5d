"""The MIL-NCE loss alone (forward + backward) at a large batch, against single-positive NCE at the same
batch (the baseline ratio). CPU always; CUDA too when available. Prints one JSON line.

    python benchmarks/bench_milnce_loss.py [--batch 4096] [--candidates 4] [--dim 512] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch
import torch.nn.functional as F

from wsl.milnce.loss import milnce_loss, nce_loss


def _time(fn, device: torch.device, reps: int) -> float:
    fn()  # warm-up (allocations, kernels)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - t0) / reps


def measure(device: torch.device, n: int, p: int, d: int, reps: int) -> dict:
    g = torch.Generator(device="cpu").manual_seed(0)
    v = F.normalize(torch.randn(n, d, generator=g), dim=-1).to(device).requires_grad_(True)
    t = F.normalize(torch.randn(n, p, d, generator=g), dim=-1).to(device).requires_grad_(True)
    group = torch.arange(n, device=device)
    amp = device.type == "cuda"

    def mil() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            milnce_loss(v, t, None, 0.05, group=group).backward()

    def nce() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            nce_loss(v, t[:, 0], 0.05, group=group).backward()

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    s_mil = _time(mil, device, reps)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    s_nce = _time(nce, device, reps)
    out = {"milnce_ms": round(1000 * s_mil, 1), "nce_ms": round(1000 * s_nce, 1),
           "ratio_milnce_over_nce": round(s_mil / s_nce, 2), "pairs_scored": n * n * p * 2}
    if peak is not None:
        out["milnce_peak_gib"] = round(peak, 2)
        out["gpu"] = torch.cuda.get_device_name(device)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--candidates", type=int, default=4)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cpu-batch", type=int, default=None, help="CPU batch (default --batch)")
    args = ap.parse_args()
    res = {"benchmark": "milnce_loss", "candidates": args.candidates, "dim": args.dim,
           "machine": f"{platform.machine()} {torch.get_num_threads()} threads, torch {torch.__version__}"}
    cpu_batch = args.cpu_batch or args.batch
    res["cpu"] = {"batch": cpu_batch, **measure(torch.device("cpu"), cpu_batch, args.candidates, args.dim,
                                                  max(1, args.reps // 3))}
    if torch.cuda.is_available():
        res["cuda_bf16_autocast"] = {"batch": args.batch, **measure(torch.device("cuda"), args.batch,
                                                                     args.candidates, args.dim, args.reps * 10)}
    print(json.dumps(res))


if __name__ == "__main__":
    main()
