"""`discover_steps`: the whole method as one library call returning a typed result."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from wsl.errors import BadInput, WorkFailed
from wsl.progress import Status, info, warn
from wsl.steps.text import Step, TextSteps, discover_text_steps, minilm_encoder
from wsl.steps.video import DEFAULT_ABSENCE_WEIGHT, DEFAULT_PCA_DIM, localize_steps

if TYPE_CHECKING:  # pragma: no cover
    from wsl.data.task_folder import TaskVideo

FORMAT = "wsl.steps/1"


@dataclass(frozen=True)
class VideoStep:
    """Step k in one video: its narration (or None), the predicted time and interval (seconds; None
    when the step is left out of this video) and where the prediction came from ("text" or "video")."""

    step: int
    narrated: dict[str, Any] | None
    time: float | None
    interval: tuple[float, float] | None
    source: str | None


@dataclass(frozen=True)
class VideoSteps:
    """One video's result: its files, duration, relations found, its step order and per-step rows."""

    narration: str | None
    features: str | None
    fps: float | None
    duration: float
    relations: int
    dropped: int
    order: tuple[int, ...]
    steps: tuple[VideoStep, ...]


@dataclass(frozen=True)
class StepsResult:
    """What :func:`discover_steps` found: the K steps in consensus order and, per video, where they are.

    ``solver`` (None in text-only runs): method, iterations (passes over the videos), certified gap
    (absolute and relative), whether it met the tolerance, the rounding used, window and each_step.
    """

    task: str
    steps: tuple[Step, ...]
    videos: dict[str, VideoSteps]
    k_from: str
    support_curve: tuple[int, ...]
    text_only: bool
    merges: dict[str, str] = field(default_factory=dict)
    solver: dict[str, Any] | None = None

    @property
    def k(self) -> int:
        return len(self.steps)

    def times(self) -> dict[str, list[float | None]]:
        """Per video, the predicted time of each step (None: left out)."""
        return {v: [s.time for s in vs.steps] for v, vs in self.videos.items()}

    def to_json(self) -> dict[str, Any]:
        """The ``wsl.steps/1`` JSON document (docs/formats.md)."""
        out: dict[str, Any] = {
            "format": FORMAT, "task": self.task, "k": self.k, "k_from": self.k_from,
            "support_curve": list(self.support_curve), "text_only": self.text_only,
            "steps": [{"index": k, **s.as_dict()} for k, s in enumerate(self.steps)], "merges": self.merges,
            "videos": {},
        }
        for name, v in self.videos.items():
            out["videos"][name] = {
                "narration": v.narration, "features": v.features, "fps": v.fps, "duration": round(v.duration, 3),
                "relations": v.relations, "dropped_not_done": v.dropped, "order": list(v.order),
                "steps": [{"step": s.step, "narrated": s.narrated, "time": s.time,
                           "interval": None if s.interval is None else list(s.interval), "source": s.source}
                          for s in v.steps],
            }
        if self.solver is not None:
            out["solver"] = self.solver
        return out


def discover_steps(task_dir: str | os.PathLike[str], *, n_steps: int | None = None, text_only: bool = False,
                   features: str | os.PathLike[str] | None = None, fps: float | None = None,
                   layout: Literal["Td", "dT"] = "Td", window: float = 10.0,
                   each_step: Literal["at-most-once", "once"] = "at-most-once",
                   absence_weight: float = DEFAULT_ABSENCE_WEIGHT, max_slots: int = 20, min_support: int = 2,
                   merge_synonyms: bool = True, paraphrases: bool | None = None, lam: float = 1e-2,
                   max_iter: int = 300, tol: float = 1e-3, seed: int = 0,
                   features_cache: str | os.PathLike[str] | None = None, backbone: str = "lite0",
                   pca_dim: int | None = DEFAULT_PCA_DIM) -> StepsResult:
    """Discover the steps of one task from its narrated videos (Alayrac et al. 2016).

    ``task_dir`` holds per video a narration (.csv/.srt/.vtt/.json) and features ``<video>.npy``
    (or in ``features``), or the video itself (.mp4/.mkv/.avi/.mov/.webm): a video without a feature
    file has its features extracted with ``backbone`` at ``fps`` (default 2) into ``features_cache``
    (default: the user cache, see :func:`wsl.features.cache.default_cache_dir`) and reused from there
    on the next run; nothing is written into ``task_dir``. Features wider than ``pca_dim`` are
    reduced to that many principal components before the video stage (None: never).
    ``n_steps``: K (default: from the support curve). ``paraphrases``: merge
    paraphrased steps through the sentence encoder (None: when it is installed). ``each_step``:
    "at-most-once" lets a video leave out steps it does not narrate (at ``absence_weight`` times the
    narration-evidence cost), "once" places every step in every video. The solver stops at a
    certified relative duality gap ``tol`` or after ``max_iter`` (then ``solver["converged"]`` is
    False and a warning says so).
    """
    from wsl.data.task_folder import read_task_folder
    from wsl.text.relations import extract_relations

    if each_step not in ("once", "at-most-once"):
        raise BadInput(f"`each_step` must be once or at-most-once, got {each_step!r}", param="each_step")
    if n_steps is not None and n_steps < 1:
        raise BadInput(f"`n_steps` must be at least 1, got {n_steps}", param="n_steps")
    if not absence_weight >= 0:
        raise BadInput(f"`absence_weight` must be non-negative, got {absence_weight}", param="absence_weight")
    videos = read_task_folder(task_dir, features, fps, layout, text_only)
    if len(videos) < 2:  # before any extraction: minutes of decoding would end in this error
        raise BadInput(f"discover-steps needs at least two videos of the task, found {len(videos)}", task_dir)
    narrated = [v for v in videos if v.narration is not None]
    if len(narrated) < 2:
        raise BadInput(f"discover-steps needs narrations of at least two videos, found {len(narrated)}", task_dir)
    if not text_only:
        _features_from_videos(videos, task_dir, features, features_cache, fps, backbone)
    n_feat = sum(v.features is not None for v in videos)
    info(f"{Path(task_dir).name}: {len(videos)} videos, {len(narrated)} narrated, {n_feat} with features")
    for v in narrated:
        for line, why in v.narration.skipped:  # type: ignore[union-attr]
            warn(f"{v.narration.path}:{line}: caption row skipped: {why}")  # type: ignore[union-attr]
    with Status("reading narrations") as st:
        n_caps = sum(len(v.narration.captions) for v in narrated if v.narration is not None)
        st.update(f"parsing {n_caps} captions")
        rels = extract_relations([v.narration for v in narrated], merge_synonyms=merge_synonyms)  # type: ignore[misc]
    rels_of = dict(zip([v.video for v in narrated], rels, strict=True))
    for v in narrated:
        if not rels_of[v.video]:
            warn(f"{v.narration.path}: no verb-object relation found; this video adds no step")  # type: ignore[union-attr]
    encode = None
    if paraphrases is None or paraphrases:
        encode = minilm_encoder()
        if encode is None and paraphrases:
            from wsl.errors import MissingExtra

            raise MissingExtra("merging paraphrased steps (paraphrases=True)", "text-encoder")
    names = [v.video for v in videos]
    ts = discover_text_steps([rels_of.get(n, []) for n in names], n_steps, max_slots, min_support, encode)
    K = len(ts.steps)
    if K == 0:
        raise WorkFailed(f"no relation is narrated in {min_support} or more videos: no common step "
                         "(more videos of the task, or a lower min_support)")
    if n_steps is not None and n_steps > K:
        warn(f"asked for {n_steps} steps; the narrations support only {K}")
    n_dropped = sum(len(d) for d in ts.dropped)
    info(f"{K} steps ({ts.k_from}); {n_dropped} negated or hypothetical mention(s) left out"
         + (f"; merged {len(ts.merges)} duplicate key(s) (paraphrases, conjunction parts)" if ts.merges else ""))
    rows = _text_rows(ts)
    solver = None
    with_feats = [i for i, v in enumerate(videos) if v.features is not None]
    if not text_only and with_feats:
        spans = [[None if r is None else (r.start, r.end) for r in ts.narrated[i]] for i in with_feats]
        with Status(f"placing {K} steps in {len(with_feats)} videos") as st:
            model = localize_steps(
                [videos[i].features for i in with_feats], [float(videos[i].fps or 0) for i in with_feats],  # type: ignore[misc]
                spans, [ts.orders[i] for i in with_feats], [names[i] for i in with_feats], window=window, lam=lam,
                at_most_once=each_step == "at-most-once", absence_weight=absence_weight, max_iter=max_iter,
                tol=tol, seed=seed, pca_dim=pca_dim,
                progress=lambda e, f, g: st.update(f"iteration {e}, relative gap {g / max(abs(f), 1e-300):.1e}"))
        for j, i in enumerate(with_feats):
            for k in range(K):
                t = model.times_[j][k]
                iv = model.intervals_[j][k]
                rows[i][k] = VideoStep(k, rows[i][k].narrated, None if np.isnan(t) else round(float(t), 3),
                                       None if iv is None else (round(iv[0], 3), round(iv[1], 3)),
                                       "video" if iv is not None else None)
        r = model.result_
        rel_gap = float(r.gap) / max(abs(float(r.fun)), 1e-300)
        solver = {"method": model.method, "iterations": int(r.nit), "gap": float(r.gap), "relative_gap": rel_gap,
                  "tol": tol,
                  "converged": bool(r.success), "rounding": model.rounding_, "window": window,
                  "each_step": each_step, "absence_weight": absence_weight, "pca_dim": pca_dim,
                  "placed": int(sum(np.isfinite(t).sum() for t in model.times_)),
                  "pairs": len(with_feats) * K}
        info(f"solver: {r.nit} iterations, certified relative gap {rel_gap:.1e}; placed {solver['placed']} of "
             f"{solver['pairs']} (video, step) pairs")
    elif not text_only:
        warn("no feature files: only the text stage ran (times are narration times)")
    out_videos = {}
    for i, v in enumerate(videos):
        out_videos[v.video] = VideoSteps(
            None if v.narration is None else v.narration.path, v.features_path, v.fps, v.length,
            len(ts.relations[i]), len(ts.dropped[i]), tuple(ts.orders[i]), tuple(rows[i]))
    return StepsResult(Path(task_dir).name, tuple(ts.steps), out_videos, ts.k_from, tuple(ts.support_curve),
                       text_only, dict(ts.merges), solver)


def _features_from_videos(videos: Sequence[TaskVideo], task_dir: str | os.PathLike[str],
                          features: str | os.PathLike[str] | None, features_cache: str | os.PathLike[str] | None,
                          fps: float | None, backbone: str) -> None:
    """Give the videos that have a video file but no feature file their (cached) extracted features."""
    from wsl.features.cache import cached_features, default_cache_dir

    need = [v for v in videos if v.features is None and v.video_path is not None]
    if not need:
        return
    cache = Path(features_cache) if features_cache is not None else default_cache_dir(str(task_dir))
    keep_out = [task_dir, *([features] if features is not None else [])]
    got = cached_features([str(v.video_path) for v in need], cache, fps=2.0 if fps is None else fps,
                          backbone=backbone, keep_out=keep_out)
    if got.reused:
        info(f"features of {len(got.reused)} video(s) reused from {cache}")
    for v in need:
        meta = got.index[v.video]
        v.attach_features(got.features[v.video], float(meta["fps"]), got.paths[v.video], meta.get("duration"))
    dims = {v.video: int(v.features.shape[1]) for v in videos if v.features is not None}
    if len(set(dims.values())) > 1:
        ext = need[0].video
        other = next(n for n, d in dims.items() if d != dims[ext])
        raise BadInput(f"features extracted from {ext}'s video ({backbone}) have {dims[ext]} dimensions, but "
                       f"{other}'s feature file has {dims[other]}: give every video a feature file of one kind, "
                       "or none (then all are extracted)", got.paths[ext])


def _text_rows(ts: TextSteps) -> list[list[VideoStep]]:
    """Per video and step, the text stage's prediction: the middle of its narration."""
    out = []
    for nar in ts.narrated:
        row = []
        for k, r in enumerate(nar):
            if r is None:
                row.append(VideoStep(k, None, None, None, None))
            else:
                said = {"start": r.start, "end": r.end, "phrase": r.phrase, "line": r.line}
                row.append(VideoStep(k, said, round((r.start + r.end) / 2, 3), (r.start, r.end), "text"))
        out.append(row)
    return out


def text_stage_times(result: StepsResult) -> dict[str, Sequence[float | None]]:
    """Per video, the text stage's narration time of each step (the middle of its narration)."""
    out: dict[str, Sequence[float | None]] = {}
    for name, v in result.videos.items():
        out[name] = [None if s.narrated is None else (s.narrated["start"] + s.narrated["end"]) / 2 for s in v.steps]
    return out
