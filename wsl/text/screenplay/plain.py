"""Plain-text screenplays as script sites and PDFs give them: indented columns, or flush left.

In the indented layout a line's column is the strongest evidence of what it is: character cues sit
in the cue column (right of the dialogue), speech in the dialogue column, action at the margin. The
reader first measures those columns (`_Columns`), then walks the lines (`_PlainParser`). A line in
the cue column above speech is a cue even when its words look like a shot (``VOICE OVER``,
``CARLOS ON TOP``); a cue may carry a trailing comma, its extension on the next line
(``(CONT'D)``), or wrap over two lines; two cues side by side start dual dialogue.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, replace

from wsl.text.screenplay.cues import (
    EXTENSION_LINE,
    PAGE_FURNITURE,
    SCENE,
    TRANSITION,
    clean_heading,
    cue_match,
    split_dialogue,
)
from wsl.text.screenplay.model import Element, Screenplay

__all__ = ["parse_text", "LayoutRules"]


@dataclass(frozen=True)
class LayoutRules:
    """Thresholds of the column measurement and of the line classes."""

    # The cue column must sit at least this many characters right of the dialogue column to call the
    # layout "indented"; closer columns cannot be told apart from ragged text.
    min_cue_offset: int = 3
    # The action margin is the leftmost indentation used by at least this many lines (and 1/20 of them).
    min_margin_lines: int = 3
    # A capitalised line at the margin up to this long, standing alone, is a shot (``CLOSE ON THE GUN``).
    max_shot_chars: int = 60
    # An action paragraph breaks when a line is indented this much further than the one before it.
    paragraph_jump: int = 8
    # Gap between the two names of side-by-side (dual) cues.
    dual_gap: int = 4


RULES = LayoutRules()
_DUAL_CUES = re.compile(r"^(?P<a>\S(?:.*?\S)?)\s{4,}(?P<b>\S(?:.*\S)?)$")


@dataclass
class _Line:
    no: int  # 1-based
    indent: int  # -1 marks page furniture
    text: str  # stripped
    raw: str  # tabs expanded, right-stripped


def _prepare(text: str) -> list[_Line | None]:
    """Lines with indentation; blank lines become None, page furniture gets indent -1."""
    out: list[_Line | None] = []
    raw = text.split("\n")
    for k, line in enumerate(raw):
        line = line.replace("\t", "        ").replace("\xa0", " ").replace("\f", "").rstrip()
        s = line.strip()
        if not s:
            out.append(None)
            continue
        if PAGE_FURNITURE.match(s):
            prev_blank = k == 0 or not raw[k - 1].strip()
            next_blank = k + 1 >= len(raw) or not raw[k + 1].strip()
            # A bare number is a page number only with blank space around it; dialogue may say "12."
            if not s[0].isdigit() or prev_blank or next_blank:
                out.append(_Line(k + 1, -1, s, line))
                continue
        out.append(_Line(k + 1, len(line) - len(line.lstrip()), s, line))
    return out


def _mode(values: list[int]) -> int | None:
    return Counter(values).most_common(1)[0][0] if values else None


@dataclass(frozen=True)
class _Columns:
    """The measured layout: "indented" (columns decide) or "flush"; action, dialogue and cue indents."""

    layout: str
    action: int
    dialogue: int
    cue: int

    @property
    def indented(self) -> bool:
        return self.layout == "indented"

    @property
    def cue_min(self) -> float:
        """A cue sits right of the midpoint between the dialogue and cue columns."""
        return (self.dialogue + self.cue) / 2 if self.indented else -1

    @property
    def dialogue_min(self) -> float:
        if not self.indented:
            return -1
        return (self.action + self.dialogue) / 2 if self.action < self.dialogue else self.dialogue - 2


def _measure(lines: list[_Line | None], rules: LayoutRules) -> _Columns:
    """Find the cue and dialogue columns from lines that look like cues by their words alone."""
    cue_ind: list[int] = []
    dia_ind: list[int] = []
    for k, ln in enumerate(lines):
        if ln is None or ln.indent < 0 or cue_match(ln.text) is None:
            continue
        nxt = lines[k + 1] if k + 1 < len(lines) else None
        if nxt is None or nxt.indent < 0 or cue_match(nxt.text) or SCENE.match(nxt.text):
            continue
        cue_ind.append(ln.indent)
        if not nxt.text.startswith("("):
            dia_ind.append(nxt.indent)
    cue, dia = _mode(cue_ind), _mode(dia_ind)
    speech = {k for k, ln in enumerate(lines) if ln is not None and ln.indent in (cue, dia)}
    others = [ln.indent for k, ln in enumerate(lines) if ln is not None and ln.indent >= 0 and k not in speech]
    floor = max(rules.min_margin_lines, len(others) // 20)
    action = min((i for i, c in Counter(others).items() if c >= floor), default=min(others, default=0))
    if cue is not None and dia is not None and cue >= dia + rules.min_cue_offset:
        return _Columns("indented", min(action, dia), dia, cue)
    return _Columns("flush", action, action if dia is None else dia, action if cue is None else cue)


class _PlainParser:
    """One pass over the prepared lines, emitting elements; each line class has its own method."""

    def __init__(self, lines: list[_Line | None], cols: _Columns, rules: LayoutRules, line_offset: int,
                 pages: list[int] | None) -> None:
        self.lines, self.cols, self.rules = lines, cols, rules
        self.line_offset, self.pages = line_offset, pages
        self.elements: list[Element] = []
        self.para: list[_Line] = []
        self.pending_more: str | None = None  # speaker whose speech ran over a page break ((MORE) .. (CONT'D))

    # ------------------------------------------------------------------ output
    def emit(self, kind: str, txt: str, no: int, end: int, **kw: object) -> None:
        page = sum(1 for first in self.pages if first <= no) if self.pages else None
        self.elements.append(Element(kind, txt, no + self.line_offset, end_line=end + self.line_offset,
                                     page=page, **kw))  # type: ignore[arg-type]

    def flush_para(self) -> None:
        if self.para:
            self.emit("action", " ".join(x.text for x in self.para), self.para[0].no, self.para[-1].no)
            self.para.clear()

    # ------------------------------------------------------------------ helpers
    def line(self, k: int) -> _Line | None:
        return self.lines[k] if 0 <= k < len(self.lines) else None

    def next_content(self, k: int) -> tuple[int, list[str]]:
        """Index of the first line after k that is not furniture (one blank allowed in the indented
        layout), and the own-line extensions such as ``(CONT'D)`` passed on the way."""
        exts: list[str] = []
        j = k + 1
        blanks = 0
        while j < len(self.lines):
            ln = self.lines[j]
            if ln is None:
                if not self.cols.indented or blanks:
                    return j, exts
                blanks += 1
            elif ln.indent < 0 or (EXTENSION_LINE.match(ln.text) and ln.indent >= self.cols.cue_min >= 0):
                if EXTENSION_LINE.match(ln.text):
                    exts.append(ln.text.strip("() "))
            else:
                return j, exts
            j += 1
        return j, exts

    def in_cue_column(self, ln: _Line) -> bool:
        return self.cols.indented and ln.indent >= self.cols.cue_min

    def is_speech(self, ln: _Line | None) -> bool:
        """A line in the dialogue column (or a parenthetical under a cue)."""
        if ln is None or ln.indent < 0:
            return False
        return ln.indent >= self.cols.dialogue_min and (ln.indent < self.cols.cue_min or ln.text.startswith("("))

    # ------------------------------------------------------------------ line classes
    def cue_at(self, k: int) -> tuple[str, str | None, int, list[str]] | None:
        """``(name, extension, index of the first speech line, extra extensions)`` when line k starts a
        dialogue block, else None."""
        ln = self.lines[k]
        assert ln is not None
        if self.cols.indented:
            if not self.in_cue_column(ln):
                return None
            cue = cue_match(ln.text, column=True)
            if cue is None:
                return None
            j, exts = self.next_content(k)
            nxt = self.line(j)
            # A cue wrapped over two lines: both in the cue column, speech under the second.
            if nxt is not None and self.in_cue_column(nxt) and not nxt.text.startswith("("):
                joined = cue_match(f"{ln.text} {nxt.text}", column=True)
                j2, exts2 = self.next_content(j)
                if joined is not None and self.is_speech(self.line(j2)) and self.line(j2).indent < self.cols.cue_min:  # type: ignore[union-attr]
                    return joined[0], joined[1], j2, exts + exts2
            if self.is_speech(nxt):
                return cue[0], cue[1], j, exts
            return None
        cue = cue_match(ln.text)
        j, exts = self.next_content(k)
        nxt = self.line(j)
        prev = self.line(k - 1)
        prev_blank = k == 0 or prev is None or prev.indent < 0
        if (cue is not None and nxt is not None and nxt.indent >= 0 and cue_match(nxt.text) is None
                and not SCENE.match(nxt.text) and (prev_blank or not self.para)):
            return cue[0], cue[1], j, exts
        return None

    def dialogue(self, k: int, name: str, ext: str | None, first: int) -> int:
        """Read the speech of the cue on line k from line ``first``; returns the index after it."""
        cue_line = self.lines[k]
        assert cue_line is not None
        continuing = self.pending_more == name
        self.pending_more = None
        body: list[str] = []
        last = cue_line.no
        j = first
        while j < len(self.lines):
            d = self.lines[j]
            if d is None:
                break
            if d.indent < 0:
                if d.text.upper() == "(MORE)":
                    self.pending_more = name
                j += 1
                continue
            if self.cols.indented and d.indent < self.cols.dialogue_min:
                break
            if (self.cols.indented and d.indent >= self.cols.cue_min and not d.text.startswith("(")
                    and cue_match(d.text, column=True)):
                break
            body.append(d.text)
            last = d.no
            j += 1
        spoken, parens = split_dialogue(body)
        prev = self.elements[-1] if self.elements else None
        if continuing and prev is not None and prev.type == "dialogue" and prev.character == name and spoken:
            # The same speech continued over a page break: one block, not two.
            text2, _ = split_dialogue([prev.text, *body])
            self.elements[-1] = replace(prev, text=text2, parentheticals=prev.parentheticals + parens,
                                        end_line=last + self.line_offset)
        elif spoken:
            self.emit("dialogue", spoken, cue_line.no, last, character=name, extension=ext, parentheticals=parens)
        return j

    def dual_at(self, k: int) -> int | None:
        """Side-by-side cues (dual dialogue): two blocks, the second marked ``dual``. Returns the next index."""
        ln = self.lines[k]
        assert ln is not None
        if ln.indent < self.cols.dialogue_min:
            return None
        m = _DUAL_CUES.match(ln.text)
        if not m or len(m.group(0)) - len(m.group("a")) - len(m.group("b")) < self.rules.dual_gap:
            return None
        a, b = cue_match(m.group("a")), cue_match(m.group("b"))
        if a is None or b is None:
            return None
        left_end = ln.indent + len(m.group("a"))
        right_start = ln.raw.index(m.group("b"), left_end)
        split = (left_end + right_start) // 2
        sides: tuple[list[str], list[str]] = ([], [])
        j = k + 1
        last = ln.no
        while j < len(self.lines) and self.lines[j] is not None:
            d = self.lines[j]
            assert d is not None
            if d.indent >= 0:
                gap = [g for g in re.finditer(r"\s{3,}", d.raw) if g.start() > d.indent]
                if gap:
                    cut = min(gap, key=lambda g: abs((g.start() + g.end()) / 2 - split))
                    left, right = d.raw[:cut.start()], d.raw[cut.end():]
                elif d.indent >= split:
                    left, right = "", d.raw
                else:
                    left, right = d.raw, ""
                sides[0].append(left.strip())
                sides[1].append(right.strip())
                last = d.no
            j += 1
        if not any(sides[0]) or not any(sides[1]):
            return None
        self.flush_para()
        for (name, ext), body, dual in ((a, sides[0], False), (b, sides[1], True)):
            spoken, parens = split_dialogue(body)
            if spoken:
                self.emit("dialogue", spoken, ln.no, last, character=name, extension=ext, parentheticals=parens,
                          dual=dual)
        return j

    def shot_or_action(self, k: int) -> None:
        ln = self.lines[k]
        assert ln is not None
        nxt = self.line(k + 1)
        s = ln.text
        if (not self.para and s.upper() == s and re.search(r"[A-Z]", s) and len(s) <= self.rules.max_shot_chars
                and (nxt is None or nxt.indent < 0 or self.cols.indented)):
            self.flush_para()
            self.emit("shot", s.rstrip(":"), ln.no, ln.no)
            return
        if (self.para and self.cols.indented and ln.indent > self.para[-1].indent + self.rules.paragraph_jump
                and ln.indent >= self.cols.dialogue_min):
            self.flush_para()
        self.para.append(ln)

    # ------------------------------------------------------------------ the walk
    def run(self) -> list[Element]:
        k = 0
        while k < len(self.lines):
            ln = self.lines[k]
            if ln is None:
                self.flush_para()
                k += 1
                continue
            if ln.indent < 0:
                if ln.text.upper() == "(MORE)" and self.elements and self.elements[-1].type == "dialogue":
                    self.pending_more = self.elements[-1].character
                k += 1
                continue
            if SCENE.match(ln.text) and not self.in_cue_column(ln):
                self.flush_para()
                self.emit("scene", clean_heading(ln.text), ln.no, ln.no)
                self.pending_more = None
                k += 1
                continue
            if TRANSITION.match(ln.text) and ln.text.upper() == ln.text:
                self.flush_para()
                self.emit("transition", ln.text, ln.no, ln.no)
                k += 1
                continue
            cue = self.cue_at(k)
            if cue is not None:
                self.flush_para()
                name, ext, first, exts = cue
                ext = " ".join(x for x in (ext, *exts) if x) or None
                k = self.dialogue(k, name, ext, first)
                continue
            nxt = self.dual_at(k)
            if nxt is not None:
                k = nxt
                continue
            self.shot_or_action(k)
            k += 1
        self.flush_para()
        return self.elements


def parse_text(text: str, path: str | os.PathLike[str] | None = None, encoding: str | None = None,
               fmt: str = "text", line_offset: int = 0, pages: list[int] | None = None,
               rules: LayoutRules = RULES) -> Screenplay:
    """Parse a plain-text screenplay in script-site layout (indented) or flush-left layout.

    ``line_offset`` shifts reported lines (text cut out of a larger file); ``pages`` gives the first
    line of each page when the text came from a PDF.
    """
    lines = _prepare(text)
    cols = _measure(lines, rules)
    elements = _PlainParser(lines, cols, rules, line_offset, pages).run()
    return Screenplay(tuple(elements), fmt, encoding, None if path is None else str(path), cols.layout)
