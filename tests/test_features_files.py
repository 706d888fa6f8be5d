from __future__ import annotations

import numpy as np
import pytest

from wsl.errors import BadInput
from wsl.features.files import load_feature_dir, read_features, read_index, video_meta, write_features


def test_write_and_read_round_trip_with_index(tmp_path) -> None:
    x = np.random.default_rng(0).normal(size=(12, 5))
    write_features(tmp_path, "v1", x, {"fps": 2.0, "backbone": "classic"})
    arr = read_features(tmp_path / "v1.npy")
    assert arr.dtype == np.float32 and arr.shape == (12, 5)
    np.testing.assert_allclose(arr, x.astype(np.float32))
    assert isinstance(read_features(tmp_path / "v1.npy", mmap=True), np.memmap)
    meta = video_meta(read_index(tmp_path), "v1")
    assert meta["fps"] == 2.0 and meta["frames"] == 12 and meta["dim"] == 5


def test_dT_layout_is_transposed(tmp_path) -> None:
    np.save(tmp_path / "b.npy", np.arange(6, dtype=np.float32).reshape(2, 3))  # d=2, T=3
    assert read_features(tmp_path / "b.npy", layout="dT").shape == (3, 2)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.array([[1.0, np.nan], [0.0, 1.0]], np.float32), "frame 0"),
        (np.array([[1.0, 2.0], [np.inf, 1.0]], np.float32), "frame 1"),
        (np.zeros(5, np.float32), "2-D"),
        (np.zeros((0, 3), np.float32), "empty"),
        (np.array([["a", "b"]]), "numbers"),
    ],
)
def test_bad_arrays_are_rejected_naming_the_file(tmp_path, array, message) -> None:
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(BadInput, match=message) as e:
        read_features(path)
    assert "bad.npy" in str(e.value)


def test_folder_with_ragged_dimensions(tmp_path) -> None:
    np.save(tmp_path / "a.npy", np.zeros((4, 8), np.float32))
    np.save(tmp_path / "b.npy", np.zeros((8, 4), np.float32))
    with pytest.raises(BadInput, match="dimension 4 differs") as e:
        load_feature_dir(tmp_path)
    assert "b.npy" in str(e.value)


def test_folder_errors(tmp_path) -> None:
    with pytest.raises(BadInput, match="no .npy"):
        load_feature_dir(tmp_path)
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(BadInput, match="not a readable|not a .npy file"):
        load_feature_dir(tmp_path)
    with pytest.raises(BadInput, match="missing feature files: x.npy"):
        load_feature_dir(tmp_path, videos=["x"])
