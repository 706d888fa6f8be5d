"""The align pipeline and its CLI on the shipped example: timing vs gold, abstention, speakers, outputs, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from wsl.alignment import AlignOptions, align
from wsl.errors import BadInput
from wsl.eval.align import evaluate_alignment
from wsl.text.screenplay import parse_text
from wsl.text.subtitles import parse_srt

EX = Path(__file__).resolve().parents[1] / "examples" / "align"
SCRIPT, SUBS, GOLD = EX / "lighthouse.txt", EX / "lighthouse.srt", EX / "lighthouse.gold.json"


@pytest.fixture(scope="module")
def result() -> dict:
    return align(SCRIPT, SUBS).to_dict()


def _block(res: dict, line: int) -> dict:
    return next(e for e in res["elements"] if e["script_line"] == line)


def test_example_meets_gold(result):
    m = evaluate_alignment(result, json.loads(GOLD.read_text()))
    c = m["counts"]
    # Every block in the film is placed within a second except the one whose only cue is broken.
    assert c["within_1s"] == c["blocks_in_film"] - 1
    assert m["share_absent_abstained"] == 1.0
    assert m["speaker_accuracy"] == 1.0


def test_cut_scene_is_abstained_and_actions_are_interpolated(result):
    captain = _block(result, 73)
    assert captain["aligned"] is False and captain["start"] is None and captain["confidence"] == 0.0
    heading = _block(result, 69)  # the cut harbour scene's heading lies between its aligned neighbours
    assert heading["interpolated"] and heading["start"] == _block(result, 65)["end"]
    assert heading["end"] == _block(result, 85)["start"]


def test_dash_cue_gets_two_speakers_and_second_line_starts_inside_the_cue(result):
    cue4 = next(c for c in result["cues"] if c["index"] == 4)
    assert cue4["speakers"] == ["TOBIAS", "MAREN"]
    answer = _block(result, 27)  # "About forty steps..." is the second line of cue 4 (18.2 - 20.0)
    assert 18.6 < answer["start"] < 19.4
    assert answer["cues"] == [4, 5]


def test_reworded_line_keeps_a_partial_confidence_and_broken_cue_is_reported(result):
    reworded = _block(result, 43)  # "Then why didn't anyone..." vs "Why didn't anybody..."
    assert reworded["aligned"] and 0.5 < reworded["confidence"] < 1.0
    assert result["summary"]["skipped_cues"] == [{"line": 62, "reason": "cue ends before it starts"}]
    assert [c["speakers"] for c in result["cues"] if c["index"] in (1, 13)] == [[], []]  # sound, song
    assert result["summary"]["encodings"] == {"screenplay": "utf-8", "subtitles": "utf-8"}


def test_subtitles_of_another_film_fail_with_a_diagnosis():
    other = parse_srt("1\n00:00:01,000 --> 00:00:03,000\nThe markets fell sharply on Tuesday.\n\n"
                      "2\n00:00:04,000 --> 00:00:06,000\nAnalysts expect a slow recovery in spring.\n")
    sp = parse_text(SCRIPT.read_text())
    with pytest.raises(BadInput, match="another film"):
        align(sp, other)


LINES = [
    ("ANNA", "The train leaves at seven from the north platform."),
    ("BEN", "Then we have exactly one hour to find the painting."),
    ("ANNA", "It was hanging in the hall of the old museum."),
    ("BEN", "Somebody must have taken it down last night."),
    ("CLERK", "Tickets please, the last carriage is nearly full."),
    ("ANNA", "Two tickets to the coast and keep the change."),
]


def test_a_scene_the_film_moved_is_found_by_the_second_pass():
    script = "\n".join(f"{'':20}{who}\n{'':10}{line}\n" for who, line in LINES)
    order = [4, 5, 0, 1, 2, 3]  # the film plays the clerk's scene first
    srt = "".join(f"{n + 1}\n00:00:{10 * n + 1:02d},000 --> 00:00:{10 * n + 5:02d},000\n{LINES[k][1]}\n\n"
                  for n, k in enumerate(order))
    sp, subs = parse_text(script), parse_srt(srt)
    res = align(sp, subs).to_dict()
    clerk = next(e for e in res["elements"] if e.get("character") == "CLERK")
    assert clerk["aligned"] and clerk.get("reordered") and clerk["start"] == 1.0
    plain = align(sp, subs, AlignOptions(reorder=False)).to_dict()
    assert not next(e for e in plain["elements"] if e.get("character") == "CLERK")["aligned"]


# ------------------------------------------------------------------------------------------------- CLI


def test_cli_one_film_formats(run_cli, tmp_path):
    out = tmp_path / "a.json"
    code, _, err = run_cli("align", SCRIPT, SUBS, "-o", out)
    assert code == 0 and "62: skipped a broken cue" in err
    data = json.loads(out.read_text())
    assert set(data) == {"summary", "elements", "cues"}
    code, srt, _ = run_cli("-q", "align", SCRIPT, SUBS, "--format", "srt")
    assert code == 0 and "TOBIAS: You said the lamp was fixed last winter." in srt
    assert "- TOBIAS: Is there a difference?\n- MAREN: About forty steps of difference." in srt
    assert "[WIND HOWLING]" in srt  # a cue with no speech keeps its text
    code, vtt, _ = run_cli("-q", "align", SCRIPT, SUBS, "--format", "vtt", "--export", "script")
    assert vtt.startswith("WEBVTT") and "MAREN: Forty years. Not one ship lost." in vtt
    code, csv_text, _ = run_cli("-q", "align", SCRIPT, SUBS, "-o", tmp_path / "a.csv")
    header = (tmp_path / "a.csv").read_text().splitlines()[0]
    assert header.startswith("type,character,script_line,start,end,aligned,confidence")
    code, jl, _ = run_cli("-q", "align", SCRIPT, SUBS, "--format", "jsonl")
    records = [json.loads(x)["record"] for x in jl.splitlines()]
    # 21 cues in, 21 out: the broken cue (line 62) is kept with its text
    assert records[0] == "summary" and records.count("cue") == 21


def test_cli_eval_and_batch_with_skip_existing(run_cli, tmp_path):
    films = tmp_path / "films"
    films.mkdir()
    shutil.copy(SCRIPT, films / "keeper.txt")
    shutil.copy(SUBS, films / "keeper.srt")
    shutil.copy(SCRIPT, films / "twin.screenplay.txt")
    shutil.copy(SUBS, films / "twin.srt")
    out = tmp_path / "out"
    code, _, err = run_cli("-q", "align", "--batch", films, "-o", out, "--jobs", "2")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["keeper.aligned.json", "summary.tsv", "twin.aligned.json"]
    rows = (out / "summary.tsv").read_text().splitlines()
    assert rows[0].startswith("name\tstatus") and all("\tok\t" in r for r in rows[1:])
    code, _, _ = run_cli("-q", "align", "--batch", films, "-o", out, "--skip-existing")
    assert "skipped (exists)" in (out / "summary.tsv").read_text()
    gold_dir = tmp_path / "gold"
    gold_dir.mkdir()
    shutil.copy(GOLD, gold_dir / "keeper.gold.json")
    code, text, _ = run_cli("eval", "align", out, gold_dir)
    assert code == 0 and json.loads(text)["overall"]["share_absent_abstained"] == 1.0
    code, text, _ = run_cli("eval", "align", out / "keeper.aligned.json", GOLD)
    assert json.loads(text)["speaker_accuracy"] == 1.0


def test_cli_bad_input_exits_2_with_file_and_line(run_cli, tmp_path):
    code, _, err = run_cli("align", tmp_path / "none.txt", SUBS)
    assert code == 2 and "none.txt: no such file" in err
    novel = tmp_path / "novel.txt"
    novel.write_text("Once upon a time there was a lighthouse.\n")
    code, _, err = run_cli("align", novel, SUBS)
    assert code == 2 and "no dialogue found" in err
    bad = tmp_path / "bad.srt"
    bad.write_text("1\nhello --> world\nNothing here.\n")
    code, _, err = run_cli("align", SCRIPT, bad)
    assert code == 2 and err.startswith(f"error: {bad}:2: no readable subtitle cue")
    code, _, err = run_cli("align", SCRIPT, SUBS, "--format", "xml")
    assert code == 2 and "--format" in err
    code, _, err = run_cli("align", "--batch", tmp_path)
    assert code == 2 and "-o OUT_DIR" in err


def test_cli_wrong_film_exits_2(run_cli, tmp_path):
    other = tmp_path / "other.srt"
    other.write_text("1\n00:00:01,000 --> 00:00:03,000\nThe markets fell sharply on Tuesday morning.\n")
    code, _, err = run_cli("align", SCRIPT, other)
    assert code == 2 and "another film" in err and len(err.strip().splitlines()) == 1


def test_cli_labels_and_action_rules(run_cli, tmp_path):
    pytest.importorskip("spacy")
    from wsl.text.nlp import available_model

    if available_model() is None:
        pytest.skip("no spaCy English model")
    out = tmp_path / "l.json"
    code, _, err = run_cli("-q", "align", SCRIPT, SUBS, "--actions", EX / "actions.yaml", "-o", out)
    assert code == 0, err
    data = json.loads(out.read_text())
    exit_el = _block(data, 107)
    assert {"subject": "TOBIAS", "verb": "get out", "object": "lamp room", "labels": ["GetOut"]} in \
        exit_el["labels"]["actions"]
    getout = [a for a in data["actions"] if a["label"] == "GetOut"]
    assert getout and getout[0]["character"] == "TOBIAS" and getout[0]["start"] is not None
    harbour = next(b for b in data["bags"] if b["heading"] == "EXT. HARBOUR - NIGHT")
    assert harbour["characters"] == ["CAPTAIN", "DECKHAND"] and harbour["in_film"] is False
    lamp = next(b for b in data["bags"] if b["script_line"] == 33)
    assert set(lamp["characters"]) == {"MAREN", "TOBIAS"} and "PickUp" in lamp["actions"]
    assert lamp["start"] == _block(data, 33)["start"] and lamp["end"] == _block(data, 65)["end"]
    bad_rules = tmp_path / "r.yaml"
    bad_rules.write_text("GetOut:\n  objects: [car]\n")
    code, _, err = run_cli("align", SCRIPT, SUBS, "--actions", bad_rules)
    assert code == 2 and "verbs" in err
