"""Videos straight into discover-steps: the shared feature cache (wsl.features.cache) and the task
folder of .mp4 + .srt files, with the pretrained Lite0 trunk on tiny frames."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from wsl.text.subtitles import format_srt

pytest.importorskip("av")
pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")

COLOURS = {"cut the bread": (200, 40, 40), "spread the butter": (40, 200, 40), "eat the toast": (40, 40, 200)}


def _video(path: Path, spans: list[tuple[str, float, float]], seconds: float, fps: float = 2.0) -> None:
    """A tiny .mp4 (64x48): each step's colour while it happens, grey between."""
    from wsl.features.video import write_video

    rng = np.random.default_rng(len(spans))
    frames = []
    for i in range(int(seconds * fps)):
        t = (i + 0.5) / fps
        colour = next((COLOURS[s] for s, a, b in spans if a <= t < b), (128, 128, 128))
        frames.append(np.clip(np.full((48, 64, 3), colour, float) + rng.normal(0, 8, (48, 64, 3)), 0, 255))
    write_video(path, np.asarray(frames, np.uint8), fps)


def _task(folder: Path, n: int = 3) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        spans, t = [], 1.0 + i
        for step in COLOURS:
            spans.append((step, t, t + 3))
            t += 5
        _video(folder / f"toast{i}.mp4", spans, t + 1)
        cues = [(a, a + 1.5, f"Now {s}.") for s, a, _ in spans]
        (folder / f"toast{i}.srt").write_text(format_srt(cues))


def _listing(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(folder.rglob("*"))}


def test_cache_extracts_only_what_is_missing_or_stale(tmp_path: Path) -> None:
    from wsl.features.cache import cached_features

    vids = tmp_path / "vids"
    vids.mkdir()
    _video(vids / "a.mp4", [("cut the bread", 0, 2)], 4)
    _video(vids / "b.mp4", [("eat the toast", 1, 3)], 3)
    cache = tmp_path / "cache"
    paths = [vids / "a.mp4", vids / "b.mp4"]
    first = cached_features(paths, cache, fps=1, size=32)
    assert first.extracted == ("a", "b") and first.reused == ()
    assert first.features["a"].shape == (4, 1280) and first.features["b"].shape == (3, 1280)
    assert first.index["a"]["times"] == [0.0, 1.0, 2.0, 3.0]
    # the cache is an ordinary feature folder, as `wsl features extract` writes it
    assert json.loads((cache / "index.json").read_text())["b"]["frames"] == 3

    again = cached_features(paths, cache, fps=1, size=32)
    assert again.extracted == () and again.reused == ("a", "b")
    np.testing.assert_array_equal(again.features["a"], first.features["a"])

    st = (vids / "b.mp4").stat()  # a changed source file is extracted again, alone
    os.utime(vids / "b.mp4", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert cached_features(paths, cache, fps=1, size=32).extracted == ("b",)
    # other settings are other features
    assert cached_features(paths, cache, fps=2, size=32).extracted == ("a", "b")


def test_cache_never_lies_inside_an_input_folder(tmp_path: Path) -> None:
    from wsl.errors import BadInput
    from wsl.features.cache import cached_features

    _video(tmp_path / "a.mp4", [("cut the bread", 0, 2)], 2)
    with pytest.raises(BadInput, match="inside the input folder"):
        cached_features([tmp_path / "a.mp4"], tmp_path / "feats", keep_out=[tmp_path])
    assert not (tmp_path / "feats").exists()


def test_default_cache_dir_is_beside_the_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from wsl.features.cache import default_cache_dir

    assert default_cache_dir("task", anchor=tmp_path / "out" / "steps.json") == tmp_path / "out" / "steps.features"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir(str(tmp_path / "task")).parent == tmp_path / "xdg" / "wsl" / "features"


def test_discover_steps_on_a_folder_of_videos(tmp_path: Path, run_cli) -> None:
    pytest.importorskip("spacy")
    from wsl.text.nlp import available_model

    if available_model() is None:
        pytest.skip("no spaCy English model")
    task = tmp_path / "task"
    _task(task)
    before = _listing(task)
    out = tmp_path / "out" / "steps.json"
    code, _, err = run_cli("discover-steps", task, "-o", out, "--fps", "1", "--paraphrases", "no")
    assert code == 0, err
    assert _listing(task) == before  # nothing written into the input folder
    cache = tmp_path / "out" / "steps.features"
    assert sorted(p.name for p in cache.glob("*.npy")) == ["toast0.npy", "toast1.npy", "toast2.npy"]
    assert "[3/3] toast2.mp4" in err
    doc = json.loads(out.read_text())
    assert doc["k"] == 3 and doc["solver"]["pca_dim"] == 128
    v = doc["videos"]["toast1"]
    assert v["features"] == str(cache / "toast1.npy") and v["fps"] == 1.0
    # every step placed inside its coloured span (toast1: steps at 2-5, 7-10, 12-15 s)
    times = [s["time"] for s in v["steps"]]
    assert all(a - 1 <= t <= b for t, (a, b) in zip(times, [(2, 5), (7, 10), (12, 15)], strict=True)), times

    code, _, err = run_cli("discover-steps", task, "-o", out, "--fps", "1", "--paraphrases", "no")
    assert code == 0 and "reused from" in err and "extracting" not in err


def test_cache_inside_the_task_folder_is_refused(tmp_path: Path, run_cli) -> None:
    task = tmp_path / "task"
    _task(task, n=2)
    code, _, err = run_cli("discover-steps", task, "--features-cache", task / "feats")
    assert code == 2 and "--features-cache" in err and len(err.strip().splitlines()) == 1, err
    assert not (task / "feats").exists()


def test_without_the_vision_extra_one_line_names_the_install(tmp_path: Path, run_cli,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    task = tmp_path / "task"
    _task(task, n=2)
    monkeypatch.setitem(sys.modules, "efficientnet_lite_pytorch", None)  # import fails as if not installed
    code, _, err = run_cli("discover-steps", task, "-o", tmp_path / "steps.json")
    assert code == 2, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and last.endswith("pip install 'wsl[vision]'"), err
    assert "Traceback" not in err
    assert not (tmp_path / "steps.json").exists()
