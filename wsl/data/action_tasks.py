"""Converters from timed action annotations (COIN JSON, Mining-YouTube .srt) to the inputs of
`wsl label-actions` (transcripts JSON) and per-frame ground truth (MS-TCN ``<video>.txt`` files),
and the sample data of `wsl demo-data actions` / `wsl demo-data cluster`.

Sample features are generated from the labels under the noise model of :mod:`wsl.data.synth`
(stated there): the label structures are real, the features are not.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from wsl.data.segments import BACKGROUND, ActionVideo


def annotations_to_task(videos: Sequence[ActionVideo], fps: float) -> tuple[dict[str, list[str]],
                                                                              dict[str, list[str]]]:
    """(transcripts {video: ordered actions}, per-frame ground truth {video: labels at ``fps``})."""
    return ({v.video: v.transcript for v in videos if v.segments},
            {v.video: v.frames(fps) for v in videos if v.segments})


def read_annotations(source: str | os.PathLike[str], limit: int | None = None,
                     task: str | None = None, by_task: bool = False) -> list[ActionVideo]:
    """COIN JSON (a ``.json`` file) or Mining-YouTube annotations (a folder of ``.srt`` or the
    ``annotations.tar.gz``), the first ``limit`` videos with at least two segments; ``by_task``: the
    videos of one task together first (bags then share labels, as one task's videos do)."""
    source = Path(source)
    if source.suffix == ".json":
        from wsl.data.coin import read_coin

        vids = read_coin(source, task)
    else:
        from wsl.data.mining_youtube import read_mining_youtube

        vids = read_mining_youtube(source)
    vids = [v for v in vids if len(v.segments) >= 2]
    if by_task:
        vids = sorted(vids, key=lambda v: v.task or "")  # stable: the file's order inside a task
    return vids[:limit] if limit else vids


def write_action_task(out: str | os.PathLike[str], videos: Sequence[ActionVideo], fps: float = 1.0,
                      features: bool = True, noise: float = 2.0, dim: int = 32, seed: int = 0) -> dict[str, Path]:
    """Write ``transcripts.json``, ``gt/<video>.txt`` (MS-TCN layout, one label per frame) and, with
    ``features``, ``feats/<video>.npy`` drawn from the labels; returns the paths."""
    from wsl.data.framelabels import write_frame_labels
    from wsl.data.synth import features_from_labels
    from wsl.io import save_npy, write_json

    out = Path(out)
    (out / "gt").mkdir(parents=True, exist_ok=True)
    transcripts, frames = annotations_to_task(videos, fps)
    write_json(out / "transcripts.json", transcripts)
    for v, labs in frames.items():
        write_frame_labels(out / "gt" / f"{v}.txt", labs)
    paths = {"transcripts": out / "transcripts.json", "ground_truth": out / "gt"}
    if features:
        (out / "feats").mkdir(exist_ok=True)
        for v, x in features_from_labels(frames, dim=dim, noise=noise, seed=seed).items():
            save_npy(out / "feats" / f"{v}.npy", x)
        paths["features"] = out / "feats"
    return paths


def annotation_bags(videos: Sequence[ActionVideo], window: int = 0, dim: int = 32, noise: float = 1.0,
                    seed: int = 0) -> tuple[np.ndarray, list[dict[str, object]], list[str]]:
    """Bags from real annotations: each annotated segment is a sample, one bag per video (or per
    ``window`` consecutive segments, a "scene") listing the labels of its samples. Features:
    x = mu_label + o_bag + noise * e, mu ~ N(0, I_dim), o_bag ~ N(0, 0.5^2 I_dim), e ~ N(0, I_dim).
    Returns (features (N, dim) float32, bags, gold labels), the shape of `wsl cluster`'s inputs."""
    rng = np.random.default_rng(seed)
    gold: list[str] = []
    bags: list[dict[str, object]] = []
    of_bag: list[int] = []
    for v in videos:
        segs = [s.label for s in v.segments if s.label != BACKGROUND]
        step = window if window > 0 else max(len(segs), 1)
        for a in range(0, len(segs), step):
            chunk = segs[a:a + step]
            name = v.video if step >= len(segs) else f"{v.video}#{a // step}"
            bags.append({"name": name, "samples": list(range(len(gold), len(gold) + len(chunk))),
                         "labels": sorted(set(chunk))})
            of_bag += [len(bags) - 1] * len(chunk)
            gold += chunk
    classes = sorted(set(gold))
    index = {c: i for i, c in enumerate(classes)}
    mu = rng.standard_normal((len(classes), dim))
    off = 0.5 * rng.standard_normal((max(len(bags), 1), dim))
    y = np.array([index[g] for g in gold], dtype=np.int64)
    X = mu[y] + off[np.asarray(of_bag, dtype=np.int64)] + noise * rng.standard_normal((len(gold), dim))
    return X.astype(np.float32), bags, gold


def face_track_bags(n_scenes: int = 40, cast: int = 12, tracks_per_scene: tuple[int, int] = (3, 9),
                    names_per_scene: tuple[int, int] = (1, 4), dim: int = 32, noise: float = 1.0,
                    unnamed: float = 0.15, seed: int = 0) -> tuple[np.ndarray, list[dict[str, object]], list[str]]:
    """The face-track shape: many short tracks per scene, few names per scene, a long-tailed cast
    (Zipf-like), some tracks of people the script does not name (background). Returns
    (features (N, dim) float32, bags, gold labels)."""
    rng = np.random.default_rng(seed)
    names = [f"person{i:02d}" for i in range(cast)]
    pop = 1.0 / np.arange(1, cast + 1)
    pop /= pop.sum()
    mu = rng.standard_normal((cast + 1, dim)) * 1.5
    X: list[np.ndarray] = []
    gold: list[str] = []
    bags: list[dict[str, object]] = []
    for s in range(n_scenes):
        k = int(rng.integers(names_per_scene[0], names_per_scene[1] + 1))
        who = rng.choice(cast, size=min(k, cast), replace=False, p=pop)
        n = int(rng.integers(max(tracks_per_scene[0], len(who)), tracks_per_scene[1] + 1))
        ys = list(who) + list(rng.choice(who, size=n - len(who)))
        ys = [cast if rng.random() < unnamed and j >= len(who) else int(y) for j, y in enumerate(ys)]
        rng.shuffle(ys)
        start = len(gold)
        for y in ys:
            X.append(mu[y] + noise * rng.standard_normal(dim))
            gold.append(BACKGROUND if y == cast else names[y])
        bags.append({"name": f"scene{s:03d}", "samples": list(range(start, len(gold))),
                     "labels": sorted({names[y] for y in who})})
    return np.asarray(X, dtype=np.float32), bags, gold
