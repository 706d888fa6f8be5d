"""HowTo100M caption CSVs (the narration reader's CSV path), MIL-NCE's vocabulary, clip/candidate sampling
and the narrated-set generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wsl.data.howto100m import Caption, read_caption_dir, read_captions, skipped_summary
from wsl.data.synth_narrated_set import NarratedSetParams, make_narrated_set
from wsl.errors import BadInput
from wsl.milnce.data import candidate_indices, clip_windows, read_sentence_pairs, sample_clip
from wsl.milnce.text import Vocabulary, tokenize


def test_bad_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    p = tmp_path / "vid.csv"
    p.write_text("start,end,text\n"
                 "0.5,2.0,crack the egg\n"
                 "abc,3.0,not a time\n"
                 "4.0,3.0,ends before start\n"
                 "5.0,6.0,\n"
                 "-1,2,negative\n"
                 "7.0\n"
                 "\n"
                 '8.0,9.5,"whisk, then pour"\n'
                 "nan,10,nan start\n")
    f = read_captions(p)
    assert [c.text for c in f.captions] == ["crack the egg", "whisk, then pour"]
    assert [c.line for c in f.captions] == [2, 9]
    assert [line for line, _ in f.skipped] == [3, 4, 5, 6, 7, 10]
    summary = skipped_summary({"vid": f})
    assert summary is not None and "skipped 6 bad caption row(s), kept 2" in summary and "vid.csv:3:" in summary


def test_header_in_any_order_with_bom_crlf_and_cp1252(tmp_path: Path) -> None:
    p = tmp_path / "v.csv"
    p.write_bytes("text,end,start\r\ncaf\xe9 cr\xe8me,2,1\r\n".encode("cp1252"))
    f = read_captions(p)
    assert f.captions == [Caption(1.0, 2.0, "café crème", 2)]
    assert f.encoding == "cp1252"
    p.write_bytes("\ufeffstart,end,text\n1,2,caf\xe9\n".encode("utf-8"))
    assert read_captions(p).captions == [Caption(1.0, 2.0, "café", 2)]


def test_missing_columns_and_empty_file_are_bad_input(tmp_path: Path) -> None:
    p = tmp_path / "v.csv"
    p.write_text("begin,finish,words\n1,2,x\n")
    with pytest.raises(BadInput, match="missing start, end, text") as e:
        read_captions(p)
    assert e.value.line == 1
    p.write_text("")
    with pytest.raises(BadInput, match="empty caption file"):
        read_captions(p)
    (tmp_path / "sub").mkdir()
    with pytest.raises(BadInput, match="no caption .csv"):
        read_caption_dir(tmp_path / "sub")


def test_vocabulary_counts_and_empty_vocabulary() -> None:
    v = Vocabulary.build(["Crack the egg", "crack it, don't stop", "the egg"], min_count=2)
    assert v.words == ["<pad>", "crack", "egg", "the"]
    assert v.encode("THE zebra egg egg", max_words=3) == [3, 2, 2]
    assert v.unknown("the zebra") == ["zebra"]
    assert tokenize("Don't STOP 42!") == ["don't", "stop", "42"]
    with pytest.raises(BadInput, match="vocabulary is empty"):
        Vocabulary.build(["a b c"], min_count=2)
    with pytest.raises(BadInput, match="vocabulary is empty"):
        Vocabulary.build(["", "!!! ..."])


def test_sampling_picks_the_nearest_captions_inside_the_video() -> None:
    caps = [Caption(float(s), float(s) + 2, f"c{s}", i + 2) for i, s in enumerate(range(0, 40, 4))]
    assert candidate_indices(caps, 13.0, 3) == [2, 3, 4]  # middles 9, 13, 17
    rng = np.random.default_rng(0)
    for _ in range(50):
        start, end, cands = sample_clip(caps, 38.0, 3.2, 4, rng)
        assert start >= 0 and end <= 38.0 + 1e-9 and end - start == pytest.approx(3.2)
        mids = np.array([c.middle for c in caps])
        dist = np.abs(mids - (start + end) / 2)
        assert len(cands) == 4 and max(dist[cands]) <= np.sort(dist)[3] + 1e-9
    # a bag larger than the video's captions takes them all
    assert len(sample_clip(caps[:2], 10.0, 3.2, 4, rng)[2]) == 2


def test_clip_windows_cover_the_video() -> None:
    w = clip_windows(10.0, 4.0, 2.0)
    assert w[0] == (0.0, 4.0) and w[-1] == (6.0, 10.0) and len(w) == 4
    assert clip_windows(11.0, 4.0, 3.0)[-1] == (7.0, 11.0)
    assert clip_windows(2.0, 4.0, 2.0) == [(0.0, 4.0)]
    with pytest.raises(BadInput):
        clip_windows(10.0, 4.0, 0.0)


def test_sentence_pairs(tmp_path: Path) -> None:
    p = tmp_path / "pairs.csv"
    p.write_text("end,start,task,text,video_id\n60,47,226,pick the ends,xHr\n5,1,1,,xHr\n9,3,1,mix,\n")
    pairs, skipped = read_sentence_pairs(p)
    assert [(q.video, q.start, q.end, q.text) for q in pairs] == [("xHr", 47.0, 60.0, "pick the ends")]
    assert [line for line, _ in skipped] == [3, 4]


def test_generator_is_deterministic_and_writes_the_layout(tmp_path: Path) -> None:
    p = NarratedSetParams(train_videos=4, test_videos=2, seed=3)
    a = make_narrated_set(tmp_path / "a", p)
    b = make_narrated_set(tmp_path / "b", p)
    assert a == b
    for split, n in (("train", 4), ("test", 2)):
        assert len(list((tmp_path / "a" / split / "captions").glob("*.csv"))) == n
        assert len(list((tmp_path / "a" / split / "features").glob("*.npy"))) == n
    assert (tmp_path / "a" / "train" / "captions" / "train0000.csv").read_bytes() == \
        (tmp_path / "b" / "train" / "captions" / "train0000.csv").read_bytes()
    files = read_caption_dir(tmp_path / "a" / "train" / "captions")
    assert all(f.captions and not f.skipped for f in files.values())
    assert 0.15 < a["unrelated"] / a["captions"] < 0.45  # about the requested share of 0.3


def test_real_howto100m_captions(shared_data: Path) -> None:
    files = read_caption_dir(shared_data / "howto100m-captions" / "small_train_captions")
    assert len(files) == 100
    assert sum(len(f.captions) for f in files.values()) > 5000
    assert all(f.captions == sorted(f.captions, key=lambda c: (c.start, c.end)) for f in files.values())
    vocab = Vocabulary.build(c.text for f in files.values() for c in f.captions)
    assert vocab.encode("add the onion", 16)
    pairs, skipped = read_sentence_pairs(shared_data / "howto100m-captions" / "validation_youcook.csv")
    assert len(pairs) > 3000 and not skipped
