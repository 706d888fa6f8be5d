"""The parsed screenplay: frozen `Element`s that keep their source line, in a `Screenplay`."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["Element", "Screenplay", "normalize_character"]


@dataclass(frozen=True)
class Element:
    """One screenplay element. ``line`` is 1-based; for dialogue it is the line of the character cue.

    ``dual`` marks the second block of dual dialogue (two characters speaking at once: Fountain ``^``
    or side-by-side columns); it is spoken over the block before it.
    """

    type: str
    text: str
    line: int
    character: str | None = None
    extension: str | None = None
    parentheticals: tuple[str, ...] = ()
    end_line: int | None = None
    page: int | None = None
    dual: bool = False


@dataclass(frozen=True)
class Screenplay:
    """A parsed screenplay: elements in script order, and how it was read."""

    elements: tuple[Element, ...]
    format: str = "text"
    encoding: str | None = None
    path: str | None = None
    layout: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def dialogue(self) -> list[Element]:
        return [e for e in self.elements if e.type == "dialogue"]

    @property
    def cast(self) -> list[str]:
        """Speaking characters, most lines first."""
        counts = Counter(e.character for e in self.elements if e.type == "dialogue" and e.character)
        return [name for name, _ in counts.most_common()]


def normalize_character(name: str) -> str:
    """Canonical form of a character cue: capitals, single spaces, no extension or trailing punctuation."""
    name = re.sub(r"\(.*?\)", " ", name)
    name = re.sub(r"\s+", " ", name).strip(" .,:;^").upper()
    return name
