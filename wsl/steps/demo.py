"""A sample task folder for discover-steps: narrations (.srt) + features (.npy) + index.json + truth/.

Built in: the structure of COIN's "change a car tire" (its step names, order and rough durations),
with features drawn from the labels (wsl.data.synth) and narration spoken from sentence templates:
steps announced before, during or after they are done, some not said, chatter, and mentions of
steps that are not done ("some people ... but I don't", "you could also ..."). From COIN annotations
the user has (``coin``, ``task``), the same is built from that task's real videos.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from wsl.data.segments import ActionVideo, Segment
from wsl.data.synth import features_from_labels
from wsl.data.synth_narration import narrate
from wsl.errors import BadInput
from wsl.io import save_npy, write_text
from wsl.text.subtitles import format_srt

# (step, what is said, seconds it lasts) in the usual order
TIRE = (("loosen", "Now loosen the lug nuts.", 8.0), ("jack", "Jack up the car with the jack.", 10.0),
        ("remove", "Remove the old wheel.", 8.0), ("mount", "Put on the spare tire.", 10.0),
        ("tighten", "Tighten the lug nuts again.", 8.0), ("lower", "Lower the car back down.", 6.0))
CHATTER = ("Hi guys, welcome back to my channel.", "Thanks for watching, see you next time.",
           "Make sure you subscribe.")
NOT_DONE = ("Some people check the tire pressure but I don't.", "You could also clean the rim.")
FPS = 1.0


def _tire_videos(n: int, rng: np.random.Generator) -> list[ActionVideo]:
    out = []
    for i in range(n):
        t, segs = rng.uniform(5, 15), []
        for step, _, length in TIRE:
            if step == "lower" and rng.random() < 0.3:
                continue  # not every video shows it
            d = length * rng.uniform(0.7, 1.5)
            segs.append(Segment(step, t, t + d))
            t += d + rng.uniform(5, 15)
        out.append(ActionVideo(f"tire{i:02d}", round(t + 8, 1), tuple(segs), "ChangeCarTire"))
    return out


def make_demo_task(folder: str | os.PathLike[str], coin: str | os.PathLike[str] | None = None,
                   task: str | None = None, n_videos: int = 12, seed: int = 0) -> list[str]:
    """Write a task folder into ``folder``; returns the video ids. ``coin`` + ``task``: build it from
    that COIN task's annotated videos (the first ``n_videos``) instead of the built-in structure."""
    rng = np.random.default_rng(seed)
    if coin is not None:
        from wsl.data.coin import read_coin

        if not task:
            raise BadInput("building the demo from COIN needs a task name", coin, param="task")
        videos = [v for v in read_coin(coin) if v.task == task][:n_videos]
        if len(videos) < 2:
            raise BadInput(f"COIN task {task!r} has {len(videos)} annotated video(s); need at least two", coin,
                           param="task")
        say = {s.label: f"Now {s.label}." for v in videos for s in v.segments}
    else:
        videos = _tire_videos(n_videos, rng)
        say = {step: text for step, text, _ in TIRE}
    steps = sorted(say)
    out = Path(folder)
    feats = features_from_labels({v.video: v.frames(FPS) for v in videos}, dim=32, noise=1.0, rho=0.5, seed=seed)
    index: dict[str, dict[str, float]] = {"_defaults": {"fps": FPS}}
    for v in videos:
        X = feats[v.video]
        save_npy(out / f"{v.video}.npy", X)
        index[v.video] = {"duration": X.shape[0] / FPS}
        cues = [(0.5, 3.0, CHATTER[0])]
        for lab, span in zip(steps, narrate(v, steps, rng, p_narrate=0.8, p_false=0.0, ordered=False), strict=True):
            if span is not None:
                cues.append((span[0], span[1], say[lab]))
        if rng.random() < 0.5:
            t = float(rng.uniform(0, max(v.duration - 4, 1)))
            cues.append((t, t + 3, NOT_DONE[int(rng.integers(len(NOT_DONE)))]))
        end = X.shape[0] / FPS
        cues.append((max(end - 3, 0.0), end, CHATTER[1 + int(rng.integers(2))]))
        cues.sort()
        write_text(out / f"{v.video}.srt", format_srt(cues))
        write_text(out / "truth" / f"{v.video}.srt", format_srt([(s.start, s.end, s.label) for s in v.segments]))
    write_text(out / "index.json", json.dumps(index, indent=1))
    return [v.video for v in videos]
