"""`wsl cluster`: samples + bags of labels known to occur in them -> a label and scores per sample
(Bojanowski et al. 2013)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from wsl.errors import BadInput


def read_bags(path: Path) -> tuple[list[list[int]], list[list[str]], list[str]]:
    """BAGS.json: a list (or ``{"bags": [...]}``) of ``{"name"?, "samples": [indices], "labels": [names]}``."""
    from wsl.io import load_json

    data: Any = load_json(path)
    if isinstance(data, dict) and isinstance(data.get("bags"), list):
        data = data["bags"]
    if not isinstance(data, list) or not data:
        raise BadInput('expected a list of bags {"samples": [indices], "labels": [names]}', path)
    rows, labels, names = [], [], []
    for j, bag in enumerate(data):
        name = str(bag.get("name", f"#{j}")) if isinstance(bag, dict) else f"#{j}"
        if not isinstance(bag, dict):
            raise BadInput(f"bag {name}: expected an object with samples and labels", path)
        s, lab = bag.get("samples"), bag.get("labels")
        if not isinstance(s, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in s):
            raise BadInput(f"bag {name}: 'samples' must be a list of sample indices", path)
        if not isinstance(lab, list) or not all(isinstance(x, str) and x for x in lab):
            raise BadInput(f"bag {name}: 'labels' must be a list of label names", path)
        rows.append(s)
        labels.append(lab)
        names.append(name)
    return rows, labels, names


def read_sample_labels(path: Path) -> list[str]:
    """Ground truth: a JSON list of labels (or ``{"labels": [...]}``), or one label per line."""
    from wsl.io import load_json, read_text

    if path.suffix == ".json":
        data: Any = load_json(path)
        if isinstance(data, dict):
            data = data.get("labels")
        if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
            raise BadInput('expected a JSON list of labels (or {"labels": [...]})', path)
        return data
    text, _ = read_text(path)
    return [line.strip() for line in text.splitlines() if line.strip()]


def cluster(
    features: Path = typer.Argument(..., help="(N, d) .npy: one feature vector per sample (e.g. a face track)."),
    bags: Path = typer.Option(..., "--bags", "-b", help='JSON list of {"samples": [indices], "labels": [names]}.'),
    output: str = typer.Option(..., "--output", "-o", help="Output JSON (- for stdout)."),
    eval_file: Path | None = typer.Option(None, "--eval", help="Gold label per sample (JSON list or one per line): "
                                          "prints accuracy and the accuracy-vs-share-labelled curve."),
    background: str = typer.Option("background", "--background", help="The label of samples that are none of "
                                   "the named ones."),
    lam: float = typer.Option(1e-3, "--lambda", help="DIFFRAC ridge."),
    kappa: float = typer.Option(0.0, "--kappa", help="Linear cost per sample on background."),
    max_iter: int = typer.Option(500, "--max-iter", help="Frank-Wolfe iterations."),
    tol: float = typer.Option(1e-4, "--tol", help="Relative duality-gap tolerance."),
    require_convergence: bool = typer.Option(False, "--require-convergence", help="Exit 1 when Frank-Wolfe does "
                                             "not reach --tol."),
    seed: int = typer.Option(0, "--seed", help="Seed (the solver is deterministic; kept for the convention)."),
) -> None:
    """Name samples from bags of labels each known to occur at least once (DIFFRAC + Frank-Wolfe)."""
    import numpy as np

    from wsl.eval.clustering import accuracy, accuracy_curve
    from wsl.features.files import read_features
    from wsl.io import write_json
    from wsl.progress import info
    from wsl.solvers.bags import BagClusterer

    X = read_features(features, mmap=False)
    rows, labels, names = read_bags(bags)
    model = BagClusterer(lam=lam, kappa=kappa, max_iter=max_iter, tol=tol, background=background,
                         require_convergence=require_convergence).fit(X, rows, labels, names)
    scores = model.scores_
    part = np.sort(scores, axis=1)
    margin = part[:, -1] - part[:, -2] if scores.shape[1] > 1 else part[:, -1]
    samples = [{"index": i, "label": model.labels_[i], "confidence": float(margin[i]),
                "scores": {c: round(float(s), 6) for c, s in zip(model.classes_, scores[i], strict=True)}}
               for i in range(len(X))]
    fw = model.fw_
    out: dict[str, Any] = {"classes": model.classes_, "samples": samples,
                           "solver": {"objective": float(fw.fun), "gap": float(fw.gap), "iterations": int(fw.nit),
                                      "converged": bool(fw.success), "rounding": model.rounding_}}
    if eval_file is not None:
        gold = read_sample_labels(eval_file)
        if len(gold) != len(X):
            raise BadInput(f"{len(gold)} gold labels for {len(X)} samples", eval_file)
        out["eval"] = {"accuracy": accuracy(model.labels_, gold),
                       "curve": accuracy_curve(model.labels_, gold, margin)}
    write_json(output, out)
    if eval_file is not None:
        info(f"accuracy {out['eval']['accuracy']:.4f} on {len(X)} samples")
        if output != "-":
            typer.echo(json.dumps(out["eval"]))


command = cluster
