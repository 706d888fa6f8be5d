"""BagClusterer on bags with at-least-one labels; the `wsl cluster` CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from wsl.actions import BagClusterer
from wsl.eval.clustering import accuracy, accuracy_curve
from wsl.io import save_npy


def _scenes(seed: int = 0, n_bags: int = 40, per_bag: int = 5, names: int = 5, dim: int = 12, noise: float = 1.0):
    """Bags of samples; each bag's label list is the set of named labels present (background unnamed)."""
    rng = np.random.default_rng(seed)
    classes = ["background"] + [f"p{i}" for i in range(names)]
    mu = rng.normal(size=(len(classes), dim)) * 2
    y = rng.choice(len(classes), size=n_bags * per_bag, p=[0.2] + [0.8 / names] * names)
    X = mu[y] + noise * rng.normal(size=(len(y), dim))
    bags = [list(range(j * per_bag, (j + 1) * per_bag)) for j in range(n_bags)]
    bag_labels = [sorted({classes[y[i]] for i in b} - {"background"}) for b in bags]
    return X, bags, bag_labels, [classes[i] for i in y]


def test_bags_are_satisfied_and_accuracy_beats_chance() -> None:
    X, bags, bag_labels, gold = _scenes()
    m = BagClusterer().fit(X, bags, bag_labels)
    for b, need in zip(bags, bag_labels, strict=True):
        got = {m.labels_[i] for i in b}
        assert set(need) <= got and got <= set(need) | {"background"}
    acc = accuracy(m.labels_, gold)
    assert acc > 0.7, acc
    curve = accuracy_curve(m.labels_, gold, m.scores_.max(axis=1))
    assert curve[-1]["accuracy"] == pytest.approx(acc) and curve[0]["share"] == 0.1
    assert len(m.predict(X[:3])) == 3


def _write(tmp: Path, X, bags, bag_labels, gold=None) -> tuple[Path, Path]:
    save_npy(tmp / "tracks.npy", X.astype(np.float32))
    (tmp / "bags.json").write_text(json.dumps([{"name": f"scene{j}", "samples": b, "labels": lab}
                                               for j, (b, lab) in enumerate(zip(bags, bag_labels, strict=True))]))
    if gold is not None:
        (tmp / "gold.json").write_text(json.dumps(gold))
    return tmp / "tracks.npy", tmp / "bags.json"


def test_cli_cluster_and_eval(tmp_path: Path, run_cli) -> None:
    X, bags, bag_labels, gold = _scenes(1, n_bags=20)
    feats, bj = _write(tmp_path, X, bags, bag_labels, gold)
    out = tmp_path / "out.json"
    code, stdout, stderr = run_cli("cluster", feats, "--bags", bj, "-o", out, "--eval", tmp_path / "gold.json")
    assert code == 0, stderr
    res = json.loads(out.read_text())
    assert len(res["samples"]) == len(X) and res["classes"][0] == "background" and res["background_used"]
    assert set(res["samples"][0]["scores"]) <= set(res["classes"])
    assert res["solver"]["converged"] and res["solver"]["convex"]["relative_gap"] <= 1e-4
    ev = json.loads(stdout.strip().splitlines()[-1])
    assert ev["accuracy"] == pytest.approx(accuracy([s["label"] for s in res["samples"]], gold))
    assert ev["accuracy"] > 0.6
    assert [p["share"] for p in ev["curve"]][-1] == 1.0


def test_cli_no_anneal_reaches_the_library(tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """--anneal (the search's slow annealed starts on large components) is passed on; the default, like the
    library's, leaves them out."""
    import wsl.actions

    seen: list[bool] = []
    real = wsl.actions.cluster

    def spy(*args, **kw):  # type: ignore[no-untyped-def]
        seen.append(kw["anneal"])
        return real(*args, **kw)

    monkeypatch.setattr(wsl.actions, "cluster", spy)
    X, bags, bag_labels, gold = _scenes(1, n_bags=10)
    feats, bj = _write(tmp_path, X, bags, bag_labels, gold)
    for extra in ([], ["--anneal"], ["--no-anneal"]):
        code, _, stderr = run_cli("cluster", feats, "--bags", bj, "-o", tmp_path / "o.json", "--sweeps", "0", *extra)
        assert code == 0, stderr
    assert seen == [False, True, False]


def test_cli_cluster_bad_bags(tmp_path: Path, run_cli) -> None:
    X, bags, bag_labels, _ = _scenes(2, n_bags=4)
    bag_labels[2] = ["p0", "p1", "p2", "p3", "p4", "p5"]  # six labels, five samples
    feats, bj = _write(tmp_path, X, bags, bag_labels)
    code, _, err = run_cli("cluster", feats, "--bags", bj, "-o", tmp_path / "o.json")
    assert code == 2 and "bag scene2" in err and "5 samples" in err
    (tmp_path / "bad.json").write_text(json.dumps([{"samples": [0, 99], "labels": ["p0"]}]))
    code, _, err = run_cli("cluster", feats, "--bags", tmp_path / "bad.json", "-o", tmp_path / "o.json")
    assert code == 2 and "bag #0" in err and "99" in err
    (tmp_path / "bad2.json").write_text(json.dumps([{"samples": "0 1", "labels": ["p0"]}]))
    code, _, err = run_cli("cluster", feats, "--bags", tmp_path / "bad2.json", "-o", tmp_path / "o.json")
    assert code == 2 and "samples" in err


def _tasks(seed: int = 0, noise: float = 0.3):
    """Three 'tasks' of four steps each; every bag (a video) lists the steps it shows, each shown once or
    twice (no background). Step 3 of each task is left out of a third of the videos, so its name is
    decided by those bags alone."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=(12, 8)) * 2
    X, gold, bags, labels = [], [], [], []
    for t in range(3):
        for v in range(9):
            steps = [0, 1, 2] + ([3] if v % 3 else [])
            shown = steps + [int(rng.choice(steps))]
            rows = list(range(len(gold), len(gold) + len(shown)))
            for k in shown:
                X.append(mu[4 * t + k] + noise * rng.normal(size=8))
                gold.append(f"t{t}s{k}")
            bags.append(rows)
            labels.append([f"t{t}s{k}" for k in steps])
    return np.array(X), bags, labels, gold


def test_tasks_are_searched_apart_and_background_is_left_out() -> None:
    X, bags, labels, gold = _tasks()
    m = BagClusterer().fit(X, bags, labels)
    assert m.history_["components"] == 3 and not m.background_used_  # every sample carries a listed label
    for b, need in zip(bags, labels, strict=True):
        assert set(need) <= {m.labels_[i] for i in b} <= set(need)
    # s0, s1, s2 of a task are listed by the same bags (a group of 3: 1/3 in expectation); s3 is named
    s3 = [i for i, g in enumerate(gold) if g.endswith("s3")]
    assert all(m.labels_[i] == gold[i] for i in s3)
    groups = {tuple(g) for g in m.ambiguity_groups_}
    assert ("t0s0", "t0s1", "t0s2") in groups
