"""discover-steps end to end, text stage included: F1 per set at one feature-noise level, with both baselines.

Real step structures (COIN tasks; the pancake videos of Mining-YouTube) are written as task folders
(wsl.steps.demo.write_task_folder): features drawn from the labels (d = 64, 1 fps, AR(1) noise
rho 0.7 scaled by ``--noise``, per-video offset 0.5) and .srt narration spoken from sentence
templates ("Next, I {step}."), announced before, during or after the step, 70 % of done steps said,
10 % of steps not done said plainly anyway, and in half of the videos a step not done mentioned
negated or hypothetically ("Some people {step} but I don't.", "You could also {step}."), with
chatter. Then ``wsl.discover_steps`` runs as a user would run it (spaCy text stage, K from the
support curve, paraphrases merged through the sentence encoder when it is installed; ``--no-paraphrases``
merges identical keys only) and its times are scored with
Alayrac's F1 against the annotation (Hungarian matching of discovered to annotated steps).
Baselines: uniform_k (the K annotated steps spread evenly in their usual order) and uniform_own
(each video's own annotated steps spread evenly: an oracle of which steps it holds).

Prints one JSON line. Run: python benchmarks/bench_discover_steps_text.py --noise 2 [--videos 12]
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time

import numpy as np
from bench_discover_steps import _own_uniform, _sets

import wsl
from wsl.data.segments import ActionVideo
from wsl.data.synth_narration import canonical_steps
from wsl.eval.steps import step_f1
from wsl.solvers.narration import uniform_baseline
from wsl.steps.demo import write_task_folder

METHODS = ("ours", "uniform_k", "uniform_own")


def _run(videos: list[ActionVideo], noise: float, seed: int, paraphrases: bool | None) -> dict[str, float]:
    steps = canonical_steps(videos, min_videos=max(2, len(videos) // 4), max_steps=10)
    gold = {v.video: ActionVideo(v.video, v.duration, tuple(s for s in v.segments if s.label in steps))
            for v in videos}
    with tempfile.TemporaryDirectory() as tmp:
        write_task_folder(tmp, videos, steps, noise=noise, dim=64, rho=0.7, video_noise=0.5, p_narrate=0.7,
                          p_false=0.1, p_not_done=0.5, seed=seed)
        t = time.perf_counter()
        res = wsl.discover_steps(tmp, paraphrases=paraphrases, seed=seed)
        secs = time.perf_counter() - t
    ours = {name: np.array([np.nan if s.time is None else s.time for s in v.steps]) for name, v in res.videos.items()}
    preds = {"ours": ours,
             "uniform_k": {v.video: uniform_baseline(len(steps), v.duration) for v in videos},
             "uniform_own": {v.video: _own_uniform(v, steps) for v in videos}}
    out: dict[str, float] = {m: step_f1(p, gold).f1 for m, p in preds.items()}
    out.update(seconds=secs, K=len(res.steps), K_true=len(steps),
               rel_gap=float(f'{res.solver["relative_gap"]:.2e}') if res.solver else float("nan"),
               converged=bool(res.solver["converged"]) if res.solver else False,
               iterations=int(res.solver["iterations"]) if res.solver else 0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--noise", type=float, default=2.0)
    ap.add_argument("--videos", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0, help="seed of the synthetic data and of the solver")
    ap.add_argument("--no-paraphrases", action="store_true",
                    help="merge identical verb-object keys only (default: the library's, the encoder when installed)")
    a = ap.parse_args()
    logging.getLogger("wsl").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    para = False if a.no_paraphrases else None
    table = {name: _run(v[: a.videos], a.noise, a.seed, para) for name, v in _sets().items()}
    mean = {m: round(float(np.mean([r[m] for r in table.values()])), 3) for m in METHODS}
    print(json.dumps({
        "benchmark": "discover-steps with the spaCy text stage", "noise": a.noise, "seed": a.seed,
        "videos_per_set": a.videos,
        "paraphrases": "off" if a.no_paraphrases else "library default",
        "mean_f1": mean, "ratio_vs_uniform_own": round(mean["ours"] / mean["uniform_own"], 2),
        "ratio_vs_uniform_k": round(mean["ours"] / mean["uniform_k"], 2),
        "beats_uniform_k_on_every_set": all(r["ours"] > r["uniform_k"] for r in table.values()),
        "converged_sets": sum(bool(r["converged"]) for r in table.values()),
        "sets": {k: {m: round(v, 3) if isinstance(v, float) and m != "rel_gap" else v for m, v in r.items()}
                 for k, r in table.items()},
        "wall_seconds": round(time.perf_counter() - t0, 1)}))


if __name__ == "__main__":
    main()
