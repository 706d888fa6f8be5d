"""The classic descriptor and `wsl features extract` end to end on videos the tests write."""

from __future__ import annotations

import json

import numpy as np
import pytest

from wsl.features import classic
from wsl.features.files import read_features
from wsl.features.video import write_video


def _moving_square(direction: int, n: int = 12, size: int = 96) -> np.ndarray:
    """A textured square crossing the frame to the right (+1) or left (-1) on a grey background."""
    rng = np.random.default_rng(1)
    texture = rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)
    frames = np.full((n, size, size, 3), 100, np.uint8)
    xs = np.linspace(4, size - 28, n).round().astype(int)
    for i, x in enumerate(xs if direction > 0 else xs[::-1]):
        frames[i, 36:60, x:x + 24] = texture
    return frames


def test_hof_sees_direction_of_motion() -> None:
    right, left = _moving_square(+1), _moving_square(-1)

    def flow_hist(frames):
        g0, g1 = classic.to_gray(frames[5]), classic.to_gray(frames[6])
        return classic.hof(g0, g1).reshape(classic.HOF_GRID ** 2, classic.HOF_BINS).sum(axis=0)
    hr, hl = flow_hist(right), flow_hist(left)
    moving = classic.HOF_BINS - 1
    # Bin 0 covers angles near 0 (rightwards), bin 4 near pi (leftwards).
    assert hr[0] > 3 * hr[4] and hl[4] > 3 * hl[0]
    assert hr[:moving].sum() > 0 and classic.hof(None, classic.to_gray(right[0]))[:moving].sum() == 0


def test_descriptor_layout_and_appearance() -> None:
    red = np.zeros((64, 64, 3), np.uint8)
    red[..., 0] = 200
    blue = red[..., ::-1].copy()
    a, b = classic.describe(red, None), classic.describe(blue, None)
    assert a.shape == b.shape == (classic.DIM,) and a.dtype == np.float32
    h = classic.BLOCKS["hog"]
    assert not np.allclose(a[h:h + classic.BLOCKS["color"]], b[h:h + classic.BLOCKS["color"]])
    np.testing.assert_allclose(a, classic.describe(red, None))  # deterministic


@pytest.fixture
def videos(tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    write_video(folder / "right.mp4", _moving_square(+1, n=30), fps=10)
    write_video(folder / "left.mp4", _moving_square(-1, n=20), fps=10)
    return folder


def test_extract_command_writes_features_and_index(run_cli, videos, tmp_path) -> None:
    out = tmp_path / "feats"
    code, _, err = run_cli("features", "extract", videos, "-o", out, "--fps", "2", "--backbone", "classic")
    assert code == 0, err
    right = read_features(out / "right.npy")
    left = read_features(out / "left.npy")
    assert right.shape == (6, classic.DIM) and left.shape == (4, classic.DIM)  # 3 s and 2 s at 2 fps
    index = json.loads((out / "index.json").read_text())
    assert index["right"]["fps"] == 2.0 and index["right"]["backbone"] == "classic"
    assert index["left"]["frames"] == 4 and index["left"]["source"].endswith("left.mp4")


def test_extract_jobs_and_skip_existing(run_cli, videos, tmp_path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    assert run_cli("features", "extract", videos, "-o", one, "--backbone", "classic")[0] == 0
    assert run_cli("--quiet", "features", "extract", videos, "-o", two, "--jobs", "2", "--backbone", "classic")[0] == 0
    for name in ("right", "left"):
        np.testing.assert_array_equal(read_features(one / f"{name}.npy"), read_features(two / f"{name}.npy"))
    before = (one / "right.npy").stat().st_mtime_ns
    (one / "left.npy").unlink()
    code, _, err = run_cli("features", "extract", videos, "-o", one, "--skip-existing", "--backbone", "classic")
    assert code == 0 and "skipping 1" in err
    assert (one / "right.npy").stat().st_mtime_ns == before and (one / "left.npy").exists()


def test_extract_clip_backbone(run_cli, videos, tmp_path) -> None:
    out = tmp_path / "clip"
    code, _, err = run_cli("features", "extract", videos / "left.mp4", "-o", out, "--backbone", "clip")
    assert code == 0 and "random weights" in err
    assert read_features(out / "left.npy").shape == (4, 512)


def test_extract_bad_inputs(run_cli, tmp_path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    code, _, err = run_cli("features", "extract", bad, "-o", tmp_path / "o", "--backbone", "classic")
    assert code == 2 and err.startswith(f"error: {bad}: cannot open as a video")
    code, _, err = run_cli("features", "extract", tmp_path / "none.mp4", "-o", tmp_path / "o")
    assert code == 2 and "no such file" in err
    code, _, err = run_cli("features", "extract", bad, "-o", tmp_path / "o", "--backbone", "resnet")
    assert code == 2 and "resnet" in err
    assert not (tmp_path / "o" / "bad.npy").exists()


def test_info_command(run_cli, videos, tmp_path) -> None:
    out = tmp_path / "feats"
    run_cli("features", "extract", videos, "-o", out, "--backbone", "classic")
    code, stdout, _ = run_cli("features", "info", out)
    assert code == 0
    rows = dict(line.split("\t")[:2] for line in stdout.strip().splitlines())
    assert rows == {"left": "4", "right": "6"}


def test_real_clip_extract(run_cli, shared_data, tmp_path) -> None:
    code, _, err = run_cli("features", "extract", shared_data / "hollywood2-clip", "-o", tmp_path, "--fps", "2",
                           "--backbone", "classic")
    assert code == 0, err
    feats = read_features(next(tmp_path.glob("*.npy")))
    assert feats.shape == (17, classic.DIM)
    assert np.all(feats.std(axis=0)[classic.BLOCKS["hog"]:].sum() > 0)  # frames differ in colour/motion


def test_default_lite0_backbone_gives_1280d_vectors_and_frame_times(run_cli, videos, tmp_path) -> None:
    pytest.importorskip("efficientnet_lite_pytorch")
    out = tmp_path / "lite"
    code, _, err = run_cli("features", "extract", videos / "left.mp4", "-o", out, "--fps", "2", "--spatial")
    assert code == 0, err
    feats = read_features(out / "left.npy")
    assert feats.shape == (4, 1280) and np.all(feats >= 0)  # ReLU6 features, averaged
    meta = json.loads((out / "index.json").read_text())["left"]
    assert meta["backbone"] == "lite0" and meta["times"] == [0.0, 0.5, 1.0, 1.5] and meta["duration"] == 2.0
    assert np.load(out / "left.maps.npy").shape == (4, 1280, 7, 7)  # 96 px frames seen at 224 px: 7 x 7 cells


def test_extract_shards_split_a_folder(run_cli, videos, tmp_path) -> None:
    for k in (1, 2):
        code, _, err = run_cli("features", "extract", videos, "-o", tmp_path / "o", "--shard", f"{k}/2",
                               "--backbone", "classic")
        assert code == 0, err
    index = json.loads((tmp_path / "o" / "index.json").read_text())
    assert sorted(index) == ["left", "right"]


def test_extract_refuses_output_onto_an_input_and_names_an_empty_folder(run_cli, videos, tmp_path) -> None:
    video = videos / "left.mp4"
    before = video.read_bytes()
    code, _, err = run_cli("features", "extract", video, "-o", video, "--backbone", "classic")
    assert code == 2 and "is also an input" in err and video.read_bytes() == before
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli("features", "extract", empty, "-o", tmp_path / "o")
    assert code == 2 and err.startswith(f"error: {empty}: no video files")


def test_truncated_video_keeps_what_decodes_and_records_the_real_span(run_cli, tmp_path, caplog) -> None:
    path = tmp_path / "long.mp4"
    write_video(path, _moving_square(+1, n=100), fps=10)  # 10 s
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    code, _, err = run_cli("features", "extract", cut, "-o", tmp_path / "o", "--backbone", "classic")
    if code == 2:  # the container's index lies past the cut: refused with one line is acceptable too
        assert err.count("\n") == 1 and str(cut) in err
        return
    assert code == 0, err
    meta = json.loads((tmp_path / "o" / "index.json").read_text())["cut"]
    assert meta["frames"] == len(meta["times"]) and meta["duration"] < 9.0
    assert meta.get("truncated") and "decoded" in err


def test_index_with_a_non_numeric_fps_is_one_line(run_cli, videos, tmp_path) -> None:
    out = tmp_path / "feats"
    run_cli("features", "extract", videos, "-o", out, "--backbone", "classic")
    index = json.loads((out / "index.json").read_text())
    index["left"]["fps"] = "two"
    (out / "index.json").write_text(json.dumps(index))
    code, _, err = run_cli("features", "info", out)
    assert code == 2 and err == f"error: {out / 'index.json'}: left: fps must be a positive number, got 'two'\n"
