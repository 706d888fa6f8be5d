"""What ``predict`` writes: per-image JSON records, heat-map overlays, and the collections over all images
(``predictions.jsonl`` in wsl's own format, ``predictions.coco.json`` in COCO's results format)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

# Overlays are drawn with the shorter side at least this many pixels: small images' heat maps and
# markers are otherwise hard to read.
OVERLAY_MIN_SIDE = 384
CAPTION_HEIGHT = 28
# A class' box in the COCO results: the connected region around the peak where the upsampled
# probability map stays above this share of its peak value (the usual CAM-to-box rule).
BOX_SHARE = 0.5


def safe_name(text: str) -> str:
    """A class name usable in a file name ("tv/monitor" -> "tv_monitor")."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "class"


def upsample_map(cell_map: np.ndarray, stride: int, input_hw: tuple[int, int], out_wh: tuple[int, int]) -> np.ndarray:
    """A (h, w) score map -> (H, W) at ``out_wh`` resolution, bilinear, with the cell-centre geometry."""
    from scipy.ndimage import map_coordinates

    w_out, h_out = out_wh
    h, w = cell_map.shape
    ys = ((np.arange(h_out) + 0.5) * input_hw[0] / h_out - 0.5) / stride
    xs = ((np.arange(w_out) + 0.5) * input_hw[1] / w_out - 0.5) / stride
    yy, xx = np.meshgrid(np.clip(ys, 0, h - 1), np.clip(xs, 0, w - 1), indexing="ij")
    return map_coordinates(cell_map.astype(np.float32), [yy, xx], order=1, mode="nearest")


def box_from_map(cell_map: np.ndarray, stride: int, input_hw: tuple[int, int], size: tuple[int, int],
                 point: tuple[float, float]) -> tuple[float, float, float, float]:
    """(x, y, width, height) in original pixels of the region around ``point`` above BOX_SHARE of the peak."""
    from scipy.ndimage import label

    w, h = size
    # Work at a bounded resolution: the map has few cells, finer sampling adds nothing.
    scale = min(1.0, 256 / max(w, h))
    ww, hh = max(1, round(w * scale)), max(1, round(h * scale))
    prob = 1.0 / (1.0 + np.exp(-upsample_map(cell_map, stride, input_hw, (ww, hh))))
    px = min(ww - 1, max(0, int(point[0] * scale)))
    py = min(hh - 1, max(0, int(point[1] * scale)))
    low = prob.min()
    mask = prob >= low + BOX_SHARE * (prob[py, px] - low)
    regions, _ = label(mask)
    region = regions == regions[py, px] if regions[py, px] else mask
    ys, xs = np.nonzero(region)
    x0, y0, x1, y1 = xs.min() / scale, ys.min() / scale, (xs.max() + 1) / scale, (ys.max() + 1) / scale
    return round(float(x0), 2), round(float(y0), 2), round(float(min(x1, w) - x0), 2), round(float(min(y1, h) - y0), 2)


def render_overlay(image_path: Path, cell_map: np.ndarray, stride: int, input_hw: tuple[int, int],
                   point: tuple[float, float], caption: str, alpha: float = 0.5) -> Any:
    """The image (enlarged to a readable size) blended with the class' probability map, the peak
    marked, and the caption in a band above the image so it hides nothing."""
    import matplotlib
    from PIL import Image, ImageDraw

    from wsl.features.preprocess import read_rgb

    rgb8, (w0, h0) = read_rgb(image_path)
    zoom = max(1.0, OVERLAY_MIN_SIDE / min(w0, h0))
    w, h = round(w0 * zoom), round(h0 * zoom)
    rgb = np.asarray(Image.fromarray(rgb8).resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)
    prob = 1.0 / (1.0 + np.exp(-upsample_map(cell_map, stride, input_hw, (w, h))))
    heat = matplotlib.colormaps["inferno"](prob)[..., :3] * 255.0
    blended = Image.fromarray(((1 - alpha) * rgb + alpha * heat).clip(0, 255).astype(np.uint8))
    out = Image.new("RGB", (w, h + CAPTION_HEIGHT), (0, 0, 0))
    out.paste(blended, (0, CAPTION_HEIGHT))
    draw = ImageDraw.Draw(out)
    x, y = point[0] * zoom, point[1] * zoom + CAPTION_HEIGHT
    r = max(6, round(min(w, h) / 40))
    draw.ellipse((x - r, y - r, x + r, y + r), outline=(0, 255, 0), width=max(2, r // 3))
    draw.line((x - 2 * r, y, x + 2 * r, y), fill=(0, 255, 0), width=2)
    draw.line((x, y - 2 * r, x, y + 2 * r), fill=(0, 255, 0), width=2)
    try:
        from PIL import ImageFont

        font: Any = ImageFont.load_default(size=18)
    except TypeError:  # Pillow < 10.1 has one fixed-size default font
        font = None
    draw.text((6, 4), caption, fill=(255, 255, 255), font=font)
    return out


def write_overlays(out: Path, path: Path, result: Any, chosen: Sequence[int], classes: Sequence[str], stride: int,
                   input_hw: tuple[int, int]) -> list[str]:
    """One PNG per chosen class, ``<stem>.<class>.png``; returns their names."""
    from wsl.io import atomic_open

    names = []
    for k in chosen:
        name = f"{path.stem}.{safe_name(classes[k])}.png"
        caption = f"{classes[k]}  {result.scores[k]:.2f}"
        image = render_overlay(path, result.maps[k], stride, input_hw, tuple(result.points[k]), caption)
        with atomic_open(out / name, "wb") as f:
            image.save(f, format="PNG")
        names.append(name)
    return names


def prediction_record(path: Path, result: Any, classes: Sequence[str], stride: int, input_hw: tuple[int, int]
                      ) -> dict[str, Any]:
    """The JSON record of one image: classes by decreasing score with their peak points and boxes."""
    order = np.argsort(-result.scores, kind="stable")
    preds = []
    for k in order:
        point = (float(result.points[k, 0]), float(result.points[k, 1]))
        box = box_from_map(result.maps[k], stride, input_hw, result.size, point)
        preds.append({"class": classes[k], "score": round(float(result.scores[k]), 6),
                      "x": round(point[0], 2), "y": round(point[1], 2), "box": list(box)})
    return {
        "image": str(path), "width": result.size[0], "height": result.size[1], "predictions": preds,
        "maps": {"classes": list(classes), "stride": stride, "input_size": list(input_hw),
                 "cell_centre": "x = (stride * j + 0.5) * width / input_size[1], "
                                "y = (stride * i + 0.5) * height / input_size[0]"},
    }


def write_collections(out: Path, paths: Sequence[Path], bad: set[str], classes: Sequence[str]) -> tuple[str, ...]:
    """``predictions.jsonl`` (the per-image records) and ``predictions.coco.json`` over ``paths``.

    COCO results: one entry per (image, class) with ``image_id`` (1-based position in the sorted
    inputs; ``file_name`` says which image), ``category_id`` (1-based class index), ``bbox`` (x, y,
    w, h) and ``score``; ``point`` is kept as an extra field.
    """
    from wsl.io import load_json, write_json, write_text

    lines, coco = [], []
    for n, p in enumerate(paths, 1):
        if str(p) in bad or not (out / f"{p.stem}.json").exists():
            continue
        record = load_json(out / f"{p.stem}.json")
        lines.append(json.dumps(record))
        for pred in record.get("predictions", []):
            if pred["class"] not in classes:
                continue
            coco.append({"image_id": n, "file_name": Path(record["image"]).name,
                         "category_id": list(classes).index(pred["class"]) + 1, "bbox": pred["box"],
                         "score": pred["score"], "point": [pred["x"], pred["y"]]})
    write_text(out / "predictions.jsonl", "".join(line + "\n" for line in lines))
    write_json(out / "predictions.coco.json", coco, indent=None)
    return "predictions.jsonl", "predictions.coco.json"
