"""Training a MIL-NCE dual encoder from narrated video, with defaults that learn without tuning.

Without a number of epochs, training runs for a step budget sized from the data and holds out a share
of the training videos: after every epoch it measures how well their captions find their own clips
(mean reciprocal rank), keeps the best weights in ``model.safetensors`` and stops when that has not
improved for ``patience`` epochs. No gold labels are needed for this: a caption and the clip around it
are a noisy pair, but every model is judged on the same noisy pairs.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from wsl.errors import BadInput
from wsl.milnce.data import (
    ClipCaptionDataset,
    FeatureSource,
    Source,
    centred_clip,
    check_sources,
    open_source,
    read_training_narrations,
    resolve_folders,
)
from wsl.milnce.loss import global_milnce_loss
from wsl.milnce.model import KIND, MilNceConfig, build_model, check_config
from wsl.milnce.text import TextSide, Vocabulary

# An epoch is at least this many optimiser steps (more clips per video on small sets): fewer, larger
# evaluations, and the held-out check is worth its cost.
MIN_EPOCH_STEPS = 25
# Default step budget: each training video is sampled about this many times, within these bounds.
PASSES = 60
MIN_STEPS, MAX_STEPS = 200, 20000
# Held-out videos below which validation is not worth having (the budget alone decides).
MIN_VALIDATION_VIDEOS = 8


@dataclass(frozen=True)
class TrainResult:
    """What ``train`` did: the run folder, the model's settings, the per-epoch log and why it stopped."""

    run_dir: Path
    config: MilNceConfig
    history: tuple[dict[str, Any], ...]
    steps: int
    stopped: str  # "budget" (epochs or steps done) or "validation" (no improvement for `patience` epochs)
    best: dict[str, Any] | None  # the log record of the kept weights (None without validation)
    train_videos: int
    validation_videos: int


class _Stop(Exception):
    """Raised from the epoch callback when validation stops improving."""


def _loss_fn(temperature: float) -> Any:
    def loss_fn(model: nn.Module, batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        v, t = model(batch["video"], batch["text"])
        return global_milnce_loss(v, t, batch["mask"], temperature, batch.get("group")), {}

    return loss_fn


def split_videos(videos: Sequence[str], share: float, seed: int) -> tuple[list[str], list[str]]:
    """(training, held-out) videos: a seeded random ``share`` held out, none when too few would be."""
    if not 0 <= share < 1:
        raise BadInput(f"`validation` must be a share in [0, 1), got {share}", param="validation")
    n_val = int(round(len(videos) * share))
    if n_val < MIN_VALIDATION_VIDEOS or len(videos) - n_val < MIN_VALIDATION_VIDEOS:
        return list(videos), []
    order = np.random.default_rng(seed).permutation(len(videos))
    held = {videos[i] for i in order[:n_val]}
    return [v for v in videos if v not in held], [v for v in videos if v in held]


def validation_pairs(narrations: Mapping[str, Any], source: Source, cfg: MilNceConfig,
                     text: TextSide) -> list[tuple[str, float, float, str]]:
    """(video, start, end, caption) for every readable caption of the held-out videos: the clip centred on it."""
    out = []
    for v, n in narrations.items():
        duration = source.duration(v)
        for c in n.captions:
            if text.known(c.text):
                start = centred_clip(c.middle, duration, cfg.clip_seconds)
                out.append((v, start, start + cfg.clip_seconds, c.text))
    return out


def _default_budget(videos: int, batch_size: int, clips_per_video: int) -> tuple[int, int]:
    """(epochs, max steps) when the caller gives no epochs: about PASSES samples of each video."""
    steps = int(min(MAX_STEPS, max(MIN_STEPS, PASSES * videos / batch_size)))
    per_epoch = max(1, videos * clips_per_video // batch_size)
    return math.ceil(steps / per_epoch), steps


@contextlib.contextmanager
def _reports_from_rank_zero(is_main: bool) -> Iterator[None]:
    """Under torchrun only rank 0 reports: the other ranks' status lines and warnings are dropped for the call."""
    import logging

    from wsl.progress import log

    if is_main:
        yield
        return
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def train(data: str | os.PathLike[str], run_dir: str | os.PathLike[str], *, config: MilNceConfig | None = None,
          captions: str | os.PathLike[str] | None = None, features: str | os.PathLike[str] | None = None,
          videos: str | os.PathLike[str] | None = None, video: str = "auto", epochs: int | None = None,
          batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 1e-4, max_steps: int | None = None,
          seed: int = 0, device: str = "auto", workers: int = -1, clips_per_video: int | None = None,
          min_count: int = 1, max_vocab: int | None = None, fps: float | None = None, layout: str = "Td",
          validation: float = 0.1, patience: int = 4, resume: bool = False,
          eval_pairs: str | os.PathLike[str] | None = None, eval_source: str | os.PathLike[str] | None = None,
          amp: bool = True) -> TrainResult:
    """Train a dual encoder on ``data`` (captions/ + features/ or videos/) into ``run_dir``.

    ``epochs=None`` (the default): a step budget sized from the data, early stopping on a held-out
    ``validation`` share of the videos, and the best weights kept. With ``epochs``, exactly that many
    (validation still logged, nothing stops early). ``eval_pairs`` (video_id,start,end,text CSV) with
    ``eval_source`` adds gold retrieval and step localisation figures to every epoch's log.
    ``config`` is never modified: the run's own copy is in the result.
    """
    from wsl.models.runtime import dist_info

    with _reports_from_rank_zero(dist_info().is_main):
        return _train(data, run_dir, config=config, captions=captions, features=features, videos=videos,
                      video=video, epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                      max_steps=max_steps, seed=seed, device=device, workers=workers,
                      clips_per_video=clips_per_video, min_count=min_count, max_vocab=max_vocab, fps=fps,
                      layout=layout, validation=validation, patience=patience, resume=resume,
                      eval_pairs=eval_pairs, eval_source=eval_source, amp=amp)


def _train(data: str | os.PathLike[str], run_dir: str | os.PathLike[str], *, config: MilNceConfig | None,
           captions: str | os.PathLike[str] | None, features: str | os.PathLike[str] | None,
           videos: str | os.PathLike[str] | None, video: str, epochs: int | None, batch_size: int, lr: float,
           weight_decay: float, max_steps: int | None, seed: int, device: str, workers: int,
           clips_per_video: int | None, min_count: int, max_vocab: int | None, fps: float | None, layout: str,
           validation: float, patience: int, resume: bool, eval_pairs: str | os.PathLike[str] | None,
           eval_source: str | os.PathLike[str] | None, amp: bool) -> TrainResult:
    from wsl.models.run_folder import CONFIG, RESUME_MAY_CHANGE, load_run_config, prepare_run
    from wsl.models.runtime import dist_info, seed_everything
    from wsl.models.training import TrainConfig, fit

    run_dir = Path(run_dir)
    dist = dist_info()
    for name, value in (("batch_size", batch_size), ("lr", lr), ("patience", patience)):
        if not value > 0:
            raise BadInput(f"`{name}` must be positive, got {value}", param=name)
    for name, opt in (("epochs", epochs), ("max_steps", max_steps), ("clips_per_video", clips_per_video)):
        if opt is not None and opt < 1:
            raise BadInput(f"`{name}` must be at least 1, got {opt}", param=name)
    cfg = config or MilNceConfig()
    continuing = resume and (run_dir / CONFIG).exists()
    if continuing:  # the model is the one the run started with
        cfg = MilNceConfig.from_dict(load_run_config(run_dir, KIND).get("model", {}))
    folders = resolve_folders(data, captions, features, videos, cfg.video if continuing else video)
    cfg = replace(cfg, video=folders.video)
    check_config(cfg)

    narrations = read_training_narrations(folders.captions, cfg.video, folders.source)
    source = open_source(cfg, folders.source, videos=list(narrations), fps=fps, layout=layout)
    narrations = check_sources(narrations, source)
    train_ids, val_ids = split_videos(sorted(narrations), validation if dist.world_size == 1 else 0.0, seed)
    if isinstance(source, FeatureSource):
        cfg = replace(cfg, feature_dim=source.dim, fps=fps or float(np.median([source.fps[v] for v in train_ids])))
    if cfg.text == "words" and not cfg.vocab:
        cfg = replace(cfg, vocab=tuple(Vocabulary.build((c.text for v in train_ids for c in narrations[v].captions),
                                                        min_count, max_vocab).words))
    stop_early = bool(val_ids) and epochs is None
    cpv = clips_per_video or max(1, math.ceil(MIN_EPOCH_STEPS * batch_size / len(train_ids)))
    budget_steps = max_steps
    if epochs is None:
        epochs, default_steps = _default_budget(len(train_ids), batch_size, cpv)
        budget_steps = max_steps or default_steps
    tcfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, seed=seed,
                       device=device, num_workers=workers, max_steps=budget_steps, amp=amp)
    # The shared run-folder policy: device (cuda:N too), checkpoint check, resume comparison, config.json.
    run = prepare_run(run_dir, KIND, {"model": cfg.as_dict(), "train": tcfg.as_dict(),
                                      "data": {"captions": str(folders.captions), "source": str(folders.source),
                                               "videos": len(train_ids), "validation_videos": len(val_ids),
                                               "clips_per_video": cpv, "patience": patience}},
                      resume=resume, device=device, seed=seed,
                      may_change=RESUME_MAY_CHANGE | {"train.epochs", "train.max_steps"})
    tcfg = replace(tcfg, device=str(run.device))
    text = TextSide(cfg, str(run.device))
    text.precompute(c.text for n in narrations.values() for c in n.captions)
    dataset = ClipCaptionDataset({v: narrations[v] for v in train_ids}, source, cfg, text, cpv)
    run.report(f"training on {len(train_ids)} videos ({len(val_ids)} held out for validation), "
               f"{epochs} epoch(s) of {len(dataset) // batch_size} steps"
               + (f", at most {budget_steps} steps" if budget_steps else ""))

    val = validation_pairs({v: narrations[v] for v in val_ids}, source, cfg, text) if val_ids else []
    gold: tuple[list[Any], Source] | None = None
    if eval_pairs is not None:
        from wsl.milnce.data import read_sentence_pairs

        gold = (read_sentence_pairs(eval_pairs)[0],
                open_source(cfg, eval_source or folders.source, fps=fps, layout=layout))

    def eval_fn(model: nn.Module) -> dict[str, float]:
        from wsl.milnce.evaluation import caption_retrieval, evaluate_model
        from wsl.milnce.infer import MilNce

        m = MilNce(model, cfg, "", str(run_dir), next(model.parameters()).device)  # type: ignore[arg-type]
        out: dict[str, float] = {}
        if val:
            out.update(caption_retrieval(m, val, source))
        if gold is not None:
            out.update({k: v for k, v in evaluate_model(m, gold[0], gold[1]).as_dict().items()
                        if isinstance(v, float)})
        return out

    history_before = _read_history(run_dir) if resume else []
    best: dict[str, Any] | None = max((r for r in history_before if "val_mrr" in r), key=lambda r: r["val_mrr"],
                                      default=None)
    state = {"best": best}

    def on_epoch(record: dict[str, Any]) -> None:
        if "val_mrr" not in record:
            return
        current = state["best"]
        if current is None or record["val_mrr"] > current["val_mrr"]:
            state["best"] = record
            run.save_weights(model)
            return
        if stop_early and record["epoch"] - current["epoch"] >= patience:
            raise _Stop

    # Seeded right before the model is built: the initial weights depend on the seed alone.
    seed_everything(seed)
    model = build_model(cfg)
    stopped = "budget"
    try:
        # With held-out videos the kept weights are the best epoch's (written by on_epoch), not the last.
        history = fit(model, dataset, _loss_fn(cfg.temperature), tcfg, run_dir,
                      eval_fn=eval_fn if (val or gold) else None, resume=resume, on_epoch=on_epoch,
                      save_final=not val)
    except _Stop:
        stopped = "validation"
        history = _read_history(run_dir)
    last_step = history[-1]["step"] if history else 0
    best = state["best"]
    how = (f"stopped at step {last_step}: held-out retrieval stopped improving" if stopped == "validation"
           else f"trained {last_step} steps")
    kept = f"; kept epoch {best['epoch'] + 1} (held-out MRR {best['val_mrr']:.3f})" if best else ""
    run.report(f"{how}{kept}; run in {run_dir}")
    return TrainResult(run_dir, cfg, tuple(history), last_step, stopped, best, len(train_ids), len(val_ids))


def _read_history(run_dir: Path) -> list[dict[str, Any]]:
    from wsl.models.run_folder import read_log

    return read_log(run_dir)
