"""Subtitle reading: SRT/VTT cues with source lines, broken cues, encodings, cleaning and speaker turns."""

from __future__ import annotations

import pytest

from wsl.errors import BadInput
from wsl.text.subtitles import (
    clean_line,
    cue_turns,
    format_srt,
    format_vtt,
    is_lyrics,
    parse_srt,
    parse_vtt,
    read_subtitles,
)

SRT = """1
00:00:01,000 --> 00:00:02,500
<i>Hello there.</i>

2
00:00:03,000 --> 00:00:05,000
- Who's that?
- Nobody.

3
00:00:06,000 --> 00:00:04,000
Runs backwards.

4
00:00:07,000 --> 00:00:09,000
A line

with a blank line inside.

5
00:00:10,000 --> banana
Bad timing.

6
00:01:00,5 --> 00:01:01,25
Short fractions.
"""


def test_srt_cues_keep_number_times_lines_and_source_line():
    subs = parse_srt(SRT, "x.srt")
    assert [c.index for c in subs.cues] == [1, 2, 4, 6]
    first = subs.cues[0]
    assert (first.start, first.end, first.lines, first.line) == (1.0, 2.5, ("<i>Hello there.</i>",), 2)
    assert subs.cues[2].lines == ("A line", "with a blank line inside.")
    assert subs.cues[3].start == pytest.approx(60.5) and subs.cues[3].end == pytest.approx(61.25)


def test_broken_cues_are_skipped_with_their_line_numbers():
    subs = parse_srt(SRT, "x.srt")
    assert [line for line, _ in subs.skipped] == [11, 21]
    reasons = dict(subs.skipped)
    assert "before it starts" in reasons[11] and "timing" in reasons[21]


def test_vtt_header_notes_and_identifiers_are_ignored():
    vtt = ("WEBVTT - a film\n\nNOTE written by hand\nnot a cue\n\nintro\n00:01.000 --> 00:02.000 align:start\n"
           "<v Maren>First words.</v>\n\n00:00:03.000 --> 00:00:04.500\nSecond.\n")
    subs = parse_vtt(vtt, "x.vtt")
    assert [c.text for c in subs.cues] == ["<v Maren>First words.</v>", "Second."]
    assert subs.cues[0].start == 1.0 and subs.cues[1].end == 4.5
    assert subs.cues[0].line == 7
    with pytest.raises(BadInput, match="WEBVTT"):
        parse_vtt("00:01.000 --> 00:02.000\nx\n", "y.vtt")


def test_cleaning_tags_hearing_impaired_lyrics():
    assert clean_line("<i>[DOOR SLAMS]</i> Get out!") == ("Get out!", None)
    assert clean_line("MAN: Get out! (sighs)") == ("Get out!", "MAN")
    assert clean_line("{\\an8}Hello") == ("Hello", None)
    assert is_lyrics("♪ Oh, the lamp on the hill ♪") and clean_line("♪ la la ♪")[0] == ""
    assert not is_lyrics("Hello")


def test_dash_cue_has_two_turns_with_character_offsets():
    cue = parse_srt("1\n00:00:01,000 --> 00:00:03,000\n- Hi.\n- Hello, you.\n").cues[0]
    text, turns = cue_turns(cue)
    assert text == "Hi. Hello, you."
    assert [(t.text, t.offset) for t in turns] == [("Hi.", 0), ("Hello, you.", 4)]
    cue = parse_srt("1\n00:00:01,000 --> 00:00:03,000\nOne line\ncontinues here.\n").cues[0]
    assert [t.text for t in cue_turns(cue)[1]] == ["One line continues here."]


@pytest.mark.parametrize("encoding,bom", [("cp1252", b""), ("utf-16", b""), ("utf-8", b"\xef\xbb\xbf")])
def test_encodings_and_crlf(tmp_path, encoding, bom):
    text = "1\r\n00:00:01,000 --> 00:00:02,000\r\nCafé — naïve\r\n"
    p = tmp_path / "x.srt"
    p.write_bytes(bom + text.encode(encoding))
    subs = read_subtitles(p)
    assert subs.cues[0].text == "Café — naïve"
    assert subs.encoding in ("cp1252", "utf-16", "utf-8-sig")


def test_unreadable_files_are_bad_input(tmp_path):
    empty = tmp_path / "e.srt"
    empty.write_text("  \n")
    with pytest.raises(BadInput, match="empty"):
        read_subtitles(empty)
    junk = tmp_path / "j.srt"
    junk.write_text("this is not\na subtitle file\n")
    with pytest.raises(BadInput, match="no readable subtitle cue"):
        read_subtitles(junk)
    with pytest.raises(BadInput, match="no such file"):
        read_subtitles(tmp_path / "missing.srt")


def test_writers_round_trip():
    items = [(1.0, 2.5, "MAREN: Hello."), (3723.004, 3724.0, "Bye.")]
    again = parse_srt(format_srt(items)).cues
    assert [(c.start, c.end, c.text) for c in again] == [(1.0, 2.5, "MAREN: Hello."), (3723.004, 3724.0, "Bye.")]
    vtt = format_vtt(items)
    assert vtt.startswith("WEBVTT") and "01:02:03.004 --> 01:02:04.000" in vtt
    assert [c.text for c in parse_vtt(vtt).cues] == ["MAREN: Hello.", "Bye."]


def test_a_garbled_end_time_is_an_unreadable_timing_not_a_backwards_cue():
    """``00:00:xx,000`` once read as 00:00 (minutes:seconds) with ``:xx,000`` as cue settings, so the cue
    was skipped as ending before it starts; settings follow the times after a space only."""
    subs = parse_srt("1\n00:00:01,000 --> 00:00:xx,000\nHello\n\n2\n00:00:03,000 --> 00:00:04,000 X:1\nOk\n", "g.srt")
    assert dict(subs.skipped) == {2: "unreadable timing line"}
    assert [c.lines for c in subs.cues] == [("Ok",)]
