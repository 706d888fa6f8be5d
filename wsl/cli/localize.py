"""`wsl localize`: weakly supervised object localisation by global max-pooling (Oquab et al. 2015)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(help="Image-level tags -> class score maps that localise objects (global max-pooling).",
                  no_args_is_help=True)

_DATA_HELP = "A VOC folder (Annotations/), a COCO .json, a tags .csv, or a folder holding labels.csv."


def _range(text: str, name: str, cast: type = float) -> tuple:
    """'0.7-1.4' or '0.7,1.4' -> (0.7, 1.4); a single value v -> (v, v)."""
    from wsl.errors import BadInput

    parts = [p for p in text.replace(",", "-").split("-") if p.strip()]
    try:
        values = tuple(cast(p) for p in parts)
    except ValueError:
        raise BadInput(f"{name} {text!r}: expected LOW-HIGH numbers") from None
    if len(values) == 1:
        values = values * 2
    if len(values) != 2 or values[0] > values[1]:
        raise BadInput(f"{name} {text!r}: expected LOW-HIGH with LOW <= HIGH")
    return values


def _scales(text: str | None) -> tuple[float, ...] | None:
    from wsl.errors import BadInput

    if text is None:
        return None
    try:
        scales = tuple(float(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise BadInput(f"--scales {text!r}: expected comma-separated numbers like 0.7,1,1.4") from None
    if not scales or min(scales) <= 0:
        raise BadInput(f"--scales {text!r}: expected positive numbers")
    return scales


def _set_threads(threads: int) -> None:
    """On a CPU shared with other jobs one thread is often fastest: OpenMP threads stall at barriers
    whenever a sibling is descheduled (measured: 1 thread 5-10x faster than 2 on a busy 2-core box)."""
    if threads < 0:
        from wsl.errors import BadInput

        raise BadInput(f"--threads must be 0 (default) or more, got {threads}")
    if threads:
        import torch

        torch.set_num_threads(threads)


@app.command("demo-data")
def demo_data_cmd(
    output: Path = typer.Argument(..., help="Folder to create: OUT/train and OUT/test (images/, labels.csv)."),
    train: int = typer.Option(2000, "--train", help="Training images."),
    test: int = typer.Option(500, "--test", help="Test images (digits from other writers' samples)."),
    size: int = typer.Option(160, "--size", help="Mean image side in pixels (each side varies by +-20%)."),
    digits: str = typer.Option("1-3", "--digits", help="Digits per image, LOW-HIGH."),
    digit_px: str = typer.Option("24-44", "--digit-px", help="Digit height in pixels, LOW-HIGH."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed writes the same images."),
) -> None:
    """Write the digits demo data: real handwritten digits on cluttered images, tags + boxes."""
    from wsl.data.digits import make_digits_data
    from wsl.progress import info

    sets = make_digits_data(output, train, test, size, seed=seed, digits_per_image=_range(digits, "--digits", int),
                            digit_px=_range(digit_px, "--digit-px", int))
    for split, data in sets.items():
        info(f"{split}: {len(data.images)} images, {sum(len(im.boxes) for im in data.images)} digits -> {data.source}")


@app.command("train")
def train_cmd(
    data: Path = typer.Argument(..., help=_DATA_HELP),
    output: Path = typer.Option(..., "-o", "--output", help="Run folder (config, checkpoint, log, weights)."),
    val: Path | None = typer.Option(None, "--val", help="Validation data evaluated after each epoch."),
    split: str | None = typer.Option(None, "--split", help="VOC image set (ImageSets/Main/NAME.txt)."),
    val_split: str | None = typer.Option(None, "--val-split", help="VOC image set of --val."),
    images: Path | None = typer.Option(None, "--images", help="Image folder (COCO file_name / CSV paths root)."),
    classes: Path | None = typer.Option(None, "--classes", help="Class list file, one name a line."),
    trunk: str = typer.Option("small", "--trunk", help="Image trunk preset: tiny, small or base."),
    trunk_weights: Path | None = typer.Option(None, "--trunk-weights", help="Initial trunk weights."),
    image_size: int = typer.Option(224, "--image-size", help="Square input side the images are resized to."),
    adapt_channels: int = typer.Option(256, "--adapt-channels", help="Width of the 1x1 adaptation layer."),
    train_scales: str = typer.Option("0.7-1.4", "--train-scales", help="Random rescaling range, LOW-HIGH."),
    scale_warmup: float = typer.Option(1.0, "--scale-warmup", help="Share of steps over which the rescaling "
                                       "range widens from 1 to --train-scales."),
    test_scales: str = typer.Option("0.7,1,1.4", "--test-scales", help="Scales averaged at test time."),
    flip: bool = typer.Option(True, "--flip/--no-flip", help="Random horizontal flips."),
    epochs: int = typer.Option(20, "--epochs"),
    batch_size: int = typer.Option(32, "--batch-size"),
    lr: float = typer.Option(2e-3, "--lr"),
    weight_decay: float = typer.Option(1e-4, "--weight-decay"),
    warmup: int = typer.Option(0, "--warmup", help="Linear warm-up steps."),
    grad_clip: float = typer.Option(0.0, "--grad-clip", help="Clip the gradient norm (0: no clipping; clipping "
                                    "kept from-scratch training at the label prior, docs/localize.md)."),
    max_steps: int | None = typer.Option(None, "--max-steps", help="Stop after this many steps."),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    amp: bool = typer.Option(True, "--amp/--no-amp", help="bf16 autocast (CUDA only)."),
    channels_last: bool = typer.Option(True, "--channels-last/--no-channels-last", help="CUDA memory format."),
    workers: int = typer.Option(-1, "--workers", help="Data-loading processes (-1: 0 on CPU, up to 8 on CUDA)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run folder's checkpoint."),
    ignore_unknown: bool = typer.Option(False, "--ignore-unknown", help="Drop labels not in the class list."),
    keep_unlabelled: bool = typer.Option(False, "--keep-unlabelled", help="Use images without labels as negatives."),
    tolerance: float = typer.Option(18.0, "--tolerance", help="Pointing tolerance in pixels (for --val)."),
    threads: int = typer.Option(0, "--threads", help="CPU threads for torch (0: torch's default, all cores)."),
) -> None:
    """Train a localiser from image-level tags; several GPUs with `torchrun --nproc-per-node N -m wsl ...`."""
    _set_threads(threads)
    from wsl.data.tagged import read_class_list
    from wsl.models.localize_pipeline import read_localization_data, train_localizer
    from wsl.models.localizer import LocalizerConfig
    from wsl.models.training import TrainConfig
    from wsl.progress import info

    given = list(read_class_list(classes)) if classes else None
    train_data, class_list = read_localization_data(data, given, split, images, ignore_unknown, keep_unlabelled)
    val_data = None
    if val is not None:
        val_data, _ = read_localization_data(val, class_list, val_split, None, ignore_unknown, keep_unlabelled)
    model_cfg = LocalizerConfig(list(class_list), trunk, adapt_channels, image_size=image_size,
                                train_scales=_range(train_scales, "--train-scales"),
                                scale_warmup=scale_warmup, test_scales=_scales(test_scales) or (1.0,), flip=flip)
    train_cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                            warmup_steps=warmup, seed=seed, device=device, amp=amp, channels_last=channels_last,
                            num_workers=workers, max_steps=max_steps, grad_clip=grad_clip or None)
    info(f"training on {len(train_data.images)} images, {len(class_list)} classes -> {output}")
    result = train_localizer(train_data, output, model_cfg, train_cfg, resume, val_data, trunk_weights, tolerance)
    last = result.history[-1] if result.history else {}
    info(f"done: loss {last.get('loss', float('nan')):.4f}, {last.get('samples_per_s', 0):.1f} images/s; "
         f"run folder {output}")


@app.command("predict")
def predict_cmd(
    run: Path = typer.Argument(..., help="A run folder written by `wsl localize train`."),
    inputs: list[Path] = typer.Argument(..., metavar="IMAGES...", help="Image files, or folders of them."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder for per-image JSON, .npy maps, overlays."),
    scales: str | None = typer.Option(None, "--scales", help="Test scales (default: the run's)."),
    threshold: float = typer.Option(0.5, "--threshold", help="Overlays for classes scoring at least this."),
    maps: bool = typer.Option(True, "--maps/--no-maps", help="Write <image>.maps.npy (K, h, w) score maps."),
    overlays: bool = typer.Option(True, "--overlays/--no-overlays", help="Write heat-map overlay PNGs."),
    batch_size: int = typer.Option(16, "--batch-size"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    skip_existing: bool = typer.Option(False, "--skip-existing", help="Skip images whose JSON already exists."),
    threads: int = typer.Option(0, "--threads", help="CPU threads for torch (0: torch's default, all cores)."),
) -> None:
    """Class scores, peak points (original pixels), score maps and heat-map overlays for each image."""
    _set_threads(threads)
    from wsl.models.localize_pipeline import predict_images

    n_done, n_skipped, n_bad = predict_images(run, inputs, output, _scales(scales), threshold, maps, overlays,
                                              batch_size, device, skip_existing)
    from wsl.progress import info

    info(f"wrote {n_done} prediction(s) to {output}" + (f", {n_skipped} already there" if n_skipped else "")
         + (f", {n_bad} unreadable image(s) skipped" if n_bad else ""))


@app.command("eval")
def eval_cmd(
    run: Path = typer.Argument(..., help="A run folder written by `wsl localize train`."),
    data: Path = typer.Argument(..., help=_DATA_HELP),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write the metrics as JSON here (- stdout)."),
    split: str | None = typer.Option(None, "--split", help="VOC image set (ImageSets/Main/NAME.txt)."),
    images: Path | None = typer.Option(None, "--images", help="Image folder (COCO file_name / CSV paths root)."),
    scales: str | None = typer.Option(None, "--scales", help="Test scales (default: the run's)."),
    tolerance: float = typer.Option(18.0, "--tolerance", help="Pointing tolerance in original pixels."),
    batch_size: int = typer.Option(16, "--batch-size"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    ignore_unknown: bool = typer.Option(False, "--ignore-unknown", help="Drop labels not in the run's classes."),
    keep_unlabelled: bool = typer.Option(False, "--keep-unlabelled", help="Count unlabelled images as negatives."),
    threads: int = typer.Option(0, "--threads", help="CPU threads for torch (0: torch's default, all cores)."),
) -> None:
    """Classification mAP and pointing accuracy (per class and mean) of a run on annotated data."""
    _set_threads(threads)
    from wsl.eval.localization import format_report
    from wsl.io import write_json
    from wsl.models.localize_pipeline import evaluate, load_localizer, read_localization_data
    from wsl.models.training import select_device

    dev = select_device(device)
    model, cfg = load_localizer(run, dev)
    data_set, _ = read_localization_data(data, cfg.classes, split, images, ignore_unknown, keep_unlabelled,
                                         fixed_classes=True)
    report = evaluate(model, cfg, data_set, dev, batch_size, _scales(scales), tolerance)
    report.update(run=str(run), data=str(data), scales=list(_scales(scales) or cfg.test_scales))
    if output is not None and str(output) == "-":
        write_json("-", report)
        return
    if output is not None:
        write_json(output, report)
    typer.echo(format_report(report), nl=False)
    if output is None:
        typer.echo(json.dumps({k: report[k] for k in ("mAP", "pointing", "images")}))
