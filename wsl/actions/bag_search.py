"""The refinement search of :class:`wsl.actions.clusterer.BagClusterer`: labellings that satisfy every
bag exactly, searched one component of linked labels at a time (Bojanowski et al. 2013's at-least-one
constraints, a shared-covariance Gaussian class model)."""

from __future__ import annotations

import math

import numpy as np

from wsl.actions.bag_posterior import WIDE_LABELS, BagPosterior, bag_components, noise_split
from wsl.actions.gaussian import GaussianScorer, one_hot_sum, toward_spherical
from wsl.solvers.bags import BagPolytope


class BagSearch:
    """Coordinate search over labellings that satisfy every bag, one component at a time.

    Labels that share a bag are linked; a component (in COIN, one task) is a set of bags linked by
    their labels. With the shared covariance held fixed (the features whitened by it), the likelihood
    of a component's samples depends only on the means of its own labels (and of background, held
    fixed), so each component is searched on its own and a good start in one is not lost to a bad
    start in another:

    - hard rounds alternate the class means with the exact at-least-one assignment of every bag
      (:meth:`BagPart.assign`), keeping the labelling of least within-class scatter, from the current
      labels and from ``starts`` starts of each of three kinds: random seeds (each label's mean at one
      of the samples that may carry it); annealed rounds from the best so far (:meth:`_anneal`);
      and clusters named globally (k-means into as many clusters as labels, then one linear
      assignment of names to clusters by the bags, :meth:`_named_clusters`);
    - on components of many labels (Mining-YouTube: one of 280), one annealed collapsed Gibbs chain from
      a random labelling (:meth:`_gibbs_starts`), its last and its most voted labelling as two more
      starts, judged by the collapsed likelihood;
    - then names are swapped between pairs of labels that share a bag, kept when the scatter drops:
      which cluster carries which name is decided by the few bags that list one label and not the
      other, a move no single hard round makes.

    Outer rounds refit the shared covariance and repeat until nothing changes.
    """

    def __init__(self, Xs: np.ndarray, dom: BagPolytope, K: int, with_bg: bool, shrinkage: float, starts: int,
                 rng: np.random.Generator, gibbs: bool = True):
        self.Xs, self.dom, self.K, self.shrinkage, self.starts, self.rng = Xs, dom, K, shrinkage, starts, rng
        self.gibbs = gibbs
        self.bg = 0 if with_bg else None
        self.prior_samples = 1.0  # the class means' prior weight, set from the data each outer round
        self.parts = [self._part(js) for js in bag_components(dom)]
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
        # a wide component's names are decided by the posterior step's annealed chains, which make these
        # moves and more (Mining-YouTube noise 2: 0.2518 expected accuracy with 200 swap pairs, 0.2512
        # with none, 142 -> 86 s a solve: the swaps were 80 % of the search there)
        wide = len(ks) >= WIDE_LABELS
        return BagPart(rows, cols, sub, [] if wide else pairs[:MAX_SWAP_PAIRS])

    def whiten(self, labels: np.ndarray) -> np.ndarray:
        return whiten(self.Xs, labels, self.K, self.shrinkage)

    def _means(self, Z: np.ndarray, labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        counts = np.bincount(labels, minlength=n)
        M = one_hot_sum(labels, Z, n)
        M[counts > 0] /= counts[counts > 0, None] + self.prior_samples
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
            new = part.assign(self._costs(Z, M, counts))
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
        stats = {"components": len(self.parts), "outer_rounds": 0, "random_start_wins": 0, "annealed_wins": 0,
                 "named_start_wins": 0,
                 "gibbs_starts": 0, "gibbs_wins": 0, "name_swaps": 0}
        for outer in range(5):
            stats["outer_rounds"] += 1
            before = labels.copy()
            Z = self.whiten(labels)
            self.prior_samples = prior_samples(Z, labels, self.K)
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
                    got = self._hard(part, Zp, part.assign(self._costs(Zp, seed, seeded)), bg_mean, rounds)
                    if got[1] < best[1] - 1e-9:
                        best = got
                        stats["random_start_wins"] += 1
                for _s in range(self.starts if outer == 0 else 0):
                    got = self._hard(part, Zp, self._anneal(part, Zp, best[0], bg_mean), bg_mean, rounds)
                    if got[1] < best[1] - 1e-9:
                        best = got
                        stats["annealed_wins"] += 1
                for _s in range(self.starts if outer == 0 else 0):
                    got = self._hard(part, Zp, self._named_clusters(part, Zp, bg_mean), bg_mean, rounds)
                    if got[1] < best[1] - 1e-9:
                        best = got
                        stats["named_start_wins"] += 1
                if outer == 0 and self.gibbs and self.starts > 0 and len(part.cols) >= GIBBS_MIN_LABELS:
                    starts, sampler = self._gibbs_starts(part, Zp, best[0], bg_mean)
                    for start in starts:  # judged by the collapsed likelihood (see _gibbs_starts)
                        stats["gibbs_starts"] += 1
                        got = self._hard(part, Zp, start, bg_mean, rounds)
                        if sampler.total_energy(got[0]) < sampler.total_energy(best[0]) - 1e-9:
                            best = got
                            stats["gibbs_wins"] += 1
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

    def _anneal(self, part: BagPart, Zp: np.ndarray, labels: np.ndarray, bg_mean: np.ndarray | None) -> np.ndarray:
        """Annealed hard rounds from ``labels``: noisy early rounds leave the basin a plain hard round
        cannot, the cold ones settle (the scatter is in whitened units, so T0 is too)."""
        n = len(part.cols)
        for t in range(ANNEAL_ROUNDS):
            T = ANNEAL_T0 * ANNEAL_DECAY ** t
            M, counts = self._local_means(Zp, labels, n, bg_mean)
            C = self._costs(Zp, M, counts) + T * self.rng.gumbel(size=(len(Zp), n))
            labels = part.assign(C)
        return labels

    def _gibbs_starts(self, part: BagPart, Zp: np.ndarray, labels: np.ndarray, bg_mean: np.ndarray | None
                      ) -> tuple[list[np.ndarray], BagPosterior]:
        """Annealed collapsed Gibbs (:class:`BagPosterior` on this component, moves that keep every bag)
        from a random labelling that satisfies the bags, temperature GIBBS_T0 down to 1 over the sweeps
        the work cap allows: its last state and its most voted labelling (the votes of the sweeps at
        T = 1, decoded by the exact assignment) as starts for the hard rounds, and the sampler, whose
        collapsed likelihood judges them: on Mining-YouTube the scatter with plug-in means prefers the
        search's fits to the noise, the collapsed likelihood prefers the truth's basin and these starts.
        ``labels`` (the best so far) sets the noise and mean variances."""
        n = len(part.cols)
        s2, t2, _ = noise_split(Zp, labels, n, False)
        sampler = BagPosterior(Zp, part.sub, n, self.bg is not None, bg_mean, s2, t2, self.rng)
        sweeps = min(GIBBS_SWEEPS, GIBBS_WORK // max(sampler.work_per_sweep, 1))
        if sweeps < 2:
            return [], sampler
        G = self.rng.gumbel(size=(len(Zp), n))
        if self.bg is not None:
            G[:, 0] += _EMPTY  # the start carries no background; the sampler adds it where it pays
        cold = max(int(sweeps * GIBBS_COLD_SHARE), 1)
        temps = np.r_[np.geomspace(GIBBS_T0, 1.0, sweeps - cold), np.ones(cold)]
        votes = sampler.run(part.assign(G), sweeps, sweeps - cold, temps)
        with np.errstate(divide="ignore"):
            voted = part.assign(np.minimum(-np.log(votes / cold), 1e6))
        return [sampler.final_, voted], sampler

    def _named_clusters(self, part: BagPart, Zp: np.ndarray, bg_mean: np.ndarray | None) -> np.ndarray:
        """A start that names clusters globally: k-means into as many clusters as the component has
        labels, then ONE linear assignment of names to clusters maximising the number of samples
        whose bag lists their cluster's name; the exact at-least-one assignment to the named means
        repairs the bags."""
        from scipy.optimize import linear_sum_assignment

        first = 1 if self.bg is not None else 0
        n_lab = len(part.cols) - first
        k = min(n_lab, len(Zp))
        centres, assign = kmeans(Zp, k, self.rng)
        listed = part.sub.allowed[:, first:]  # (n, n_lab): the sample's bag lists the label
        r, c = linear_sum_assignment(-one_hot_sum(assign, listed.astype(np.float64), k))
        seed = np.zeros((len(part.cols), Zp.shape[1]))
        seeded = np.zeros(len(part.cols), dtype=np.int64)
        seed[c + first] = centres[r]
        seeded[c + first] = 1
        if self.bg is not None and bg_mean is not None:
            seed[0], seeded[0] = bg_mean, 1
        return part.assign(self._costs(Zp, seed, seeded))

    def _swap_names(self, part: BagPart, Zp: np.ndarray, best: tuple[np.ndarray, float], bg_mean: np.ndarray | None,
                    rounds: int) -> tuple[tuple[np.ndarray, float], int]:
        swaps = 0
        for _pass in range(3):
            improved = False
            for a, b in part.pairs:
                lab = best[0].copy()
                lab[best[0] == a], lab[best[0] == b] = b, a
                M, counts = self._local_means(Zp, lab, len(part.cols), bg_mean)
                got = self._hard(part, Zp, part.assign(self._costs(Zp, M, counts)), bg_mean, 1)
                if got[1] < best[1] - 1e-9:  # one round says it helps: finish it
                    got = self._hard(part, Zp, got[0], bg_mean, rounds)
                if got[1] < best[1] - 1e-9:
                    best, improved = got, True
                    swaps += 1
            if not improved:
                break
        return best, swaps


_EMPTY = 1e12


def whiten(Xs: np.ndarray, labels: np.ndarray, K: int, shrinkage: float) -> np.ndarray:
    """The features whitened by the shared covariance fitted to ``labels``, taken half way to
    spherical: a covariance fitted to the current labels favours them (wrong labels shrink it along
    their own errors), which locks the search in its first basin. In these units the scatter is -2
    log-likelihood."""
    cov = GaussianScorer(shrinkage).fit(Xs, labels, K).cov_
    cov = toward_spherical(cov, SEARCH_SPHERICAL)
    return np.linalg.solve(np.linalg.cholesky(cov), Xs.T).T


def kmeans(Z: np.ndarray, k: int, rng: np.random.Generator, iters: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Plain k-means (k-means++ seeding, Lloyd rounds): small components need no library's overhead."""
    sq = (Z * Z).sum(axis=1)
    centres = [Z[rng.integers(len(Z))]]
    d2 = sq - 2 * Z @ centres[0] + centres[0] @ centres[0]
    for _ in range(1, k):
        p = np.maximum(d2, 0)
        i = rng.choice(len(Z), p=p / p.sum()) if p.sum() > 0 else rng.integers(len(Z))
        centres.append(Z[i])
        d2 = np.minimum(d2, sq - 2 * Z @ Z[i] + Z[i] @ Z[i])
    C = np.array(centres)
    assign = np.full(len(Z), -1)
    for _ in range(iters):
        new = (-2 * Z @ C.T + (C * C).sum(axis=1)).argmin(axis=1)
        if np.array_equal(new, assign):
            break
        assign = new
        for j in range(k):
            m = assign == j
            if m.any():
                C[j] = Z[m].mean(axis=0)
    return C, assign

#: the search's whitening: this share of the fitted shared covariance is replaced by its spherical
#: part (COIN at noise 2, 6 seeds: expected accuracy 0.691 with none, 0.735 with half)
SEARCH_SPHERICAL = 0.5

#: annealed starts: hard rounds whose costs carry Gumbel noise of scale T0 * DECAY^t (perturb-and-MAP:
#: each round draws a labelling roughly from the tempered posterior under the bags), cooled to ~0
ANNEAL_ROUNDS = 40
ANNEAL_T0 = 16.0
ANNEAL_DECAY = 0.9


#: the annealed Gibbs start: components of at least GIBBS_MIN_LABELS labels (COIN's tasks have at most
#: about 20, face tracks' cast 12, Mining-YouTube's one component 280); temperature GIBBS_T0 cooled
#: geometrically to 1, then GIBBS_COLD_SHARE of the sweeps at 1 voting; at most GIBBS_SWEEPS sweeps and
#: GIBBS_WORK candidate pairs x dimensions (about 5e7 a second). Mining-YouTube at noise 2 needs the
#: length: 112 sweeps ended above the search's best collapsed likelihood (no win), 400 sweeps (~140 s)
#: below it, the search's labelling 0.146 -> 0.237 expected accuracy (docs/benchmarks.md, cluster 4e)
GIBBS_MIN_LABELS = WIDE_LABELS
GIBBS_T0 = 3.0
GIBBS_COLD_SHARE = 0.25
GIBBS_SWEEPS = 400
GIBBS_WORK = 8_000_000_000

#: name swaps tried per component and pass (Mining-YouTube's one component has thousands of candidates;
#: components of WIDE_LABELS labels or more try none)
MAX_SWAP_PAIRS = 200


def prior_samples(Z: np.ndarray, labels: np.ndarray, K: int) -> float:
    """The weight, in samples, that pulls each class mean of the search towards the overall mean:
    sigma2 / tau2, with sigma2 the within-class variance per dimension under ``labels`` and tau2
    the variance of the class means (total minus within). The posterior mean of a class under a
    N(centre, tau2 I) prior and N(mean, sigma2 I) noise: with few samples a label's mean stays near
    the centre, so a label listed by one bag cannot fit one or two samples exactly and win them for
    nothing. (A fixed weight of one sample until round 4; COIN noise 2 has sigma2 / tau2 about 4.)"""
    counts = np.bincount(labels, minlength=K)
    sums = one_hot_sum(labels, Z, K)
    used = counts > 0
    total = float((Z * Z).sum())
    within = total - float(((sums[used] ** 2).sum(axis=1) / counts[used]).sum())
    sigma2 = within / max(len(Z) - int(used.sum()), 1) / Z.shape[1]
    tau2 = total / len(Z) / Z.shape[1] - sigma2
    return float(min(sigma2 / max(tau2, 1e-12), MAX_PRIOR_SAMPLES))


#: the prior weight's cap (features without class structure give tau2 near 0)
MAX_PRIOR_SAMPLES = 100.0


#: bags whose injective maps (needed label -> distinct row) number at most this are solved by
#: enumeration, all bags of one shape at once; larger ones by ``linear_sum_assignment``
MAX_ENUMERATED = 720


class BagPart:
    """One component: its rows, its columns (background first when used), its bags as a polytope
    over local indices, and the pairs of its labels that share a bag.

    :meth:`assign` is the exact at-least-one oracle of ``sub`` (as :meth:`BagPolytope.lmo_labels`),
    vectorised over bags of the same shape: the search calls it thousands of times."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, sub: BagPolytope, pairs: list[tuple[int, int]]):
        from itertools import permutations

        self.rows, self.cols, self.sub, self.pairs = rows, cols, sub, pairs
        shapes: dict[tuple[int, int], list[int]] = {}
        self._large: list[tuple[np.ndarray, np.ndarray]] = []
        for j, (r, need) in enumerate(zip(sub.bags, sub.bag_labels, strict=True)):
            n, m = len(r), len(need)
            if m == 0:
                continue
            if math.perm(n, m) <= MAX_ENUMERATED:  # exact integers: a float or int64 product overflows
                shapes.setdefault((n, m), []).append(j)
            else:
                self._large.append((np.asarray(r, dtype=np.int64), np.asarray(need, dtype=np.int64)))
        self._groups = []
        for (n, m), js in shapes.items():
            R = np.array([sub.bags[j] for j in js], dtype=np.int64)  # (B, n)
            L = np.array([sub.bag_labels[j] for j in js], dtype=np.int64)  # (B, m)
            P = np.array(list(permutations(range(n), m)), dtype=np.int64)  # (p, m): the row of each label
            self._groups.append((R, L, P, np.arange(len(R))[:, None]))

    def assign(self, G: np.ndarray) -> np.ndarray:
        """Labels of the vertex minimising <G, Z> over this component's bags (exact)."""
        from scipy.optimize import linear_sum_assignment

        masked = np.where(self.sub.allowed, G, np.inf)
        labels = masked.argmin(axis=1)
        base = masked[np.arange(len(labels)), labels]
        for R, L, P, B in self._groups:
            m = L.shape[1]
            # extra cost of moving a row to a needed label; inf (not allowed) -> a huge finite cost
            E = np.minimum(masked[R[:, :, None], L[:, None, :]] - base[R][:, :, None], 1e18)  # (B, n, m)
            total = E[:, P, np.arange(m)].sum(axis=2)  # (B, p)
            best = P[total.argmin(axis=1)]  # (B, m)
            labels[R[B, best]] = L
        for r, need in self._large:
            i, k = linear_sum_assignment(np.minimum(masked[np.ix_(r, need)] - base[r, None], 1e18).T)
            labels[r[k]] = need[i]
        return labels
