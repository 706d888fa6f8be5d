"""Demo localisation data: real handwritten digits (scikit-learn's bundled 8x8 digits) on cluttered images.

Each image holds a few digits at random positions and sizes over a background of colour gradients,
noise, lines, rectangles, ellipses and stroke-like scribbles (so "find any stroke" does not solve
it). The image-level labels are the digit classes present; the boxes, tight around each digit's ink,
are kept for evaluation only. Train and test images draw their digits from disjoint writers' samples,
so test figures measure generalisation to unseen handwriting.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from wsl.data.tagged import Box, TaggedImage, TaggedSet, labels_from_boxes, write_tags_csv
from wsl.errors import BadInput
from wsl.progress import track

DIGIT_CLASSES = tuple(str(d) for d in range(10))


def load_glyphs(split: str) -> tuple[np.ndarray, np.ndarray]:
    """The split's digit glyphs as float (N, 8, 8) in [0, 1] and their classes (N,).

    Every fifth sample goes to "test", the others to "train" (sklearn's 1797 digits, offline).
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    index = np.arange(len(digits.target))
    pick = index % 5 == 4 if split == "test" else index % 5 != 4
    return digits.images[pick].astype(np.float32) / 16.0, digits.target[pick].astype(np.int64)


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Two colours blended by a smooth random field, plus pixel noise: (H, W, 3) float in [0, 255]."""
    from PIL import Image

    coarse = rng.random((4, 4)).astype(np.float32)
    field = np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32)
    field = np.clip(field, 0, 1)[..., None]
    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    image = a * field + b * (1 - field)
    return image + rng.normal(0, 10, image.shape)


def _clutter(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Draw lines, rectangles, ellipses and scribbles in random colours over the background."""
    from PIL import Image, ImageDraw

    pil = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    w, h = pil.size

    def colour() -> tuple[int, int, int]:
        return tuple(int(v) for v in rng.integers(0, 256, 3))  # type: ignore[return-value]

    def point() -> tuple[float, float]:
        return float(rng.uniform(0, w)), float(rng.uniform(0, h))

    for _ in range(rng.integers(3, 8)):
        draw.line([point(), point()], fill=colour(), width=int(rng.integers(1, 4)))
    for _ in range(rng.integers(1, 4)):
        (x0, y0), (x1, y1) = point(), point()
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        if rng.random() < 0.5:
            draw.rectangle(box, outline=colour(), width=int(rng.integers(1, 3)))
        else:
            draw.ellipse(box, outline=colour(), width=int(rng.integers(1, 3)))
    for _ in range(rng.integers(2, 6)):  # short curvy strokes of digit-like thickness
        x, y = point()
        pts = [(x, y)]
        for _ in range(rng.integers(2, 5)):
            x, y = x + rng.normal(0, 8), y + rng.normal(0, 8)
            pts.append((x, y))
        draw.line(pts, fill=colour(), width=int(rng.integers(2, 5)), joint="curve")
    return np.asarray(pil, dtype=np.float32)


def _glyph_alpha(glyph: np.ndarray, side: int) -> np.ndarray:
    """An 8x8 glyph upscaled to side x side, contrast-stretched into a stroke mask in [0, 1]."""
    from PIL import Image

    big = np.asarray(Image.fromarray(glyph).resize((side, side), Image.Resampling.BILINEAR), dtype=np.float32)
    return np.clip((big - 0.15) * 1.6, 0.0, 1.0)


def render_image(rng: np.random.Generator, glyphs: np.ndarray, classes: np.ndarray, width: int, height: int,
                 n_digits: int, side_range: tuple[int, int]) -> tuple[np.ndarray, list[Box]]:
    """One cluttered image (H, W, 3) uint8 with ``n_digits`` non-overlapping digits and their ink boxes."""
    image = _clutter(rng, _background(rng, width, height))
    taken: list[tuple[int, int, int]] = []
    boxes: list[Box] = []
    for _ in range(n_digits):
        side = int(rng.integers(side_range[0], side_range[1] + 1))
        if side > min(width, height):
            raise BadInput(f"digits of {side} px do not fit {width}x{height} images: lower the digit size")
        for _attempt in range(50):
            x, y = int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))
            if all(x + side <= tx or tx + ts <= x or y + side <= ty or ty + ts <= y for tx, ty, ts in taken):
                break
        else:
            continue  # no free spot left: fewer digits in this image
        k = int(rng.integers(len(glyphs)))
        alpha = _glyph_alpha(glyphs[k], side)
        region = image[y:y + side, x:x + side]
        # A colour far from the region's brightness, so the digit is legible over any background.
        dark = region.mean() > 128
        ink = rng.uniform(0, 70, 3) if dark else rng.uniform(185, 255, 3)
        image[y:y + side, x:x + side] = region * (1 - alpha[..., None]) + ink * alpha[..., None]
        rows, cols = np.nonzero(alpha > 0.3)
        boxes.append(Box(str(int(classes[k])), float(x + cols.min()), float(y + rows.min()),
                         float(x + cols.max() + 1), float(y + rows.max() + 1)))
        taken.append((x, y, side))
    return np.clip(image, 0, 255).astype(np.uint8), boxes


def make_digits_split(out_dir: str | os.PathLike[str], n_images: int, split: str = "train", size: int = 160,
                      digits_per_image: tuple[int, int] = (1, 3), digit_px: tuple[int, int] = (24, 44),
                      seed: int = 0) -> TaggedSet:
    """Write ``n_images`` JPEGs to ``out_dir/images/``, ``labels.csv`` (with boxes) and ``classes.txt``.

    Image sides are drawn from 0.8-1.2 x ``size`` independently, so images are not all square.
    """
    from PIL import Image

    from wsl.io import atomic_open

    if n_images < 1:
        raise BadInput(f"the number of images must be at least 1, got {n_images}")
    if not (1 <= digits_per_image[0] <= digits_per_image[1]):
        raise BadInput(f"bad digits-per-image range {digits_per_image}")
    out = Path(out_dir)
    glyphs, classes = load_glyphs(split)
    rng = np.random.default_rng([seed, 1 if split == "test" else 0])
    records = []
    for i in track(range(n_images), f"rendering {split} images"):
        width, height = (int(round(size * f)) for f in rng.uniform(0.8, 1.2, 2))
        n = int(rng.integers(digits_per_image[0], digits_per_image[1] + 1))
        pixels, boxes = render_image(rng, glyphs, classes, width, height, n, digit_px)
        path = out / "images" / f"{split}_{i:05d}.jpg"
        with atomic_open(path, "wb") as f:
            Image.fromarray(pixels).save(f, format="JPEG", quality=92)
        labels, _ = labels_from_boxes(boxes)
        records.append(TaggedImage(path, labels, tuple(boxes), (width, height)))
    write_tags_csv(out / "labels.csv", records, DIGIT_CLASSES)
    return TaggedSet(tuple(records), DIGIT_CLASSES, str(out / "labels.csv"), "csv")


def make_digits_data(out: str | os.PathLike[str], n_train: int = 2000, n_test: int = 500, size: int = 160,
                     seed: int = 0, **kwargs: object) -> dict[str, TaggedSet]:
    """The demo data set: ``out/train`` and ``out/test``, each a tags-CSV folder (see make_digits_split)."""
    out = Path(out)
    return {split: make_digits_split(out / split, n, split, size, seed=seed, **kwargs)  # type: ignore[arg-type]
            for split, n in (("train", n_train), ("test", n_test)) if n > 0}
