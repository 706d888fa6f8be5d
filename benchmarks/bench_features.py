"""Throughput of `wsl features extract` on CPU: the default Lite0 backbone at 1 and 2 fps against decoding
alone (the baseline, same frames, same sizes), plus the classic descriptor.

Uses the real Hollywood2 clip when ../shared/data is there, else a generated 10 s video. Prints one JSON
line: video seconds processed per wall second (real-time factor) for each, and the ratio of each
extraction's time to decoding alone.
Run: python benchmarks/bench_features.py [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from wsl.features.extraction import ExtractConfig, extract_video, load_trunk
from wsl.features.preprocess import input_size
from wsl.features.video import iter_frames, probe, write_video

CLIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "hollywood2-clip"


def _video(tmp: Path) -> Path:
    clips = sorted(CLIP.glob("*.mp4")) if CLIP.is_dir() else []
    if clips:
        return clips[0]
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (250, 240, 320, 3), dtype=np.uint8)
    path = tmp / "generated.mp4"
    write_video(path, frames, 25)
    return path


def _best_of(fn, repeat: int = 2) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        video = _video(Path(tmp))
        info = probe(video)
        size = input_size(info.width, info.height, 224, 32, keep_aspect=True)
        fig: dict[str, object] = {"video": video.name, "duration_s": round(info.duration, 2),
                                  "size": [info.width, info.height], "trunk_input": list(size),
                                  "native_fps": info.fps, "threads": torch.get_num_threads(),
                                  "load_average": round(os.getloadavg()[0], 1)}
        trunk = load_trunk(ExtractConfig())
        for fps in (1.0, 2.0):
            decode = _best_of(lambda fps=fps: sum(1 for _ in iter_frames(video, fps=fps, size=size)))
            lite = _best_of(lambda fps=fps: extract_video(video, ExtractConfig(fps=fps), trunk))
            fig[f"decode_{fps:g}fps_realtime_x"] = round(info.duration / decode, 2)
            fig[f"lite0_{fps:g}fps_realtime_x"] = round(info.duration / lite, 2)
            fig[f"lite0_{fps:g}fps_over_decode"] = round(lite / decode, 2)
        classic = _best_of(lambda: extract_video(video, ExtractConfig(backbone="classic", fps=2.0)))
        fig["classic_2fps_realtime_x"] = round(info.duration / classic, 2)
    print(json.dumps(fig))


if __name__ == "__main__":
    main()
