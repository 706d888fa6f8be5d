"""Action labelling under ordering constraints (Bojanowski et al. 2014), made robust to collapse.

:class:`OrderingLabeler` takes per-video features and ordered action lists and labels every frame:

1. **Convex stage** (``init="convex"``/``"best"``, or ``refine=0`` for the published method).
   DIFFRAC over all frames with the ordering oracle, solved by Frank-Wolfe (or block-coordinate
   FW over videos), started from the uniform spread of each transcript, with class-balanced
   squared loss and an optional kappa on the background column; rounded by the oracle (nearest
   point / classifier scores, the better objective).
2. **Refinement against collapse.** The convex optimum is degenerate when background is rare: a
   constant column of Z costs nothing (B 1 = 0), so nearly all frames go to one label. From the
   uniform spread of each transcript (default) or from the convex rounding: annealed soft EM then
   hard EM of a Gaussian class model with one shared covariance (calibrated log-likelihoods,
   every class on the same scale, so no class wins by its bias), each round re-decoding every
   video with the same ordering chain (forward-backward while soft, the oracle when hard) and a
   minimum segment length of a share of the video's mean segment length. With ``init="best"`` the
   start with the best penalised likelihood wins. Long videos are solved on pooled features,
   then refined at full frame rate. See docs/label-actions.md for the figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from wsl.actions.gaussian import GaussianScorer
from wsl.data.segments import BACKGROUND
from wsl.errors import BadInput, WorkFailed
from wsl.progress import Status, info, warn
from wsl.solvers._threads import few_blas_threads
from wsl.solvers.chain_oracle import ordering_lmo_batch
from wsl.solvers.chain_posteriors import ordering_posteriors_batch
from wsl.solvers.chains import Chain, ordering_chain
from wsl.solvers.diffrac import DiffracCost, balanced_class_weights, one_hot
from wsl.solvers.ordering import solve_ordering
from wsl.solvers.ordering_problem import OrderingProblem
from wsl.solvers.prep import blocks_from_lengths, constant_columns, standardize

#: Candidate background shares tried when none is given and background may fall between actions.
BACKGROUND_SHARES = (0.0, 0.5)
#: A start with background must keep at least this share of background frames after refinement to
#: win (on background-free data such a start keeps a few boundary frames, 9% in the tests, and the
#: likelihood alone would prefer it).
MIN_BACKGROUND = 0.15


@dataclass
class _Problem:
    names: list[str]
    X: np.ndarray  # (N, d) standardised, float64
    blocks: list[slice]
    transcripts: list[list[int]]  # class indices
    classes: list[str]
    mean: np.ndarray | None = None  # the standardisation applied to the raw features
    scale: np.ndarray | None = None


def uniform_labels(n_frames: int, transcript: Sequence[int], background_share: float = 0.0,
                   background: int = 0) -> np.ndarray:
    """The transcript spread evenly over ``n_frames`` frames; with ``background_share`` > 0 each
    action keeps the middle of its slot and the rest of the slot is background."""
    L = len(transcript)
    pos = (np.arange(n_frames) + 0.5) * L / n_frames
    slot = np.minimum(pos.astype(np.int64), L - 1)
    out = np.asarray(transcript, dtype=np.int64)[slot]
    if background_share > 0:
        off = np.abs(pos - slot - 0.5)  # distance from the slot's centre, in slots
        out = np.where(off > 0.5 * (1 - background_share), background, out)
        # every listed action keeps at least its central frame
        centre = np.minimum(((np.arange(L) + 0.5) * n_frames / L).astype(np.int64), n_frames - 1)
        out[centre] = np.asarray(transcript, dtype=np.int64)
    return out


class OrderingLabeler(BaseEstimator):
    """Per-frame action labels from ordered action lists (Bojanowski et al. 2014), scikit-learn shaped.

    Parameters: ``lam`` ridge of DIFFRAC; ``kappa`` linear penalty per background frame;
    ``balance`` class-balanced squared loss; ``max_iter``/``tol`` for the convex stage (accelerated
    projected gradient onto the order polytope, stopped on the certified relative gap ``tol``;
    ``method="pairwise"`` or ``"fw"`` for the Frank-Wolfe variants); ``refine`` hard-EM rounds on top
    (0 = convex + rounding only, Bojanowski's method as published); ``min_length`` minimum segment
    length as a share of the video's mean segment length; ``gaps`` whether background may appear
    between listed actions (None: only when no transcript lists ``background``, the background
    label name, itself); ``gaps_`` says what was used.

    ``background_share``: the expected share of frames outside the listed actions; None decides
    from the data (each candidate in ``BACKGROUND_SHARES`` is refined and the better penalised
    likelihood wins; ``background_share_`` says which).

    After :meth:`fit`: ``classes_``, ``labels_`` (video -> per-frame label names), ``relaxed_``
    (video -> relaxed Z of the convex stage, or None), ``fw_`` (the convex solve's result with its
    certified ``gap``, or None), ``rounding_``, ``history_`` (per refinement round: changed frames
    and log-likelihood), ``init_`` (which start won), ``gaps_``, ``background_share_``, ``strides_``.
    """

    def __init__(self, lam: float = 1e-2, kappa: float = 0.0, balance: bool = True, max_iter: int = 2000,
                 tol: float = 1e-3, method: str = "apg", refine: int = 30, min_length: float = 0.1,
                 gaps: bool | None = None, background: str = BACKGROUND, shrinkage: float = 0.1, seed: int = 0,
                 require_convergence: bool = False, anneal: int = 10, beta0: float = 0.05, max_frames: int = 256,
                 full_rounds: int = 3, init: str = "uniform", background_share: float | None = None):
        self.lam = lam
        self.kappa = kappa
        self.balance = balance
        self.max_iter = max_iter
        self.tol = tol
        self.method = method
        self.refine = refine
        self.min_length = min_length
        self.gaps = gaps
        self.background = background
        self.shrinkage = shrinkage
        self.seed = seed
        self.require_convergence = require_convergence
        self.anneal = anneal
        self.max_frames = max_frames
        self.full_rounds = full_rounds
        self.init = init
        self.background_share = background_share
        self.beta0 = beta0

    # -- set-up ----------------------------------------------------------------------------
    def _problem(self, features: Mapping[str, np.ndarray], transcripts: Mapping[str, Sequence[str]]) -> _Problem:
        names = sorted(features)
        missing = [v for v in names if v not in transcripts]
        if missing:
            raise BadInput(f"no transcript for video(s) {', '.join(missing[:5])}")
        labels = sorted({a for v in names for a in transcripts[v]} - {self.background})
        classes = [self.background, *labels]
        index = {c: i for i, c in enumerate(classes)}
        trs: list[list[int]] = []
        for v in names:
            if len(transcripts[v]) == 0:
                raise BadInput(f"video {v}: empty transcript")
            trs.append([index[a] for a in transcripts[v]])
        X = np.concatenate([np.asarray(features[v], dtype=np.float64) for v in names])
        if len(constant_columns(X)) == X.shape[1]:
            raise BadInput("every feature is constant over all frames: there is nothing to tell the actions apart",
                           param="features")
        # standardise: the ridge and the covariance shrinkage then mean the same on any feature scale
        X, mean, scale = standardize(X)
        blocks = blocks_from_lengths([len(features[v]) for v in names])
        return _Problem(names, X, blocks, trs, classes, mean, scale)

    def _chains(self, p: _Problem, min_len: Sequence[int] | None = None) -> list[Chain]:
        out = []
        for v, tr in enumerate(p.transcripts):
            m = 1 if min_len is None else min_len[v]
            out.append(ordering_chain(tr, 0, m, self.gaps_))
        return out

    def _decode(self, p: _Problem, G: np.ndarray, chains: Sequence[Chain]) -> np.ndarray:
        labs = ordering_lmo_batch([G[b] for b in p.blocks], chains, p.names)
        return np.concatenate(labs)

    # -- stages ----------------------------------------------------------------------------
    def _convex(self, p: _Problem, init: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        K = len(p.classes)
        weights = balanced_class_weights(np.bincount(init, minlength=K)) if self.balance else None
        linear = None
        if self.kappa:
            linear = np.zeros(K)
            linear[0] = self.kappa / len(p.X)
        chains = self._chains(p)
        prob = OrderingProblem(p.X, [b.stop - b.start for b in p.blocks], chains, K, self.lam, weights, linear,
                               p.names)
        with Status("convex stage") as status:
            res = solve_ordering(prob, init, method=self.method, max_iter=self.max_iter, rtol=self.tol,
                                 callback=lambda r: status.update(f"iteration {r.nit}, gap {r.gap:.3g}"))
        self.fw_ = res
        if not res.success:
            rel = res.gap / max(abs(res.fun), 1e-300)
            msg = (f"the convex stage stopped at certified gap {res.gap:.3g} ({rel:.2g} "
                   f"relative) after {res.nit} iterations, above tol {self.tol}; raise max_iter (the gap shrinks "
                   "slowly when the background between the actions is one class)")
            if self.require_convergence:
                raise WorkFailed(msg)
            warn(msg)
        best: tuple[np.ndarray, str, float] | None = None
        for name, G in (("nearest", -res.x), ("classifier", -prob.scores(res.x))):
            labels = self._decode(p, G, chains)
            f = prob.value(one_hot(labels, K))
            if best is None or f < best[2]:
                best = (labels, name, f)
        assert best is not None
        self.rounding_ = {"winner": best[1], "objective": best[2], "relaxed_objective": float(res.fun)}
        return res.x, best[0]

    def _refine(self, p: _Problem, labels: np.ndarray, anneal: int, rounds: int | None = None
                ) -> tuple[np.ndarray, float, list[dict[str, float]]]:
        """Annealed soft EM, then hard EM, of the Gaussian class model under the ordering chains."""
        K = len(p.classes)
        lengths = np.array([b.stop - b.start for b in p.blocks])
        n_seg = np.array([len(t) for t in p.transcripts])
        min_len = np.maximum(1, np.floor(self.min_length * lengths / n_seg)).astype(int)
        min_len = np.minimum(min_len, lengths // n_seg)
        chains = self._chains(p, min_len)
        hist: list[dict[str, float]] = []
        resp: np.ndarray = labels
        scale = None
        for j in range(anneal):
            L = GaussianScorer(self.shrinkage).fit(p.X, resp, K).log_likelihood(p.X)
            if scale is None:
                # a frame's typical log-likelihood spread across the classes it could take
                fin = np.where(np.isfinite(L), L, np.nan)
                scale = float(np.nanmedian(np.nanmax(fin, axis=1) - np.nanmean(fin, axis=1)))
            beta = self.beta0 * (1.0 / self.beta0) ** (j / max(anneal - 1, 1)) / max(scale, 1e-12)
            post = ordering_posteriors_batch([-L[b] for b in p.blocks], chains, beta, p.names)
            resp = np.concatenate([m for m, _ in post])
            hist.append({"beta": beta * scale, "entropy": float(-(resp * np.log(resp + 1e-300)).sum() / len(resp))})
        if resp.ndim == 2:
            resp = resp.argmax(axis=1)
        labels = resp
        for _ in range(self.refine if rounds is None else rounds):
            L = GaussianScorer(self.shrinkage).fit(p.X, labels, K).log_likelihood(p.X)
            new = self._decode(p, -L, chains)
            changed = int((new != labels).sum())
            hist.append({"changed": changed})
            labels = new
            if changed == 0:
                break
        ll = GaussianScorer(self.shrinkage).fit(p.X, labels, K).total_log_likelihood(p.X, labels)
        hist.append({"log_likelihood": ll})
        return labels, ll, hist

    # -- API -------------------------------------------------------------------------------
    def _solve(self, p: _Problem) -> np.ndarray:
        """The convex stage (when asked for) and the refinement from the chosen start(s)."""
        if self.background_share is not None:
            shares = [self.background_share if self.gaps_ else 0.0]
        else:
            shares = list(BACKGROUND_SHARES) if self.gaps_ and self.refine > 0 else [0.0]
        starts = {}
        for share in shares:
            key = "uniform" if len(shares) == 1 else f"uniform@{share:g}"
            starts[key] = np.concatenate([uniform_labels(b.stop - b.start, tr, share)
                                          for b, tr in zip(p.blocks, p.transcripts, strict=True)])
        uniform = next(iter(starts.values()))
        if self.init in ("convex", "best") or self.refine <= 0:
            Z, starts["convex"] = self._convex(p, uniform)
            self.relaxed_ = {v: Z[b] for v, b in zip(p.names, p.blocks, strict=True)}
        if self.refine <= 0:
            self.init_ = "convex"
            self.background_share_ = shares[0]  # the uniform start's (only one without refinement)
            return starts["convex"]
        if self.init == "convex":
            starts = {"convex": starts["convex"]}
        best, final = -np.inf, uniform
        for name, start in starts.items():
            labels, ll, hist = self._refine(p, start, self.anneal)
            # BIC-like: each class in use costs its mean's d parameters
            score = ll - 0.5 * p.X.shape[1] * len(np.unique(labels)) * np.log(len(labels))
            self.history_[name] = hist
            self.candidates_[name] = (labels, score)
            share = float((labels == 0).mean())
            # a background start must leave a real background class behind, not a few boundary frames
            if name.startswith("uniform@") and float(name.partition("@")[2]) > 0 and share < MIN_BACKGROUND:
                continue
            if score > best:
                best, final, self.init_ = score, labels, name
        if len(shares) > 1:
            self.background_share_ = float(self.init_.partition("@")[2] or 0.0)
            others = ", ".join(f"{k.partition('@')[2]}: {v[1]:.6g}" for k, v in self.candidates_.items()
                               if k.startswith("uniform@"))
            kept = float((final == 0).mean())
            info(f"background share {self.background_share_:g} chosen from the data (penalised log-likelihood per "
                 f"share {others}; {kept:.0%} background frames after refinement; a background start must keep "
                 f"{MIN_BACKGROUND:.0%}); set background_share to force one")
        else:
            self.background_share_ = shares[0]
        return final

    def _validate(self) -> None:
        if self.init not in ("uniform", "convex", "best"):
            raise BadInput(f"init must be uniform, convex or best, got {self.init!r}", param="init")
        if self.method not in ("apg", "fw", "pairwise"):
            raise BadInput(f"method must be apg, fw or pairwise, got {self.method!r}", param="method")
        if self.background_share is not None and not 0.0 <= self.background_share < 1.0:
            raise BadInput(f"background_share must be in [0, 1), got {self.background_share}",
                           param="background_share")
        if not self.lam > 0:
            raise BadInput(f"lam must be positive, got {self.lam}", param="lam")
        if self.max_iter < 0 or self.tol < 0:
            raise BadInput("max_iter and tol must not be negative", param="max_iter")

    def fit(self, features: Mapping[str, np.ndarray], transcripts: Mapping[str, Sequence[str]]) -> OrderingLabeler:
        """Label every frame of every video; ``features[v]`` is (T_v, d), ``transcripts[v]`` its ordered actions.

        Videos longer than ``max_frames`` are solved on features averaged over windows of
        ``ceil(T / max_frames)`` frames, then refined at full resolution (a few hard-EM rounds).
        """
        self._validate()
        # fitted attributes start afresh on every fit (no stale solve from a previous call)
        self.fw_ = self.relaxed_ = self.rounding_ = None  # type: ignore[assignment]  # set again by _solve
        self.history_: dict[str, list[dict[str, float]]] = {}
        self.candidates_: dict[str, tuple[np.ndarray, float]] = {}
        p = self._problem(features, transcripts)
        # auto: transcripts that list background say where it is, so none is added between actions
        self.gaps_: bool = self.gaps if self.gaps is not None else not any(0 in tr for tr in p.transcripts)
        with few_blas_threads(p.X.shape[1]):
            return self._fit(p)

    def _fit(self, p: _Problem) -> OrderingLabeler:
        for b, tr, name in zip(p.blocks, p.transcripts, p.names, strict=True):
            if b.stop - b.start < len(tr):
                raise BadInput(f"video {name}: its transcript lists {len(tr)} actions but the video has only "
                               f"{b.stop - b.start} frames (each action needs one); check that the transcript is "
                               "this video's, or extract its features at a higher fps")
        lengths = [b.stop - b.start for b in p.blocks]
        strides = [max(1, min(-(-T // self.max_frames), T // len(tr))) for T, tr in zip(lengths, p.transcripts,
                                                                                         strict=True)]
        self.strides_ = dict(zip(p.names, strides, strict=True))
        if max(strides) == 1:
            final = self._solve(p)
        else:
            pc = _pool(p, strides)
            coarse = self._solve(pc)
            final = np.concatenate([np.repeat(coarse[bc], s)[: b.stop - b.start]
                                    for b, bc, s in zip(p.blocks, pc.blocks, strides, strict=True)])
            if self.refine > 0:
                final, _, self.history_["full"] = self._refine(p, final, 0, self.full_rounds)
        self.classes_ = p.classes
        self.mean_, self.scale_ = p.mean, p.scale
        self.scorer_ = GaussianScorer(self.shrinkage).fit(p.X, final, len(p.classes))
        self.label_indices_ = {v: final[b] for v, b in zip(p.names, p.blocks, strict=True)}
        self.labels_ = {v: [p.classes[i] for i in idx] for v, idx in self.label_indices_.items()}
        return self

    def fit_predict(self, features: Mapping[str, np.ndarray],
                    transcripts: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
        return self.fit(features, transcripts).labels_

    def predict(self, features: Mapping[str, np.ndarray], transcripts: Mapping[str, Sequence[str]]
                ) -> dict[str, list[str]]:
        """Labels of new videos by the fitted class model, decoded under their transcripts."""
        check_is_fitted(self, "scorer_")
        names = sorted(features)
        index = {c: i for i, c in enumerate(self.classes_)}
        unknown = sorted({a for v in names for a in transcripts[v]} - set(index))
        if unknown:
            raise BadInput(f"transcripts name actions never seen in fit: {', '.join(unknown[:5])}",
                           param="transcripts")
        X = (np.concatenate([np.asarray(features[v], dtype=np.float64) for v in names]) - self.mean_) / self.scale_
        blocks = blocks_from_lengths([len(features[v]) for v in names])
        trs = [[index[a] for a in transcripts[v]] for v in names]
        p = _Problem(names, X, blocks, trs, list(self.classes_))
        L = self.scorer_.log_likelihood(X)
        out = self._decode(p, -L, self._chains(p))
        return {v: [self.classes_[i] for i in out[b]] for v, b in zip(names, blocks, strict=True)}


def _pool(p: _Problem, strides: Sequence[int]) -> _Problem:
    """The same videos with features averaged over consecutive windows of ``strides[v]`` frames."""
    parts = []
    for b, s in zip(p.blocks, strides, strict=True):
        Xv = p.X[b]
        n = -(-len(Xv) // s)
        sums = np.add.reduceat(Xv, np.arange(0, len(Xv), s), axis=0)
        counts = np.diff(np.r_[np.arange(0, len(Xv), s), len(Xv)])[:n]
        parts.append(sums / counts[:, None])
    X = standardize(np.concatenate(parts))[0]
    blocks = blocks_from_lengths([len(x) for x in parts])
    return _Problem(p.names, X, blocks, p.transcripts, p.classes)


def supervised_bound(features: Mapping[str, np.ndarray], gold: Mapping[str, Sequence[str]],
                     transcripts: Mapping[str, Sequence[str]], lam: float = 1e-2, background: str = BACKGROUND,
                     gaps: bool | None = None) -> dict[str, list[str]]:
    """Upper reference: the DIFFRAC ridge classifier fit on the true labels, decoded with the same
    ordering oracle from the transcripts."""
    lab = OrderingLabeler(lam=lam, background=background, gaps=gaps)
    p = lab._problem(features, transcripts)
    lab.gaps_ = gaps if gaps is not None else not any(0 in tr for tr in p.transcripts)
    index = {c: i for i, c in enumerate(p.classes)}
    y = np.concatenate([[index[g] for g in gold[v]] for v in p.names])
    cost = DiffracCost(p.X, lam)
    G = -cost.scores(one_hot(y, len(p.classes)))
    out = lab._decode(p, G, lab._chains(p))
    return {v: [p.classes[i] for i in out[b]] for v, b in zip(p.names, p.blocks, strict=True)}
