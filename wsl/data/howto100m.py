"""HowTo100M layout: one caption CSV per video (start,end,text in seconds), plus the video or its features.

MIL-NCE's vocabulary, clip sampling and evaluation pairs live in ``wsl.milnce.data``.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wsl.errors import BadInput
from wsl.io import read_text


@dataclass(frozen=True)
class Caption:
    """One narration: start and end in seconds, its text, and the CSV line it came from (1-based)."""

    start: float
    end: float
    text: str
    line: int

    @property
    def middle(self) -> float:
        return 0.5 * (self.start + self.end)


@dataclass
class CaptionFile:
    """The captions of one video, sorted by start, and the rows that were skipped (line, reason)."""

    video: str
    path: str
    captions: list[Caption]
    skipped: list[tuple[int, str]] = field(default_factory=list)
    encoding: str = "utf-8"

    @property
    def duration(self) -> float:
        return max((c.end for c in self.captions), default=0.0)


def _header(row: list[str], needed: Sequence[str], path: Path) -> dict[str, int]:
    names = [h.strip().lower().lstrip("\ufeff") for h in row]
    missing = [n for n in needed if n not in names]
    if missing:
        raise BadInput(f"caption CSV needs the columns {','.join(needed)}; missing {', '.join(missing)} "
                       f"(header is {','.join(names) or 'empty'})", path, 1)
    return {n: names.index(n) for n in needed}


def _parse_row(row: list[str], cols: Mapping[str, int]) -> tuple[float, float, str] | str:
    """(start, end, text), or the reason the row is unusable."""
    if len(row) <= max(cols.values()):
        return f"{len(row)} field(s), expected at least {max(cols.values()) + 1}"
    try:
        start, end = float(row[cols["start"]]), float(row[cols["end"]])
    except ValueError:
        return f"start/end not numbers ({row[cols['start']]!r}, {row[cols['end']]!r})"
    if not (math.isfinite(start) and math.isfinite(end)) or start < 0:
        return f"start/end not finite non-negative seconds ({start}, {end})"
    if end < start:
        return f"ends before it starts ({start} > {end})"
    text = " ".join(row[cols["text"]].split())
    if not text:
        return "empty text"
    return start, end, text


# A line that starts like a caption row (start,end,...): seen inside a field, a quote was left open.
_ROW_START = re.compile(r"^\s*-?[\d.]+\s*,\s*-?[\d.]+\s*,")


def read_captions(path: str | os.PathLike[str], video: str | None = None) -> CaptionFile:
    """Read one HowTo100M caption CSV; bad rows are skipped and recorded in ``skipped`` with their line."""
    path = Path(path)
    text, encoding = read_text(path)
    rows = csv.reader(io.StringIO(text), strict=True)
    try:
        header = next(rows)
    except StopIteration:
        raise BadInput("empty caption file (expected a start,end,text header)", path, 1) from None
    except csv.Error as e:
        raise BadInput(f"unreadable CSV ({e})", path, 1) from None
    cols = _header(header, ("start", "end", "text"), path)
    captions: list[Caption] = []
    skipped: list[tuple[int, str]] = []
    while True:
        line = rows.line_num + 1  # where this row starts (a quoted field may span lines)
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as e:
            if rows.line_num >= text.count("\n"):  # at the end of the file: a quote opened and never closed
                raise BadInput(f"a quote opened in this row is never closed ({e})", path, line) from None
            skipped.append((line, f"unreadable CSV row ({e})"))  # e.g. a NUL byte: skip the row, keep reading
            continue
        if not row or not any(f.strip() for f in row):
            continue
        if any(_ROW_START.match(part) for f in row for part in f.split("\n")[1:]):
            raise BadInput("a quote opened in this row is not closed where the row ends: later rows were "
                           "swallowed into it", path, line)
        parsed = _parse_row(row, cols)
        if isinstance(parsed, str):
            skipped.append((line, parsed))
        else:
            captions.append(Caption(*parsed, line=line))
    captions.sort(key=lambda c: (c.start, c.end))
    return CaptionFile(video or path.stem, str(path), captions, skipped, encoding)


def read_caption_dir(folder: str | os.PathLike[str], videos: Iterable[str] | None = None) -> dict[str, CaptionFile]:
    """Every ``<video>.csv`` in ``folder`` (or just ``videos``), keyed by video id, sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInput("not a folder of caption CSV files", folder)
    paths = sorted(folder.glob("*.csv")) if videos is None else [folder / f"{v}.csv" for v in videos]
    if not paths:
        raise BadInput("no caption .csv files in this folder", folder)
    return {p.stem: read_captions(p) for p in paths}


def skipped_summary(files: Mapping[str, CaptionFile], most: int = 3) -> str | None:
    """One line counting the skipped rows over ``files``, with the first few places; None when none."""
    bad = [(f.path, line, why) for f in files.values() for line, why in f.skipped]
    if not bad:
        return None
    kept = sum(len(f.captions) for f in files.values())
    where = "; ".join(f"{p}:{line}: {why}" for p, line, why in bad[:most])
    return f"skipped {len(bad)} bad caption row(s), kept {kept} (first: {where})"
