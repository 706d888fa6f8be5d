"""Actions and names from weak labels: `wsl label-actions` (Bojanowski et al. 2014) and `wsl cluster`
(Bojanowski et al. 2013), each one library call returning a typed result.

    import wsl
    res = wsl.label_actions("feats/", "transcripts.json")    # per-frame labels under ordering constraints
    res = wsl.cluster("tracks.npy", "bags.json")             # a name per sample from at-least-one bags

The estimators behind them are :class:`OrderingLabeler` and :class:`BagClusterer`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wsl.actions.clusterer import BagClusterer
from wsl.actions.labeler import OrderingLabeler, supervised_bound, uniform_labels
from wsl.data.segments import BACKGROUND, frames_to_segments
from wsl.errors import BadInput
from wsl.features.reduce import DEFAULT_PCA_DIM, reduce_dim
from wsl.progress import info, warn

__all__ = ["BagClusterer", "ClusterResult", "LabelActionsResult", "OrderingLabeler", "cluster", "label_actions",
           "supervised_bound", "uniform_labels"]


def _solver_summary(res: Any) -> dict[str, Any] | None:
    if res is None:
        return None
    return {"objective": float(res.fun), "certified_gap": float(res.gap),
            "relative_gap": float(res.gap / max(abs(res.fun), 1e-300)), "iterations": int(res.nit),
            "converged": bool(res.success), "message": str(res.message)}


@dataclass(frozen=True)
class LabelActionsResult:
    """Per-frame labels of every video, with what the solver did."""

    frames: dict[str, list[str]]
    classes: list[str]
    solver: dict[str, Any]
    model: OrderingLabeler = field(repr=False, compare=False)
    fps: float | None = None  # frames per second of ``frames``, when known (features extracted from videos)

    def segments(self, video: str) -> list[dict[str, object]]:
        return frames_to_segments(self.frames[video])

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"videos": {v: {"frames": f, "segments": frames_to_segments(f)}
                                          for v, f in self.frames.items()},
                               "classes": self.classes, "solver": self.solver}
        if self.fps is not None:
            doc["fps"] = self.fps
        return doc


def check_layout(features: Mapping[str, np.ndarray], transcripts: Mapping[str, Sequence[str]] | None = None) -> None:
    """Refuse (or warn about) feature files that look transposed: (d, T) read as (T, d).

    Signs: several videos that all have the same number of frames while the feature dimension is
    at least as large (MS-TCN files are (d, T) with d = 2048 and T varying; read as (T, d) every
    video gets d "frames"), or videos with fewer frames than their transcript lists actions.
    """
    lengths = {v: x.shape[0] for v, x in features.items()}
    dim = next(iter(features.values())).shape[1]
    hint = "; if the files are (d, T) as in MS-TCN/Breakfast, give layout dT"
    if len(lengths) >= 2 and len(set(lengths.values())) == 1:
        T = next(iter(lengths.values()))
        if dim >= T:
            raise BadInput(f"every video has exactly {T} frames of dimension {dim}: the files look transposed"
                           + hint, param="layout")
        warn(f"every video has exactly {T} frames{hint}")
    if transcripts is not None:
        short = [v for v, T in lengths.items() if v in transcripts and len(transcripts[v]) > T]
        if short and dim > max(lengths.values()):
            raise BadInput(f"video {short[0]} has {lengths[short[0]]} frames for {len(transcripts[short[0]])} "
                           f"actions and dimension {dim}" + hint, param="layout")


def label_actions(features: str | os.PathLike[str] | Mapping[str, np.ndarray],
                  transcripts: str | os.PathLike[str] | Mapping[str, Sequence[str]], *,
                  layout: str = "Td", background: str = BACKGROUND, background_share: float | None = None,
                  gaps: bool | None = None, init: str = "uniform", refine: int = 30, lam: float = 1e-2,
                  kappa: float = 0.0, max_iter: int = 2000, tol: float = 1e-3, require_convergence: bool = False,
                  seed: int = 0, fps: float | None = None, features_cache: str | os.PathLike[str] | None = None,
                  backbone: str = "lite0", pca_dim: int | None = DEFAULT_PCA_DIM) -> LabelActionsResult:
    """Label every frame from ordered action lists (DIFFRAC + ordering constraints, annealed EM against
    collapse). ``features``: a folder of ``<video>.npy`` files, a folder of video files (features
    extracted with ``backbone`` at ``fps``, default 2, and kept in ``features_cache``), or
    {video: (T, d)}; ``transcripts``: a JSON/COIN file or {video: [actions]}. Videos without both are
    skipped with a warning. Features wider than ``pca_dim`` are reduced to that many principal
    components first (None: never)."""
    if pca_dim is not None and pca_dim < 1:
        raise BadInput(f"pca_dim must be at least 1 (or None: never reduce), got {pca_dim}", param="pca_dim")
    if isinstance(transcripts, Mapping):
        trs = {str(v): list(a) for v, a in transcripts.items()}
        tr_src = "the transcripts"
    else:
        from wsl.data.transcripts import read_transcripts

        trs = read_transcripts(transcripts, background)
        tr_src = str(transcripts)
    frame_rate, extracted = fps, False
    if isinstance(features, Mapping):
        feats = dict(features)
        feat_src = "the features"
    elif _holds_only_videos(features):
        frame_rate, extracted = (2.0 if fps is None else fps), True
        feats = _features_of_videos(features, trs, features_cache, frame_rate, backbone)
        feat_src = str(features)
    else:
        from wsl.features.files import load_feature_dir

        feats = load_feature_dir(features, layout=layout)
        feat_src = str(features)
    no_tr = sorted(set(feats) - set(trs))
    no_feat = sorted(set(trs) - set(feats))
    if no_feat:
        warn(f"{len(no_feat)} transcript(s) have no feature file in {feat_src}, skipped: {', '.join(no_feat[:5])}")
    if no_tr:
        warn(f"{len(no_tr)} feature file(s) have no transcript in {tr_src}, skipped: {', '.join(no_tr[:5])}")
    feats = {v: x for v, x in feats.items() if v in trs}
    if not feats:
        raise BadInput(f"no video has both a feature file in {feat_src} and a transcript in {tr_src}")
    if layout == "Td" and not extracted:  # extracted features are (T, d) by construction
        check_layout(feats, trs)
    info(f"label-actions: {len(feats)} videos, {sum(len(x) for x in feats.values())} frames")
    dim = next(iter(feats.values())).shape[1]
    if pca_dim is not None and pca_dim < dim:
        info(f"features reduced from {dim} to {pca_dim} principal components")
        names = list(feats)
        feats = dict(zip(names, reduce_dim([feats[v] for v in names], pca_dim), strict=True))
    model = OrderingLabeler(lam=lam, kappa=kappa, max_iter=max_iter, tol=tol, refine=refine, gaps=gaps,
                            background=background, seed=seed, require_convergence=require_convergence, init=init,
                            background_share=background_share)
    model.fit(feats, {v: trs[v] for v in feats})
    frames = {v: [BACKGROUND if lab == background else lab for lab in labs] for v, labs in model.labels_.items()}
    solver: dict[str, Any] = {"init": model.init_, "strides": model.strides_, "gaps": model.gaps_,
                              "background_share": model.background_share_,
                              "feature_dim": int(next(iter(feats.values())).shape[1])}
    if model.fw_ is not None:
        solver["convex"] = _solver_summary(model.fw_)
        solver["rounding"] = model.rounding_
    classes = [BACKGROUND if c == background else c for c in model.classes_]
    return LabelActionsResult(frames, classes, solver, model, frame_rate)


def _holds_only_videos(folder: str | os.PathLike[str]) -> bool:
    """A folder with video files and no feature file (a folder of .npy files is read as features)."""
    from wsl.features.video import VIDEO_SUFFIXES

    p = Path(folder)
    if not p.is_dir():
        return False
    names = [q.suffix.lower() for q in p.iterdir() if q.is_file()]
    return ".npy" not in names and any(sfx in VIDEO_SUFFIXES for sfx in names)


def _features_of_videos(folder: str | os.PathLike[str], transcripts: Mapping[str, Sequence[str]],
                        cache: str | os.PathLike[str] | None, fps: float, backbone: str) -> dict[str, np.ndarray]:
    """Per-frame features of the folder's videos that have a transcript, extracted once and cached."""
    from wsl.features.cache import cached_features, default_cache_dir
    from wsl.features.video import list_videos

    videos = [v for v in list_videos([Path(folder)]) if v.stem in transcripts]
    if not videos:
        return {}  # the caller names what is missing
    where = Path(cache) if cache is not None else default_cache_dir(str(folder))
    got = cached_features(videos, where, fps=fps, backbone=backbone, keep_out=[folder])
    if got.reused:
        info(f"features of {len(got.reused)} video(s) reused from {where}")
    return dict(got.features)


@dataclass(frozen=True)
class ClusterResult:
    """A label per sample, probabilities over the labels it may carry, ambiguity and the solve."""

    labels: list[str]
    classes: list[str]
    proba: np.ndarray = field(repr=False)
    ambiguous_with: list[list[str]]
    ambiguity_groups: list[list[str]]
    background_used: bool
    solver: dict[str, Any]
    model: BagClusterer = field(repr=False, compare=False)

    @property
    def ambiguous_samples(self) -> int:
        return sum(1 for a in self.ambiguous_with if a)

    @property
    def confidence(self) -> np.ndarray:
        """The probability of each sample's chosen label."""
        idx = [self.classes.index(lab) for lab in self.labels]
        return self.proba[np.arange(len(idx)), idx]

    def to_json(self) -> dict[str, Any]:
        conf = self.confidence
        samples = []
        for i, lab in enumerate(self.labels):
            row: dict[str, Any] = {"index": i, "label": lab, "confidence": round(float(conf[i]), 6),
                                   "scores": {c: round(float(p), 6) for c, p in zip(self.classes, self.proba[i],
                                                                                   strict=True) if p > 0}}
            if self.ambiguous_with[i]:
                row["ambiguous_with"] = self.ambiguous_with[i]
            samples.append(row)
        return {"classes": self.classes, "samples": samples, "background_used": self.background_used,
                "ambiguity_groups": self.ambiguity_groups, "ambiguous_samples": self.ambiguous_samples,
                "solver": self.solver}


def cluster(features: str | os.PathLike[str] | np.ndarray, bags: Any, *, background: str = BACKGROUND,
            use_background: bool | None = None, lam: float = 1e-3, kappa: float = 0.0, max_iter: int = 2000,
            tol: float = 1e-4, refine: int = 30, starts: int = 8, sweeps: int = 100,
            temperature: float | None = None, require_convergence: bool = False, seed: int = 0,
            anneal: bool = False) -> ClusterResult:
    """Name samples from bags of labels each known to occur at least once. ``features``: an (N, d)
    ``.npy`` file or array; ``bags``: a bags JSON file, a :class:`wsl.data.bags.Bags`, or a list of
    ``{"samples": [...], "labels": [...]}``. Each sample's label is its most probable one under the
    posterior over labellings that satisfy every bag (``sweeps`` of Gibbs sampling from the refinement's
    answer, or on components of 50 labels or more eight chains annealed from random labellings; 0: that
    answer itself). The probabilities are cross-fitted over folds of bags at a temperature fitted on the
    held-out bags (``temperature`` given: that one). ``anneal=True`` adds the search's own annealed Gibbs
    start on components of 50 labels or more (the default until round 8: 3x the time there, no gain since
    the posterior step anneals)."""
    from wsl.data.bags import Bags, read_bags

    if isinstance(features, np.ndarray):
        X = features
    else:
        from wsl.features.files import read_features

        X = read_features(features, mmap=False)
    if isinstance(bags, Bags):
        b = bags
    elif isinstance(bags, (str, os.PathLike, Path)):
        b = read_bags(bags)
    else:
        b = Bags([list(x["samples"]) for x in bags], [list(x["labels"]) for x in bags],
                 [str(x.get("name", f"#{j}")) for j, x in enumerate(bags)])
    info(f"cluster: {len(X)} samples, {len(b.samples)} bags")
    model = BagClusterer(lam=lam, kappa=kappa, max_iter=max_iter, tol=tol, refine=refine, starts=starts,
                         sweeps=sweeps, temperature=temperature, background=background, use_background=use_background,
                         require_convergence=require_convergence, seed=seed, anneal=anneal)
    model.fit(X, b.samples, b.labels, b.names, b.source)
    if model.ambiguity_groups_:
        n = sum(1 for a in model.ambiguous_with_ if a)
        groups = "; ".join(", ".join(g) for g in model.ambiguity_groups_[:3])
        warn(f"{len(model.ambiguity_groups_)} group(s) of labels are listed by exactly the same bags and cannot be "
             f"told apart ({groups}{' ...' if len(model.ambiguity_groups_) > 3 else ''}): {n} samples affected")
    solver = {"convex": _solver_summary(model.fw_), "rounding": model.rounding_, "init": model.init_,
              "converged": bool(model.fw_.success), "temperature": model.temperature_}
    return ClusterResult(list(model.labels_), list(model.classes_), model.proba_, model.ambiguous_with_,
                         model.ambiguity_groups_, model.background_used_, solver, model)
