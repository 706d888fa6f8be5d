"""Benchmark `wsl localize` with default settings on both demos, side by side with a from-scratch trunk.

For each demo (the real-photo demo and the digits demo), in one process:
- the default model (pretrained EfficientNet-Lite0, frozen, maps at 2 scales cached; no recipe flags);
- the from-scratch baseline (tiny trunk with the recipe measured on the digits data, docs/localize.md);
each with training time (wall clock and CPU time of this process), test mAP, pointing (18 px) and
pointing inside the box. Prints one JSON line; `ratio_*` fields compare default against from-scratch.

    python benchmarks/bench_localize.py                    # both demos at their demo-data default sizes
    python benchmarks/bench_localize.py --demos photos     # one demo
    python benchmarks/bench_localize.py --quick            # a smoke run (seconds, meaningless figures)
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch

import wsl.localize as L
from wsl.data.digits import make_digits_data
from wsl.data.photos import make_photo_data
from wsl.localize import LocalizerConfig
from wsl.models.training import TrainConfig

SCRATCH = {"trunk": "tiny", "adapt_channels": 128, "image_size": 80, "train_scales": (0.7, 1.4),
           "test_scales": (0.7, 1.0, 1.4), "scale_warmup": 1.0, "dropout": 0.1}


def _run(name: str, data: Path, run: Path, cfg: LocalizerConfig | None, tcfg: TrainConfig | None) -> dict[str, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    L.train(data / "train", run, cfg, tcfg)
    train_wall, train_cpu = time.perf_counter() - wall, time.process_time() - cpu
    ev = L.evaluate(run, data / "test", device="cpu")
    return {f"{name}_train_s": round(train_wall, 1), f"{name}_train_cpu_s": round(train_cpu, 1),
            f"{name}_mAP": ev.mAP or 0.0, f"{name}_pointing": ev.pointing or 0.0,
            f"{name}_pointing_inside": ev.pointing_inside or 0.0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--demos", default="photos,digits")
    ap.add_argument("--photos", default="300,100", help="train,test images of the photo demo")
    ap.add_argument("--digits", default="600,200", help="train,test images of the digits demo")
    ap.add_argument("--scratch-epochs", type=int, default=26)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    fig: dict[str, object] = {"bench": "localize", "threads": torch.get_num_threads(),
                              "load_average": round(os.getloadavg()[0], 1)}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for demo in args.demos.split(","):
            n_train, n_test = (int(x) for x in getattr(args, demo).split(","))
            if args.quick:
                n_train, n_test = 16, 8
            if demo == "photos":
                make_photo_data(root / demo, n_train, n_test, size=224 if not args.quick else 96)
            else:
                make_digits_data(root / demo, n_train, n_test, 160 if not args.quick else 64)
            quick_default = LocalizerConfig([], image_size=64) if args.quick else None
            quick_t = TrainConfig(epochs=1, batch_size=8, device="cpu") if args.quick else None
            fig.update({f"{demo}_{k}": v for k, v in _run("default", root / demo, root / f"{demo}-default",
                                                            quick_default, quick_t).items()})
            scratch = LocalizerConfig([], **SCRATCH)  # type: ignore[arg-type]
            stcfg = TrainConfig(epochs=1 if args.quick else args.scratch_epochs, batch_size=32, lr=1e-3,
                                seed=0, device="cpu", grad_clip=None)
            fig.update({f"{demo}_{k}": v for k, v in _run("scratch", root / demo, root / f"{demo}-scratch",
                                                            scratch, stcfg).items()})
            fig[f"{demo}_images"] = [n_train, n_test]
            for key in ("mAP", "pointing", "pointing_inside", "train_s"):
                a, b = fig[f"{demo}_default_{key}"], fig[f"{demo}_scratch_{key}"]
                fig[f"{demo}_ratio_{key}"] = round(float(a) / float(b), 3) if b else None  # type: ignore[arg-type]
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in fig.items()}))


if __name__ == "__main__":
    main()
