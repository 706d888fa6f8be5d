"""The class model both refinements share (label-actions and cluster): Gaussians with one shared covariance."""

from __future__ import annotations

import numpy as np

from wsl.solvers.diffrac import one_hot


def toward_spherical(cov: np.ndarray, share: float) -> np.ndarray:
    """``cov`` with ``share`` of it replaced by the spherical covariance of the same trace."""
    d = cov.shape[0]
    return (1 - share) * cov + share * (np.trace(cov) / d) * np.eye(d)


class GaussianScorer:  # an internal model of the refinement, not a user-facing estimator
    """Class-conditional Gaussians with one shared, shrunk covariance (LDA): calibrated frame costs.

    cost[t, k] = -log N(x_t; mu_k, S) + const, the same scale for every class, so a decoder that
    sums costs along a path is not biased towards whichever class a regression happens to favour.
    """

    def __init__(self, shrinkage: float = 0.1):
        self.shrinkage = shrinkage

    def fit(self, X: np.ndarray, labels: np.ndarray, n_classes: int) -> GaussianScorer:
        """Fit to hard labels (N,) or to soft responsibilities (N, K) whose rows sum to 1."""
        R = one_hot(labels, n_classes) if labels.ndim == 1 else labels
        counts = R.sum(axis=0)
        present = counts > 1e-9
        means = np.zeros((n_classes, X.shape[1]))
        means[present] = (R[:, present].T @ X) / counts[present, None]
        # within-class scatter: sum_t x x^T - sum_k n_k mu_k mu_k^T
        cov = (X.T @ X - (means.T * counts) @ means) / max(len(X) - int(present.sum()), 1)
        d = cov.shape[0]
        cov = toward_spherical(cov, self.shrinkage)
        # a floor: with as many classes as samples the within-class scatter is 0 and cov singular
        cov += 1e-9 * max(float(np.einsum("ij,ij->", X, X)) / max(len(X) * d, 1), 1e-12) * np.eye(d)
        prec_means = np.linalg.solve(cov, means.T)  # (d, K)
        self.cov_ = cov
        self.means_ = means
        self.coef_ = prec_means
        self.intercept_ = -0.5 * np.einsum("kd,dk->k", means, prec_means)
        self.intercept_[~present] = -np.inf  # a class with no frame cannot be chosen
        self.counts_ = counts
        return self

    def total_log_likelihood(self, X: np.ndarray, labels: np.ndarray) -> float:
        """sum_t log N(x_t; mu_{y_t}, S): comparable between labellings (unlike the relative scores)."""
        R = X - self.means_[labels]
        chol = np.linalg.cholesky(self.cov_)
        mahal = np.square(np.linalg.solve(chol, R.T)).sum()
        logdet = 2 * np.log(np.diag(chol)).sum()
        return float(-0.5 * (mahal + len(X) * (logdet + X.shape[1] * np.log(2 * np.pi))))

    def log_likelihood(self, X: np.ndarray) -> np.ndarray:
        """Per frame and class, log N(x; mu_k, S) up to a term that does not depend on the class."""
        return X @ self.coef_ + self.intercept_


def one_hot_sum(labels: np.ndarray, Z: np.ndarray, n: int) -> np.ndarray:
    """(n, d) sums of the rows of Z per label (sorted segments: far faster than ``np.add.at``)."""
    out = np.zeros((n, Z.shape[1]))
    if len(labels):
        order = np.argsort(labels, kind="stable")
        sl = labels[order]
        starts = np.flatnonzero(np.r_[True, sl[1:] != sl[:-1]])
        out[sl[starts]] = np.add.reduceat(Z[order], starts, axis=0)
    return out
