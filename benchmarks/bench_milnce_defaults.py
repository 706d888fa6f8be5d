"""MIL-NCE with default settings against the narration-time baseline, over several seeds (issue 13.3).

For each seed: the generated narrated set of ``wsl demo-data narrated`` (defaults, that seed), a model
trained by ``wsl.milnce.train(DATA/train, RUN)`` with nothing tuned (the seed aside), and both scored
on the test split's gold pairs: step localisation recall per (video, step) (CrossTask) and per segment,
and text-to-clip retrieval. The baseline reads only the narration (a step at the caption sharing most
words with it; a clip scored by the words of the captions overlapping it). Prints one JSON line.

    python benchmarks/bench_milnce_defaults.py [--seeds 0 1 2] [--out /tmp/bench_milnce_defaults]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import time
from pathlib import Path

import torch

from wsl.data.synth_narrated_set import NarratedSetParams, make_narrated_set
from wsl.milnce import train
from wsl.milnce.evaluation import evaluate, narration_baseline_files

KEYS = ("step_recall", "segment_recall", "R@1", "R@5", "R@10", "median_rank")


def summary(rows: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    return {k: {"mean": round(statistics.fmean(r[k] for r in rows), 3),
                "std": round(statistics.pstdev(r[k] for r in rows), 3)} for k in KEYS}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_milnce_defaults"))
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    per_seed = []
    for seed in args.seeds:
        data = args.out / f"data{seed}"
        make_narrated_set(data, NarratedSetParams(seed=seed))
        t0 = time.perf_counter()
        result = train(data / "train", args.out / f"run{seed}", seed=seed, device=args.device)
        train_s = time.perf_counter() - t0
        pairs, test = data / "test" / "pairs.csv", data / "test"
        ours = evaluate(result.run_dir, pairs, test / "features", device=args.device).as_dict()
        base = narration_baseline_files(pairs, test / "captions", test / "features").as_dict()
        per_seed.append({"seed": seed, "steps": result.steps, "stopped": result.stopped,
                         "kept_epoch": result.best["epoch"] + 1 if result.best else None,
                         "train_s": round(train_s, 1), "milnce": {k: round(ours[k], 3) for k in KEYS},
                         "baseline": {k: round(base[k], 3) for k in KEYS}, "steps_annotated": ours["steps"],
                         "segments": ours["segments"]})
    mil = summary([r["milnce"] for r in per_seed])
    base = summary([r["baseline"] for r in per_seed])
    print(json.dumps({
        "benchmark": "milnce_defaults_vs_narration",
        "machine": f"{platform.machine()} {torch.get_num_threads()} threads, torch {torch.__version__}",
        "data": "wsl demo-data narrated defaults (300 train + 30 test videos), seed = training seed",
        "milnce": mil, "narration_baseline": base,
        "step_recall_ratio": round(mil["step_recall"]["mean"] / max(base["step_recall"]["mean"], 1e-9), 3),
        "R@10_ratio": round(mil["R@10"]["mean"] / max(base["R@10"]["mean"], 1e-9), 3),
        "per_seed": per_seed}))


if __name__ == "__main__":
    main()
