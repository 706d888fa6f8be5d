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
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from wsl.data.segments import ActionVideo, Segment
from wsl.data.synth import features_from_labels
from wsl.data.synth_narration import narrate
from wsl.errors import BadInput
from wsl.io import save_npy, write_text
from wsl.progress import track
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


DONE = ("Now {s}.", "Next, I {s}.", "Okay, let's {s}.", "So now you {s}.", "After that we {s}.")
NOT_DONE_STEP = ("Some people {s} but I don't.", "You could also {s}.", "You don't need to {s}.")


def _said(label: str) -> str:
    """A step label as a verb phrase ("add_salt" -> "add salt"; COIN labels already are)."""
    return " ".join(label.replace("_", " ").split())


def write_task_folder(folder: str | os.PathLike[str], videos: Sequence[ActionVideo], steps: Sequence[str],
                      say: dict[str, str] | None = None, *, noise: float = 1.0, dim: int = 32, rho: float = 0.5,
                      video_noise: float = 0.0, p_narrate: float = 0.8, p_false: float = 0.0,
                      p_not_done: float = 0.5, seed: int = 0) -> None:
    """Write ``videos`` as a discover-steps task folder: features drawn from their labels, an .srt
    narration spoken from sentence templates (steps announced before, during or after they are done,
    some not said, chatter, steps not done mentioned negated or hypothetically with probability
    ``p_not_done``, and with ``p_false`` plainly), index.json, and truth/<video>.srt."""
    rng = np.random.default_rng(seed)
    out = Path(folder)
    say = dict(say or {})
    feats = features_from_labels({v.video: v.frames(FPS) for v in videos}, dim=dim, noise=noise, rho=rho,
                                 video_noise=video_noise, seed=seed)
    index: dict[str, dict[str, float]] = {"_defaults": {"fps": FPS}}
    for v in track(videos, "writing videos"):
        X = feats[v.video]
        save_npy(out / f"{v.video}.npy", X)
        index[v.video] = {"duration": X.shape[0] / FPS}
        cues = [(0.5, 3.0, CHATTER[0])]
        spans = narrate(v, steps, rng, p_narrate=p_narrate, p_false=p_false, ordered=False)
        for lab, span in zip(steps, spans, strict=True):
            if span is not None:
                text = say.get(lab) or DONE[int(rng.integers(len(DONE)))].format(s=_said(lab))
                cues.append((span[0], span[1], text))
        done = {sg.label for sg in v.segments}
        absent = [lab for lab in steps if lab not in done]
        if rng.random() < p_not_done:
            t = float(rng.uniform(0, max(v.duration - 4, 1)))
            if absent:
                lab = absent[int(rng.integers(len(absent)))]
                text = NOT_DONE_STEP[int(rng.integers(len(NOT_DONE_STEP)))].format(s=_said(lab))
            else:
                text = NOT_DONE[int(rng.integers(len(NOT_DONE)))]
            cues.append((t, t + 3, text))
        end = X.shape[0] / FPS
        cues.append((max(end - 3, 0.0), end, CHATTER[1 + int(rng.integers(2))]))
        cues.sort()
        write_text(out / f"{v.video}.srt", format_srt(cues))
        write_text(out / "truth" / f"{v.video}.srt", format_srt([(sg.start, sg.end, sg.label) for sg in v.segments]))
    write_text(out / "index.json", json.dumps(index, indent=1))


def make_demo_task(folder: str | os.PathLike[str], coin: str | os.PathLike[str] | None = None,
                   task: str | None = None, n_videos: int = 12, seed: int = 0) -> list[str]:
    """Write a task folder into ``folder``; returns the video ids. ``coin`` + ``task``: build it from
    that COIN task's annotated videos (the first ``n_videos``) instead of the built-in structure."""
    rng = np.random.default_rng(seed)
    if coin is not None:
        from wsl.data.coin import read_coin

        if not task:
            raise BadInput("building the demo from COIN needs a task name", coin, param="task")
        every = read_coin(coin)
        videos = [v for v in every if v.task == task][:n_videos]
        if len(videos) < 2:
            tasks = sorted({v.task or "" for v in every} - {""})
            raise BadInput(f"COIN task {task!r} has {len(videos)} annotated video(s); need at least two "
                           f"(tasks there: {', '.join(tasks[:8])}{', ...' if len(tasks) > 8 else ''})", coin,
                           param="task")
        steps = sorted({sg.label for v in videos for sg in v.segments})
        write_task_folder(folder, videos, steps, noise=1.0, seed=seed)
    else:
        videos = _tire_videos(n_videos, rng)
        write_task_folder(folder, videos, [step for step, _, _ in TIRE], {step: text for step, text, _ in TIRE},
                          noise=1.0, p_not_done=0.0, seed=seed)
        _add_not_done(folder, videos, rng)
    return [v.video for v in videos]


def _add_not_done(folder: str | os.PathLike[str], videos: Sequence[ActionVideo], rng: np.random.Generator) -> None:
    """The built-in demo's steps are named by short keys, so its not-done mentions are fixed sentences."""
    from wsl.data.narration import read_narration

    for v in videos:
        if rng.random() >= 0.5:
            continue
        path = Path(folder) / f"{v.video}.srt"
        cues = [(c.start, c.end, c.text) for c in read_narration(path).captions]
        t = float(rng.uniform(0, max(v.duration - 4, 1)))
        cues.append((t, t + 3, NOT_DONE[int(rng.integers(len(NOT_DONE)))]))
        cues.sort()
        write_text(path, format_srt(cues))
