"""Short lines placed by the script's turn order (wsl.alignment.gaps): the subtitles condensed them to
one word or to punctuation, so the word alignment alone abstained on them (TBBT: 35 of the 60 misses)."""

from __future__ import annotations

import random

import numpy as np

from wsl.alignment import align
from wsl.text.screenplay import parse_text
from wsl.text.subtitles import parse_srt

CUE, SPEECH = " " * 37, " " * 25


def _script(*blocks: tuple[str, str]) -> str:
    out = ["               INT. OFFICE - DAY", ""]
    for who, text in blocks:
        out += [CUE + who, SPEECH + text, ""]
    return "\n".join(out) + "\n"


def _srt(texts: list[str]) -> str:
    return "".join(f"{k + 1}\n00:00:{3 * k:02d},000 --> 00:00:{3 * k + 2:02d},000\n{t}\n\n"
                   for k, t in enumerate(texts))


def _long(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    vocab = [f"w{k}{chr(97 + k % 26)}" for k in range(300)]
    return [" ".join(rng.choice(vocab) for _ in range(9)) + "." for _ in range(n)]


def test_a_line_condensed_to_punctuation_is_placed_on_its_turn_with_its_speaker():
    said = _long(6, 3)
    script = _script(("ANNA", said[0]), ("BEN", said[1]), ("ANNA", "Oh, hi Ben."), ("BEN", said[2]),
                     ("ANNA", said[3]), ("BEN", "Oh, right, right right right right."), ("ANNA", said[4]))
    # The subtitles dropped "Oh, hi Ben." down to its comma and kept two of BEN's five "right"s.
    subs = _srt([said[0], said[1], ",", said[2], said[3], "right, right.", said[4]])
    res = align(parse_text(script), parse_srt(subs))
    hi = next(e for e in res.dialogue if e["text"] == "Oh, hi Ben.")
    right = next(e for e in res.dialogue if e["text"].startswith("Oh, right"))
    assert hi["aligned"] and hi["by_order"] and hi["start"] == 6.0 and hi["cues"] == [3]
    assert right["aligned"] and right["by_order"] and 14.0 < right["start"] < 17.0 and right["cues"] == [6]
    by_index = {c["index"]: c for c in res.cues}
    assert by_index[3]["speakers"] == ["ANNA"] and by_index[3]["turns"][0]["evidence"] == "order"
    assert by_index[6]["speakers"] == ["BEN"]
    assert res.summary["words"]["placed_by_order"] == 2
    off = align(parse_text(script), parse_srt(subs), gap_fill=False)
    assert not next(e for e in off.dialogue if e["text"] == "Oh, hi Ben.")["aligned"]


def test_a_long_line_cut_from_the_film_is_not_placed_on_a_stray_turn():
    said = _long(4, 5)
    script = _script(("ANNA", said[0]), ("BEN", "I was never going to say any of this out loud, you know."),
                     ("ANNA", said[1]), ("BEN", "Ben, listen to me."), ("ANNA", said[2]))
    # A wordless cue after the cut line, and a one-word remnant "Ben." of a four-word line: neither
    # is evidence for a long line (more than four of its words would be unheard).
    subs = _srt([said[0], ".", said[1], "Ben.", said[2]])
    res = align(parse_text(script), parse_srt(subs))
    cut = next(e for e in res.dialogue if e["text"].startswith("I was never"))
    assert not cut["aligned"]
    short = next(e for e in res.dialogue if e["text"] == "Ben, listen to me.")
    assert short["aligned"] and short["start"] == 9.0  # three unheard words: placed


def test_neighbours_out_of_order_give_no_place():
    said = _long(4, 7)
    # The middle block's neighbours are met in the subtitles in the other order: nothing to go by.
    script = _script(("ANNA", said[0]), ("BEN", "Oh, hi."), ("ANNA", said[1]))
    subs = _srt([said[1], ",", said[0]])
    res = align(parse_text(script), parse_srt(subs), reorder=False)
    assert not next(e for e in res.dialogue if e["text"] == "Oh, hi.")["aligned"]


def test_a_line_missing_from_the_script_goes_to_another_party_not_to_whom_it_names():
    said = _long(9, 11)
    who = ["CARL", "DORA", "CARL", "ANNA", "CARL", "ANNA", "BEN", "CARL", "DORA"]
    script = _script(*zip(who, said, strict=True))
    # "Carl, look at this." is in the film between ANNA and BEN, not in the script. Its speaker is
    # neither neighbour, and not CARL, whom it addresses (before: CARL, the most frequent nearby).
    subs = _srt(said[:6] + ["Carl, look at this."] + said[6:])
    res = align(parse_text(script), parse_srt(subs))
    turn = next(c for c in res.cues if c["text"] == "Carl, look at this.")["turns"][0]
    assert turn["speaker"] == "DORA" and turn["evidence"] == "guess"


def test_a_wordless_fragment_between_two_turns_of_one_speaker_is_theirs_with_more_confidence():
    said = _long(5, 13)
    script = _script(("ANNA", said[0]), ("BEN", said[1]), ("BEN", said[2]), ("ANNA", said[3]), ("BEN", said[4]))
    subs = _srt([said[0], said[1], "...", said[2], said[3], "!", said[4]])
    res = align(parse_text(script), parse_srt(subs))
    turns = {c["index"]: c["turns"][0] for c in res.cues}
    assert turns[3]["speaker"] == "BEN" and turns[3]["evidence"] == "continued"
    assert turns[6]["speaker"] == "ANNA" and turns[6]["confidence"] < turns[3]["confidence"]


def test_first_words_kept_as_punctuation_in_a_cue_of_their_own_start_the_block():
    said = _long(4, 17)
    script = _script(("ANNA", said[0]), ("BEN", said[1]), ("ANNA", "Oh. Okay, but before you go, one more thing here."),
                     ("BEN", said[2]))
    subs = _srt([said[0], said[1], ".", "Okay, but before you go, one more thing here.", said[2]])
    res = align(parse_text(script), parse_srt(subs))
    block = next(e for e in res.dialogue if e["text"].startswith("Oh."))
    assert block["start"] == 6.0 and block["cue_start"] == 6.0 and block["cues"] == [3, 4]
    dot = next(c for c in res.cues if c["index"] == 3)
    assert dot["speakers"] == ["ANNA"] and dot["turns"][0]["evidence"] == "order"


def test_a_pair_of_stray_edge_matches_is_trimmed_but_a_spoken_run_after_a_pause_is_kept():
    from wsl.alignment.spans import SubToken, trim_edges

    # Words 0-1 matched "a ... to" 26 s before the rest (The Assignment, a moved speech): both go.
    toks = [SubToken("a", 0, 0, 1.0, 1.2), SubToken("to", 1, 0, 2.0, 2.2)]
    toks += [SubToken(f"w{k}", 5, 0, 30.0 + 0.3 * k, 30.2 + 0.3 * k) for k in range(10)]
    a_to_b = np.arange(12)
    b_to_a = np.arange(12)
    assert trim_edges(a_to_b, b_to_a, 0, 12, toks, 8.0) == 2
    assert a_to_b[:2].tolist() == [-1, -1] and b_to_a[:2].tolist() == [-1, -1]
    # Three consecutive words after a 10 s pause are speech, not strays: kept.
    toks = [SubToken(f"w{k}", 0, 0, 0.3 * k, 0.3 * k + 0.2) for k in range(9)]
    toks += [SubToken(f"v{k}", 3, 0, 13.0 + 0.3 * k, 13.2 + 0.3 * k) for k in range(3)]
    a_to_b = np.arange(12)
    b_to_a = np.arange(12)
    assert trim_edges(a_to_b, b_to_a, 0, 12, toks, 8.0) == 0


def test_a_negated_or_hypothetical_action_is_flagged_and_matches_no_rule():
    import pytest

    from wsl.alignment.weak_labels import ActionRule, _CastIndex, extract_triples
    from wsl.text.nlp import available_model, load_english

    if available_model() is None:
        pytest.skip("spaCy's English model is not installed")

    nlp = load_english()
    rule = ActionRule("GetOut", frozenset({"get out"}))
    cast = _CastIndex(["TOBIAS", "MAREN"])
    said = [extract_triples(nlp(t), cast, [None])[0] for t in (
        "Tobias gets out of the lamp room.", "Tobias does not get out of the lamp room.",
        "Maren could get out of the car.")]
    assert [rule.matches(t) for t in said] == [True, False, False]
    assert said[1].to_dict()["negated"] and said[2].to_dict()["hypothetical"]
