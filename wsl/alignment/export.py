"""Writers of an aligned script (docs/formats.md, "Aligned script"): JSON, JSON lines, CSV, SRT, VTT, ASS.

The format comes from the caller or from the output's extension; an extension that names no format
is refused rather than silently written as JSON. Cues skipped as broken are written back in the
subtitle exports with their text (between their neighbours when their timing was unreadable).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from wsl.errors import BadInput
from wsl.text.subtitles import format_srt, format_vtt

__all__ = ["FORMATS", "render", "format_from_path", "output_format"]

FORMATS = ("json", "jsonl", "csv", "srt", "vtt", "ass")
_CSV_FIELDS = ("type", "character", "script_line", "start", "end", "aligned", "confidence", "interpolated", "cues",
               "text")


def format_from_path(path: str, default: str = "json") -> str:
    """The output format implied by a file name (``x.srt`` -> srt), else ``default``."""
    for fmt in FORMATS:
        if path.lower().endswith("." + fmt):
            return fmt
    if path.lower().endswith(".ssa"):
        return "ass"
    return default


def output_format(path: str, fmt: str | None) -> str:
    """``fmt`` when given; else the format the output's extension names (stdout: json). Refuses an
    extension that names no format, so ``-o notes.txt`` never silently receives JSON."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise BadInput(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}", param="fmt")
        return fmt
    if str(path) == "-":
        return "json"
    found = format_from_path(str(path), "")
    if not found:
        ext = Path(str(path)).suffix or "(none)"
        raise BadInput(f"cannot tell the output format from the extension {ext}: name the output "
                       f".json, .jsonl, .csv, .srt, .vtt or .ass, or give `fmt`", param="fmt")
    return found


def _speaker_lines(cue: dict[str, Any]) -> str:
    """``GITTES: text``, or one ``- NAME: text`` line per turn when the cue holds several turns.

    A cue with no speech (``[WIND HOWLING]``, lyrics) keeps the text the subtitle showed.
    """
    turns = cue.get("turns") or []
    if not turns:
        return cue.get("raw") or cue["text"]

    def line(turn: dict[str, Any]) -> str:
        return f"{turn['speaker']}: {turn['text']}" if turn.get("speaker") else turn["text"]

    if len(turns) == 1:
        return line(turns[0])
    return "\n".join(f"- {line(t)}" for t in turns)


def _cue_items(cues: list[dict[str, Any]]) -> list[tuple[float, float, str]]:
    """Every cue in file order; a skipped cue keeps its text, timed between its neighbours when its own
    timing line was unreadable."""
    items: list[tuple[float, float, str]] = []
    for k, c in enumerate(cues):
        start, end = c.get("start"), c.get("end")
        if start is None or end is None:
            start = items[-1][1] if items else 0.0
            nxt = next((q["start"] for q in cues[k + 1:] if q.get("start") is not None), start)
            end = max(start, nxt)
        elif end < start:
            start, end = end, start
        items.append((float(start), float(end), _speaker_lines(c)))
    return items


def _timed_items(result: dict[str, Any], export: str) -> list[tuple[float, float, str]]:
    if export == "cues":
        return _cue_items(result["cues"])
    if export == "script":
        items = []
        for e in result["elements"]:
            if e["type"] == "dialogue" and e.get("aligned"):
                items.append((e["start"], e["end"], f"{e['character']}: {e['text']}"))
        return sorted(items, key=lambda x: x[0])
    raise BadInput(f"export must be 'cues' or 'script', not {export!r}", param="export")


def _format_ass(items: list[tuple[float, float, str]]) -> str:
    import pysubs2

    doc = pysubs2.SSAFile()
    for start, end, text in items:
        doc.append(pysubs2.SSAEvent(start=int(round(start * 1000)), end=int(round(end * 1000)),
                                    text=text.strip().replace("\n", "\\N")))
    return str(doc.to_string("ass"))


def render(result: Any, fmt: str, export: str = "cues") -> str:
    """The aligned script (an `AlignResult` or its dict) as text in ``fmt``; for srt/vtt/ass,
    ``export`` picks the speaker-attributed subtitles (``cues``) or the timed screenplay dialogue
    (``script``)."""
    if not isinstance(result, dict):
        result = result.to_dict()
    if fmt == "json":
        return json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    if fmt == "jsonl":
        lines = [json.dumps({"record": "summary", **result["summary"]}, ensure_ascii=False)]
        lines += [json.dumps({"record": "element", **e}, ensure_ascii=False) for e in result["elements"]]
        lines += [json.dumps({"record": "cue", **c}, ensure_ascii=False) for c in result["cues"]]
        return "\n".join(lines) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=_CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for e in result["elements"]:
            row = dict(e)
            row["cues"] = " ".join(str(c) for c in e.get("cues", []))
            row["interpolated"] = bool(e.get("interpolated"))
            w.writerow(row)
        return buf.getvalue()
    if fmt in ("srt", "vtt", "ass"):
        items = _timed_items(result, export)
        if fmt == "ass":
            return _format_ass(items)
        return format_srt(items) if fmt == "srt" else format_vtt(items)
    raise BadInput(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}", param="fmt")
