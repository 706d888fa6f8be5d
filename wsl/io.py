"""File I/O shared by every command: atomic writes and text decoding with a reported encoding."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from wsl.errors import BadInput

# Tried in order; latin-1 accepts any byte string, so it is the last resort.
_ENCODINGS = ("utf-8", "cp1252", "latin-1")


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` and rename it over ``path`` only if the block succeeds.

    An interrupted or failing run therefore never leaves a half-written output.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    binary = "b" in mode
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding, newline=None if binary else "") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` atomically; ``-`` means standard output."""
    if str(path) == "-":
        import sys

        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with atomic_open(path, "w") as f:
        f.write(text)


def write_json(path: str | os.PathLike[str], obj: Any, indent: int | None = 2) -> None:
    """Write ``obj`` as JSON atomically (``-`` for standard output)."""
    write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def save_npy(path: str | os.PathLike[str], array: Any) -> None:
    """``np.save`` through a temporary file, so a reader never sees a truncated array."""
    import numpy as np

    with atomic_open(path, "wb") as f:
        np.save(f, array)


def decode_bytes(data: bytes, path: str | os.PathLike[str] | None = None) -> tuple[str, str]:
    """Decode text in any common encoding; return ``(text, encoding)`` with LF line endings.

    UTF-8 with or without BOM, UTF-16 with BOM, cp1252 and latin-1 are recognised.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        text, enc = data[3:].decode("utf-8"), "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text, enc = data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as e:
            raise BadInput(f"not valid UTF-16 text ({e.reason} at byte {e.start})", path) from None
    else:
        for enc in _ENCODINGS:
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
    if "\x00" in text:
        raise BadInput("looks like a binary file, not text", path)
    return text.replace("\r\n", "\n").replace("\r", "\n"), enc


def read_bytes(path: str | os.PathLike[str], what: str = "a file") -> bytes:
    """A file's bytes; BadInput naming the path when it is missing, a folder or unreadable."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise BadInput("no such file", path) from None
    except IsADirectoryError:
        raise BadInput(f"is a folder, expected {what}", path) from None
    except OSError as e:
        raise BadInput(f"cannot read: {e.strerror}", path) from None


def read_text(path: str | os.PathLike[str]) -> tuple[str, str]:
    """Read a text file in any common encoding; return ``(text, encoding)``.

    Raises BadInput with the path when the file is missing, unreadable or binary.
    """
    return decode_bytes(read_bytes(path), path)


def check_unique_stems(paths: list[Path], noun: str) -> None:
    """Outputs are named after their inputs' stems: refuse inputs whose outputs would overwrite each other."""
    stems = [p.stem for p in paths]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise BadInput(f"several {noun} share the name {dupes[0]!r}; their outputs would collide")


def load_json(path: str | os.PathLike[str]) -> Any:
    """Read JSON, turning syntax errors into BadInput with the line number."""
    text, _ = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise BadInput(f"invalid JSON: {e.msg} (column {e.colno})", path, e.lineno) from None
