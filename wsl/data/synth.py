"""Features generated from frame labels, for benchmarks and tests of the solvers.

No visual features can be had offline, so the solvers are measured on real label structures
(orders and durations from COIN or Mining-YouTube ground truth) with features drawn from the
labels under this stated noise model:

    x_t = mu[y_t] + noise * e_t + video_noise * u_v,   mu[k] ~ N(0, I_d),  u_v ~ N(0, I_d),
    e_t = rho e_{t-1} + sqrt(1 - rho^2) n_t,  n_t ~ N(0, I_d)   (unit-variance AR(1) noise in time).

``noise`` sets how separable the classes are frame by frame; ``rho`` makes the noise smooth in
time (as real per-frame features are); ``video_noise`` shifts a whole video (camera, lighting).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from wsl.data.segments import BACKGROUND, ActionVideo, Segment


def features_from_labels(frames: Mapping[str, Sequence[str]], dim: int = 64, noise: float = 1.0, rho: float = 0.0,
                         video_noise: float = 0.0, seed: int = 0) -> dict[str, np.ndarray]:
    """(T, dim) float32 features per video from its per-frame labels (see the module's noise model)."""
    rng = np.random.default_rng(seed)
    classes = sorted({lab for labs in frames.values() for lab in labs})
    mu = rng.standard_normal((len(classes), dim))
    index = {c: i for i, c in enumerate(classes)}
    out: dict[str, np.ndarray] = {}
    for vid in sorted(frames):
        y = np.array([index[lab] for lab in frames[vid]])
        n = rng.standard_normal((len(y), dim))
        if rho > 0:
            e = np.empty_like(n)
            e[0] = n[0]
            a = np.sqrt(1.0 - rho * rho)
            for t in range(1, len(y)):
                e[t] = rho * e[t - 1] + a * n[t]
            n = e
        x = mu[y] + noise * n + video_noise * rng.standard_normal(dim)
        out[vid] = x.astype(np.float32)
    return out


def densify(video: ActionVideo, margin: float = 0.0) -> ActionVideo:
    """The same actions with the gaps between them closed (each segment runs to the next start),
    cropped to ``margin`` seconds of background before the first and after the last: the
    Breakfast-like case where background is rare."""
    segs = video.segments
    start = max(0.0, segs[0].start - margin)
    out = []
    for i, s in enumerate(segs):
        end = segs[i + 1].start if i + 1 < len(segs) else s.end
        out.append(Segment(s.label, s.start - start, max(end, s.start + 1e-3) - start, s.source))
    return ActionVideo(video.video, out[-1].end + margin, tuple(out), video.task)


def random_action_frames(n_videos: int = 30, n_tasks: int = 3, steps: int = 4, mean_length: int = 12,
                         background: float = 0.0, drop: float = 0.2, seed: int = 0) -> dict[str, list[str]]:
    """Per-frame labels of made-up videos: each task has ordered steps (``task_step``), a video does
    its task's steps in order, each skipped with probability ``drop``; each step has its own typical
    length (``mean_length`` times a factor in [0.25, 2.5]), so spreading a transcript evenly is a poor
    guess; ``background`` is the expected share of background frames (between steps)."""
    rng = np.random.default_rng(seed)
    factor = rng.uniform(0.25, 2.5, size=(n_tasks, steps))
    out: dict[str, list[str]] = {}
    for v in range(n_videos):
        task = v % n_tasks
        kept = [k for k in range(steps) if rng.random() >= drop] or [int(rng.integers(steps))]
        frames: list[str] = []
        for k in kept:
            if background > 0:
                gap = int(rng.poisson(mean_length * background / (1 - background)))
                frames += [BACKGROUND] * gap
            frames += [f"t{task}_s{k}"] * max(1, int(rng.poisson(mean_length * factor[task, k])))
        out[f"v{v:03d}"] = frames
    return out


def uniform_frames(transcript: Sequence[str], n_frames: int) -> list[str]:
    """The transcript spread evenly over the video: the baseline any method must beat."""
    L = len(transcript)
    return [transcript[min(i * L // n_frames, L - 1)] for i in range(n_frames)]


__all__ = ["BACKGROUND", "densify", "features_from_labels", "random_action_frames", "uniform_frames"]
