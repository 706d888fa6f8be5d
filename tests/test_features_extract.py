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
    code, _, err = run_cli("features", "extract", videos, "-o", out, "--fps", "2")
    assert code == 0, err
    right = read_features(out / "right.npy")
    left = read_features(out / "left.npy")
    assert right.shape == (6, classic.DIM) and left.shape == (4, classic.DIM)  # 3 s and 2 s at 2 fps
    index = json.loads((out / "index.json").read_text())
    assert index["right"]["fps"] == 2.0 and index["right"]["backbone"] == "classic"
    assert index["left"]["frames"] == 4 and index["left"]["source"].endswith("left.mp4")


def test_extract_jobs_and_skip_existing(run_cli, videos, tmp_path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    assert run_cli("features", "extract", videos, "-o", one)[0] == 0
    assert run_cli("--quiet", "features", "extract", videos, "-o", two, "--jobs", "2")[0] == 0
    for name in ("right", "left"):
        np.testing.assert_array_equal(read_features(one / f"{name}.npy"), read_features(two / f"{name}.npy"))
    before = (one / "right.npy").stat().st_mtime_ns
    (one / "left.npy").unlink()
    code, _, err = run_cli("features", "extract", videos, "-o", one, "--skip-existing")
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
    code, _, err = run_cli("features", "extract", bad, "-o", tmp_path / "o")
    assert code == 2 and err.startswith(f"error: {bad}: cannot open as a video")
    code, _, err = run_cli("features", "extract", tmp_path / "none.mp4", "-o", tmp_path / "o")
    assert code == 2 and "no such file" in err
    code, _, err = run_cli("features", "extract", bad, "-o", tmp_path / "o", "--backbone", "resnet")
    assert code == 2 and "unknown backbone" in err
    assert not (tmp_path / "o" / "bad.npy").exists()


def test_info_command(run_cli, videos, tmp_path) -> None:
    out = tmp_path / "feats"
    run_cli("features", "extract", videos, "-o", out)
    code, stdout, _ = run_cli("features", "info", out)
    assert code == 0
    rows = dict(line.split("\t")[:2] for line in stdout.strip().splitlines())
    assert rows == {"left": "4", "right": "6"}


def test_real_clip_extract(run_cli, shared_data, tmp_path) -> None:
    code, _, err = run_cli("features", "extract", shared_data / "hollywood2-clip", "-o", tmp_path, "--fps", "2")
    assert code == 0, err
    feats = read_features(next(tmp_path.glob("*.npy")))
    assert feats.shape == (17, classic.DIM)
    assert np.all(feats.std(axis=0)[classic.BLOCKS["hog"]:].sum() > 0)  # frames differ in colour/motion
