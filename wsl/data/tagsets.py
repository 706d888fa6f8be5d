"""Reading localisation data in any supported layout: VOC folders, COCO JSON files, tags CSV files."""

from __future__ import annotations

import os
from pathlib import Path

from wsl.data import coco, voc
from wsl.data.tagged import TaggedSet, read_tags_csv
from wsl.errors import BadInput


def read_tagged(path: str | os.PathLike[str], split: str | None = None,
                images: str | os.PathLike[str] | None = None) -> TaggedSet:
    """Read localisation data in any supported layout.

    - a folder with ``Annotations/``: PASCAL VOC (``split`` picks ``ImageSets/Main/<split>.txt``);
    - a ``.json`` file, or a folder holding exactly one: COCO (``images`` is the image folder);
    - a ``.csv`` file, or a folder holding ``labels.csv``: the tags CSV.
    """
    path = Path(path)
    if not path.exists():
        raise BadInput("no such file or folder", path)
    if path.is_dir():
        if (path / "Annotations").is_dir():
            return voc.read_voc(path, split)
        if (path / "labels.csv").is_file():
            return read_tags_csv(path / "labels.csv", images)
        jsons = sorted(path.glob("*.json"))
        if len(jsons) == 1:
            return coco.read_coco(jsons[0], images)
        raise BadInput("not a localisation data folder: expected Annotations/ (VOC), labels.csv, "
                       "or one COCO .json file", path)
    if split is not None:
        raise BadInput("--split applies to VOC folders only", path)
    if path.suffix.lower() == ".csv":
        return read_tags_csv(path, images)
    if path.suffix.lower() == ".json":
        return coco.read_coco(path, images)
    raise BadInput("unknown data format: give a VOC folder, a COCO .json or a tags .csv", path)
