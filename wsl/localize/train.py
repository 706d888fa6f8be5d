"""Training a global max-pool localiser into a run folder: ``wsl.localize.train``.

A run folder holds ``config.json`` (classes, architecture, scales, optimisation settings and format
version), ``checkpoint.pt`` (state dicts, read with ``weights_only=True``), ``model.safetensors``
(final weights of the whole model), ``log.jsonl``, ``cache/`` (the frozen trunk's maps) and, when
some images could not be read, ``skipped.txt``. The run folder itself (device, seed, resume
policy) is handled by ``wsl.models.training.prepare_run``, as for every wsl model.

Two regimes:
- frozen pretrained trunk (default): the trunk's maps at each training scale are computed once
  and cached; the loop trains only the adaptation layers on them (CPU-practical);
- trainable trunk (``finetune_stages`` > 0, or a from-scratch trunk): images are decoded every step
  and rescaled at random in the training-scale range (GPU territory).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from wsl.data.tagged import TaggedSet
from wsl.errors import BadInput
from wsl.localize.data import (
    CachedMaps,
    TaggedImageDataset,
    cached_maps,
    collate,
    label_frequencies,
    probe_images,
    read_data,
    report_skipped,
    targets,
)
from wsl.localize.model import GlobalMaxPoolLocalizer, LocalizerConfig, multilabel_loss, prepare
from wsl.models.run_folder import RunFolder, prepare_run
from wsl.models.training import TrainConfig, fit

KIND = "localize"
SKIPPED = "skipped.txt"


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced: its folder, per-epoch log records and the images it skipped."""

    run_dir: Path
    history: list[dict[str, Any]]
    skipped: list[tuple[Path, str]]
    classes: tuple[str, ...]
    seconds: float
    is_main: bool = True


class _CachedLoss:
    """Loss on cached trunk maps: each batch takes the maps at one of the cached scales (drawn from
    torch's generator, which the loop reseeds per epoch, so a resume replays the same choices)."""

    def __init__(self, maps: list[torch.Tensor]):
        self.maps = maps

    def __call__(self, head: nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        k = int(torch.randint(len(self.maps), ()))
        idx = batch["index"].cpu()
        x = self.maps[k][idx].to(batch["target"].device, non_blocking=True).float()
        scores = head(x).amax(dim=(2, 3))
        loss = multilabel_loss(scores, batch["target"])
        with torch.no_grad():
            acc = ((scores.float() > 0) == (batch["target"] > 0.5)).float().mean()
        return loss, {"label_accuracy": float(acc)}


class _ImageLoss:
    """Loss on decoded images with random rescaling (the trunk trains). The range of scales widens
    from 1 over the first ``scale_warmup`` share of ``total`` steps, read from the loop's step."""

    def __init__(self, cfg: LocalizerConfig, total: int, stride: int, normalization: str, channels_last: bool):
        self.cfg, self.total, self.stride = cfg, total, stride
        self.normalization, self.channels_last = normalization, channels_last
        self.failed: dict[str, str] = {}  # images that failed to decode mid-epoch, reported at the end

    def __call__(self, m: nn.Module, batch: dict[str, Any], step: int = 0) -> tuple[torch.Tensor, dict[str, float]]:
        cfg = self.cfg
        for line in batch["bad"]:
            path, _, reason = line.partition("\t")
            self.failed.setdefault(path, reason)
        lo, hi = min(cfg.train_scales), max(cfg.train_scales)
        widen = max(1, round(cfg.scale_warmup * self.total))
        ramp = min(1.0, step / widen) if cfg.scale_warmup > 0 else 1.0
        low, high = 1 + (lo - 1) * ramp, 1 + (hi - 1) * ramp
        scale = float(low + (high - low) * torch.rand(()))
        # Sides rounded to multiples of the stride: a handful of repeating shapes keeps oneDNN's and
        # cuDNN's per-shape caches warm (and pretrained trunks need them).
        x = prepare(batch["image"], self.normalization, self.channels_last, scale, self.stride)
        scores, _ = m(x)
        loss = multilabel_loss(scores, batch["target"])
        with torch.no_grad():
            acc = ((scores.float() > 0) == (batch["target"] > 0.5)).float().mean()
        return loss, {"label_accuracy": float(acc)}


def default_train_config(cfg: LocalizerConfig) -> TrainConfig:
    """Optimisation defaults that train a good model with no flags: a frozen trunk's head learns fast
    from cached maps; a trainable trunk needs the from-scratch recipe's longer schedule."""
    if cfg.frozen:  # on the photo demo the head fits its training tags within 7 epochs
        return TrainConfig(epochs=15, batch_size=32, lr=1e-3, weight_decay=1e-4, grad_clip=None)
    return TrainConfig(epochs=20, batch_size=32, lr=2e-3, weight_decay=1e-4, grad_clip=None)


def train(data: str | os.PathLike[str] | TaggedSet, run_dir: str | os.PathLike[str],
          config: LocalizerConfig | None = None, train_config: TrainConfig | None = None, resume: bool = False,
          val: str | os.PathLike[str] | TaggedSet | None = None, tolerance: float = 18.0,
          classes: list[str] | None = None) -> TrainResult:
    """Train a localiser on tagged images (a VOC folder, a COCO .json, a tags .csv or a TaggedSet).

    ``config`` defaults to the pretrained Lite0 trunk, frozen, with cached two-scale maps; its
    ``classes`` are taken from the data when left empty. ``val``, when given, is evaluated after every
    epoch (mAP and pointing go into ``log.jsonl``).
    """
    import time

    from wsl.localize.evaluation import evaluate_model

    start = time.perf_counter()
    if isinstance(data, TaggedSet):
        wanted = classes or (list(config.classes) if config and config.classes else None)
        data_set, class_list = read_data_set(data, wanted)
    else:
        data_set, class_list = read_data(data, classes or (config.classes if config and config.classes else None))
    cfg = replace(config, classes=list(class_list)) if config else LocalizerConfig(list(class_list))
    cfg.validate()
    tcfg = train_config or default_train_config(cfg)
    val_set = None
    if val is not None:
        val_set = val if isinstance(val, TaggedSet) else read_data(val, class_list, fixed_classes=True)[0]

    images, bad = probe_images(data_set.images, min_side=cfg.stride)
    if not images:
        first = f" (first: {bad[0][0]}: {bad[0][1]})" if bad else ""
        hint = "; image paths in a CSV are relative to its folder" if data_set.kind == "csv" else ""
        raise BadInput(f"none of the {len(bad)} training image(s) can be read{first}{hint}", data_set.source)
    run = prepare_run(run_dir, KIND, {"model": cfg.as_dict(), "train": tcfg.as_dict(),
                                      "data": {"source": data_set.source, "kind": data_set.kind,
                                               "images": len(images)}},
                      resume=resume, device=tcfg.device, seed=tcfg.seed)
    model = GlobalMaxPoolLocalizer.from_config(cfg)  # after prepare_run: initial weights follow the seed
    device = run.device
    history: list[dict[str, Any]]

    eval_fn = None
    if val_set is not None:
        def eval_fn(m: nn.Module) -> dict[str, float]:
            report = evaluate_model(model, cfg, val_set, device, tcfg.batch_size, tolerance=tolerance, quiet=True)
            return {"val_mAP": report["mAP"] or 0.0, "val_pointing": report["pointing"] or 0.0}

    def on_epoch(record: dict[str, Any]) -> None:
        metrics = ", ".join(f"{k} {v:.4g}" for k, v in record.items() if k not in ("epoch", "step"))
        run.report(f"epoch {record['epoch'] + 1}/{tcfg.epochs}: {metrics}")

    if cfg.frozen:
        history, failed = _train_cached(model, cfg, tcfg, images, run, eval_fn, on_epoch)
    else:
        history, failed = _train_images(model, cfg, tcfg, images, run, eval_fn, on_epoch)
    skipped = bad + failed
    if run.is_main:
        run.save_weights(model)
        report_skipped(skipped, run.path / SKIPPED)
    return TrainResult(run.path, history, skipped, tuple(class_list), time.perf_counter() - start, run.is_main)


def read_data_set(data: TaggedSet, classes: list[str] | None) -> tuple[TaggedSet, tuple[str, ...]]:
    """Check an in-memory TaggedSet against the class list (as ``read_data`` does for files)."""
    from wsl.data.tagged import check_labels, resolve_classes, split_unlabelled

    class_list = resolve_classes(data, classes)
    data, _ = check_labels(data, class_list)
    data, _ = split_unlabelled(data)
    if not data.images:
        raise BadInput("no labelled image left to use", data.source)
    return data, class_list


def _train_cached(model: GlobalMaxPoolLocalizer, cfg: LocalizerConfig, tcfg: TrainConfig, images: list[Any],
                  run: RunFolder, eval_fn: Any, on_epoch: Any) -> tuple[list[dict[str, Any]], list[tuple[Path, str]]]:
    model.trunk.to(run.device)
    # Every rank computes the maps it trains on; rank 0 alone writes the cache.
    maps, failed = cached_maps(model, cfg, images, run.path, run.device, tcfg.batch_size, write=run.is_main)
    failed_paths = {p for p, _ in failed}
    rows = [i for i, im in enumerate(images) if im.path not in failed_paths]
    kept = [images[i] for i in rows]
    if not kept:
        raise BadInput("none of the training images could be decoded", run.path)
    maps = [m[rows] for m in maps] if len(rows) < len(images) else maps
    if not run.resume:
        sample = maps[0][: min(64, len(kept))].float()
        model.adapt.eval()
        model.init_class_priors(label_frequencies(kept, cfg.classes), sample)
    history = fit(model.adapt, CachedMaps(targets(kept, cfg.classes)), _CachedLoss(maps), tcfg, run.path,
                  eval_fn=eval_fn, resume=run.resume, on_epoch=on_epoch, save_final=False)
    return history, failed


def _train_images(model: GlobalMaxPoolLocalizer, cfg: LocalizerConfig, tcfg: TrainConfig, images: list[Any],
                  run: RunFolder, eval_fn: Any, on_epoch: Any) -> tuple[list[dict[str, Any]], list[tuple[Path, str]]]:
    dataset = TaggedImageDataset(images, cfg.classes, cfg.image_size, flip=cfg.flip)
    if not run.resume:
        sample = collate([dataset[i] for i in range(min(16, len(dataset)))])
        model.init_class_priors(label_frequencies(images, cfg.classes),
                                prepare(sample["image"], model.normalization, multiple=model.stride))
    per_epoch = max(1, len(dataset) // (tcfg.batch_size * run.dist.world_size))
    total = tcfg.epochs * per_epoch if tcfg.max_steps is None else min(tcfg.epochs * per_epoch, tcfg.max_steps)
    channels_last = tcfg.channels_last and run.device.type == "cuda"
    loss = _ImageLoss(cfg, total, model.stride, model.normalization, channels_last)
    history = fit(model, dataset, loss, tcfg, run.path, collate_fn=collate, eval_fn=eval_fn,
                  resume=run.resume, on_epoch=on_epoch, save_final=False)
    return history, [(Path(p), r) for p, r in loss.failed.items()]
