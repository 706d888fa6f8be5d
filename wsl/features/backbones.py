"""Torch backbones shared by the models: an image trunk giving spatial maps and a clip encoder giving vectors.

Both train from scratch (no pretrained weights can be fetched here) or load user-supplied weights
through ``load_weights`` (safetensors or a state dict, always ``weights_only``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from wsl.errors import BadInput

# Presets of (stage widths, output stride). Each stage is a strided conv followed by a residual block.
TRUNKS: dict[str, tuple[tuple[int, ...], int]] = {
    "tiny": ((16, 32, 64, 128), 8),
    "small": ((32, 64, 128, 256), 8),
    "base": ((64, 128, 256, 512), 16),
}


class _Residual(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class ImageTrunk(nn.Module):
    """Fully convolutional trunk: (B, 3, H, W) -> (B, out_channels, ceil(H / stride), ceil(W / stride)).

    Attributes ``out_channels`` and ``stride`` tell the heads built on it what they get. Being fully
    convolutional, it takes any input size, which the localiser's multi-scale training relies on.
    """

    def __init__(self, widths: Sequence[int] = TRUNKS["small"][0], stride: int = 8, in_channels: int = 3):
        super().__init__()
        if stride not in (2, 4, 8, 16, 32) or 2 ** len(widths) < stride:
            raise ValueError(f"stride {stride} needs to be a power of two reachable with {len(widths)} stages")
        layers: list[nn.Module] = []
        reached, prev = 1, in_channels
        for width in widths:
            step = 2 if reached < stride else 1
            reached *= step
            layers += [nn.Conv2d(prev, width, 3, stride=step, padding=1, bias=False), nn.BatchNorm2d(width),
                       nn.ReLU(inplace=True), _Residual(width)]
            prev = width
        self.body = nn.Sequential(*layers)
        self.out_channels = int(widths[-1])
        self.stride = int(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def make_trunk(name: str = "small") -> ImageTrunk:
    """An ImageTrunk from a preset name (see ``TRUNKS``)."""
    if name not in TRUNKS:
        raise BadInput(f"unknown trunk {name!r}: choose one of {', '.join(TRUNKS)}")
    widths, stride = TRUNKS[name]
    return ImageTrunk(widths, stride)


class ClipEncoder(nn.Module):
    """Clip of frames (B, T, 3, H, W) -> one vector (B, out_dim) per clip.

    A frame-wise ImageTrunk, spatial average pooling, a temporal convolution over the frame vectors,
    max-pooling over time and a linear projection: cheap enough to train end-to-end on CPU, and the
    temporal convolution lets it see motion that single frames miss.
    """

    def __init__(self, trunk: ImageTrunk | None = None, out_dim: int = 512, temporal_kernel: int = 3):
        super().__init__()
        self.trunk = trunk if trunk is not None else make_trunk("tiny")
        c = self.trunk.out_channels
        self.temporal = nn.Sequential(
            nn.Conv1d(c, c, temporal_kernel, padding=temporal_kernel // 2), nn.ReLU(inplace=True))
        self.proj = nn.Linear(c, out_dim)
        self.out_dim = int(out_dim)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        if clips.ndim != 5:
            raise ValueError(f"ClipEncoder expects (B, T, 3, H, W), got {tuple(clips.shape)}")
        b, t = clips.shape[:2]
        maps = self.trunk(clips.flatten(0, 1))  # (B*T, C, h, w)
        frames = maps.mean(dim=(2, 3)).view(b, t, -1).transpose(1, 2)  # (B, C, T)
        return self.proj(self.temporal(frames).amax(dim=2))


def normalize_frames(frames: torch.Tensor) -> torch.Tensor:
    """uint8 RGB in [0, 255] -> float in about [-1, 1], the input scale every backbone here is trained on."""
    return frames.float().div_(127.5).sub_(1.0)


def safe_torch_load(path: str | os.PathLike[str], what: str = "weights") -> object:
    """``torch.load(weights_only=True)`` with one-line errors.

    A file holding anything but tensors and plain containers is refused as possibly unsafe; the
    message never suggests loading it unsafely (torch's own message does).
    """
    import pickle

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise BadInput(f"refused to load these {what}: the file holds objects other than tensors (it may run "
                       "code when unpickled); only files of plain tensors are read", path) from None
    except Exception as e:  # truncated, not a torch file at all: the user's input problem
        first = (str(e).strip().splitlines() or [""])[0][:160]
        raise BadInput(f"cannot read {what} ({type(e).__name__}: {first})", path) from None


def _read_state(path: Path) -> Mapping[str, torch.Tensor]:
    if not path.exists():
        raise BadInput("no such weights file", path)
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file

            state: Any = load_file(str(path))
        except Exception as e:  # any unreadable file is the user's input problem
            raise BadInput(f"cannot read weights ({type(e).__name__}: {e})", path) from None
    else:
        state = safe_torch_load(path)
    # Accept the common checkpoint wrappers around a state dict.
    for key in ("state_dict", "model", "trunk"):
        if isinstance(state, Mapping) and key in state and isinstance(state[key], Mapping):
            state = state[key]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BadInput("not a state dict of tensors (safetensors, or torch.save(model.state_dict()))", path)
    return state


def load_weights(module: nn.Module, path: str | os.PathLike[str], prefix: str = "") -> None:
    """Load user-supplied weights into ``module``; every key and shape must match (DDP's ``module.`` is stripped).

    ``prefix`` selects a sub-dict, e.g. ``"trunk."`` to take a trunk out of a whole model's weights.
    """
    path = Path(path)
    state = {k.removeprefix("module."): v for k, v in _read_state(path).items()}
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    shapes = [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in own
              if k in state and state[k].shape != own[k].shape]
    if missing or extra or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s) e.g. {', '.join(missing[:3])}")
        if extra:
            parts.append(f"{len(extra)} unexpected key(s) e.g. {', '.join(extra[:3])}")
        if shapes:
            parts.append(f"{len(shapes)} shape mismatch(es) e.g. {'; '.join(shapes[:3])}")
        raise BadInput(f"weights do not fit this {type(module).__name__}: {'; '.join(parts)}", path)
    module.load_state_dict(state, strict=True)


def save_weights(module: nn.Module, path: str | os.PathLike[str]) -> None:
    """Save ``module``'s weights as safetensors, atomically."""
    from safetensors.torch import save

    from wsl.io import write_bytes

    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    write_bytes(path, save(state))
