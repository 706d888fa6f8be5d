"""Evaluating a MIL-NCE model on gold (clip, sentence) pairs, and the narration-time baseline it must beat.

- Text-to-clip retrieval: each pair's sentence against every pair's clip (R@1/5/10, median rank).
- Step localisation, CrossTask style: each step (a distinct sentence of a video) is scored against
  sliding windows of its video; it is found when its best window's middle lies inside one of that
  step's annotated segments. ``step_recall`` counts (video, step) pairs; ``segment_recall`` counts
  annotated segments (a step done twice is two segments, and one time can hit only one of them).
- The narration-time baseline reads no video: a step is placed at the caption that shares most words
  with it, and a clip is scored by the words its overlapping captions share with the sentence.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wsl.errors import BadInput
from wsl.eval.retrieval import ranks_of_gold, retrieval_metrics, step_recall
from wsl.milnce.data import SentencePair, Source, clip_windows, open_source, read_sentence_pairs
from wsl.milnce.infer import MilNce
from wsl.milnce.text import tokenize

# Words that say nothing about a step, left out of the baseline's word overlap.
STOP_WORDS = frozenset("a an the and or of to in on into it its some with then now so you your we i this that "
                       "is are be".split())


@dataclass(frozen=True)
class Evaluation:
    """Retrieval and step localisation figures of one model (or of the narration baseline) on gold pairs."""

    r1: float
    r5: float
    r10: float
    median_rank: float
    queries: int
    step_recall: float  # per (video, step), as CrossTask
    steps: int
    segment_recall: float  # per annotated segment
    segments: int
    unknown_sentences: int  # sentences with no word the model knows (they embed as the text bias)
    model_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {"R@1": d.pop("r1"), "R@5": d.pop("r5"), "R@10": d.pop("r10"), **d}


def _step_key(p: SentencePair) -> tuple[str, str]:
    return p.video, " ".join(tokenize(p.text))


def _localisation(pairs: Sequence[SentencePair], times: Mapping[tuple[str, str], float]) -> dict[str, float]:
    """(step recall, steps, segment recall, segments) from one predicted time per (video, step)."""
    annotated: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for p in pairs:
        annotated.setdefault(_step_key(p), []).append((p.start, p.end))
    per_step = step_recall(times, annotated)
    hit = [p.start <= times.get(_step_key(p), -1.0) <= p.end for p in pairs]
    return {"step_recall": per_step["recall"], "steps": per_step["steps"],
            "segment_recall": sum(hit) / max(1, len(hit)), "segments": len(hit)}


def _kept_pairs(pairs: Sequence[SentencePair], have: set[str]) -> list[SentencePair]:
    from wsl.progress import warn

    kept = [p for p in pairs if p.video in have]
    if len(kept) < len(pairs):
        missing = sorted({p.video for p in pairs} - have)
        warn(f"{len(pairs) - len(kept)} pair(s) of {len(missing)} video(s) without a clip source are left out "
             f"(e.g. {', '.join(missing[:3])})")
    if not kept:
        raise BadInput("no evaluation pair has its video in `source`", param="source")
    return kept


def evaluate_model(m: MilNce, pairs: Sequence[SentencePair], source: Source, stride: float | None = None
                   ) -> Evaluation:
    """Retrieval and step localisation of a loaded model over ``pairs`` whose clips come from ``source``."""
    kept = _kept_pairs(pairs, set(source.videos))
    side = m.text_side()
    texts = [p.text for p in kept]
    unknown = sum(not side.known(t) for t in texts)
    t = m.embed_sentences(texts, strict=False)
    v = m.embed_clips(source, [(p.video, p.start, p.end) for p in kept])
    ret = retrieval_metrics(t @ v.T, np.arange(len(kept)))
    stride = stride or m.cfg.clip_seconds / 2
    times: dict[tuple[str, str], float] = {}
    first: dict[tuple[str, str], int] = {}
    for i, p in enumerate(kept):
        first.setdefault(_step_key(p), i)
    by_video: dict[str, list[tuple[str, str]]] = {}
    for key in first:
        by_video.setdefault(key[0], []).append(key)
    for video, keys in by_video.items():
        windows = clip_windows(source.duration(video), m.cfg.clip_seconds, stride)
        w = m.embed_clips(source, [(video, a, b) for a, b in windows])
        mids = np.array([(a + b) / 2 for a, b in windows])
        best = np.argmax(t[[first[k] for k in keys]] @ w.T, axis=1)
        times.update({k: float(mids[j]) for k, j in zip(keys, best, strict=True)})
    loc = _localisation(kept, times)
    return Evaluation(ret["R@1"], ret["R@5"], ret["R@10"], ret["median_rank"], int(ret["queries"]),
                      loc["step_recall"], int(loc["steps"]), loc["segment_recall"], int(loc["segments"]), unknown,
                      m.model_id)


def evaluate(run_dir: str | os.PathLike[str], pairs: str | os.PathLike[str], source: str | os.PathLike[str], *,
             stride: float | None = None, fps: float | None = None, layout: str = "Td",
             device: str = "auto") -> Evaluation:
    """Score a trained model (run folder) on a ``video_id,start,end,text`` CSV of gold pairs whose videos
    (features or frames, as the model reads them) are in ``source``."""
    from wsl.progress import warn

    if stride is not None and not stride > 0:
        raise BadInput(f"`stride` must be positive, got {stride}", param="stride")
    m = MilNce.load(run_dir, device)
    gold, skipped = read_sentence_pairs(pairs)
    if skipped:
        warn(f"skipped {len(skipped)} bad row(s) of {pairs} (first: line {skipped[0][0]}: {skipped[0][1]})")
    result = evaluate_model(m, gold, open_source(m.cfg, source, fps=fps, layout=layout), stride)
    if result.unknown_sentences:
        warn(f"{result.unknown_sentences} sentence(s) have no word in the model's vocabulary")
    return result


@torch.no_grad()
def caption_retrieval(m: MilNce, pairs: Sequence[tuple[str, float, float, str]], source: Source
                      ) -> dict[str, float]:
    """Held-out check during training: each caption against the clips centred on every held-out caption.

    Returns ``val_mrr`` (mean reciprocal rank of a caption's own clip) and ``val_R@10``.
    """
    t = m.embed_sentences([p[3] for p in pairs], strict=False)
    v = m.embed_clips(source, [(p[0], p[1], p[2]) for p in pairs])
    ranks = ranks_of_gold(t @ v.T, np.arange(len(pairs)))
    return {"val_mrr": float(np.mean(1.0 / ranks)), "val_R@10": float(np.mean(ranks <= 10))}


# --- the narration-time baseline ------------------------------------------------------------------------------------

def _words(text: str) -> set[str]:
    return {w for w in tokenize(text) if w not in STOP_WORDS}


def narration_baseline(pairs: Sequence[SentencePair], narrations: Mapping[str, Any],
                       durations: Mapping[str, float], seed: int = 0) -> Evaluation:
    """What the narration alone gives, for the same pairs: each step placed at the caption sharing most words
    with it (the earliest on ties; the video's middle when no caption shares a word), and each clip scored
    by the words that the captions overlapping it share with the sentence (ties broken at random)."""
    kept = _kept_pairs(pairs, set(narrations) & set(durations))
    caps = {v: [(c.start, c.end, c.middle, _words(c.text)) for c in narrations[v].captions] for v in narrations}
    times: dict[tuple[str, str], float] = {}
    for p in kept:
        key = _step_key(p)
        if key in times:
            continue
        words = _words(p.text)
        overlap = [len(words & w) for _, _, _, w in caps[p.video]]
        best = int(np.argmax(overlap)) if overlap else -1
        times[key] = caps[p.video][best][2] if best >= 0 and overlap[best] > 0 else durations[p.video] / 2
    clip_words = [set().union(*(w for a, b, _, w in caps[p.video] if a < p.end and b > p.start)) for p in kept]
    scores = np.array([[len(_words(q.text) & cw) for cw in clip_words] for q in kept], dtype=np.float64)
    scores += np.random.default_rng(seed).uniform(0, 0.5, size=scores.shape)  # random order among ties
    ret = retrieval_metrics(scores, np.arange(len(kept)))
    loc = _localisation(kept, times)
    return Evaluation(ret["R@1"], ret["R@5"], ret["R@10"], ret["median_rank"], int(ret["queries"]),
                      loc["step_recall"], int(loc["steps"]), loc["segment_recall"], int(loc["segments"]), 0,
                      "narration-baseline")


def narration_baseline_files(pairs: str | os.PathLike[str], captions: str | os.PathLike[str],
                             source: str | os.PathLike[str], fps: float | None = None) -> Evaluation:
    """``narration_baseline`` from files: the pairs CSV, the test videos' narrations and their feature folder."""
    from wsl.data.narration import read_narration_dir
    from wsl.milnce.data import FeatureSource

    gold, _ = read_sentence_pairs(pairs)
    narr = read_narration_dir(captions)
    src = FeatureSource(Path(source), fps=fps)
    return narration_baseline(gold, narr, {v: src.duration(v) for v in src.videos})
