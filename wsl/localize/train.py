"""Train, load, predict with and evaluate a global max-pool localiser: what `wsl localize` calls.

A run folder holds ``config.json`` (classes, architecture, scales, optimisation settings and format
version), ``checkpoint.pt`` (state dicts, read with ``weights_only=True``), ``model.safetensors``
(final weights; ``trunk.*`` keys can seed another model's trunk), ``log.jsonl`` and, when some images
could not be read, ``skipped.txt``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from wsl.data.tagged import TaggedImage, TaggedSet
from wsl.errors import BadInput
from wsl.models.localizer import (
    GlobalMaxPoolLocalizer,
    LocalizerConfig,
    multilabel_loss,
    multiscale_maps,
    peak_points,
    prepare,
)
from wsl.models.training import (
    CHECKPOINT,
    TrainConfig,
    dist_info,
    fit,
    load_checkpoint,
    load_run_config,
    save_run_config,
    seed_everything,
    select_device,
)
from wsl.progress import info, track, warn

KIND = "localize"
WEIGHTS = "model.safetensors"
SKIPPED = "skipped.txt"


# --- images --------------------------------------------------------------------------------------------------

def load_image(path: Path, size: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode ``path`` to RGB resized to size x size: (uint8 (size, size, 3), original (width, height)).

    JPEG ``draft`` mode decodes large images at a reduced scale first, which makes VOC-sized
    images several times cheaper to load. Truncated files raise (PIL's default), never half-load.
    """
    from PIL import Image

    with Image.open(path) as im:
        original = im.size
        im.draft("RGB", (size, size))
        rgb = im.convert("RGB").resize((size, size), Image.BILINEAR)
        return np.array(rgb, dtype=np.uint8), original  # a writable copy: torch.from_numpy wants one


def probe_images(images: Sequence[TaggedImage], show_progress: bool = True
                 ) -> tuple[list[TaggedImage], list[tuple[Path, str]]]:
    """Split images into those whose header reads and (path, reason) for the others (cheap: no decoding)."""
    from PIL import Image, UnidentifiedImageError

    ok, bad = [], []
    for im in (track(images, "checking images") if show_progress else images):
        try:
            with Image.open(im.path) as pil:
                if pil.size[0] < 1 or pil.size[1] < 1:
                    raise ValueError("empty image")
            ok.append(im)
        except FileNotFoundError:
            bad.append((im.path, "no such file"))
        except (UnidentifiedImageError, OSError, ValueError) as e:
            bad.append((im.path, f"unreadable ({type(e).__name__}: {e})"))
    return ok, bad


def report_skipped(bad: Sequence[tuple[Path, str]], where: Path | None = None, what: str = "image") -> None:
    """Warn with a count and the first paths; write every path and reason to ``where`` when given."""
    if not bad:
        return
    shown = "; ".join(f"{p} ({r})" for p, r in list(bad)[:3])
    more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
    saved = f" (all listed in {where})" if where else ""
    warn(f"skipped {len(bad)} unreadable {what}(s){saved}: {shown}{more}")
    if where is not None:
        from wsl.io import write_text

        write_text(where, "".join(f"{p}\t{r}\n" for p, r in bad))


class TaggedImageDataset(Dataset):
    """Images as uint8 (3, size, size) tensors with multi-hot targets and original sizes.

    An image that fails to decode mid-epoch (truncated file) is replaced by the next readable one and
    its path returned under ``"bad"``, so an epoch never stops on one broken file and batches keep
    their size (which DDP's equal step counts need).
    """

    def __init__(self, images: Sequence[TaggedImage], classes: Sequence[str], size: int, flip: bool = False):
        self.images = list(images)
        self.index = {c: k for k, c in enumerate(classes)}
        self.size = int(size)
        self.flip = flip

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict[str, Any]:
        bad: list[str] = []
        for attempt in range(len(self.images)):
            j = (i + attempt) % len(self.images)
            record = self.images[j]
            try:
                pixels, (w, h) = load_image(record.path, self.size)
            except Exception as e:  # any decoding failure: skip the file, report it
                bad.append(f"{record.path}\t{type(e).__name__}: {e}")
                continue
            image = torch.from_numpy(pixels).permute(2, 0, 1).contiguous()
            if self.flip and torch.rand(()) < 0.5:
                image = image.flip(-1)
            target = torch.zeros(len(self.index))
            for c in record.labels:
                target[self.index[c]] = 1.0
            return {"image": image, "target": target, "size": torch.tensor([w, h]), "index": torch.tensor(j),
                    "bad": bad}
        raise BadInput(f"none of the {len(self.images)} images could be decoded; first: {bad[0] if bad else '?'}")


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack the tensors of dataset items; gather the paths of images that failed to decode."""
    batch: dict[str, Any] = {k: torch.stack([it[k] for it in items]) for k in ("image", "target", "size", "index")}
    batch["bad"] = [b for it in items for b in it["bad"]]
    return batch


# --- training ------------------------------------------------------------------------------------------------

@dataclass
class TrainResult:
    history: list[dict[str, Any]]
    skipped: list[tuple[Path, str]]
    run_dir: Path


def label_frequencies(images: Sequence[TaggedImage], classes: Sequence[str]) -> list[float]:
    """The share of images that carry each class."""
    counts = dict.fromkeys(classes, 0)
    for im in images:
        for c in im.labels:
            counts[c] += 1
    return [counts[c] / max(1, len(images)) for c in classes]


def _check_resume_config(run_dir: Path, model_cfg: LocalizerConfig) -> None:
    old = LocalizerConfig.from_dict(load_run_config(run_dir, KIND)["model"])
    if old.as_dict() != model_cfg.as_dict():
        diff = [k for k, v in model_cfg.as_dict().items() if old.as_dict().get(k) != v]
        raise BadInput(f"--resume with other model settings than the run's ({', '.join(diff)}); "
                       "use the same options or a new output folder", run_dir / "config.json")


def train_localizer(data: TaggedSet, run_dir: str | os.PathLike[str], model_cfg: LocalizerConfig,
                    train_cfg: TrainConfig, resume: bool = False, val: TaggedSet | None = None,
                    trunk_weights: str | os.PathLike[str] | None = None, tolerance: float = 18.0) -> TrainResult:
    """Train a localiser on ``data`` (labels already checked against ``model_cfg.classes``) into ``run_dir``.

    ``val``, when given, is evaluated after every epoch (mAP and pointing go into ``log.jsonl``).
    """
    from wsl.features.backbones import save_weights

    model_cfg.validate()
    run_dir = Path(run_dir)
    dist = dist_info()
    if resume and (run_dir / "config.json").exists():
        _check_resume_config(run_dir, model_cfg)
    elif (run_dir / CHECKPOINT).exists() and not resume:
        raise BadInput("this run folder already holds a checkpoint: pass --resume to continue it, "
                       "or choose another output folder", run_dir)
    images, bad = probe_images(data.images)
    if not images:
        raise BadInput("none of the training images can be read", data.source)
    if dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_run_config(run_dir, KIND, {"model": model_cfg.as_dict(), "train": train_cfg.as_dict(),
                                        "data": {"source": data.source, "kind": data.kind, "images": len(images)}})

    seed_everything(train_cfg.seed)  # the model's initial weights depend on the seed too
    model = GlobalMaxPoolLocalizer.from_config(model_cfg)
    if trunk_weights is not None:
        load_trunk_weights(model, trunk_weights)
    dataset = TaggedImageDataset(images, model_cfg.classes, model_cfg.image_size, flip=model_cfg.flip)
    if not (resume and (run_dir / CHECKPOINT).exists()):
        sample = collate([dataset[i] for i in range(min(16, len(dataset)))])
        model.init_class_priors(label_frequencies(images, model_cfg.classes), prepare(sample["image"]))
    device = select_device(train_cfg.device)
    channels_last = train_cfg.channels_last and device.type == "cuda"
    lo, hi = model_cfg.train_scales
    stride = model.stride
    failed: dict[str, str] = {}
    per_epoch = max(1, len(dataset) // (train_cfg.batch_size * dist.world_size))
    total = train_cfg.epochs * per_epoch
    if train_cfg.max_steps is not None:
        total = min(total, train_cfg.max_steps)
    widen = max(1, round(model_cfg.scale_warmup * total))
    # The step counter drives the scale warm-up; on resume it continues from the checkpoint's step.
    step = [int(load_checkpoint(run_dir / CHECKPOINT)["step"]) if resume and (run_dir / CHECKPOINT).exists() else 0]

    def loss_fn(m: torch.nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        for line in batch["bad"]:
            path, _, reason = line.partition("\t")
            failed.setdefault(path, reason)
        # One random scale per batch (Oquab's multi-scale training); the global RNG is reseeded per
        # epoch by fit(), so resuming replays the same scales. Sizes are rounded to multiples of the
        # stride: a handful of repeating shapes keeps oneDNN's / cuDNN's per-shape caches warm.
        ramp = min(1.0, step[0] / widen) if model_cfg.scale_warmup > 0 else 1.0
        step[0] += 1
        low, high = 1 + (lo - 1) * ramp, 1 + (hi - 1) * ramp
        side = model_cfg.image_size * float(low + (high - low) * torch.rand(()))
        side = max(stride, stride * round(side / stride))
        x = prepare(batch["image"], channels_last, side / model_cfg.image_size)
        scores, _ = m(x)
        loss = multilabel_loss(scores, batch["target"])
        with torch.no_grad():
            acc = ((scores.float() > 0) == (batch["target"] > 0.5)).float().mean()
        return loss, {"label_accuracy": float(acc)}

    eval_fn = None
    if val is not None:
        def eval_fn(m: torch.nn.Module) -> dict[str, float]:
            report = evaluate(m, model_cfg, val, device, train_cfg.batch_size, tolerance=tolerance, quiet=True)
            return {"val_mAP": report["mAP"] or 0.0, "val_pointing": report["pointing"] or 0.0}

    def on_epoch(record: dict[str, Any]) -> None:
        metrics = ", ".join(f"{k} {v:.4g}" for k, v in record.items() if k not in ("epoch", "step"))
        info(f"epoch {record['epoch'] + 1}/{train_cfg.epochs}: {metrics}")

    history = fit(model, dataset, loss_fn, train_cfg, run_dir, collate_fn=collate, eval_fn=eval_fn,
                  resume=resume, on_epoch=on_epoch)
    skipped = bad + [(Path(p), r) for p, r in failed.items()]
    if dist.is_main:
        save_weights(model, run_dir / WEIGHTS)
        report_skipped(skipped, run_dir / SKIPPED)
    return TrainResult(history, skipped, run_dir)


def load_trunk_weights(model: GlobalMaxPoolLocalizer, path: str | os.PathLike[str]) -> None:
    """Seed the trunk from a bare trunk's weights, or from a whole localiser's (its ``trunk.*`` keys)."""
    from wsl.features.backbones import load_weights

    try:
        load_weights(model.trunk, path)
    except BadInput as bare_error:
        try:
            load_weights(model.trunk, path, prefix="trunk.")
        except BadInput:
            raise bare_error from None


# --- loading and inference -----------------------------------------------------------------------------------

def load_localizer(run_dir: str | os.PathLike[str], device: torch.device | str = "cpu"
                   ) -> tuple[GlobalMaxPoolLocalizer, LocalizerConfig]:
    """Rebuild the model of a run folder from its config and load its weights (final, else checkpoint)."""
    from wsl.features.backbones import load_weights

    run_dir = Path(run_dir)
    cfg_dict = load_run_config(run_dir, KIND)
    try:
        cfg = LocalizerConfig.from_dict(cfg_dict["model"])
        cfg.validate()
    except (KeyError, TypeError, ValueError) as e:
        raise BadInput(f"run config is incomplete or malformed ({type(e).__name__}: {e})",
                       run_dir / "config.json") from None
    model = GlobalMaxPoolLocalizer.from_config(cfg)
    if (run_dir / WEIGHTS).exists():
        load_weights(model, run_dir / WEIGHTS)
    elif (run_dir / CHECKPOINT).exists():
        load_checkpoint(run_dir / CHECKPOINT, model)
    else:
        raise BadInput(f"run folder has no weights ({WEIGHTS} or {CHECKPOINT}): was training interrupted "
                       "before its first epoch?", run_dir)
    model.to(device).eval()
    if torch.device(device).type == "cuda":
        model.to(memory_format=torch.channels_last)
    return model, cfg


@dataclass
class Inference:
    """One image's outputs: probabilities (K,), points (K, 2) in original pixels, score maps (K, h, w)."""

    index: int
    scores: np.ndarray
    points: np.ndarray
    maps: np.ndarray
    size: tuple[int, int]


def infer(model: GlobalMaxPoolLocalizer, cfg: LocalizerConfig, images: Sequence[TaggedImage],
          device: torch.device | str = "cpu", batch_size: int = 16, scales: Sequence[float] | None = None,
          bad: list[tuple[Path, str]] | None = None, quiet: bool = False) -> Iterator[Inference]:
    """Run multi-scale inference over ``images``, yielding one Inference per readable image, in order.

    Unreadable images are skipped and appended to ``bad`` as (path, reason).
    """
    device = torch.device(device)
    cuda = device.type == "cuda"
    scales = tuple(scales or cfg.test_scales)
    ok, unreadable = probe_images(images, show_progress=not quiet)
    if bad is not None:
        bad.extend(unreadable)
    positions = {id(im): n for n, im in enumerate(images)}
    dataset = TaggedImageDataset(ok, cfg.classes, cfg.image_size)
    workers = min(8, os.cpu_count() or 1) if cuda else 0
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers, collate_fn=collate,
                        pin_memory=cuda)
    model.eval()
    seen: set[int] = set()
    batches = loader if quiet else track(loader, "localising", total=len(loader))
    for batch in batches:
        for line in batch["bad"]:
            path, _, reason = line.partition("\t")
            if bad is not None and all(str(p) != path for p, _ in bad):
                bad.append((Path(path), reason))
        x = prepare(batch["image"].to(device, non_blocking=cuda), channels_last=cuda)
        with torch.no_grad(), torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=cuda):
            maps = multiscale_maps(model, x, scales).float()
        sizes = batch["size"].to(device)
        points = peak_points(maps, model.stride, tuple(x.shape[-2:]), sizes)
        probs = torch.sigmoid(maps.amax(dim=(2, 3)))
        for n, j in enumerate(batch["index"].tolist()):
            if j in seen:  # a substitute for an image that failed to decode: already yielded
                continue
            seen.add(j)
            yield Inference(positions[id(ok[j])], probs[n].cpu().numpy(), points[n].cpu().numpy(),
                            maps[n].cpu().numpy(), tuple(batch["size"][n].tolist()))


# --- evaluation ----------------------------------------------------------------------------------------------

def evaluate(model: GlobalMaxPoolLocalizer, cfg: LocalizerConfig, data: TaggedSet, device: torch.device | str = "cpu",
             batch_size: int = 16, scales: Sequence[float] | None = None, tolerance: float = 18.0,
             quiet: bool = False) -> dict[str, Any]:
    """Classification mAP and pointing accuracy of ``model`` on ``data`` (labels checked beforehand)."""
    from wsl.eval.localization import localization_report

    was_training = model.training
    bad: list[tuple[Path, str]] = []
    results = list(infer(model, cfg, data.images, device, batch_size, scales, bad, quiet))
    model.train(was_training)
    if not results:
        raise BadInput("none of the evaluation images can be read", data.source)
    k = len(cfg.classes)
    index = {c: i for i, c in enumerate(cfg.classes)}
    scores = np.stack([r.scores for r in results])
    targets = np.zeros((len(results), k), dtype=bool)
    ignore = np.zeros((len(results), k), dtype=bool)
    points, boxes = [], []
    for n, r in enumerate(results):
        im = data.images[r.index]
        for c in im.labels:
            targets[n, index[c]] = True
        for c in im.difficult_only:
            ignore[n, index[c]] = True
        points.append({c: (float(r.points[i, 0]), float(r.points[i, 1])) for c, i in index.items()})
        boxes.append(im.boxes)
    report = localization_report(scores, targets, points, boxes, cfg.classes, tolerance, ignore)
    report["skipped"] = [str(p) for p, _ in bad]
    if not quiet:
        report_skipped(bad)
    return report


# --- prediction outputs --------------------------------------------------------------------------------------

def safe_name(text: str) -> str:
    """A class name usable in a file name ("tv/monitor" -> "tv_monitor")."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "class"


def upsample_map(cell_map: np.ndarray, stride: int, input_hw: tuple[int, int], out_wh: tuple[int, int]) -> np.ndarray:
    """A (h, w) score map -> (H, W) at original resolution, bilinear, with the cell-centre geometry."""
    from scipy.ndimage import map_coordinates

    w_out, h_out = out_wh
    h, w = cell_map.shape
    ys = ((np.arange(h_out) + 0.5) * input_hw[0] / h_out - 0.5) / stride
    xs = ((np.arange(w_out) + 0.5) * input_hw[1] / w_out - 0.5) / stride
    yy, xx = np.meshgrid(np.clip(ys, 0, h - 1), np.clip(xs, 0, w - 1), indexing="ij")
    return map_coordinates(cell_map.astype(np.float32), [yy, xx], order=1, mode="nearest")


def render_overlay(image_path: Path, cell_map: np.ndarray, stride: int, input_hw: tuple[int, int],
                   point: tuple[float, float], caption: str, alpha: float = 0.5) -> Any:
    """The image blended with the class' probability map (inferno colour map), the peak marked, a caption."""
    import matplotlib
    from PIL import Image, ImageDraw

    with Image.open(image_path) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.float32)
    h, w = rgb.shape[:2]
    prob = 1.0 / (1.0 + np.exp(-upsample_map(cell_map, stride, input_hw, (w, h))))
    heat = matplotlib.colormaps["inferno"](prob)[..., :3] * 255.0
    out = Image.fromarray(((1 - alpha) * rgb + alpha * heat).clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(out)
    x, y = point
    r = max(4, round(min(w, h) / 40))
    draw.ellipse((x - r, y - r, x + r, y + r), outline=(0, 255, 0), width=max(2, r // 3))
    draw.line((x - 2 * r, y, x + 2 * r, y), fill=(0, 255, 0), width=1)
    draw.line((x, y - 2 * r, x, y + 2 * r), fill=(0, 255, 0), width=1)
    tw = draw.textlength(caption)
    draw.rectangle((0, 0, tw + 8, 14), fill=(0, 0, 0))
    draw.text((4, 1), caption, fill=(255, 255, 255))
    return out


def prediction_record(path: Path, result: Inference, classes: Sequence[str], stride: int, input_hw: tuple[int, int]
                      ) -> dict[str, Any]:
    """The JSON record of one image: classes by decreasing score with their peak points."""
    order = np.argsort(-result.scores, kind="stable")
    return {
        "image": str(path), "width": result.size[0], "height": result.size[1],
        "predictions": [{"class": classes[k], "score": round(float(result.scores[k]), 6),
                         "x": round(float(result.points[k, 0]), 2), "y": round(float(result.points[k, 1]), 2)}
                        for k in order],
        "maps": {"classes": list(classes), "stride": stride, "input_size": list(input_hw),
                 "cell_centre": "x = (stride * j + 0.5) * width / input_size[1], "
                                "y = (stride * i + 0.5) * height / input_size[0]"},
    }


def list_images(inputs: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Image files given directly or found (sorted, not recursively) in given folders."""
    from wsl.data.tagged import IMAGE_SUFFIXES

    paths: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            paths += sorted(p for p in item.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        elif item.exists():
            paths.append(item)
        else:
            raise BadInput("no such file or folder", item)
    return paths


def predict_images(run_dir: str | os.PathLike[str], inputs: Sequence[str | os.PathLike[str]],
                   out_dir: str | os.PathLike[str], scales: Sequence[float] | None = None, threshold: float = 0.5,
                   write_maps: bool = True, write_overlays: bool = True, batch_size: int = 16,
                   device: str = "auto", skip_existing: bool = False) -> tuple[int, int, int]:
    """Write per image ``<stem>.json``, ``<stem>.maps.npy`` and ``<stem>.<class>.png`` overlays (classes
    scoring >= ``threshold``, else the top one), then ``predictions.jsonl`` over all the inputs.

    Returns (images predicted now, images skipped as already done, unreadable images).
    """
    import json

    from wsl.io import atomic_open, check_unique_stems, load_json, save_npy, write_json, write_text

    paths = list_images(inputs)
    if not paths:
        raise BadInput("no image files in the given inputs")
    check_unique_stems(paths, "images")
    out = Path(out_dir)
    dev = select_device(device)
    model, cfg = load_localizer(run_dir, dev)
    todo = [p for p in paths if not (skip_existing and (out / f"{p.stem}.json").exists())]
    bad: list[tuple[Path, str]] = []
    records = [TaggedImage(p, ()) for p in todo]
    input_hw = (cfg.image_size, cfg.image_size)
    done = 0
    for result in infer(model, cfg, records, dev, batch_size, scales, bad):
        path = todo[result.index]
        record = prediction_record(path, result, cfg.classes, model.stride, input_hw)
        if write_maps:
            save_npy(out / f"{path.stem}.maps.npy", result.maps.astype(np.float32))
            record["maps"]["file"] = f"{path.stem}.maps.npy"
        if write_overlays:
            chosen = [k for k in np.argsort(-result.scores, kind="stable") if result.scores[k] >= threshold]
            for k in chosen or [int(np.argmax(result.scores))]:
                name = f"{path.stem}.{safe_name(cfg.classes[k])}.png"
                caption = f"{cfg.classes[k]} {result.scores[k]:.2f}"
                image = render_overlay(path, result.maps[k], model.stride, input_hw, tuple(result.points[k]), caption)
                with atomic_open(out / name, "wb") as f:
                    image.save(f, format="PNG")
        write_json(out / f"{path.stem}.json", record)
        done += 1
    report_skipped(bad)
    bad_paths = {str(p) for p, _ in bad}
    lines = [json.dumps(load_json(out / f"{p.stem}.json")) for p in paths
             if str(p) not in bad_paths and (out / f"{p.stem}.json").exists()]
    write_text(out / "predictions.jsonl", "".join(line + "\n" for line in lines))
    return done, len(paths) - len(todo), len(bad)


def read_localization_data(path: str | os.PathLike[str], classes: Sequence[str] | None = None,
                           split: str | None = None, images: str | os.PathLike[str] | None = None,
                           ignore_unknown: bool = False, keep_unlabelled: bool = False,
                           fixed_classes: bool = False) -> tuple[TaggedSet, tuple[str, ...]]:
    """Read data in any supported format and check it against the class list; return (data, classes).

    The class list is ``classes`` when given, else the data's declared one, else its labels. Images
    without any label are dropped with a warning unless ``keep_unlabelled`` (then: negatives).
    """
    from wsl.data.tagged import check_labels, read_tagged, resolve_classes, split_unlabelled

    data = read_tagged(path, split, images)
    class_list = tuple(classes) if (fixed_classes and classes) else resolve_classes(data, classes)
    data, dropped = check_labels(data, class_list, ignore_unknown)
    if dropped:
        warn(f"dropped {dropped} label(s) not in the class list ({path})")
    if not keep_unlabelled:
        data, unlabelled = split_unlabelled(data)
        if unlabelled:
            shown = ", ".join(im.path.name for im in unlabelled[:3]) + (", ..." if len(unlabelled) > 3 else "")
            warn(f"left out {len(unlabelled)} image(s) without labels ({shown}); --keep-unlabelled uses them "
                 "as negatives")
    if not data.images:
        raise BadInput("no labelled image left to use", path)
    return data, class_list
