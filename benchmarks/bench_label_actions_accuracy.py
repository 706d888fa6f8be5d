"""Benchmark 3: frame accuracy of `label-actions` on real label structures with generated features.

Structures (real orders and durations, generated features):
- ``breakfast_like``: COIN (10 tasks x 10 videos of coin_train_70.json, 2 fps) with the gaps between
  steps closed and 3 s of "SIL" before and after, SIL listed in the transcripts (background rare and
  where the transcript says);
- ``breakfast_unlisted``: the same frames, SIL left out of the transcripts (so background may fall
  between any two actions and its share must be chosen: little is right);
- ``coin_like``: the same COIN videos as annotated (the gaps between steps are background, not listed:
  background-heavy);
- ``mining_youtube``: 100 test videos at 1 fps (background not listed, about half the frames).
Features: wsl.data.synth.features_from_labels (class means N(0, I_64) + noise * AR(1) Gaussian noise
with rho, per frame). For each noise level: the uniform baseline, the supervised bound (ridge classifier
fit on the true labels + the same ordering DP), the convex method alone (DIFFRAC + FW + rounding,
Bojanowski 2014; ``--convex``), the default method with the background share chosen from the data
(``auto``, with the share it chose) and with the share given (``given``). One JSON line.

    python benchmarks/bench_label_actions_accuracy.py [--data ../shared/data] [--noise 2 4 6] [--rho 0]
        [--structures breakfast_like coin_like ...] [--convex breakfast_like ...]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from wsl.actions import OrderingLabeler, supervised_bound
from wsl.data.coin import sample_coin_tasks
from wsl.data.mining_youtube import read_mining_youtube
from wsl.data.segments import BACKGROUND, transcript_of
from wsl.data.synth import densify, features_from_labels, uniform_frames
from wsl.eval.actions import frame_accuracy, mean_iou
from wsl.progress import Status

#: the share given to the ``given`` run of each structure (what a user who knows the data would set)
GIVEN = {"breakfast_like": 0.0, "breakfast_unlisted": 0.0, "coin_like": 0.5, "mining_youtube": 0.5}



def structures(data: Path, wanted: list[str]) -> dict[str, tuple[dict[str, list[str]], dict[str, list[str]]]]:
    """name -> (per-frame gold labels, transcripts)."""
    coin = sample_coin_tasks(data / "coin" / "coin_train_70.json")
    out = {}
    if "breakfast_like" in wanted:
        f = {v.video: densify(v, 3.0).frames(2.0, "SIL") for v in coin}
        out["breakfast_like"] = (f, {v: transcript_of(x) for v, x in f.items()})
    if "breakfast_unlisted" in wanted:
        f = {v.video: densify(v, 3.0).frames(2.0) for v in coin}
        out["breakfast_unlisted"] = (f, {v: transcript_of(x) for v, x in f.items()})
    if "coin_like" in wanted:
        f = {v.video: v.frames(2.0) for v in coin}
        out["coin_like"] = (f, {v: transcript_of(x) for v, x in f.items()})
    if "mining_youtube" in wanted:
        my = read_mining_youtube(data / "mining-youtube" / "test" / "annotations.tar.gz")[:100]
        f = {v.video: v.frames(1.0) for v in my}
        out["mining_youtube"] = (f, {v: transcript_of(x) for v, x in f.items()})
    return out


def run(name: str, frames: dict[str, list[str]], tr: dict[str, list[str]], noise: float, rho: float, seed: int,
        convex: bool) -> dict[str, object]:
    X = features_from_labels(frames, 64, noise, rho=rho, seed=seed)
    out: dict[str, object] = {
        "noise": noise,
        "uniform": frame_accuracy({v: uniform_frames(tr[v], len(f)) for v, f in frames.items()}, frames),
        "supervised": frame_accuracy(supervised_bound(X, frames, tr), frames)}
    if convex:
        out["convex_only"] = frame_accuracy(OrderingLabeler(refine=0).fit(X, tr).labels_, frames)
    t = time.perf_counter()
    m = OrderingLabeler(seed=seed).fit(X, tr)
    out["auto_seconds"] = time.perf_counter() - t
    out["auto"] = frame_accuracy(m.labels_, frames)
    out["auto_iou"] = mean_iou(m.labels_, frames)
    out["auto_share"] = m.background_share_
    out["auto_gaps"] = m.gaps_
    if m.gaps_:  # the share matters only where background may fall between actions
        t = time.perf_counter()
        g = OrderingLabeler(background_share=GIVEN[name], seed=seed).fit(X, tr)
        out["given_seconds"] = time.perf_counter() - t
        out["given_share"] = GIVEN[name]
        out["given"] = frame_accuracy(g.labels_, frames)
        out["given_iou"] = mean_iou(g.labels_, frames)
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()}


def main() -> None:
    names = list(GIVEN)
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--noise", type=float, nargs="+", default=[2.0, 4.0, 6.0])
    ap.add_argument("--rho", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--structures", nargs="+", default=names, choices=names)
    ap.add_argument("--convex", nargs="*", default=["breakfast_like"], choices=names,
                    help="structures that also get the convex-only column (slow on Mining-YouTube)")
    a = ap.parse_args()
    res: dict[str, object] = {"benchmark": "label_actions_accuracy", "rho": a.rho,
                              "features": "N(0,I_64) class means + noise * AR(1)"}
    with Status("benchmark") as st:
        for name, (frames, tr) in structures(a.data, a.structures).items():
            runs = []
            for s in a.noise:
                st.update(f"{name} noise {s}")
                runs.append(run(name, frames, tr, s, a.rho, a.seed, name in a.convex))
            res[name] = {"videos": len(frames), "frames": sum(map(len, frames.values())),
                         "background_frames": round(float(np.mean([f in (BACKGROUND, "SIL") for fs in frames.values()
                                                                   for f in fs])), 3),
                         "runs": runs}
    print(json.dumps(res))


if __name__ == "__main__":
    main()
