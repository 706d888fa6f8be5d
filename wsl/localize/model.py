"""The global max-pool localiser of Oquab et al. 2015: trunk -> adaptation layers -> class maps -> max-pool.

The trunk of the feature layer (by default the ImageNet-pretrained EfficientNet-Lite0; a from-scratch
``ImageTrunk`` as an option) -> 1x1 convolution adaptation layers -> K class score maps -> global
max-pooling -> K image scores, trained with a sum of per-class logistic losses from image-level tags
only. The position of each map's maximum is where the model "points" for that class.

Geometry: images are resized to a square input (aspect ratio not kept; points are mapped back per
axis), each side a multiple of the trunk's stride. With stride s, score-map cell (i, j) is centred on
input position (s*j + 0.5, s*i + 0.5) in continuous pixel coordinates, which maps to original pixels
by multiplying with W/size and H/size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from wsl.errors import BadInput
from wsl.features.backbones import TRUNKS, make_trunk
from wsl.features.preprocess import normalize, round_to
from wsl.features.pretrained import PRETRAINED, load_pretrained

TRUNK_CHOICES = (*PRETRAINED, *TRUNKS)


@dataclass
class LocalizerConfig:
    """What rebuilds a localiser: classes, architecture, input size and the scales used."""

    classes: list[str]
    trunk: str = "lite0"  # a pretrained trunk (lite0, lite1, lite2) or a from-scratch preset (tiny, small, base)
    adapt_channels: int = 256
    dropout: float = 0.3
    image_size: int = 224
    # Training scales. With a frozen trunk, the maps at each listed scale are computed once and
    # cached, and each batch uses one of them; when the trunk trains, each batch draws a scale in
    # [min, max] (Oquab's random rescaling).
    train_scales: tuple[float, ...] = (1.0, 1.3)
    # Share of the training steps over which the range widens from 1 to train_scales (trunk trained
    # only): random rescaling from the first step keeps a from-scratch max-pool model at the label
    # prior far longer (measured on the digits data: no take-off in 700 steps, against ~600).
    scale_warmup: float = 0.0
    test_scales: tuple[float, ...] = (1.0, 1.3)  # score maps averaged over these at test time
    flip: bool = True  # random horizontal flips when the trunk trains (a frozen 1x1 head is flip-invariant)
    finetune_stages: int = 0  # pretrained trunk: last stages trained with the head (0: frozen, maps cached)
    trunk_weights: str | None = None  # another weights file for the pretrained trunk
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

    @property
    def pretrained(self) -> bool:
        return self.trunk in PRETRAINED

    @property
    def stride(self) -> int:
        return 32 if self.pretrained else TRUNKS[self.trunk][1]

    @property
    def frozen(self) -> bool:
        """True when the trunk does not train: its maps are computed once and cached."""
        return self.pretrained and self.finetune_stages == 0

    def side(self, scale: float = 1.0) -> int:
        """Input side at ``scale``: a multiple of the trunk's stride."""
        return round_to(self.image_size * scale, self.stride)

    def validate(self) -> None:
        if not self.classes:
            raise BadInput("a localiser needs at least one class", param="classes")
        if self.trunk not in TRUNK_CHOICES:
            raise BadInput(f"unknown trunk {self.trunk!r}: choose one of {', '.join(TRUNK_CHOICES)}", param="trunk")
        if self.image_size < 32 or (self.pretrained and self.image_size % 32):
            raise BadInput(f"image_size {self.image_size} must be at least 32"
                           + (" and a multiple of 32 for a pretrained trunk" if self.pretrained else ""),
                           param="image_size")
        if not 0 <= self.scale_warmup <= 1:
            raise BadInput(f"scale_warmup {self.scale_warmup} must be a share of the steps, in [0, 1]",
                           param="scale_warmup")
        if not self.train_scales or min(self.train_scales) <= 0:
            raise BadInput(f"train_scales {self.train_scales} must be positive numbers", param="train_scales")
        if not self.test_scales or min(self.test_scales) <= 0:
            raise BadInput(f"test_scales {self.test_scales} must be positive numbers", param="test_scales")
        if self.finetune_stages and not self.pretrained:
            raise BadInput("finetune_stages applies to a pretrained trunk only", param="finetune_stages")
        if self.finetune_stages < 0:
            raise BadInput(f"finetune_stages must be 0 or more, got {self.finetune_stages}", param="finetune_stages")


class GlobalMaxPoolLocalizer(nn.Module):
    """Trunk -> adaptation (1x1 conv, ReLU, dropout, 1x1 conv to K maps) -> global max-pool.

    ``forward`` returns ``(scores (B, K), maps (B, K, h, w))``; scores are logits.
    """

    def __init__(self, num_classes: int, trunk: str = "lite0", adapt_channels: int = 256, dropout: float = 0.3,
                 finetune_stages: int = 0, trunk_weights: str | None = None):
        super().__init__()
        self.trunk: nn.Module
        if trunk in PRETRAINED:
            self.trunk = load_pretrained(trunk, trunk_weights)
            self.trunk.set_trainable(finetune_stages)
        else:
            self.trunk = make_trunk(trunk)
            if trunk_weights:
                load_trunk_weights(self.trunk, trunk_weights)
        channels = int(self.trunk.out_channels)
        # Dropout on the trunk's features first: with a frozen pretrained trunk the head is all that
        # learns, from a few hundred images, and over-fits without it.
        self.adapt = nn.Sequential(
            nn.Dropout2d(dropout), nn.Conv2d(channels, adapt_channels, 1), nn.ReLU(inplace=True),
            nn.Dropout2d(dropout), nn.Conv2d(adapt_channels, num_classes, 1),
        )
        self.stride = int(self.trunk.stride)
        self.normalization = str(getattr(self.trunk, "normalization", "symmetric"))
        self.num_classes = int(num_classes)

    @classmethod
    def from_config(cls, cfg: LocalizerConfig) -> GlobalMaxPoolLocalizer:
        return cls(len(cfg.classes), cfg.trunk, cfg.adapt_channels, cfg.dropout, cfg.finetune_stages,
                   cfg.trunk_weights)

    @torch.no_grad()
    def init_class_priors(self, frequencies: Sequence[float], sample: torch.Tensor) -> None:
        """Start every class' max-pooled score at the logit of its label frequency.

        Why: with a few percent positives per class and scores starting near sigmoid 0.5, the
        negatives push each class map down at its maximum, which is the most salient object; object
        responses get suppressed in every map, the maximum moves to background, and training stalls
        at the label prior (measured: chance mAP after 800 steps on the digits data). Starting at
        the prior removes that first push. ``sample`` is a normalised batch of images (or of trunk
        maps) used to measure how far the max over positions lies above the bias; the model's state
        is left as it was otherwise.
        """
        state = {k: v.clone() for k, v in self.state_dict().items()}
        last: Any = self.adapt[-1]
        was_training = self.training
        self.eval()
        maps = self.adapt(sample) if sample.shape[1] == self.trunk.out_channels else self.score_maps(sample)
        offset = (maps.amax(dim=(2, 3)) - last.bias).mean(0)
        self.train(was_training)
        self.load_state_dict(state)  # undo the BatchNorm statistics that forward pass updated
        p = torch.tensor(list(frequencies), dtype=torch.float32).clamp(1e-3, 1 - 1e-3)
        last.bias.copy_(torch.log(p / (1 - p)).to(last.bias) - offset)

    def score_maps(self, x: torch.Tensor) -> torch.Tensor:
        return self.adapt(self.trunk(x))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        maps = self.score_maps(x)
        return maps.amax(dim=(2, 3)), maps


def load_trunk_weights(trunk: nn.Module, path: str) -> None:
    """Seed a from-scratch trunk from a bare trunk's weights, or from a whole localiser's (``trunk.*``)."""
    from wsl.features.backbones import load_weights

    try:
        load_weights(trunk, path)
    except BadInput as bare_error:
        try:
            load_weights(trunk, path, prefix="trunk.")
        except BadInput:
            raise bare_error from None


def multilabel_loss(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Sum over classes of per-class logistic losses, averaged over the batch (computed in float32)."""
    return F.binary_cross_entropy_with_logits(scores.float(), targets.float(), reduction="sum") / max(
        1, scores.shape[0])


def rescale(images: torch.Tensor, scale: float, multiple: int = 1) -> torch.Tensor:
    """Resize a batch (B, 3, H, W) by ``scale`` (bilinear), sides rounded to ``multiple``; identity at 1."""
    h, w = images.shape[-2:]
    size = (max(multiple, round_to(h * scale, multiple)), max(multiple, round_to(w * scale, multiple)))
    if size == (h, w):
        return images
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=size[0] < h)


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
    base = (int(images.shape[-2]), int(images.shape[-1]))
    stride = model.stride
    cells = (-(-base[0] // stride), -(-base[1] // stride))
    total = None
    for s in scales:
        x = rescale(images, float(s), stride if model.normalization == "imagenet" else 1)
        maps = model.score_maps(x).float()
        if tuple(maps.shape[-2:]) != cells or tuple(x.shape[-2:]) != base:
            maps = resample_maps(maps, (int(x.shape[-2]), int(x.shape[-1])), base, cells, stride)
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


def prepare(images: torch.Tensor, normalization: str = "imagenet", channels_last: bool = False,
            scale: float = 1.0, multiple: int = 1) -> torch.Tensor:
    """uint8 batch -> normalised float input (the trunk's normalisation), rescaled with sides a multiple
    of ``multiple``, channels_last when asked (CUDA convolutions like it)."""
    x = rescale(normalize(images, normalization), scale, multiple)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x
