"""`wsl features`: extract per-frame features from videos; inspect feature folders."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from wsl.cli import options

app = typer.Typer(help="Per-frame video features: extract them, check a folder of them.", no_args_is_help=True,
                  rich_markup_mode=None)


@app.command("extract")
def extract_cmd(
    videos: list[Path] = typer.Argument(..., metavar="VIDEOS...", help="Video files, or folders of them."),
    output: Path = options.output("Folder for <video>.npy files and index.json (fps, frame times, backbone)."),
    fps: float = options.fps(2.0, "Feature vectors per second of video."),
    backbone: Literal["lite0", "lite1", "lite2", "classic", "clip"] = typer.Option(
        "lite0", "--backbone", help="lite0-2: pretrained EfficientNet-Lite, 1280-d (extra vision); classic: "
                                    "weight-free HOG+colour+flow; clip: from-scratch clip encoder (--weights)."),
    weights: Path | None = typer.Option(None, "--weights", help="Weights file (.safetensors or .pt) for the "
                                        "backbone: clip encoder weights, or other EfficientNet-Lite weights."),
    size: int = typer.Option(224, "--size", min=32, help="lite*: shorter side of the frames the trunk sees."),
    spatial: bool = typer.Option(False, "--spatial", help="lite*: also write <video>.maps.npy (T, 1280, h, w)."),
    batch_size: int = options.batch_size(32),
    jobs: int = options.jobs(),
    skip_existing: bool = options.skip_existing(),
    shard: str | None = options.shard(),
    device: str = options.device(),
    threads: int | None = options.threads(),
) -> None:
    """Extract one (T, d) float32 feature file per video, T = duration x fps, frame times in index.json."""
    from wsl.cli.options import parse_shard
    from wsl.features import extract
    from wsl.progress import info

    if threads:
        import torch

        torch.set_num_threads(threads)
    res = extract(videos, output, backbone, fps, weights, size, spatial, batch_size, device, jobs, skip_existing,
                  parse_shard(shard))
    info(f"wrote {len(res.written)} feature file(s) to {output}")


@app.command("info")
def info_cmd(
    folder: Path = typer.Argument(..., help="A folder of <video>.npy feature files."),
    layout: Literal["Td", "dT"] = options.layout(),
) -> None:
    """Check every feature file in a folder and print one line per video (frames, dim, fps)."""
    from wsl.features.files import load_feature_dir, read_index, video_meta

    feats = load_feature_dir(folder, layout=layout)
    index = read_index(folder)
    for video, arr in feats.items():
        meta = video_meta(index, video)
        fps = meta.get("fps")
        seconds = f"{arr.shape[0] / fps:.1f}s" if fps else "?s"
        typer.echo(f"{video}\t{arr.shape[0]}\t{arr.shape[1]}\t{fps or '?'}\t{seconds}\t{meta.get('backbone', '?')}")
