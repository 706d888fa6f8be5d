"""`wsl localize`: weakly supervised object localisation by global max-pooling (Oquab et al. 2015).

Also `wsl eval localize` (``evaluate``) and `wsl demo-data digits|photos|videos` (``demos``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

import typer

from wsl.cli import options

app = typer.Typer(help="Image-level tags -> class score maps that localise objects (global max-pooling).",
                  no_args_is_help=True, rich_markup_mode=None)

_DATA_HELP = "A VOC folder (Annotations/), a COCO .json, a tags .csv, or a folder holding labels.csv."
Trunk = Literal["lite0", "lite1", "lite2", "tiny", "small", "base"]


def _numbers(text: str | None, param: str) -> tuple[float, ...] | None:
    """'1,1.3' -> (1.0, 1.3); None stays None."""
    from wsl.errors import BadInput

    if text is None:
        return None
    try:
        values = tuple(float(s) for s in text.replace("-", ",").split(",") if s.strip())
    except ValueError:
        raise BadInput(f"{param} {text!r}: expected comma-separated numbers like 1,1.3", param=param) from None
    if not values or min(values) <= 0:
        raise BadInput(f"{param} {text!r}: expected positive numbers", param=param)
    return values


def _range(text: str, param: str) -> tuple[int, int]:
    """'1-3' -> (1, 3)."""
    from wsl.errors import BadInput

    try:
        parts = [int(p) for p in text.replace(",", "-").split("-") if p.strip()]
    except ValueError:
        raise BadInput(f"{param} {text!r}: expected LOW-HIGH whole numbers", param=param) from None
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or parts[0] > parts[1]:
        raise BadInput(f"{param} {text!r}: expected LOW-HIGH with LOW <= HIGH", param=param)
    return parts[0], parts[1]


def _threads(threads: int | None) -> None:
    """On a CPU shared with other jobs one thread is often fastest (OpenMP threads stall at barriers
    whenever a sibling is descheduled); the default is torch's own choice."""
    if threads:
        import torch

        torch.set_num_threads(threads)


@app.command("train")
def train_cmd(
    data: Path = typer.Argument(..., help=_DATA_HELP),
    output: Path = options.output("Run folder (config, checkpoint, log, model.safetensors, cache of maps)."),
    val: Path | None = typer.Option(None, "--val", help="Validation data evaluated after each epoch."),
    split: str | None = typer.Option(None, "--split", help="VOC image set (ImageSets/Main/NAME.txt)."),
    images: Path | None = typer.Option(None, "--images", help="Image folder (COCO file_name / CSV paths root)."),
    classes: Path | None = typer.Option(None, "--classes", help="Class list file, one name a line."),
    trunk: Trunk = typer.Option("lite0", "--trunk", help="Pretrained EfficientNet-Lite (lite0-2, extra vision) "
                                "or a from-scratch preset (tiny, small, base)."),
    trunk_weights: Path | None = typer.Option(None, "--trunk-weights", help="Other weights for the pretrained trunk."),
    finetune_stages: int = typer.Option(0, "--finetune-stages", min=0, help="Pretrained trunk: also train its "
                                        "last N stages (0: frozen, maps cached: the CPU-practical default)."),
    image_size: int = typer.Option(224, "--image-size", help="Square input side (a multiple of 32 for lite*)."),
    adapt_channels: int = typer.Option(256, "--adapt-channels", help="Width of the 1x1 adaptation layer."),
    dropout: float = typer.Option(0.3, "--dropout", min=0.0, max=0.9, help="Dropout in the adaptation layers."),
    train_scales: str = typer.Option("1,1.3", "--train-scales", help="Training scales (frozen trunk: the cached "
                                     "ones; trainable trunk: a random scale in their range)."),
    scale_warmup: float = typer.Option(0.0, "--scale-warmup", help="Trainable trunk: share of steps over which "
                                       "the scale range widens from 1."),
    test_scales: str = typer.Option("1,1.3", "--test-scales", help="Scales whose maps are averaged at test time."),
    flip: bool = typer.Option(True, "--flip/--no-flip", help="Random horizontal flips (trainable trunk)."),
    epochs: int | None = options.epochs(None),  # None: the trunk's default
    batch_size: int | None = options.batch_size(None),  # type: ignore[arg-type]
    lr: float | None = options.lr(None),  # type: ignore[arg-type]
    weight_decay: float = typer.Option(1e-4, "--weight-decay", help="AdamW weight decay."),
    warmup: int = typer.Option(0, "--warmup", min=0, help="Linear learning-rate warm-up steps."),
    grad_clip: float = typer.Option(0.0, "--grad-clip", min=0.0, help="Clip the gradient norm (0: no clipping)."),
    max_steps: int | None = typer.Option(None, "--max-steps", help="Stop after this many optimiser steps."),
    seed: int = options.seed(),
    device: str = options.device(),
    amp: bool = typer.Option(True, "--amp/--no-amp", help="bf16 autocast (CUDA only)."),
    channels_last: bool = typer.Option(True, "--channels-last/--no-channels-last", help="CUDA memory format."),
    workers: int = typer.Option(-1, "--workers", help="Data-loading processes (-1: 0 on CPU, up to 8 on CUDA)."),
    resume: bool = options.resume(),
    ignore_unknown: bool = typer.Option(False, "--ignore-unknown", help="Drop labels not in the class list."),
    keep_unlabelled: bool = typer.Option(False, "--keep-unlabelled", help="Use images without labels as negatives."),
    tolerance: float = typer.Option(18.0, "--tolerance", help="Pointing tolerance in pixels (for --val)."),
    threads: int | None = options.threads(),
) -> None:
    """Train a localiser from image-level tags (several GPUs: `torchrun --nproc-per-node N -m wsl ...`)."""
    _threads(threads)
    from dataclasses import replace

    from wsl.data.tagged import read_class_list
    from wsl.localize import LocalizerConfig, train
    from wsl.localize.data import read_data
    from wsl.localize.train import default_train_config

    given = list(read_class_list(classes)) if classes else None
    train_data, class_list = read_data(data, given, split, images, ignore_unknown, keep_unlabelled)
    val_data = None
    if val is not None:
        val_data, _ = read_data(val, class_list, val_split_of(split, val), None, ignore_unknown, keep_unlabelled,
                                fixed_classes=True)
    cfg = LocalizerConfig(list(class_list), trunk, adapt_channels, dropout, image_size,
                          train_scales=_numbers(train_scales, "train_scales") or (1.0,), scale_warmup=scale_warmup,
                          test_scales=_numbers(test_scales, "test_scales") or (1.0,), flip=flip,
                          finetune_stages=finetune_stages, trunk_weights=str(trunk_weights) if trunk_weights else None)
    base = default_train_config(cfg)
    tcfg = replace(base, epochs=epochs or base.epochs, batch_size=batch_size or base.batch_size, lr=lr or base.lr,
                   weight_decay=weight_decay, warmup_steps=warmup, seed=seed, device=device, amp=amp,
                   channels_last=channels_last, num_workers=workers, max_steps=max_steps, grad_clip=grad_clip or None)
    result = train(train_data, output, cfg, tcfg, resume, val_data, tolerance)
    if result.is_main:
        from wsl.progress import info

        last = result.history[-1] if result.history else {}
        info(f"done in {result.seconds:.0f} s: loss {last.get('loss', float('nan')):.4f}; run folder {output}")


def val_split_of(split: str | None, val: Path) -> str | None:
    """A VOC validation folder uses the 'val' image set when training used a named set of the same folder."""
    return "val" if split and (val / "ImageSets" / "Main" / "val.txt").exists() else None


@app.command("predict")
def predict_cmd(
    run: Path = typer.Argument(..., help="A run folder written by `wsl localize train`."),
    inputs: list[Path] = typer.Argument(..., metavar="IMAGES...", help="Image files, or folders of them."),
    output: Path = options.output("Folder for per-image JSON, .npy maps, overlays, predictions.jsonl and "
                                  "predictions.coco.json."),
    scales: str | None = typer.Option(None, "--scales", help="Test scales (default: the run's)."),
    threshold: float = typer.Option(0.5, "--threshold", help="Overlays for classes scoring at least this."),
    classes: str | None = typer.Option(None, "--classes", help="Overlays for these classes (comma-separated)."),
    top_k: int | None = typer.Option(None, "--top-k", min=1, help="Overlays for the K best classes."),
    maps: bool = typer.Option(True, "--maps/--no-maps", help="Write <image>.maps.npy (K, h, w) score maps."),
    overlays: bool = typer.Option(True, "--overlays/--no-overlays", help="Write heat-map overlay PNGs."),
    batch_size: int = options.batch_size(16),
    device: str = options.device(),
    skip_existing: bool = options.skip_existing(),
    shard: str | None = options.shard(),
    threads: int | None = options.threads(),
) -> None:
    """Class scores, peak points and boxes (original pixels), score maps and overlays for each image."""
    _threads(threads)
    from wsl.cli.options import parse_shard
    from wsl.localize import predict
    from wsl.progress import info

    wanted = [c.strip() for c in classes.split(",") if c.strip()] if classes else None
    res = predict(run, inputs, output, _numbers(scales, "scales"), threshold, wanted, top_k, maps, overlays,
                  batch_size, device, skip_existing, parse_shard(shard))
    info(f"wrote {res.predicted} prediction(s) to {output}" + (f", {res.already_done} already there"
         if res.already_done else "") + (f", {len(res.skipped)} unreadable image(s) skipped" if res.skipped else ""))


def evaluate(
    run: Path = typer.Argument(..., help="A run folder written by `wsl localize train`."),
    data: Path = typer.Argument(..., help=_DATA_HELP),
    output: str = options.output("Metrics JSON file (- for stdout).", default="-"),
    split: str | None = typer.Option(None, "--split", help="VOC image set (ImageSets/Main/NAME.txt)."),
    images: Path | None = typer.Option(None, "--images", help="Image folder (COCO file_name / CSV paths root)."),
    scales: str | None = typer.Option(None, "--scales", help="Test scales (default: the run's)."),
    tolerance: float = typer.Option(18.0, "--tolerance", min=0.0, help="Pointing tolerance in original pixels."),
    batch_size: int = options.batch_size(16),
    device: str = options.device(),
    ignore_unknown: bool = typer.Option(False, "--ignore-unknown", help="Drop labels not in the run's classes."),
    keep_unlabelled: bool = typer.Option(False, "--keep-unlabelled", help="Count unlabelled images as negatives."),
    threads: int | None = options.threads(),
) -> None:
    """Localisation: classification mAP, pointing within the tolerance and inside the box, per class."""
    _threads(threads)
    from wsl.eval.localization import format_report
    from wsl.io import refuse_overwriting_inputs, write_json
    from wsl.localize import evaluate as evaluate_run

    refuse_overwriting_inputs([output], [data, run / "config.json"])
    result = evaluate_run(run, data, split, images, _numbers(scales, "scales"), tolerance, batch_size, device,
                          ignore_unknown, keep_unlabelled)
    sys.stderr.write(format_report(result.report))
    write_json(output, result.report)


def digits(
    output: Path = typer.Argument(..., help="Folder to create: OUT/train and OUT/test (images/, labels.csv)."),
    train: int = typer.Option(600, "--train", min=1, help="Training images."),
    test: int = typer.Option(200, "--test", min=0, help="Test images (digits from other writers' samples)."),
    size: int = typer.Option(160, "--size", min=32, help="Mean image side in pixels (each side varies by +-20%)."),
    per_image: str = typer.Option("1-3", "--digits", help="Digits per image, LOW-HIGH."),
    digit_px: str = typer.Option("24-44", "--digit-px", help="Digit height in pixels, LOW-HIGH."),
    seed: int = options.seed(),
) -> None:
    """Localize: real handwritten digits on cluttered images, tags + boxes (train/ and test/)."""
    from wsl.data.digits import make_digits_data
    from wsl.progress import info

    sets = make_digits_data(output, train, test, size, seed=seed, digits_per_image=_range(per_image, "digits"),
                            digit_px=_range(digit_px, "digit_px"))
    for split, data in sets.items():
        info(f"{split}: {len(data.images)} images, {sum(len(im.boxes) for im in data.images)} digits -> {data.source}")


def photos(
    output: Path = typer.Argument(..., help="Folder to create: OUT/train and OUT/test (images/, labels.csv)."),
    train: int = typer.Option(300, "--train", min=1, help="Training images."),
    test: int = typer.Option(100, "--test", min=0, help="Test images."),
    size: int = typer.Option(224, "--size", min=64, help="Mean image side in pixels."),
    seed: int = options.seed(),
) -> None:
    """Localize: real photographed objects (scikit-image's photos) on real textures, tags + boxes."""
    from wsl.data.photos import make_photo_data
    from wsl.progress import info

    sets = make_photo_data(output, train, test, size, seed=seed)
    for split, data in sets.items():
        info(f"{split}: {len(data.images)} images, {sum(len(im.boxes) for im in data.images)} objects -> "
             f"{data.source}")


def videos(
    output: Path = typer.Argument(..., help="Folder for the .mp4 files."),
    count: int = typer.Option(4, "--videos", min=1, help="Videos to write."),
    seconds: float = typer.Option(6.0, "--seconds", min=1.0, help="Length of each video."),
    fps: float = typer.Option(10.0, "--fps", min=1.0, help="Frame rate of the videos."),
    seed: int = options.seed(),
) -> None:
    """Features: small .mp4 files panning over real photographs (input for `wsl features extract`)."""
    from wsl.data.photos import make_photo_videos
    from wsl.progress import info

    paths = make_photo_videos(output, count, seconds, fps, seed=seed)
    info(f"wrote {len(paths)} video(s) to {output}")


demos = {"digits": digits, "photos": photos, "videos": videos}
