"""Weakly supervised object localisation by global max-pooling (Oquab et al. 2015).

    import wsl
    run = wsl.localize.train("demo/train", "runs/loc")              # image-level tags -> a run folder
    out = wsl.localize.predict("runs/loc", ["photos/"], "pred/")     # scores, points, maps, overlays, COCO
    ev = wsl.localize.evaluate("runs/loc", "demo/test")              # mAP, pointing, pointing inside boxes

Modules: ``model`` (trunk -> adaptation layers -> class maps -> max-pool; multi-scale maps and
peaks), ``data`` (tagged images, batches, the cache of frozen-trunk maps), ``train``, ``infer``
(load, predict), ``outputs`` (records, overlays, COCO results), ``evaluation``.
"""

from __future__ import annotations

from wsl.localize.evaluation import Evaluation, evaluate
from wsl.localize.infer import Localizer, PredictResult, load, predict
from wsl.localize.model import GlobalMaxPoolLocalizer, LocalizerConfig
from wsl.localize.train import TrainResult, train

__all__ = ["Evaluation", "GlobalMaxPoolLocalizer", "Localizer", "LocalizerConfig", "PredictResult", "TrainResult",
           "evaluate", "load", "predict", "train"]
