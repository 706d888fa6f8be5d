"""File I/O shared by every command: safe atomic writes and text decoding with a reported encoding.

Output rules (docs/formats.md, "Output safety"): a regular file is written through a temporary file
and renamed over the target, so an interrupted run never leaves half an output; a symlink is written
through (its target is replaced, the link kept); a device or FIFO (``/dev/null``, a pipe) is written
directly; new files get the mode a plain ``open(path, "w")`` gives (0666 minus the umask) and a
replaced file keeps its mode; an output that resolves to one of the command's inputs is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from wsl.errors import BadInput

# Tried in order; latin-1 accepts any byte string, so it is the last resort.
_ENCODINGS = ("utf-8", "cp1252", "latin-1")

PathLike = str | os.PathLike[str]


def _umask() -> int:
    # os.umask can only be read by setting it; set it back at once.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _target(path: Path) -> Path:
    """The file a write to ``path`` lands on: symlinks are followed, so the link itself survives."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open ``path`` for writing so that it is replaced only if the block succeeds.

    Regular files (and symlinks to them) go through a temporary file in the same folder and a rename;
    special files are written in place, since renaming over ``/dev/null`` or a FIFO would replace it.
    """
    binary = "b" in mode
    target = _target(Path(path))
    kw: dict[str, Any] = {} if binary else {"encoding": encoding, "newline": ""}
    try:
        st = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise BadInput(f"cannot write here: {e.strerror}", path) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise BadInput("is a folder; give a file name for this output", path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(target, mode, **kw) as f:
            yield f
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as e:
        raise BadInput(f"cannot write here: {e.strerror}", path) from None
    try:
        # mkstemp makes 0600 files; give the mode an ordinary open() would, or keep the replaced file's.
        os.chmod(tmp, stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask())
        with os.fdopen(fd, mode, **kw) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: PathLike, text: str) -> None:
    """Write ``text`` atomically; ``-`` means standard output."""
    if str(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with atomic_open(path, "w") as f:
        f.write(text)


def write_json(path: PathLike, obj: Any, indent: int | None = 2) -> None:
    """Write ``obj`` as JSON atomically (``-`` for standard output)."""
    write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


def write_bytes(path: PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def save_npy(path: PathLike, array: Any) -> None:
    """``np.save`` through a temporary file, so a reader never sees a truncated array."""
    import numpy as np

    with atomic_open(path, "wb") as f:
        np.save(f, array)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def refuse_overwriting_inputs(
    outputs: Iterable[PathLike], inputs: Iterable[PathLike], folder_suffixes: Iterable[str] = ()
) -> None:
    """BadInput when an output path resolves to an input file.

    Called by every command before it writes, so ``-o`` can never destroy what the user gave it. An
    input folder counts by the files in it (at any depth) whose suffix is in ``folder_suffixes``:
    the files the command would read there.
    """
    suffixes = {x.lower() for x in folder_suffixes}
    ins = [Path(p) for p in inputs if str(p) != "-"]
    for out in outputs:
        if str(out) == "-":
            continue
        o = Path(out)
        if not o.exists() or o.is_dir():
            continue
        for i in ins:
            if i.is_dir():
                inside = Path(os.path.realpath(o)).is_relative_to(os.path.realpath(i))
                if inside and o.suffix.lower() in suffixes:
                    raise BadInput(f"is one of the input files in {i}; choose another output path", o)
            elif i.exists() and _same_file(o, i):
                raise BadInput(f"is also an input ({i}); choose another output path", o)


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when every other byte is zero as in ASCII-range UTF-16 text, else None."""
    if len(data) < 4 or len(data) % 2:
        return None
    even, odd = data[0::2], data[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def decode_bytes(data: bytes, path: PathLike | None = None) -> tuple[str, str]:
    """Decode text in any common encoding; return ``(text, encoding)`` with LF line endings.

    UTF-8 with or without BOM, UTF-16 with or without BOM, cp1252 and latin-1 are recognised.
    """
    text: str | None = None
    enc = ""
    if data.startswith(b"\xef\xbb\xbf"):
        body = data[3:]
        for enc in ("utf-8-sig", "cp1252", "latin-1"):  # a BOM pasted onto cp1252 text happens
            try:
                text = body.decode("utf-8" if enc == "utf-8-sig" else enc)
                break
            except UnicodeDecodeError:
                continue
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")) or _utf16_without_bom(data):
        enc = "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else str(_utf16_without_bom(data))
        try:
            text = data.decode(enc)
        except UnicodeDecodeError as e:
            raise BadInput(f"not valid UTF-16 text ({e.reason} at byte {e.start})", path) from None
        text = text.lstrip("\ufeff")
    else:
        for enc in _ENCODINGS:
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
    assert text is not None  # latin-1 decodes anything
    if "\x00" in text:
        raise BadInput("looks like a binary file, not text", path)
    return text.replace("\r\n", "\n").replace("\r", "\n"), enc


def read_bytes(path: PathLike, what: str = "a file") -> bytes:
    """A file's bytes; BadInput naming the path when it is missing, a folder or unreadable."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise BadInput("no such file", path) from None
    except IsADirectoryError:
        raise BadInput(f"is a folder, expected {what}", path) from None
    except OSError as e:
        raise BadInput(f"cannot read: {e.strerror}", path) from None


def read_text(path: PathLike) -> tuple[str, str]:
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


def parse_json(text: str, path: PathLike | None = None) -> Any:
    """Parse JSON text, turning syntax errors and absurd nesting into BadInput with the line number."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise BadInput(f"invalid JSON: {e.msg} (column {e.colno})", path, e.lineno) from None
    except RecursionError:
        raise BadInput("JSON nested too deeply to be a wsl input", path) from None


def load_json(path: PathLike) -> Any:
    """Read JSON from a file in any common encoding (see ``parse_json``)."""
    text, _ = read_text(path)
    return parse_json(text, path)


def output_folder_for(out_dir: PathLike, inputs: list[Path], noun: str, need: str) -> Path:
    """The folder that receives one output per input (named by the input's stem), checked first:
    stems unique, the folder not one of the inputs, not a plain file (``need``: "features need an
    output folder", the message's second half)."""
    check_unique_stems(inputs, noun)
    out = Path(out_dir)
    refuse_overwriting_inputs([out], inputs)
    if out.exists() and not out.is_dir():
        raise BadInput(f"is a file; {need}", out, param="out_dir")
    return out
