"""MIL-NCE against single-positive NCE at equal training steps on the generated narrated set, over a range
of speech/action misalignment; plus training throughput (clips/s). Prints one JSON line.

    python benchmarks/bench_milnce.py [--shift-std 0 4 8] [--epochs 6] [--out /tmp/bench_milnce]

The generator's parameters are in the output (``data``). As in the paper, each video gives one clip per
epoch and is seen a few times only: with few videos seen many times, both losses learn to recognise the
video (its background, its narrator's filler words) instead of the actions, MIL-NCE sooner.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from wsl.data.synth_narrated_set import NarratedSetParams, make_narrated_set
from wsl.milnce import MilNceConfig, train


def run(data: Path, out: Path, candidates: int, args: argparse.Namespace) -> dict:
    cfg = MilNceConfig(candidates=candidates, embed_dim=args.embed_dim, word_dim=128, text_hidden=args.text_hidden,
                       video_pool=args.pool)
    t0 = time.perf_counter()
    history = train(data / "train", out, config=cfg, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                    seed=args.seed, device="cpu", clips_per_video=args.clips_per_video, validation=0.0,
                    eval_pairs=data / "test" / "pairs.csv", eval_source=data / "test" / "features").history
    last = history[-1]
    train_s = sum(r["seconds"] for r in history)
    clips = last["step"] * args.batch_size
    return {"steps": last["step"], "R@1": round(last["R@1"], 3), "R@5": round(last["R@5"], 3),
            "R@10": round(last["R@10"], 3), "median_rank": last["median_rank"],
            "step_recall": round(last["step_recall"], 3), "best_R@10": round(max(r["R@10"] for r in history), 3),
            "final_loss": round(last["loss"], 3), "train_clips_per_s": round(clips / train_s, 1),
            "wall_s": round(time.perf_counter() - t0, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shift-std", type=float, nargs="+", default=[0.0, 4.0, 8.0])
    ap.add_argument("--candidates", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--clips-per-video", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--embed-dim", type=int, default=256)
    ap.add_argument("--text-hidden", type=int, default=512)
    ap.add_argument("--train-videos", type=int, default=2000)
    ap.add_argument("--test-videos", type=int, default=60)
    ap.add_argument("--noise", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pool", default="max", help="video_pool: max (the recorded figures) or mean (the default now)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_milnce"))
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    base = NarratedSetParams(train_videos=args.train_videos, test_videos=args.test_videos, noise=args.noise,
                             seed=args.seed)
    rows = []
    for shift in args.shift_std:
        params = replace(base, shift_std=shift)
        data = args.out / f"shift{shift:g}"
        make_narrated_set(data, params)
        mil = run(data, data / "milnce", args.candidates, args)
        nce = run(data, data / "nce", 1, args)
        rows.append({"shift_std": shift, "milnce": mil, "nce": nce,
                     "R@10_ratio_milnce_over_nce": round(mil["R@10"] / max(nce["R@10"], 1e-9), 3)})
    data_params = {k: v for k, v in asdict(base).items() if k != "shift_std"}
    print(json.dumps({"benchmark": "milnce_vs_nce", "machine": f"{platform.machine()} {torch.get_num_threads()} "
                      f"threads, torch {torch.__version__}", "data": data_params,
                      "model": {"candidates": args.candidates, "embed_dim": args.embed_dim, "word_dim": 128,
                                "text_hidden": args.text_hidden, "video_pool": args.pool,
                                "temperature": MilNceConfig.temperature,
                                "clip_seconds": MilNceConfig.clip_seconds, "clip_steps": MilNceConfig.clip_steps},
                      "train": {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
                                "clips_per_video": args.clips_per_video}, "results": rows}))


if __name__ == "__main__":
    main()
