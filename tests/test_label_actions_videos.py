"""label-actions straight on a folder of videos: features extracted once into a cache beside the output,
reused on the next run, frames at the requested rate, wide features reduced by PCA."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")


@pytest.fixture(scope="module")
def pans(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from wsl.data.photos import make_photo_videos

    root = tmp_path_factory.mktemp("pans")
    make_photo_videos(root / "videos", count=3, seconds=6.0, fps=8.0)
    spans = json.loads((root / "videos" / "videos.json").read_text())
    (root / "tr.json").write_text(json.dumps({v: [s["label"] for s in segs] for v, segs in spans.items()}))
    return root / "videos", root / "tr.json"


def _listing(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in folder.iterdir()}


def test_a_video_folder_is_labelled_at_the_requested_rate_and_its_features_reused(
        run_cli, pans: tuple[Path, Path], tmp_path: Path) -> None:
    videos, tr = pans
    before = _listing(videos)
    out = tmp_path / "labels.json"
    args = ("label-actions", videos, "-t", tr, "-o", out, "--backbone", "classic", "--fps", "2", "--pca-dim", "16")
    code, _, err = run_cli(*args)
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert doc["fps"] == 2.0
    assert doc["solver"]["feature_dim"] == 16  # classic descriptors (220-d) reduced
    transcripts = json.loads(tr.read_text())
    for v, order in transcripts.items():
        frames = doc["videos"][v]["frames"]
        assert len(frames) == 12  # 6 s at 2 fps
        # every frame carries an action of its transcript, in the transcript's order
        ranks = [order.index(f) for f in frames]
        assert ranks == sorted(ranks) and set(ranks) == set(range(len(order)))
    cache = tmp_path / "labels.features"
    assert sorted(p.name for p in cache.glob("*.npy")) == sorted(f"{v}.npy" for v in transcripts)
    assert _listing(videos) == before  # nothing written into the input folder

    code, _, err = run_cli(*args)
    assert code == 0, err
    assert "reused" in err and "extracting" not in err
    assert json.loads(out.read_text())["videos"] == doc["videos"]


def test_pca_dim_is_checked_and_zero_means_never() -> None:
    import wsl
    from wsl.errors import BadInput

    rng = np.random.default_rng(0)
    feats = {f"v{i}": rng.normal(size=(30 + i, 24)).astype(np.float32) for i in range(3)}
    tr = {v: ["a", "b"] for v in feats}
    assert wsl.label_actions(feats, tr, pca_dim=None, refine=2).solver["feature_dim"] == 24
    assert wsl.label_actions(feats, tr, pca_dim=8, refine=2).solver["feature_dim"] == 8
    with pytest.raises(BadInput, match="pca_dim"):
        wsl.label_actions(feats, tr, pca_dim=0)
