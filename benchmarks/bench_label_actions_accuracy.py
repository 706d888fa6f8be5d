"""Benchmark 3: frame accuracy of `label-actions` on real label structures with generated features.

Structures: COIN (10 tasks x 10 videos of coin_train_70.json, 2 fps) with the gaps between steps
closed and 3 s of "SIL" before and after (background rare, Breakfast-like; SIL is listed in the
transcripts), and Mining-YouTube (100 test videos, 1 fps, background 54% of the frames, not
listed). Features: wsl.data.synth.features_from_labels (class means N(0, I_64) + noise * AR(1)
Gaussian noise with rho, per frame). For each noise level: the uniform baseline, the supervised
bound (ridge classifier fit on the true labels + the same ordering DP), the convex method alone
(DIFFRAC + FW + rounding, Bojanowski 2014) and the default method. One JSON line.

    python benchmarks/bench_label_actions_accuracy.py [--data ../shared/data] [--noise 2 4 6] [--rho 0]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from wsl.data.coin import read_coin
from wsl.data.mining_youtube import read_mining_youtube
from wsl.data.segments import transcript_of
from wsl.data.synth import densify, features_from_labels, uniform_frames
from wsl.eval.actions import frame_accuracy, mean_iou
from wsl.actions import OrderingLabeler, supervised_bound


def coin_structure(path: Path, tasks: int = 10, per_task: int = 10, fps: float = 2.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    by: dict[str, list] = {}
    for v in read_coin(path):
        by.setdefault(v.task, []).append(v)
    names = sorted(t for t in by if len(by[t]) >= per_task)
    chosen = [names[i] for i in rng.choice(len(names), tasks, replace=False)]
    return {v.video: densify(v, 3.0).frames(fps, "SIL")
            for t in chosen for v in (by[t][i] for i in rng.choice(len(by[t]), per_task, replace=False))}


def run(frames: dict[str, list[str]], noise: float, rho: float, share: float, seed: int) -> dict[str, float]:
    X = features_from_labels(frames, 64, noise, rho=rho, seed=seed)
    tr = {v: transcript_of(f) for v, f in frames.items()}
    out = {"noise": noise,
           "uniform": frame_accuracy({v: uniform_frames(tr[v], len(f)) for v, f in frames.items()}, frames),
           "supervised": frame_accuracy(supervised_bound(X, frames, tr), frames),
           "convex_only": frame_accuracy(OrderingLabeler(refine=0).fit(X, tr).labels_, frames)}
    t = time.perf_counter()
    m = OrderingLabeler(background_share=share, seed=seed).fit(X, tr)
    out["ours"] = frame_accuracy(m.labels_, frames)
    out["ours_iou"] = mean_iou(m.labels_, frames)
    out["ours_seconds"] = time.perf_counter() - t
    return {k: round(v, 3) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--noise", type=float, nargs="+", default=[2.0, 4.0, 6.0])
    ap.add_argument("--rho", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    coin = coin_structure(a.data / "coin" / "coin_train_70.json")
    my = {v.video: v.frames(1.0) for v in read_mining_youtube(a.data / "mining-youtube" / "test" /
                                                              "annotations.tar.gz")[:100]}
    res = {"benchmark": "label_actions_accuracy", "rho": a.rho, "features": "N(0,I_64) class means + noise * AR(1)",
           "coin_dense": {"videos": len(coin), "frames": sum(map(len, coin.values())),
                          "runs": [run(coin, s, a.rho, 0.0, a.seed) for s in a.noise]},
           "mining_youtube": {"videos": len(my), "frames": sum(map(len, my.values())),
                              "background_frames": round(float(np.mean([f == "background" for fs in my.values()
                                                                        for f in fs])), 3),
                              "background_share_option": 0.5,
                              "runs": [run(my, s, a.rho, 0.5, a.seed) for s in a.noise]}}
    print(json.dumps(res))


if __name__ == "__main__":
    main()
