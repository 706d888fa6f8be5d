"""COCO instances JSON (``images``, ``annotations``, ``categories``) -> tagged images with boxes."""

from __future__ import annotations

import os
from pathlib import Path

from wsl.data.tagged import Box, TaggedImage, TaggedSet, labels_from_boxes
from wsl.errors import BadInput
from wsl.io import load_json


def _image_dir(json_path: Path, images: str | os.PathLike[str] | None, first: str | None) -> Path:
    """The folder the ``file_name``s are relative to: given, else the usual places tried in turn."""
    if images is not None:
        return Path(images)
    # annotations/instances_val2017.json sits beside val2017/ in the official layout.
    split = json_path.stem.split("_", 1)[-1]
    candidates = [json_path.parent, json_path.parent / "images", json_path.parent.parent / split,
                  json_path.parent / split]
    if first is not None:
        for folder in candidates:
            if (folder / first).exists():
                return folder
    return json_path.parent


def read_coco(path: str | os.PathLike[str], images: str | os.PathLike[str] | None = None) -> TaggedSet:
    """Read a COCO instances file; ``bbox`` is ``[x, y, width, height]`` in continuous pixels already.

    Crowd regions count as the object being present (their box too: the object is there). Images
    with no annotation come back unlabelled, which the caller decides how to treat.
    """
    path = Path(path)
    doc = load_json(path)
    if not isinstance(doc, dict) or not all(isinstance(doc.get(k), list) for k in ("images", "categories")):
        raise BadInput("not a COCO file: needs 'images' and 'categories' lists", path)
    try:
        names = {int(c["id"]): str(c["name"]).strip() for c in doc["categories"]}
        infos = {int(im["id"]): im for im in doc["images"]}
    except (KeyError, TypeError, ValueError) as e:
        raise BadInput(f"malformed 'categories' or 'images' entry ({type(e).__name__}: {e})", path) from None
    boxes: dict[int, list[Box]] = {i: [] for i in infos}
    for n, ann in enumerate(doc.get("annotations", [])):
        try:
            image_id, cat = int(ann["image_id"]), int(ann["category_id"])
            x, y, w, h = (float(v) for v in ann["bbox"])
        except (KeyError, TypeError, ValueError) as e:
            raise BadInput(f"annotation #{n} is malformed ({type(e).__name__}: {e})", path) from None
        if image_id not in infos:
            raise BadInput(f"annotation #{n} refers to image id {image_id}, which 'images' lacks", path)
        if cat not in names:
            raise BadInput(f"annotation #{n} refers to category id {cat}, which 'categories' lacks", path)
        if w <= 0 or h <= 0:
            continue  # degenerate boxes exist in the official files; the label still comes from others
        boxes[image_id].append(Box(names[cat], x, y, x + w, y + h))
    first = str(doc["images"][0].get("file_name")) if doc["images"] else None
    root = _image_dir(path, images, first)
    records = []
    for image_id, info in infos.items():
        if "file_name" not in info:
            raise BadInput(f"image id {image_id} has no 'file_name'", path)
        labels, difficult_only = labels_from_boxes(boxes[image_id])
        size = (int(info["width"]), int(info["height"])) if "width" in info and "height" in info else None
        records.append(TaggedImage(root / str(info["file_name"]), labels, tuple(boxes[image_id]), size,
                                   str(path), None, difficult_only))
    # Category order by id, the order COCO tools use.
    classes = tuple(names[i] for i in sorted(names))
    return TaggedSet(tuple(records), classes, str(path), "coco")
