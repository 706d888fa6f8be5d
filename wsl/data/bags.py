"""Bags of labels for `wsl cluster` and per-sample ground truth.

BAGS.json is a list (or ``{"bags": [...]}``) of ``{"name"?: str, "samples": [indices], "labels":
[names]}``: each listed label is carried by at least one of the bag's samples.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from wsl.errors import BadInput


@dataclass(frozen=True)
class Bags:
    """The bags of a file: per bag its sample indices, its labels and its name."""

    samples: list[list[int]]
    labels: list[list[str]]
    names: list[str]
    source: str | None = None


def read_bags(path: str | os.PathLike[str]) -> Bags:
    """Read and check the shape of a bags file (indices are checked against the features later)."""
    from wsl.io import load_json

    data: Any = load_json(path)
    if isinstance(data, dict) and isinstance(data.get("bags"), list):
        data = data["bags"]
    if not isinstance(data, list) or not data:
        raise BadInput('expected a list of bags {"samples": [indices], "labels": [names]}', path)
    rows, labels, names = [], [], []
    for j, bag in enumerate(data):
        name = str(bag.get("name", f"#{j}")) if isinstance(bag, dict) else f"#{j}"
        if not isinstance(bag, dict):
            raise BadInput(f"bag {name}: expected an object with samples and labels", path)
        s, lab = bag.get("samples"), bag.get("labels")
        if not isinstance(s, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in s):
            raise BadInput(f"bag {name}: 'samples' must be a list of sample indices", path)
        if not isinstance(lab, list) or not all(isinstance(x, str) and x for x in lab):
            raise BadInput(f"bag {name}: 'labels' must be a list of label names", path)
        rows.append(list(s))
        labels.append(list(lab))
        names.append(name)
    return Bags(rows, labels, names, str(path))


def read_sample_labels(path: str | os.PathLike[str]) -> list[str]:
    """Ground truth: a JSON list of labels (or ``{"labels": [...]}``), or one label per line."""
    from wsl.io import load_json, read_text

    if str(path).endswith(".json"):
        data: Any = load_json(path)
        if isinstance(data, dict):
            data = data.get("labels")
        if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
            raise BadInput('expected a JSON list of labels (or {"labels": [...]})', path)
        return data
    text, _ = read_text(path)
    return [line.strip() for line in text.splitlines() if line.strip()]
