"""Naming samples from bags of labels (Bojanowski et al. 2013): "each label listed for a scene is
carried by at least one of its samples" — e.g. face tracks and the characters a script puts in
the scene.

DIFFRAC over all samples with the at-least-one oracle, Frank-Wolfe (pairwise by default: the
optimum lies inside a face, where plain FW zig-zags), rounding by the oracle, and per-sample scores
from the classifier of the relaxed solution. A sample in a bag may take only the bag's labels or
background; a sample in no bag may take any label.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wsl.errors import BadInput, WorkFailed
from wsl.solvers._threads import few_blas_threads
from wsl.solvers.diffrac import DiffracCost, one_hot
from wsl.solvers.frank_wolfe import frank_wolfe
from wsl.solvers.oracles import bags_lmo
from wsl.solvers.rounding import round_assignment

BACKGROUND = "background"


class BagClusterer:
    """At-least-one discriminative clustering, scikit-learn shaped.

    Parameters: ``lam`` ridge; ``kappa`` linear cost per sample put on background (positive keeps
    samples off background, negative pushes them there); ``max_iter``/``tol`` for Frank-Wolfe;
    ``pairwise`` pairwise FW steps; ``background`` its label name.

    After :meth:`fit`: ``classes_``, ``labels_`` (N,) names, ``label_indices_``, ``scores_`` (N, K)
    classifier scores, ``relaxed_`` (N, K), ``coef_``/``intercept_`` (the classifier on
    standardised features), ``fw_`` and ``rounding_``.
    """

    def __init__(self, lam: float = 1e-3, kappa: float = 0.0, max_iter: int = 500, tol: float = 1e-4,
                 pairwise: bool = True, background: str = BACKGROUND, require_convergence: bool = False):
        self.lam = lam
        self.kappa = kappa
        self.max_iter = max_iter
        self.tol = tol
        self.pairwise = pairwise
        self.background = background
        self.require_convergence = require_convergence

    def _setup(self, X: np.ndarray, bags: Sequence[Sequence[int]], bag_labels: Sequence[Sequence[str]],
               names: Sequence[str] | None) -> tuple[list[np.ndarray], list[list[int]], np.ndarray]:
        N = len(X)
        labels = sorted({lab for need in bag_labels for lab in need} - {self.background})
        self.classes_ = [self.background, *labels]
        index = {c: i for i, c in enumerate(self.classes_)}
        K = len(self.classes_)
        allowed = np.ones((N, K), dtype=bool)
        rows_list: list[np.ndarray] = []
        need_list: list[list[int]] = []
        for j, (rows, need) in enumerate(zip(bags, bag_labels, strict=True)):
            bag = names[j] if names is not None else f"#{j}"
            rows = np.asarray(rows, dtype=np.int64)
            if len(rows) == 0:
                raise BadInput(f"bag {bag}: no samples")
            if rows.min() < 0 or rows.max() >= N:
                raise BadInput(f"bag {bag}: sample index {int(rows.max()) if rows.max() >= N else int(rows.min())} "
                               f"outside 0..{N - 1}")
            ids = [index[lab] for lab in need if lab != self.background]
            allowed[rows] = False
            allowed[np.ix_(rows, [0, *ids])] = True
            rows_list.append(rows)
            need_list.append(ids)
        return rows_list, need_list, allowed

    def fit(self, X: np.ndarray, bags: Sequence[Sequence[int]], bag_labels: Sequence[Sequence[str]],
            names: Sequence[str] | None = None) -> BagClusterer:
        """``X`` (N, d) sample features; ``bags[j]`` sample indices, ``bag_labels[j]`` the labels known
        to occur among them at least once; ``names`` name the bags in errors."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or len(X) < 2:
            raise BadInput(f"expected an (N, d) feature array with N >= 2, got shape {X.shape}")
        with few_blas_threads(X.shape[1]):
            return self._fit(X, bags, bag_labels, names)

    def _fit(self, X: np.ndarray, bags: Sequence[Sequence[int]], bag_labels: Sequence[Sequence[str]],
             names: Sequence[str] | None) -> BagClusterer:
        self.mean_, self.scale_ = X.mean(axis=0), np.maximum(X.std(axis=0), 1e-12)
        Xs = (X - self.mean_) / self.scale_
        rows, need, allowed = self._setup(Xs, bags, bag_labels, names)
        K = len(self.classes_)
        linear = None
        if self.kappa:
            linear = np.zeros(K)
            linear[0] = self.kappa / len(X)
        cost = DiffracCost(Xs, self.lam, linear=linear)

        def lmo_labels(G: np.ndarray) -> np.ndarray:
            return bags_lmo(G, rows, need, allowed, names)

        x0 = one_hot(lmo_labels(np.zeros((len(X), K))), K)
        res = frank_wolfe(cost.f_grad, lambda G: one_hot(lmo_labels(G), K), x0, max_iter=self.max_iter,
                          rtol=self.tol, curvature=cost.curvature, pairwise=self.pairwise)
        self.fw_ = res
        if self.require_convergence and not res.success:
            raise WorkFailed(f"Frank-Wolfe did not reach the gap tolerance {self.tol} in {res.nit} iterations "
                             f"(gap {res.gap:.3g}); raise --max-iter")
        self.relaxed_ = res.x
        lab, which, f = round_assignment(res.x, cost, lmo_labels)
        self.rounding_ = {"winner": which, "objective": f, "relaxed_objective": float(res.fun)}
        self.coef_, self.intercept_ = cost.classifier(res.x)
        self.scores_ = cost.scores(res.x)
        self.label_indices_ = lab
        self.labels_ = [self.classes_[i] for i in lab]
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """(N, K) classifier scores of new samples."""
        Xs = (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_
        return Xs @ self.coef_ + self.intercept_

    def predict(self, X: np.ndarray) -> list[str]:
        """Unconstrained labels of new samples: the classifier's best class."""
        return [self.classes_[i] for i in self.decision_function(X).argmax(axis=1)]
