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

import json
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

from wsl import __version__
from wsl.errors import BadInput, WorkFailed
from wsl.io import atomic_open, load_json, write_json, write_text
from wsl.progress import info, track

CHECKPOINT = "checkpoint.pt"
LOG = "log.jsonl"
CONFIG = "config.json"
WEIGHTS = "model.safetensors"
# Settings that may differ on --resume: where and how fast it runs, not what it learns.
RESUME_MAY_CHANGE = frozenset({"train.device", "train.num_workers", "train.amp", "train.channels_last"})
RUN_FORMAT = 1  # bump when a run folder written by an older wsl can no longer be read

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


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def dist_info() -> DistInfo:
    """Rank, world size and local rank from torchrun's environment (1 process when absent)."""
    return DistInfo(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                    int(os.environ.get("LOCAL_RANK", 0)))


def select_device(name: str = "auto", dist: DistInfo | None = None) -> torch.device:
    """``auto``: this process's GPU under torchrun (LOCAL_RANK), else the first GPU, else the CPU.

    ``cuda:N`` is honoured as given (under torchrun with plain ``cuda``, each process takes its LOCAL_RANK).
    """
    dist = dist or dist_info()
    if name == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        # More processes than GPUs (a smoke test on one GPU): they share, round robin.
        return torch.device(f"cuda:{dist.local_rank % torch.cuda.device_count()}")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise BadInput(f"device {name!r} is not a torch device: use auto, cpu, cuda or cuda:N",
                       param="device") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise BadInput(f"device {name}: CUDA is not available here (torch {torch.__version__}); use cpu or auto",
                           param="device")
        if device.index is None:
            index = dist.local_rank % torch.cuda.device_count() if dist.distributed else torch.cuda.current_device()
            device = torch.device(f"cuda:{index}")
        if device.index >= torch.cuda.device_count():
            raise BadInput(f"device {name}: only {torch.cuda.device_count()} CUDA device(s) here", param="device")
    elif device.type != "cpu":
        raise BadInput(f"device {name!r} is not supported: use auto, cpu, cuda or cuda:N", param="device")
    return device


def init_distributed(device: torch.device) -> DistInfo:
    """Join torchrun's process group when launched with several processes: NCCL with one GPU per process,
    gloo on CPU or when processes share a GPU (NCCL refuses two ranks on one device)."""
    dist = dist_info()
    if dist.distributed and not torch.distributed.is_initialized():
        backend = "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
            local_procs = int(os.environ.get("LOCAL_WORLD_SIZE", dist.world_size))
            backend = "nccl" if torch.cuda.device_count() >= local_procs else "gloo"
        torch.distributed.init_process_group(backend)
    return dist


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel wrapper (for attribute access; call the wrapper to train)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def to_device(batch: Any, device: torch.device, non_blocking: bool = False) -> Any:
    """Move every tensor in a (nested) batch to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device, non_blocking) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        moved = [to_device(v, device, non_blocking) for v in batch]
        return type(batch)(moved) if not hasattr(batch, "_fields") else type(batch)(*moved)
    return batch


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

def save_run_config(run_dir: str | os.PathLike[str], kind: str, config: Mapping[str, Any]) -> None:
    """Write ``config.json``: what predict/eval need to rebuild the model, with the format version."""
    write_json(Path(run_dir) / CONFIG, {"kind": kind, "format": RUN_FORMAT, "wsl_version": __version__, **config})


def load_run_config(run_dir: str | os.PathLike[str], kind: str) -> dict[str, Any]:
    """Read a run folder's config, refusing runs of another kind or of an unreadable format version."""
    path = Path(run_dir) / CONFIG
    if not path.exists():
        raise BadInput(f"not a run folder (no {CONFIG}); train one with wsl.{kind}.train", run_dir)
    cfg = load_json(path)
    if not isinstance(cfg, dict) or cfg.get("kind") != kind:
        raise BadInput(f"this run folder holds a {cfg.get('kind') if isinstance(cfg, dict) else '?'} model, "
                       f"not a {kind} model", path)
    if cfg.get("format") != RUN_FORMAT:
        raise BadInput(f"run folder format {cfg.get('format')} (written by wsl {cfg.get('wsl_version', '?')}) is not "
                       f"readable by wsl {__version__} (format {RUN_FORMAT}); retrain, or use that wsl version", path)
    return cfg


def save_checkpoint(path: str | os.PathLike[str], model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    scheduler: Any = None, epoch: int = -1, step: int = 0, extra: Mapping[str, Any] | None = None
                    ) -> None:
    """Save state dicts only (loadable with ``weights_only=True``), through a temporary file."""
    state: dict[str, Any] = {"model": unwrap(model).state_dict(), "epoch": epoch, "step": step,
                             "format": RUN_FORMAT, "wsl_version": __version__, "extra": dict(extra or {})}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    with atomic_open(path, "wb") as f:
        torch.save(state, f)


def load_checkpoint(path: str | os.PathLike[str], model: nn.Module | None = None,
                    optimizer: torch.optim.Optimizer | None = None, scheduler: Any = None) -> dict[str, Any]:
    """Load a checkpoint (``weights_only=True``) into whichever of model/optimizer/scheduler are given."""
    path = Path(path)
    if not path.exists():
        raise BadInput("no checkpoint here", path)
    from wsl.features.backbones import safe_torch_load

    state = safe_torch_load(path, "checkpoint")
    if not isinstance(state, dict) or "model" not in state:
        raise BadInput("not a wsl checkpoint (no model state)", path)
    if model is not None:
        try:
            unwrap(model).load_state_dict(state["model"])
        except RuntimeError as e:
            first = str(e).strip().splitlines()
            raise BadInput(f"checkpoint does not fit the model ({first[0] if first else e})", path) from None
    if optimizer is not None and "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and "scheduler" in state:
        scheduler.load_state_dict(state["scheduler"])
    return state


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = list(v) if isinstance(v, tuple) else v
    return out


def changed_settings(old: Mapping[str, Any], new: Mapping[str, Any],
                     may_change: frozenset[str] = RESUME_MAY_CHANGE) -> list[str]:
    """Dotted names of the settings that differ between two run configs (``train.lr``, ``model.classes``)."""
    a, b = _flatten(old), _flatten(new)
    skip = {"kind", "format", "wsl_version"} | set(may_change)
    return sorted(k for k in set(a) | set(b) if k not in skip and not k.startswith("data.") and a.get(k) != b.get(k))


@dataclass(frozen=True)
class RunFolder:
    """A prepared run folder: where it is, which device, this process's rank, whether it resumes."""

    path: Path
    kind: str
    device: torch.device
    dist: DistInfo
    resume: bool  # True when a checkpoint is there to continue

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT

    @property
    def weights(self) -> Path:
        return self.path / WEIGHTS

    @property
    def is_main(self) -> bool:
        return self.dist.is_main

    def report(self, message: str) -> None:
        """A status line from rank 0 only (other ranks of a torchrun job stay silent)."""
        if self.is_main:
            info(message)

    def save_weights(self, model: nn.Module) -> None:
        """The final weights as ``model.safetensors`` (rank 0 writes)."""
        if self.is_main:
            save_final_weights(self.path / WEIGHTS, model)


def save_final_weights(path: str | os.PathLike[str], model: nn.Module) -> None:
    """``model``'s state dict as safetensors, atomically (tensors only: always safe to load)."""
    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous() for k, v in unwrap(model).state_dict().items()}
    with atomic_open(path, "wb") as f:
        f.write(save(state))


def prepare_run(run_dir: str | os.PathLike[str], kind: str, config: Mapping[str, Any], resume: bool = False,
                device: str = "auto", seed: int | None = 0,
                may_change: frozenset[str] = RESUME_MAY_CHANGE) -> RunFolder:
    """Set up a run folder before a model is built; the one policy of every wsl model.

    - ``device`` is resolved once (``auto``, ``cpu``, ``cuda``, ``cuda:N``; torchrun's LOCAL_RANK for auto).
    - A folder that holds a checkpoint is refused unless ``resume``.
    - With ``resume``, ``config`` is compared with the saved one and any changed setting (other than
      ``may_change``, e.g. the device) is refused, naming it: a resumed run is the same experiment.
    - ``config.json`` (``config`` plus kind and format version) is written by rank 0.
    - The random generators are seeded with ``seed`` here, so the model's initial weights depend on it.
    """
    path = Path(run_dir)
    dist = dist_info()
    dev = select_device(device, dist)
    has_checkpoint = (path / CHECKPOINT).exists()
    if has_checkpoint and not resume:
        raise BadInput("this run folder already holds a checkpoint: pass `resume` to continue it, or choose another "
                       "output folder",
                       path, param="resume")
    if resume and (path / CONFIG).exists():
        old = load_run_config(path, kind)
        changed = changed_settings(old, dict(config), may_change)
        if changed:
            shown = ", ".join(f"{k} ({_flatten(old).get(k)!r} -> {_flatten(config).get(k)!r})" for k in changed[:4])
            raise BadInput(f"resume with changed settings: {shown}{' ...' if len(changed) > 4 else ''}; use the "
                           "run's settings or a new output folder", path / CONFIG, param="resume")
    if path.exists() and not path.is_dir():
        raise BadInput("is a file; a run folder is needed here", path)
    if dist.is_main:
        path.mkdir(parents=True, exist_ok=True)
        save_run_config(path, kind, config)
    if seed is not None:
        seed_everything(seed)
    return RunFolder(path, kind, dev, dist, resume and has_checkpoint)


def read_log(run_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    path = Path(run_dir) / LOG
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write_log(run_dir: Path, history: list[dict[str, Any]]) -> None:
    write_text(run_dir / LOG, "".join(json.dumps(r) + "\n" for r in history))


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
            _write_log(run_dir, history)
            if on_epoch is not None:
                on_epoch(record)
        if dist.distributed:
            torch.distributed.barrier()
    if save_final and dist.is_main:
        save_final_weights(run_dir / WEIGHTS, model)
    return history

