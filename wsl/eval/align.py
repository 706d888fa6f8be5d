"""Metrics of screenplay/subtitle alignment against gold (DESIGN.md: Metrics, alignment).

Gold is the format of ``tbbt-season1/aligned-fixture/*.gold.json``: ``blocks`` (script_line, character,
text, status ``matched`` | ``absent``, start, end) and ``cues`` (index, speakers). Blocks are matched
to the output's dialogue elements by ``script_line``; cues by ``index``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from wsl.errors import BadInput

__all__ = ["evaluate_alignment", "evaluate_paths", "combine", "COUNT_KEYS"]

COUNT_KEYS = ("blocks_in_film", "within_1s", "within_2s", "in_film_aligned", "blocks_absent", "absent_abstained",
              "blocks_missing", "cues", "cues_attributed", "speakers_correct", "speakers_correct_attributed",
              "cues_confident", "speakers_correct_confident")
# Speaker accuracy is also reported over the cues whose speakers carry at least this confidence.
CONFIDENT = 0.5


def _name(s: str) -> str:
    return " ".join(str(s).upper().split())


def _check(obj: Any, what: str, keys: tuple[str, ...]) -> None:
    if not isinstance(obj, dict) or not all(k in obj for k in keys):
        raise BadInput(f"{what} is not an aligned-script JSON: expected an object with {', '.join(keys)}")


def evaluate_alignment(output: dict[str, Any], gold: dict[str, Any]) -> dict[str, Any]:
    """Counts and shares: blocks in the film with start within 1 s / 2 s of gold, absent blocks abstained,
    cues whose speakers (in order) equal gold's — over all gold cues and over the cues attributed."""
    _check(output, "the output", ("elements", "cues"))
    _check(gold, "the gold file", ("blocks", "cues"))
    by_line = {e.get("script_line"): e for e in output["elements"] if e.get("type") == "dialogue"}
    c = dict.fromkeys(COUNT_KEYS, 0)
    errors: list[float] = []
    for b in gold["blocks"]:
        pred = by_line.get(b.get("script_line"))
        if pred is None:
            c["blocks_missing"] += 1
        aligned = bool(pred and pred.get("aligned") and pred.get("start") is not None)
        if b.get("status") == "absent" or b.get("start") is None:
            c["blocks_absent"] += 1
            c["absent_abstained"] += int(not aligned)
            continue
        c["blocks_in_film"] += 1
        if aligned:
            c["in_film_aligned"] += 1
            err = abs(float(pred["start"]) - float(b["start"]))  # type: ignore[index]
            errors.append(err)
            c["within_1s"] += int(err <= 1.0)
            c["within_2s"] += int(err <= 2.0)
    pred_cues = {q.get("index"): q for q in output["cues"]}
    for g in gold["cues"]:
        c["cues"] += 1
        q = pred_cues.get(g.get("index"))
        speakers = [_name(s) for s in (q or {}).get("speakers") or []]
        if speakers:
            c["cues_attributed"] += 1
        ok = speakers == [_name(s) for s in g.get("speakers") or []]
        c["speakers_correct"] += int(ok)
        c["speakers_correct_attributed"] += int(ok and bool(speakers))
        if speakers and float((q or {}).get("confidence") or 0.0) >= CONFIDENT:
            c["cues_confident"] += 1
            c["speakers_correct_confident"] += int(ok)
    res = _shares(c)
    errors.sort()
    res["median_abs_error_s"] = round(errors[len(errors) // 2], 3) if errors else None
    return res


def _shares(c: dict[str, int]) -> dict[str, Any]:
    def share(n: int, d: int) -> float | None:
        return round(n / d, 4) if d else None

    return {
        "share_within_1s": share(c["within_1s"], c["blocks_in_film"]),
        "share_within_2s": share(c["within_2s"], c["blocks_in_film"]),
        "share_in_film_aligned": share(c["in_film_aligned"], c["blocks_in_film"]),
        "share_absent_abstained": share(c["absent_abstained"], c["blocks_absent"]),
        "speaker_accuracy": share(c["speakers_correct"], c["cues"]),
        "speaker_accuracy_attributed": share(c["speakers_correct_attributed"], c["cues_attributed"]),
        "share_cues_attributed": share(c["cues_attributed"], c["cues"]),
        "speaker_accuracy_confident": share(c["speakers_correct_confident"], c["cues_confident"]),
        "share_cues_confident": share(c["cues_confident"], c["cues"]),
        "counts": dict(c),
    }


def combine(results: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Pool several evaluations (micro-average over blocks and cues)."""
    total = dict.fromkeys(COUNT_KEYS, 0)
    n = 0
    for r in results:
        n += 1
        for k in COUNT_KEYS:
            total[k] += int(r["counts"].get(k, 0))
    res = _shares(total)
    res["files"] = n
    return res


def evaluate_paths(output: str | os.PathLike[str], gold: str | os.PathLike[str]) -> dict[str, Any]:
    """Score saved outputs: two files, or two folders paired by name (X.aligned.json with X.gold.json),
    giving ``{"overall": pooled metrics, "files": {name: metrics}}``."""
    from wsl.io import load_json
    from wsl.progress import warn

    out_p, gold_p = Path(output), Path(gold)
    for p in (out_p, gold_p):
        if not p.exists():
            raise BadInput("no such file or folder", p)
    if out_p.is_dir() != gold_p.is_dir():
        raise BadInput("the output and the gold must both be files or both be folders")
    if not out_p.is_dir():
        return evaluate_alignment(load_json(out_p), load_json(gold_p))
    per: dict[str, Any] = {}
    for g in sorted(gold_p.glob("*.gold.json")):
        name = g.name[: -len(".gold.json")]
        cands = sorted(out_p.glob(f"{name}.*json"))
        if not cands:
            warn(f"{g}: no output {name}.aligned.json in {out_p}; counted as missing")
            continue
        per[name] = evaluate_alignment(load_json(cands[0]), load_json(g))
    if not per:
        raise BadInput("no X.gold.json with a matching X.aligned.json", gold_p)
    return {"overall": combine(per.values()),
            "files": {k: {kk: vv for kk, vv in v.items() if kk != "counts"} for k, v in per.items()}}
