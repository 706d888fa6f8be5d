"""HowTo100M layout: one caption CSV per video (start,end,text in seconds), plus the video or its features.

Also the text side's vocabulary and the clip / candidate sampling of MIL-NCE (Miech et al. 2020). No torch:
the torch dataset in ``wsl.models.milnce`` draws its samples through these functions.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from wsl.errors import BadInput
from wsl.io import read_text

PAD, UNK = "<pad>", "<unk>"
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


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


def read_captions(path: str | os.PathLike[str], video: str | None = None) -> CaptionFile:
    """Read one HowTo100M caption CSV; bad rows are skipped and recorded in ``skipped`` with their line."""
    path = Path(path)
    text, encoding = read_text(path)
    rows = csv.reader(io.StringIO(text))
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
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as e:  # e.g. a NUL byte or an unclosed quote: skip the row, keep reading
            skipped.append((rows.line_num, f"unreadable CSV row ({e})"))
            continue
        line = rows.line_num
        if not row or not any(f.strip() for f in row):
            continue
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


@dataclass(frozen=True)
class SentencePair:
    """A gold (clip, sentence) pair for evaluation: video id, start, end (s), sentence, CSV line."""

    video: str
    start: float
    end: float
    text: str
    line: int


def read_sentence_pairs(path: str | os.PathLike[str]) -> tuple[list[SentencePair], list[tuple[int, str]]]:
    """Read an evaluation CSV with columns video_id,start,end,text (YouCook2 / CrossTask style).

    Returns the pairs and the skipped rows (line, reason).
    """
    path = Path(path)
    text, _ = read_text(path)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise BadInput("empty file (expected a video_id,start,end,text header)", path, 1)
    cols = _header(rows[0], ("video_id", "start", "end", "text"), path)
    pairs: list[SentencePair] = []
    skipped: list[tuple[int, str]] = []
    for i, row in enumerate(rows[1:], start=2):
        if not row or not any(f.strip() for f in row):
            continue
        parsed = _parse_row(row, cols)
        vid = row[cols["video_id"]].strip() if len(row) > cols["video_id"] else ""
        if isinstance(parsed, str) or not vid:
            skipped.append((i, parsed if isinstance(parsed, str) else "empty video_id"))
            continue
        pairs.append(SentencePair(vid, parsed[0], parsed[1], parsed[2], i))
    return pairs, skipped


# --- vocabulary --------------------------------------------------------------------------------------------------

def tokenize(text: str) -> list[str]:
    """Lower-case word tokens (letters and digits, with an English clitic kept: "don't", "it's")."""
    return _WORD.findall(text.lower())


class Vocabulary:
    """Word -> id, with 0 = padding; words not in it are dropped (as the paper's text model does)."""

    def __init__(self, words: Sequence[str]):
        self.words = [PAD, *(w for w in words if w != PAD)]
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1, max_size: int | None = None) -> Vocabulary:
        """The words seen at least ``min_count`` times, most frequent first (ties alphabetical)."""
        counts = Counter(w for t in texts for w in tokenize(t))
        ranked = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        if not ranked:
            raise BadInput(f"the vocabulary is empty: no word occurs {min_count} time(s) or more in the training "
                           f"captions ({sum(counts.values())} word token(s) in all); check the captions or lower "
                           f"--min-count")
        return cls(ranked[:max_size] if max_size else ranked)

    def encode(self, text: str, max_words: int) -> list[int]:
        """Ids of the known words of ``text``, at most ``max_words`` (unknown words are dropped)."""
        ids = [self.index[w] for w in tokenize(text) if w in self.index]
        return ids[:max_words]

    def unknown(self, text: str) -> list[str]:
        return [w for w in tokenize(text) if w not in self.index]


# --- clip and candidate sampling ------------------------------------------------------------------------------

def candidate_indices(captions: Sequence[Caption], centre: float, candidates: int) -> list[int]:
    """Indices of the ``candidates`` captions nearest in time to ``centre`` (by caption middle), in time order."""
    mids = np.array([c.middle for c in captions])
    order = np.argsort(np.abs(mids - centre), kind="stable")[:candidates]
    return sorted(int(i) for i in order)


def sample_clip(captions: Sequence[Caption], duration: float, clip_seconds: float, candidates: int,
                rng: np.random.Generator) -> tuple[float, float, list[int]]:
    """Draw one training sample: a caption uniformly, a clip of ``clip_seconds`` centred on it (kept inside
    [0, duration]), and the ``candidates`` captions nearest in time to the clip as its positive bag.

    This is the paper's sampling: the narration nearest the clip is often about something else (speech and
    action are misaligned), so the bag lets the loss pick whichever of them the clip actually shows.
    """
    if not captions:
        raise ValueError("no captions to sample from")
    c = captions[int(rng.integers(len(captions)))]
    centre = c.middle
    start = min(max(0.0, centre - clip_seconds / 2), max(0.0, duration - clip_seconds))
    centre = start + clip_seconds / 2
    return start, start + clip_seconds, candidate_indices(captions, centre, candidates)


def clip_windows(duration: float, clip_seconds: float, stride: float) -> list[tuple[float, float]]:
    """Sliding windows (start, end) of ``clip_seconds`` every ``stride`` s covering [0, duration]."""
    if clip_seconds <= 0 or stride <= 0:
        raise BadInput(f"clip length and stride must be positive (got {clip_seconds}, {stride})")
    if duration <= clip_seconds:
        return [(0.0, max(duration, clip_seconds))]
    n = int(math.floor((duration - clip_seconds) / stride + 1e-9)) + 1
    windows = [(k * stride, k * stride + clip_seconds) for k in range(n)]
    if windows[-1][1] < duration - 1e-6:  # cover the tail too
        windows.append((duration - clip_seconds, duration))
    return windows


def window_rows(start: float, end: float, fps: float, steps: int, n_rows: int) -> np.ndarray:
    """``steps`` row (or frame) indices evenly spread over [start, end) at ``fps``, clamped to the file."""
    times = start + (np.arange(steps) + 0.5) * (end - start) / steps
    return np.clip(np.floor(times * fps).astype(np.int64), 0, n_rows - 1)
