"""Final Draft XML (.fdx): ``<Paragraph Type=...><Text>`` runs, each with the XML line of its paragraph."""

from __future__ import annotations

import os
import re

from wsl.errors import BadInput
from wsl.text.screenplay.cues import split_dialogue
from wsl.text.screenplay.model import Element, Screenplay, normalize_character

__all__ = ["parse_fdx"]

_FDX_TYPES = {"scene heading": "scene", "action": "action", "general": "action", "transition": "transition",
              "shot": "shot", "character": "character", "dialogue": "dialogue", "parenthetical": "parenthetical"}


def parse_fdx(data: bytes, path: str | os.PathLike[str] | None = None) -> Screenplay:
    """Parse Final Draft XML: ``<Paragraph Type=...><Text>`` runs, with the XML line of each paragraph."""
    from xml.parsers import expat

    paragraphs: list[tuple[str, int, str]] = []
    stack: list[str] = []
    current: dict[str, object] | None = None

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal current
        stack.append(tag)
        if tag == "Paragraph" and "Content" in stack and current is None:
            current = {"type": attrs.get("Type", "General"), "line": parser.CurrentLineNumber, "text": []}

    def end(tag: str) -> None:
        nonlocal current
        stack.pop()
        if tag == "Paragraph" and current is not None and "Paragraph" not in stack:
            paragraphs.append((str(current["type"]), int(current["line"]),  # type: ignore[call-overload]
                               "".join(current["text"]).strip()))  # type: ignore[arg-type]
            current = None

    def chars(data_: str) -> None:
        if current is not None and stack and stack[-1] == "Text":
            current["text"].append(data_)  # type: ignore[attr-defined]

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise BadInput(f"not well-formed Final Draft XML: {expat.errors.messages[e.code]}", path, e.lineno) from None
    if not any(True for _ in paragraphs) and b"FinalDraft" not in data[:2000]:
        raise BadInput("no <Content><Paragraph> elements: not a Final Draft (.fdx) file", path)
    elements: list[Element] = []
    speaker: tuple[str, str | None, int] | None = None
    spoken: list[str] = []
    parens: list[str] = []
    last_line = 0

    def close() -> None:
        nonlocal speaker
        if speaker is not None and spoken:
            text, inline = split_dialogue(spoken)
            elements.append(Element("dialogue", text, speaker[2], speaker[0], speaker[1],
                                    tuple(parens) + inline, end_line=last_line))
        speaker = None
        spoken.clear()
        parens.clear()

    for ptype, line, text in paragraphs:
        kind = _FDX_TYPES.get(ptype.lower(), "action")
        if kind == "character":
            close()
            ext = " ".join(re.findall(r"\(([^()]*)\)", text)) or None
            speaker = (normalize_character(text), ext, line)
        elif kind in ("dialogue", "parenthetical") and speaker is not None:
            (spoken if kind == "dialogue" else parens).append(text.strip("()") if kind == "parenthetical" else text)
            last_line = line
        else:
            close()
            if text:
                elements.append(Element(kind if kind not in ("dialogue", "parenthetical") else "action", text, line,
                                        end_line=line))
    close()
    return Screenplay(tuple(elements), "fdx", "utf-8", None if path is None else str(path), "fdx")

