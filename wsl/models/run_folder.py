"""The run folder every wsl model writes: versioned config, checkpoints read with ``weights_only``, the
JSONL log, final ``model.safetensors``, and the one resume policy (changed settings refused by name)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from wsl import __version__
from wsl.errors import BadInput
from wsl.io import atomic_open, load_json, write_json, write_text
from wsl.models.runtime import DistInfo, dist_info, seed_everything, select_device, unwrap
from wsl.progress import info

CHECKPOINT = "checkpoint.pt"


LOG = "log.jsonl"


CONFIG = "config.json"


WEIGHTS = "model.safetensors"


# Settings that may differ on --resume: where and how fast it runs, not what it learns.
RESUME_MAY_CHANGE = frozenset({"train.device", "train.num_workers", "train.amp", "train.channels_last"})


RUN_FORMAT = 1  # bump when a run folder written by an older wsl can no longer be read


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


def write_log(run_dir: Path, history: list[dict[str, Any]]) -> None:
    write_text(run_dir / LOG, "".join(json.dumps(r) + "\n" for r in history))
