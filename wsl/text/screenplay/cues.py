"""What a screenplay line looks like: scene headings, transitions, character cues, page furniture.

Shared by the plain-text, Fountain and inline readers. The thresholds are named in `CueRules`
(frozen, like `wsl.text.wordalign.Scoring`) so a reader of the code sees every knob in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wsl.text.screenplay.model import normalize_character

__all__ = ["CueRules", "SCENE", "TRANSITION", "PAGE_FURNITURE", "cue_match", "split_dialogue", "clean_heading"]


@dataclass(frozen=True)
class CueRules:
    """Limits of a character cue found by its words alone (``strict``) or by its column (``column``).

    A line sitting in the cue column above speech is a cue on that evidence, so it may be longer,
    hold more words (``LEONARD, SHELDON AND HOWARD TOGETHER``) and even stop-listed words
    (``VOICE OVER``, ``CARLOS ON TOP``): the stop list only guards cues found without a column.
    """

    max_chars: int = 50
    max_words: int = 4
    column_max_chars: int = 70
    column_max_words: int = 8


RULES = CueRules()

SCENE = re.compile(
    r"^(?:[0-9]+[A-Z]?\.?\s+)?(?:INT\.?\s*/\s*EXT|EXT\.?\s*/\s*INT|INT|EXT|EST|I\s*/\s*E)[.\s/:-]", re.IGNORECASE)
_SCENE_NUMBER_TAIL = re.compile(r"\s+[0-9]+[A-Z]?\.?\s*$")
_SCENE_NUMBER_HEAD = re.compile(r"^[0-9]+[A-Z]?\.?\s+")
TRANSITION = re.compile(
    r"^(?:(?:[A-Z][A-Z .'-]*\s)?(?:TO|IN|OUT)[:.]|FADE (?:IN|OUT|TO BLACK)[:.]?|CUT TO BLACK[:.]?|THE END\.?"
    r"|(?:SMASH |MATCH |JUMP |HARD )?CUT(?: TO)?:|DISSOLVE(?: TO)?:|INTERCUT(?: WITH)?[: ].*)$")
# A character cue: a name in capitals (Mc/Mac allowed), optionally extensions in parentheses; a trailing
# comma (a typing slip in real scripts) is allowed.
_CUE = re.compile(r"^(?P<name>[A-Z0-9][A-Za-z0-9 .,'&#/\-]*?[A-Za-z0-9.'#])\s*,?\s*(?P<ext>(?:\([^()]*\)\s*)*)\^?$")
# Words that make a capitalised line a shot or a direction rather than a name, when no column says otherwise.
NOT_NAMES = frozenset(
    "ANGLE CLOSE SHOT POV INSERT VIEW BACK CONTINUED CONTINUOUS FADE CUT DISSOLVE INTERCUT MONTAGE SERIES "
    "TITLE TITLES SUPER LATER MOMENTS NIGHT DAY MORNING EVENING WIDE TIGHT ON OVER FLASHBACK END OMITTED "
    "CREDITS SUBTITLE ESTABLISHING REVERSE MORE PAN ZOOM HOLD FREEZE SLOW MOTION THE".split())
# Never a name, whatever the column: layout words that can sit anywhere.
_NEVER_NAMES = frozenset("CONTINUED CONTINUOUS OMITTED MORE".split())
PAGE_FURNITURE = re.compile(
    r"^(?:\(?CONTINUED\)?:?(?:\s*\(\d+\))?|\(MORE\)|\(?CONT'?D\.?\)?|(?:PAGE\s*)?\d{1,3}\.?|\d{1,3}\s*/\s*\d{1,3})$",
    re.IGNORECASE)
# An extension written on its own line under the cue: (CONT'D), (V.O.), (O.S.).
EXTENSION_LINE = re.compile(r"^\((?:CONT'?D\.?|V\.?\s?O\.?|O\.?\s?S\.?|O\.?\s?C\.?|CONTINUING)\)$", re.IGNORECASE)
_PAREN_INLINE = re.compile(r"\s*\(([^()]*)\)\s*")
_BARE_EXTENSION = re.compile(r"^(.*\S)\s+(V\.?O\.?|O\.?S\.?|O\.?C\.?|CONT'?D\.?)$")


def clean_heading(s: str) -> str:
    """A scene heading without its scene numbers (``12 INT. HOUSE - DAY 12``)."""
    return _SCENE_NUMBER_TAIL.sub("", _SCENE_NUMBER_HEAD.sub("", s)).strip()


def _is_capitals(name: str) -> bool:
    folded = re.sub(r"\bMa?c(?=[A-Z])", "MC", name)
    return bool(re.search(r"[A-Z]", name)) and folded == folded.upper()


def cue_match(text: str, column: bool = False, rules: CueRules = RULES) -> tuple[str, str | None] | None:
    """``(name, extension)`` when ``text`` can be a character cue, else None.

    ``column`` says the line sits in the cue column above speech: that evidence admits group cues
    and stop-listed words (see `CueRules`).
    """
    s = text.strip()
    if not s or len(s) > (rules.column_max_chars if column else rules.max_chars):
        return None
    if SCENE.match(s) or TRANSITION.match(s):
        return None
    m = _CUE.match(s)
    if not m:
        return None
    name = m.group("name").rstrip(",").rstrip()
    if not _is_capitals(name) or name.isdigit() or name.endswith(("...", "--")):
        return None
    if "," in name and not column:
        return None
    words = [w.strip(".'") for w in name.replace("/", " ").replace(",", " ").split()]
    if len(words) > (rules.column_max_words if column else rules.max_words):
        return None
    if any(w in (_NEVER_NAMES if column else NOT_NAMES) for w in words):
        return None
    exts = [x.strip("() ") for x in re.findall(r"\([^()]*\)", m.group("ext"))]
    bare = _BARE_EXTENSION.match(name)
    if bare:  # an extension written without parentheses: ETHAN VO
        name, exts = bare.group(1), [bare.group(2), *exts]
    return normalize_character(name), " ".join(exts) or None


def split_dialogue(lines: list[str]) -> tuple[str, tuple[str, ...]]:
    """Join dialogue lines; parentheticals (own-line or inline) go apart from the spoken text."""
    spoken: list[str] = []
    parens: list[str] = []
    joined = " ".join(x.strip() for x in lines if x.strip())
    pos = 0
    for m in _PAREN_INLINE.finditer(joined):
        spoken.append(joined[pos:m.start()])
        parens.append(m.group(1).strip())
        pos = m.end()
    spoken.append(joined[pos:])
    text = re.sub(r"\s+", " ", " ".join(spoken)).strip()
    return text, tuple(p for p in parens if p)
