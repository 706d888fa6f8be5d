"""Step discovery metric of Alayrac et al. 2016: F1 after Hungarian matching of discovered steps to
annotated steps, over all videos.

Each discovered step predicts at most one time per video. A discovered step is matched one-to-one
to an annotated step so that the number of correct predictions over all videos is largest; a
prediction is correct when its time falls inside an annotated interval of the matched step in that
video. precision = correct / predicted, recall = correct / annotated, where annotated counts the
(video, annotated step) pairs (a step done twice in a video is one pair: one predicted time can hit
at most one of its intervals).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from wsl.data.segments import ActionVideo
from wsl.errors import BadInput


@dataclass
class StepScores:
    """The metric and its counts; ``matching`` maps a discovered step index to its annotated label."""

    precision: float
    recall: float
    f1: float
    correct: int
    predicted: int
    annotated: int
    videos: int
    matching: dict[int, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, "correct": self.correct,
                "predicted": self.predicted, "annotated": self.annotated, "videos": self.videos,
                "matching": {str(k): v for k, v in self.matching.items()}}


def _hit(t: float, video: ActionVideo, label: str) -> bool:
    return any(s.label == label and s.start <= t <= s.end for s in video.segments)


def step_f1(pred: Mapping[str, Sequence[float | None]], gold: Mapping[str, ActionVideo]) -> StepScores:
    """Alayrac's F1 of ``pred`` (video -> one time or None/NaN per discovered step) against ``gold``.

    Only videos present in ``gold`` count; a gold video missing from ``pred`` has no predictions.
    """
    labels = sorted({s.label for v in gold.values() for s in v.segments})
    K = max((len(p) for p in pred.values()), default=0)
    hits = np.zeros((K, len(labels)), dtype=np.int64)
    predicted = annotated = 0
    for vid, gv in gold.items():
        annotated += len({s.label for s in gv.segments})
        times = pred.get(vid, [])
        for k, t in enumerate(times):
            if t is None or not np.isfinite(t):
                continue
            predicted += 1
            for g, lab in enumerate(labels):
                hits[k, g] += _hit(float(t), gv, lab)
    correct, matching = 0, {}
    if K and labels:
        rows, cols = linear_sum_assignment(hits, maximize=True)
        correct = int(hits[rows, cols].sum())
        matching = {int(r): labels[c] for r, c in zip(rows, cols, strict=True)}
    p = correct / predicted if predicted else 0.0
    r = correct / annotated if annotated else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return StepScores(p, r, f1, correct, predicted, annotated, len(gold), matching)


def read_step_ground_truth(path: str | os.PathLike[str], videos: Sequence[str] | None = None) -> dict[str, ActionVideo]:
    """Annotated step segments per video from a COIN JSON file or a folder (or ``.tar.gz``) of
    Mining-YouTube ``.srt`` files; restricted to ``videos`` when given (those absent are left out)."""
    p = Path(path)
    if p.is_dir() or p.name.endswith((".tar.gz", ".tgz", ".tar")):
        from wsl.data.mining_youtube import read_mining_youtube

        items = read_mining_youtube(p)
    elif p.suffix.lower() == ".json":
        from wsl.data.coin import read_coin

        items = read_coin(p)
    elif not p.exists():
        raise BadInput("no such ground-truth file or folder", p)
    else:
        raise BadInput("ground truth must be a COIN .json file or a folder of .srt step segments", p)
    gold = {v.video: v for v in items}
    if videos is not None:
        gold = {v: gold[v] for v in videos if v in gold}
    return gold
