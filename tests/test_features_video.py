"""Decoding: the frames sampled at a rate are the ones on screen at those instants, with their own times."""

from __future__ import annotations

import numpy as np
import pytest

from wsl.errors import BadInput
from wsl.features.video import decode, list_videos, probe, write_video

FPS = 10
N = 30  # 3 s


@pytest.fixture(scope="module")
def counter_video(tmp_path_factory) -> tuple:
    """A 10 fps video whose frame i shows i in binary as five black/white squares (robust to compression)."""
    frames = np.zeros((N, 48, 64, 3), np.uint8)
    for i in range(N):
        for b in range(5):
            if i >> b & 1:
                frames[i, 16:28, 2 + 12 * b:12 + 12 * b] = 255
    path = tmp_path_factory.mktemp("video") / "counter.mp4"
    write_video(path, frames, FPS)
    return path


def _index(frames: np.ndarray) -> np.ndarray:
    """Read the frame numbers back from (T, 3, H, W) frames of any size."""
    h, w = frames.shape[2:]
    out = np.zeros(len(frames), int)
    for b in range(5):
        y, x = int(22 / 48 * h), int((7 + 12 * b) / 64 * w)
        out += (frames[:, :, y, x].mean(axis=1) > 128).astype(int) << b
    return out


def test_probe(counter_video) -> None:
    info = probe(counter_video)
    assert info.fps == pytest.approx(FPS)
    assert (info.width, info.height) == (64, 48)
    assert info.duration == pytest.approx(N / FPS, abs=0.11)


def test_native_rate_gives_every_frame_with_its_time(counter_video) -> None:
    d = decode(counter_video)
    assert d.data.shape == (N, 3, 48, 64) and d.data.dtype == np.uint8
    np.testing.assert_allclose(d.times, np.arange(N) / FPS, atol=1e-6)
    np.testing.assert_array_equal(_index(d.data), np.arange(N))


def test_lower_rate_takes_the_frame_on_screen_at_each_instant(counter_video) -> None:
    d = decode(counter_video, fps=4)
    instants = np.arange(12) / 4  # 0, 0.25, ..., 2.75
    expected = np.floor(instants * FPS + 1e-9).astype(int)
    np.testing.assert_array_equal(_index(d.data), expected)
    np.testing.assert_allclose(d.times, expected / FPS, atol=1e-6)


def test_higher_rate_repeats_frames_and_resizes(counter_video) -> None:
    d = decode(counter_video, fps=25, size=24)
    assert d.data.shape[1:] == (3, 24, 32)  # shorter side 24, aspect kept
    assert len(d.times) == 75
    assert np.all(np.diff(d.times) >= 0)
    np.testing.assert_array_equal(np.unique(_index(d.data)), np.arange(N))


def test_exact_size_and_max_frames(counter_video) -> None:
    d = decode(counter_video, size=(20, 10), max_frames=5)
    assert d.data.shape == (5, 3, 10, 20)


def test_bad_files_are_bad_input(tmp_path, counter_video) -> None:
    with pytest.raises(BadInput, match="no such video"):
        decode(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(BadInput, match="cannot open as a video") as e:
        decode(junk)
    assert str(junk) in str(e.value)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(counter_video.read_bytes()[:2000])
    with pytest.raises(BadInput):
        decode(truncated)
    with pytest.raises(BadInput, match="fps"):
        decode(counter_video, fps=0)


def test_list_videos(tmp_path, counter_video) -> None:
    (tmp_path / "a.mp4").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in list_videos([tmp_path])] == ["a.mp4"]
    with pytest.raises(BadInput):
        list_videos([tmp_path / "nope"])


def test_real_hollywood2_clip(shared_data) -> None:
    clips = sorted((shared_data / "hollywood2-clip").glob("*.mp4"))
    if not clips:
        pytest.skip("no Hollywood2 clip")
    info = probe(clips[0])
    assert info.fps == pytest.approx(25) and (info.width, info.height) == (528, 224)
    full = decode(clips[0], size=56)
    assert len(full.times) == info.frames == 201
    np.testing.assert_allclose(full.times, np.arange(201) / 25, atol=1e-6)
    sampled = decode(clips[0], fps=2, size=56)
    assert len(sampled.times) == 17  # instants 0, 0.5, ..., 8.0 within 8.04 s
    # Each sampled frame is the native frame on screen at its instant.
    for k, t in enumerate(sampled.times):
        i = int(np.floor(k * 0.5 * 25 + 1e-9))
        assert t == pytest.approx(i / 25)
        np.testing.assert_array_equal(sampled.data[k], full.data[i])
