"""Each oracle is the exact minimiser (brute force on tiny instances); infeasible input names the culprit."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from wsl.errors import BadInput
from wsl.solvers.chain_oracle import ordering_lmo, ordering_lmo_batch
from wsl.solvers.chain_posteriors import ordering_posteriors_batch
from wsl.solvers.chains import ordering_chain
from wsl.solvers.narration import narration_lmo
from wsl.solvers.oracles import bags_lmo, row_lmo


def _runs(labels):
    out = []
    for x in labels:
        if out and out[-1][0] == x:
            out[-1][1] += 1
        else:
            out.append([x, 1])
    return out


def _feasible_ordering(labels, transcript, min_len, gaps):
    acts = [r for r in _runs(labels) if not (gaps and r[0] == 0)]
    return [a for a, _ in acts] == list(transcript) and all(n >= min_len for _, n in acts)


@pytest.mark.parametrize("seed", range(4))
def test_ordering_oracle_is_exact(seed: int) -> None:
    rng = np.random.default_rng(seed)
    checked = 0
    while checked < 40:
        T, K = int(rng.integers(2, 7)), 3
        L = int(rng.integers(1, 3))
        tr = [int(a) for a in rng.integers(1, K, size=L)]
        if any(tr[i] == tr[i + 1] for i in range(L - 1)):
            continue  # adjacent repeats cannot be told apart from runs in the brute force
        m, gaps = int(rng.integers(1, 3)), bool(rng.integers(0, 2))
        if L * m > T:
            continue
        c = rng.normal(size=(T, K))
        lab = ordering_lmo(c, tr, 0, m, gaps)
        best = min(c[np.arange(T), cand].sum() for cand in itertools.product(range(K), repeat=T)
                   if _feasible_ordering(cand, tr, m, gaps))
        assert _feasible_ordering(lab, tr, m, gaps)
        assert c[np.arange(T), lab].sum() == pytest.approx(best, abs=1e-12)
        checked += 1


def test_ordering_batch_matches_single_and_names_short_video() -> None:
    rng = np.random.default_rng(0)
    costs = [rng.normal(size=(T, 5)) for T in (7, 30, 12, 3)]
    trs = [[1, 2], [3, 1, 4, 2], [4], [2, 3]]
    chains = [ordering_chain(t) for t in trs]
    batch = ordering_lmo_batch(costs, chains, max_cells=100)  # forces several batches
    for c, t, got in zip(costs, trs, batch, strict=True):
        assert np.array_equal(got, ordering_lmo(c, t))
    with pytest.raises(BadInput, match="video clipB: .*needs at least 4 frames but the video has 3"):
        ordering_lmo(rng.normal(size=(3, 5)), [1, 2, 3, 4], name="clipB")


def test_posteriors_match_enumeration() -> None:
    rng = np.random.default_rng(3)
    T, K, beta = 5, 4, 0.7
    chain = ordering_chain([2, 1], 0, 1, True)
    c = rng.normal(size=(T, K))
    (marg, logz), = ordering_posteriors_batch([c], [chain], beta)
    # enumerate state paths of the chain
    S = len(chain.labels)
    weights = np.zeros((T, K))
    total = 0.0
    for path in itertools.product(range(S), repeat=T):
        if path[0] not in (0, 1) or path[-1] not in (S - 1, S - 2):
            continue
        steps = np.diff(path)
        ok = all(d == 0 or d == 1 or (d == 2 and chain.optional[p + 1]) for p, d in zip(path, steps, strict=False))
        if not ok:
            continue
        w = np.exp(-beta * sum(c[t, chain.labels[s]] for t, s in enumerate(path)))
        total += w
        for t, s in enumerate(path):
            weights[t, chain.labels[s]] += w
    assert np.allclose(marg, weights / total)
    assert logz == pytest.approx(np.log(total))


@pytest.mark.parametrize("at_most_once", [False, True])
def test_narration_oracle_is_exact(at_most_once: bool) -> None:
    rng = np.random.default_rng(1)
    for _ in range(60):
        T, K = int(rng.integers(2, 7)), int(rng.integers(1, 4))
        c = rng.normal(size=(T, K))
        wins = [None if rng.random() < 0.5 else tuple(sorted(int(x) for x in rng.integers(0, T, size=2)))
                for _ in range(K)]
        req = np.ones(K, bool) if not at_most_once else np.array([w is not None for w in wins])
        best = np.inf
        for cand in itertools.product(range(-1, T), repeat=K):
            placed = [p for p in cand if p >= 0]
            if any(a >= b for a, b in itertools.pairwise(placed)) or any(cand[k] < 0 for k in range(K) if req[k]):
                continue
            if any(p >= 0 and w is not None and not w[0] <= p <= w[1] for p, w in zip(cand, wins, strict=True)):
                continue
            best = min(best, sum(c[p, k] for k, p in enumerate(cand) if p >= 0))
        if not np.isfinite(best):
            with pytest.raises(BadInput):
                narration_lmo(c, wins, at_most_once, name="v")
            continue
        pos = narration_lmo(c, wins, at_most_once)
        placed = pos[pos >= 0]
        assert np.all(np.diff(placed) > 0)
        assert sum(c[p, k] for k, p in enumerate(pos) if p >= 0) == pytest.approx(best, abs=1e-12)


def test_narration_too_many_steps_names_video() -> None:
    with pytest.raises(BadInput, match="video cooking1: 4 steps"):
        narration_lmo(np.zeros((3, 4)), name="cooking1")


def test_bags_oracle_is_exact() -> None:
    rng = np.random.default_rng(2)
    for _ in range(40):
        N, K = 5, 3
        c = rng.normal(size=(N, K))
        bags = [[0, 1, 2], [3, 4]]
        need = [list(rng.choice([1, 2], size=int(rng.integers(1, 3)), replace=False)), [1]]
        allowed = np.ones((N, K), bool)
        allowed[3:, 2] = False
        lab = bags_lmo(c, bags, need, allowed)
        best = np.inf
        for cand in itertools.product(range(K), repeat=N):
            if any(not allowed[i, k] for i, k in enumerate(cand)):
                continue
            if all(set(n) <= {cand[i] for i in b} for b, n in zip(bags, need, strict=True)):
                best = min(best, c[np.arange(N), cand].sum())
        assert all(set(n) <= set(lab[b].tolist()) for b, n in zip(bags, need, strict=True))
        assert allowed[np.arange(N), lab].all()
        assert c[np.arange(N), lab].sum() == pytest.approx(best)
    assert np.array_equal(row_lmo(c), c.argmin(axis=1))


def test_bags_infeasible_names_bag() -> None:
    with pytest.raises(BadInput, match="bag scene12: needs 3 labels but has only 2 samples"):
        bags_lmo(np.zeros((4, 4)), [[0, 1], [2, 3]], [[1, 2, 3], [1]], names=["scene12", "scene13"])


def test_bag_polytope_oracle_matches_the_checked_oracle() -> None:
    """BagPolytope.lmo_labels skips bags_lmo's checks (done once at construction) for speed; same optimum."""
    from wsl.solvers.bags import BagPolytope

    rng = np.random.default_rng(5)
    tried = 0
    for _ in range(200):
        N, K = 30, 6
        perm = rng.permutation(N)
        bags = [list(map(int, b)) for b in np.split(perm, np.sort(rng.choice(np.arange(1, N), 5, replace=False)))]
        need = [sorted(rng.choice(K, size=min(len(b), int(rng.integers(0, 4))), replace=False).tolist())
                for b in bags]
        allowed = rng.random((N, K)) < 0.6
        allowed[:, 0] = True
        for b, n in zip(bags, need, strict=True):
            allowed[np.ix_(b, n)] = True
        dom = BagPolytope(N, K, bags, need, allowed)
        c = rng.normal(size=(N, K))
        fast, checked = dom.lmo_labels(c), bags_lmo(c, bags, need, allowed)
        masked = np.where(allowed, c, np.inf)
        assert masked[np.arange(N), fast].sum() == pytest.approx(masked[np.arange(N), checked].sum())
        assert all(set(n) <= set(fast[b].tolist()) for b, n in zip(bags, need, strict=True))
        tried += 1
    assert tried == 200


@pytest.mark.parametrize("kind", range(4))
def test_state_scan_matches_frame_by_frame_programme(kind: int) -> None:
    """RaggedChains runs the DP one state at a time (cumulative costs and running minima) over padded
    length buckets; it must give the frame-by-frame programme's path, ties included (integer and zero
    costs tie exactly), for either memory layout of the cost, and return the path's total cost."""
    from wsl.solvers.chain_oracle import RaggedChains, _FrameByFrame
    from wsl.solvers.chains import Chain

    rng = np.random.default_rng(kind)
    for trial in range(60):
        V, K = int(rng.integers(1, 12)), int(rng.integers(2, 6))
        chains, lengths = [], []
        for _ in range(V):
            tr = [int(x) for x in rng.integers(1, K, size=int(rng.integers(1, 4)))]
            m = int(rng.integers(1, 3)) if kind == 3 else 1
            ch = ordering_chain(tr, background=None if kind == 2 else 0, min_length=m, gaps=kind != 0 or trial % 2 == 0)
            if kind == 1:  # optional states anywhere, never two in a row
                opt = rng.random(len(ch.labels)) < 0.4
                opt[1:] &= ~opt[:-1]
                ch = Chain(ch.labels, opt, ch.stay)
            chains.append(ch)
            lengths.append(int(rng.integers(ch.min_frames, 15)))
        N = sum(lengths)
        G = [rng.integers(-2, 3, size=(N, K)).astype(float), np.zeros((N, K)), rng.normal(size=(N, K))][trial % 3]
        want_lab, want_states = _FrameByFrame(lengths, chains).decode_states(G)
        plan = RaggedChains(lengths, chains, slack=float(rng.choice([1.0, 1.25, 3.0])))
        for layout in (G, np.asfortranarray(G)):
            lab, states, cost = plan.solve(layout)
            assert np.array_equal(lab, want_lab)
            if trial % 3 != 2:  # real-valued costs may tie in exact arithmetic only (repeated labels)
                assert np.array_equal(states, want_states)
            assert cost == pytest.approx(G[np.arange(N), lab].sum(), abs=1e-9)
    # a forbidden (infinite) cell goes through the frame-by-frame programme
    G = rng.normal(size=(N, K))
    G[rng.random((N, K)) < 0.2] = np.inf
    assert np.array_equal(RaggedChains(lengths, chains).decode(G), _FrameByFrame(lengths, chains).decode(G))
