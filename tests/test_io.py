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


# --- output safety (docs/formats.md "Output safety") ---------------------------------------------------

def test_new_outputs_get_the_mode_a_plain_open_gives(tmp_path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        write_json(tmp_path / "new.json", {})
        assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o644
        os.umask(0o077)
        write_json(tmp_path / "private.json", {})
        assert stat.S_IMODE((tmp_path / "private.json").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_replacing_a_file_keeps_its_mode(tmp_path) -> None:
    import stat

    target = tmp_path / "out.json"
    target.write_text("old")
    target.chmod(0o640)
    write_json(target, {"new": 1})
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert json.loads(target.read_text()) == {"new": 1}


def test_a_symlink_output_is_written_through(tmp_path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_json(link, {"via": "link"})
    assert link.is_symlink()
    assert json.loads(real.read_text()) == {"via": "link"}


def test_a_fifo_output_is_written_in_place_not_replaced(tmp_path) -> None:
    import os
    import stat
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_json(fifo, {"streamed": True})
    reader.join(10)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert json.loads(got[0]) == {"streamed": True}


def test_dev_null_stays_a_device(tmp_path) -> None:
    import os
    import stat

    write_json("/dev/null", {"x": 1})
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_an_existing_folder_as_output_is_bad_input(tmp_path) -> None:
    with pytest.raises(BadInput, match="is a folder"):
        write_json(tmp_path, {})


def test_output_equal_to_an_input_is_refused(tmp_path) -> None:
    from wsl.io import refuse_overwriting_inputs

    src = tmp_path / "script.txt"
    src.write_text("INT. HOUSE")
    link = tmp_path / "alias.txt"
    link.symlink_to(src)
    for out in (src, link, tmp_path / "." / "script.txt"):
        with pytest.raises(BadInput, match="is also an input"):
            refuse_overwriting_inputs([out], [src])
    refuse_overwriting_inputs([tmp_path / "other.json", "-"], [src])  # fine


# --- decoding ------------------------------------------------------------------------------------------

def test_bom_followed_by_cp1252_bytes_falls_back(tmp_path) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "Café “x”\n".encode("cp1252"))
    text, enc = read_text(path)
    assert text == "Café “x”\n" and enc == "cp1252"


def test_utf16_without_bom_is_text_not_binary(tmp_path) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes("1\n00:00:01,000 --> 00:00:02,000\nHello there\n".encode("utf-16-le"))
    text, enc = read_text(path)
    assert text.startswith("1\n00:00:01,000") and enc == "utf-16-le"


def test_deeply_nested_json_is_bad_input(tmp_path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(BadInput, match="nested too deeply"):
        load_json(path)


def test_an_output_among_the_files_an_input_folder_holds_is_refused(tmp_path) -> None:
    from wsl.io import refuse_overwriting_inputs

    task = tmp_path / "task"
    (task / "sub").mkdir(parents=True)
    (task / "v1.srt").write_text("1\n")
    (task / "sub" / "v2.npy").write_bytes(b"x")
    with pytest.raises(BadInput, match="input files in"):
        refuse_overwriting_inputs([task / "v1.srt"], [task], folder_suffixes=(".srt", ".npy"))
    with pytest.raises(BadInput, match="input files in"):
        refuse_overwriting_inputs([task / "sub" / "v2.npy"], [task], folder_suffixes=(".srt", ".npy"))
    refuse_overwriting_inputs([task / "new.json"], [task], folder_suffixes=(".srt",))  # a new file is fine
