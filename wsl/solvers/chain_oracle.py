"""The exact ordering oracle (Bojanowski et al. 2014): over a cost matrix G (T x K), the labels of the
cheapest path of each video through its :class:`~wsl.solvers.chains.Chain`.

- :func:`ordering_lmo` / :func:`ordering_lmo_batch`: the linear minimisation oracle, by dynamic
  programming in O(T S) over S states, run state by state over all frames of all videos at once
  (:class:`RaggedChains`), frame by frame where a cost is infinite.

Infeasible chains raise :class:`~wsl.errors.BadInput` naming the video.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from wsl.solvers.chains import Chain, chain_tables, check_chain_costs, ordering_chain

_WINDOW = 16  # backtracking looks for a segment's start among its last this many frames first


@dataclass(frozen=True)
class _Bucket:
    """Videos of similar length in one padded table: ``vids`` (by chain length, descending), their
    padded length ``T``, ``counts[s]`` videos having state s (a prefix of ``vids``), the first table
    row of state s, and the bucket's offset in the flat tables."""

    vids: np.ndarray
    T: int
    counts: np.ndarray
    firsts: np.ndarray
    base: int


class RaggedChains:
    """The ordering oracle for a fixed set of videos, planned once and run on many cost matrices.

    The chain's dynamic programme, D[t, s] = c[t, s] + min(D[t-1, s] (stay), D[t-1, s-1] (step),
    D[t-1, s-2] (skip an optional state)), is run one STATE at a time for all frames at once: with
    P[t] the cumulative cost of state s and e[t] its entry cost (from states s-1, s-2 at t-1),
    D[t, s] = P[t] + min_{u <= t} (e[u] - P[u-1]), a running minimum (``minimum.accumulate``). The
    Python loop thus runs over states (about 11) and length buckets instead of frames (hundreds).
    Videos are grouped by length into buckets padded to their longest (``slack`` bounds the padding),
    each bucket's videos ordered by chain length so that the videos having state s are a prefix.
    Backtracking walks segments, not frames, for all videos at once: the segment ending at (t, s)
    starts at the first u where the running minimum reaches its value at t (a binary search: it is
    non-increasing). Ties break as in a left-to-right scan: stay, then step, then skip; the lowest
    end state. Costs with +-inf (a class forbidden somewhere) go through the frame-by-frame
    programme (:meth:`_decode_by_frame`), where an infinite cell cannot spoil the differences.
    """

    def __init__(self, lengths: Sequence[int], chains: Sequence[Chain], slack: float = 1.25):
        lengths_a = np.asarray(lengths, dtype=np.int64)
        if len(lengths_a) != len(chains):
            raise ValueError(f"{len(lengths_a)} lengths for {len(chains)} chains")
        V = len(chains)
        self.chains = list(chains)
        self.lengths = lengths_a
        self.n_rows = int(lengths_a.sum())
        self.starts = np.r_[0, np.cumsum(lengths_a)[:-1]].astype(np.int64)
        n_states = np.array([len(ch.labels) for ch in chains], dtype=np.int64)
        S = int(n_states.max(initial=1))
        self.S = S
        tab = chain_tables(chains, S)
        lab, stay, skip, can_start, can_end = tab["lab"], tab["stay"], tab["skip"], tab["can_start"], tab["can_end"]
        self.lab, self.stay, self.skip = lab, stay, skip
        self.start_inf = np.where(can_start, 0.0, np.inf)
        self.end_inf = np.where(can_end, 0.0, np.inf)
        # buckets: longest first, each padded to its first video's length, grown while the padded
        # cells stay within `slack` times the real ones; inside, videos by chain length (descending)
        order = np.argsort(-lengths_a, kind="stable")
        self.buckets: list[_Bucket] = []
        sbase = np.full((V, S), -1, dtype=np.int64)  # flat index of (video, state, t = 0) in the tables
        base = 0
        i = 0
        while i < V:
            top = int(lengths_a[order[i]])
            j, real = i + 1, top
            while j < V and (j - i + 1) * top <= slack * (real + int(lengths_a[order[j]])):
                real += int(lengths_a[order[j]])
                j += 1
            vids = order[i:j][np.argsort(-n_states[order[i:j]], kind="stable")]
            counts = np.array([int((n_states[vids] > s).sum()) for s in range(int(n_states[vids[0]]))])
            firsts = np.r_[0, np.cumsum(counts)[:-1]]
            for s, (c, o) in enumerate(zip(counts, firsts, strict=True)):
                sbase[vids[:c], s] = base + (o + np.arange(c)) * max(top, 1)
            self.buckets.append(_Bucket(vids, max(top, 1), counts, firsts, base))
            base += int(counts.sum()) * max(top, 1)
            i = j
        self.sbase = sbase
        self.n_cells = base
        self._window = np.arange(-min(_WINDOW, int(lengths_a.max(initial=1))) + 1, 1)
        self._index: dict[tuple[int, bool], np.ndarray] = {}
        self._by_frame: _FrameByFrame | None = None

    def table_cells(self) -> tuple[np.ndarray, np.ndarray]:
        """The cost entry (row, class) behind every cell of the DP's tables, in table order (padding
        repeats a video's last frame): what a caller keeping its costs in another layout needs to
        build the index for :meth:`solve_cells`."""
        rows = np.empty(self.n_cells, dtype=np.int64)
        labs = np.empty(self.n_cells, dtype=np.int64)
        for b in self.buckets:
            T = b.T
            t = np.arange(T)
            for s, (c, o) in enumerate(zip(b.counts, b.firsts, strict=True)):
                v = b.vids[:c]
                cell = slice(b.base + o * T, b.base + (o + c) * T)
                rows[cell] = (self.starts[v][:, None] + np.minimum(t[None, :], self.lengths[v][:, None] - 1)).ravel()
                labs[cell] = np.repeat(self.lab[v, s], T)
        return rows, labs

    def _cell_index(self, K: int, by_class: bool) -> np.ndarray:
        """Flat index of every table cell into the cost, (N, K) row-major or, ``by_class``, (K, N)
        row-major (then a state's frames are consecutive: a faster gather). Cached per layout."""
        key = (K, by_class)
        idx = self._index.get(key)
        if idx is None:
            rows, labs = self.table_cells()
            idx = (labs * self.n_rows + rows) if by_class else (rows * K + labs)
            if self.n_rows * K < 2**31:
                idx = idx.astype(np.int32)  # kept between calls: half the memory
            if len(self._index) >= 2:
                self._index.clear()
            self._index[key] = idx
        return idx

    def decode(self, G: np.ndarray) -> np.ndarray:
        """Labels (N,) of the cheapest path of every video, for the stacked cost G (N, K)."""
        return self.decode_states(G)[0]

    def decode_states(self, G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Labels (N,) and chain states (N,) of the cheapest path of every video."""
        labels, states, _ = self.solve(G)
        return labels, states

    def solve(self, G: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Labels (N,), chain states (N,) and the total cost sum_t G[t, label_t] of the cheapest paths."""
        G = np.asarray(G)
        if G.shape[0] != self.n_rows:
            raise ValueError(f"cost has {G.shape[0]} rows, the videos {self.n_rows}")
        by_class = G.flags.f_contiguous and not G.flags.c_contiguous  # e.g. the transpose of a (K, N) array
        flat = (G.T if by_class else np.ascontiguousarray(G)).ravel()
        return self.solve_cells(flat, self._cell_index(G.shape[1], by_class), lambda: G)

    def solve_cells(self, flat: np.ndarray, index: np.ndarray, dense: Callable[[], np.ndarray]
                    ) -> tuple[np.ndarray, np.ndarray, float]:
        """:meth:`solve` for costs kept in any layout: ``flat[index]`` are the costs of
        :meth:`table_cells`; ``dense()`` gives them as (N, K), needed only when some are infinite."""
        P = np.take(flat, index).astype(np.float64, copy=False)
        M = np.empty_like(P)
        V = len(self.chains)
        final = np.full((V, self.S), np.inf)
        for b in self.buckets:
            T = b.T
            Pb = P[b.base: b.base + int(b.counts.sum()) * T].reshape(-1, T)
            np.cumsum(Pb, axis=1, out=Pb)
            if not np.isfinite(Pb[:, -1]).all():
                return self._decode_by_frame(np.asarray(dense()))
            Mb = M[b.base: b.base + Pb.size].reshape(-1, T)
            D1 = D2 = Pb[:0]
            for s, (c, o) in enumerate(zip(b.counts, b.firsts, strict=True)):
                v = b.vids[:c]
                # a[u] = e[u] - P[u-1]: the entry cost (stepping from s-1 or skipping from s-2 at u-1)
                a, Ps = Mb[o: o + c], Pb[o: o + c]
                a[:, 0] = self.start_inf[v, s]
                if s == 0:
                    a[:, 1:] = np.inf
                else:
                    sk = self.skip[v, s] if s >= 2 else None
                    if sk is not None and sk.all():
                        np.minimum(D1[:c, :-1], D2[:c, :-1], out=a[:, 1:])
                        a[:, 1:] -= Ps[:, :-1]
                    elif sk is not None and sk.any():
                        np.minimum(D1[:c, :-1], D2[:c, :-1] + np.where(sk, 0.0, np.inf)[:, None], out=a[:, 1:])
                        a[:, 1:] -= Ps[:, :-1]
                    else:
                        np.subtract(D1[:c, :-1], Ps[:, :-1], out=a[:, 1:])
                st = self.stay[v, s]
                if st.all():
                    np.minimum.accumulate(a, axis=1, out=a)
                elif st.any():
                    a[st] = np.minimum.accumulate(a[st], axis=1)
                D = Ps + a  # D[t] = P[t] + min_{u <= t} a[u] (a[t] alone where the state cannot be stayed on)
                final[v, s] = D[np.arange(c), self.lengths[v] - 1]
                D1, D2 = D, D1
        final += self.end_inf
        state = final.argmin(axis=1)
        cost = float(final[np.arange(V), state].sum())
        return *self._backtrack(P, M, state), cost

    def _backtrack(self, P: np.ndarray, M: np.ndarray, end_state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Walk every video's path back segment by segment; labels and states in row order."""
        act = np.arange(len(self.chains))
        s_a, t_a = end_state.astype(np.int64), self.lengths - 1
        seg_start, seg_len, seg_state, seg_video = [], [], [], []
        while len(act):
            base = self.sbase[act, s_a]
            target = M[base + t_a]
            # the segment starts at the first u <= t with M[u] == M[t] (M is non-increasing there):
            # look in the last _WINDOW frames first, then binary search before them where needed
            pos = np.maximum(t_a[:, None] + self._window, 0)
            first = np.argmax(M[base[:, None] + pos] <= target[:, None], axis=1)
            t0 = pos[np.arange(len(act)), first]
            more = np.flatnonzero((first == 0) & (t0 > 0))
            if len(more):
                b, tm = base[more], target[more]
                lo, hi = np.zeros(len(more), dtype=np.int64), t0[more]
                for _ in range(int(hi.max()).bit_length()):
                    mid = (lo + hi) >> 1
                    above = M[b + mid] > tm
                    lo = np.where(above, mid + 1, lo)
                    hi = np.where(above, hi, mid)
                t0[more] = lo
            t0 = np.where(self.stay[act, s_a], t0, t_a)
            seg_start.append(self.starts[act] + t0)
            seg_len.append(t_a - t0 + 1)
            seg_state.append(s_a)
            seg_video.append(act)
            go = t0 > 0
            act, s_a, tp = act[go], s_a[go], t0[go] - 1
            # entered from s-1 or (strictly cheaper) from s-2: D = P + M at frame t0 - 1
            b1 = self.sbase[act, s_a - 1] + tp
            d1 = P[b1] + M[b1]
            two = (s_a >= 2) & self.skip[act, s_a]
            b2 = self.sbase[act, np.maximum(s_a - 2, 0)] + tp
            d2 = np.where(two, P[b2] + M[b2], np.inf)
            s_a = s_a - 1 - (d2 < d1)
            t_a = tp
        starts = np.concatenate(seg_start)
        order = np.argsort(starts, kind="stable")
        lens = np.concatenate(seg_len)[order]
        st = np.concatenate(seg_state)[order]
        vid = np.concatenate(seg_video)[order]
        return np.repeat(self.lab[vid, st], lens), np.repeat(st, lens)

    def _decode_by_frame(self, G: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        if self._by_frame is None:
            self._by_frame = _FrameByFrame(self.lengths.tolist(), self.chains)
        labels, states = self._by_frame.decode_states(G)
        return labels, states, float(G[np.arange(self.n_rows), labels].sum())


class _FrameByFrame:
    """The ordering programme frame by frame (the fallback of :class:`RaggedChains` for costs with
    infinite cells).

    Time-major and ragged: videos are sorted by length (longest first), so at frame t the videos
    still running are a prefix of that order, and the table of frame t holds exactly those videos'
    states (no padding in time, no batches). The state costs of every (frame, video) cell are one
    gather from the stacked (N, K) cost; back-pointers are int8 (how many states back), N x S bytes.
    Ties break as in a left-to-right scan: stay, then step, then skip.
    """

    def __init__(self, lengths: Sequence[int], chains: Sequence[Chain]):
        lengths_a = np.asarray(lengths, dtype=np.int64)
        if len(lengths_a) != len(chains):
            raise ValueError(f"{len(lengths_a)} lengths for {len(chains)} chains")
        self.n_rows = int(lengths_a.sum())
        starts = np.r_[0, np.cumsum(lengths_a)[:-1]]
        order = np.argsort(-lengths_a, kind="stable")  # longest first: live videos are a prefix
        self.order = order
        L = lengths_a[order]
        T = int(L.max(initial=0))
        S = max((len(ch.labels) for ch in chains), default=1)
        # live[t] = number of videos with more than t frames; offsets of each frame's table
        self.live = np.searchsorted(-L, -np.arange(T), side="left").astype(np.int64)
        self.offsets = np.r_[0, np.cumsum(self.live)].astype(np.int64)
        # the row of G behind each time-major cell (t, rank)
        t_of = np.repeat(np.arange(T), self.live)
        rank_of = np.arange(self.n_rows) - self.offsets[t_of]
        self.src = starts[order][rank_of] + t_of
        tab = chain_tables([chains[v] for v in order], S)  # in rank order
        lab, stay, skip, can_start, can_end = tab["lab"], tab["stay"], tab["skip"], tab["can_start"], tab["can_end"]
        bad = np.where(np.arange(S)[None, :] < tab["n"][:, None], 0.0, np.inf)
        self.S = S
        self.lab = lab  # (V, S) in rank order
        self.lab_cells = lab[rank_of].astype(np.int32)  # (N, S) the class of each state of each cell
        self.bad_cells = bad[rank_of]  # (N, S) +inf on the padded states
        self.stay_inf = np.where(stay, 0.0, np.inf)
        self.skip_inf = np.where(skip, 0.0, np.inf)
        self.start_inf = np.where(can_start, 0.0, np.inf)
        self.end_inf = np.where(can_end, 0.0, np.inf)
        self.lengths_sorted = L

    def decode(self, G: np.ndarray) -> np.ndarray:
        """Labels (N,) of the cheapest path of every video, for the stacked cost G (N, K)."""
        return self.decode_states(G)[0]

    def decode_states(self, G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Labels (N,) and chain states (N,) of the cheapest path of every video."""
        G = np.asarray(G)
        sc = G[self.src[:, None], self.lab_cells]
        sc = sc.astype(np.float64, copy=False) + self.bad_cells
        live, off, S = self.live, self.offsets, self.S
        T = len(live)
        bp = np.zeros((self.n_rows, S), dtype=np.int8)
        V = len(self.lengths_sorted)
        final = np.full((V, S), np.inf)
        n0 = int(live[0]) if T else 0
        D = sc[:n0] + self.start_inf[:n0]
        for t in range(1, T):
            n = int(live[t])
            if n < len(D):  # videos n.. ended at frame t - 1
                final[n:len(D)] = D[n:]
                D = D[:n]
            best = D + self.stay_inf[:n]
            arg = np.zeros((n, S), dtype=np.int8)
            step = np.full((n, S), np.inf)
            step[:, 1:] = D[:, :-1]
            m = step < best
            best = np.where(m, step, best)
            arg[m] = 1
            if S > 2:
                skip = np.full((n, S), np.inf)
                skip[:, 2:] = D[:, :-2]
                skip += self.skip_inf[:n]
                m = skip < best
                best = np.where(m, skip, best)
                arg[m] = 2
            bp[off[t]: off[t + 1]] = arg
            D = best + sc[off[t]: off[t + 1]]
        final[: len(D)] = D
        state = (final + self.end_inf).argmin(axis=1)
        out_state = np.zeros(self.n_rows, dtype=np.int64)
        # backtrack: walk time backwards; the videos that end at frame t join at t
        for t in range(T - 1, -1, -1):
            n = int(live[t])
            cells = slice(int(off[t]), int(off[t + 1]))
            out_state[cells] = state[:n]
            if t > 0:
                state[:n] -= bp[cells][np.arange(n), state[:n]]
        labels = np.empty(self.n_rows, dtype=np.int64)
        labels[self.src] = self.lab_cells[np.arange(self.n_rows), out_state]
        states = np.empty(self.n_rows, dtype=np.int64)
        states[self.src] = out_state
        return labels, states


def ordering_lmo_batch(costs: Sequence[np.ndarray], chains: Sequence[Chain], names: Sequence[str] | None = None,
                       max_cells: int | None = None) -> list[np.ndarray]:
    """Per-frame labels of the cheapest path of each video through its chain.

    ``costs[v]`` is (T_v, K). All videos go through one dynamic programme (:class:`RaggedChains`);
    ``max_cells`` is accepted for compatibility and no longer needed. ``names`` name the videos in
    errors (a transcript longer than its video).
    """
    check_chain_costs(costs, chains, names)
    if not len(costs):
        return []
    lengths = [c.shape[0] for c in costs]
    labels = RaggedChains(lengths, chains).decode(np.concatenate([np.asarray(c) for c in costs]))
    return np.split(labels, np.cumsum(lengths)[:-1])


def ordering_lmo(cost: np.ndarray, transcript: Sequence[int], background: int | None = 0,
                 min_length: int | Sequence[int] = 1, gaps: bool = True, name: str | None = None) -> np.ndarray:
    """Labels (T,) of the cheapest ordered path for one video (see :func:`ordering_chain`)."""
    chain = ordering_chain(transcript, background, min_length, gaps)
    return ordering_lmo_batch([cost], [chain], None if name is None else [name])[0]
