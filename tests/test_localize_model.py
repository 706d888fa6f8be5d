"""The localiser: map geometry, training (loss falls, exact resume, bad images), predict/eval CLI, run folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from wsl.data.digits import make_digits_split
from wsl.data.tagged import TaggedImage
from wsl.errors import BadInput
from wsl.models import localize_pipeline as lp
from wsl.models.localizer import (
    GlobalMaxPoolLocalizer,
    LocalizerConfig,
    multiscale_maps,
    peak_points,
    resample_maps,
)
from wsl.models.training import TrainConfig

SMALL = {"trunk": "tiny", "adapt_channels": 32, "image_size": 48, "test_scales": (0.8, 1.0)}


def test_model_shapes_and_global_max() -> None:
    model = GlobalMaxPoolLocalizer(5, "tiny", 16).eval()
    x = torch.randn(2, 3, 50, 70)
    scores, maps = model(x)
    assert maps.shape == (2, 5, 7, 9) and scores.shape == (2, 5)  # ceil(50/8), ceil(70/8)
    assert torch.equal(scores, maps.amax(dim=(2, 3)))
    averaged = multiscale_maps(model, x, (0.7, 1.0, 1.4))
    assert averaged.shape == (2, 5, 7, 9)


def test_resample_maps_identity_and_alignment() -> None:
    maps = torch.randn(1, 2, 6, 5)
    same = resample_maps(maps, (48, 40), (48, 40), (6, 5), 8)
    assert torch.allclose(same, maps, atol=1e-5)
    # A map linear in input position u (cell j centred on 8j + 0.5), computed at twice the resolution,
    # resampled to the base grid, equals the same linear function at the base cell centres.
    src = torch.arange(12, dtype=torch.float32).mul(8).add(0.5).div(2.0)  # base-image positions
    src_map = src.view(1, 1, 1, 12).expand(1, 1, 3, 12).contiguous()
    out = resample_maps(src_map, (24, 96), (12, 48), (2, 6), 8)
    expected = torch.arange(6, dtype=torch.float32).mul(8).add(0.5)
    assert torch.allclose(out[0, 0, 0], expected, atol=1e-4)


def test_peak_points_cell_centres_refinement_and_original_scale() -> None:
    maps = torch.zeros(1, 2, 4, 6)
    maps[0, 0, 2, 3] = 1.0  # symmetric peak: exactly the cell centre
    maps[0, 1, 1, 2], maps[0, 1, 1, 3] = 1.0, 0.8  # a right neighbour pulls the peak right
    pts = peak_points(maps, 8, (32, 48), torch.tensor([[96, 64]]))
    assert pts[0, 0].tolist() == pytest.approx([(8 * 3 + 0.5) * 2, (8 * 2 + 0.5) * 2])
    x1 = pts[0, 1, 0].item()
    assert (8 * 2 + 0.5) * 2 < x1 < (8 * 2.5 + 0.5) * 2


class _BrightnessSampler(nn.Module):
    """Stand-in model: its 'score map' samples the input at the trunk's cell centres (pixel 8j)."""

    stride = 8

    def score_maps(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :1, ::8, ::8]


def test_inference_points_land_on_the_object_in_original_pixels(tmp_path: Path) -> None:
    from PIL import Image

    w, h, cx, cy = 150, 90, 101.3, 37.8
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    blob = 255 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * 12.0 ** 2))
    Image.fromarray(np.repeat(blob[..., None], 3, axis=2).astype(np.uint8)).save(tmp_path / "blob.png")
    cfg = LocalizerConfig(["blob"], image_size=64, test_scales=(0.7, 1.0, 1.4))
    (result,) = lp.infer(_BrightnessSampler(), cfg, [TaggedImage(tmp_path / "blob.png", ())], quiet=True)
    assert result.size == (150, 90) and result.maps.shape == (1, 8, 8)
    x, y = result.points[0]
    assert abs(x - cx) < 5 and abs(y - cy) < 5


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("digits")
    make_digits_split(root / "train", 24, "train", size=64, digit_px=(16, 24), digits_per_image=(1, 2), seed=1)
    make_digits_split(root / "test", 6, "test", size=64, digit_px=(16, 24), digits_per_image=(1, 2), seed=1)
    return root


def _train(data_dir: Path, run: Path, epochs: int = 2, resume: bool = False, **kw: object) -> lp.TrainResult:
    data, classes = lp.read_localization_data(data_dir)
    cfg = LocalizerConfig(list(classes), **{**SMALL, **kw})  # type: ignore[arg-type]
    tcfg = TrainConfig(epochs=epochs, batch_size=8, lr=3e-3, seed=7, device="cpu")
    return lp.train_localizer(data, run, cfg, tcfg, resume=resume)


@pytest.fixture(scope="module")
def trained(digits: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "a"
    _train(digits / "train", run)
    return run


def test_loss_falls_and_run_folder_is_complete(trained: Path) -> None:
    log = [json.loads(line) for line in (trained / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [0, 1]
    assert log[-1]["loss"] < log[0]["loss"]
    assert all(r["samples_per_s"] > 0 for r in log)
    cfg = json.loads((trained / "config.json").read_text())
    assert cfg["kind"] == "localize" and cfg["model"]["classes"] == [str(d) for d in range(10)]
    assert (trained / "checkpoint.pt").exists() and (trained / "model.safetensors").exists()


def test_interrupted_training_resumes_exactly(digits: Path, trained: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from safetensors.torch import load_file

    def crash_after_first_epoch(message: str) -> None:
        if message.startswith("epoch 1/"):
            raise KeyboardInterrupt

    run = tmp_path / "b"
    with monkeypatch.context() as m:
        m.setattr(lp, "info", crash_after_first_epoch)
        with pytest.raises(KeyboardInterrupt):
            _train(digits / "train", run)
    assert (run / "checkpoint.pt").exists() and not (run / "model.safetensors").exists()
    with pytest.raises(BadInput, match="--resume"):
        _train(digits / "train", run)
    with pytest.raises(BadInput, match="other model settings"):
        _train(digits / "train", run, resume=True, adapt_channels=16)
    _train(digits / "train", run, resume=True)
    a, b = load_file(trained / "model.safetensors"), load_file(run / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    log_a = [json.loads(x)["loss"] for x in (trained / "log.jsonl").read_text().splitlines()]
    log_b = [json.loads(x)["loss"] for x in (run / "log.jsonl").read_text().splitlines()]
    assert log_a == log_b


def test_unreadable_images_are_skipped_with_a_count(digits: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    shutil.copytree(digits / "train", data)
    images = sorted((data / "images").glob("*.jpg"))
    images[3].write_bytes(images[3].read_bytes()[:300])  # truncated: the header reads, decoding fails
    images[5].write_text("not an image")
    result = _train(data, tmp_path / "run", epochs=1)
    skipped = {p.name for p, _ in result.skipped}
    assert skipped == {images[3].name, images[5].name}
    assert "skipped 2 unreadable image(s)" in capsys.readouterr().err
    assert len((tmp_path / "run" / "skipped.txt").read_text().splitlines()) == 2


def test_predict_writes_scores_points_maps_and_overlays(trained: Path, digits: Path, tmp_path: Path,
                                                        run_cli) -> None:
    from PIL import Image

    images = sorted((digits / "test" / "images").glob("*.jpg"))[:2]
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 nope")
    code, _, err = run_cli("-q", "localize", "predict", trained, *images, bad, "-o", tmp_path / "out",
                           "--threshold", "0")
    assert code == 0, err
    assert "skipped 1 unreadable" in err
    rec = json.loads((tmp_path / "out" / f"{images[0].stem}.json").read_text())
    w, h = Image.open(images[0]).size
    assert (rec["width"], rec["height"]) == (w, h)
    assert len(rec["predictions"]) == 10
    assert [p["score"] for p in rec["predictions"]] == sorted((p["score"] for p in rec["predictions"]), reverse=True)
    assert all(0 <= p["x"] <= w and 0 <= p["y"] <= h for p in rec["predictions"])
    maps = np.load(tmp_path / "out" / f"{images[0].stem}.maps.npy")
    assert maps.shape == (10, 6, 6) and maps.dtype == np.float32
    pngs = sorted((tmp_path / "out").glob(f"{images[0].stem}.*.png"))
    assert len(pngs) == 10 and Image.open(pngs[0]).size == (w, h)  # threshold 0: every class
    lines = (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 2
    code, _, err = run_cli("localize", "predict", trained, images[0], "-o", tmp_path / "out", "--skip-existing",
                           "--no-overlays")
    assert code == 0 and "1 already there" in err


def test_eval_reports_map_and_pointing(trained: Path, digits: Path, tmp_path: Path, run_cli) -> None:
    code, out, err = run_cli("-q", "localize", "eval", trained, digits / "test", "-o", tmp_path / "m.json")
    assert code == 0, err
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["images"] == 6 and 0 <= report["mAP"] <= 1 and 0 <= report["pointing"] <= 1
    assert report["tolerance_px"] == 18 and report["pointing_pairs"] >= 6
    assert "mean" in out and "AP" in out


def test_eval_rejects_labels_outside_the_runs_classes(trained: Path, digits: Path, tmp_path: Path, run_cli) -> None:
    data = tmp_path / "data"
    shutil.copytree(digits / "test", data)
    rows = (data / "labels.csv").read_text().splitlines()
    rows[2] = rows[2].split(",")[0] + ",cat,"
    (data / "labels.csv").write_text("\n".join(rows) + "\n")
    (data / "classes.txt").unlink()
    code, _, err = run_cli("localize", "eval", trained, data)
    assert code == 2 and "labels.csv:3: label 'cat'" in err
    code, _, err = run_cli("localize", "eval", trained, data, "--ignore-unknown")
    assert code == 0 and "dropped 1 label" in err


def test_run_folder_from_another_version_is_a_clear_error(trained: Path, tmp_path: Path, run_cli) -> None:
    run = tmp_path / "old"
    shutil.copytree(trained, run)
    cfg = json.loads((run / "config.json").read_text())
    cfg["format"] = 99
    (run / "config.json").write_text(json.dumps(cfg))
    code, _, err = run_cli("localize", "eval", run, run)
    assert code == 2 and "format 99" in err and "retrain" in err
    code, _, err = run_cli("localize", "predict", tmp_path, run / "config.json", "-o", tmp_path / "o")
    assert code == 2 and "not a run folder" in err


def test_trunk_weights_seed_a_new_model(trained: Path) -> None:
    model = GlobalMaxPoolLocalizer(3, "tiny", 8)
    lp.load_trunk_weights(model, trained / "model.safetensors")
    from safetensors.torch import load_file

    state = load_file(trained / "model.safetensors")
    assert torch.equal(model.trunk.state_dict()["body.0.weight"], state["trunk.body.0.weight"])
    with pytest.raises(BadInput, match="do not fit"):
        lp.load_trunk_weights(GlobalMaxPoolLocalizer(3, "small", 8), trained / "model.safetensors")


@pytest.mark.gpu
def test_cuda_training_bf16_channels_last_and_inference(digits: Path, tmp_path: Path) -> None:
    data, classes = lp.read_localization_data(digits / "train")
    cfg = LocalizerConfig(list(classes), **SMALL)  # type: ignore[arg-type]
    tcfg = TrainConfig(epochs=1, batch_size=8, lr=3e-3, seed=0, device="cuda", amp=True, channels_last=True,
                       num_workers=2)
    result = lp.train_localizer(data, tmp_path / "gpu", cfg, tcfg)
    assert np.isfinite(result.history[-1]["loss"])
    model, cfg2 = lp.load_localizer(tmp_path / "gpu", "cuda")
    assert next(model.parameters()).is_cuda
    test, _ = lp.read_localization_data(digits / "test", cfg2.classes, fixed_classes=True)
    gpu = lp.evaluate(model, cfg2, test, "cuda", quiet=True)
    cpu_model, _ = lp.load_localizer(tmp_path / "gpu", "cpu")
    cpu = lp.evaluate(cpu_model, cfg2, test, "cpu", quiet=True)
    assert abs(gpu["mAP"] - cpu["mAP"]) < 0.1  # bf16 vs float32: close, not identical
