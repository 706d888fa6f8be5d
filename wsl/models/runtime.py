"""Where a training or inference process runs: device choice, torchrun's process group, seeding."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from wsl.errors import BadInput


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
