"""MIL-NCE training throughput (clips/s) with the default model: the features path (MLP over precomputed
clip features) and the end-to-end frames path (clip encoder on decoded 64x64 frames). CPU, and CUDA when
available. Prints one JSON line.

    python benchmarks/bench_milnce_throughput.py [--steps 20] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
from pathlib import Path

import torch

from wsl.data.synth_narrated_set import NarratedSetParams, make_narrated_set
from wsl.milnce import MilNceConfig, train


def clips_per_s(data: Path, out: Path, video: str, device: str, steps: int, batch: int) -> float:
    cfg = MilNceConfig(video=video, frame_size=64)
    source = data / "train" / ("videos" if video == "frames" else "features")
    # two epochs of `steps`: the first warms up (allocator, decoding cache); the second is the figure
    history = train(data / "train", out, config=cfg, epochs=2, batch_size=batch, device=device,
                    max_steps=2 * steps, clips_per_video=steps * batch // 40, validation=0.0,
                    **({"videos": source} if video == "frames" else {"features": source})).history
    return round(history[-1]["samples_per_s"], 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_milnce_throughput"))
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    make_narrated_set(args.out / "data", NarratedSetParams(train_videos=40, test_videos=1, videos=True,
                                                           frame_size=64, video_fps=8.0))
    res: dict = {"benchmark": "milnce_throughput", "batch_size": args.batch_size, "steps": args.steps,
                 "model": "default (embed 512, words 300 -> 2048 -> 512, 16 words, 4 candidates, 8 rows/frames)",
                 "machine": f"{platform.machine()} {torch.get_num_threads()} threads, torch {torch.__version__}"}
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for video in ("features", "frames"):
            res[f"{device}_{video}_clips_per_s"] = clips_per_s(args.out / "data", args.out / f"{device}-{video}",
                                                                video, device, args.steps, args.batch_size)
    if torch.cuda.is_available():
        res["gpu"] = torch.cuda.get_device_name()
    res["ratio_features_over_frames_cpu"] = round(res["cpu_features_clips_per_s"] / res["cpu_frames_clips_per_s"], 1)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
