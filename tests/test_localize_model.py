"""The localiser: map geometry, training (loss falls, exact resume, bad images), predict/eval CLI, run folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import wsl.localize as L
from wsl.data.digits import make_digits_split
from wsl.data.tagged import TaggedImage
from wsl.errors import BadInput
from wsl.localize.infer import Localizer, infer
from wsl.localize.model import (
    GlobalMaxPoolLocalizer,
    LocalizerConfig,
    load_trunk_weights,
    multiscale_maps,
    peak_points,
    resample_maps,
)
from wsl.models.training import TrainConfig

SMALL = {"trunk": "tiny", "adapt_channels": 32, "image_size": 48, "train_scales": (0.7, 1.4),
         "test_scales": (0.8, 1.0), "dropout": 0.1}


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
    normalization = "symmetric"

    def score_maps(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :1, ::8, ::8]


def test_inference_points_land_on_the_object_in_original_pixels(tmp_path: Path) -> None:
    from PIL import Image

    w, h, cx, cy = 150, 90, 101.3, 37.8
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    blob = 255 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * 12.0 ** 2))
    Image.fromarray(np.repeat(blob[..., None], 3, axis=2).astype(np.uint8)).save(tmp_path / "blob.png")
    cfg = LocalizerConfig(["blob"], trunk="small", image_size=64, test_scales=(0.7, 1.0, 1.4))
    loc = Localizer(_BrightnessSampler(), cfg, torch.device("cpu"))  # type: ignore[arg-type]
    (result,) = infer(loc, [TaggedImage(tmp_path / "blob.png", ())], quiet=True)
    assert result.size == (150, 90) and result.maps.shape == (1, 8, 8)
    x, y = result.points[0]
    assert abs(x - cx) < 5 and abs(y - cy) < 5


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("digits")
    make_digits_split(root / "train", 24, "train", size=64, digit_px=(16, 24), digits_per_image=(1, 2), seed=1)
    make_digits_split(root / "test", 6, "test", size=64, digit_px=(16, 24), digits_per_image=(1, 2), seed=1)
    return root


def _train(data_dir: Path, run: Path, epochs: int = 2, resume: bool = False, **kw: object) -> L.TrainResult:
    cfg = LocalizerConfig([], **{**SMALL, **kw})  # type: ignore[arg-type]
    tcfg = TrainConfig(epochs=epochs, batch_size=8, lr=3e-3, seed=7, device="cpu", grad_clip=None)
    return L.train(data_dir, run, cfg, tcfg, resume=resume)


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


def test_same_seed_same_initial_model(digits: Path, tmp_path: Path) -> None:
    """The seed is set before the model is built: two runs with one seed give identical weights."""
    from safetensors.torch import load_file

    _train(digits / "train", tmp_path / "x", epochs=1)
    _train(digits / "train", tmp_path / "y", epochs=1)
    a, b = load_file(tmp_path / "x" / "model.safetensors"), load_file(tmp_path / "y" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_interrupted_training_resumes_exactly(digits: Path, trained: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from safetensors.torch import load_file

    import wsl.models.run_folder as run_folder

    def crash_after_first_epoch(message: str) -> None:
        if message.startswith("epoch 1/"):
            raise KeyboardInterrupt

    run = tmp_path / "b"
    with monkeypatch.context() as m:
        m.setattr(run_folder, "info", crash_after_first_epoch)  # RunFolder.report says each epoch
        with pytest.raises(KeyboardInterrupt):
            _train(digits / "train", run)
    assert (run / "checkpoint.pt").exists() and not (run / "model.safetensors").exists()
    with pytest.raises(BadInput, match="to continue it"):
        _train(digits / "train", run)
    with pytest.raises(BadInput, match=r"changed settings: model\.adapt_channels \(32 -> 16\)"):
        _train(digits / "train", run, resume=True, adapt_channels=16)
    _train(digits / "train", run, resume=True)
    a, b = load_file(trained / "model.safetensors"), load_file(run / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_unreadable_images_are_skipped_with_a_count(digits: Path, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "data"
    shutil.copytree(digits / "train", data)
    images = sorted((data / "images").glob("*.jpg"))
    images[3].write_bytes(images[3].read_bytes()[:300])  # truncated: the header reads, decoding fails
    images[5].write_text("not an image")
    result = _train(data, tmp_path / "run", epochs=1)
    skipped = {p.name for p, _ in result.skipped}
    assert skipped == {images[3].name, images[5].name}
    assert "skipped 2 unreadable image(s)" in caplog.text
    assert len((tmp_path / "run" / "skipped.txt").read_text().splitlines()) == 2


def test_predict_writes_scores_points_maps_overlays_and_coco(trained: Path, digits: Path, tmp_path: Path,
                                                             run_cli) -> None:
    from PIL import Image

    from wsl.localize.outputs import CAPTION_HEIGHT, OVERLAY_MIN_SIDE

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
    bx, by, bw, bh = rec["predictions"][0]["box"]
    assert bx >= 0 and by >= 0 and bx + bw <= w + 0.01 and by + bh <= h + 0.01 and bw > 0 and bh > 0
    maps = np.load(tmp_path / "out" / f"{images[0].stem}.maps.npy")
    assert maps.shape == (10, 6, 6) and maps.dtype == np.float32
    pngs = sorted((tmp_path / "out").glob(f"{images[0].stem}.*.png"))
    assert len(pngs) == 10  # threshold 0: every class
    ow, oh = Image.open(pngs[0]).size  # enlarged to a readable size, caption band above the image
    assert min(ow, oh - CAPTION_HEIGHT) >= OVERLAY_MIN_SIDE - 1 and oh - CAPTION_HEIGHT == round(h * ow / w)
    lines = (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 2
    coco = json.loads((tmp_path / "out" / "predictions.coco.json").read_text())
    assert len(coco) == 20 and {c["image_id"] for c in coco} == {1, 2}
    assert all(len(c["bbox"]) == 4 and 1 <= c["category_id"] <= 10 for c in coco)
    code, _, err = run_cli("localize", "predict", trained, images[0], "-o", tmp_path / "out", "--skip-existing",
                           "--no-overlays")
    assert code == 0 and "1 already there" in err


def test_predict_overlays_for_asked_classes_and_top_k(trained: Path, digits: Path, tmp_path: Path, run_cli) -> None:
    image = sorted((digits / "test" / "images").glob("*.jpg"))[0]
    code, _, err = run_cli("-q", "localize", "predict", trained, image, "-o", tmp_path / "a", "--classes", "3,7",
                           "--no-maps")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "a").glob("*.png")) == [f"{image.stem}.3.png", f"{image.stem}.7.png"]
    code, _, err = run_cli("-q", "localize", "predict", trained, image, "-o", tmp_path / "b", "--top-k", "3")
    assert code == 0 and len(list((tmp_path / "b").glob("*.png"))) == 3
    code, _, err = run_cli("localize", "predict", trained, image, "-o", tmp_path / "c", "--classes", "cat")
    assert code == 2 and "'cat' is not one of the run's classes" in err


def test_predict_shards_split_the_inputs(trained: Path, digits: Path, tmp_path: Path, run_cli) -> None:
    folder = digits / "test" / "images"
    names = set()
    for k in (1, 2):
        code, _, err = run_cli("-q", "localize", "predict", trained, folder, "-o", tmp_path / str(k), "--shard",
                               f"{k}/2", "--no-overlays", "--no-maps")
        assert code == 0, err
        got = {p.stem for p in (tmp_path / str(k)).glob("*.json") if not p.stem.startswith("predictions")}
        assert got and not (got & names)
        names |= got
    assert names == {p.stem for p in folder.glob("*.jpg")}


def test_predict_bad_inputs_one_line_each(trained: Path, digits: Path, tmp_path: Path, run_cli) -> None:
    from PIL import Image

    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"garbage" * 50)
    code, _, err = run_cli("localize", "predict", trained, garbage, "-o", tmp_path / "o1")
    assert code == 2 and "none of the 1 image(s) could be read" in err  # was exit 0, empty output
    # A decompression bomb: a tiny PNG declaring 20000 x 20000 pixels is skipped with a count.
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(bomb)
    good = sorted((digits / "test" / "images").glob("*.jpg"))[0]
    code, _, err = run_cli("localize", "predict", trained, bomb, good, "-o", tmp_path / "o2", "--no-overlays")
    assert code == 0 and "skipped 1 unreadable" in err and "decompression bomb" in err
    code, _, err = run_cli("localize", "predict", trained, good, "-o", good)
    assert code == 2 and "is also an input" in err and err.count("\n") == 1
    assert good.read_bytes()[:2] == b"\xff\xd8"
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (4, 4)).save(tiny)
    code, _, err = run_cli("localize", "predict", trained, tiny, "-o", tmp_path / "o3")
    assert code == 2 and "smaller than the trunk's stride" in err


def test_eval_reports_map_and_pointing(trained: Path, digits: Path, tmp_path: Path, run_cli) -> None:
    code, out, err = run_cli("eval", "localize", trained, digits / "test", "-o", tmp_path / "m.json")
    assert code == 0, err
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["images"] == 6 and 0 <= report["mAP"] <= 1 and 0 <= report["pointing"] <= 1
    assert 0 <= report["pointing_inside"] <= report["pointing"]
    assert report["tolerance_px"] == 18 and report["pointing_pairs"] >= 6
    assert "mean" in err and "inside" in err
    code, out, err = run_cli("-q", "eval", "localize", trained, digits / "test")
    assert code == 0 and json.loads(out)["images"] == 6


def test_eval_rejects_labels_outside_the_runs_classes(trained: Path, digits: Path, tmp_path: Path, run_cli) -> None:
    data = tmp_path / "data"
    shutil.copytree(digits / "test", data)
    rows = (data / "labels.csv").read_text().splitlines()
    rows[2] = rows[2].split(",")[0] + ",cat,"
    (data / "labels.csv").write_text("\n".join(rows) + "\n")
    (data / "classes.txt").unlink()
    code, _, err = run_cli("eval", "localize", trained, data)
    assert code == 2 and "labels.csv:3: label 'cat'" in err
    code, _, err = run_cli("eval", "localize", trained, data, "--ignore-unknown")
    assert code == 0 and "dropped 1 label" in err


def test_run_folder_from_another_version_is_a_clear_error(trained: Path, tmp_path: Path, run_cli) -> None:
    run = tmp_path / "old"
    shutil.copytree(trained, run)
    cfg = json.loads((run / "config.json").read_text())
    cfg["format"] = 99
    (run / "config.json").write_text(json.dumps(cfg))
    code, _, err = run_cli("eval", "localize", run, run)
    assert code == 2 and "format 99" in err and "retrain" in err
    code, _, err = run_cli("localize", "predict", tmp_path, run / "config.json", "-o", tmp_path / "o")
    assert code == 2 and "not a run folder" in err


def test_refused_checkpoint_is_one_line_without_unsafe_advice(trained: Path, tmp_path: Path, run_cli) -> None:
    import pickle

    run = tmp_path / "evil"
    shutil.copytree(trained, run)
    (run / "model.safetensors").unlink()

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (print, ("owned",))

    (run / "checkpoint.pt").write_bytes(pickle.dumps({"model": Evil()}))
    code, out, err = run_cli("localize", "predict", run, run / "config.json", "-o", tmp_path / "o")
    assert code == 2 and "owned" not in out
    assert err.count("\n") == 1 and "weights_only=False" not in err and "\x1b[" not in err


def test_trunk_weights_seed_a_new_model(trained: Path) -> None:
    model = GlobalMaxPoolLocalizer(3, "tiny", 8)
    load_trunk_weights(model.trunk, str(trained / "model.safetensors"))
    from safetensors.torch import load_file

    state = load_file(trained / "model.safetensors")
    assert torch.equal(model.trunk.state_dict()["body.0.weight"], state["trunk.body.0.weight"])
    with pytest.raises(BadInput, match="do not fit"):
        load_trunk_weights(GlobalMaxPoolLocalizer(3, "small", 8).trunk, str(trained / "model.safetensors"))


def test_frozen_pretrained_trunk_trains_from_cached_maps(digits: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The default regime: Lite0 frozen, its maps computed once per scale and cached in the run folder."""
    pytest.importorskip("efficientnet_lite_pytorch")
    import wsl.localize.data as ld

    cfg = LocalizerConfig([], image_size=64, train_scales=(1.0, 1.5), test_scales=(1.0,), adapt_channels=32)
    tcfg = TrainConfig(epochs=2, batch_size=8, lr=1e-3, seed=0, device="cpu", grad_clip=None)
    result = L.train(digits / "train", tmp_path / "run", cfg, tcfg)
    assert sorted(p.name for p in (tmp_path / "run" / "cache").iterdir()) == ["maps-64.safetensors",
                                                                              "maps-96.safetensors"]
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    # A resumed run reads the cache instead of running the trunk again.
    def no_trunk(*a: object, **k: object) -> None:
        raise AssertionError("the trunk ran although its maps were cached")

    monkeypatch.setattr(ld, "compute_maps", no_trunk)
    cfg_run = json.loads((tmp_path / "run" / "config.json").read_text())
    cfg_run["train"]["epochs"] = 3
    (tmp_path / "run" / "config.json").write_text(json.dumps(cfg_run))
    L.train(digits / "train", tmp_path / "run", cfg, TrainConfig(**{**tcfg.as_dict(), "epochs": 3}), resume=True)
    monkeypatch.undo()
    ev = L.evaluate(tmp_path / "run", digits / "test", device="cpu")
    assert ev.images == 6 and ev.mAP is not None


@pytest.mark.gpu
def test_cuda_training_bf16_channels_last_and_inference(digits: Path, tmp_path: Path) -> None:
    cfg = LocalizerConfig([], **SMALL)  # type: ignore[arg-type]
    tcfg = TrainConfig(epochs=1, batch_size=8, lr=3e-3, seed=0, device="cuda", amp=True, channels_last=True,
                       num_workers=2)
    result = L.train(digits / "train", tmp_path / "gpu", cfg, tcfg)
    assert np.isfinite(result.history[-1]["loss"])
    gpu = L.evaluate(tmp_path / "gpu", digits / "test", device="cuda")
    cpu = L.evaluate(tmp_path / "gpu", digits / "test", device="cpu")
    assert gpu.mAP is not None and cpu.mAP is not None and abs(gpu.mAP - cpu.mAP) < 0.1


@pytest.mark.gpu
def test_cuda_finetuning_last_stages_of_the_pretrained_trunk(digits: Path, tmp_path: Path) -> None:
    pytest.importorskip("efficientnet_lite_pytorch")
    cfg = LocalizerConfig([], image_size=64, finetune_stages=2, train_scales=(1.0, 1.5))
    tcfg = TrainConfig(epochs=1, batch_size=8, lr=1e-4, seed=0, device="cuda:0", channels_last=True)
    result = L.train(digits / "train", tmp_path / "ft", cfg, tcfg)
    assert np.isfinite(result.history[-1]["loss"]) and not (tmp_path / "ft" / "cache").exists()


def test_train_on_a_csv_of_missing_paths_names_the_first_and_the_rule(tmp_path: Path, run_cli) -> None:
    """Paths written as if relative to the images folder: the one line says which file and how paths resolve."""
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "labels.csv").write_text("path,labels\n0.jpg,cat\n1.jpg,dog\n")
    code, _, err = run_cli("localize", "train", data, "-o", tmp_path / "run", "--epochs", "1")
    assert code == 2 and err.count("\n") == 1
    assert "none of the 2 training image(s)" in err and "0.jpg" in err and "relative to its folder" in err
