"""Image preprocessing for every backbone, in one place: reading, resizing policy, normalisation, memory format.

- Reading (``read_rgb``): any PIL image -> 8-bit RGB. Grayscale is replicated, palette/alpha images
  are converted, CMYK goes through PIL's conversion, and 16-bit or float images are scaled to 8 bits
  by their range (``convert("RGB")`` would clip them to white, a silently wrong input). Decompression
  bombs and images too small for a trunk are refused with one line.
- Resizing (``input_size``): square for the localiser (points map back per axis), or shorter side to
  ``size`` with the aspect ratio kept for video frames; either way each side a multiple of the
  trunk's stride, so feature-map cells tile the input exactly.
- Normalisation (``normalize``): ImageNet mean/std for the pretrained trunks, [-1, 1] for the
  from-scratch ones (the scale they were always trained on); channels_last on request.

No torch at import: torch is imported inside the functions that build tensors.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from wsl.errors import BadInput

if TYPE_CHECKING:
    import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Images with more pixels than this are refused rather than decoded (PIL's own bomb limit is 2x this).
MAX_PIXELS = 89_478_485


def normalize(images: torch.Tensor, kind: str = "imagenet", channels_last: bool = False) -> torch.Tensor:
    """uint8 (B, 3, H, W) RGB -> float input. ``kind``: ``imagenet`` (mean/std) or ``symmetric`` ([-1, 1])."""
    import torch

    x = images.float()
    if kind == "imagenet":
        mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1) * 255.0
        std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1) * 255.0
        x = (x - mean) / std
    elif kind == "symmetric":
        x = x.div_(127.5).sub_(1.0)
    else:
        raise ValueError(f"unknown normalisation {kind!r}")
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def round_to(value: float, multiple: int) -> int:
    """``value`` rounded to the nearest positive multiple of ``multiple``."""
    return max(multiple, multiple * round(value / multiple))


def input_size(width: int, height: int, size: int, stride: int, keep_aspect: bool) -> tuple[int, int]:
    """(W, H) the network sees: ``size`` x ``size``, or shorter side ``size`` with the aspect kept;
    each side a multiple of ``stride``."""
    if not keep_aspect:
        side = round_to(size, stride)
        return side, side
    scale = size / min(width, height)
    return round_to(width * scale, stride), round_to(height * scale, stride)


def check_size(width: int, height: int, stride: int, path: str | os.PathLike[str] | None = None) -> None:
    """Refuse images smaller than one cell of the trunk (nothing to localise or describe)."""
    if min(width, height) < stride:
        raise BadInput(f"image is {width}x{height} px, smaller than the trunk's stride of {stride} px", path)


def to_rgb8(im: Any) -> np.ndarray:
    """A PIL image in any mode -> (H, W, 3) uint8 RGB, scaling high-bit-depth images by their range."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        if mode.startswith("I;16"):
            arr = arr / 257.0  # 0..65535 -> 0..255
        else:
            lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
            arr = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
        gray = np.clip(np.nan_to_num(arr), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    return np.array(im.convert("RGB"), dtype=np.uint8)


def open_image(path: str | os.PathLike[str]) -> Any:
    """Open an image lazily (header only), refusing decompression bombs; BadInput on anything unreadable."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        im = Image.open(path)
    except FileNotFoundError:
        raise BadInput("no such image file", path) from None
    except Image.DecompressionBombError:
        raise BadInput("image has too many pixels to be decoded safely (decompression bomb?)", path) from None
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise BadInput(f"not a readable image ({type(e).__name__}: {e})", path) from None
    w, h = im.size
    if w < 1 or h < 1:
        im.close()
        raise BadInput("empty image (0 pixels)", path)
    if w * h > MAX_PIXELS:
        im.close()
        raise BadInput(f"image is {w}x{h} px, too many pixels to decode safely (decompression bomb?)", path)
    return im


def read_rgb(path: str | os.PathLike[str], size: tuple[int, int] | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode an image to uint8 RGB, resized to ``size`` (W, H) when given: (pixels (H, W, 3), original (W, H)).

    JPEG ``draft`` mode decodes big photos at a reduced scale first (several times cheaper). Truncated
    or corrupt files raise BadInput, never half-load.
    """
    from PIL import Image

    im = open_image(path)
    try:
        original = im.size
        if size is not None and im.mode in ("RGB", "L", "CMYK", "YCbCr"):
            im.draft(im.mode, size)
        rgb = to_rgb8(im)
    except BadInput:
        raise
    except Exception as e:  # truncated data, bad codec state: the file's problem, not ours
        raise BadInput(f"cannot decode image ({type(e).__name__}: {e})", path) from None
    finally:
        im.close()
    if size is not None and (rgb.shape[1], rgb.shape[0]) != tuple(size):
        rgb = np.array(Image.fromarray(rgb).resize((int(size[0]), int(size[1])), Image.Resampling.BILINEAR),
                       dtype=np.uint8)
    return rgb, original
