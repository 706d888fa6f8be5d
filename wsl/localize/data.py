"""The localiser's data: tagged images read and checked, image batches, and the cache of frozen-trunk maps.

With a frozen pretrained trunk (the default), the trunk's maps of every training image at every
training scale are computed once (``MapCache``) and stored in the run folder; an epoch then costs
only the adaptation layers, which is what makes CPU training practical. The cache is keyed by the
trunk, the input side and the images (paths, sizes, modification times), so a resumed or repeated
run reuses it and a changed image invalidates it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from wsl.data.tagged import TaggedImage, TaggedSet
from wsl.errors import BadInput
from wsl.features.preprocess import check_size, open_image, read_rgb
from wsl.localize.model import GlobalMaxPoolLocalizer, LocalizerConfig, prepare
from wsl.progress import track, warn

CACHE_DIR = "cache"


def read_data(path: str | os.PathLike[str], classes: Sequence[str] | None = None, split: str | None = None,
              images: str | os.PathLike[str] | None = None, ignore_unknown: bool = False,
              keep_unlabelled: bool = False, fixed_classes: bool = False) -> tuple[TaggedSet, tuple[str, ...]]:
    """Read data in any supported format and check it against the class list; return (data, classes).

    The class list is ``classes`` when given, else the data's declared one, else its labels. Images
    without any label are dropped with a warning unless ``keep_unlabelled`` (then: negatives).
    """
    from wsl.data.tagged import check_labels, resolve_classes, split_unlabelled
    from wsl.data.tagsets import read_tagged

    data = read_tagged(path, split, images)
    class_list = tuple(classes) if (fixed_classes and classes) else resolve_classes(data, classes)
    data, dropped = check_labels(data, class_list, ignore_unknown)
    if dropped:
        warn(f"dropped {dropped} label(s) not in the class list ({path})")
    if not keep_unlabelled:
        data, unlabelled = split_unlabelled(data)
        if unlabelled:
            shown = ", ".join(im.path.name for im in unlabelled[:3]) + (", ..." if len(unlabelled) > 3 else "")
            warn(f"left out {len(unlabelled)} image(s) without labels ({shown}); keep_unlabelled uses them "
                 "as negatives")
    if not data.images:
        raise BadInput("no labelled image left to use", path)
    return data, class_list


def probe_images(images: Sequence[TaggedImage], min_side: int = 1, show_progress: bool = True
                 ) -> tuple[list[TaggedImage], list[tuple[Path, str]]]:
    """Split images into those whose header reads and (path, reason) for the others (no decoding).

    Decompression bombs and images smaller than ``min_side`` (the trunk's stride) go to the others.
    """
    ok, bad = [], []
    for im in (track(images, "checking images") if show_progress else images):
        try:
            with open_image(im.path) as pil:
                w, h = pil.size
            check_size(w, h, min_side)
            ok.append(im)
        except BadInput as e:
            bad.append((im.path, e.message))
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


def label_frequencies(images: Sequence[TaggedImage], classes: Sequence[str]) -> list[float]:
    """The share of images that carry each class."""
    counts = dict.fromkeys(classes, 0)
    for im in images:
        for c in im.labels:
            counts[c] += 1
    return [counts[c] / max(1, len(images)) for c in classes]


def targets(images: Sequence[TaggedImage], classes: Sequence[str]) -> torch.Tensor:
    """Multi-hot (N, K) float targets."""
    index = {c: k for k, c in enumerate(classes)}
    out = torch.zeros(len(images), len(classes))
    for n, im in enumerate(images):
        for c in im.labels:
            out[n, index[c]] = 1.0
    return out


class TaggedImageDataset(Dataset):
    """Images as uint8 (3, size, size) tensors with multi-hot targets and original sizes.

    An image that fails to decode mid-epoch (truncated file) is replaced by the next readable one and
    its path returned under ``"bad"``, so an epoch never stops on one broken file and batches keep
    their size (which DDP's equal step counts need).
    """

    def __init__(self, images: Sequence[TaggedImage], classes: Sequence[str], size: int, flip: bool = False):
        self.images = list(images)
        self.targets = targets(self.images, classes)
        self.size = int(size)
        self.flip = flip

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict[str, Any]:
        bad: list[str] = []
        for attempt in range(len(self.images)):
            j = (i + attempt) % len(self.images)
            try:
                pixels, (w, h) = read_rgb(self.images[j].path, (self.size, self.size))
            except BadInput as e:  # any decoding failure: skip the file, report it
                bad.append(f"{self.images[j].path}\t{e.message}")
                continue
            image = torch.from_numpy(pixels).permute(2, 0, 1).contiguous()
            if self.flip and torch.rand(()) < 0.5:
                image = image.flip(-1)
            return {"image": image, "target": self.targets[j], "size": torch.tensor([w, h]),
                    "index": torch.tensor(j), "bad": bad}
        raise BadInput(f"none of the {len(self.images)} images could be decoded; first: {bad[0] if bad else '?'}")


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack the tensors of dataset items; gather the paths of images that failed to decode."""
    batch: dict[str, Any] = {k: torch.stack([it[k] for it in items]) for k in ("image", "target", "size", "index")}
    batch["bad"] = [b for it in items for b in it["bad"]]
    return batch


class CachedMaps(Dataset):
    """Index + target per image; the maps themselves stay in the cache the loss reads from."""

    def __init__(self, targets: torch.Tensor):
        self.targets = targets

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"index": torch.tensor(i), "target": self.targets[i]}


def _cache_key(images: Sequence[TaggedImage], trunk: str, side: int, weights: str | None) -> str:
    h = hashlib.sha256(f"{trunk}|{side}|{weights}".encode())
    for im in images:
        st = im.path.stat()
        h.update(f"|{im.path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:32]


@torch.no_grad()
def compute_maps(model: GlobalMaxPoolLocalizer, images: Sequence[TaggedImage], base: int, scale: float,
                 device: torch.device, batch_size: int = 32, channels_last: bool = False
                 ) -> tuple[torch.Tensor, list[tuple[Path, str]]]:
    """Trunk maps (N, C, h, w) float16 of ``images`` at ``scale`` (loaded at ``base`` then rescaled, as at
    test time); an image that fails to decode gets zero maps and is returned as bad."""
    trunk = model.trunk.eval()
    out: list[torch.Tensor] = []
    bad: list[tuple[Path, str]] = []
    for start in track(range(0, len(images), batch_size), f"trunk maps at scale {scale:g}"):
        pixels = []
        for im in images[start:start + batch_size]:
            try:
                rgb, _ = read_rgb(im.path, (base, base))
            except BadInput as e:
                bad.append((im.path, e.message))
                rgb = np.zeros((base, base, 3), np.uint8)
            pixels.append(torch.from_numpy(rgb).permute(2, 0, 1))
        x = prepare(torch.stack(pixels).to(device), model.normalization, channels_last, scale, model.stride)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            maps = trunk(x)
        out.append(maps.to(torch.float16).cpu())
    return torch.cat(out), bad


def cached_maps(model: GlobalMaxPoolLocalizer, cfg: LocalizerConfig, images: Sequence[TaggedImage], run_dir: Path,
                device: torch.device, batch_size: int = 32, write: bool = True
                ) -> tuple[list[torch.Tensor], list[tuple[Path, str]]]:
    """The frozen trunk's maps at each training scale, from ``run_dir/cache`` when its key matches."""
    from safetensors.torch import load_file, save

    from wsl.io import write_bytes

    maps: list[torch.Tensor] = []
    bad: dict[Path, str] = {}
    for scale in cfg.train_scales:
        side = cfg.side(scale)
        key = _cache_key(images, cfg.trunk, side, cfg.trunk_weights)
        path = run_dir / CACHE_DIR / f"maps-{side}.safetensors"
        tensor = None
        if path.exists():
            try:
                from safetensors import safe_open

                with safe_open(str(path), "pt") as f:
                    meta = f.metadata() or {}
                if meta.get("key") == key:
                    tensor = load_file(str(path))["maps"]
                    bad.update({Path(p): "unreadable" for p in meta.get("bad", "").split("\n") if p})
            except Exception:  # a damaged cache is recomputed, never trusted
                tensor = None
        if tensor is None:
            tensor, failed = compute_maps(model, images, cfg.image_size, scale, device, batch_size,
                                          device.type == "cuda")
            bad.update(dict(failed))
            if write:
                write_bytes(path, save({"maps": tensor}, {"key": key, "bad": "\n".join(str(p) for p in bad)}))
        maps.append(tensor)
    return maps, sorted(bad.items())
