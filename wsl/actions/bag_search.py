"""The refinement search of :class:`wsl.actions.clusterer.BagClusterer`: labellings that satisfy every
bag exactly, searched one component of linked labels at a time (Bojanowski et al. 2013's at-least-one
constraints, a shared-covariance Gaussian class model)."""

from __future__ import annotations

import numpy as np

from wsl.actions.gaussian import GaussianScorer
from wsl.solvers.bags import BagPolytope


class BagSearch:
    """Coordinate search over labellings that satisfy every bag, one component at a time.

    Labels that share a bag are linked; a component (in COIN, one task) is a set of bags linked by
    their labels. With the shared covariance held fixed (the features whitened by it), the likelihood
    of a component's samples depends only on the means of its own labels (and of background, held
    fixed), so each component is searched on its own and a good start in one is not lost to a bad
    start in another:

    - from its current labels and from ``starts`` random seeds (each label's mean at one of the
      samples that may carry it), hard rounds alternate the class means with the exact
      at-least-one assignment of every bag (:meth:`BagPolytope.lmo_labels`), keeping the labelling
      of least within-class scatter;
    - then names are swapped between pairs of labels that share a bag, kept when the scatter drops:
      which cluster carries which name is decided by the few bags that list one label and not the
      other, a move no single hard round makes.

    Outer rounds refit the shared covariance and repeat until nothing changes.
    """

    def __init__(self, Xs: np.ndarray, dom: BagPolytope, K: int, with_bg: bool, shrinkage: float, starts: int,
                 rng: np.random.Generator):
        self.Xs, self.dom, self.K, self.shrinkage, self.starts, self.rng = Xs, dom, K, shrinkage, starts, rng
        self.bg = 0 if with_bg else None
        parent = list(range(len(dom.bags)))

        def find(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        first: dict[int, int] = {}
        for j, need in enumerate(dom.bag_labels):
            for k in need:
                if int(k) in first:
                    parent[find(j)] = find(first[int(k)])
                else:
                    first[int(k)] = j
        groups: dict[int, list[int]] = {}
        for j, need in enumerate(dom.bag_labels):
            if len(need):
                groups.setdefault(find(j), []).append(j)
        self.parts = [self._part(js) for js in groups.values()]
        covered = np.zeros(dom.n_rows, dtype=bool)
        for part in self.parts:
            covered[part.rows] = True
        self.loose = np.flatnonzero(~covered)  # rows of no constraining bag: nearest allowed mean

    def _part(self, js: list[int]) -> BagPart:
        dom = self.dom
        rows = np.concatenate([dom.bags[j] for j in js])
        pos = np.full(dom.n_rows, -1, dtype=np.int64)
        pos[rows] = np.arange(len(rows))
        ks = sorted({int(k) for j in js for k in dom.bag_labels[j]})
        cols = np.array(([self.bg] if self.bg is not None else []) + ks, dtype=np.int64)
        cpos = {int(c): i for i, c in enumerate(cols)}
        local_bags = [pos[dom.bags[j]] for j in js]
        local_need = [[cpos[int(k)] for k in dom.bag_labels[j]] for j in js]
        sub = BagPolytope(len(rows), len(cols), local_bags, local_need, dom.allowed[np.ix_(rows, cols)])
        # name swaps worth trying: labels that share a bag but not all their bags (identical bag lists are
        # an exact symmetry), those whose bag lists overlap most first, at most MAX_SWAP_PAIRS
        sig: dict[int, set[int]] = {}
        for j, need in enumerate(local_need):
            for a in need:
                sig.setdefault(a, set()).add(j)
        pairs = sorted({(a, b) for need in local_need for a in need for b in need if a < b and sig[a] != sig[b]},
                       key=lambda ab: -len(sig[ab[0]] & sig[ab[1]]) / len(sig[ab[0]] | sig[ab[1]]))
        return BagPart(rows, cols, sub, pairs[:MAX_SWAP_PAIRS])

    def _means(self, Z: np.ndarray, labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        counts = np.bincount(labels, minlength=n)
        M = np.zeros((n, Z.shape[1]))
        np.add.at(M, labels, Z)
        M[counts > 0] /= counts[counts > 0, None] + PRIOR_SAMPLES
        return M, counts

    def _costs(self, Z: np.ndarray, M: np.ndarray, counts: np.ndarray) -> np.ndarray:
        C = (Z * Z).sum(axis=1)[:, None] - 2.0 * Z @ M.T + (M * M).sum(axis=1)[None, :]
        C[:, counts == 0] = _EMPTY  # a label with no member can still be placed where a bag requires it
        return C

    def _hard(self, part: BagPart, Z: np.ndarray, labels: np.ndarray, bg_mean: np.ndarray | None, rounds: int
              ) -> tuple[np.ndarray, float]:
        """Hard rounds from ``labels`` (local column indices): means <-> exact assignment."""
        n = len(part.cols)
        for _ in range(max(rounds, 1)):
            M, counts = self._local_means(Z, labels, n, bg_mean)
            new = part.sub.lmo_labels(self._costs(Z, M, counts))
            if np.array_equal(new, labels):
                break
            labels = new
        M, counts = self._local_means(Z, labels, n, bg_mean)
        return labels, float(self._costs(Z, M, counts)[np.arange(len(Z)), labels].sum())

    def _local_means(self, Z: np.ndarray, labels: np.ndarray, n: int, bg_mean: np.ndarray | None
                     ) -> tuple[np.ndarray, np.ndarray]:
        M, counts = self._means(Z, labels, n)
        if self.bg is not None:  # background is shared by every component: its mean stays global here
            if bg_mean is None:
                counts[0] = 0
            else:
                M[0], counts[0] = bg_mean, 1
        return M, counts

    def run(self, labels: np.ndarray, rounds: int) -> tuple[np.ndarray, dict[str, int]]:
        labels = labels.copy()
        stats = {"components": len(self.parts), "outer_rounds": 0, "random_start_wins": 0, "name_swaps": 0}
        for outer in range(5):
            stats["outer_rounds"] += 1
            before = labels.copy()
            cov = GaussianScorer(self.shrinkage).fit(self.Xs, labels, self.K).cov_
            Z = np.linalg.solve(np.linalg.cholesky(cov), self.Xs.T).T  # whitened: scatter = -2 log-likelihood
            M, counts = self._means(Z, labels, self.K)
            bg_mean = M[0] if self.bg is not None and counts[0] > 0 else None
            for part in self.parts:
                Zp = Z[part.rows]
                cpos = np.full(self.K, 0, dtype=np.int64)
                cpos[part.cols] = np.arange(len(part.cols))
                best = self._hard(part, Zp, cpos[labels[part.rows]], bg_mean, rounds)
                for _s in range(self.starts if outer == 0 else 0):  # later rounds start from the current
                    seed = np.zeros((len(part.cols), Z.shape[1]))
                    for c in range(len(part.cols)):
                        cand = np.flatnonzero(part.sub.allowed[:, c])
                        seed[c] = Zp[self.rng.choice(cand)]
                    seeded = np.ones(len(part.cols), dtype=np.int64)
                    if self.bg is not None:
                        seeded[0] = 0 if bg_mean is None else 1
                        seed[0] = bg_mean if bg_mean is not None else 0.0
                    got = self._hard(part, Zp, part.sub.lmo_labels(self._costs(Zp, seed, seeded)), bg_mean, rounds)
                    if got[1] < best[1] - 1e-9:
                        best = got
                        stats["random_start_wins"] += 1
                best, swaps = self._swap_names(part, Zp, best, bg_mean, rounds)
                stats["name_swaps"] += swaps
                labels[part.rows] = part.cols[best[0]]
            if len(self.loose):
                M, counts = self._means(Z, labels, self.K)
                C = np.where(self.dom.allowed[self.loose], self._costs(Z[self.loose], M, counts), np.inf)
                labels[self.loose] = C.argmin(axis=1)
            if np.array_equal(before, labels):
                break
        return labels, stats

    def _swap_names(self, part: BagPart, Zp: np.ndarray, best: tuple[np.ndarray, float], bg_mean: np.ndarray | None,
                    rounds: int) -> tuple[tuple[np.ndarray, float], int]:
        swaps = 0
        for _pass in range(3):
            improved = False
            for a, b in part.pairs:
                lab = best[0].copy()
                lab[best[0] == a], lab[best[0] == b] = b, a
                M, counts = self._local_means(Zp, lab, len(part.cols), bg_mean)
                got = self._hard(part, Zp, part.sub.lmo_labels(self._costs(Zp, M, counts)), bg_mean, 1)
                if got[1] < best[1] - 1e-9:  # one round says it helps: finish it
                    got = self._hard(part, Zp, got[0], bg_mean, rounds)
                if got[1] < best[1] - 1e-9:
                    best, improved = got, True
                    swaps += 1
            if not improved:
                break
        return best, swaps


_EMPTY = 1e12


#: name swaps tried per component and pass (Mining-YouTube's one component has thousands of candidates)
MAX_SWAP_PAIRS = 200


#: prior weight (in samples) pulling each class mean of the search towards the overall mean: a label
#: listed by one bag would otherwise fit one sample exactly and win it for nothing
PRIOR_SAMPLES = 1.0


class BagPart:
    """One component: its rows, its columns (background first when used), its bags as a polytope
    over local indices, and the pairs of its labels that share a bag."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, sub: BagPolytope, pairs: list[tuple[int, int]]):
        self.rows, self.cols, self.sub, self.pairs = rows, cols, sub, pairs
