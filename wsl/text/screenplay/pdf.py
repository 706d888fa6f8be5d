"""PDF screenplays through pypdf's layout-preserving text extraction, then the plain reader."""

from __future__ import annotations

import os

from wsl.errors import BadInput
from wsl.text.screenplay.model import Screenplay
from wsl.text.screenplay.plain import parse_text

__all__ = ["parse_pdf"]


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

