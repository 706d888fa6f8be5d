"""Weakly supervised localisation by global max-pooling (Oquab et al. 2015).

The image trunk of the feature layer -> 1x1 convolution adaptation layers -> K class score maps ->
global max-pooling -> K image scores, trained with a sum of per-class logistic losses from image-level
tags only. The position of each map's maximum is where the model "points" for that class.

Geometry: images are resized to a square ``image_size`` input (aspect ratio is not kept; the point is
mapped back per axis). With the trunk's stride s, score-map cell (i, j) is centred on input position
(s*j + 0.5, s*i + 0.5) in continuous pixel coordinates (each stride-2 3x3 convolution with padding 1
centres output j on input 2j), which maps to original pixels by multiplying with W/size and H/size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from wsl.errors import BadInput
from wsl.features.backbones import TRUNKS, make_trunk, normalize_frames


@dataclass
class LocalizerConfig:
    """What rebuilds a localiser: classes, architecture, input size and the scales used."""

    classes: list[str]
    trunk: str = "small"
    adapt_channels: int = 256
    dropout: float = 0.1
    image_size: int = 224
    train_scales: tuple[float, float] = (0.7, 1.4)  # random rescaling range during training
    # Share of the training steps over which that range widens from (1, 1) to train_scales: random
    # rescaling from the first step keeps a from-scratch max-pool model at the label prior far longer
    # (measured on the digits data: no take-off in 700 steps, against ~600 at a fixed scale).
    scale_warmup: float = 1.0
    test_scales: tuple[float, ...] = (0.7, 1.0, 1.4)  # score maps averaged over these at test time
    flip: bool = True  # random horizontal flips during training
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["train_scales"], d["test_scales"] = list(self.train_scales), list(self.test_scales)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LocalizerConfig:
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        for key in ("train_scales", "test_scales"):
            if key in kw:
                kw[key] = tuple(float(s) for s in kw[key])
        return cls(**kw)

    def validate(self) -> None:
        if not self.classes:
            raise BadInput("a localiser needs at least one class")
        if self.trunk not in TRUNKS:
            raise BadInput(f"unknown trunk {self.trunk!r}: choose one of {', '.join(TRUNKS)}")
        if self.image_size < 32:
            raise BadInput(f"--image-size {self.image_size} is too small (at least 32)")
        lo, hi = self.train_scales
        if not 0 <= self.scale_warmup <= 1:
            raise BadInput(f"scale warm-up {self.scale_warmup} must be a share of the steps, in [0, 1]")
        if not (0 < lo <= hi):
            raise BadInput(f"bad training scale range {self.train_scales}")
        if not self.test_scales or min(self.test_scales) <= 0:
            raise BadInput(f"bad test scales {self.test_scales}")


class GlobalMaxPoolLocalizer(nn.Module):
    """Trunk -> adaptation (1x1 conv, ReLU, dropout, 1x1 conv to K maps) -> global max-pool.

    ``forward`` returns ``(scores (B, K), maps (B, K, h, w))``; scores are logits.
    """

    def __init__(self, num_classes: int, trunk: str = "small", adapt_channels: int = 256, dropout: float = 0.1):
        super().__init__()
        self.trunk = make_trunk(trunk)
        self.adapt = nn.Sequential(
            nn.Conv2d(self.trunk.out_channels, adapt_channels, 1), nn.ReLU(inplace=True), nn.Dropout2d(dropout),
            nn.Conv2d(adapt_channels, num_classes, 1),
        )
        self.stride = self.trunk.stride
        self.num_classes = int(num_classes)

    @classmethod
    def from_config(cls, cfg: LocalizerConfig) -> GlobalMaxPoolLocalizer:
        return cls(len(cfg.classes), cfg.trunk, cfg.adapt_channels, cfg.dropout)

    @torch.no_grad()
    def init_class_priors(self, frequencies: Sequence[float], sample: torch.Tensor) -> None:
        """Start every class' max-pooled score at the logit of its label frequency.

        Why: with a few percent positives per class and scores starting near sigmoid 0.5, the
        negatives push each class map down at its maximum, which is the most salient object; object
        responses get suppressed in every map, the maximum moves to background, and training stalls
        at the label prior (measured: chance mAP after 800 steps on the digits data). Starting at
        the prior removes that first push. ``sample`` is a normalised batch used to measure how far
        the max over positions lies above the bias; the model's state is left as it was otherwise.
        """
        state = {k: v.clone() for k, v in self.state_dict().items()}
        last = self.adapt[-1]
        offset = (self.score_maps(sample).amax(dim=(2, 3)) - last.bias).mean(0)
        self.load_state_dict(state)  # undo the BatchNorm statistics that forward pass updated
        p = torch.tensor(list(frequencies), dtype=torch.float32).clamp(1e-3, 1 - 1e-3)
        last.bias.copy_(torch.log(p / (1 - p)).to(last.bias) - offset)

    def score_maps(self, x: torch.Tensor) -> torch.Tensor:
        return self.adapt(self.trunk(x))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        maps = self.score_maps(x)
        return maps.amax(dim=(2, 3)), maps


def multilabel_loss(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Sum over classes of per-class logistic losses, averaged over the batch (computed in float32)."""
    return F.binary_cross_entropy_with_logits(scores.float(), targets.float(), reduction="sum") / max(
        1, scores.shape[0])


def rescale(images: torch.Tensor, scale: float) -> torch.Tensor:
    """Resize a batch (B, 3, H, W) by ``scale`` (bilinear); identity at scale 1."""
    if scale == 1.0:
        return images
    h, w = images.shape[-2:]
    size = (max(8, round(h * scale)), max(8, round(w * scale)))
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=scale < 1)


def _source_cells(n_dst: int, dst_len: int, src_len: int, n_src: int, stride: int) -> torch.Tensor:
    """For destination cells 0..n_dst-1 of a map over an input of length dst_len, the fractional
    source-cell index over an input of length src_len (same image content, other resolution)."""
    u = (torch.arange(n_dst, dtype=torch.float32) * stride + 0.5) * (src_len / dst_len)
    return ((u - 0.5) / stride).clamp(0, max(n_src - 1, 0))


def resample_maps(maps: torch.Tensor, src_input: tuple[int, int], dst_input: tuple[int, int],
                  dst_cells: tuple[int, int], stride: int) -> torch.Tensor:
    """Bilinearly resample score maps computed on a ``src_input`` (H, W) input onto the cell grid of a
    ``dst_input`` input, keeping cell centres aligned with image content (see the module docstring)."""
    n_src_h, n_src_w = maps.shape[-2:]
    ys = _source_cells(dst_cells[0], dst_input[0], src_input[0], n_src_h, stride)
    xs = _source_cells(dst_cells[1], dst_input[1], src_input[1], n_src_w, stride)
    # grid_sample with align_corners=True maps -1..1 onto the first..last cell centre.
    gy = ys / max(n_src_h - 1, 1) * 2 - 1
    gx = xs / max(n_src_w - 1, 1) * 2 - 1
    grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], dim=-1).to(maps.device, maps.dtype)
    grid = grid.unsqueeze(0).expand(maps.shape[0], -1, -1, -1)
    return F.grid_sample(maps, grid, mode="bilinear", padding_mode="border", align_corners=True)


@torch.no_grad()
def multiscale_maps(model: GlobalMaxPoolLocalizer, images: torch.Tensor, scales: Sequence[float]) -> torch.Tensor:
    """Score maps (B, K, h, w) on the base input's cell grid, averaged over ``scales``.

    ``images`` is a normalised batch at the base size. Averaging maps (rather than per-scale maxima)
    keeps the image score and the pointed location consistent: both come from the same map.
    """
    base = tuple(images.shape[-2:])
    stride = model.stride
    cells = (-(-base[0] // stride), -(-base[1] // stride))
    total = None
    for s in scales:
        x = rescale(images, float(s))
        maps = model.score_maps(x).float()
        if tuple(maps.shape[-2:]) != cells or tuple(x.shape[-2:]) != base:
            maps = resample_maps(maps, tuple(x.shape[-2:]), base, cells, stride)
        total = maps if total is None else total + maps
    assert total is not None
    return total / len(scales)


def peak_points(maps: torch.Tensor, stride: int, input_hw: tuple[int, int], original_wh: torch.Tensor
                ) -> torch.Tensor:
    """(x, y) of each map's maximum in original pixels: (B, K, 2) from maps (B, K, h, w).

    The argmax cell is refined by a parabola through it and its neighbours along each axis (at most
    half a cell), then mapped through the cell-centre geometry and the per-axis resize factor.
    """
    b, k, h, w = maps.shape
    flat = maps.reshape(b, k, -1)
    idx = flat.argmax(dim=-1)
    iy, ix = idx // w, idx % w

    def refine(line: torch.Tensor, i: torch.Tensor, n: int) -> torch.Tensor:
        c = line.gather(-1, i.unsqueeze(-1)).squeeze(-1)
        left = line.gather(-1, (i - 1).clamp(min=0).unsqueeze(-1)).squeeze(-1)
        right = line.gather(-1, (i + 1).clamp(max=n - 1).unsqueeze(-1)).squeeze(-1)
        denom = left - 2 * c + right
        off = torch.where(denom < 0, 0.5 * (left - right) / denom.clamp(max=-1e-12), torch.zeros_like(c))
        off = torch.where((i == 0) | (i == n - 1), torch.zeros_like(off), off)
        return i.float() + off.clamp(-0.5, 0.5)

    rows = maps.gather(2, iy.view(b, k, 1, 1).expand(b, k, 1, w)).squeeze(2)  # (B, K, w) through the peak
    cols = maps.gather(3, ix.view(b, k, 1, 1).expand(b, k, h, 1)).squeeze(3)  # (B, K, h)
    fx = refine(rows, ix, w) if w > 1 else ix.float()
    fy = refine(cols, iy, h) if h > 1 else iy.float()
    sx = original_wh[:, 0].float().view(b, 1) / input_hw[1]
    sy = original_wh[:, 1].float().view(b, 1) / input_hw[0]
    x = ((fx * stride + 0.5) * sx).clamp(min=0)
    y = ((fy * stride + 0.5) * sy).clamp(min=0)
    return torch.stack([torch.minimum(x, original_wh[:, 0:1].float()), torch.minimum(y, original_wh[:, 1:2].float())],
                       dim=-1)


def prepare(images: torch.Tensor, channels_last: bool = False, scale: float = 1.0) -> torch.Tensor:
    """uint8 batch -> normalised float input, rescaled, channels_last when asked (CUDA convolutions like it)."""
    x = rescale(normalize_frames(images), scale)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x
