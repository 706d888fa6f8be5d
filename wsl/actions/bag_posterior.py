"""The last step of `wsl cluster`'s refinement: the labels of most posterior probability per sample,
instead of the single labelling of best likelihood.

With a few samples per label, the labelling that maximises the likelihood fits the noise: inside each
bag the exact assignment picks the permutation that suits it, and the truth scores worse (measured in
docs/benchmarks.md, cluster 4c/4d). What the data support is a posterior over labellings. This module
samples it by collapsed Gibbs (class means integrated out under a Gaussian prior, spherical noise in
the search's whitened units; the background mean held fixed) over labellings that satisfy every bag,
and decodes each sample's most frequent label with the exact at-least-one assignment, so the answer
still satisfies every bag. Under the model, this is the decision of best expected accuracy.

Moves: a pair of samples of one bag is redrawn from its exact conditional (every pair of labels the
bag allows and that keeps each listed label carried). Bags that share no label (background aside)
touch different class statistics, so a set of such bags moves at once, vectorised.
"""

from __future__ import annotations

import numpy as np

from wsl.actions.gaussian import one_hot_sum
from wsl.solvers.bags import BagPolytope


class BagPosterior:
    """Collapsed Gibbs sampler over labellings that satisfy every bag of ``dom``.

    ``Z`` (N, d) whitened features (noise about spherical); ``with_bg``: label 0 is background, whose
    mean ``bg_mean`` (None: not used) is held fixed; ``sigma2`` the noise and ``tau2`` the class
    means' variance per dimension. :meth:`run` returns the vote counts (N, K) of the sampled labels.
    """

    def __init__(self, Z: np.ndarray, dom: BagPolytope, K: int, with_bg: bool, bg_mean: np.ndarray | None,
                 sigma2: float, tau2: float, rng: np.random.Generator):
        self.Z, self.dom, self.K, self.rng = Z, dom, K, rng
        self.s2, self.t2 = float(sigma2), float(max(tau2, 1e-12))
        self.bg = 0 if with_bg else None
        # background's energy per sample, in the units of _energy (the ||z||^2 / sigma2 every class shares
        # is left out of both); +inf where background is not to be used
        self.bg_cost = np.full(len(Z), np.inf)
        if self.bg is not None and bg_mean is not None:
            self.bg_cost = (-2.0 * Z @ bg_mean + bg_mean @ bg_mean) / self.s2
        moving = [j for j, r in enumerate(dom.bags) if len(r) >= 2]
        self.colours = self._colour(moving)
        self.steps_per_sweep = sum(int(np.ceil(c["n"].mean())) for c in self.colours)
        # candidate pairs x dimensions a sweep evaluates: one bag of many samples and labels is costly
        self.pairs_per_sweep = sum(int(np.ceil(c["n"].mean())) * c["A"].shape[0] * c["A"].shape[1] ** 2
                                   for c in self.colours)
        # the measure of MAX_WORK and GIBBS_WORK, from before round 8 (when a step cost W^2 d per bag)
        self.work_per_sweep = self.pairs_per_sweep * Z.shape[1]

    def _colour(self, bags: list[int]) -> list[dict[str, np.ndarray]]:
        """Greedy colouring of the bags: bags of one colour share no label but background. Each colour
        is packed once: rows (B, n) padded with -1, allowed labels (B, W) padded with -1, listed labels
        as a (B, K) mask."""
        dom = self.dom
        labs = []
        for j in bags:
            a = np.flatnonzero(dom.allowed[dom.bags[j][0]])
            labs.append(a[a != self.bg] if self.bg is not None else a)
        order = sorted(range(len(bags)), key=lambda b: -len(labs[b]))
        used: list[set[int]] = []
        members: list[list[int]] = []
        for b in order:
            s = set(labs[b].tolist())
            for c, u in enumerate(used):
                if not (u & s):
                    u |= s
                    members[c].append(b)
                    break
            else:
                used.append(set(s))
                members.append([b])
        out = []
        for ms in members:
            js = [bags[b] for b in ms]
            n = max(len(dom.bags[j]) for j in js)
            R = np.full((len(js), n), -1, dtype=np.int64)
            for t, j in enumerate(js):
                R[t, :len(dom.bags[j])] = dom.bags[j]
            allow = [np.flatnonzero(dom.allowed[dom.bags[j][0]]) for j in js]
            W = max(len(a) for a in allow)
            A = np.full((len(js), W), -1, dtype=np.int64)
            for t, a in enumerate(allow):
                A[t, :len(a)] = a
            need = np.zeros((len(js), self.K), dtype=bool)
            for t, j in enumerate(js):
                need[t, dom.bag_labels[j]] = True
            sizes = np.array([len(dom.bags[j]) for j in js])
            out.append({"R": R, "A": A, "need": need, "n": sizes, "bag": np.array(js, dtype=np.int64)})
        return out

    def _energy(self, n: np.ndarray, s2sum: np.ndarray) -> np.ndarray:
        """-2 log marginal likelihood of a class with n samples whose sum has squared norm s2sum, mean
        integrated out, without the terms every labelling shares."""
        s2, t2, d = self.s2, self.t2, self.Z.shape[1]
        return -s2sum * t2 / (s2 * (s2 + n * t2)) + d * np.log1p(n * t2 / s2)

    def total_energy(self, labels: np.ndarray) -> float:
        """-2 log p(features | labels) with the class means integrated out (up to what every labelling
        shares): the sampler's own target, for judging labellings against each other."""
        n = np.bincount(labels, minlength=self.K).astype(np.float64)
        S = one_hot_sum(labels, self.Z, self.K)
        E = self._energy(n, (S * S).sum(axis=1))
        if self.bg is not None:
            E[self.bg] = 0.0
            return float(E.sum() + self.bg_cost[labels == self.bg].sum())
        return float(E.sum())

    def run(self, labels: np.ndarray, sweeps: int, burn: int, temperatures: np.ndarray | None = None) -> np.ndarray:
        """Vote counts (N, K) of the labels sampled after ``burn`` sweeps; ``temperatures`` (one per
        sweep, default 1) divide the energies: a hot sweep crosses barriers a sweep at 1 does not. The
        last state is left in ``final_``."""
        temps = np.ones((sweeps, 1)) if temperatures is None else np.asarray(temperatures, dtype=np.float64)[:, None]
        votes = self.run_chains(labels[None, :], sweeps, burn, temps)
        self.final_ = self.finals_[0]
        return votes[0]

    def run_chains(self, starts: np.ndarray, sweeps: int, burn: int, temperatures: np.ndarray) -> np.ndarray:
        """C chains at once, from ``starts`` (C, N), chain c at ``temperatures[sweep, c]``: vote counts
        (C, N, K) after ``burn`` sweeps, last states in ``finals_`` (C, N), collapsed energies in
        ``energies_`` (C,). The chains are copies of the problem side by side (chain c's labels offset
        by c K), so a vectorised step moves one bag in every chain: on Mining-YouTube a step moves one
        to three bags and costs mostly interpreter time, so C chains cost little more than one.

        A pair's energy is separable but for the pair taking one label: each sample's change of energy
        per allowed label is computed once (O(W d) a bag), the W x W table is their sum with its diagonal
        replaced by the joint move (O(W^2)); until round 8 every pair gathered its two classes' sums
        (O(W^2 d)), which made a Mining-YouTube sweep (bags of up to 36 labels) cost 0.35 s."""
        C, N = starts.shape
        K0, n_bags = self.K, len(self.dom.bags)
        K = C * K0
        Z = np.tile(self.Z, (C, 1))
        zz = (Z * Z).sum(axis=1)
        bg_cost = np.tile(self.bg_cost, C)
        lab = (starts + (np.arange(C) * K0)[:, None]).ravel()
        cnt = np.bincount(lab, minlength=K).astype(np.float64)
        S = one_hot_sum(lab, Z, K)
        sq = (S * S).sum(axis=1)  # |S_k|^2, kept up to date for the labels that move
        en = self._energy(cnt, sq)  # each class's energy, likewise
        held = np.zeros((C * n_bags, K), dtype=np.int64)  # per bag, how many of its rows carry each label
        for c in range(C):
            for t, r in enumerate(self.dom.bags):
                np.add.at(held[c * n_bags + t], lab[c * N + np.asarray(r, dtype=np.int64)], 1)
        votes = np.zeros((C, N, K0))
        real = np.ones(K, dtype=bool)  # classes whose mean is integrated out (not background)
        is_bg = np.zeros(K, dtype=bool)
        if self.bg is not None:
            is_bg[np.arange(C) * K0 + self.bg] = True
            real[is_bg] = False
        cols = [self._replicate(col, C, N, K0, n_bags) for col in self.colours]
        for sweep in range(sweeps):
            h_chain = 0.5 / temperatures[sweep]
            for col in cols:
                R, Ac, valid_a, need_a, sizes, J, of = (col["R"], col["Ac"], col["valid_a"], col["need_a"], col["n"],
                                                        col["bag"], col["chain"])
                B, W = Ac.shape
                rows_b = np.arange(B)
                real_a3 = (real[Ac] & valid_a)[:, None, :]
                pair_ok = valid_a[:, :, None] & valid_a[:, None, :]
                bg_a = is_bg[Ac]
                half_over_t = h_chain[of][:, None]
                diag = np.arange(W)
                sizes_m1 = sizes - 1
                ab = np.empty((B, 2), dtype=np.int64)
                add = np.empty((B, 3, W))
                for _ in range(int(np.ceil(sizes.mean()))):
                    # a random pair (i, j) of distinct samples per bag
                    ab[:, 0] = (self.rng.random(B) * sizes).astype(np.int64)
                    ab[:, 1] = (ab[:, 0] + 1 + (self.rng.random(B) * sizes_m1).astype(np.int64)) % sizes
                    ij = R[rows_b[:, None], ab]  # (B, 2)
                    i, j = ij[:, 0], ij[:, 1]
                    lij = lab[ij]
                    li, lj = lij[:, 0], lij[:, 1]
                    zp = Z[ij]  # (B, 2, d)
                    # take them out; plain fancy-index updates, not ufunc.at: bags of one colour share no
                    # label but background, whose sums are never read (its mean is fixed), and J holds a bag once
                    cnt[li] -= 1.0
                    cnt[lj] -= 1.0
                    S[li] -= zp[:, 0]
                    S[lj] -= zp[:, 1]
                    held[J, li] -= 1
                    held[J, lj] -= 1
                    moved = lij.ravel()
                    sq[moved] = np.einsum("kd,kd->k", S[moved], S[moved])
                    en[moved] = self._energy(cnt[moved], sq[moved])
                    # listed labels the rest of the bag no longer carries: the pair must carry them
                    missing = need_a & (held[J[:, None], Ac] == 0)  # (B, W)
                    n_miss = missing.sum(axis=1)
                    SA, sqA = S[Ac], sq[Ac]  # (B, W, d), (B, W)
                    dots = np.einsum("bwd,bpd->bpw", SA, zp)  # (B, 2, W)
                    zsum = zp[:, 0] + zp[:, 1]
                    # each sample alone, then both: squared sums after the move, per label
                    add[:, :2] = 2 * dots + zz[ij][:, :, None]
                    add[:, 2] = 2 * (dots[:, 0] + dots[:, 1]) + np.einsum("bd,bd->b", zsum, zsum)[:, None]
                    E3 = self._energy(cnt[Ac][:, None, :] + _ADDED, sqA[:, None, :] + add) - en[Ac][:, None, :]
                    E3 = np.where(real_a3, E3, 0.0)
                    if self.bg is not None:
                        bgc = bg_cost[ij]  # (B, 2)
                        bgc = np.concatenate([bgc, bgc.sum(axis=1, keepdims=True)], axis=1)
                        E3 = E3 + np.where(bg_a[:, None, :], bgc[:, :, None], 0.0)
                    E = E3[:, 0, :, None] + E3[:, 1, None, :]  # (B, W, W): label of i, label of j
                    E[:, diag, diag] = E3[:, 2]
                    # the pair must carry every missing label
                    covered = missing[:, :, None].astype(np.int64) + missing[:, None, :]
                    covered[:, diag, diag] = missing
                    E[(covered != n_miss[:, None, None]) | ~pair_ok] = np.inf
                    E = E.reshape(B, W * W)
                    low = E.min(axis=1, keepdims=True)
                    stuck = ~np.isfinite(low[:, 0])  # a start that breaks a bag (the truth, where a bag
                    E -= np.where(stuck[:, None], 0.0, low)  # lists an absent label): that pair stays
                    P = np.exp(-half_over_t * E)
                    cum = np.cumsum(P, axis=1)
                    pick = (cum < self.rng.random((B, 1)) * cum[:, -1:]).sum(axis=1)
                    li = np.where(stuck, li, Ac[rows_b, np.minimum(pick // W, W - 1)])
                    lj = np.where(stuck, lj, Ac[rows_b, pick % W])
                    lab[i], lab[j] = li, lj
                    cnt[li] += 1.0
                    cnt[lj] += 1.0
                    S[li] += zp[:, 0]
                    S[lj] += zp[:, 1]
                    held[J, li] += 1
                    held[J, lj] += 1
                    moved = np.r_[li, lj]
                    sq[moved] = np.einsum("kd,kd->k", S[moved], S[moved])
                    en[moved] = self._energy(cnt[moved], sq[moved])
            if sweep >= burn:
                local = lab.reshape(C, N) - (np.arange(C) * K0)[:, None]
                for c in range(C):
                    votes[c, np.arange(N), local[c]] += 1
        self.finals_ = lab.reshape(C, N) - (np.arange(C) * K0)[:, None]
        E = self._energy(cnt, sq)
        E[~real] = 0.0
        on_bg = is_bg[lab]
        self.energies_ = E.reshape(C, K0).sum(axis=1) + np.bincount(np.flatnonzero(on_bg) // N,
                                                                    weights=bg_cost[on_bg], minlength=C)
        return votes

    def _replicate(self, col: dict[str, np.ndarray], C: int, N: int, K0: int, n_bags: int) -> dict[str, np.ndarray]:
        """One colour's arrays for C copies of the problem side by side (chain c: rows + c N, labels + c K0)."""
        R, A, need, sizes = col["R"], col["A"], col["need"], col["n"]
        B = len(R)
        valid_a = A >= 0
        Ac = np.maximum(A, 0)
        need_a = need[np.arange(B)[:, None], Ac] & valid_a
        off = np.arange(C)[:, None, None]
        return {"R": np.where(R >= 0, R[None] + off * N, -1).reshape(C * B, -1),
                "Ac": (Ac[None] + off * K0).reshape(C * B, -1), "valid_a": np.tile(valid_a, (C, 1)),
                "need_a": np.tile(need_a, (C, 1)), "n": np.tile(sizes, C),
                "bag": (col["bag"][None] + np.arange(C)[:, None] * n_bags).ravel(),
                "chain": np.repeat(np.arange(C), B)}


#: what a move adds to a label's count: sample i alone, sample j alone, both
_ADDED = np.array([1.0, 1.0, 2.0])[None, :, None]


def noise_split(Z: np.ndarray, labels: np.ndarray, K: int, with_bg: bool
                ) -> tuple[float, float, np.ndarray | None]:
    """sigma2 (within-class) and tau2 (between-class) variance per dimension under ``labels``, and the
    background mean (None: background not used or empty)."""
    counts = np.bincount(labels, minlength=K)
    sums = one_hot_sum(labels, Z, K)
    used = counts > 0
    total = float((Z * Z).sum())
    within = total - float(((sums[used] ** 2).sum(axis=1) / counts[used]).sum())
    per_dim = total / len(Z) / Z.shape[1]
    # floors: as many labels as samples leaves no within-class scatter to measure
    sigma2 = max(within / max(len(Z) - int(used.sum()), 1) / Z.shape[1], 1e-3 * per_dim, 1e-12)
    tau2 = max(per_dim - sigma2, 1e-3 * sigma2)
    bg_mean = sums[0] / counts[0] if with_bg and counts[0] > 0 else None
    return sigma2, tau2, bg_mean


def posterior_labels(Z: np.ndarray, labels: np.ndarray, dom: BagPolytope, K: int, with_bg: bool,
                     sweeps: int, rng: np.random.Generator, anneal_wide: bool = True
                     ) -> tuple[np.ndarray, np.ndarray, int]:
    """Each sample's label of most posterior probability, jointly satisfying every bag (the exact
    at-least-one assignment on -log of the vote shares), the vote shares (N, K) and the sweeps run
    (``sweeps`` or fewer: see MAX_STEPS, MAX_WORK, WIDE_PAIRS; 0 leaves ``labels``). ``labels`` is the
    start (the search's answer) and fixes sigma2 / tau2 (within / between variance per dimension).

    A wide posterior (a component of WIDE_LABELS labels or more, as Mining-YouTube's 280) is sampled
    differently: WIDE_CHAINS (8) chains side by side from random labellings that satisfy the bags, annealed
    from temperature WIDE_T0 to 1 over ``sweeps`` sweeps, then ``sweeps`` more voting, the votes pooled.
    There a few sweeps leave a chain where it started (from the true labels, 5 sweeps vote 0.48-0.51
    expected accuracy, 200 sweeps 0.30-0.35, what annealed chains from random labellings reach), and a
    chain from the search's labelling stays near it (0.25 against 0.27 for annealed chains; docs/benchmarks.md,
    cluster 4g): the decision needs the chains' stationary votes. ``labels`` still fixes the variances;
    ``anneal_wide=False`` starts the chains there instead, at temperature 1 (the benchmark's reference
    chains from the true labels)."""
    sigma2, tau2, bg_mean = noise_split(Z, labels, K, with_bg)
    sampler = BagPosterior(Z, dom, K, with_bg, bg_mean, sigma2, tau2, rng)
    pairs = sampler.pairs_per_sweep
    if widest_component(dom, 0 if with_bg else None) >= WIDE_LABELS and 0 < pairs <= WIDE_PAIRS_SWEEP:
        hot = min(sweeps, WIDE_PAIRS // (2 * WIDE_CHAINS * pairs))
        if anneal_wide:
            G = rng.gumbel(size=(WIDE_CHAINS, len(Z), K))
            if with_bg:
                G[:, :, 0] += 1e12  # the starts carry no background; the chains add it where it pays
            starts = np.array([dom.lmo_labels(g) for g in G])
            temps = np.r_[np.geomspace(WIDE_T0, 1.0, hot), np.ones(hot)] if hot else np.ones(0)
        else:
            starts, temps = np.tile(labels, (WIDE_CHAINS, 1)), np.ones(2 * hot)
        votes = sampler.run_chains(starts, 2 * hot, hot, np.tile(temps[:, None], (1, WIDE_CHAINS))).sum(axis=0)
        sweeps = 2 * hot
    else:
        # a cap on vectorised steps: many small bags that share names (face tracks) need many steps per sweep
        sweeps = min(sweeps, MAX_STEPS // max(sampler.steps_per_sweep, 1),
                     MAX_WORK // max(sampler.work_per_sweep, 1))
        votes = sampler.run(labels, sweeps, int(sweeps * BURN_SHARE))
    votes[np.arange(len(Z)), labels] += 0.5  # ties, and rows no move reaches: the start's label
    share = votes / votes.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        cost = -np.log(share)
    return dom.lmo_labels(np.minimum(cost, 1e6)), share, sweeps


def bag_components(dom: BagPolytope, bg: int | None = None) -> list[list[int]]:
    """The bags linked by sharing a listed label (``bg`` aside), each group in bag order, the groups in
    the order of their first bag; a bag that lists no label is in none. The cluster search works on each
    group (with its labels) on its own."""
    from scipy.cluster.hierarchy import DisjointSet

    linked = DisjointSet(range(len(dom.bags)))
    first: dict[int, int] = {}
    for j, need in enumerate(dom.bag_labels):
        for k in need:
            if int(k) == bg:
                continue
            if int(k) in first:
                linked.merge(j, first[int(k)])
            else:
                first[int(k)] = j
    groups: dict[int, list[int]] = {}
    for j, need in enumerate(dom.bag_labels):
        if any(int(k) != bg for k in need):
            groups.setdefault(linked[j], []).append(j)
    return list(groups.values())


def widest_component(dom: BagPolytope, bg: int | None) -> int:
    """The most labels (background aside) linked by sharing bags."""
    return max((len({int(k) for j in js for k in dom.bag_labels[j]} - {bg}) for js in bag_components(dom, bg)),
               default=0)


#: the share of sweeps before votes are counted
BURN_SHARE = 0.2

#: at most this many vectorised steps in all, so that many bags sharing names stay quick (COIN: 100
#: sweeps of about 40 steps, 33 of 118 where one bag has 27 samples; 150 face-track scenes: 10 sweeps of
#: 383, 1.6 s; Mining-YouTube: 5 sweeps of 667, 3 s, where 17 sweeps gave no better labels)
MAX_STEPS = 4000

#: and at most this much work (candidate label pairs x dimensions, about 3e7 a second: COIN 1e7 in all,
#: Mining-YouTube 9e7): one bag of 600 samples listing 200 labels would take 8e8 a sweep, so no sweep
MAX_WORK = 100_000_000

#: wide posteriors (see :func:`posterior_labels`): components of at least WIDE_LABELS labels (COIN's tasks
#: have at most about 20, face tracks' cast 12, Mining-YouTube's one component 280) get WIDE_CHAINS chains
#: annealed from WIDE_T0, their sweeps capped by WIDE_PAIRS candidate label pairs in all (Mining-YouTube:
#: 5.5e5 a sweep and chain, about 0.5 s a sweep of eight chains); a problem of over WIDE_PAIRS_SWEEP pairs
#: a sweep (one bag of 600 samples listing 200 labels: 2.4e7) keeps the caps above. Mining-YouTube noise 2,
#: one solve each: 4 chains x (100 + 100 sweeps) 0.251 expected accuracy in 86 s, 8 x (68 + 68) 0.265 in
#: 75 s, 8 x (100 + 100) 0.275 in 112 s, 16 x (68 + 68) 0.270 in 103 s
WIDE_LABELS = 50
WIDE_CHAINS = 8
WIDE_PAIRS = 1_200_000_000
WIDE_T0 = 3.0
WIDE_PAIRS_SWEEP = 2_000_000
