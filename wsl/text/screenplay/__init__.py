"""Screenplays as people find them -> a `Screenplay` of frozen `Element`s that keep their source line.

One module per format: `plain` (script-site text, indented or flush left), `fountain`, `fdx` (Final
Draft XML), `pdf` (pypdf's layout text, then `plain`), `html` (the ``<pre>`` block, then `plain`) and
`inline` (TV transcripts, ``NAME: text`` per line). `read_screenplay` picks one by extension, else by
content. Element types: ``scene`` (heading), ``action``, ``dialogue`` (with ``character``, extension
such as V.O., and parentheticals kept apart from the spoken text), ``transition``, ``shot``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from wsl.errors import BadInput
from wsl.io import decode_bytes, read_bytes
from wsl.text.screenplay.cues import CueRules, cue_match
from wsl.text.screenplay.fdx import parse_fdx
from wsl.text.screenplay.fountain import parse_fountain
from wsl.text.screenplay.html import parse_html
from wsl.text.screenplay.inline import looks_inline, parse_inline
from wsl.text.screenplay.model import Element, Screenplay, normalize_character
from wsl.text.screenplay.pdf import parse_pdf
from wsl.text.screenplay.plain import LayoutRules, parse_text

__all__ = ["Element", "Screenplay", "parse_text", "parse_fountain", "parse_fdx", "parse_html", "parse_pdf",
           "parse_inline", "looks_inline", "read_screenplay", "SCRIPT_EXTENSIONS", "SCRIPT_FORMATS",
           "normalize_character", "cue_match", "CueRules", "LayoutRules"]

SCRIPT_EXTENSIONS = (".txt", ".fountain", ".spmd", ".fdx", ".pdf", ".html", ".htm")
SCRIPT_FORMATS = ("text", "inline", "fountain", "fdx", "pdf", "html")


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
    """Read a screenplay in any supported format (``fmt``, else by extension, else by content).

    A ``.txt`` file is an inline transcript when most of its lines read ``NAME: text`` and the
    screenplay reader finds little dialogue. Raises BadInput when the file is unreadable, empty, or
    has no dialogue, saying what was expected.
    """
    p = Path(path)
    data = read_bytes(p, "a screenplay file")
    if not data.strip():
        raise BadInput("screenplay file is empty", path)
    if fmt is not None and fmt not in SCRIPT_FORMATS:
        raise BadInput(f"unknown screenplay format {fmt!r}: use one of {', '.join(SCRIPT_FORMATS)}",
                       param="script_format")
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
        elif fmt == "inline":
            sp = parse_inline(text, p, enc)
        else:
            sp = parse_text(text, p, enc)
            if looks_inline(text):
                alt = parse_inline(text, p, enc)
                if len(alt.dialogue) > 2 * len(sp.dialogue):
                    sp = alt
    if not sp.dialogue:
        expected = {
            "fdx": "<Paragraph Type=\"Character\"> followed by <Paragraph Type=\"Dialogue\">",
            "fountain": "a CHARACTER name in capitals after a blank line, its lines right below",
            "inline": "lines 'NAME: what they say'",
        }.get(sp.format, "character names in capitals on their own line (indented, e.g. '      JOHN (V.O.)'), "
                         "with their lines right below; scene headings like 'INT. HOUSE - DAY'; "
                         "or a transcript of 'NAME: text' lines")
        raise BadInput(f"no dialogue found in this {sp.format} screenplay: expected {expected}", path)
    return sp
