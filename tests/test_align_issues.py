"""Issue 12/15/16 behaviours of `wsl align`, each on a small fixture that failed before the fix."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from wsl.alignment import align
from wsl.alignment.spans import SubToken, trim_edges
from wsl.errors import BadInput
from wsl.text.screenplay import parse_fountain, parse_text, read_screenplay
from wsl.text.subtitles import parse_ass, parse_srt

EX = Path(__file__).resolve().parents[1] / "examples" / "align"
SCRIPT, SUBS = EX / "lighthouse.txt", EX / "lighthouse.srt"

CUE, SPEECH = " " * 37, " " * 25


def _script(*blocks: tuple[str, ...]) -> str:
    out = ["               INT. OFFICE - DAY", ""]
    for block in blocks:
        out += [CUE + block[0], *(SPEECH + x for x in block[1:]), ""]
    return "\n".join(out) + "\n"


def _cues(sp) -> list[tuple[str, str | None]]:
    return [(e.character, e.extension) for e in sp.dialogue]


# --------------------------------------------------------------------------------------------- parsers

def test_the_cue_column_is_evidence_for_stop_listed_words_commas_extensions_and_wrapped_cues():
    text = _script(("JOHN", "We start at noon."), ("VOICE OVER", "Problem solving is his strength."),
                   ("CARLOS ON TOP", "Don't shoot. It's me!"), ("MARY,", "Fine by me."),
                   ("FLIGHT ATTENDANT", "(CONT'D)", "Would you like a movie?"))
    text = text.replace(SPEECH + "(CONT'D)", CUE + "(CONT'D)")
    text += CUE + "AGENT LOWDEN/AGENT\n" + CUE + "MAREK\n" + SPEECH + "He may have used the code.\n"
    sp = parse_text(text)
    assert _cues(sp) == [("JOHN", None), ("VOICE OVER", None), ("CARLOS ON TOP", None), ("MARY", None),
                         ("FLIGHT ATTENDANT", "CONT'D"), ("AGENT LOWDEN/AGENT MAREK", None)]
    assert sp.dialogue[4].text == "Would you like a movie?"


def test_inline_transcripts_are_read_as_dialogue(tmp_path):
    p = tmp_path / "ep.txt"
    p.write_text("Scene: A corridor at a sperm bank.\nSheldon: So if a photon is directed through a plane.\n"
                 "Leonard: Agreed, what's your point?\n(Leonard enters)\nSheldon: There's no point.\n"
                 "Leonard (off): Excuse me?\nPenny: Hi. Hi.\nReceptionist: Hang on.\n")
    sp = read_screenplay(p)
    assert sp.format == "inline"
    assert [e.type for e in sp.elements][:4] == ["scene", "dialogue", "dialogue", "action"]
    assert _cues(sp)[:4] == [("SHELDON", None), ("LEONARD", None), ("SHELDON", None), ("LEONARD", "off")]
    assert sp.dialogue[0].line == 2


def test_dual_dialogue_fountain_and_side_by_side():
    sp = parse_fountain("INT. HALL - DAY\n\nBRICK\nScrew retirement.\n\nSTEEL ^\nScrew retirement.\n")
    assert [(e.character, e.dual) for e in sp.dialogue] == [("BRICK", False), ("STEEL", True)]
    text = ("               INT. HALL - DAY\n\n" + CUE + "JOHN\n" + SPEECH + "Where were you last night?\n\n"
            + " " * 20 + "BRICK" + " " * 25 + "STEEL\n"
            + " " * 12 + "Screw it all." + " " * 17 + "Never again.\n"
            + " " * 12 + "I am done." + " " * 20 + "We go home.\n")
    sp = parse_text(text)
    got = [(e.character, e.text, e.dual) for e in sp.dialogue]
    assert got[1:] == [("BRICK", "Screw it all. I am done.", False), ("STEEL", "Never again. We go home.", True)]


ASS_HEAD = ("[Script Info]\nScriptType: v4.00+\n\n[Events]\n"
            "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n")


def test_ass_subtitles_with_a_broken_event_keep_line_numbers():
    text = ASS_HEAD + ("Dialogue: 0,0:00:01.00,0:00:02.50,Default,,0,0,0,,{\\i1}Hello{\\i0} there.\\NSecond line\n"
                       "Dialogue: 0,0:00:0x.00,0:00:04.00,Default,,0,0,0,,broken\n"
                       "Comment: 0,0:00:05.00,0:00:06.00,Default,,0,0,0,,a comment\n"
                       "Dialogue: 0,0:00:08.00,0:00:09.00,Default,,0,0,0,,- Hi.\\N- Hello.\n")
    subs = parse_ass(text, "x.ass")
    assert [(c.line, c.lines) for c in subs.cues] == [(6, ("Hello there.", "Second line")), (9, ("- Hi.", "- Hello."))]
    assert [line for line, _ in subs.skipped] == [7]


def test_cue_numbers_in_other_digits_are_one_clear_error_and_odd_numbers_warn(caplog):
    with pytest.raises(BadInput, match=r"x.srt:5: cue number '③'"):
        parse_srt("1\n00:00:01,000 --> 00:00:02,000\nHi\n\n③\n00:00:03,000 --> 00:00:04,000\nYo\n", "x.srt")
    with pytest.raises(BadInput, match="cue number '²'"):
        parse_srt("²\n00:00:01,000 --> 00:00:02,000\nHi\n", "x.srt")
    subs = parse_srt("1\n00:00:01,000 --> 00:00:02,000\nHi\n\n-3\n00:00:03,000 --> 00:00:04,000\nYo\n", "x.srt")
    assert len(subs.cues) == 2 and "'-3' stands where a cue number goes" in caplog.text


# --------------------------------------------------------------------------------------------- alignment

def _sentences(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    vocab = [f"w{k}{chr(97 + k % 26)}" for k in range(400)]
    return [" ".join(rng.choice(vocab) for _ in range(10)) + "." for _ in range(n)]


def test_a_draft_is_refused_with_its_own_message_and_aligned_with_draft():
    said = _sentences(100, 1)
    written = _sentences(100, 2)
    keep = {10, 30, 50, 70, 90}  # five speeches survive from the draft, verbatim
    script = _script(*((f"P{k % 3}", said[k] if k in keep else written[k]) for k in range(100)))
    srt = "".join(f"{k + 1}\n00:{k // 20:02d}:{3 * (k % 20):02d},000 --> 00:{k // 20:02d}:{3 * (k % 20) + 2:02d},000\n"
                  f"{said[k]}\n\n" for k in range(100))
    sp, subs = parse_text(script), parse_srt(srt)
    with pytest.raises(BadInput, match="early draft of this film: only .* survives") as err:
        align(sp, subs)
    assert err.value.param == "draft"
    res = align(sp, subs, draft=True)
    aligned = [e for e in res.dialogue if e["aligned"]]
    assert len(aligned) == 5 and all(e["text"] in said for e in aligned)
    assert res.summary["verdict"] == "draft"


def test_an_isolated_edge_match_far_in_time_is_trimmed():
    toks = [SubToken("a", 0, 0, 1.0, 1.2), SubToken("b", 5, 0, 60.0, 60.2), SubToken("c", 5, 0, 60.3, 60.5),
            SubToken("d", 5, 0, 60.6, 60.8)]
    a_to_b = np.array([0, 1, 2, 3])
    b_to_a = np.array([0, 1, 2, 3])
    assert trim_edges(a_to_b, b_to_a, 0, 4, toks, 8.0) == 1
    assert a_to_b.tolist() == [-1, 1, 2, 3] and b_to_a.tolist() == [-1, 1, 2, 3]


def test_onset_and_cue_bounds_and_speaker_confidence_filter():
    res = align(SCRIPT, SUBS)
    answer = next(e for e in res.elements if e["script_line"] == 27)  # second speaker of dash cue 4
    assert answer["cue_start"] == 18.2 and answer["start"] > answer["cue_start"] + 0.3
    strict = align(SCRIPT, SUBS, min_speaker_confidence=0.99)
    assert all(t["confidence"] >= 0.99 for c in strict.cues for t in c["turns"] if t["speaker"])
    with pytest.raises(BadInput, match="min_speaker_confidence must be between 0 and 1"):
        align(SCRIPT, SUBS, min_speaker_confidence=2.0)


def test_labels_return_a_new_result_and_leave_the_first_unchanged():
    pytest.importorskip("spacy")
    from wsl.alignment.weak_labels import with_labels
    from wsl.text.nlp import available_model

    if available_model() is None:
        pytest.skip("no spaCy English model")
    res = align(SCRIPT, SUBS)
    labelled = with_labels(res)
    assert "labels" not in res.elements[0] and "labels" in labelled.elements[0] and res.bags is None


# --------------------------------------------------------------------------------------------- CLI

def test_cli_output_onto_an_input_is_refused_and_the_input_kept(run_cli, tmp_path):
    script = tmp_path / "s.txt"
    shutil.copy(SCRIPT, script)
    before = script.read_bytes()
    code, _, err = run_cli("align", script, SUBS, "-o", script)
    assert code == 2 and script.read_bytes() == before and len(err.strip().splitlines()) == 1


def test_cli_output_format_from_extension_or_refused(run_cli, tmp_path):
    code, _, err = run_cli("align", SCRIPT, SUBS, "-o", tmp_path / "x.txt")
    assert code == 2 and "extension .txt" in err and "--format" in err and not (tmp_path / "x.txt").exists()
    code, _, err = run_cli("-q", "align", SCRIPT, SUBS, "-o", tmp_path / "x.ass")
    assert code == 0, err
    ass = (tmp_path / "x.ass").read_text()
    assert "[Events]" in ass and "TOBIAS: You said the lamp was fixed last winter." in ass
    code, _, _ = run_cli("-q", "align", SCRIPT, SUBS, "-o", tmp_path / "x.srt")
    srt = (tmp_path / "x.srt").read_text()
    broken = next(b for b in parse_srt(SUBS.read_text()).broken)
    assert broken.lines[0] in srt  # the cue skipped as broken is written back with its text


def test_cli_draft_refusal_names_the_flag(run_cli, tmp_path):
    said, written = _sentences(100, 1), _sentences(100, 2)
    keep = {10, 30, 50, 70, 90}
    (tmp_path / "d.txt").write_text(_script(*((f"P{k % 3}", said[k] if k in keep else written[k])
                                              for k in range(100))))
    (tmp_path / "d.srt").write_text("".join(
        f"{k + 1}\n00:{k // 20:02d}:{3 * (k % 20):02d},000 --> 00:{k // 20:02d}:{3 * (k % 20) + 2:02d},000\n"
        f"{said[k]}\n\n" for k in range(100)))
    code, _, err = run_cli("align", tmp_path / "d.txt", tmp_path / "d.srt")
    assert code == 2 and "early draft" in err and "run with --draft" in err
    code, out, _ = run_cli("-q", "align", tmp_path / "d.txt", tmp_path / "d.srt", "--draft")
    assert code == 0 and json.loads(out)["summary"]["dialogue_aligned"] == 5


def test_cli_batch_goes_on_after_a_bad_film_and_shards(run_cli, tmp_path):
    films = tmp_path / "films"
    films.mkdir()
    for name in ("a", "b", "c"):
        shutil.copy(SCRIPT, films / f"{name}.txt")
        shutil.copy(SUBS, films / f"{name}.srt")
    (films / "b.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHi\n\n③\n00:00:03,000 --> 00:00:04,000\nYo\n")
    out = tmp_path / "out"
    code, _, err = run_cli("-q", "align", "--batch", films, "-o", out)
    assert code == 1 and "1 of 3 films failed (b)" in err
    assert (out / "a.aligned.json").exists() and (out / "c.aligned.json").exists()
    rows = (out / "summary.tsv").read_text().splitlines()
    assert any(r.startswith("b\tbad input") and "③" in r for r in rows)
    shard_out = tmp_path / "shard"
    code, _, err = run_cli("-q", "align", "--batch", films, "-o", shard_out, "--shard", "1/2")
    assert code == 0, err  # shard 1 of 2 is films a and c (every second of the sorted pairs)
    assert sorted(p.name for p in shard_out.glob("*.json")) == ["a.aligned.json", "c.aligned.json"]


def test_cli_help_shows_every_alignment_option(run_cli):
    code, text, _ = run_cli("align", "--help")
    for flag in ("--draft", "--min-confidence", "--min-speaker-confidence", "--batch", "--shard", "--format",
                 "--export", "--labels", "--actions", "--script-format", "--no-reorder", "--jobs"):
        assert flag in text
