"""Script-site HTML: the largest ``<pre>`` block (or the page text), tags removed, then the plain reader."""

from __future__ import annotations

import html
import os
import re

from wsl.text.screenplay.model import Screenplay
from wsl.text.screenplay.plain import parse_text

__all__ = ["parse_html"]


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

