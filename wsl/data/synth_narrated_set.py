"""A generated narrated-video set with a known misalignment between speech and action (MIL-NCE benchmark).

Each video is a sequence of action segments; an action is a (verb, object) pair and its clip features are
``verb prototype + object prototype + video background + per-frame noise``, so a model has to learn
words, not whole sentences. Narration is what makes it weak supervision:

- a narrated action's caption is spoken ``shift ~ Normal(shift_mean, shift_std)`` seconds away from the
  middle of its segment, so the caption nearest a clip is often about a neighbouring action;
- a share ``unrelated`` of the captions is talk about nothing on screen ("so guys subscribe");
- a share ``unnarrated`` of the actions is never mentioned.

The test split additionally has gold (clip, sentence) pairs: each segment with the clean sentence
"verb the object", for text-to-video retrieval and step localisation. Written in the HowTo100M layout.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wsl.io import write_json, write_text

VERBS = ("crack pour whisk slice peel fold stir grate season knead rinse spread fry chop roll melt").split()
OBJECTS = ("egg milk flour onion garlic butter cheese tomato dough sugar carrot pepper rice lemon bread oil").split()
FILLER = ("so okay guys today really just like you know um now then we gonna going little bit basically actually "
          "right here there this that subscribe channel video thanks watching hello welcome yeah well").split()


@dataclass(frozen=True)
class NarratedSetParams:
    """Every knob of the generator; recorded in ``params.json`` beside the data."""

    train_videos: int = 300
    test_videos: int = 30
    verbs: int = 10
    objects: int = 10
    segments: tuple[int, int] = (6, 10)  # actions per video, inclusive range
    segment_seconds: tuple[float, float] = (4.0, 8.0)
    fps: float = 2.0  # feature rows per second
    dim: int = 64
    noise: float = 0.8  # per-frame Gaussian noise std (prototypes have unit-norm parts)
    background: float = 0.5  # std of a per-video offset added to every frame
    shift_mean: float = 2.0  # seconds: narration tends to come after the action ...
    shift_std: float = 5.0  # ... but with a spread comparable to a segment's length
    unrelated: float = 0.3  # share of captions unrelated to anything on screen
    unnarrated: float = 0.1  # share of actions never narrated
    caption_seconds: tuple[float, float] = (2.0, 4.0)
    videos: bool = False  # also write small .mp4 files (for the end-to-end frame path)
    frame_size: int = 32
    video_fps: float = 4.0
    seed: int = 0


def _sentence(rng: np.random.Generator, verb: str, obj: str) -> str:
    before = rng.choice(FILLER, size=int(rng.integers(0, 4))).tolist()
    after = rng.choice(FILLER, size=int(rng.integers(0, 3))).tolist()
    middle = [verb, "the", obj] if rng.random() < 0.5 else [verb, obj]
    return " ".join(before + middle + after)


def _csv(rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _frames(rng: np.random.Generator, segs: list[tuple[int, int, float, float]], duration: float,
            p: NarratedSetParams, verb_colours: np.ndarray, obj_colours: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8: the verb's colour on the left half, the object's on the right, plus noise."""
    n = int(duration * p.video_fps)
    s = p.frame_size
    out = np.empty((n, s, s, 3), dtype=np.uint8)
    for k in range(n):
        t = (k + 0.5) / p.video_fps
        v, o = next(((v, o) for v, o, a, b in segs if a <= t < b), (segs[-1][0], segs[-1][1]))
        img = np.empty((s, s, 3))
        img[:, : s // 2] = verb_colours[v]
        img[:, s // 2:] = obj_colours[o]
        img += rng.normal(0, 20, size=img.shape)
        out[k] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def make_narrated_set(folder: str | os.PathLike[str], params: NarratedSetParams | None = None) -> dict[str, Any]:
    """Write ``train/`` and ``test/`` (captions/, features/ [+ videos/]) and ``test/pairs.csv`` under ``folder``.

    Returns a summary (counts and the parameters). Deterministic given ``params.seed``.
    """
    from wsl.features.files import update_index, write_features

    p = params or NarratedSetParams()
    if p.verbs > len(VERBS) or p.objects > len(OBJECTS):
        raise ValueError(f"at most {len(VERBS)} verbs and {len(OBJECTS)} objects")
    rng = np.random.default_rng(p.seed)
    folder = Path(folder)

    def unit(n: int) -> np.ndarray:
        x = rng.normal(size=(n, p.dim))
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    verb_proto, obj_proto = unit(p.verbs), unit(p.objects)
    verb_colours = rng.uniform(0, 255, size=(p.verbs, 3))
    obj_colours = rng.uniform(0, 255, size=(p.objects, 3))
    counts = {"captions": 0, "unrelated": 0, "narrated": 0, "segments": 0, "pairs": 0}
    for split, n_videos in (("train", p.train_videos), ("test", p.test_videos)):
        root = folder / split
        pairs: list[tuple[str, float, float, str]] = []
        for i in range(n_videos):
            vid = f"{split}{i:04d}"
            segs: list[tuple[int, int, float, float]] = []
            t = 0.0
            for _ in range(int(rng.integers(p.segments[0], p.segments[1] + 1))):
                d = float(rng.uniform(*p.segment_seconds))
                segs.append((int(rng.integers(p.verbs)), int(rng.integers(p.objects)), t, t + d))
                t += d
            duration = t
            rows = int(duration * p.fps)
            feats = rng.normal(0, p.background, size=(1, p.dim)) + rng.normal(0, p.noise, size=(rows, p.dim))
            captions: list[tuple[float, float, str]] = []
            for v, o, a, b in segs:
                lo, hi = int(np.ceil(a * p.fps)), int(np.ceil(b * p.fps))
                feats[lo:hi] += verb_proto[v] + obj_proto[o]
                pairs.append((vid, round(a, 2), round(b, 2), f"{VERBS[v]} the {OBJECTS[o]}"))
                if rng.random() < p.unnarrated:
                    continue
                mid = 0.5 * (a + b) + rng.normal(p.shift_mean, p.shift_std)
                captions.append((mid, float(rng.uniform(*p.caption_seconds)), _sentence(rng, VERBS[v], OBJECTS[o])))
                counts["narrated"] += 1
            # Unrelated talk makes up a share `unrelated` of all captions.
            n_unrelated = int(round(len(captions) * p.unrelated / max(1e-9, 1 - p.unrelated)))
            for _ in range(n_unrelated):
                words = rng.choice(FILLER, size=int(rng.integers(3, 8))).tolist()
                captions.append((float(rng.uniform(0, duration)), float(rng.uniform(*p.caption_seconds)),
                                 " ".join(words)))
            counts["unrelated"] += n_unrelated
            rows_out = []
            for mid, d, text in sorted(captions):
                start = min(max(0.0, mid - d / 2), max(0.0, duration - d))
                rows_out.append((round(start, 2), round(start + d, 2), text))
            counts["captions"] += len(rows_out)
            counts["segments"] += len(segs)
            write_text(root / "captions" / f"{vid}.csv", _csv(rows_out, ("start", "end", "text")))
            write_features(root / "features", vid, feats.astype(np.float32))
            if p.videos:
                from wsl.features.video import write_video

                frames = _frames(rng, segs, duration, p, verb_colours, obj_colours)
                write_video(root / "videos" / f"{vid}.mp4", frames, p.video_fps)
        update_index(root / "features", {"_defaults": {"fps": p.fps, "source": "wsl.data.synth_narrated_set"}})
        if split == "test":
            write_text(root / "pairs.csv", _csv(pairs, ("video_id", "start", "end", "text")))
            counts["pairs"] = len(pairs)
    summary = {"params": asdict(p), **counts}
    write_json(folder / "params.json", summary)
    return summary
