"""Subtitle files (SRT, WebVTT) as frozen cues that keep their source line, plus cue-text cleaning.

Used by `wsl align` (dialogue) and by `wsl discover-steps` (narrations). The parser is written here
rather than delegated to pysrt because it must keep going past broken cues and say on which line
each one was: a cue with an unreadable timing line, times that run backwards or no text is skipped
and recorded in `SubtitleFile.skipped` with its line number.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from wsl.errors import BadInput
from wsl.io import read_text

__all__ = [
    "Cue", "SubtitleFile", "Turn", "parse_srt", "parse_vtt", "parse_subtitles", "read_subtitles",
    "clean_line", "cue_turns", "is_lyrics", "format_timestamp", "format_srt", "format_vtt",
]

# 00:01:02,345 | 00:01:02.345 | 01:02.345 (WebVTT without hours) | 0:01:02,5
_TIME = r"(?:(\d{1,3}):)?(\d{1,2}):(\d{1,2})(?:[,.](\d{1,3}))?(?!\d)"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-+>\s*{_TIME}(.*)$")


@dataclass(frozen=True)
class Cue:
    """One subtitle cue: its own number in the file, times in seconds, text lines, source line."""

    index: int
    start: float
    end: float
    lines: tuple[str, ...]
    line: int  # 1-based line of the cue's timing line in the file

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class SubtitleFile:
    """A parsed subtitle file: cues in time order of the file, and the cues that had to be skipped."""

    cues: tuple[Cue, ...]
    encoding: str = "utf-8"
    format: str = "srt"
    path: str | None = None
    skipped: tuple[tuple[int, str], ...] = field(default_factory=tuple)  # (line, why)


def _seconds(h: str | None, m: str, s: str, ms: str | None) -> float:
    frac = 0.0
    if ms:
        frac = int(ms) / (10 ** len(ms))
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + frac


def _parse_timing(line: str) -> tuple[float, float, str] | None:
    m = _TIMING.match(line)
    if not m:
        return None
    g = m.groups()
    return _seconds(*g[0:4]), _seconds(*g[4:8]), g[8].strip()


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Group lines into cue blocks starting at each timing line (blank lines inside a cue's text are
    tolerated: a block runs until the next timing line, minus a trailing cue number)."""
    timing_rows = [k for k, ln in enumerate(lines) if "-->" in ln]
    blocks = []
    for n, k in enumerate(timing_rows):
        stop = timing_rows[n + 1] if n + 1 < len(timing_rows) else len(lines)
        body = lines[k + 1 : stop]
        # The next cue's number (and blank lines) sit just before its timing line: drop them.
        while body and not body[-1].strip():
            body.pop()
        if n + 1 < len(timing_rows) and body and body[-1].strip().isdigit():
            body.pop()
        while body and not body[-1].strip():
            body.pop()
        blocks.append((k, [lines[k]] + body))
    return blocks


def _parse(text: str, path: str | None, fmt: str) -> tuple[list[Cue], list[tuple[int, str]]]:
    lines = text.split("\n")
    cues: list[Cue] = []
    skipped: list[tuple[int, str]] = []
    last_end = -1.0
    for k, block in _blocks(lines):
        lineno = k + 1
        timing = _parse_timing(block[0])
        if timing is None:
            skipped.append((lineno, "unreadable timing line"))
            continue
        start, end, _settings = timing
        if end < start:
            skipped.append((lineno, "cue ends before it starts"))
            continue
        body = [ln.strip() for ln in block[1:]]
        body = [ln for ln in body if ln]
        if not body:
            skipped.append((lineno, "cue has no text"))
            continue
        index = len(cues) + 1
        if fmt == "srt" and k > 0 and lines[k - 1].strip().isdigit():
            index = int(lines[k - 1].strip())
        if start < last_end - 60.0:
            # A cue far earlier than the previous one is a sign of a concatenated or broken file.
            skipped.append((lineno, "cue starts more than a minute before the previous cue ends"))
            continue
        last_end = max(last_end, end)
        cues.append(Cue(index=index, start=start, end=end, lines=tuple(body), line=lineno))
    return cues, skipped


def parse_srt(text: str, path: str | os.PathLike[str] | None = None, encoding: str = "utf-8") -> SubtitleFile:
    """Parse SubRip text. Broken cues are skipped and listed with their line numbers."""
    p = None if path is None else str(path)
    cues, skipped = _parse(text, p, "srt")
    return SubtitleFile(tuple(cues), encoding, "srt", p, tuple(skipped))


def parse_vtt(text: str, path: str | os.PathLike[str] | None = None, encoding: str = "utf-8") -> SubtitleFile:
    """Parse WebVTT text: the header, NOTE/STYLE/REGION blocks and cue identifiers are ignored."""
    p = None if path is None else str(path)
    lines = text.split("\n")
    if not lines or not lines[0].lstrip("\ufeff").startswith("WEBVTT"):
        raise BadInput("not a WebVTT file: the first line must be WEBVTT", p, 1)
    # Blank out NOTE/STYLE/REGION blocks so their text never joins a cue; keep line numbers.
    out = list(lines)
    k = 1
    while k < len(out):
        head = out[k].strip()
        if head.startswith(("NOTE", "STYLE", "REGION")) and (k == 0 or not out[k - 1].strip()):
            while k < len(out) and out[k].strip():
                out[k] = ""
                k += 1
        k += 1
    out[0] = ""
    # A cue identifier is the non-blank line just before a timing line: blank it.
    for k in range(1, len(out)):
        if "-->" in out[k] and out[k - 1].strip() and "-->" not in out[k - 1]:
            out[k - 1] = ""
    cues, skipped = _parse("\n".join(out), p, "vtt")
    return SubtitleFile(tuple(cues), encoding, "vtt", p, tuple(skipped))


def parse_subtitles(text: str, path: str | os.PathLike[str] | None = None, encoding: str = "utf-8",
                    fmt: str | None = None) -> SubtitleFile:
    """Parse SRT or VTT text (``fmt`` or, failing that, the WEBVTT header decides)."""
    if fmt is None:
        fmt = "vtt" if text.lstrip("\ufeff").startswith("WEBVTT") else "srt"
    return parse_vtt(text, path, encoding) if fmt == "vtt" else parse_srt(text, path, encoding)


def read_subtitles(path: str | os.PathLike[str]) -> SubtitleFile:
    """Read an .srt or .vtt file in any common encoding. Raises BadInput when it holds no cue."""
    text, encoding = read_text(path)
    if not text.strip():
        raise BadInput("subtitle file is empty", path)
    ext = Path(path).suffix.lower()
    fmt = "vtt" if ext == ".vtt" or text.lstrip("\ufeff").startswith("WEBVTT") else "srt"
    subs = parse_subtitles(text, path, encoding, fmt)
    if not subs.cues:
        where = subs.skipped[0][0] if subs.skipped else None
        raise BadInput(f"no readable subtitle cue (expected {fmt.upper()} cues: 'HH:MM:SS,mmm --> HH:MM:SS,mmm' "
                       f"lines followed by text){'; ' + subs.skipped[0][1] if subs.skipped else ''}", path, where)
    return subs


# ---------------------------------------------------------------------------------------------- cleaning

_TAG = re.compile(r"<[^>\n]*>|\{\\[^}\n]*\}")  # <i>, </font>, <c.yellow>, {\an8}
_HI_BRACKETS = re.compile(r"\[[^\]\n]*\]|\([^)\n]*\)")  # [DOOR SLAMS], (laughs)
# An upper-case speaker label, as hearing-impaired subtitles write it: ``MAN:``, ``DR. JONES:``.
_HI_SPEAKER = re.compile(r"^([A-Z][A-Z0-9 .'\-]{0,30}[A-Z0-9.])\s*:\s+(?=\S)")
_LYRICS = ("♪", "♫", "#")
_DASH = re.compile(r"^\s*[-‐–—]+\s*")


def is_lyrics(line: str) -> bool:
    """A sung line: subtitle convention marks them with ♪ (or # in older files)."""
    s = _TAG.sub("", line).strip()
    return bool(s) and (s[0] in _LYRICS or s[-1:] in ("♪", "♫"))


def clean_line(line: str) -> tuple[str, str | None]:
    """Remove markup and hearing-impaired annotations from one cue line.

    Returns ``(text, speaker_label)``: ``MAN: Get out!`` gives ``("Get out!", "MAN")``. A sung line gives ``""``.
    """
    s = _TAG.sub("", line)
    if is_lyrics(s):
        return "", None
    s = _HI_BRACKETS.sub(" ", s)
    dash = _DASH.match(s)
    lead = dash.group(0) if dash else ""
    rest = s[len(lead):]
    label = None
    m = _HI_SPEAKER.match(rest)
    if m:
        label = m.group(1).strip()
        rest = rest[m.end():]
    return (lead.strip() + " " + rest.strip()).strip() if lead else rest.strip(), label


@dataclass(frozen=True)
class Turn:
    """One speaker turn inside a cue: a dash cue (``- Hi. / - Hello.``) holds two."""

    text: str
    label: str | None  # a hearing-impaired speaker label (``JOHN:``), when the cue had one
    offset: int  # character offset of the turn in the cue's cleaned text (see cue_turns)


def cue_turns(cue: Cue) -> tuple[str, list[Turn]]:
    """The cue's cleaned text (lines joined by spaces) and its speaker turns.

    A line that starts with a dash starts a new turn; lines without a dash continue the current one.
    """
    turns: list[tuple[list[str], str | None]] = []
    for raw in cue.lines:
        text, label = clean_line(raw)
        if not text:
            continue
        dash = _DASH.match(text)
        if dash or not turns or label:
            turns.append(([text[dash.end():] if dash else text], label))
        else:
            turns[-1][0].append(text)
    full: list[str] = []
    out: list[Turn] = []
    pos = 0
    for parts, label in turns:
        t = " ".join(parts).strip()
        if not t:
            continue
        if full:
            pos += 1
        out.append(Turn(t, label, pos))
        full.append(t)
        pos += len(t)
    return " ".join(full), out


# ---------------------------------------------------------------------------------------------- writing

def format_timestamp(seconds: float, sep: str = ",") -> str:
    """``HH:MM:SS,mmm`` (``sep='.'`` for WebVTT)."""
    ms = max(0, int(round(seconds * 1000)))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def format_srt(items: list[tuple[float, float, str]]) -> str:
    """SubRip text for ``(start, end, text)`` items, numbered from 1."""
    out = []
    for n, (start, end, text) in enumerate(items, 1):
        out.append(f"{n}\n{format_timestamp(start)} --> {format_timestamp(end)}\n{text.strip()}\n")
    return "\n".join(out)


def format_vtt(items: list[tuple[float, float, str]]) -> str:
    """WebVTT text for ``(start, end, text)`` items."""
    out = ["WEBVTT\n"]
    for start, end, text in items:
        out.append(f"{format_timestamp(start, '.')} --> {format_timestamp(end, '.')}\n{text.strip()}\n")
    return "\n".join(out)
