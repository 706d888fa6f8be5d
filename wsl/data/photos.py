"""Demo data from real photographs: objects cut from scikit-image's photos, composed onto real textures.

``skimage.data`` ships a handful of photographs (Apache/BSD-compatible, used here offline): a cat
(Chelsea), a cup of coffee, an astronaut (a person), a rocket on its pad and a motorcycle. Each
training or test image pastes one or two of these objects, at a random size and position, flipped
and colour-jittered, with a feathered elliptical edge (so a rectangle's border gives nothing away),
onto a real texture (grass, gravel, brick, the moon's surface, the Hubble deep field) tinted at
random. Image-level tags are the classes pasted; boxes (the visible ellipse's extent) are kept for
evaluation. Train and test draw from disjoint halves of each photo's crop positions and of the
texture area, so a test image is never a copy of a training image.

``make_photo_videos`` writes small .mp4 files that pan across strips of the same photographs (input
for ``wsl features extract``), with the time span of each photo in ``videos.json``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from wsl.data.tagged import Box, TaggedImage, TaggedSet, labels_from_boxes, write_tags_csv
from wsl.errors import BadInput, require
from wsl.progress import track

# class -> (skimage.data function, crop (x0, y0, x1, y1) around the object in the original photo)
OBJECTS: dict[str, tuple[str, tuple[int, int, int, int]]] = {
    "cat": ("chelsea", (10, 0, 380, 300)),
    "coffee": ("coffee", (70, 10, 490, 390)),
    "person": ("astronaut", (120, 0, 400, 512)),
    "rocket": ("rocket", (262, 80, 368, 427)),
    "motorcycle": ("stereo_motorcycle", (60, 60, 700, 470)),
}
PHOTO_CLASSES = tuple(OBJECTS)
TEXTURES = ("grass", "gravel", "brick", "moon", "hubble_deep_field")


def _photo(name: str) -> np.ndarray:
    require("skimage", "the real-photo demo data", "vision")
    import skimage.data

    image = getattr(skimage.data, name)()
    if isinstance(image, tuple):  # stereo_motorcycle returns (left, right, disparity)
        image = image[0]
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return image[..., :3].astype(np.uint8)


def load_objects() -> dict[str, np.ndarray]:
    """Each class' object crop as (H, W, 3) uint8."""
    out = {}
    for cls, (name, (x0, y0, x1, y1)) in OBJECTS.items():
        out[cls] = _photo(name)[y0:y1, x0:x1]
    return out


def _texture(rng: np.random.Generator, textures: dict[str, np.ndarray], width: int, height: int,
             half: int) -> np.ndarray:
    """A tinted crop of a real texture, from the left (train) or right (test) half of the texture."""
    from PIL import Image

    name = TEXTURES[int(rng.integers(len(TEXTURES)))]
    tex = textures[name]
    th, tw = tex.shape[:2]
    lo, hi = (0, tw // 2) if half == 0 else (tw // 2, tw)
    side = int(rng.integers(min(th, hi - lo) // 2, min(th, hi - lo) + 1))
    x = int(rng.integers(lo, hi - side + 1))
    y = int(rng.integers(0, th - side + 1))
    crop = Image.fromarray(tex[y:y + side, x:x + side]).resize((width, height), Image.Resampling.BILINEAR)
    arr = np.asarray(crop, dtype=np.float32)
    gray = arr.mean(axis=2, keepdims=True)
    tint = rng.uniform(0.4, 1.2, 3)
    mix = rng.uniform(0.3, 1.0)  # 1: fully tinted grey, 0: the texture's own colours
    return np.clip(mix * gray * tint + (1 - mix) * arr, 0, 255)


def _paste(rng: np.random.Generator, canvas: np.ndarray, obj: np.ndarray, side: int, taken: list[tuple[int, ...]],
           half: int) -> tuple[int, int, int, int] | None:
    """Paste a jittered, flipped, feathered-ellipse copy of ``obj`` whose longer side is ``side``."""
    from PIL import Image, ImageFilter

    oh, ow = obj.shape[:2]
    # Train and test use different sub-crops of the object photo (left/right shift of the window).
    shift = rng.uniform(0.0, 0.08) * (1 if half == 0 else -1)
    dx = int(shift * ow)
    obj = obj[:, max(0, dx):ow + min(0, dx)]
    oh, ow = obj.shape[:2]
    scale = side / max(oh, ow)
    w, h = max(8, round(ow * scale)), max(8, round(oh * scale))
    H, W = canvas.shape[:2]
    if w > W or h > H:
        return None
    for _ in range(40):
        x, y = int(rng.integers(0, W - w + 1)), int(rng.integers(0, H - h + 1))
        if all(x + w <= tx or tx + tw <= x or y + h <= ty or ty + th <= y for tx, ty, tw, th in taken):
            break
    else:
        return None
    patch = np.asarray(Image.fromarray(obj).resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    patch = np.clip(patch * rng.uniform(0.8, 1.2) + rng.uniform(-20, 20), 0, 255)
    yy, xx = np.mgrid[0:h, 0:w]
    ellipse = (((xx + 0.5) / w - 0.5) ** 2 + ((yy + 0.5) / h - 0.5) ** 2) <= 0.25
    alpha = np.asarray(Image.fromarray((ellipse * 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(max(1.0, min(w, h) / 25))), dtype=np.float32)[..., None] / 255.0
    region = canvas[y:y + h, x:x + w]
    canvas[y:y + h, x:x + w] = region * (1 - alpha) + patch * alpha
    taken.append((x, y, w, h))
    rows, cols = np.nonzero(alpha[..., 0] > 0.5)
    return x + int(cols.min()), y + int(rows.min()), x + int(cols.max()) + 1, y + int(rows.max()) + 1


def make_photo_split(out_dir: str | os.PathLike[str], n_images: int, split: str = "train", size: int = 224,
                     objects_per_image: tuple[int, int] = (1, 2), seed: int = 0) -> TaggedSet:
    """Write ``n_images`` JPEGs to ``out_dir/images/``, ``labels.csv`` (with boxes) and ``classes.txt``."""
    from PIL import Image

    from wsl.io import atomic_open

    if n_images < 1:
        raise BadInput(f"the number of images must be at least 1, got {n_images}", param="n_images")
    if size < 64:
        raise BadInput(f"size must be at least 64 px, got {size}", param="size")
    objects = load_objects()
    textures = {name: _photo(name) for name in TEXTURES}
    half = 1 if split == "test" else 0
    rng = np.random.default_rng([seed, 7, half])
    out = Path(out_dir)
    records = []
    for i in track(range(n_images), f"composing {split} photos"):
        width, height = (int(round(size * f)) for f in rng.uniform(0.85, 1.15, 2))
        canvas = _texture(rng, textures, width, height, half)
        n = int(rng.integers(objects_per_image[0], objects_per_image[1] + 1))
        chosen = rng.choice(len(PHOTO_CLASSES), size=min(n, len(PHOTO_CLASSES)), replace=False)
        taken: list[tuple[int, ...]] = []
        boxes = []
        for k in chosen:
            cls = PHOTO_CLASSES[int(k)]
            side = int(rng.uniform(0.35, 0.6) * min(width, height))
            placed = _paste(rng, canvas, objects[cls], side, taken, half)
            if placed is not None:
                boxes.append(Box(cls, float(placed[0]), float(placed[1]), float(placed[2]), float(placed[3])))
        path = out / "images" / f"{split}_{i:05d}.jpg"
        with atomic_open(path, "wb") as f:
            Image.fromarray(canvas.astype(np.uint8)).save(f, format="JPEG", quality=90)
        labels, _ = labels_from_boxes(boxes)
        records.append(TaggedImage(path, labels, tuple(boxes), (width, height)))
    write_tags_csv(out / "labels.csv", records, PHOTO_CLASSES)
    return TaggedSet(tuple(records), PHOTO_CLASSES, str(out / "labels.csv"), "csv")


def make_photo_data(out: str | os.PathLike[str], n_train: int = 300, n_test: int = 100, size: int = 224,
                    seed: int = 0) -> dict[str, TaggedSet]:
    """The real-photo demo: ``out/train`` and ``out/test``, each a tags-CSV folder."""
    out = Path(out)
    return {split: make_photo_split(out / split, n, split, size, seed=seed)
            for split, n in (("train", n_train), ("test", n_test)) if n > 0}


def make_photo_videos(out: str | os.PathLike[str], count: int = 4, seconds: float = 6.0, fps: float = 10.0,
                      size: tuple[int, int] = (160, 120), seed: int = 0) -> list[Path]:
    """Write ``count`` .mp4 videos panning across a strip of three photographs each, and
    ``videos.json`` with each photo's time span per video (a known ground truth for segmenting)."""
    from PIL import Image

    from wsl.features.video import write_video
    from wsl.io import write_json

    if count < 1 or seconds <= 0 or fps <= 0:
        raise BadInput("count, seconds and fps must be positive")
    rng = np.random.default_rng([seed, 11])
    photos = {cls: _photo(OBJECTS[cls][0]) for cls in PHOTO_CLASSES}
    w, h = size
    out = Path(out)
    paths, spans = [], {}
    n_frames = max(2, round(seconds * fps))
    for v in range(count):
        order = [PHOTO_CLASSES[int(k)] for k in rng.choice(len(PHOTO_CLASSES), 3, replace=False)]
        # Each photo scaled to the frame height; the strip is panned end to end at constant speed.
        tiles = [np.asarray(Image.fromarray(photos[c]).resize(
            (round(photos[c].shape[1] * h / photos[c].shape[0]), h), Image.Resampling.BILINEAR)) for c in order]
        strip = np.concatenate(tiles, axis=1)
        xs = np.linspace(0, strip.shape[1] - w, n_frames).round().astype(int)
        frames = np.stack([strip[:, x:x + w] for x in xs])
        path = out / f"pan_{v:02d}.mp4"
        write_video(path, frames, fps)
        edges = np.cumsum([0] + [t.shape[1] for t in tiles])
        segs: list[dict[str, Any]] = []
        for c, a, b in zip(order, edges[:-1], edges[1:], strict=True):
            # A photo is "on screen" while the frame's centre lies on it.
            on = [i / fps for i, x in enumerate(xs) if a <= x + w / 2 < b]
            if on:
                segs.append({"label": c, "start": round(on[0], 3), "end": round(on[-1] + 1 / fps, 3)})
        spans[path.stem] = segs
        paths.append(path)
    write_json(out / "videos.json", spans)
    return paths
