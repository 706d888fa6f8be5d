"""Writers of an aligned script (docs/formats.md, "Aligned script"): JSON, JSON lines, CSV, SRT, VTT."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from wsl.errors import BadInput
from wsl.text.subtitles import format_srt, format_vtt

__all__ = ["FORMATS", "render", "format_from_path"]

FORMATS = ("json", "jsonl", "csv", "srt", "vtt")
_CSV_FIELDS = ("type", "character", "script_line", "start", "end", "aligned", "confidence", "interpolated", "cues",
               "text")


def format_from_path(path: str, default: str = "json") -> str:
    """The output format implied by a file name (``x.srt`` -> srt), else ``default``."""
    for fmt in FORMATS:
        if path.lower().endswith("." + fmt):
            return fmt
    return default


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


def _timed_items(result: dict[str, Any], export: str) -> list[tuple[float, float, str]]:
    if export == "cues":
        return [(c["start"], c["end"], _speaker_lines(c)) for c in result["cues"]]
    if export == "script":
        items = []
        for e in result["elements"]:
            if e["type"] == "dialogue" and e.get("aligned"):
                items.append((e["start"], e["end"], f"{e['character']}: {e['text']}"))
        return sorted(items, key=lambda x: x[0])
    raise BadInput(f"--export must be 'cues' or 'script', not {export!r}")


def render(result: dict[str, Any], fmt: str, export: str = "cues") -> str:
    """The aligned script as text in ``fmt``; for srt/vtt, ``export`` picks the speaker-attributed
    subtitles (``cues``) or the timed screenplay dialogue (``script``)."""
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
    if fmt in ("srt", "vtt"):
        items = _timed_items(result, export)
        return format_srt(items) if fmt == "srt" else format_vtt(items)
    raise BadInput(f"unknown --format {fmt!r}: use one of {', '.join(FORMATS)}")
