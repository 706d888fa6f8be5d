"""discover-steps library: the F1 metric, relation extraction, the sequence alignment, the video stage."""

from __future__ import annotations

import numpy as np
import pytest

from wsl.data.howto100m import Caption
from wsl.data.segments import ActionVideo, Segment
from wsl.data.synth import features_from_labels
from wsl.data.synth_narration import canonical_steps, narrate
from wsl.eval.steps import step_f1
from wsl.solvers.narration import StepLocalizer, narration_baseline, narration_windows, uniform_baseline
from wsl.text.msa import align, choose_k, fit_template, keep_best
from wsl.text.relations import new_word_offsets


def _video(name: str, *segs: tuple[str, float, float], duration: float = 100.0) -> ActionVideo:
    return ActionVideo(name, duration, tuple(Segment(lab, a, b) for lab, a, b in segs))


# --- metric --------------------------------------------------------------------------------------
def test_f1_matches_hand_computed_values() -> None:
    gold = {
        "v1": _video("v1", ("A", 0, 10), ("B", 10, 20)),
        "v2": _video("v2", ("A", 0, 5), ("B", 20, 30), ("C", 40, 50), ("A", 60, 70)),
        "v3": _video("v3", ("B", 0, 10)),
    }
    pred = {"v1": [5.0, None], "v2": [65.0, 25.0], "v4": [1.0, 2.0]}  # v3 not predicted, v4 not annotated
    s = step_f1(pred, gold)
    # step 0 hits A in v1 and v2 (the second A), step 1 hits B in v2: 3 correct of 3 predicted;
    # annotated (video, step) pairs: 2 + 3 (A twice counts once) + 1 = 6
    assert (s.correct, s.predicted, s.annotated) == (3, 3, 6)
    assert s.precision == 1.0 and s.recall == 0.5
    assert s.f1 == pytest.approx(2 / 3)
    assert s.matching == {0: "A", 1: "B"}


def test_f1_hungarian_is_one_to_one() -> None:
    gold = {f"v{i}": _video(f"v{i}", ("A", 0, 10), ("B", 20, 30)) for i in range(3)}
    # both discovered steps land in A; only one may be matched to it
    pred = {f"v{i}": [5.0, 6.0] for i in range(3)}
    s = step_f1(pred, gold)
    assert s.correct == 3 and s.predicted == 6 and s.annotated == 6
    assert s.f1 == pytest.approx(0.5)
    # a step at 25 in every video matches B instead
    s2 = step_f1({f"v{i}": [5.0, 25.0] for i in range(3)}, gold)
    assert s2.f1 == 1.0 and s2.matching == {0: "A", 1: "B"}


# --- text ----------------------------------------------------------------------------------------
def test_rolling_caption_overlap() -> None:
    cues = [Caption(0, 2, "hi dave making", 1), Caption(2, 4, "making jam donuts begin", 1),
            Caption(4, 6, "jam donuts begin", 1), Caption(6, 8, "start bread", 1)]
    assert new_word_offsets(cues) == [0, 1, 3, 0]


def test_relations_from_a_parse() -> None:
    pytest.importorskip("spacy")
    from wsl.data.narration import Narration
    from wsl.text.nlp import available_model
    from wsl.text.relations import extract_relations

    if available_model() is None:
        pytest.skip("no spaCy English model")
    nar = Narration("v", "v.json", (Caption(1, 4, "Jack up the car, then loosen the lug nuts and remove the wheel.", 1),
                          Caption(5, 7, "Cut it in half. I want you to subscribe to my channel.", 1),
                          Caption(8, 9, "Add the baking powder and chop the onions.", 1)))
    rels = extract_relations([nar])[0]
    keys = [r.key for r in rels]
    assert keys[:3] == ["jack up car", "loosen nut", "remove wheel"]
    assert "cut onion" in keys  # chop -> cut (near-synonyms merged)
    assert not any(k.startswith("bake") for k in keys)  # "baking powder" is a thing, not an action
    assert not any(r.obj in ("it", "channel") for r in rels)
    assert rels[0].start == 1 and rels[-1].start == 8
    assert next(r for r in rels if r.key == "loosen nut").phrase == "loosen lug nut"


def test_msa_recovers_a_template_from_noisy_sequences() -> None:
    rng = np.random.default_rng(0)
    template = [0, 1, 2, 3, 4, 5]
    seqs = []
    for _ in range(25):
        s: list[int] = []
        for t in template:
            if rng.random() < 0.7:
                s.append(t)
            if rng.random() < 0.5:  # chatter: relations of no step
                s.append(int(rng.integers(6, 40)))
        if rng.random() < 0.2 and len(s) > 3:  # a local swap
            i = int(rng.integers(0, len(s) - 1))
            s[i], s[i + 1] = s[i + 1], s[i]
        seqs.append(s)
    t = fit_template(seqs, 40, max_slots=12)
    k = choose_k(t.support)
    assert k == 6
    assert t.labels[keep_best(t, k)].tolist() == template
    # the support of a slot is the number of videos aligned to it
    for j, lab in enumerate(t.labels):
        assert t.support[j] == sum(int(a[j] >= 0) for a in t.alignments)
        for n, a in enumerate(t.alignments):
            if a[j] >= 0:
                assert seqs[n][a[j]] == lab


def test_align_is_monotone_and_optimal() -> None:
    sim = np.eye(5)
    score, a = align(np.array([3, 0, 1, 4, 2]), np.array([0, 1, 2, 3]), sim)
    assert score == 3 and a.tolist() == [1, 2, 4, -1]


def test_choose_k_cuts_at_the_largest_drop() -> None:
    assert choose_k([20, 19, 18, 3, 2, 2]) == 3
    assert choose_k([9, 8, 7, 2, 2]) == 3
    assert choose_k([9, 2, 2, 2]) == 4  # the drop 9 -> 2 would give K = 1: cuts below 3 steps are not considered
    assert choose_k([2, 2]) == 2 and choose_k([]) == 0


# --- video ---------------------------------------------------------------------------------------
def _structure(n_videos: int, rng: np.random.Generator) -> list[ActionVideo]:
    """Videos of 5 ordered steps (some skipped) of 3-12 s with background between them."""
    out = []
    for n in range(n_videos):
        t, segs = rng.uniform(2, 15), []
        for lab in "ABCDE":
            if rng.random() < 0.85:
                d = rng.uniform(3, 12)
                segs.append(Segment(lab, t, t + d))
                t += d
            t += rng.uniform(3, 25)
        out.append(ActionVideo(f"v{n:02d}", t + rng.uniform(2, 10), tuple(segs)))
    return out


def test_video_stage_beats_both_baselines() -> None:
    rng = np.random.default_rng(3)
    videos = _structure(16, rng)
    steps = canonical_steps(videos)
    assert steps == list("ABCDE")
    feats = features_from_labels({v.video: v.frames(1.0) for v in videos}, dim=24, noise=1.5, rho=0.6, seed=1)
    spans = [narrate(v, steps, rng) for v in videos]
    model = StepLocalizer(window=10.0).fit([feats[v.video] for v in videos], 1.0, spans)
    gold = {v.video: v for v in videos}
    ours = step_f1({v.video: model.times_[i] for i, v in enumerate(videos)}, gold).f1
    narr = step_f1({v.video: narration_baseline(spans[i], v.duration) for i, v in enumerate(videos)}, gold).f1
    unif = step_f1({v.video: uniform_baseline(5, v.duration) for v in videos}, gold).f1
    assert ours > narr + 0.2 and ours > unif + 0.2, (ours, narr, unif)
    for i in range(len(videos)):  # constraints hold: order, and narrated steps inside their windows
        pos = model.positions_[i]
        placed = pos[pos >= 0]
        assert np.all(np.diff(placed) > 0)
        for k, w in enumerate(model.windows_[i]):
            if w is not None:
                assert w[0] <= pos[k] <= w[1]


def test_windows_are_clipped_to_the_video() -> None:
    assert narration_windows([(5.0, 8.0), None, (95.0, 99.0)], 50, 0.5, 10.0) == [(0, 9), None, (42, 49)]


def test_narration_generator_is_ordered_and_seeded() -> None:
    v = _video("v", ("A", 10, 20), ("B", 30, 40), ("C", 50, 60))
    a = narrate(v, ["A", "B", "C", "D"], np.random.default_rng(5), p_narrate=1.0, p_false=1.0)
    b = narrate(v, ["A", "B", "C", "D"], np.random.default_rng(5), p_narrate=1.0, p_false=1.0)
    assert a == b
    starts = [s[0] for s in a if s is not None]
    assert starts == sorted(starts) and len(starts) >= 3
