"""Video stage of `wsl discover-steps` on real step structures: F1 against feature noise, and two baselines.

Step orders and durations are real (COIN tasks; the pancake videos of Mining-YouTube). Features are
generated from the ground truth (wsl.data.synth: x_t = mu[y_t] + noise * AR(1) noise + a per-video
offset, d = 64, 1 frame per second, background a class of its own) and narrations from the step
labels (wsl.data.narrations: 70 % of the steps done are narrated, before, during or after them,
10 % of the steps not done are narrated anyway). The text stage is taken as exact here: the video
stage is told which step each narration is about. Methods, scored with Alayrac's F1 (Hungarian
matching over all videos):

- ours: DIFFRAC + block Frank-Wolfe with the narration oracle (10 s windows), rounded;
- narration: each narrated step at the middle of its narration;
- uniform: the K steps spread evenly over the video.

Prints one JSON line. Run: python benchmarks/bench_discover_steps.py [--quick]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from wsl.data.coin import read_coin
from wsl.data.mining_youtube import read_mining_youtube
from wsl.data.narrations import canonical_steps, narrate
from wsl.data.segments import ActionVideo
from wsl.data.synth import features_from_labels
from wsl.eval.steps import step_f1
from wsl.solvers.narration import StepLocalizer, narration_baseline, uniform_baseline

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
COIN_TASKS = ("ChangeCarTire", "MakeMatchaTea", "AssembleOfficeChair", "ReplaceABulb", "MakeSandwich")
NOISES = (1.0, 2.0, 4.0, 8.0)
FPS = 1.0
MAX_VIDEOS = 30


def _sets() -> dict[str, list[ActionVideo]]:
    coin = read_coin(DATA / "coin" / "coin_train_70.json")
    sets = {f"coin/{t}": [v for v in coin if v.task == t][:MAX_VIDEOS] for t in COIN_TASKS}
    myt = read_mining_youtube(DATA / "mining-youtube" / "test" / "annotations.tar.gz")
    sets["mining-youtube/pancake"] = [v for v in myt if "flip_pancake" in v.transcript][:MAX_VIDEOS]
    return {k: v for k, v in sets.items() if len(v) >= 5}


def _run(videos: list[ActionVideo], noise: float, seed: int, at_most_once: bool = True) -> dict[str, float]:
    steps = canonical_steps(videos, min_videos=max(2, len(videos) // 4), max_steps=10)
    K = len(steps)
    feats = features_from_labels({v.video: v.frames(FPS) for v in videos}, dim=64, noise=noise, rho=0.7,
                                 video_noise=0.5, seed=seed)
    rng = np.random.default_rng(seed)
    spans = [narrate(v, steps, rng) for v in videos]
    gold = {v.video: ActionVideo(v.video, v.duration, tuple(s for s in v.segments if s.label in steps))
            for v in videos}
    t = time.perf_counter()
    model = StepLocalizer(window=10.0, at_most_once=at_most_once, seed=seed)
    model.fit([feats[v.video] for v in videos], FPS, spans, K, [v.video for v in videos])
    secs = time.perf_counter() - t
    preds = {
        "ours": {v.video: model.times_[i] for i, v in enumerate(videos)},
        "narration": {v.video: narration_baseline(spans[i], v.duration) for i, v in enumerate(videos)},
        "uniform": {v.video: uniform_baseline(K, v.duration) for v in videos},
    }
    out = {name: step_f1(p, gold).f1 for name, p in preds.items()}
    out["seconds"] = secs
    out["K"] = K
    return out


def main() -> None:
    quick = "--quick" in sys.argv
    sets = _sets()
    noises = NOISES[1:2] if quick else NOISES
    t0 = time.perf_counter()
    table: dict[str, dict[str, list[float]]] = {}
    for name, videos in sets.items():
        rows = [_run(videos, nz, seed=0) for nz in noises]
        table[name] = {m: [round(r[m], 3) for r in rows] for m in ("ours", "narration", "uniform")}
        table[name]["K"] = rows[0]["K"]
        table[name]["videos"] = len(videos)
        table[name]["fit_seconds"] = round(float(np.mean([r["seconds"] for r in rows])), 2)
    mean = {m: [round(float(np.mean([table[s][m][i] for s in table])), 3) for i in range(len(noises))]
            for m in ("ours", "narration", "uniform")}
    once = [_run(v, noises[0], seed=0, at_most_once=False)["ours"] for v in sets.values()]
    print(json.dumps({
        "benchmark": "discover-steps video stage", "noise": list(noises), "mean_f1": mean,
        "ratio_vs_narration": [round(a / b, 2) if b else None for a, b in zip(mean["ours"], mean["narration"],
                                                                            strict=True)],
        f"ours_each_step_once_f1_at_noise_{noises[0]:g}": round(float(np.mean(once)), 3),
        "sets": table, "dim": 64, "fps": FPS, "window_s": 10.0, "p_narrate": 0.7, "p_false": 0.1,
        "wall_seconds": round(time.perf_counter() - t0, 1),
    }))


if __name__ == "__main__":
    main()
