"""Screenplays as people find them -> a `Screenplay` of frozen `Element`s that keep their source line.

Readers: plain text from script sites (any indentation, or none), Fountain, Final Draft XML (.fdx),
PDF (pypdf's layout-preserving extraction, then the plain-text reader) and script-site HTML (the
``<pre>`` block). Element types: ``scene`` (heading), ``action``, ``dialogue`` (with ``character``,
extension such as V.O., and parentheticals kept apart from the spoken text), ``transition``, ``shot``.
"""

from __future__ import annotations

import html
import os
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from wsl.errors import BadInput
from wsl.io import decode_bytes, read_bytes

__all__ = ["Element", "Screenplay", "parse_text", "parse_fountain", "parse_fdx", "parse_html", "parse_pdf",
           "read_screenplay", "SCRIPT_EXTENSIONS", "normalize_character"]

SCRIPT_EXTENSIONS = (".txt", ".fountain", ".spmd", ".fdx", ".pdf", ".html", ".htm")


@dataclass(frozen=True)
class Element:
    """One screenplay element. ``line`` is 1-based; for dialogue it is the line of the character cue."""

    type: str
    text: str
    line: int
    character: str | None = None
    extension: str | None = None
    parentheticals: tuple[str, ...] = ()
    end_line: int | None = None
    page: int | None = None


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


# --------------------------------------------------------------------------------------------- patterns

_SCENE = re.compile(
    r"^(?:[0-9]+[A-Z]?\.?\s+)?(?:INT\.?\s*/\s*EXT|EXT\.?\s*/\s*INT|INT|EXT|EST|I\s*/\s*E)[.\s/:-]", re.IGNORECASE)
_SCENE_NUMBER_TAIL = re.compile(r"\s+[0-9]+[A-Z]?\.?\s*$")
_SCENE_NUMBER_HEAD = re.compile(r"^[0-9]+[A-Z]?\.?\s+")
_TRANSITION = re.compile(
    r"^(?:(?:[A-Z][A-Z .'-]*\s)?(?:TO|IN|OUT)[:.]|FADE (?:IN|OUT|TO BLACK)[:.]?|CUT TO BLACK[:.]?|THE END\.?"
    r"|(?:SMASH |MATCH |JUMP |HARD )?CUT(?: TO)?:|DISSOLVE(?: TO)?:|INTERCUT(?: WITH)?[: ].*)$")
# A character cue: a name in capitals (Mc/Mac allowed), optionally extensions in parentheses.
_CUE = re.compile(r"^(?P<name>[A-Z0-9][A-Za-z0-9 .,'&#/\-]*?[A-Za-z0-9.'#])\s*(?P<ext>(?:\([^()]*\)\s*)*)\^?$")
_NOT_NAMES = frozenset(
    "ANGLE CLOSE SHOT POV INSERT VIEW BACK CONTINUED CONTINUOUS FADE CUT DISSOLVE INTERCUT MONTAGE SERIES "
    "TITLE TITLES SUPER LATER MOMENTS NIGHT DAY MORNING EVENING WIDE TIGHT ON OVER FLASHBACK END OMITTED "
    "CREDITS SUBTITLE ESTABLISHING REVERSE MORE PAN ZOOM HOLD FREEZE SLOW MOTION THE".split())
_PAGE_FURNITURE = re.compile(
    r"^(?:\(?CONTINUED\)?:?(?:\s*\(\d+\))?|\(MORE\)|\(?CONT'?D\.?\)?|(?:PAGE\s*)?\d{1,3}\.?|\d{1,3}\s*/\s*\d{1,3})$",
    re.IGNORECASE)
_PAREN_INLINE = re.compile(r"\s*\(([^()]*)\)\s*")


def normalize_character(name: str) -> str:
    """Canonical form of a character cue: capitals, single spaces, no extension or trailing punctuation."""
    name = re.sub(r"\(.*?\)", " ", name)
    name = re.sub(r"\s+", " ", name).strip(" .:^").upper()
    return name


def _cue_match(text: str, loose: bool = False) -> tuple[str, str | None] | None:
    """``(name, extension)`` when ``text`` looks like a character cue, else None.

    ``loose`` (a line already in the cue column) also accepts long group cues such as
    ``LEONARD, SHELDON AND HOWARD TOGETHER``.
    """
    s = text.strip()
    if not s or len(s) > (70 if loose else 50) or _SCENE.match(s) or _TRANSITION.match(s):
        return None
    m = _CUE.match(s)
    if not m:
        return None
    name = m.group("name")
    if not re.search(r"[A-Z]", name) or re.sub(r"\bMa?c(?=[A-Z])", "MC", name) != re.sub(
            r"\bMa?c(?=[A-Z])", "MC", name).upper():
        return None
    if "," in name and not loose:
        return None
    words = name.replace("/", " ").replace(",", " ").split()
    if len(words) > (8 if loose else 4) or any(w.strip(".'") in _NOT_NAMES for w in words):
        return None
    if name.endswith(("...", "--")):
        return None
    if name.isdigit():
        return None
    exts = [x.strip("() ") for x in re.findall(r"\([^()]*\)", m.group("ext"))]
    bare = re.match(r"^(.*\S)\s+(V\.?O\.?|O\.?S\.?|O\.?C\.?|CONT'?D\.?)$", name)
    if bare:  # an extension written without parentheses: ETHAN VO
        name, exts = bare.group(1), [bare.group(2), *exts]
    return normalize_character(name), " ".join(exts) or None


def _split_dialogue(lines: list[str]) -> tuple[str, tuple[str, ...]]:
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
    text = re.sub(r"\s+", " ", " ".join(s for s in spoken)).strip()
    return text, tuple(p for p in parens if p)


# ------------------------------------------------------------------------------------------ plain text

@dataclass
class _Line:
    no: int  # 1-based
    indent: int
    text: str  # stripped


def _prepare(text: str) -> list[_Line | None]:
    """Lines with indentation; blank lines and page furniture become None."""
    out: list[_Line | None] = []
    raw = text.split("\n")
    for k, line in enumerate(raw):
        line = line.replace("\t", "        ").replace("\xa0", " ").replace("\f", "").rstrip()
        s = line.strip()
        if not s:
            out.append(None)
            continue
        if _PAGE_FURNITURE.match(s):
            prev_blank = k == 0 or not raw[k - 1].strip()
            next_blank = k + 1 >= len(raw) or not raw[k + 1].strip()
            # A bare number is a page number only with blank space around it; dialogue may say "12."
            if not s[0].isdigit() or prev_blank or next_blank:
                out.append(_Line(k + 1, -1, s))  # furniture: indent -1 marks it
                continue
        out.append(_Line(k + 1, len(line) - len(line.lstrip()), s))
    return out


def _mode(values: list[int]) -> int | None:
    return Counter(values).most_common(1)[0][0] if values else None


def _layout(lines: list[_Line | None]) -> tuple[str, int, int, int]:
    """Decide whether cues are found by indentation; return (layout, action, dialogue, cue) indents."""
    cue_ind: list[int] = []
    dia_ind: list[int] = []
    for k, ln in enumerate(lines):
        if ln is None or ln.indent < 0 or _cue_match(ln.text) is None:
            continue
        nxt = lines[k + 1] if k + 1 < len(lines) else None
        if nxt is None or nxt.indent < 0 or _cue_match(nxt.text) or _SCENE.match(nxt.text):
            continue
        cue_ind.append(ln.indent)
        if not nxt.text.startswith("("):
            dia_ind.append(nxt.indent)
    speech_cols = (_mode(cue_ind), _mode(dia_ind))
    speech = {k for k, ln in enumerate(lines) if ln is not None and ln.indent in speech_cols}
    others = [ln.indent for k, ln in enumerate(lines) if ln is not None and ln.indent >= 0 and k not in speech]
    # The action margin: the leftmost indentation that a fair share of the remaining lines use.
    action = min((i for i, c in Counter(others).items() if c >= max(3, len(others) // 20)),
                 default=min(others, default=0))
    cue = _mode(cue_ind)
    dia = _mode(dia_ind)
    if cue is not None and dia is not None and cue >= dia + 3:
        return "indented", min(action, dia), dia, cue
    return "flush", action, action if dia is None else dia, action if cue is None else cue


def parse_text(text: str, path: str | os.PathLike[str] | None = None, encoding: str | None = None,
               fmt: str = "text", line_offset: int = 0, pages: list[int] | None = None) -> Screenplay:
    """Parse a plain-text screenplay in script-site layout (indented) or flush-left layout.

    ``line_offset`` shifts reported lines (text cut out of a larger file); ``pages`` gives the first
    line of each page when the text came from a PDF.
    """
    lines = _prepare(text)
    layout, action_ind, dia_ind, cue_ind = _layout(lines)
    indented = layout == "indented"
    cue_min = (dia_ind + cue_ind) / 2 if indented else -1  # a cue sits right of the dialogue column
    dia_min = ((action_ind + dia_ind) / 2 if action_ind < dia_ind else dia_ind - 2) if indented else -1
    elements: list[Element] = []
    para: list[_Line] = []

    def page_of(no: int) -> int | None:
        if not pages:
            return None
        return sum(1 for first in pages if first <= no)

    def emit(kind: str, txt: str, no: int, end: int, **kw: object) -> None:
        elements.append(Element(kind, txt, no + line_offset, end_line=end + line_offset, page=page_of(no), **kw))

    def flush_para() -> None:
        if para:
            emit("action", " ".join(x.text for x in para), para[0].no, para[-1].no)
            para.clear()

    pending_more: str | None = None  # character whose speech ran over a page break ((MORE) ... (CONT'D))
    k = 0
    n = len(lines)
    while k < n:
        ln = lines[k]
        if ln is None:
            flush_para()
            k += 1
            continue
        if ln.indent < 0:
            if ln.text.upper() == "(MORE)" and elements and elements[-1].type == "dialogue":
                pending_more = elements[-1].character
            k += 1
            continue
        s = ln.text
        prev_blank = k == 0 or lines[k - 1] is None or (lines[k - 1].indent < 0)  # type: ignore[union-attr]
        if _SCENE.match(s) and (not indented or ln.indent < cue_min):
            flush_para()
            heading = _SCENE_NUMBER_TAIL.sub("", _SCENE_NUMBER_HEAD.sub("", s)).strip()
            emit("scene", heading, ln.no, ln.no)
            pending_more = None
            k += 1
            continue
        if _TRANSITION.match(s) and s.upper() == s:
            flush_para()
            emit("transition", s, ln.no, ln.no)
            k += 1
            continue
        nxt = lines[k + 1] if k + 1 < n else None
        if indented:
            cue = _cue_match(s, loose=True) if ln.indent >= cue_min else None
            if cue is not None and nxt is None and k + 2 < n:
                nxt = lines[k + 2]  # tolerate one blank line between a cue and its speech
            # Column position decides: speech sits in the dialogue column, even when it is in capitals.
            is_cue = (cue is not None and nxt is not None and nxt.indent >= dia_min
                      and (nxt.indent < cue_min or nxt.text.startswith("(")))
        else:
            cue = _cue_match(s)
            is_cue = (cue is not None and nxt is not None and nxt.indent >= 0 and _cue_match(nxt.text) is None
                      and not _SCENE.match(nxt.text) and (prev_blank or not para))
        if is_cue:
            flush_para()
            name, ext = cue  # type: ignore[misc]
            continuing = pending_more == name
            pending_more = None
            body: list[str] = []
            j = k + 1
            last = ln.no
            while j < n:
                d = lines[j]
                if d is None and j == k + 1 and indented:
                    j += 1
                    continue
                if d is None:
                    break
                if d.indent < 0:
                    if d.text.upper() == "(MORE)":
                        pending_more = name
                    j += 1
                    continue
                if indented and d.indent < dia_min:
                    break
                if indented and d.indent >= cue_min and not d.text.startswith("(") and _cue_match(d.text, True):
                    break
                body.append(d.text)
                last = d.no
                j += 1
            spoken, parens = _split_dialogue(body)
            prev = elements[-1] if elements else None
            if (continuing and prev is not None and prev.type == "dialogue"
                    and prev.character == name and spoken):
                # The same speech continued over a page break: one block, not two.
                text2, parens2 = _split_dialogue([prev.text, *body])
                elements[-1] = replace(prev, text=text2, parentheticals=prev.parentheticals + parens,
                                       end_line=last + line_offset)
            elif spoken:
                emit("dialogue", spoken, ln.no, last, character=name, extension=ext, parentheticals=parens)
            k = j
            continue
        # Action (or a shot: a short line in capitals at the action margin).
        if (not para and s.upper() == s and re.search(r"[A-Z]", s) and len(s) <= 60
                and (nxt is None or nxt.indent < 0 or indented)):
            flush_para()
            emit("shot", s.rstrip(":"), ln.no, ln.no)
            k += 1
            continue
        if para and indented and ln.indent > para[-1].indent + 8 and ln.indent >= dia_min:
            flush_para()
        para.append(ln)
        k += 1
    flush_para()
    return Screenplay(tuple(elements), fmt, encoding, None if path is None else str(path), layout)


# --------------------------------------------------------------------------------------------- Fountain

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
        if prev_blank and (s.startswith(".") and not s.startswith("..") or _SCENE.match(s)):
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
        cue = _cue_match(body_name.rstrip("^").strip()) if not forced else (
            normalize_character(body_name), (" ".join(re.findall(r"\(([^()]*)\)", body_name)) or None))
        if prev_blank and not next_blank and cue is not None and not s.startswith("!"):
            flush()
            name, ext = cue
            body: list[str] = []
            j = k + 1
            while j < n and (raw[j].strip() or raw[j] == "  "):
                t = raw[j].strip()
                body.append(_fountain_inline(t.lstrip("~").strip()))
                j += 1
            spoken, parens = _split_dialogue(body)
            if spoken:
                elements.append(Element("dialogue", spoken, no, name, ext, parens, end_line=j))
            k = j
            continue
        if s.startswith(">") and s.endswith("<"):
            s = s[1:-1].strip()
        para.append((no, _fountain_inline(s.lstrip("!"))))
        k += 1
    flush()
    return Screenplay(tuple(elements), "fountain", encoding, None if path is None else str(path), "fountain")


# ------------------------------------------------------------------------------------------ Final Draft

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
            current["text"].append(data_)  # type: ignore[union-attr]

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
            text, inline = _split_dialogue(spoken)
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


# ------------------------------------------------------------------------------------------------- HTML

def parse_html(text: str, path: str | os.PathLike[str] | None = None, encoding: str | None = None) -> Screenplay:
    """Parse a script-site page: the largest ``<pre>`` block (or the page text), tags removed."""
    blocks = [(m.start(1), m.group(1)) for m in re.finditer(r"<pre[^>]*>(.*?)</pre\s*>", text, re.S | re.I)]
    if blocks:
        start, body = max(blocks, key=lambda b: len(b[1]))
    else:
        m = re.search(r"<body[^>]*>(.*)</body", text, re.S | re.I)
        start, body = (m.start(1), m.group(1)) if m else (0, text)
        body = re.sub(r"<br\s*/?>|</p\s*>|</div\s*>", "\n", body, flags=re.I)
    offset = text.count("\n", 0, start)
    body = re.sub(r"<(script|style)[^>]*>.*?</\1\s*>", lambda m: "\n" * m.group(0).count("\n"), body, flags=re.S | re.I)
    body = re.sub(r"<[^>]*>", lambda m: "\n" * m.group(0).count("\n"), body)
    body = html.unescape(body)
    sp = parse_text(body, path, encoding, fmt="html", line_offset=offset)
    return sp


# -------------------------------------------------------------------------------------------------- PDF

def parse_pdf(path: str | os.PathLike[str]) -> Screenplay:
    """Parse a PDF screenplay through pypdf's layout-preserving text extraction.

    Reported lines count lines of the extracted text; each element also carries its page number.
    """
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError:  # pragma: no cover - pypdf is a dependency
        raise BadInput("reading PDF screenplays needs pypdf: pip install pypdf", path) from None
    try:
        reader = PdfReader(str(path))
        pages_text = [p.extract_text(extraction_mode="layout", layout_mode_space_vertically=False)
                      for p in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as e:
        raise BadInput(f"cannot read PDF: {e}", path) from None
    starts: list[int] = []
    lines: list[str] = []
    for t in pages_text:
        starts.append(len(lines) + 1)
        lines.extend(t.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
        lines.append("")
    if not any(x.strip() for x in lines):
        raise BadInput("the PDF has no extractable text (a scanned PDF needs OCR first)", path)
    return parse_text("\n".join(lines), path, None, fmt="pdf", pages=starts)


# ---------------------------------------------------------------------------------------------- reading

def _sniff(data: bytes, ext: str) -> str:
    head = data[:4096].lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"%PDF") or ext == ".pdf":
        return "pdf"
    if ext == ".fdx" or (head.startswith(b"<?xml") and b"<FinalDraft" in head):
        return "fdx"
    if ext in (".html", ".htm") or re.search(rb"<(?:html|pre|body)[\s>]", head[:4096], re.I):
        return "html"
    if ext in (".fountain", ".spmd"):
        return "fountain"
    return "text"


def read_screenplay(path: str | os.PathLike[str], fmt: str | None = None) -> Screenplay:
    """Read a screenplay in any supported format (by extension, else by content).

    Raises BadInput when the file is unreadable, empty, or has no dialogue, saying what was expected.
    """
    p = Path(path)
    data = read_bytes(p, "a screenplay file")
    if not data.strip():
        raise BadInput("screenplay file is empty", path)
    fmt = fmt or _sniff(data, p.suffix.lower())
    if fmt == "pdf":
        sp = parse_pdf(p)
    elif fmt == "fdx":
        sp = parse_fdx(data, p)
    else:
        text, enc = decode_bytes(data, p)
        if fmt == "html":
            sp = parse_html(text, p, enc)
        elif fmt == "fountain":
            sp = parse_fountain(text, p, enc)
        else:
            sp = parse_text(text, p, enc)
    if not sp.dialogue:
        expected = {
            "fdx": "<Paragraph Type=\"Character\"> followed by <Paragraph Type=\"Dialogue\">",
            "fountain": "a CHARACTER name in capitals after a blank line, its lines right below",
        }.get(sp.format, "character names in capitals on their own line (indented, e.g. '      JOHN (V.O.)'), "
                         "with their lines right below; scene headings like 'INT. HOUSE - DAY'")
        raise BadInput(f"no dialogue found in this {sp.format} screenplay: expected {expected}", path)
    return sp
