"""Naming samples from bags of labels (Bojanowski et al. 2013): "each label listed for a scene is
carried by at least one of its samples", as a script says who is in a scene and face tracks are
the samples.

1. **Convex stage.** DIFFRAC over all samples on the at-least-one domain, solved to a certified
   gap (:func:`wsl.solvers.bags.solve_bags`) and rounded by the exact oracle (the better of the
   nearest vertex and the classifier's vertex). This is the published method, kept as
   ``refine=0`` and as ``convex_labels_`` after every fit.
2. **Refinement.** The convex optimum is not what rounding needs (more iterations can lower the
   accuracy of its rounding). A shared-covariance Gaussian class model alternates with the exact
   at-least-one assignment of every bag (a rectangular assignment problem per bag), searched one
   component of linked labels at a time (in COIN, one task) from the convex rounding and from
   ``starts`` random seeds, with moves that swap the names of two labels sharing a bag (see
   :class:`BagSearch`). Every answer satisfies every bag exactly: it is a vertex of the oracle.
3. **Posterior labels.** With a few samples per label, that labelling of best likelihood fits the
   noise (the truth scores worse). So the search's answer starts a collapsed Gibbs sampler over
   labellings that satisfy every bag (class means integrated out), and each sample gets its most
   frequent label, decoded jointly by the same exact oracle (:mod:`wsl.actions.bag_posterior`);
   ``sweeps=0`` keeps the search's answer. On a component of many labels (Mining-YouTube: 280) a chain
   from the search's answer stays near it, so there eight chains annealed from random labellings vote.

Background: with ``background=None`` the class is used only when the data call for it: when some
sample is in no bag, or a bag has more samples than labels and the model with a background class
explains the features better (penalised likelihood); the choice is said on stderr.

Labels that exactly the same bags list cannot be told apart by any bag-based method; they are
reported as ambiguity groups (``ambiguous_with_`` per sample).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from wsl.actions.bag_posterior import WIDE_CHAINS, posterior_labels
from wsl.actions.bag_search import BagSearch, whiten
from wsl.actions.gaussian import GaussianScorer
from wsl.data.segments import BACKGROUND
from wsl.errors import BadInput, WorkFailed
from wsl.progress import Status, info, warn
from wsl.solvers._threads import few_blas_threads
from wsl.solvers.bags import BagPolytope, solve_bags
from wsl.solvers.diffrac import DiffracCost, one_hot
from wsl.solvers.prep import constant_columns, standardize


class BagClusterer(BaseEstimator):
    """At-least-one discriminative clustering with a refinement that keeps every bag satisfied.

    Parameters: ``lam`` ridge; ``kappa`` linear cost per sample put on background (convex stage);
    ``max_iter``/``tol`` of the convex solve (certified relative gap); ``refine`` most hard rounds per
    start of the refinement (0: the convex method alone); ``starts`` random starts per component
    besides the current labelling; ``sweeps`` of the posterior sampler (0: the search's labelling);
    ``shrinkage`` of the shared covariance; ``background`` the label name of
    samples that are none of the named ones; ``use_background`` True/False or None (decide from the
    data); ``temperature`` of the per-sample probabilities (None: fitted on held-out bags, see
    :meth:`_calibrated`); ``seed``; ``anneal``: the search's annealed Gibbs start on components of
    many labels (Mining-YouTube at noise 2, round 6: 0.157 -> 0.222 expected accuracy, 121 -> 405 s a
    solve; off by default since round 8, whose posterior step anneals chains there itself: 0.259 with
    it, 0.252 without, at a third of the time).

    After :meth:`fit`: ``classes_``, ``labels_`` (N,) names, ``label_indices_``, ``proba_`` (N, K)
    probabilities over the labels each sample may take (cross-fitted over folds of bags, at
    ``temperature_``), ``scores_`` (N, K) classifier scores of the
    convex stage, ``relaxed_`` (N, K), ``convex_labels_``, ``fw_`` (the convex solve, with its
    certified ``gap`` and ``success``), ``rounding_``, ``init_``, ``history_`` (what the search did:
    components, outer rounds, random starts that won, name swaps),
    ``search_labels_`` (the search's labelling, before the posterior step),
    ``background_used_``, ``ambiguity_groups_`` (lists of labels no bag separates),
    ``ambiguous_with_`` (per sample, the other labels of its label's group it could equally carry).
    """

    def __init__(self, lam: float = 1e-3, kappa: float = 0.0, max_iter: int = 2000, tol: float = 1e-4,
                 refine: int = 30, starts: int = 8, sweeps: int = 100, shrinkage: float = 0.1,
                 background: str = BACKGROUND, use_background: bool | None = None, temperature: float | None = None,
                 require_convergence: bool = False, seed: int = 0, anneal: bool = False):
        self.lam = lam
        self.kappa = kappa
        self.max_iter = max_iter
        self.tol = tol
        self.refine = refine
        self.starts = starts
        self.sweeps = sweeps
        self.shrinkage = shrinkage
        self.background = background
        self.use_background = use_background
        self.temperature = temperature
        self.require_convergence = require_convergence
        self.seed = seed
        self.anneal = anneal

    # -- set-up ----------------------------------------------------------------------------------
    def _validate(self, X: np.ndarray) -> np.ndarray:
        if not self.lam > 0:
            raise BadInput(f"`lam` must be positive, got {self.lam}", param="lam")
        for name in ("max_iter", "tol", "refine", "starts", "sweeps"):
            if getattr(self, name) < 0:
                raise BadInput(f"`{name}` must not be negative, got {getattr(self, name)}", param=name)
        if self.temperature is not None and not self.temperature > 0:
            raise BadInput(f"`temperature` must be positive, got {self.temperature}", param="temperature")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or len(X) < 2:
            raise BadInput(f"expected an (N, d) feature array with N >= 2, got shape {X.shape}", param="X")
        if not np.isfinite(X).all():
            raise BadInput("features hold NaN or inf", param="X")
        if len(constant_columns(X)) == X.shape[1]:
            raise BadInput("every feature is constant: there is nothing to tell the samples apart", param="X")
        return X

    def _domain(self, N: int, bags: Sequence[Sequence[int]], bag_labels: Sequence[Sequence[str]],
                names: Sequence[str] | None, source: str | None, with_bg: bool
                ) -> tuple[list[str], BagPolytope]:
        labels = sorted({lab for need in bag_labels for lab in need} - {self.background})
        classes = [self.background, *labels] if with_bg else labels
        if not classes:
            raise BadInput("the bags name no label", source)
        index = {c: i for i, c in enumerate(classes)}
        allowed = np.ones((N, len(classes)), dtype=bool)
        need_idx = []
        for rows, need in zip(bags, bag_labels, strict=True):
            ids = sorted({index[lab] for lab in need if lab != self.background})
            r = [i for i in rows if isinstance(i, (int, np.integer)) and 0 <= i < N]
            allowed[r] = False
            allowed[np.ix_(r, ([0] if with_bg else []) + ids)] = True
            need_idx.append(ids)
        return classes, BagPolytope(N, len(classes), bags, need_idx, allowed, names, source)

    # -- fit -------------------------------------------------------------------------------------
    def fit(self, X: np.ndarray, bags: Sequence[Sequence[int]], bag_labels: Sequence[Sequence[str]],
            names: Sequence[str] | None = None, source: str | None = None) -> BagClusterer:
        """``X`` (N, d) sample features; ``bags[j]`` sample indices, ``bag_labels[j]`` the labels known
        to occur among them at least once; ``names`` name the bags and ``source`` their file in errors."""
        X = self._validate(X)
        if len(bags) != len(bag_labels):
            raise BadInput(f"{len(bags)} bags but {len(bag_labels)} label lists", source)
        for attr in ("fw_", "rounding_", "relaxed_", "convex_labels_", "proba_", "init_", "history_", "temperature_",
                     "search_labels_", "posterior_"):
            self.__dict__.pop(attr, None)  # no stale answer from a previous fit
        Xs, self.mean_, self.scale_ = standardize(X)
        N = len(X)
        in_bag = np.zeros(N, dtype=bool)
        for rows in bags:
            in_bag[[i for i in rows if isinstance(i, (int, np.integer)) and 0 <= i < N]] = True
        listed_bg = any(self.background in need for need in bag_labels)
        # bags that list no label: their samples can only be background
        unnamed = [j for j, (rows, need) in enumerate(zip(bags, bag_labels, strict=True))
                   if len(rows) and not set(need) - {self.background}]
        first_unnamed = (names[unnamed[0]] if names is not None else f"#{unnamed[0]}") if unnamed else ""
        spare = any(len(set(rows)) > len(set(need) - {self.background}) for rows, need in zip(bags, bag_labels,
                                                                                            strict=True))
        if self.use_background is not None:
            options = [bool(self.use_background)]
            why = "as asked"
            if not self.use_background and unnamed:
                raise BadInput(f"bag {first_unnamed} lists no label, so its samples can only be background: let the "
                               "background class be used", source)
        elif unnamed:
            options, why = [True], f"{len(unnamed)} bag(s) list no label ({first_unnamed} first)"
        elif listed_bg or not in_bag.all():
            why = "the bags list it" if listed_bg else f"{int((~in_bag).sum())} samples are in no bag"
            options = [True]
        elif not spare:
            options, why = [False], "every bag has exactly as many samples as labels"
        else:
            options, why = [True, False], ""
        with few_blas_threads(X.shape[1]):
            fits = [self._fit_one(Xs, bags, bag_labels, names, source, bg) for bg in options]
        # a background class left empty is no background: the model without it is the simpler answer
        kept = [f for f in fits
                if not (f["bg"] and len(fits) > 1 and not np.any(np.asarray(f["label_indices_"]) == 0))]
        best = max(kept, key=lambda f: (float(f["score"]), not f["bg"]))  # type: ignore[arg-type]
        if len(kept) < len(fits):
            why = "the model with it leaves it empty"
        elif len(fits) > 1:
            why = (f"the model {'with' if best['bg'] else 'without'} it explains the features better "
                   f"(penalised log-likelihood {fits[0]['score']:.6g} with, {fits[1]['score']:.6g} without)")
        self.background_used_ = bool(best["bg"])
        info(f"background class {'used' if best['bg'] else 'not used'}: {why}")
        for k, v in best.items():
            if k not in ("bg", "score", "dom"):
                setattr(self, k, v)
        if self.refine > 0 and self.sweeps > 0:  # on the chosen model only: the sampling is the costly part
            dom: BagPolytope = best["dom"]  # type: ignore[assignment]
            start = np.asarray(best["label_indices_"])
            self.search_labels_ = start
            Z = whiten(Xs, start, len(self.classes_), self.shrinkage)
            with Status("posterior sampling"):
                self.label_indices_, self.posterior_, ran = posterior_labels(Z, start, dom, len(self.classes_),
                                                               self.background_used_, self.sweeps,
                                                               np.random.default_rng(self.seed))
            self.history_["posterior_sweeps"] = ran
            self.history_["posterior_changed"] = int((self.label_indices_ != start).sum())
            how = ("" if ran == self.sweeps else f" (of {self.sweeps}: the sampler's step budget)" if ran < self.sweeps
                   else f" (a wide posterior: {WIDE_CHAINS} chains, annealed from random labellings, then voting)")
            info(f"posterior labels: {ran} sweeps, {self.history_['posterior_changed']} samples relabelled{how}")
        self.labels_ = [self.classes_[i] for i in self.label_indices_]
        self._ambiguity(bags, bag_labels)
        self.proba_, self.temperature_ = self._calibrated(Xs, np.asarray(self.label_indices_), bags, bag_labels)
        index = {c: i for i, c in enumerate(self.classes_)}
        for group in self.ambiguity_groups_:  # no bag tells them apart: an honest score cannot either
            g = [index[c] for c in group]
            share = self.allowed_[:, g]
            self.proba_[:, g] = self.proba_[:, g].sum(axis=1, keepdims=True) * share / np.maximum(
                share.sum(axis=1, keepdims=True), 1)
        self.proba_ /= self.proba_.sum(axis=1, keepdims=True)
        res = self.fw_
        if not res.success:
            msg = (f"the convex stage stopped at certified gap {res.gap:.3g} "
                   f"({res.gap / max(abs(res.fun), 1e-300):.2g} relative) after {res.nit} iterations, above "
                   f"tol {self.tol}; raise max_iter")
            if self.require_convergence:
                raise WorkFailed(msg)
            warn(msg)
        return self

    def _fit_one(self, Xs: np.ndarray, bags: Sequence[Sequence[int]], bag_labels: Sequence[Sequence[str]],
                 names: Sequence[str] | None, source: str | None, with_bg: bool) -> dict[str, object]:
        classes, dom = self._domain(len(Xs), bags, bag_labels, names, source, with_bg)
        K = len(classes)
        linear = None
        if self.kappa and with_bg:
            linear = np.zeros(K)
            linear[0] = self.kappa / len(Xs)
        cost = DiffracCost(Xs, self.lam, linear=linear)
        with Status("convex stage") as status:
            res = solve_bags(cost, dom, max_iter=self.max_iter, rtol=self.tol,
                             callback=lambda r: status.update(f"iteration {r.nit}, gap {r.gap:.3g}"))
        best_r: tuple[np.ndarray, str, float] | None = None
        for how, G in (("nearest", -res.x), ("classifier", -cost.scores(res.x))):
            lab = dom.lmo_labels(G)
            f = cost(one_hot(lab, K))
            if best_r is None or f < best_r[2]:
                best_r = (lab, how, f)
        assert best_r is not None
        out: dict[str, object] = {
            "bg": with_bg, "classes_": classes, "fw_": res, "relaxed_": res.x, "scores_": cost.scores(res.x),
            "convex_labels_": best_r[0], "allowed_": dom.allowed, "dom": dom,
            "rounding_": {"winner": best_r[1], "objective": best_r[2], "relaxed_objective": float(res.fun)}}
        coef, intercept = cost.classifier(res.x)
        out["coef_"], out["intercept_"] = coef, intercept
        if self.refine <= 0:
            out.update(label_indices_=best_r[0], init_="convex", score=0.0)
            return out
        rng = np.random.default_rng(self.seed)
        lab, score, stats = self._refine(Xs, best_r[0], dom, K, with_bg, rng)
        out.update(label_indices_=lab, init_="convex", score=score, history_=stats)
        return out

    def _refine(self, Xs: np.ndarray, labels: np.ndarray, dom: BagPolytope, K: int, with_bg: bool,
                rng: np.random.Generator) -> tuple[np.ndarray, float, dict[str, int]]:
        """Search for the labelling of best likelihood that satisfies every bag (see :class:`BagSearch`)."""
        search = BagSearch(Xs, dom, K, with_bg, self.shrinkage, self.starts, rng, gibbs=self.anneal)
        labels, stats = search.run(labels, self.refine)
        model = GaussianScorer(self.shrinkage).fit(Xs, labels, K)
        ll = model.total_log_likelihood(Xs, labels)
        # BIC-like: each class in use costs its mean's d parameters
        score = ll - 0.5 * Xs.shape[1] * len(np.unique(labels)) * np.log(len(labels))
        return labels, score, stats

    def _proba(self, Xs: np.ndarray, labels: np.ndarray, allowed: np.ndarray, K: int, temperature: float = 1.0
               ) -> np.ndarray:
        """In-sample posterior of the Gaussian model fitted to all labels (each sample's own label in the
        fit: too sharp with a few samples per label; kept for comparison and for fewer than two bags)."""
        L = GaussianScorer(self.shrinkage).fit(Xs, labels, K).log_likelihood(Xs)
        return _restricted_softmax(L / temperature, allowed)

    def _calibrated(self, Xs: np.ndarray, labels: np.ndarray, bags: Sequence[Sequence[int]],
                    bag_labels: Sequence[Sequence[str]]) -> tuple[np.ndarray, float]:
        """Cross-fitted probabilities at the temperature that makes them honest on held-out bags.

        The model fitted to all samples scores each sample with its own label inside the fit; with a
        few samples per label its probabilities are far too sharp (COIN at noise 2: the temperature
        that calibrates them against the true labels is 7-18, face tracks 0.2-1.6, so no constant
        fits). So the bags are split into ``CALIBRATION_FOLDS`` folds, each fold's samples are scored
        by the model fitted to the other folds' labels, and the temperature is the one under which
        those scores best predict what the held-out bags say (:func:`_bag_log_likelihood`). No true
        label is needed; ``temperature`` given: that value instead of the fit.
        """
        K, allowed = len(self.classes_), self.allowed_
        index = {c: i for i, c in enumerate(self.classes_)}
        rows_of, need_of = [], []
        for rows, need in zip(bags, bag_labels, strict=True):
            rows_of.append(np.asarray(rows, dtype=np.int64))
            need_of.append(np.array(sorted({index[lab] for lab in need if lab in index and lab != self.background}),
                                    dtype=np.int64))
        F = min(CALIBRATION_FOLDS, len(bags))
        if F < 2:  # nothing to hold out
            T = 1.0 if self.temperature is None else float(self.temperature)
            return self._proba(Xs, labels, allowed, K, T), T
        rng = np.random.default_rng(self.seed)
        fold = rng.integers(F, size=len(Xs))  # rows in no bag: any fold
        for f, j in enumerate(rng.permutation(len(bags))):
            fold[rows_of[j]] = f % F
        L = np.zeros((len(Xs), K))
        for f in range(F):
            test = fold == f
            model = GaussianScorer(self.shrinkage).fit(Xs[~test], labels[~test], K)
            model.intercept_[model.counts_ <= 1e-9] = 0.0  # a label unseen outside the fold: the overall mean
            L[test] = model.log_likelihood(Xs[test])
        if self.temperature is not None:
            T = float(self.temperature)
        else:
            pairs = _bag_pairs(rows_of, need_of)
            grid = np.exp(np.linspace(np.log(0.05), np.log(200.0), 41))
            ll = [_bag_log_likelihood(L / t, allowed, rows_of, pairs) for t in grid]
            T = float(grid[int(np.argmax(ll))])
            fine = T * np.exp(np.linspace(-0.17, 0.17, 9))
            ll = [_bag_log_likelihood(L / t, allowed, rows_of, pairs) for t in fine]
            T = float(fine[int(np.argmax(ll))])
            info(f"probability temperature {T:.3g}, fitted on held-out bags ({F} folds)")
        return _restricted_softmax(L / T, allowed), T

    def _ambiguity(self, bags: Sequence[Sequence[int]], bag_labels: Sequence[Sequence[str]]) -> None:
        """Labels listed by exactly the same bags: no bag-based method can tell them apart."""
        sig: dict[str, list[int]] = {c: [] for c in self.classes_ if c != self.background}
        for j, need in enumerate(bag_labels):
            for lab in set(need) - {self.background}:
                sig[lab].append(j)
        groups: dict[tuple[int, ...], list[str]] = {}
        for lab, js in sig.items():
            groups.setdefault(tuple(js), []).append(lab)
        self.ambiguity_groups_ = sorted((sorted(g) for g in groups.values() if len(g) > 1), key=lambda g: g[0])
        of = {lab: g for g in self.ambiguity_groups_ for lab in g}
        index = {c: i for i, c in enumerate(self.classes_)}
        self.ambiguous_with_ = []
        for i, lab in enumerate(self.labels_):
            others = [o for o in of.get(lab, []) if o != lab and self.allowed_[i, index[o]]]
            self.ambiguous_with_.append(others)

    # -- new samples -----------------------------------------------------------------------------
    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """(N, K) scores of the convex stage's classifier for new samples."""
        check_is_fitted(self, "coef_")
        Xs = (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_
        return Xs @ self.coef_ + self.intercept_

    def predict(self, X: np.ndarray) -> list[str]:
        """Unconstrained labels of new samples: the classifier's best class."""
        return [self.classes_[i] for i in self.decision_function(X).argmax(axis=1)]




#: folds of bags for the cross-fitted probabilities and their temperature
CALIBRATION_FOLDS = 5


def _restricted_softmax(L: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    L = np.where(allowed & np.isfinite(L), L, -np.inf)
    L = L - L.max(axis=1, keepdims=True)
    P = np.exp(L)
    return P / P.sum(axis=1, keepdims=True)


def _bag_pairs(rows_of: Sequence[np.ndarray], need_of: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Flat (row, label, pair) triples: one pair per (bag, listed label), one triple per sample of that bag."""
    r, k, p = [], [], []
    n = 0
    for rows, need in zip(rows_of, need_of, strict=True):
        for lab in need:
            r.append(rows)
            k.append(np.full(len(rows), lab))
            p.append(np.full(len(rows), n))
            n += 1
    if not r:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(r), np.concatenate(k), np.concatenate(p)


def _bag_log_likelihood(S: np.ndarray, allowed: np.ndarray, rows_of: Sequence[np.ndarray],
                        pairs: tuple[np.ndarray, ...]) -> float:
    """log P(what the bags say | scores S) with per-sample softmax(S) over every label: each bag's
    samples carry labels the bag allows, and each listed label is carried at least once (these
    events taken as independent: exact would be an inclusion-exclusion over the bag's labels)."""
    S = S - S.max(axis=1, keepdims=True)
    P = np.exp(S)
    P /= P.sum(axis=1, keepdims=True)
    inside = np.maximum((P * allowed).sum(axis=1), 1e-300)
    rows = np.concatenate(rows_of) if rows_of else np.zeros(0, dtype=np.int64)
    total = float(np.log(inside[rows]).sum())
    r, k, p = pairs
    if len(r):
        Q = np.minimum(P[r, k] / inside[r], 1.0)
        miss = np.exp(np.bincount(p, weights=np.log1p(-np.minimum(Q, 1 - 1e-15))))
        total += float(np.log(np.maximum(1.0 - miss, 1e-300)).sum())
    return total
