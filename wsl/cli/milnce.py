"""`wsl milnce`: joint video-text embeddings from narrated video (MIL-NCE), and text-to-video search."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(help="Joint video-text embeddings from narrated video (MIL-NCE): train, embed, search, eval.",
                  no_args_is_help=True)


def _data_dirs(data: Path, captions: Path | None, features: Path | None, videos: Path | None,
               video: str) -> tuple[Path, Path, str]:
    """(captions folder, clip source folder, video encoder kind) from DATA and the explicit overrides."""
    from wsl.errors import BadInput

    if not data.is_dir():
        raise BadInput("not a folder (expected captions/ plus features/ or videos/ inside)", data)
    captions = captions or data / "captions"
    if not captions.is_dir():
        captions = data if any(data.glob("*.csv")) else captions
    if not captions.is_dir():
        raise BadInput("no captions/ folder of <video>.csv files here; pass --captions", data)
    if video == "auto":
        video = "frames" if videos or (not features and not (data / "features").is_dir()) else "features"
    source = (videos or data / "videos") if video == "frames" else (features or data / "features")
    if not source.is_dir():
        raise BadInput(f"no {source.name}/ folder here; pass --{'videos' if video == 'frames' else 'features'}", data)
    return captions, source, video


@app.command("train")
def train_cmd(
    data: Path = typer.Argument(..., help="Folder with captions/ (<video>.csv) and features/ or videos/."),
    output: Path = typer.Option(..., "-o", "--output", help="Run folder: config, checkpoint, log."),
    captions: Path | None = typer.Option(None, "--captions", help="Caption CSV folder (default DATA/captions)."),
    features: Path | None = typer.Option(None, "--features", help="Feature folder (default DATA/features)."),
    videos: Path | None = typer.Option(None, "--videos", help="Video folder, for end-to-end training on frames."),
    video: str = typer.Option("auto", "--video", help="Video encoder: features (MLP), frames (clip encoder), auto."),
    text: str = typer.Option("words", "--text", help="Text encoder: words (own vocabulary) or minilm (pretrained)."),
    candidates: int = typer.Option(4, "--candidates", help="Positive candidate captions per clip (1 = NCE)."),
    clip_seconds: float = typer.Option(3.2, "--clip-seconds", help="Clip length in seconds."),
    clip_steps: int = typer.Option(8, "--clip-steps", help="Feature rows or frames per clip."),
    frame_size: int = typer.Option(64, "--frame-size", help="Frames: square side in pixels."),
    trunk: str = typer.Option("tiny", "--trunk", help="Frames: image trunk preset (tiny, small, base)."),
    embed_dim: int = typer.Option(512, "--embed-dim", help="Joint embedding dimension."),
    temperature: float = typer.Option(0.05, "--temperature", help="Softmax temperature on cosine similarities."),
    min_count: int = typer.Option(1, "--min-count", help="Words seen fewer times are left out of the vocabulary."),
    max_vocab: int | None = typer.Option(None, "--max-vocab", help="Keep at most this many words."),
    clips_per_video: int = typer.Option(1, "--clips-per-video", help="Clips sampled per video per epoch (1, as "
                                        "in the paper: many passes over few videos let the model memorise them)."),
    fps: float | None = typer.Option(None, "--fps", help="Feature rows per second when index.json has none."),
    epochs: int = typer.Option(20, "--epochs"),
    batch_size: int = typer.Option(64, "--batch-size", help="Clips per batch (per process under torchrun)."),
    lr: float = typer.Option(1e-3, "--lr"),
    weight_decay: float = typer.Option(1e-4, "--weight-decay"),
    max_steps: int | None = typer.Option(None, "--max-steps", help="Stop after this many optimiser steps."),
    workers: int = typer.Option(-1, "--workers", help="Data loader processes (-1: 0 on CPU, up to 8 on GPU)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda[:N]."),
    seed: int = typer.Option(0, "--seed"),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --output from its checkpoint."),
    eval_pairs: Path | None = typer.Option(None, "--eval-pairs", help="video_id,start,end,text CSV to evaluate "
                                                                        "after every epoch."),
    eval_source: Path | None = typer.Option(None, "--eval-source", help="Features/videos of the --eval-pairs."),
) -> None:
    """Train a video-text dual encoder with MIL-NCE (several GPUs: launch with torchrun)."""
    from wsl.models.milnce import MilNceConfig, train
    from wsl.models.training import TrainConfig
    from wsl.progress import info

    cap_dir, src_dir, kind = _data_dirs(data, captions, features, videos, video)
    cfg = MilNceConfig(video=kind, text=text, candidates=candidates, clip_seconds=clip_seconds, clip_steps=clip_steps,
                       frame_size=frame_size, trunk=trunk, embed_dim=embed_dim, temperature=temperature)
    _check_positive(candidates=candidates, clip_seconds=clip_seconds, clip_steps=clip_steps, embed_dim=embed_dim,
                    temperature=temperature, clips_per_video=clips_per_video, batch_size=batch_size, epochs=epochs)
    tcfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, seed=seed,
                       device=device, num_workers=workers, max_steps=max_steps)
    history = train(cap_dir, src_dir, output, cfg, tcfg, clips_per_video=clips_per_video, min_count=min_count,
                    max_vocab=max_vocab, fps=fps, resume=resume, eval_pairs=eval_pairs, eval_source_dir=eval_source)
    if history:
        last = history[-1]
        extra = "".join(f", {k} {last[k]:.3f}" for k in ("R@1", "R@10", "step_recall") if k in last)
        info(f"trained {last['step']} steps, loss {last['loss']:.3f}{extra}; run in {output}")


def _check_positive(**values: float) -> None:
    from wsl.errors import BadInput

    for name, v in values.items():
        if not v > 0:
            raise BadInput(f"--{name.replace('_', '-')} must be positive, got {v}")


def _read_sentences(path: Path) -> tuple[list[str], list[str]]:
    """(ids, sentences) from a text file (one per line) or a CSV with a text/sentence column."""
    import csv
    import io

    from wsl.errors import BadInput
    from wsl.io import read_text

    body, _ = read_text(path)
    if path.suffix.lower() == ".csv":
        rows = list(csv.reader(io.StringIO(body)))
        header = [h.strip().lower() for h in rows[0]] if rows else []
        col = next((header.index(c) for c in ("text", "sentence", "caption") if c in header), None)
        if col is None:
            raise BadInput("CSV needs a text, sentence or caption column", path, 1)
        idc = next((header.index(c) for c in ("key", "id", "video_id") if c in header), None)
        pairs = [(r[idc] if idc is not None else str(i), r[col]) for i, r in enumerate(rows[1:], start=2)
                 if len(r) > col and r[col].strip()]
    else:
        pairs = [(str(i), line.strip()) for i, line in enumerate(body.splitlines(), start=1) if line.strip()]
    if not pairs:
        raise BadInput("no sentences in this file", path)
    return [p[0] for p in pairs], [p[1] for p in pairs]


@app.command("embed")
def embed_cmd(
    run: Path = typer.Argument(..., help="Run folder of `wsl milnce train`."),
    source: Path | None = typer.Argument(None, help="Feature or video folder: embed sliding-window clips."),
    output: Path = typer.Option(..., "-o", "--output", help="Index name: writes NAME.npy + NAME.json."),
    sentences: Path | None = typer.Option(None, "--sentences", help="Embed sentences (text file or CSV) instead."),
    stride: float | None = typer.Option(None, "--stride", help="Seconds between clip starts (default half a clip)."),
    fps: float | None = typer.Option(None, "--fps", help="Feature rows per second when index.json has none."),
    ann: str = typer.Option("none", "--ann", help="Also build an approximate index: none, ivf or hnsw (faiss)."),
    device: str = typer.Option("auto", "--device"),
) -> None:
    """Embed clips (video id, start, end) or sentences into an index for `wsl milnce search`."""
    from wsl.data.howto100m import clip_windows
    from wsl.errors import BadInput
    from wsl.models.milnce import MilNce, open_source
    from wsl.models.search import build_ann, save_ann, save_index
    from wsl.progress import info

    if (source is None) == (sentences is None):
        raise BadInput("give either a feature/video folder or --sentences FILE")
    m = MilNce.load(run, device)
    meta = {"model_id": m.model_id, "model": str(run.resolve())}
    if sentences is not None:
        ids, texts = _read_sentences(sentences)
        vectors = m.embed_sentences(texts)
        items = [{"id": i, "text": t} for i, t in zip(ids, texts, strict=True)]
        meta["kind"] = "sentences"
    else:
        src = open_source(m.cfg, source, fps=fps)
        stride = stride or m.cfg.clip_seconds / 2
        _check_positive(stride=stride)
        clips = [(v, a, b) for v in src.videos for a, b in clip_windows(src.duration(v), m.cfg.clip_seconds, stride)]
        vectors = m.embed_clips(src, clips, progress="embedding clips")
        items = [{"video": v, "start": round(a, 3), "end": round(b, 3)} for v, a, b in clips]
        meta.update(kind="clips", clip_seconds=m.cfg.clip_seconds, stride=stride, source=str(source))
    path = save_index(output, vectors, items, meta)
    if ann != "none":
        save_ann(build_ann(vectors, ann), output)
    info(f"wrote {len(items)} {meta['kind']} to {path}" + (f" (+ {ann} index)" if ann != "none" else ""))


@app.command("search")
def search_cmd(
    index: Path = typer.Argument(..., help="Index from `wsl milnce embed` (NAME or NAME.npy)."),
    queries: list[str] = typer.Argument(..., help="Sentences to search for."),
    k: int = typer.Option(10, "-k", help="Results per query."),
    model: Path | None = typer.Option(None, "--model", help="Run folder of the model (default: the index's)."),
    exact: bool = typer.Option(False, "--exact", help="Exact search even when an approximate index exists."),
    nprobe: int = typer.Option(32, "--nprobe", help="IVF lists visited per query (approximate search)."),
    fmt: str = typer.Option("tsv", "--format", help="tsv, jsonl or json."),
    device: str = typer.Option("auto", "--device"),
) -> None:
    """Clips (video id, start, end) or sentences nearest to each query sentence, best first."""
    from wsl.errors import BadInput
    from wsl.models.milnce import MilNce
    from wsl.models.search import ann_search, exact_search, load_ann, load_index

    if fmt not in ("tsv", "jsonl", "json"):
        raise BadInput(f"unknown --format {fmt!r}: use tsv, jsonl or json")
    _check_positive(k=k)
    idx = load_index(index)
    run = model or (Path(idx.meta["model"]) if idx.meta.get("model") else None)
    if run is None:
        raise BadInput("the index does not say which model built it: pass --model RUN", idx.path)
    m = MilNce.load(run, device)
    if m.model_id != idx.model_id:
        raise BadInput(f"this index was built by another model (fingerprint {idx.model_id}, {run} is {m.model_id}); "
                       f"search it with the model that built it, or re-embed with `wsl milnce embed {run}`", idx.path)
    q = m.embed_sentences(queries)
    faiss_index = None if exact else load_ann(index)
    if faiss_index is not None:
        scores, ids = ann_search(faiss_index, q, k, nprobe=nprobe)
    else:
        scores, ids = exact_search(idx.vectors, q, k)
    results = []
    for qi, query in enumerate(queries):
        for rank, (s, i) in enumerate(zip(scores[qi], ids[qi], strict=True), start=1):
            if i >= 0:
                results.append({"query": query, "rank": rank, "score": round(float(s), 4), **idx.items[int(i)]})
    if fmt == "json":
        typer.echo(json.dumps(results, ensure_ascii=False, indent=2))
    elif fmt == "jsonl":
        for r in results:
            typer.echo(json.dumps(r, ensure_ascii=False))
    else:
        cols = ["query", "rank", "score", *(["video", "start", "end"] if idx.meta.get("kind") == "clips"
                                             else ["id", "text"])]
        typer.echo("\t".join(cols))
        for r in results:
            typer.echo("\t".join(str(r.get(c, "")) for c in cols))


@app.command("eval")
def eval_cmd(
    run: Path = typer.Argument(..., help="Run folder of `wsl milnce train`."),
    pairs: Path = typer.Argument(..., help="CSV video_id,start,end,text (YouCook2 layout): gold clip per sentence."),
    source: Path = typer.Argument(..., help="Feature or video folder of those videos."),
    output: str = typer.Option("-", "-o", "--output", help="JSON file of the metrics (- for stdout)."),
    stride: float | None = typer.Option(None, "--stride", help="Window step for step localisation (seconds)."),
    fps: float | None = typer.Option(None, "--fps"),
    device: str = typer.Option("auto", "--device"),
) -> None:
    """Text-to-video R@1/5/10 and median rank over the pairs' clips; zero-shot step localisation recall."""
    from wsl.data.howto100m import read_sentence_pairs
    from wsl.io import write_json
    from wsl.models.milnce import MilNce, evaluate, open_source
    from wsl.progress import warn

    m = MilNce.load(run, device)
    gold, skipped = read_sentence_pairs(pairs)
    if skipped:
        warn(f"skipped {len(skipped)} bad row(s) of {pairs} (first: line {skipped[0][0]}: {skipped[0][1]})")
    result = evaluate(m, gold, open_source(m.cfg, source, fps=fps), stride)
    if result["unknown_sentences"]:
        warn(f"{result['unknown_sentences']} sentence(s) have no word in the model's vocabulary")
    write_json(output, {"model_id": m.model_id, **result})


@app.command("make-demo")
def make_demo_cmd(
    output: Path = typer.Argument(..., help="Folder for train/ and test/ in the HowTo100M layout."),
    train_videos: int = typer.Option(300, "--train-videos"),
    test_videos: int = typer.Option(30, "--test-videos"),
    shift_std: float = typer.Option(5.0, "--shift-std", help="Spread (s) of narration around its action."),
    unrelated: float = typer.Option(0.3, "--unrelated", help="Share of captions about nothing on screen."),
    videos: bool = typer.Option(False, "--videos", help="Also write small .mp4 files (frames path)."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Generate a narrated-video set with known speech/action misalignment (see docs/milnce.md)."""
    from wsl.data.narrated import NarratedSetParams, make_narrated_set
    from wsl.progress import info

    p = NarratedSetParams(train_videos=train_videos, test_videos=test_videos, shift_std=shift_std,
                          unrelated=unrelated, videos=videos, seed=seed)
    s = make_narrated_set(output, p)
    info(f"wrote {train_videos} + {test_videos} videos, {s['captions']} captions ({s['unrelated']} unrelated), "
         f"{s['pairs']} test pairs to {output}")
