"""Fountain screenplays (fountain.io): title page, forced elements, notes, boneyard, dual dialogue (``^``)."""

from __future__ import annotations

import os
import re

from wsl.text.screenplay.cues import SCENE, cue_match, split_dialogue
from wsl.text.screenplay.model import Element, Screenplay, normalize_character

__all__ = ["parse_fountain"]

_FOUNTAIN_EMPHASIS = re.compile(r"(\*{1,3}|_)(?=\S)(.+?)(?<=\S)\1")


def _fountain_inline(s: str) -> str:
    s = _FOUNTAIN_EMPHASIS.sub(r"\2", s)
    return s.replace("\\*", "*").replace("\\_", "_")


def parse_fountain(text: str, path: str | os.PathLike[str] | None = None, encoding: str | None = None) -> Screenplay:
    """Parse Fountain (fountain.io): title page, forced elements, notes and boneyard are handled."""
    # Blank out boneyard /* */ and notes [[ ]], keeping newlines so line numbers stay right.
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"\[\[.*?\]\]", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    raw = text.split("\n")
    k = 0
    # Title page: "Key: value" lines at the very top, ended by a blank line.
    if raw and re.match(r"^[A-Za-z][A-Za-z ]*:", raw[0]):
        while k < len(raw) and raw[k].strip():
            k += 1
    elements: list[Element] = []
    para: list[tuple[int, str]] = []

    def flush() -> None:
        if para:
            elements.append(Element("action", " ".join(t for _, t in para), para[0][0], end_line=para[-1][0]))
            para.clear()

    n = len(raw)
    while k < n:
        line = raw[k].rstrip()
        s = line.strip()
        no = k + 1
        prev_blank = k == 0 or not raw[k - 1].strip()
        next_blank = k + 1 >= n or not raw[k + 1].strip()
        if not s:
            flush()
            k += 1
            continue
        if s.startswith(("#", "=")) and not s.startswith("=="):  # sections and synopses
            k += 1
            continue
        if re.fullmatch(r"={3,}", s):  # page break
            k += 1
            continue
        if prev_blank and (s.startswith(".") and not s.startswith("..") or SCENE.match(s)):
            flush()
            heading = re.sub(r"\s*#[^#]*#\s*$", "", s.lstrip(".") if s.startswith(".") else s)
            elements.append(Element("scene", _fountain_inline(heading).strip(), no, end_line=no))
            k += 1
            continue
        if s.startswith(">") and not s.endswith("<"):
            flush()
            elements.append(Element("transition", s[1:].strip(), no, end_line=no))
            k += 1
            continue
        if prev_blank and next_blank and s.isupper() and s.endswith("TO:"):
            flush()
            elements.append(Element("transition", s, no, end_line=no))
            k += 1
            continue
        forced = s.startswith("@")
        body_name = s[1:] if forced else s
        cue = cue_match(body_name.rstrip("^").strip()) if not forced else (
            normalize_character(body_name.rstrip("^")), (" ".join(re.findall(r"\(([^()]*)\)", body_name)) or None))
        if prev_blank and not next_blank and cue is not None and not s.startswith("!"):
            flush()
            name, ext = cue
            body: list[str] = []
            j = k + 1
            while j < n and (raw[j].strip() or raw[j] == "  "):
                t = raw[j].strip()
                body.append(_fountain_inline(t.lstrip("~").strip()))
                j += 1
            spoken, parens = split_dialogue(body)
            # A cue ending in ^ is the second half of dual dialogue: spoken over the block before it.
            dual = body_name.rstrip().endswith("^") and bool(elements) and elements[-1].type == "dialogue"
            if spoken:
                elements.append(Element("dialogue", spoken, no, name, ext, parens, end_line=j, dual=dual))
            k = j
            continue
        if s.startswith(">") and s.endswith("<"):
            s = s[1:-1].strip()
        para.append((no, _fountain_inline(s.lstrip("!"))))
        k += 1
    flush()
    return Screenplay(tuple(elements), "fountain", encoding, None if path is None else str(path), "fountain")

