"""Video stage of `wsl discover-steps` on real step structures: F1 against feature noise, and two baselines.

Step orders and durations are real (COIN tasks; the pancake videos of Mining-YouTube). Features are
generated from the ground truth (wsl.data.synth: x_t = mu[y_t] + noise * AR(1) noise + a per-video
offset, d = 64, 1 frame per second, background a class of its own) and narrations from the step
labels (wsl.data.synth_narration: 70 % of the steps done are narrated, before, during or after them,
10 % of the steps not done are narrated anyway). The text stage is taken as exact here: the video
stage is told which step each narration is about. Methods, scored with Alayrac's F1 (Hungarian
matching over all videos):

- ours: the video stage of wsl.steps (DIFFRAC + block pairwise Frank-Wolfe with the narration oracle, 10 s
  windows, each video in its own narrated order, steps it does not narrate placed only where the
  features pay for the evidence-scaled "not in this video" cost), rounded; narrations are kept
  whatever their order (the text stage keeps every mention);
- narration: each narrated step at the middle of its narration;
- uniform_k: the K known steps spread evenly over the video, in the canonical order (issue 13 baseline 1);
- uniform_own: each video's own annotated steps (an oracle of which steps it holds) spread evenly
  in their order (issue 13 baseline 2).

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
from wsl.data.segments import ActionVideo
from wsl.data.synth import features_from_labels
from wsl.data.synth_narration import canonical_steps, narrate
from wsl.eval.steps import step_f1
from wsl.solvers.narration import narration_baseline, uniform_baseline
from wsl.steps.text import video_order
from wsl.steps.video import localize_steps

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
COIN_TASKS = ("ChangeCarTire", "MakeMatchaTea", "AssembleOfficeChair", "ReplaceABulb", "MakeSandwich")
NOISES = (1.0, 2.0, 4.0, 8.0)
METHODS = ("ours", "narration", "uniform_k", "uniform_own")
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
    spans = [narrate(v, steps, rng, ordered=False) for v in videos]
    gold = {v.video: ActionVideo(v.video, v.duration, tuple(s for s in v.segments if s.label in steps))
            for v in videos}
    t = time.perf_counter()
    orders = [video_order([None if s is None else _Said(*s) for s in sp], list(range(K))) for sp in spans]
    model = localize_steps([feats[v.video] for v in videos], [FPS] * len(videos), spans, orders,
                           [v.video for v in videos], window=10.0, at_most_once=at_most_once, seed=seed)
    secs = time.perf_counter() - t
    preds = {
        "ours": {v.video: model.times_[i] for i, v in enumerate(videos)},
        "narration": {v.video: narration_baseline(spans[i], v.duration) for i, v in enumerate(videos)},
        "uniform_k": {v.video: uniform_baseline(K, v.duration) for v in videos},
        "uniform_own": {v.video: _own_uniform(v, steps) for v in videos},
    }
    out = {name: step_f1(p, gold).f1 for name, p in preds.items()}
    out["seconds"] = secs
    out["gap"] = float(model.result_.gap) / max(abs(float(model.result_.fun)), 1e-300)
    out["placed"] = float(np.mean([np.isfinite(t).mean() for t in model.times_]))
    out["K"] = K
    return out


class _Said:
    """A narration span as the text stage's order function reads it."""

    def __init__(self, start: float, end: float):
        self.start, self.end = start, end


def _own_uniform(v: ActionVideo, steps: list[str]) -> np.ndarray:
    """Each video's own steps (first occurrence, in its order) spread evenly; the others not placed."""
    own: list[str] = []
    for s in v.segments:
        if s.label in steps and s.label not in own:
            own.append(s.label)
    out = np.full(len(steps), np.nan)
    for j, lab in enumerate(own):
        out[steps.index(lab)] = (j + 0.5) / len(own) * v.duration
    return out


def main() -> None:
    quick = "--quick" in sys.argv
    sets = _sets()
    noises = NOISES[1:2] if quick else NOISES
    t0 = time.perf_counter()
    table: dict[str, dict[str, list[float]]] = {}
    for name, videos in sets.items():
        rows = [_run(videos, nz, seed=0) for nz in noises]
        table[name] = {m: [round(r[m], 3) for r in rows] for m in METHODS}
        table[name]["K"] = rows[0]["K"]
        table[name]["videos"] = len(videos)
        table[name]["fit_seconds"] = round(float(np.mean([r["seconds"] for r in rows])), 2)
        table[name]["max_rel_gap"] = float(f"{max(r['gap'] for r in rows):.1e}")
        table[name]["placed_share"] = round(float(np.mean([r["placed"] for r in rows])), 3)
    mean = {m: [round(float(np.mean([table[s][m][i] for s in table])), 3) for i in range(len(noises))]
            for m in METHODS}
    once = [_run(v, noises[0], seed=0, at_most_once=False)["ours"] for v in sets.values()]
    print(json.dumps({
        "benchmark": "discover-steps video stage", "noise": list(noises), "mean_f1": mean,
        "ratio_vs_narration": [round(a / b, 2) if b else None for a, b in zip(mean["ours"], mean["narration"],
                                                                            strict=True)],
        "ratio_vs_uniform_own": [round(a / b, 2) if b else None for a, b in zip(mean["ours"], mean["uniform_own"],
                                                                              strict=True)],
        "beats_uniform_k_on_every_set": [all(table[s]["ours"][i] > table[s]["uniform_k"][i] for s in table)
                                         for i in range(len(noises))],
        f"ours_each_step_once_f1_at_noise_{noises[0]:g}": round(float(np.mean(once)), 3),
        "sets": table, "dim": 64, "fps": FPS, "window_s": 10.0, "p_narrate": 0.7, "p_false": 0.1,
        "wall_seconds": round(time.perf_counter() - t0, 1),
    }))


if __name__ == "__main__":
    main()
