"""PASCAL VOC layout: ``JPEGImages/``, ``Annotations/*.xml``, optional ``ImageSets/Main/<split>.txt``.

Also reads the labelme VOC export (``class_names.txt`` with a ``_background_`` entry, float corners).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

from wsl.data.tagged import (
    IMAGE_SUFFIXES,
    Box,
    TaggedImage,
    TaggedSet,
    labels_from_boxes,
    read_class_list,
)
from wsl.errors import BadInput
from wsl.io import read_text

# The 20 PASCAL VOC classes, in the order of the official development kit.
VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable",
    "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)


def _number(node: ET.Element | None, tag: str, path: Path, line: int | None) -> float:
    text = node.findtext(tag) if node is not None else None
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadInput(f"<{tag}> is missing or not a number ({text!r})", path, line) from None


def read_voc_annotation(xml_path: str | os.PathLike[str], image_dir: Path | None = None) -> TaggedImage:
    """One VOC XML file -> TaggedImage (corners converted from 1-based inclusive to continuous)."""
    xml_path = Path(xml_path)
    try:
        root = ET.fromstring(xml_path.read_bytes())
    except FileNotFoundError:
        raise BadInput("no such annotation file", xml_path) from None
    except ET.ParseError as e:
        raise BadInput(f"invalid XML: {e}", xml_path, e.position[0]) from None
    if root.tag != "annotation":
        raise BadInput(f"not a VOC annotation (root element <{root.tag}>)", xml_path)
    image_dir = image_dir or xml_path.parent.parent / "JPEGImages"
    filename = (root.findtext("filename") or "").strip() or xml_path.stem + ".jpg"
    size = None
    size_node = root.find("size")
    if size_node is not None and (size_node.findtext("width") or "").strip():
        size = (int(_number(size_node, "width", xml_path, None)), int(_number(size_node, "height", xml_path, None)))
    boxes = []
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip()
        if not name:
            raise BadInput("an <object> has no <name>", xml_path)
        bb = obj.find("bndbox")
        if bb is None:
            raise BadInput(f"object {name!r} has no <bndbox>", xml_path)
        x0, y0 = _number(bb, "xmin", xml_path, None) - 1, _number(bb, "ymin", xml_path, None) - 1
        x1, y1 = _number(bb, "xmax", xml_path, None), _number(bb, "ymax", xml_path, None)
        if not (x1 > x0 and y1 > y0):
            raise BadInput(f"object {name!r} has an empty box ({x0 + 1:g},{y0 + 1:g})-({x1:g},{y1:g})", xml_path)
        difficult = (obj.findtext("difficult") or "0").strip() in ("1", "true")
        boxes.append(Box(name, max(x0, 0.0), max(y0, 0.0), x1, y1, difficult))
    labels, difficult_only = labels_from_boxes(boxes)
    return TaggedImage(image_dir / filename, labels, tuple(boxes), size, str(xml_path), None, difficult_only)


def _with_existing_image(im: TaggedImage) -> TaggedImage:
    """labelme exports may name a .png while the folder holds the .jpg, or the reverse: take the one there."""
    if im.path.exists():
        return im
    for suffix in IMAGE_SUFFIXES:
        if im.path.with_suffix(suffix).exists():
            return replace(im, path=im.path.with_suffix(suffix))
    return im


def read_voc(root: str | os.PathLike[str], split: str | None = None) -> TaggedSet:
    """A VOC folder -> TaggedSet; ``split`` reads ``ImageSets/Main/<split>.txt``, else every annotation.

    The class list is ``class_names.txt`` when present (labelme export), else the 20 VOC classes when
    every label is one of them, else undeclared (the labels found).
    """
    root = Path(root)
    ann_dir = root / "Annotations"
    image_dir = root / "JPEGImages"
    if split is not None:
        list_path = root / "ImageSets" / "Main" / f"{split}.txt"
        if not list_path.is_file():
            have = sorted(p.stem for p in (root / "ImageSets" / "Main").glob("*.txt")) if (
                root / "ImageSets" / "Main").is_dir() else []
            raise BadInput(f"no image set {split!r}" + (f" (have: {', '.join(have[:10])})" if have else ""),
                           list_path)
        text, _ = read_text(list_path)
        images = []
        for number, raw in enumerate(text.split("\n"), 1):
            ident = raw.split()[0] if raw.split() else ""
            if not ident:
                continue
            xml_path = ann_dir / f"{ident}.xml"
            if not xml_path.is_file():
                raise BadInput(f"image {ident!r} has no annotation {xml_path}", list_path, number)
            images.append(read_voc_annotation(xml_path, image_dir))
    else:
        images = [read_voc_annotation(p, image_dir) for p in sorted(ann_dir.glob("*.xml"))]
        if not images:
            raise BadInput("no .xml files in Annotations/", ann_dir)
    images = [_with_existing_image(im) for im in images]
    classes_file = root / "class_names.txt"
    if classes_file.is_file():
        classes: tuple[str, ...] | None = read_class_list(classes_file)
    elif all(c in VOC_CLASSES for im in images for c in im.labels):
        classes = VOC_CLASSES
    else:
        classes = None
    return TaggedSet(tuple(images), classes, str(root), "voc")
