"""Inline transcripts, the usual form of TV transcripts: one ``NAME: text`` line per speech.

    Scene: A corridor at a sperm bank.
    Sheldon: So if a photon is directed through a plane with two slits in it ...
    (Leonard enters)
    Leonard: Agreed, what's your point?

``Scene:`` lines are scene headings, lines in parentheses or brackets (and unlabelled lines) are
action. Names may be in any case; they are normalised to capitals like screenplay cues.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from wsl.text.screenplay.cues import SCENE, split_dialogue
from wsl.text.screenplay.model import Element, Screenplay, normalize_character

__all__ = ["parse_inline", "looks_inline", "InlineRules"]


@dataclass(frozen=True)
class InlineRules:
    """When a text is an inline transcript rather than a screenplay."""

    # Share of the non-blank lines that must read ``NAME: text``, and how many at least.
    min_share: float = 0.3
    min_lines: int = 5
    max_name_words: int = 4


RULES = InlineRules()
# A speaker label: a name (any case, at most a few words, an extension in parentheses allowed) and a colon.
_LABEL = re.compile(r"^(?P<name>[A-Z][\w.'&-]*(?: [\w.'&-]+){0,3}?)\s*(?P<ext>\([^()]*\))?\s*:\s*(?P<text>\S.*)$")
_SCENE_LABEL = re.compile(r"^(?:scene|location|setting)\s*:\s*(?P<text>.*)$", re.IGNORECASE)
_NOT_SPEAKERS = frozenset("scene location setting note notes credits written by teleplay story directed".split())


def _label(line: str, rules: InlineRules) -> tuple[str, str | None, str] | None:
    m = _LABEL.match(line)
    if not m or _SCENE_LABEL.match(line):
        return None
    name = m.group("name")
    words = name.split()
    if len(words) > rules.max_name_words or words[0].lower() in _NOT_SPEAKERS or re.match(r"^\d", name):
        return None
    # "Time: 10 pm" or "Note that: ..." are not speakers: speaker names are capitalised words.
    if not all(w[0].isupper() or w[0].isdigit() for w in words if w[0].isalpha()):
        return None
    ext = m.group("ext").strip("() ") if m.group("ext") else None
    return normalize_character(name), ext, m.group("text").strip()


def looks_inline(text: str, rules: InlineRules = RULES) -> bool:
    """True when enough lines read ``NAME: text`` and few lines are indented screenplay columns."""
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if not lines:
        return False
    labelled = sum(1 for ln in lines if not ln[:1].isspace() and _label(ln.strip(), rules))
    return labelled >= rules.min_lines and labelled >= rules.min_share * len(lines)


def parse_inline(text: str, path: str | os.PathLike[str] | None = None, encoding: str | None = None,
                 rules: InlineRules = RULES) -> Screenplay:
    """Parse an inline transcript (see the module docstring); each element keeps its line."""
    elements: list[Element] = []
    for no, raw in enumerate(text.split("\n"), 1):
        s = raw.strip()
        if not s:
            continue
        scene = _SCENE_LABEL.match(s)
        if scene or SCENE.match(s):
            elements.append(Element("scene", (scene.group("text") if scene else s).strip(), no, end_line=no))
            continue
        lab = _label(s, rules)
        if lab is not None:
            name, ext, said = lab
            spoken, parens = split_dialogue([said])
            if spoken:
                elements.append(Element("dialogue", spoken, no, name, ext, parens, end_line=no))
                continue
        elements.append(Element("action", s.strip("()[] "), no, end_line=no))
    return Screenplay(tuple(elements), "inline", encoding, None if path is None else str(path), "inline")
