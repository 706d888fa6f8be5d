"""`wsl discover-steps` end to end on a generated task folder, real captions, and bad inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from wsl.data.segments import ActionVideo, Segment
from wsl.data.synth import features_from_labels
from wsl.data.synth_narration import narrate
from wsl.text.subtitles import format_srt

pytest.importorskip("spacy")

SAY = {"A": "Now loosen the lug nuts.", "B": "Jack up the car with the jack.", "C": "Remove the wheel.",
       "D": "Put on the spare tire.", "E": "Tighten the lug nuts again."}
STEPS = ["loosen nut", "jack up car", "remove wheel", "put on tire", "tighten nut"]


@pytest.fixture(autouse=True)
def _model() -> None:
    from wsl.text.nlp import available_model

    if available_model() is None:
        pytest.skip("no spaCy English model")


def _task(folder: Path, n: int = 10, seed: int = 0) -> dict[str, ActionVideo]:
    """Videos of the five tyre steps: features (2 fps) + index.json + .srt narrations with chatter."""
    rng = np.random.default_rng(seed)
    videos = {}
    for i in range(n):
        t, segs = rng.uniform(3, 10), []
        for lab in "ABCDE":
            d = rng.uniform(4, 10)
            segs.append(Segment(lab, t, t + d))
            t += d + rng.uniform(5, 20)
        videos[f"v{i:02d}"] = ActionVideo(f"v{i:02d}", round(t + 5, 1), tuple(segs))
    feats = features_from_labels({k: v.frames(2.0) for k, v in videos.items()}, dim=16, noise=1.0, rho=0.5, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    index: dict[str, dict] = {"_defaults": {"fps": 2.0}}
    for vid, v in videos.items():
        np.save(folder / f"{vid}.npy", feats[vid])
        index[vid] = {"duration": v.duration}
        cues = [(0.5, 2.5, "Hi guys, welcome back to my channel.")]
        for lab, span in zip("ABCDE", narrate(v, list("ABCDE"), rng, p_narrate=0.8, p_false=0.0), strict=True):
            if span is not None:
                cues.append((span[0], span[1], SAY[lab]))
        cues.sort()
        (folder / f"{vid}.srt").write_text(format_srt(cues), encoding="utf-8")
    (folder / "index.json").write_text(json.dumps(index), encoding="utf-8")
    return videos


def _gold_srt(folder: Path, videos: dict[str, ActionVideo]) -> None:
    folder.mkdir()
    for vid, v in videos.items():
        (folder / f"{vid}.srt").write_text(format_srt([(s.start, s.end, s.label) for s in v.segments]),
                                           encoding="utf-8")


def test_discovers_the_steps_and_localises_them(tmp_path: Path, run_cli) -> None:
    videos = _task(tmp_path / "task")
    _gold_srt(tmp_path / "gt", videos)
    out = tmp_path / "steps.json"
    code, stdout, err = run_cli("discover-steps", tmp_path / "task", "-o", out, "--eval", tmp_path / "gt",
                                "--plot", tmp_path / "plots")
    assert code == 0, err
    res = json.loads(out.read_text())
    assert res["format"] == "wsl.steps/1" and res["k_from"] == "support curve"
    assert [s["key"] for s in res["steps"]] == STEPS
    assert res["steps"][0]["label"] == "loosen lug nut"
    v = res["videos"]["v00"]
    assert len(v["steps"]) == 5 and v["features"].endswith("v00.npy") and v["fps"] == 2.0
    assert all(s["source"] in ("video", None) for s in v["steps"])
    times = [s["time"] for s in v["steps"] if s["time"] is not None]
    assert times == sorted(times)
    assert res["eval"]["f1"] > 0.6, res["eval"]
    assert res["eval"]["matching"] == {str(k): lab for k, lab in enumerate("ABCDE")}
    assert "loosen lug nut" in err  # the table
    pngs = sorted(p.name for p in (tmp_path / "plots").glob("*.png"))
    assert len(pngs) == 10 and (tmp_path / "plots" / "v00.png").read_bytes()[:4] == b"\x89PNG"


def test_text_only_and_fixed_k(tmp_path: Path, run_cli) -> None:
    _task(tmp_path / "task", n=6, seed=1)
    code, stdout, err = run_cli("--quiet", "discover-steps", tmp_path / "task", "--text-only", "--steps", "3")
    assert code == 0, err
    res = json.loads(stdout)
    assert res["k"] == 3 and res["k_from"] == "n_steps" and res["text_only"]
    assert "solver" not in res
    for v in res["videos"].values():
        for s in v["steps"]:
            if s["narrated"] is not None:  # text-only: the time is the narration's
                assert s["source"] == "text" and s["narrated"]["start"] <= s["time"] <= s["narrated"]["end"]


def test_narration_without_relations_warns_and_continues(tmp_path: Path, run_cli) -> None:
    _task(tmp_path / "task", n=6, seed=2)
    (tmp_path / "task" / "v00.srt").write_text(format_srt([(1.0, 3.0, "Hello and welcome!"), (4.0, 6.0, "Wow.")]),
                                               encoding="utf-8")
    code, stdout, err = run_cli("discover-steps", tmp_path / "task", "-o", tmp_path / "o.json")
    assert code == 0, err
    assert "v00.srt: no verb-object relation found" in err
    res = json.loads((tmp_path / "o.json").read_text())
    assert res["videos"]["v00"]["relations"] == 0
    assert all(s["narrated"] is None for s in res["videos"]["v00"]["steps"])


def test_feature_length_disagreeing_with_duration_is_an_error(tmp_path: Path, run_cli) -> None:
    _task(tmp_path / "task", n=4, seed=3)
    X = np.load(tmp_path / "task" / "v01.npy")
    np.save(tmp_path / "task" / "v01.npy", X[: len(X) // 2])  # truncated extraction
    code, stdout, err = run_cli("discover-steps", tmp_path / "task")
    assert code == 2
    assert err.startswith("error: ") and "v01.npy" in err and "wrong fps or a truncated file" in err


def test_features_shorter_than_the_narration_is_an_error(tmp_path: Path, run_cli) -> None:
    _task(tmp_path / "task", n=4, seed=4)
    (tmp_path / "task" / "index.json").unlink()  # no durations: checked against the narration instead
    code, stdout, err = run_cli("discover-steps", tmp_path / "task", "--fps", "8")  # wrong fps: 4x too short
    assert code == 2 and "v00.npy" in err and "narration" in err


def test_fewer_than_two_videos_is_an_error(tmp_path: Path, run_cli) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "a.srt").write_text(format_srt([(1.0, 3.0, "Cut the onion.")]), encoding="utf-8")
    code, _, err = run_cli("discover-steps", tmp_path / "one")
    assert code == 2 and "at least two videos" in err
    code, _, err = run_cli("discover-steps", tmp_path / "missing")
    assert code == 2 and "missing" in err
    # one video to extract: the count is checked before any decoding (this file would not decode)
    (tmp_path / "one" / "a.mp4").write_bytes(b"not a video")
    code, _, err = run_cli("discover-steps", tmp_path / "one", "-o", tmp_path / "s.json")
    assert code == 2 and "at least two videos of the task, found 1" in err


def test_missing_fps_is_an_error(tmp_path: Path, run_cli) -> None:
    _task(tmp_path / "task", n=3, seed=5)
    (tmp_path / "task" / "index.json").unlink()
    code, _, err = run_cli("discover-steps", tmp_path / "task")
    assert code == 2 and "--fps" in err


def test_real_howto100m_captions(shared_data: Path, tmp_path: Path, run_cli) -> None:
    """Rolling ASR captions (stop words stripped) of two real cooking videos: relations come out with times."""
    from wsl.data.narration import read_narration
    from wsl.text.relations import extract_relations

    caps = shared_data / "howto100m-captions" / "small_train_captions"
    nars = [read_narration(caps / f"{v}.csv") for v in ("H5iFIA4eiVA", "8Mxsx57aNq8")]
    rels = extract_relations(nars)
    keys = [r.key for r in rels[0]]
    assert "add milk" in keys and "add butter" in keys
    assert all(a.start <= b.start for a, b in zip(rels[0], rels[0][1:], strict=False))
    # each spoken phrase once, though the rolling captions repeat it in two cues
    assert keys.count("add butter") == 1


def test_demo_data_from_coin_writes_templated_narration_with_negations(tmp_path: Path, shared_data: Path,
                                                                      run_cli: Any) -> None:
    coin = shared_data / "coin" / "coin_test_30.json"
    code, _, err = run_cli("demo-data", "steps", tmp_path / "chair", "--coin", coin, "--task", "AssembleOfficeChair")
    assert code == 0, err
    texts = " ".join(p.read_text() for p in (tmp_path / "chair").glob("*.srt"))
    assert "but I don't" in texts or "could also" in texts or "don't need to" in texts
    assert len(list((tmp_path / "chair" / "truth").glob("*.srt"))) == len(list((tmp_path / "chair").glob("*.npy")))
    code, _, err = run_cli("demo-data", "steps", tmp_path / "x", "--coin", coin, "--task", "Nope")
    assert code == 2 and "AssembleOfficeChair" in err  # names the tasks it could have been
