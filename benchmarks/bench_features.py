"""Throughput of `wsl features extract` on CPU: decoding alone (the baseline) and the classic descriptor.

Uses the real Hollywood2 clip when ../shared/data is there, else a generated 10 s video. Prints one
JSON line: video seconds processed per wall second (real-time factor) for decode-only at the native
rate, and for the classic descriptor at 2 and 10 fps.
Run: python benchmarks/bench_features.py
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from wsl.features import classic
from wsl.features.extract import ExtractConfig, extract
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


def _best_of(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        video = _video(Path(tmp))
        info = probe(video)
        decode_s = _best_of(lambda: sum(1 for _ in iter_frames(video, size=classic.WORK_SIZE)))
        fig = {"video": video.name, "duration_s": info.duration, "size": [info.width, info.height],
               "native_fps": info.fps, "decode_realtime_x": info.duration / decode_s}
        for fps in (2.0, 10.0):
            s = _best_of(lambda fps=fps: extract(video, ExtractConfig(fps=fps)))
            fig[f"classic_{fps:g}fps_realtime_x"] = info.duration / s
            fig[f"classic_{fps:g}fps_over_decode"] = s / decode_s
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in fig.items()}))


if __name__ == "__main__":
    main()
