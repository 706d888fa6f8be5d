from __future__ import annotations

import json

import pytest

from wsl.errors import BadInput
from wsl.io import atomic_open, load_json, read_text, write_json


def test_atomic_write_leaves_nothing_when_interrupted(tmp_path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(target) as f:
        f.write("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_write_json_round_trip(tmp_path) -> None:
    write_json(tmp_path / "a" / "b.json", {"x": [1, 2], "é": "ü"})
    assert json.loads((tmp_path / "a" / "b.json").read_text(encoding="utf-8")) == {"x": [1, 2], "é": "ü"}


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("Café\r\nnaïve\r\n".encode(), "utf-8"),
        (b"\xef\xbb\xbf" + "Café\nnaïve\n".encode(), "utf-8-sig"),
        ("Café\r\nnaïve “quoted”\r\n".encode("cp1252"), "cp1252"),
        ("Café\nnaïve\n".encode("utf-16"), "utf-16"),
    ],
)
def test_read_text_detects_encoding_and_line_endings(tmp_path, data: bytes, encoding: str) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(data)
    text, enc = read_text(path)
    assert enc == encoding
    assert text.startswith("Café\nnaïve")
    assert "\r" not in text


def test_read_text_errors_name_the_file(tmp_path) -> None:
    with pytest.raises(BadInput, match="no such file"):
        read_text(tmp_path / "missing.txt")
    (tmp_path / "bin").write_bytes(b"\x00\x01\x02abc")
    with pytest.raises(BadInput, match="binary"):
        read_text(tmp_path / "bin")


def test_load_json_reports_line(tmp_path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "a": 1,\n  "b": \n}\n')
    with pytest.raises(BadInput) as e:
        load_json(path)
    assert e.value.line == 4 and str(path) in str(e.value)
