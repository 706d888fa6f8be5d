"""Subtitle files (SRT, WebVTT, ASS/SSA) as frozen cues that keep their source line, plus cue-text cleaning.

Used by `wsl align` (dialogue) and by `wsl discover-steps` (narrations). SRT and WebVTT are parsed
here rather than by pysrt/pysubs2 because the parser must keep going past broken cues and say on
which line each one was: a cue with an unreadable timing line, times that run backwards or no text is
skipped, recorded in `SubtitleFile.skipped` with its line number, and kept with its text in
`SubtitleFile.broken` (so exports can write it back). ASS/SSA (styles, override tags, drawings) are
read with pysubs2, one event line at a time when the file has a broken one, for the same reason.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from wsl.errors import BadInput
from wsl.io import read_text
from wsl.progress import warn

__all__ = [
    "Cue", "BrokenCue", "SubtitleFile", "Turn", "parse_srt", "parse_vtt", "parse_ass", "parse_subtitles",
    "read_subtitles", "SUBTITLE_EXTENSIONS",
    "clean_line", "cue_turns", "is_lyrics", "format_timestamp", "format_srt", "format_vtt",
]

# 00:01:02,345 | 00:01:02.345 | 01:02.345 (WebVTT without hours) | 0:01:02,5
_TIME = r"(?:(\d{1,3}):)?(\d{1,2}):(\d{1,2})(?:[,.](\d{1,3}))?(?!\d)"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-+>\s*{_TIME}((?:\s.*)?)$")  # settings after a space only
_CUE_NUMBER = re.compile(r"^[0-9]+$")  # ASCII digits only: int() of "③" or "²" fails
# A line that was probably meant as a cue number (x1, -3, 12a): warned about, kept as text.
_ODD_NUMBER = re.compile(r"^\S{0,2}[0-9]+\S{0,2}$")
SUBTITLE_EXTENSIONS = (".srt", ".vtt", ".ass", ".ssa")


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
class BrokenCue:
    """A cue that could not be used (see ``reason``), kept with its text for exports.

    ``start``/``end`` are None when the timing line was unreadable.
    """

    line: int
    reason: str
    lines: tuple[str, ...]
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class SubtitleFile:
    """A parsed subtitle file: cues in time order of the file, and the cues that had to be skipped."""

    cues: tuple[Cue, ...]
    encoding: str = "utf-8"
    format: str = "srt"
    path: str | None = None
    skipped: tuple[tuple[int, str], ...] = field(default_factory=tuple)  # (line, why)
    broken: tuple[BrokenCue, ...] = field(default_factory=tuple)  # the skipped cues, with their text


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
        if n + 1 < len(timing_rows) and body and _CUE_NUMBER.match(body[-1].strip()):
            body.pop()
        while body and not body[-1].strip():
            body.pop()
        blocks.append((k, [lines[k]] + body))
    return blocks


def _check_cue_number(lines: list[str], k: int, path: str | None) -> int | None:
    """The SRT cue number on the line before timing line k: None when absent; refuses non-ASCII digits
    (``③``, ``²``) and warns about number-like lines (``x1``, ``-3``), which stay subtitle text."""
    if k == 0:
        return None
    s = lines[k - 1].strip()
    if _CUE_NUMBER.match(s):
        return int(s)
    if s and any(ch.isdigit() for ch in s) and all(ch.isdigit() for ch in s):
        raise BadInput(f"cue number {s!r} is not written in the digits 0-9", path, k)
    if s and _ODD_NUMBER.match(s) and (k < 2 or not lines[k - 2].strip()):
        warn(f"{path or '<subtitles>'}:{k}: {s!r} stands where a cue number goes but is not one; "
             "kept as text of the cue before")
    return None


def _parse(text: str, path: str | None, fmt: str) -> tuple[list[Cue], list[BrokenCue]]:
    lines = text.split("\n")
    cues: list[Cue] = []
    broken: list[BrokenCue] = []
    last_end = -1.0
    for k, block in _blocks(lines):
        lineno = k + 1
        number = _check_cue_number(lines, k, path) if fmt == "srt" else None
        body = [ln.strip() for ln in block[1:]]
        body = [ln for ln in body if ln]
        timing = _parse_timing(block[0])
        if timing is None:
            broken.append(BrokenCue(lineno, "unreadable timing line", tuple(body)))
            continue
        start, end, _settings = timing
        if end < start:
            broken.append(BrokenCue(lineno, "cue ends before it starts", tuple(body), start, end))
            continue
        if not body:
            broken.append(BrokenCue(lineno, "cue has no text", (), start, end))
            continue
        index = len(cues) + 1 if number is None else number
        if start < last_end - 60.0:
            # A cue far earlier than the previous one is a sign of a concatenated or broken file.
            broken.append(BrokenCue(lineno, "cue starts more than a minute before the previous cue ends",
                                    tuple(body), start, end))
            continue
        last_end = max(last_end, end)
        cues.append(Cue(index=index, start=start, end=end, lines=tuple(body), line=lineno))
    return cues, broken


def _file(cues: list[Cue], broken: list[BrokenCue], encoding: str, fmt: str, path: str | None) -> SubtitleFile:
    return SubtitleFile(tuple(cues), encoding, fmt, path, tuple((b.line, b.reason) for b in broken), tuple(broken))


def parse_srt(text: str, path: str | os.PathLike[str] | None = None, encoding: str = "utf-8") -> SubtitleFile:
    """Parse SubRip text. Broken cues are skipped and listed with their line numbers."""
    p = None if path is None else str(path)
    cues, broken = _parse(text, p, "srt")
    return _file(cues, broken, encoding, "srt", p)


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
    cues, broken = _parse("\n".join(out), p, "vtt")
    return _file(cues, broken, encoding, "vtt", p)


def _ass_events(text: str) -> list[tuple[int, str]]:
    """(1-based line, line) of each Dialogue/Comment event line."""
    return [(no, ln) for no, ln in enumerate(text.split("\n"), 1) if ln.lstrip().startswith(("Dialogue:", "Comment:"))]


def parse_ass(text: str, path: str | os.PathLike[str] | None = None, encoding: str = "utf-8") -> SubtitleFile:
    """Parse ASS/SSA through pysubs2: override tags removed, ``\\N`` breaks lines, comments and drawings
    ignored. An event line pysubs2 cannot read is skipped with its line number; the rest are kept."""
    import pysubs2

    p = None if path is None else str(path)
    events = _ass_events(text)
    if not events:
        raise BadInput("not an ASS/SSA file: no 'Dialogue:' event lines", p)
    try:
        whole = pysubs2.SSAFile.from_string(text, format_="ass")
        parsed = [(no, ev) for (no, _), ev in zip(events, whole, strict=True)]
        bad: list[tuple[int, str]] = []
    except Exception:  # one broken event line spoils pysubs2's whole parse: read the lines one by one
        first = min(no for no, _ in events)
        head = "\n".join(text.split("\n")[: first - 1])
        parsed, bad = [], []
        for no, ln in events:
            try:
                evs = list(pysubs2.SSAFile.from_string(f"{head}\n{ln}\n", format_="ass"))
            except Exception as e:  # pysubs2 raises ValueError and friends for a bad field
                bad.append((no, f"unreadable event line ({str(e)[:60]})"))
                continue
            parsed += [(no, ev) for ev in evs]
    cues: list[Cue] = []
    broken = [BrokenCue(no, why, ()) for no, why in bad]
    for no, ev in parsed:
        if ev.is_comment or ev.is_drawing:
            continue
        lines = tuple(x.strip() for x in ev.plaintext.split("\n") if x.strip())
        start, end = ev.start / 1000.0, ev.end / 1000.0
        if end < start:
            broken.append(BrokenCue(no, "cue ends before it starts", lines, start, end))
        elif not lines:
            continue  # an empty event (positioning, karaoke timing) is not a cue
        else:
            cues.append(Cue(len(cues) + 1, start, end, lines, no))
    cues.sort(key=lambda c: (c.start, c.line))  # ASS events need not be in time order
    broken.sort(key=lambda b: b.line)
    fmt = "ssa" if "[V4 Styles]" in text and "[V4+ Styles]" not in text else "ass"
    return _file(cues, broken, encoding, fmt, p)


def parse_subtitles(text: str, path: str | os.PathLike[str] | None = None, encoding: str = "utf-8",
                    fmt: str | None = None) -> SubtitleFile:
    """Parse SRT, VTT or ASS/SSA text (``fmt`` or, failing that, the content decides)."""
    if fmt is None:
        fmt = _sniff(text)
    if fmt in ("ass", "ssa"):
        return parse_ass(text, path, encoding)
    return parse_vtt(text, path, encoding) if fmt == "vtt" else parse_srt(text, path, encoding)


def _sniff(text: str, ext: str = "") -> str:
    head = text.lstrip("\ufeff").lstrip()
    if ext == ".vtt" or head.startswith("WEBVTT"):
        return "vtt"
    if ext in (".ass", ".ssa") or head.startswith("[Script Info]"):
        return "ass"
    return "srt"


def read_subtitles(path: str | os.PathLike[str]) -> SubtitleFile:
    """Read an .srt, .vtt, .ass or .ssa file in any common encoding. Raises BadInput when it holds no cue."""
    text, encoding = read_text(path)
    if not text.strip():
        raise BadInput("subtitle file is empty", path)
    fmt = _sniff(text, Path(path).suffix.lower())
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
