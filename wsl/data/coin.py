"""COIN annotations (Tang et al. 2019; CC BY-NC 4.0): ordered, timed step segments per video.

Reads the ActivityNet-style JSON: either ``{"database": {id: record}}`` (the official file), a
mapping ``{id: record}``, or a list of one-entry mappings (the PDPP split files in ../shared/data).
A record has ``duration``, ``class`` and ``annotation``: a list of ``{"segment": [start, end],
"label", "id"}``.
"""

from __future__ import annotations

import os
from typing import Any

from wsl.data.segments import ActionVideo, Segment
from wsl.errors import BadInput
from wsl.io import load_json


def _records(data: Any, path: str) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(data, dict) and isinstance(data.get("database"), dict):
        data = data["database"]
    if isinstance(data, dict):
        return list(data.items())
    if isinstance(data, list) and all(isinstance(x, dict) and len(x) == 1 for x in data):
        return [next(iter(x.items())) for x in data]
    raise BadInput("not COIN annotations: expected {\"database\": {...}}, {id: record} or [{id: record}, ...]", path)


def read_coin(path: str | os.PathLike[str], task: str | None = None) -> list[ActionVideo]:
    """The videos of a COIN JSON file (only those of ``task``, a class name, when given), in file order."""
    path = str(path)
    out: list[ActionVideo] = []
    for vid, rec in _records(load_json(path), path):
        try:
            if task is not None and rec.get("class") != task:
                continue
            segs = tuple(Segment(str(a["label"]), float(a["segment"][0]), float(a["segment"][1]), i)
                         for i, a in enumerate(rec["annotation"]))
            duration = float(rec["duration"])
        except (KeyError, TypeError, IndexError, ValueError) as e:
            raise BadInput(f"video {vid}: malformed COIN record ({type(e).__name__}: {e})", path) from None
        segs = tuple(sorted(segs, key=lambda s: (s.start, s.end)))
        out.append(ActionVideo(str(vid), duration, segs, rec.get("class")))
    return out


def sample_coin_tasks(path: str | os.PathLike[str], tasks: int = 10, per_task: int = 10, seed: int = 0
                      ) -> list[ActionVideo]:
    """``per_task`` videos of each of ``tasks`` tasks drawn at random (tasks with enough videos): the
    benchmarks' COIN sets, the same for the same seed."""
    import numpy as np

    rng = np.random.default_rng(seed)
    by: dict[str, list[ActionVideo]] = {}
    for v in read_coin(path):
        by.setdefault(v.task or "", []).append(v)
    names = sorted(t for t in by if len(by[t]) >= per_task)
    chosen = [names[i] for i in rng.choice(len(names), tasks, replace=False)]
    return [by[t][i] for t in chosen for i in rng.choice(len(by[t]), per_task, replace=False)]
