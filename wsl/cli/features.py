"""`wsl features`: extract per-frame features from videos; inspect feature folders."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Per-frame video features: extract them, check a folder of them.", no_args_is_help=True)


def _extract_one(job: tuple[str, str, dict]) -> tuple[str, dict]:
    """Worker for --jobs: extract one video and write its .npy (index.json is written by the parent)."""
    from wsl.features.extract import ExtractConfig, extract
    from wsl.features.files import write_features

    video, out_dir, cfg_kwargs = job
    cfg = ExtractConfig(**cfg_kwargs)
    feats, meta = extract(video, cfg)
    write_features(out_dir, Path(video).stem, feats)
    meta.update(frames=int(feats.shape[0]), dim=int(feats.shape[1]))
    return Path(video).stem, meta


@app.command("extract")
def extract_cmd(
    videos: list[Path] = typer.Argument(..., metavar="VIDEOS...", help="Video files, or folders of them."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder for <video>.npy files and index.json."),
    fps: float = typer.Option(2.0, "--fps", help="Feature vectors per second of video."),
    backbone: str = typer.Option("classic", "--backbone", help="classic (weight-free HOG+colour+flow) or clip."),
    weights: Path | None = typer.Option(None, "--weights", help="Clip encoder weights (.safetensors or .pt)."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Videos processed in parallel."),
    skip_existing: bool = typer.Option(False, "--skip-existing", help="Skip videos whose .npy already exists."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda[:N] (clip backbone)."),
) -> None:
    """Extract one (T, d) float32 feature file per video, T = duration x fps."""
    from wsl.errors import BadInput
    from wsl.features.files import update_index
    from wsl.features.video import list_videos
    from wsl.io import check_unique_stems
    from wsl.parallel import map_jobs
    from wsl.progress import info, warn

    paths = list_videos(videos)
    if not paths:
        raise BadInput("no video files found in the given inputs")
    check_unique_stems(paths, "videos")
    if backbone == "clip" and weights is None:
        warn("--backbone clip without --weights uses random weights: the features carry little meaning")
    if device == "auto":
        device = "cpu"
        if backbone == "clip":
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
    todo = [p for p in paths if not (skip_existing and (output / f"{p.stem}.npy").exists())]
    if len(todo) < len(paths):
        info(f"skipping {len(paths) - len(todo)} video(s) already extracted")
    cfg = {"backbone": backbone, "fps": fps, "weights": str(weights) if weights else None, "device": device}
    entries = {}
    try:
        for stem, meta in map_jobs(_extract_one, [(str(p), str(output), cfg) for p in todo], jobs, "extracting"):
            entries[stem] = meta
    finally:
        if entries:  # record what was done even when a later video fails
            update_index(output, entries)
    info(f"wrote {len(entries)} feature file(s) to {output}")


@app.command("info")
def info_cmd(
    folder: Path = typer.Argument(..., help="A folder of <video>.npy feature files."),
    layout: str = typer.Option("Td", "--layout", help="Td (frames x dims) or dT (MS-TCN/Breakfast)."),
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
