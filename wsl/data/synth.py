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


def uniform_frames(transcript: Sequence[str], n_frames: int) -> list[str]:
    """The transcript spread evenly over the video: the baseline any method must beat."""
    L = len(transcript)
    return [transcript[min(i * L // n_frames, L - 1)] for i in range(n_frames)]


__all__ = ["BACKGROUND", "densify", "features_from_labels", "uniform_frames"]
