"""Using a trained MIL-NCE model: embed clips or sentences into an index, and search it by text."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wsl.errors import BadInput, WorkFailed
from wsl.milnce.data import Source, clip_windows, open_source
from wsl.milnce.model import KIND, DualEncoder, MilNceConfig, build_model, model_fingerprint
from wsl.milnce.outputs import (
    WEIGHTS,
    EmbeddingIndex,
    ann_search,
    build_ann,
    exact_search,
    load_ann,
    load_index,
    save_ann,
    save_index,
)
from wsl.milnce.text import TextSide


@dataclass
class MilNce:
    """A trained dual encoder with what it takes to embed clips and sentences."""

    model: DualEncoder
    cfg: MilNceConfig
    model_id: str
    run_dir: str
    device: torch.device

    @classmethod
    def load(cls, run_dir: str | os.PathLike[str], device: str = "auto") -> MilNce:
        """The run's kept weights (``model.safetensors``), else its last checkpoint, on ``device``."""
        from wsl.features.backbones import load_weights
        from wsl.models.run_folder import CHECKPOINT, load_checkpoint, load_run_config
        from wsl.models.runtime import select_device

        raw = load_run_config(run_dir, KIND)
        cfg = MilNceConfig.from_dict(raw.get("model", {}))
        model = build_model(cfg)
        if (Path(run_dir) / WEIGHTS).exists():
            load_weights(model, Path(run_dir) / WEIGHTS)
        else:
            load_checkpoint(Path(run_dir) / CHECKPOINT, model)
        dev = select_device(device)
        model.to(dev).eval()
        return cls(model, cfg, model_fingerprint(model), str(run_dir), dev)

    def text_side(self) -> TextSide:
        return TextSide(self.cfg, str(self.device))

    @torch.no_grad()
    def embed_sentences(self, texts: Sequence[str], batch_size: int = 1024, strict: bool = True) -> np.ndarray:
        """(N, D) float32 unit vectors. ``strict``: refuse a sentence with no word the model knows
        (otherwise it embeds as the text encoder's bias, the same vector for every such sentence)."""
        side = self.text_side()
        if strict:
            for t in texts:
                if not side.known(t):
                    assert side.vocab is not None
                    raise BadInput(f"no word of {t!r} is in the model's vocabulary ({len(side.vocab) - 1} words "
                                   f"from its training captions); rephrase with other words")
        out = []
        for i in range(0, len(texts), batch_size):
            x = torch.from_numpy(side.encode(texts[i: i + batch_size])).to(self.device)
            out.append(self.model.encode_text(x).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.cfg.embed_dim), np.float32)

    @torch.no_grad()
    def embed_clips(self, source: Source, clips: Sequence[tuple[str, float, float]], batch_size: int = 256,
                    progress: str | None = None) -> np.ndarray:
        """(N, D) float32 unit vectors of clips given as (video, start, end)."""
        from wsl.progress import track

        starts = list(range(0, len(clips), batch_size))
        out = []
        for i in track(starts, progress) if progress else starts:
            arr = np.stack([source.clip(v, a, b, self.cfg.clip_steps) for v, a, b in clips[i: i + batch_size]])
            out.append(self.model.encode_video(torch.from_numpy(arr).to(self.device)).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.cfg.embed_dim), np.float32)


def load(run_dir: str | os.PathLike[str], device: str = "auto") -> MilNce:
    """A trained model from its run folder (``wsl milnce train -o RUN``)."""
    return MilNce.load(run_dir, device)


# --- embed ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EmbedResult:
    """An index written by ``embed``: where, what kind of rows, how many, and which model made them."""

    path: Path
    kind: str  # clips or sentences
    count: int
    model_id: str
    ann: str  # none, ivf or hnsw


def read_sentences(path: str | os.PathLike[str]) -> tuple[list[str], list[str]]:
    """(ids, sentences) from a text file (one per line) or a CSV with a text/sentence/caption column."""
    import csv
    import io

    from wsl.io import read_text

    path = Path(path)
    body, _ = read_text(path)
    if path.suffix.lower() == ".csv":
        try:
            rows = list(csv.reader(io.StringIO(body)))
        except csv.Error as e:
            raise BadInput(f"unreadable CSV ({e})", path) from None
        header = [h.strip().lower().lstrip("\ufeff") for h in rows[0]] if rows else []
        col = next((header.index(c) for c in ("text", "sentence", "caption") if c in header), None)
        if col is None:
            raise BadInput("CSV needs a text, sentence or caption column", path, 1)
        idc = next((header.index(c) for c in ("key", "id", "video_id") if c in header), None)
        pairs = [(r[idc] if idc is not None and len(r) > idc else str(i), r[col])
                 for i, r in enumerate(rows[1:], start=2) if len(r) > col and r[col].strip()]
    else:
        pairs = [(str(i), line.strip()) for i, line in enumerate(body.splitlines(), start=1) if line.strip()]
    if not pairs:
        raise BadInput("no sentences in this file", path)
    return [p[0] for p in pairs], [p[1] for p in pairs]


def embed(run_dir: str | os.PathLike[str], output: str | os.PathLike[str], source: str | os.PathLike[str] | None = None,
          *, sentences: str | os.PathLike[str] | None = None, stride: float | None = None, fps: float | None = None,
          layout: str = "Td", ann: str = "none", device: str = "auto",
          shard: tuple[int, int] | None = None) -> EmbedResult:
    """Embed sliding-window clips of every video in ``source`` (or the ``sentences`` of a file) into an index
    ``output`` (``NAME.npy`` + ``NAME.json``, plus ``NAME.faiss`` with ``ann``).

    ``shard=(K, N)`` embeds only shard K of N of the sorted videos (or sentences), so N jobs cover a folder.
    """
    from wsl.io import refuse_overwriting_inputs
    from wsl.milnce.outputs import index_paths
    from wsl.parallel import shard_items

    if (source is None) == (sentences is None):
        raise BadInput("give either a feature/video folder (`source`) or a `sentences` file", param="sentences")
    if ann not in ("none", "ivf", "hnsw"):
        raise BadInput(f"unknown approximate index {ann!r} (`ann`): use none, ivf or hnsw", param="ann")
    if stride is not None and not stride > 0:
        raise BadInput(f"`stride` must be positive, got {stride}", param="stride")
    m = MilNce.load(run_dir, device)
    inputs: list[Any] = [p for p in (sentences,) if p is not None]
    inputs += [p for p in Path(run_dir).iterdir() if p.is_file()]
    meta: dict[str, Any] = {"model_id": m.model_id, "model": str(Path(run_dir).resolve())}
    if shard is not None:
        meta["shard"] = f"{shard[0]}/{shard[1]}"
    if sentences is not None:
        ids, texts = read_sentences(sentences)
        chosen = shard_items(range(len(ids)), shard) if shard else range(len(ids))
        order = sorted(chosen)
        ids, texts = [ids[i] for i in order], [texts[i] for i in order]
        refuse_overwriting_inputs(list(index_paths(output)), inputs)
        vectors = m.embed_sentences(texts)
        items: list[dict[str, Any]] = [{"id": i, "text": t} for i, t in zip(ids, texts, strict=True)]
        meta["kind"] = "sentences"
    else:
        assert source is not None
        src = open_source(m.cfg, source, fps=fps, layout=layout)
        step = stride or m.cfg.clip_seconds / 2
        inputs += [src.path(v) for v in src.videos]
        names = shard_items(src.videos, shard)
        refuse_overwriting_inputs(list(index_paths(output)), inputs)
        clips = [(v, a, b) for v in names for a, b in clip_windows(src.duration(v), m.cfg.clip_seconds, step)]
        vectors = m.embed_clips(src, clips, progress="embedding clips")
        items = [{"video": v, "start": round(a, 3), "end": round(b, 3)} for v, a, b in clips]
        meta.update(kind="clips", clip_seconds=m.cfg.clip_seconds, stride=step, source=str(source))
    if len(vectors) and not np.isfinite(vectors).all():
        raise WorkFailed("the model gave non-finite embeddings (NaN or inf): its weights are broken; retrain it")
    path = save_index(output, vectors, items, meta)
    if ann != "none":
        save_ann(build_ann(vectors, ann), output)
    return EmbedResult(path, meta["kind"], len(items), m.model_id, ann)


# --- search -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hit:
    """One search result: the query, its rank (1 = best), the score and the index row (clip or sentence)."""

    query: str
    rank: int
    score: float
    item: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"query": self.query, "rank": self.rank, "score": round(self.score, 4), **self.item}


@dataclass(frozen=True)
class SearchResult:
    """Hits of every query, best first within a query; ``kind`` says whether rows are clips or sentences."""

    hits: tuple[Hit, ...]
    kind: str
    skipped_rows: int  # index rows left out of the ranking because they hold NaN or inf


def search(index: str | os.PathLike[str], queries: Sequence[str], k: int = 10, *,
           model: str | os.PathLike[str] | None = None, exact: bool = False, nprobe: int = 32,
           device: str = "auto") -> SearchResult:
    """The ``k`` clips (or sentences) of ``index`` nearest to each query, embedded by the model that built it.

    Rows holding NaN or inf (a damaged index) are never ranked: they are left out with a warning.
    """
    from wsl.progress import warn

    if not k > 0:
        raise BadInput(f"`k` must be positive, got {k}", param="k")
    if not queries:
        raise BadInput("no query to search for", param="queries")
    idx: EmbeddingIndex = load_index(index)
    run = model or (idx.meta.get("model") or None)
    if run is None:
        raise BadInput("the index does not say which model built it: give the model's run folder (`model`)", idx.path,
                       param="model")
    m = MilNce.load(run, device)
    if m.model_id != idx.model_id:
        raise BadInput(f"this index was built by another model (fingerprint {idx.model_id}, {run} is {m.model_id}); "
                       f"search it with the model that built it, or re-embed with `wsl milnce embed {run}`", idx.path)
    bad = ~np.isfinite(idx.vectors).all(axis=1)
    if bad.any():
        first = int(np.argmax(bad))
        warn(f"{int(bad.sum())} row(s) of the index hold NaN or inf and are never ranked (first: row {first}, "
             f"{idx.items[first]}); re-embed to repair it")
    q = m.embed_sentences(list(queries))
    faiss_index = None if exact else load_ann(index)
    if faiss_index is not None:
        scores, ids = ann_search(faiss_index, q, k + int(bad.sum()), nprobe=nprobe)
    else:
        vectors = np.where(bad[:, None], 0.0, idx.vectors) if bad.any() else idx.vectors
        scores, ids = exact_search(vectors, q, k + int(bad.sum()))
    hits = []
    for qi, query in enumerate(queries):
        rank = 0
        for s, i in zip(scores[qi], ids[qi], strict=True):
            if i < 0 or bad[int(i)] or not np.isfinite(s):
                continue
            rank += 1
            hits.append(Hit(query, rank, float(s), idx.items[int(i)]))
            if rank == k:
                break
    return SearchResult(tuple(hits), str(idx.meta.get("kind", "clips")), int(bad.sum()))
