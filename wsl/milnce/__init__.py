"""MIL-NCE (Miech et al. 2020): joint video-text embeddings learnt from narrated video, and text-to-video search.

    import wsl
    run = wsl.milnce.train("demo/train", "runs/m")                       # captions/ + features/ (or videos/)
    wsl.milnce.embed("runs/m", "index/clips", "demo/test/features")      # sliding-window clips -> an index
    hits = wsl.milnce.search("index/clips", ["crack the egg"], k=10)
    scores = wsl.milnce.evaluate("runs/m", "demo/test/pairs.csv", "demo/test/features")

Modules: ``model`` (encoders, config), ``data`` (narrations, clips, sampling, vocabulary), ``loss``
(MIL-NCE, NCE, DDP gathering), ``train``, ``infer`` (load, embed, search), ``outputs`` (index files),
``evaluation`` (retrieval, step localisation, the narration-time baseline).
"""

from __future__ import annotations

from wsl.milnce.evaluation import Evaluation, evaluate, narration_baseline
from wsl.milnce.infer import EmbedResult, Hit, MilNce, SearchResult, embed, load, search
from wsl.milnce.model import MilNceConfig
from wsl.milnce.train import TrainResult, train

__all__ = ["Evaluation", "EmbedResult", "Hit", "MilNce", "MilNceConfig", "SearchResult", "TrainResult", "embed",
           "evaluate", "load", "narration_baseline", "search", "train"]
