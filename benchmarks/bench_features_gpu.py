"""GPU throughput of the feature layer's default trunk (EfficientNet-Lite0): frames/s at batch 64, bf16,
channels_last, against float32 in the same process; then `wsl features extract` end to end on demo videos.
Prints one JSON line; skips cleanly (a JSON line saying so) without CUDA.
Run: python benchmarks/bench_features_gpu.py
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path


def _rate(trunk, x, steps: int, bf16: bool) -> float:
    import torch

    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
        for _ in range(3):
            trunk(x)
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(steps):
            trunk(x)
        torch.cuda.synchronize()
    return steps * x.shape[0] / (time.perf_counter() - t)


def main() -> None:
    import torch

    if not torch.cuda.is_available():
        print(json.dumps({"bench": "features_gpu", "skipped": "no CUDA"}))
        return
    from wsl.features.pretrained import load_pretrained

    trunk = load_pretrained("lite0").cuda().eval().to(memory_format=torch.channels_last)
    x = torch.randn(64, 3, 224, 224, device="cuda").contiguous(memory_format=torch.channels_last)
    fig = {"bench": "features_gpu", "device": torch.cuda.get_device_name(0), "batch": 64, "size": 224,
           "bf16_frames_per_s": round(_rate(trunk, x, 30, True), 1),
           "fp32_frames_per_s": round(_rate(trunk, x, 30, False), 1)}
    fig["bf16_over_fp32"] = round(fig["bf16_frames_per_s"] / fig["fp32_frames_per_s"], 2)
    with tempfile.TemporaryDirectory() as tmp:
        from wsl.data.photos import make_photo_videos
        from wsl.features import extract
        from wsl.features.video import iter_frames, probe

        videos = make_photo_videos(Path(tmp) / "v", count=4, seconds=30, fps=25, size=(320, 240))
        seconds = sum(probe(v).duration for v in videos)
        t = time.perf_counter()
        for v in videos:
            sum(1 for _ in iter_frames(v, fps=2.0, size=(320, 224)))
        decode = time.perf_counter() - t
        t = time.perf_counter()
        extract(videos, Path(tmp) / "f", fps=2.0, batch_size=64, device="cuda")
        total = time.perf_counter() - t
        fig.update(video_seconds=round(seconds, 1), extract_realtime_x=round(seconds / total, 1),
                   decode_only_realtime_x=round(seconds / decode, 1))
    print(json.dumps(fig))


if __name__ == "__main__":
    main()
