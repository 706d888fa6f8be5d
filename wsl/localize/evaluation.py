"""Evaluating a trained localiser on annotated images: ``wsl.localize.evaluate`` (classification mAP,
pointing within the tolerance, pointing inside the box; wsl.eval.localization has the metrics)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wsl.data.tagged import TaggedSet
from wsl.errors import BadInput
from wsl.localize.data import read_data, report_skipped
from wsl.localize.infer import Localizer, infer, load
from wsl.localize.model import GlobalMaxPoolLocalizer, LocalizerConfig


def evaluate_model(model: GlobalMaxPoolLocalizer, cfg: LocalizerConfig, data: TaggedSet,
                   device: torch.device | str = "cpu", batch_size: int = 16, scales: Sequence[float] | None = None,
                   tolerance: float = 18.0, quiet: bool = False) -> dict[str, Any]:
    """The metrics report (a JSON-ready dict) of ``model`` on ``data`` (labels checked beforehand)."""
    from wsl.eval.localization import localization_report

    was_training = model.training
    bad: list[tuple[Path, str]] = []
    loc = Localizer(model, cfg, torch.device(device))
    results = list(infer(loc, data.images, batch_size, scales, bad, quiet))
    model.train(was_training)
    if not results:
        raise BadInput("none of the evaluation images can be read", data.source)
    k = len(cfg.classes)
    index = {c: i for i, c in enumerate(cfg.classes)}
    scores = np.stack([r.scores for r in results])
    targets = np.zeros((len(results), k), dtype=bool)
    ignore = np.zeros((len(results), k), dtype=bool)
    points, boxes = [], []
    for n, r in enumerate(results):
        im = data.images[r.index]
        for c in im.labels:
            targets[n, index[c]] = True
        for c in im.difficult_only:
            ignore[n, index[c]] = True
        points.append({c: (float(r.points[i, 0]), float(r.points[i, 1])) for c, i in index.items()})
        boxes.append(im.boxes)
    report = localization_report(scores, targets, points, boxes, cfg.classes, tolerance, ignore)
    report["skipped"] = [str(p) for p, _ in bad]
    if not quiet:
        report_skipped(bad)
    return report


@dataclass(frozen=True)
class Evaluation:
    """The figures of a run on annotated data; ``report`` holds every number (per class too) as JSON."""

    mAP: float | None
    pointing: float | None
    pointing_inside: float | None
    images: int
    report: dict[str, Any]


def evaluate(run_dir: str | os.PathLike[str], data: str | os.PathLike[str], split: str | None = None,
             images: str | os.PathLike[str] | None = None, scales: Sequence[float] | None = None,
             tolerance: float = 18.0, batch_size: int = 16, device: str = "auto", ignore_unknown: bool = False,
             keep_unlabelled: bool = False) -> Evaluation:
    """Classification mAP and pointing (within ``tolerance`` px, and inside the box) of a run on data."""
    loc = load(run_dir, device)
    data_set, _ = read_data(data, loc.config.classes, split, images, ignore_unknown, keep_unlabelled,
                            fixed_classes=True)
    report = evaluate_model(loc.model, loc.config, data_set, loc.device, batch_size, scales, tolerance)
    report.update(run=str(run_dir), data=str(data), scales=list(scales or loc.config.test_scales))
    return Evaluation(report["mAP"], report["pointing"], report.get("pointing_inside"), report["images"], report)
