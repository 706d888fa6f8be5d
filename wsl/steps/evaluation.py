"""Evaluation of saved discover-steps predictions: Alayrac et al. 2016's F1 (wsl.eval.steps)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from wsl.errors import BadInput
from wsl.eval.steps import StepScores, read_step_ground_truth, step_f1
from wsl.io import load_json
from wsl.progress import warn


def evaluate(predictions: str | os.PathLike[str] | Mapping[str, Any], gold: str | os.PathLike[str]) -> StepScores:
    """F1, precision and recall of a ``wsl.steps/1`` result (a file or its JSON) against ground truth
    (a COIN .json file, or a folder / .tar.gz of Mining-YouTube .srt step segments)."""
    doc = load_json(predictions) if isinstance(predictions, (str, os.PathLike)) else predictions
    where = predictions if isinstance(predictions, (str, os.PathLike)) else None
    if not isinstance(doc, Mapping) or not isinstance(doc.get("videos"), Mapping):
        raise BadInput('not a discover-steps result (expected {"format": "wsl.steps/1", "videos": {...}})', where,
                       param="predictions")
    names = list(doc["videos"])
    truth = read_step_ground_truth(gold, names)
    if not truth:
        raise BadInput("none of the result's videos is in the ground truth", gold, param="gold")
    if len(truth) < len(names):
        warn(f"{len(names) - len(truth)} video(s) have no ground truth and are left out of the evaluation")
    try:
        pred = {n: [s.get("time") for s in doc["videos"][n]["steps"]] for n in truth}
    except (KeyError, TypeError, AttributeError):
        raise BadInput("a video of the result has no list of steps with times", where, param="predictions") from None
    return step_f1(pred, truth)
