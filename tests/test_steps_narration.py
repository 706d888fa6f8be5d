"""The one narration reader (wsl.data.narration): CSV, SRT, VTT and JSON into one caption type, and the
shared timing check both discover-steps and milnce use."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsl.data.howto100m import Caption
from wsl.data.narration import check_timing, read_narration, read_narration_dir
from wsl.errors import BadInput

SRT = ("1\n00:00:01,000 --> 00:00:03,500\nCrack the eggs\ninto a bowl.\n\n2\n"
       "00:00:04,000 --> 00:00:06,000\nWhisk them.\n")
VTT = ("WEBVTT\n\n00:00:01.000 --> 00:00:03.500\nCrack the eggs into a bowl.\n\n"
       "00:00:04.000 --> 00:00:06.000\nWhisk them.\n")
CSV = "start,end,text\n4.0,6.0,Whisk them.\n1.0,3.5,Crack the eggs into a bowl.\n"
JSON = ('[{"start": 1, "end": 3.5, "text": "Crack the eggs into a bowl."}, '
        '{"start": 4, "end": 6, "text": "Whisk them."}]')


@pytest.mark.parametrize("suffix,text", [(".srt", SRT), (".vtt", VTT), (".csv", CSV), (".json", JSON)])
def test_every_format_gives_the_same_captions(tmp_path: Path, suffix: str, text: str) -> None:
    p = tmp_path / f"vid{suffix}"
    p.write_text(text)
    nar = read_narration(p)
    assert nar.video == "vid" and nar.path == str(p)
    assert all(isinstance(c, Caption) for c in nar.captions)
    assert [(c.start, c.end, c.text) for c in nar.captions] == [(1.0, 3.5, "Crack the eggs into a bowl."),
                                                                (4.0, 6.0, "Whisk them.")]
    assert all(c.line >= 1 for c in nar.captions)  # traceable to the file
    assert nar.end == nar.duration == 6.0


def test_csv_lines_and_skipped_rows(tmp_path: Path) -> None:
    p = tmp_path / "v.csv"
    p.write_text("start,end,text\n1,2,first\nx,3,bad\n5,4,backwards\n6,7,last\n")
    nar = read_narration(p)
    assert [c.line for c in nar.captions] == [2, 5]
    assert [line for line, _ in nar.skipped] == [3, 4]


def test_bad_json_is_bad_input(tmp_path: Path) -> None:
    p = tmp_path / "v.json"
    p.write_text('[{"start": 1, "end": "soon", "text": "x"}]')
    with pytest.raises(BadInput, match="entry 1"):
        read_narration(p)
    p.write_text('[{"start": 5, "end": 1, "text": "x"}]')
    with pytest.raises(BadInput, match="start <= end"):
        read_narration(p)


def test_dir_refuses_two_narrations_of_one_video(tmp_path: Path) -> None:
    (tmp_path / "a.srt").write_text(SRT)
    (tmp_path / "b.csv").write_text(CSV)
    assert sorted(read_narration_dir(tmp_path)) == ["a", "b"]
    (tmp_path / "a.csv").write_text(CSV)
    with pytest.raises(BadInput, match="two narrations"):
        read_narration_dir(tmp_path)


def test_timing_check(tmp_path: Path) -> None:
    p = tmp_path / "v.csv"
    p.write_text("start,end,text\n1,2,a\n5000,5001,b\n")
    nar = read_narration(p)
    with pytest.raises(BadInput, match="runs to 5001"):
        check_timing(nar, duration=55.0)
    with pytest.raises(BadInput, match="implausible") as e:
        check_timing(None, fps=300.0)
    assert e.value.param == "fps"
    with pytest.raises(BadInput, match="rows expected"):
        check_timing(None, fps=10.0, rows=55, duration=55.0)  # fps 10x too high for 1 row/s
    assert check_timing(nar, fps=1.0, rows=5000, slack=10.0) == 5000.0
