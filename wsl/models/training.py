"""The one training loop every torch model in wsl uses: device, bf16 autocast, DDP under torchrun,
deterministic data order, atomic checkpoints with exact resume, a JSONL log and a run-folder config.

A model plugs in with a ``loss_fn(model, batch) -> (loss, metrics)`` (or ``loss_fn(model, batch, step=N)``
when it schedules something over training); distribution is torchrun's (environment variables RANK,
WORLD_SIZE, LOCAL_RANK), with no launcher code of our own.

The run folder is owned here, with one policy for every model (``prepare_run``): the device is
chosen once (``cuda:N`` honoured), the seed is set before the model is built, a folder holding a
checkpoint is refused unless resuming, a resume with changed settings is refused naming them,
``config.json`` is written by rank 0, and the final weights go to ``model.safetensors``.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, RandomSampler

from wsl.errors import BadInput, WorkFailed
from wsl.models.run_folder import (
    CHECKPOINT,
    WEIGHTS,
    load_checkpoint,
    read_log,
    save_checkpoint,
    save_final_weights,
    write_log,
)
from wsl.models.runtime import init_distributed, seed_everything, select_device, to_device
from wsl.progress import info, track

LossFn = Callable[[nn.Module, Any], tuple[torch.Tensor, Mapping[str, float]]]


@dataclass
class TrainConfig:
    """Optimisation settings shared by every model (model-specific settings live in the model's config)."""

    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 0
    seed: int = 0
    device: str = "auto"  # auto, cpu, cuda, cuda:N
    amp: bool = True  # bf16 autocast, on CUDA only
    channels_last: bool = False  # for convolutional models on CUDA
    num_workers: int = -1  # -1: 0 on CPU, min(8, cores) on CUDA
    grad_clip: float | None = 1.0
    max_steps: int | None = None  # stop after this many optimiser steps in total
    drop_last: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def _batch_size(batch: Any) -> int:
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0])
    if isinstance(batch, Mapping):
        return _batch_size(next(iter(batch.values())))
    if isinstance(batch, (list, tuple)) and batch:
        return _batch_size(batch[0])
    return 1


def _seed_worker(worker_id: int) -> None:
    # Each worker's numpy/random streams derive from torch's per-worker seed, itself from the epoch's generator.
    s = torch.initial_seed() % 2**32
    np.random.seed(s)
    random.seed(s)


# --- run folders -----------------------------------------------------------------------------------------------


# --- the loop --------------------------------------------------------------------------------------------------

def _optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    # No weight decay on biases and normalisation parameters (1-D tensors), as is standard.
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)


def _schedule(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def fit(model: nn.Module, dataset: Dataset, loss_fn: LossFn, cfg: TrainConfig, run_dir: str | os.PathLike[str],
        collate_fn: Callable[[list[Any]], Any] | None = None,
        eval_fn: Callable[[nn.Module], Mapping[str, float]] | None = None, resume: bool = False,
        on_epoch: Callable[[dict[str, Any]], None] | None = None, save_final: bool = True) -> list[dict[str, Any]]:
    """Train ``model`` on ``dataset`` and return the per-epoch log records.

    ``loss_fn(model, batch)`` gets the batch already on the device and the (possibly DDP-wrapped) model:
    call it to run the forward pass, use ``unwrap(model)`` for attributes. ``eval_fn(model)`` runs on
    the main process after each epoch and adds its metrics to the log. A checkpoint is written after
    every epoch; ``resume`` continues from it exactly (same data order, same optimiser state).
    A ``loss_fn`` with a ``step`` parameter also gets the optimiser step number (for schedules inside
    the loss, such as a widening range of scales). With ``save_final`` the trained weights are written
    to ``model.safetensors`` at the end.
    """
    import inspect

    wants_step = "step" in inspect.signature(loss_fn).parameters
    run_dir = Path(run_dir)
    device = select_device(cfg.device)
    dist = init_distributed(device)
    cuda = device.type == "cuda"
    amp = cfg.amp and cuda
    ckpt_path = run_dir / CHECKPOINT
    if ckpt_path.exists() and not resume:
        raise BadInput("this run folder already holds a checkpoint: pass `resume` to continue it, or choose another "
                       "output folder",
                       run_dir, param="resume")
    if len(dataset) < (cfg.batch_size * dist.world_size if cfg.drop_last else 1):  # type: ignore[arg-type]
        raise BadInput(f"only {len(dataset)} training samples for a batch size of {cfg.batch_size}"  # type: ignore[arg-type]
                       f"{f' x {dist.world_size} processes' if dist.distributed else ''}: lower batch_size",
                       param="batch_size")

    seed_everything(cfg.seed)
    model.to(device)
    if cfg.channels_last and cuda:
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    optimizer = _optimizer(model, cfg)
    workers = cfg.num_workers if cfg.num_workers >= 0 else (min(8, os.cpu_count() or 1) if cuda else 0)
    per_rank = len(dataset) // dist.world_size  # type: ignore[arg-type]
    steps_per_epoch = per_rank // cfg.batch_size if cfg.drop_last else math.ceil(per_rank / cfg.batch_size)
    total = cfg.epochs * steps_per_epoch
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    scheduler = _schedule(optimizer, cfg.warmup_steps, total)

    start_epoch, step, history = 0, 0, []
    if resume and ckpt_path.exists():
        state = load_checkpoint(ckpt_path, model, optimizer, scheduler)
        start_epoch, step = int(state["epoch"]) + 1, int(state["step"])
        history = [r for r in read_log(run_dir) if r.get("epoch", -1) < start_epoch]
        if dist.is_main:
            info(f"resuming {run_dir} after epoch {start_epoch} (step {step})")
    elif resume and dist.is_main:
        info(f"no checkpoint in {run_dir} yet: starting from scratch")

    train_model: nn.Module = model
    if dist.distributed:
        train_model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if cuda else None)

    for epoch in range(start_epoch, cfg.epochs):
        if cfg.max_steps is not None and step >= cfg.max_steps:
            break
        # Everything random in an epoch derives from (seed, epoch): resuming replays it exactly.
        torch.manual_seed(cfg.seed + 1000 * (epoch + 1))
        if dist.distributed:
            sampler: Any = torch.utils.data.DistributedSampler(dataset, shuffle=True, seed=cfg.seed,
                                                               drop_last=cfg.drop_last)
            sampler.set_epoch(epoch)
        else:
            sampler = RandomSampler(dataset,  # type: ignore[arg-type]  # map-style datasets have a length
                                    generator=torch.Generator().manual_seed(cfg.seed + epoch))
        loader = DataLoader(dataset, batch_size=cfg.batch_size, sampler=sampler, num_workers=workers,
                            collate_fn=collate_fn, pin_memory=cuda, drop_last=cfg.drop_last,
                            worker_init_fn=_seed_worker, generator=torch.Generator().manual_seed(cfg.seed + epoch),
                            persistent_workers=False)
        train_model.train()
        sums: dict[str, float] = {}
        n_batches, n_samples, t0 = 0, 0, time.perf_counter()
        batches = track(loader, f"epoch {epoch + 1}/{cfg.epochs}") if dist.is_main else loader
        for batch in batches:
            batch = to_device(batch, device, non_blocking=cuda)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
                loss, metrics = (loss_fn(train_model, batch, step=step) if wants_step  # type: ignore[call-arg]
                                 else loss_fn(train_model, batch))
            if not torch.isfinite(loss):
                raise WorkFailed(f"training diverged: loss is {loss.item()} at epoch {epoch + 1}, step {step + 1}; "
                                 f"lower the learning rate (lr, now {cfg.lr})")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            scheduler.step()
            step += 1
            n_batches += 1
            n_samples += _batch_size(batch)
            sums["loss"] = sums.get("loss", 0.0) + float(loss.detach())
            for k, v in metrics.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            if cfg.max_steps is not None and step >= cfg.max_steps:
                break
        if cuda:
            torch.cuda.synchronize(device)
        elapsed = time.perf_counter() - t0
        record: dict[str, Any] = {"epoch": epoch, "step": step, **{k: v / max(1, n_batches) for k, v in sums.items()},
                                  "samples_per_s": n_samples * dist.world_size / max(elapsed, 1e-9),
                                  "seconds": elapsed, "lr": scheduler.get_last_lr()[0]}
        if dist.is_main:
            if eval_fn is not None:
                model.eval()
                with torch.no_grad():
                    record.update({k: float(v) for k, v in eval_fn(model).items()})
            history.append(record)
            save_checkpoint(ckpt_path, model, optimizer, scheduler, epoch, step)
            write_log(run_dir, history)
            if on_epoch is not None:
                on_epoch(record)
        if dist.distributed:
            torch.distributed.barrier()
    if save_final and dist.is_main:
        save_final_weights(run_dir / WEIGHTS, model)
    return history

