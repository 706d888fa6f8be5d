"""OrderingLabeler against the uniform baseline and the supervised bound; the CLI's files and errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from wsl.actions import OrderingLabeler, supervised_bound, uniform_labels
from wsl.data.framelabels import write_frame_labels
from wsl.data.segments import frames_to_segments, transcript_of
from wsl.data.synth import features_from_labels, random_action_frames, uniform_frames
from wsl.eval.actions import frame_accuracy, mean_iou
from wsl.features.files import write_features


@pytest.fixture(scope="module")
def dense():
    frames = random_action_frames(30, 3, 4, 12, background=0.0, seed=0)
    X = features_from_labels(frames, dim=16, noise=2.0, seed=0)
    tr = {v: transcript_of(f) for v, f in frames.items()}
    return frames, X, tr


def test_no_collapse_when_background_is_rare(dense) -> None:
    frames, X, tr = dense
    uniform = frame_accuracy({v: uniform_frames(tr[v], len(frames[v])) for v in frames}, frames)
    bound = frame_accuracy(supervised_bound(X, frames, tr), frames)
    ours = OrderingLabeler(seed=0).fit(X, tr)
    acc = frame_accuracy(ours.labels_, frames)
    assert acc >= uniform + 0.15, (acc, uniform)
    assert acc >= bound - 0.08, (acc, bound)
    # every video keeps its transcript, in order
    for v, labs in ours.labels_.items():
        assert transcript_of(labs) == transcript_of(frames[v])


def test_convex_stage_alone_is_feasible_and_reported(dense) -> None:
    frames, X, tr = dense
    m = OrderingLabeler(refine=0, max_iter=20).fit(X, tr)
    assert m.init_ == "convex" and m.fw_.nit <= 20 and m.rounding_["winner"] in ("nearest", "classifier")
    for v, labs in m.labels_.items():
        assert transcript_of(labs) == transcript_of(frames[v])
        assert m.relaxed_[v].shape == (len(frames[v]), len(m.classes_))
        assert np.allclose(m.relaxed_[v].sum(axis=1), 1.0)


def test_background_share_learns_background() -> None:
    frames = random_action_frames(24, 2, 3, 10, background=0.4, seed=1)
    X = features_from_labels(frames, dim=16, noise=1.5, seed=1)
    tr = {v: transcript_of(f) for v, f in frames.items()}
    plain = frame_accuracy(OrderingLabeler(background_share=0.0).fit(X, tr).labels_, frames)
    with_bg = frame_accuracy(OrderingLabeler(background_share=0.4).fit(X, tr).labels_, frames)
    assert with_bg > plain + 0.1, (with_bg, plain)


def test_listed_background_switches_implicit_gaps_off(dense) -> None:
    frames, X, tr = dense
    assert OrderingLabeler(refine=0, max_iter=1).fit(X, tr).gaps_ is True
    listed = {v: ["SIL", *t] for v, t in tr.items()}
    m = OrderingLabeler(background="SIL", refine=1, anneal=0, max_iter=0).fit(X, listed)
    assert m.gaps_ is False
    assert all(labs[0] == "SIL" for labs in m.labels_.values())


def test_long_videos_are_pooled_then_refined(dense) -> None:
    frames, X, tr = dense
    m = OrderingLabeler(max_frames=8).fit(X, tr)
    assert max(m.strides_.values()) > 1
    assert all(len(m.labels_[v]) == len(frames[v]) for v in frames)
    assert frame_accuracy(m.labels_, frames) > 0.8


def test_uniform_labels_and_segments() -> None:
    assert uniform_labels(6, [1, 2, 3]).tolist() == [1, 1, 2, 2, 3, 3]
    lab = uniform_labels(12, [1, 2], background_share=0.5)
    assert set(lab.tolist()) == {0, 1, 2} and lab[0] == 0
    segs = frames_to_segments(["background", "a", "a", "b", "background"])
    assert segs == [{"label": "a", "start": 1, "end": 3}, {"label": "b", "start": 3, "end": 4}]
    assert mean_iou({"v": ["a", "a", "b"]}, {"v": ["a", "b", "b"]}) == pytest.approx((0.5 + 0.5) / 2)


def _write_task(tmp: Path, frames, X, rename_bg: str | None = None) -> tuple[Path, Path, Path]:
    feats, gt = tmp / "feats", tmp / "gt"
    gt.mkdir()
    for v, x in X.items():
        write_features(feats, v, x)
        labs = [rename_bg if (rename_bg and f == "background") else f for f in frames[v]]
        write_frame_labels(gt / f"{v}.txt", labs)
    tr = tmp / "t.json"
    tr.write_text(json.dumps({v: transcript_of(f) for v, f in frames.items()}))
    return feats, tr, gt


def test_cli_writes_labels_and_evaluates(tmp_path: Path, run_cli, dense) -> None:
    frames, X, _ = dense
    feats, tr, gt = _write_task(tmp_path, frames, X)
    out = tmp_path / "out.json"
    code, stdout, stderr = run_cli("label-actions", feats, "--transcripts", tr, "-o", out, "--eval", gt, "--seed", "1")
    assert code == 0, stderr
    res = json.loads(out.read_text())
    assert set(res["videos"]) == set(frames)
    v = sorted(frames)[0]
    assert len(res["videos"][v]["frames"]) == len(frames[v])
    assert [s["label"] for s in res["videos"][v]["segments"]] == transcript_of(frames[v])
    metrics = json.loads(stdout.strip().splitlines()[-1])
    assert metrics["frame_accuracy"] == pytest.approx(frame_accuracy({v: d["frames"] for v, d in res["videos"].items()},
                                                                     frames))
    assert metrics["frame_accuracy"] > 0.8 and 0 < metrics["mean_iou"] <= 1


def test_cli_convex_stage_alone_writes_labels(tmp_path: Path, run_cli, dense) -> None:
    """--refine 0 (the convex relaxation, rounded) once crashed with an internal error at the summary."""
    frames, X, _ = dense
    feats, tr, _ = _write_task(tmp_path, frames, X)
    out = tmp_path / "out.json"
    code, _, stderr = run_cli("label-actions", feats, "-t", tr, "-o", out, "--refine", "0", "--max-iter", "20")
    assert code == 0, stderr
    res = json.loads(out.read_text())
    assert set(res["videos"]) == set(frames)
    assert all([s["label"] for s in d["segments"]] == transcript_of(frames[v]) for v, d in res["videos"].items())


def test_cli_background_name_in_ground_truth(tmp_path: Path, run_cli) -> None:
    frames = random_action_frames(12, 2, 3, 8, background=0.3, seed=2)
    X = features_from_labels(frames, dim=8, noise=1.0, seed=2)
    feats, tr, gt = _write_task(tmp_path, frames, X, rename_bg="SIL")
    out = tmp_path / "o.json"
    code, stdout, stderr = run_cli("label-actions", feats, "-t", tr, "-o", out, "--eval", gt, "--background", "SIL",
                                   "--background-share", "0.3")
    assert code == 0, stderr
    res = json.loads(out.read_text())
    assert "background" in {f for d in res["videos"].values() for f in d["frames"]}
    assert json.loads(stdout.strip().splitlines()[-1])["frame_accuracy"] > 0.7


def test_cli_bad_inputs(tmp_path: Path, run_cli) -> None:
    frames = {"a": ["x"] * 3, "b": ["y"] * 5 + ["z"] * 4}
    X = features_from_labels(frames, dim=4, seed=0)
    feats, tr, _ = _write_task(tmp_path, frames, X)
    too_long = tmp_path / "long.json"
    too_long.write_text(json.dumps({"a": ["x", "y", "z", "x"], "b": ["y", "z"]}))
    code, _, err = run_cli("label-actions", feats, "-t", too_long, "-o", tmp_path / "o.json")
    assert code == 2 and "video a" in err and "3 frames" in err and "higher fps" in err  # says what to do
    assert not (tmp_path / "o.json").exists()
    broken = tmp_path / "broken.json"
    broken.write_text('{"a": ["x"],\n "b": [}')
    code, _, err = run_cli("label-actions", feats, "-t", broken, "-o", tmp_path / "o.json")
    assert code == 2 and "broken.json:2:" in err
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"a": "x y"}))
    code, _, err = run_cli("label-actions", feats, "-t", wrong, "-o", tmp_path / "o.json")
    assert code == 2 and "video a" in err
    code, _, err = run_cli("label-actions", tmp_path / "nowhere", "-t", tr, "-o", tmp_path / "o.json")
    assert code == 2 and "nowhere" in err
