"""`wsl milnce`: joint video-text embeddings from narrated video (MIL-NCE), and text-to-video search.

Also `wsl eval milnce` (``evaluate``) and `wsl demo-data narrated` (``demos``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Literal

import typer

from wsl.cli import options

app = typer.Typer(help="Joint video-text embeddings from narrated video (MIL-NCE): train, embed, search.",
                  no_args_is_help=True, rich_markup_mode=None)


@app.command("train")
def train_cmd(
    data: Path = typer.Argument(..., help="Folder with captions/ (<video>.csv/.srt/.vtt/.json) and features/ "
                                          "or videos/."),
    output: Path = options.output("Run folder: config.json, checkpoint, model.safetensors, log.jsonl."),
    captions: Path | None = typer.Option(None, "--captions", help="Narration folder (default DATA/captions)."),
    features: Path | None = typer.Option(None, "--features", help="Feature folder (default DATA/features)."),
    videos: Path | None = typer.Option(None, "--videos", help="Video folder, for end-to-end training on frames."),
    video: Literal["auto", "features", "frames"] = typer.Option(
        "auto", "--video", help="Video encoder: features (MLP over .npy rows), frames (clip encoder), auto."),
    text: Literal["words", "minilm"] = typer.Option(
        "words", "--text", help="Text encoder: words (own vocabulary) or minilm (frozen pretrained, extra "
                                "text-encoder)."),
    candidates: int = typer.Option(4, "--candidates", help="Positive candidate captions per clip (1 = NCE)."),
    clip_seconds: float = typer.Option(3.2, "--clip-seconds", help="Clip length in seconds."),
    clip_steps: int = typer.Option(8, "--clip-steps", help="Feature rows or frames per clip."),
    frame_size: int = typer.Option(64, "--frame-size", help="Frames: square side in pixels."),
    trunk: str = typer.Option("tiny", "--trunk", help="Frames: image trunk preset (tiny, small, base)."),
    embed_dim: int = typer.Option(256, "--embed-dim", help="Joint embedding dimension."),
    temperature: float = typer.Option(0.05, "--temperature", help="Softmax temperature on cosine similarities."),
    min_count: int = typer.Option(1, "--min-count", help="Words seen fewer times are left out of the vocabulary."),
    max_vocab: int | None = typer.Option(None, "--max-vocab", help="Keep at most this many words."),
    clips_per_video: int | None = typer.Option(
        None, "--clips-per-video", help="Clips sampled per video per epoch (default: enough for 25 steps an epoch)."),
    fps: float | None = options.fps(None, "Feature rows per second when index.json has none."),
    layout: Literal["Td", "dT"] = options.layout(),
    epochs: int | None = options.epochs(None),  # None: a budget sized from the data
    batch_size: int = options.batch_size(64),
    lr: float = options.lr(1e-3),
    weight_decay: float = typer.Option(1e-4, "--weight-decay", help="AdamW weight decay."),
    max_steps: int | None = typer.Option(None, "--max-steps", help="Stop after this many optimiser steps."),
    validation: float = typer.Option(0.1, "--validation", help="Share of training videos held out to choose "
                                                               "the weights and stop (0: none)."),
    patience: int = typer.Option(4, "--patience", help="Stop after this many epochs without held-out progress."),
    workers: int = typer.Option(-1, "--workers", help="Data loader processes (-1: 0 on CPU, up to 8 on GPU)."),
    device: str = options.device(),
    seed: int = options.seed(),
    resume: bool = options.resume(),
    eval_pairs: Path | None = typer.Option(None, "--eval-pairs", help="video_id,start,end,text CSV to evaluate "
                                                                        "after every epoch (logged)."),
    eval_source: Path | None = typer.Option(None, "--eval-source", help="Features/videos of the --eval-pairs."),
) -> None:
    """Train a video-text dual encoder with MIL-NCE (several GPUs: launch with torchrun).

    Without --epochs: a step budget sized from the data, a --validation share of the videos held out,
    the best weights on them kept, and a stop after --patience epochs without progress.
    """
    from wsl.milnce import MilNceConfig, train

    cfg = MilNceConfig(text=text, candidates=candidates, clip_seconds=clip_seconds, clip_steps=clip_steps,
                       frame_size=frame_size, trunk=trunk, embed_dim=embed_dim, temperature=temperature)
    train(data, output, config=cfg, captions=captions, features=features, videos=videos, video=video,
          epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, max_steps=max_steps, seed=seed,
          device=device, workers=workers, clips_per_video=clips_per_video, min_count=min_count,
          max_vocab=max_vocab, fps=fps, layout=layout, validation=validation, patience=patience, resume=resume,
          eval_pairs=eval_pairs, eval_source=eval_source)


@app.command("embed")
def embed_cmd(
    run: Path = typer.Argument(..., help="Run folder of `wsl milnce train`."),
    source: Path | None = typer.Argument(None, help="Feature or video folder: embed sliding-window clips."),
    output: Path = options.output("Index name: writes NAME.npy + NAME.json (+ NAME.faiss)."),
    sentences: Path | None = typer.Option(None, "--sentences", help="Embed sentences (text file or CSV) instead."),
    stride: float | None = typer.Option(None, "--stride", help="Seconds between clip starts (default half a clip)."),
    fps: float | None = options.fps(None, "Feature rows per second when index.json has none."),
    layout: Literal["Td", "dT"] = options.layout(),
    ann: Literal["none", "ivf", "hnsw"] = typer.Option("none", "--ann", help="Also build an approximate faiss "
                                                                             "index (extra ann)."),
    shard: str | None = options.shard(),
    device: str = options.device(),
) -> None:
    """Embed clips (video id, start, end) or sentences into an index for `wsl milnce search`."""
    from wsl.milnce import embed
    from wsl.progress import info

    r = embed(run, output, source, sentences=sentences, stride=stride, fps=fps, layout=layout, ann=ann,
              device=device, shard=options.parse_shard(shard))
    info(f"wrote {r.count} {r.kind} to {r.path}" + (f" (+ {r.ann} index)" if r.ann != "none" else ""))


@app.command("search")
def search_cmd(
    index: Path = typer.Argument(..., help="Index from `wsl milnce embed` (NAME or NAME.npy)."),
    queries: list[str] = typer.Argument(..., help="Sentences to search for."),
    k: int = typer.Option(10, "-k", help="Results per query."),
    model: Path | None = typer.Option(None, "--model", help="Run folder of the model (default: the index's)."),
    exact: bool = typer.Option(False, "--exact", help="Exact search even when an approximate index exists."),
    nprobe: int = typer.Option(32, "--nprobe", help="IVF lists visited per query (approximate search)."),
    fmt: Literal["tsv", "jsonl", "json"] = options.fmt("tsv", "Output format: tsv, jsonl or json."),
    device: str = options.device(),
) -> None:
    """Clips (video id, start, end) or sentences nearest to each query sentence, best first, on stdout."""
    from wsl.milnce import search

    result = search(index, queries, k, model=model, exact=exact, nprobe=nprobe, device=device)
    rows = [h.as_dict() for h in result.hits]
    if fmt == "json":
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif fmt == "jsonl":
        for r in rows:
            typer.echo(json.dumps(r, ensure_ascii=False))
    else:
        cols = ["query", "rank", "score", *(["video", "start", "end"] if result.kind == "clips" else ["id", "text"])]
        typer.echo("\t".join(cols))
        for r in rows:
            typer.echo("\t".join(str(r.get(c, "")) for c in cols))


def evaluate(
    run: Path = typer.Argument(..., help="Run folder of `wsl milnce train`."),
    pairs: Path = typer.Argument(..., help="CSV video_id,start,end,text (YouCook2 layout): gold clip per sentence."),
    source: Path = typer.Argument(..., help="Feature or video folder of those videos."),
    output: str = options.output("Metrics JSON file (- for stdout).", default="-"),
    stride: float | None = typer.Option(None, "--stride", help="Window step for step localisation (seconds)."),
    fps: float | None = options.fps(None, "Feature rows per second when index.json has none."),
    layout: Literal["Td", "dT"] = options.layout(),
    device: str = options.device(),
) -> None:
    """MIL-NCE: text-to-clip R@1/5/10 and median rank; step localisation recall per (video, step) and per segment."""
    from rich.console import Console
    from rich.table import Table

    from wsl.io import refuse_overwriting_inputs, write_json
    from wsl.milnce import evaluate as evaluate_run

    refuse_overwriting_inputs([output], [pairs])
    result = evaluate_run(run, pairs, source, stride=stride, fps=fps, layout=layout, device=device)
    table = Table(title=f"milnce {run}")
    for col in ("R@1", "R@5", "R@10", "median rank", "step recall", "segment recall"):
        table.add_column(col, justify="right")
    table.add_row(f"{result.r1:.3f}", f"{result.r5:.3f}", f"{result.r10:.3f}", f"{result.median_rank:g}",
                  f"{result.step_recall:.3f} ({result.steps})", f"{result.segment_recall:.3f} ({result.segments})")
    Console(file=sys.stderr).print(table)
    write_json(output, result.as_dict())


def narrated(
    output: Path = typer.Argument(..., help="Folder for train/ and test/ in the HowTo100M layout."),
    train_videos: int = typer.Option(300, "--train-videos", min=1, help="Videos in train/."),
    test_videos: int = typer.Option(30, "--test-videos", min=1, help="Videos in test/ (with gold pairs.csv)."),
    shift_std: float = typer.Option(5.0, "--shift-std", min=0.0, help="Spread (s) of narration around its action."),
    unrelated: float = typer.Option(0.3, "--unrelated", min=0.0, max=0.95,
                                    help="Share of captions about nothing on screen."),
    videos: bool = typer.Option(False, "--videos", help="Also write small .mp4 files (frames path)."),
    seed: int = options.seed(),
) -> None:
    """MIL-NCE: narrated videos with known speech/action misalignment (features + captions; docs/milnce.md)."""
    from wsl.data.synth_narrated_set import NarratedSetParams, make_narrated_set
    from wsl.progress import info

    p = NarratedSetParams(train_videos=train_videos, test_videos=test_videos, shift_std=shift_std,
                          unrelated=unrelated, videos=videos, seed=seed)
    s = make_narrated_set(output, p)
    info(f"wrote {train_videos} + {test_videos} videos, {s['captions']} captions ({s['unrelated']} unrelated), "
         f"{s['pairs']} test pairs to {output}")


demos = {"narrated": narrated}
