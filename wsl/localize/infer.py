"""Loading a trained localiser and running it on images: ``wsl.localize.load`` and ``wsl.localize.predict``."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from wsl.data.tagged import IMAGE_SUFFIXES, TaggedImage
from wsl.errors import BadInput
from wsl.localize.data import TaggedImageDataset, collate, probe_images, report_skipped
from wsl.localize.model import GlobalMaxPoolLocalizer, LocalizerConfig, multiscale_maps, peak_points, prepare
from wsl.models.run_folder import CHECKPOINT, WEIGHTS, load_checkpoint, load_run_config
from wsl.models.runtime import select_device
from wsl.progress import track

KIND = "localize"


@dataclass(frozen=True)
class Localizer:
    """A trained model with its config and device, as ``load`` returns it."""

    model: GlobalMaxPoolLocalizer
    config: LocalizerConfig
    device: torch.device


def load(run_dir: str | os.PathLike[str], device: str = "auto") -> Localizer:
    """Rebuild the model of a run folder from its config and load its weights (final, else checkpoint)."""
    from wsl.features.backbones import load_weights

    run_dir = Path(run_dir)
    dev = select_device(device)
    cfg_dict = load_run_config(run_dir, KIND)
    try:
        cfg = LocalizerConfig.from_dict(cfg_dict["model"])
        cfg.validate()
    except (KeyError, TypeError, ValueError) as e:
        raise BadInput(f"run config is incomplete or malformed ({type(e).__name__}: {e})",
                       run_dir / "config.json") from None
    # The run's own weights hold the trunk: never depend on the file the trunk was first read from.
    model = GlobalMaxPoolLocalizer.from_config(replace(cfg, trunk_weights=None))
    if (run_dir / WEIGHTS).exists():
        load_weights(model, run_dir / WEIGHTS)
    elif (run_dir / CHECKPOINT).exists():
        target = model.adapt if cfg.frozen else model  # a frozen trunk's run checkpoints only the head
        load_checkpoint(run_dir / CHECKPOINT, target)
    else:
        raise BadInput(f"run folder has no weights ({WEIGHTS} or {CHECKPOINT}): was training interrupted "
                       "before its first epoch?", run_dir)
    model.to(dev).eval()
    if dev.type == "cuda":
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return Localizer(model, cfg, dev)


@dataclass
class Inference:
    """One image's outputs: probabilities (K,), points (K, 2) in original pixels, score maps (K, h, w)."""

    index: int
    scores: np.ndarray
    points: np.ndarray
    maps: np.ndarray
    size: tuple[int, int]


def infer(loc: Localizer, images: Sequence[TaggedImage], batch_size: int = 16, scales: Sequence[float] | None = None,
          bad: list[tuple[Path, str]] | None = None, quiet: bool = False) -> Iterator[Inference]:
    """Multi-scale inference over ``images``: one Inference per readable image, in order.

    Unreadable images (and images smaller than the trunk's stride) are skipped and appended to
    ``bad`` as (path, reason).
    """
    model, cfg, device = loc.model, loc.config, loc.device
    cuda = device.type == "cuda"
    scales = tuple(scales or cfg.test_scales)
    ok, unreadable = probe_images(images, min_side=model.stride, show_progress=not quiet)
    if bad is not None:
        bad.extend(unreadable)
    positions = {id(im): n for n, im in enumerate(images)}
    dataset = TaggedImageDataset(ok, cfg.classes, cfg.side(1.0))
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
        x = prepare(batch["image"].to(device, non_blocking=cuda), model.normalization, channels_last=cuda)
        with torch.no_grad(), torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=cuda):
            maps = multiscale_maps(model, x, scales).float()
        sizes = batch["size"].to(device)
        points = peak_points(maps, model.stride, (int(x.shape[-2]), int(x.shape[-1])), sizes)
        probs = torch.sigmoid(maps.amax(dim=(2, 3)))
        for n, j in enumerate(batch["index"].tolist()):
            if j in seen:  # a substitute for an image that failed to decode: already yielded
                continue
            seen.add(j)
            yield Inference(positions[id(ok[j])], probs[n].cpu().numpy(), points[n].cpu().numpy(),
                            maps[n].cpu().numpy(), tuple(batch["size"][n].tolist()))


def list_images(inputs: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Image files given directly or found (sorted, not recursively) in given folders."""
    paths: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not found:
                raise BadInput("no image files in this folder", item)
            paths += found
        elif item.exists():
            paths.append(item)
        else:
            raise BadInput("no such file or folder", item)
    return paths


@dataclass(frozen=True)
class PredictResult:
    """What ``predict`` wrote: counts, the output folder and the unreadable images it skipped."""

    out_dir: Path
    predicted: int
    already_done: int
    skipped: list[tuple[Path, str]]
    files: tuple[str, ...]


def predict(run_dir: str | os.PathLike[str], inputs: Sequence[str | os.PathLike[str]],
            out_dir: str | os.PathLike[str], scales: Sequence[float] | None = None, threshold: float = 0.5,
            classes: Sequence[str] | None = None, top_k: int | None = None, write_maps: bool = True,
            write_overlays: bool = True, batch_size: int = 16, device: str = "auto", skip_existing: bool = False,
            shard: tuple[int, int] | None = None) -> PredictResult:
    """Localise the classes of a trained run in images; write per image ``<stem>.json`` (scores and
    points), ``<stem>.maps.npy`` (score maps), ``<stem>.<class>.png`` overlays, and over all inputs
    ``predictions.jsonl`` and ``predictions.coco.json`` (COCO results: a box from each map).

    Overlays are drawn for ``classes`` when given, else the ``top_k`` best, else every class scoring at
    least ``threshold`` (at least the best one). ``shard`` (K, N) takes every N-th sorted input.
    An input that cannot be read is skipped with a warning; none readable at all is a BadInput.
    """
    from wsl.io import output_folder_for, save_npy, write_json
    from wsl.localize.outputs import prediction_record, write_collections
    from wsl.localize.outputs import write_overlays as draw
    from wsl.parallel import shard_inputs

    paths = shard_inputs(list_images(inputs), shard, "image")
    out = output_folder_for(out_dir, paths, "images", "predictions need a folder")
    loc = load(run_dir, device)
    cfg = loc.config
    unknown = [c for c in (classes or ()) if c not in cfg.classes]
    if unknown:
        raise BadInput(f"class {unknown[0]!r} is not one of the run's classes ({', '.join(cfg.classes[:8])}"
                       f"{', ...' if len(cfg.classes) > 8 else ''})", param="classes")
    if top_k is not None and top_k < 1:
        raise BadInput(f"top_k must be at least 1, got {top_k}", param="top_k")
    todo = [p for p in paths if not (skip_existing and (out / f"{p.stem}.json").exists())]
    bad: list[tuple[Path, str]] = []
    records = [TaggedImage(p, ()) for p in todo]
    input_hw = (cfg.side(1.0), cfg.side(1.0))
    done = 0
    for result in infer(loc, records, batch_size, scales, bad):
        path = todo[result.index]
        record = prediction_record(path, result, cfg.classes, loc.model.stride, input_hw)
        if write_maps:
            save_npy(out / f"{path.stem}.maps.npy", result.maps.astype(np.float32))
            record["maps"]["file"] = f"{path.stem}.maps.npy"
        if write_overlays:
            if classes:
                chosen = [cfg.classes.index(c) for c in classes]
            else:
                order = [int(k) for k in np.argsort(-result.scores, kind="stable")]
                chosen = order[:top_k] if top_k else ([k for k in order if result.scores[k] >= threshold] or order[:1])
            record["overlays"] = draw(out, path, result, chosen, cfg.classes, loc.model.stride, input_hw)
        write_json(out / f"{path.stem}.json", record)
        done += 1
    report_skipped(bad)
    if todo and len(bad) == len(todo):
        raise BadInput(f"none of the {len(todo)} image(s) could be read; first: {bad[0][0]} ({bad[0][1]})")
    files = write_collections(out, paths, {str(p) for p, _ in bad}, cfg.classes)
    return PredictResult(out, done, len(paths) - len(todo), bad, files)
