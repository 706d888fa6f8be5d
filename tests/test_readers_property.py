"""Any input file gives a result or the project's one-line bad-input error, never another exception.

Property-based (hypothesis): each reader is fed random bytes and, more usefully, random text made
of the pieces its format is built from (cue numbers, time codes, headers, braces, names), in the
encodings users have. The example count is bounded so the suite stays fast in CI.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsl.errors import BadInput

PIECES = [
    "1", "2", "③", "²", "-3", "x1", "", " ", "\t", "00:00:01,000 --> 00:00:02,500", "00:00:05.000 --> 00:00:04.000",
    "99:99:99,999 --> 00:00:00,000", "WEBVTT", "NOTE x", "STYLE", "[Script Info]", "[Events]",
    "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,Hello", "Dialogue: x", "- Hi.", "- Hello.",
    "INT. HOUSE - DAY", "EXT. ROAD - NIGHT", "                         JOHN", "JOHN (V.O.)", "(CONT'D)",
    "JOHN: Hello there.", "^MARY", "Title: x", "<pre>", "</pre>", "<html>", "<?xml version='1.0'?>",
    "<FinalDraft><Content><Paragraph Type='Action'><Text>x</Text></Paragraph></Content></FinalDraft>",
    "start,end,text", "1.5,2.0,crack the egg", "a,b,c", '"unclosed', "video,start,end,text", "nan,inf,x",
    "{", "}", "[", "]", '{"v1": ["a", "b"]}', '{"v1": 3}', '[{"samples": [0, 0], "labels": ["a"]}]',
    '{"bags": [{"samples": [1, 2], "labels": ["x", "y"]}]}', '{"fps": "two"}', '{"fps": -1}', "null",
    '{"database": {"v": {"annotation": [{"segment": [1, 0], "label": "x"}]}}}', "1e999", "-0", "\u00a0",
    "image.jpg,cat;dog", "image.jpg,cat,1 2 3 4", "0 SIL", "1 pour_milk",
]


def _text() -> st.SearchStrategy[bytes]:
    lines = st.lists(st.sampled_from(PIECES) | st.text(max_size=12), max_size=25)
    enc = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"])
    nl = st.sampled_from(["\n", "\r\n", "\r"])

    def encode(parts: list[str], encoding: str, newline: str) -> bytes:
        return newline.join(parts).encode(encoding, errors="replace")

    return st.builds(encode, lines, enc, nl)


CONTENT = _text() | st.binary(max_size=300)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _check(read: Callable[[Path], Any], path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        read(path)
    except BadInput as e:
        assert "\n" not in str(e).strip(), f"multi-line error: {e!r}"


def _readers() -> dict[str, tuple[str, Callable[[Path], Any]]]:
    from wsl.data import bags, coin, framelabels, mining_youtube, narration, tagged, transcripts
    from wsl.text import screenplay, subtitles

    found: dict[str, tuple[str, Callable[[Path], Any]]] = {
        "subtitles-srt": (".srt", subtitles.read_subtitles),
        "subtitles-vtt": (".vtt", subtitles.read_subtitles),
        "subtitles-ass": (".ass", subtitles.read_subtitles),
        "screenplay-txt": (".txt", screenplay.read_screenplay),
        "screenplay-fountain": (".fountain", screenplay.read_screenplay),
        "screenplay-fdx": (".fdx", screenplay.read_screenplay),
        "screenplay-html": (".html", screenplay.read_screenplay),
        "narration-csv": (".csv", narration.read_narration),
        "narration-srt": (".srt", narration.read_narration),
        "narration-vtt": (".vtt", narration.read_narration),
        "narration-json": (".json", narration.read_narration),
        "transcripts": (".json", transcripts.read_transcripts),
        "bags": (".json", bags.read_bags),
        "sample-labels": (".json", bags.read_sample_labels),
        "tags-csv": (".csv", tagged.read_tags_csv),
        "class-list": (".txt", tagged.read_class_list),
        "coin": (".json", coin.read_coin),
        "mining-youtube": (".srt", lambda p: mining_youtube.read_mining_youtube(p)),
        "frame-labels": (".txt", framelabels.read_frame_labels),
        "label-mapping": (".txt", framelabels.read_mapping),
    }
    return found


READERS = sorted(_readers())


@pytest.mark.parametrize("name", READERS)
def test_reader_gives_a_result_or_bad_input(name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    suffix, read = _readers()[name]
    folder = tmp_path_factory.mktemp(name)

    @SETTINGS
    @given(CONTENT)
    def run(data: bytes) -> None:
        _check(read, folder / f"input{suffix}", data)

    run()


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


ARRAYS = st.one_of(
    st.builds(lambda r, c: np.zeros((r, c), np.float32), st.integers(0, 4), st.integers(0, 4)),
    st.builds(lambda n: np.full((n, 3), np.nan), st.integers(1, 3)),
    st.builds(lambda n: np.arange(n), st.integers(0, 5)),
    st.just(np.array(["a", "b"])),
    st.just(np.array([{"x": 1}], dtype=object)),
    st.just(np.zeros((2, 2, 2))),
)


def test_feature_files_give_a_result_or_bad_input(tmp_path_factory: pytest.TempPathFactory) -> None:
    from wsl.features.files import read_features

    folder = tmp_path_factory.mktemp("features")

    @SETTINGS
    @given(st.one_of(ARRAYS.map(_npy_bytes), CONTENT, ARRAYS.map(_npy_bytes).map(lambda b: b[: len(b) // 2])))
    def run(data: bytes) -> None:
        _check(read_features, folder / "v.npy", data)

    run()


def test_feature_index_gives_a_result_or_bad_input(tmp_path_factory: pytest.TempPathFactory) -> None:
    from wsl.features.files import read_index

    folder = tmp_path_factory.mktemp("index")

    @SETTINGS
    @given(CONTENT)
    def run(data: bytes) -> None:
        _check(lambda p: read_index(p.parent), folder / "index.json", data)

    run()


def test_an_unclosed_quote_is_reported_where_it_opens(tmp_path) -> None:
    from wsl.data.narration import read_narration

    path = tmp_path / "v.csv"
    path.write_text('start,end,text\n1,2,hello\n2,3,"two\nlines"\n4,5,"never closed\n5,6,x\n6,7,y\n')
    with pytest.raises(BadInput) as e:
        read_narration(path)
    assert e.value.line == 5 and "never closed" in str(e.value)


def test_json_or_pickles_named_npy_never_suggest_unpickling(tmp_path) -> None:
    from wsl.features.files import read_features

    (tmp_path / "a.npy").write_text('{"a": 1}')
    np.save(tmp_path / "b.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    for name, what in (("a.npy", "no NPY header"), ("b.npy", "Python objects")):
        with pytest.raises(BadInput) as e:
            read_features(tmp_path / name)
        assert what in str(e.value) and "allow_pickle" not in str(e.value) and "pickle.load" not in str(e.value)
