"""Images with image-level tags (and optional boxes): the records every localisation reader returns.

Box coordinates are continuous pixel coordinates of the original image: (0, 0) is the top-left
corner, pixel (i, j) covers [i, i + 1) x [j, j + 1), so a box spanning a whole W x H image is
(0, 0, W, H). Readers convert their format's convention (VOC's 1-based inclusive corners, COCO's
x, y, width, height) into this one.

Also here: the plain CSV format (``path,labels[,boxes]``) and choosing the class list. ``read_tagged``,
which recognises VOC folders, COCO JSON files and CSV files, is in ``wsl.data.tagsets`` (it imports
the VOC and COCO readers, which import this module).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from wsl.errors import BadInput
from wsl.io import read_text, write_text

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
# Class-list entries that name "no object" in common tools' files (labelme writes _background_).
_BACKGROUND = {"_background_", "__background__", "background"}


@dataclass(frozen=True)
class Box:
    """An object's box in continuous original-pixel coordinates; ``difficult`` as VOC defines it."""

    label: str
    x0: float
    y0: float
    x1: float
    y1: float
    difficult: bool = False


@dataclass(frozen=True)
class TaggedImage:
    """One image, the classes it contains, their boxes when known, and where the annotation came from."""

    path: Path
    labels: tuple[str, ...]
    boxes: tuple[Box, ...] = ()
    size: tuple[int, int] | None = None  # (width, height) as the annotation states it
    source: str = ""  # annotation file, for error messages
    line: int | None = None
    # Labels whose every box is marked difficult: VOC's evaluation ignores the image for those classes.
    difficult_only: tuple[str, ...] = ()


@dataclass(frozen=True)
class TaggedSet:
    """A list of tagged images with the class list the data declares (None when it declares none)."""

    images: tuple[TaggedImage, ...]
    classes: tuple[str, ...] | None
    source: str
    kind: str  # "voc", "coco" or "csv"
    notes: tuple[str, ...] = field(default=())  # what the reader skipped, for a warning


def natural_key(text: str) -> list[object]:
    """Sort key that puts "2" before "10"."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", text)]


def labels_from_boxes(boxes: Iterable[Box]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(labels present, labels present only as difficult objects), each sorted."""
    boxes = list(boxes)
    present = sorted({b.label for b in boxes}, key=natural_key)
    easy = {b.label for b in boxes if not b.difficult}
    return tuple(present), tuple(c for c in present if c not in easy)


def read_class_list(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """One class name per line; blank lines, ``#`` comments and background entries are left out."""
    text, _ = read_text(path)
    names: list[str] = []
    for number, raw in enumerate(text.split("\n"), 1):
        name = raw.strip()
        if not name or name.startswith("#") or name.lower() in _BACKGROUND:
            continue
        if name in names:
            raise BadInput(f"class {name!r} is listed twice", path, number)
        names.append(name)
    if not names:
        raise BadInput("the class list is empty", path)
    return tuple(names)


def resolve_classes(data: TaggedSet, classes: Sequence[str] | None = None) -> tuple[str, ...]:
    """The class list to train with: the one given, else the one the data declares, else its labels."""
    if classes:
        return tuple(classes)
    if data.classes:
        return data.classes
    found = sorted({c for im in data.images for c in im.labels}, key=natural_key)
    if not found:
        raise BadInput("no image has a label: nothing to learn from", data.source)
    return tuple(found)


def check_labels(data: TaggedSet, classes: Sequence[str], ignore_unknown: bool = False) -> tuple[TaggedSet, int]:
    """Check every label is in ``classes``; with ``ignore_unknown`` drop the others and count them.

    Without it, the first unknown label is a BadInput naming the annotation file and line, since a
    misspelt label silently turned into a negative would teach the model the wrong thing.
    """
    known = set(classes)
    dropped = 0
    images: list[TaggedImage] = []
    for im in data.images:
        unknown = [c for c in im.labels if c not in known]
        if not unknown:
            images.append(im)
            continue
        if not ignore_unknown:
            shown = ", ".join(list(classes)[:8]) + (", ..." if len(classes) > 8 else "")
            raise BadInput(f"label {unknown[0]!r} of {im.path.name} is not in the class list ({len(classes)} "
                           f"classes: {shown}); fix the annotation, pass --classes, or --ignore-unknown",
                           im.source or im.path, im.line)
        dropped += len(unknown)
        images.append(replace(
            im, labels=tuple(c for c in im.labels if c in known),
            boxes=tuple(b for b in im.boxes if b.label in known),
            difficult_only=tuple(c for c in im.difficult_only if c in known)))
    return replace(data, images=tuple(images)), dropped


def split_unlabelled(data: TaggedSet) -> tuple[TaggedSet, list[TaggedImage]]:
    """Separate the images that have no label at all (often a missing annotation rather than a negative)."""
    keep = tuple(im for im in data.images if im.labels)
    return replace(data, images=keep), [im for im in data.images if not im.labels]


# --- CSV ---------------------------------------------------------------------------------------------

def _parse_boxes(text: str, path: str, line: int) -> tuple[Box, ...]:
    """``label x0 y0 x1 y1; label x0 y0 x1 y1`` (labels may contain spaces: the last four fields are numbers)."""
    boxes = []
    for item in text.split(";"):
        parts = item.split()
        if not parts:
            continue
        if len(parts) < 5:
            raise BadInput(f"box {item.strip()!r} needs 'label x0 y0 x1 y1'", path, line)
        try:
            x0, y0, x1, y1 = (float(v) for v in parts[-4:])
        except ValueError:
            raise BadInput(f"box {item.strip()!r}: the last four fields must be numbers", path, line) from None
        if not (x1 > x0 and y1 > y0):
            raise BadInput(f"box {item.strip()!r} is empty (needs x1 > x0 and y1 > y0)", path, line)
        boxes.append(Box(" ".join(parts[:-4]), x0, y0, x1, y1))
    return tuple(boxes)


def read_tags_csv(path: str | os.PathLike[str], image_root: str | os.PathLike[str] | None = None) -> TaggedSet:
    """Read a ``path,labels[,boxes]`` CSV (header required); image paths are relative to the CSV's folder.

    ``labels`` are separated by ``;``. ``boxes`` (optional) are ``label x0 y0 x1 y1`` items separated by
    ``;``; a box's label counts as present even when ``labels`` omits it. A ``classes.txt`` beside the
    CSV declares the class list.
    """
    path = Path(path)
    text, _ = read_text(path)
    root = Path(image_root) if image_root else path.parent
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    if "path" not in header or "labels" not in header:
        raise BadInput("a tags CSV needs a header with columns path,labels (and optionally boxes)", path, 1)
    col = {name: header.index(name) for name in ("path", "labels", "boxes") if name in header}
    images = []
    for row in reader:
        line = reader.line_num
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) < len(header):
            raise BadInput(f"expected {len(header)} columns ({','.join(header)}), got {len(row)}", path, line)
        rel = row[col["path"]].strip()
        if not rel:
            raise BadInput("empty image path", path, line)
        boxes = _parse_boxes(row[col["boxes"]], str(path), line) if "boxes" in col else ()
        named = {c.strip() for c in row[col["labels"]].split(";") if c.strip()}
        from_boxes, difficult_only = labels_from_boxes(boxes)
        labels = tuple(sorted(named | set(from_boxes), key=natural_key))
        images.append(TaggedImage(root / rel, labels, boxes, None, str(path), line, difficult_only))
    classes_file = path.parent / "classes.txt"
    classes = read_class_list(classes_file) if classes_file.is_file() else None
    return TaggedSet(tuple(images), classes, str(path), "csv")


def _box_field(boxes: Iterable[Box]) -> str:
    return "; ".join(f"{b.label} {b.x0:g} {b.y0:g} {b.x1:g} {b.y1:g}" for b in boxes)


def write_tags_csv(path: str | os.PathLike[str], images: Sequence[TaggedImage],
                   classes: Sequence[str] | None = None) -> None:
    """Write images as a tags CSV (paths relative to the CSV's folder), and ``classes.txt`` beside it."""
    path = Path(path)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["path", "labels", "boxes"])
    for im in images:
        rel = os.path.relpath(im.path, path.parent)
        writer.writerow([Path(rel).as_posix(), ";".join(im.labels), _box_field(im.boxes)])
    write_text(path, buf.getvalue())
    if classes:
        write_text(path.parent / "classes.txt", "\n".join(classes) + "\n")
