"""`wsl cluster`: samples + bags of labels known to occur in them -> a label and probabilities per sample
(Bojanowski et al. 2013). Thin: parse, call :func:`wsl.actions.cluster`, write. Also ``evaluate``
(`wsl eval cluster`) and ``demos`` (`wsl demo-data cluster`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from wsl.cli import options


def cluster(
    features: Path = typer.Argument(..., help="(N, d) .npy: one feature vector per sample (e.g. a face track)."),
    bags: Path = typer.Option(..., "--bags", "-b", help='JSON list of {"samples": [indices], "labels": [names]}.'),
    output: str = options.output("Output JSON (- for stdout).", "-"),
    eval_gold: Path | None = typer.Option(None, "--eval", help="Shortcut for `wsl eval cluster`: gold label per "
                                          "sample (JSON list or one per line); prints the metrics JSON."),
    background: str = typer.Option("background", "--background", help="The label of samples that are none of "
                                   "the named ones."),
    use_background: bool | None = typer.Option(None, "--use-background/--no-background", help="Force the "
                                               "background class on or off (default: decided from the data)."),
    lam: float = options.lam(1e-3),
    kappa: float = typer.Option(0.0, "--kappa", help="Linear cost per sample on background (convex stage)."),
    max_iter: int = options.max_iter(2000),
    tol: float = options.tol(1e-4),
    refine: int = typer.Option(30, "--refine", min=0, help="Refinement rounds; 0 = the convex method alone."),
    sweeps: int = typer.Option(100, "--sweeps", min=0, help="Gibbs sweeps over labellings that satisfy the bags; "
                               "each sample gets its most probable label (0 = the refinement's best labelling)."),
    temperature: float | None = typer.Option(None, "--temperature", help="Temperature of the per-sample "
                                             "probabilities (default: fitted on held-out bags)."),
    anneal: bool = typer.Option(False, "--anneal/--no-anneal", help="Also an annealed Gibbs start for the search "
                                "on components of 50 labels or more (their posterior step anneals its own "
                                "chains already): about 3x the time for the same names."),
    require_convergence: bool = typer.Option(False, "--require-convergence", help="Exit 1 when the convex stage "
                                             "does not reach --tol."),
    seed: int = options.seed(),
) -> None:
    """Name samples from bags of labels each known to occur at least once (DIFFRAC + refinement)."""
    from wsl.actions import cluster as run
    from wsl.io import refuse_overwriting_inputs, write_json

    refuse_overwriting_inputs([output], [features, bags] + ([eval_gold] if eval_gold else []))
    res = run(features, bags, background=background, use_background=use_background, lam=lam, kappa=kappa,
              max_iter=max_iter, tol=tol, refine=refine, sweeps=sweeps, temperature=temperature,
              require_convergence=require_convergence, seed=seed, anneal=anneal)
    out = res.to_json()
    write_json(output, out)
    if eval_gold is not None:
        from wsl.eval.clustering import evaluate_cluster

        m = evaluate_cluster(res.labels, eval_gold, confidence=res.confidence.tolist())
        _show(m)
        if output != "-":
            typer.echo(json.dumps(m))


def _show(m: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table("metric", "value", title="cluster")
    for k, v in m.items():
        if not isinstance(v, list):
            t.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
    Console(stderr=True).print(t)


def evaluate(
    predictions: Path = typer.Argument(..., help="`wsl cluster` output JSON."),
    gold: Path = typer.Argument(..., help="Gold label per sample: JSON list, {\"labels\": [...]} or one per line."),
    output: str = options.output("Metrics JSON (- for stdout).", "-"),
) -> None:
    """Accuracy, the accuracy-vs-share curve and the calibration error of saved cluster output."""
    from wsl.eval.clustering import evaluate_cluster
    from wsl.io import refuse_overwriting_inputs, write_json

    refuse_overwriting_inputs([output], [predictions, gold])
    m = evaluate_cluster(predictions, gold)
    _show(m)
    write_json(output, m)


def demo_cluster(
    folder: Path = typer.Argument(..., help="Folder to write tracks.npy, bags.json and gold.json into."),
    scenes: int = typer.Option(40, "--scenes", min=1, help="Scenes (bags) of the face-track sample."),
    coin: Path | None = typer.Option(None, "--coin", help="Bags from a COIN annotation JSON instead: each "
                                     "annotated segment a sample, one bag per video."),
    mining_youtube: Path | None = typer.Option(None, "--mining-youtube", help="Bags from Mining-YouTube "
                                               "annotations (a folder of .srt or annotations.tar.gz) instead."),
    videos: int = typer.Option(50, "--videos", min=1, help="Most videos to take with --coin/--mining-youtube."),
    window: int = typer.Option(0, "--window", min=0, help="With --coin/--mining-youtube: segments per bag "
                               "(0: one bag per video)."),
    noise: float = typer.Option(1.0, "--noise", min=0.0, help="Feature noise."),
    seed: int = options.seed(),
) -> None:
    """Sample inputs for cluster: face-track-shaped scenes (many tracks, few names, a long-tailed cast), or
    bags from real COIN / Mining-YouTube annotations; features are generated from the labels."""
    from wsl.data.action_tasks import annotation_bags, face_track_bags, read_annotations
    from wsl.io import save_npy, write_json
    from wsl.progress import info

    if coin is not None or mining_youtube is not None:
        vids = read_annotations(coin if coin is not None else mining_youtube, videos, by_task=True)  # type: ignore[arg-type]
        X, bags, gold = annotation_bags(vids, window=window, noise=noise, seed=seed)
    else:
        X, bags, gold = face_track_bags(scenes, noise=noise, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    save_npy(folder / "tracks.npy", X)
    write_json(folder / "bags.json", bags)
    write_json(folder / "gold.json", gold)
    info(f"wrote {len(X)} tracks in {len(bags)} scenes to {folder}")
    info(f"try: wsl cluster {folder}/tracks.npy --bags {folder}/bags.json -o {folder}/names.json "
         f"--eval {folder}/gold.json")


command = cluster
demos = {"cluster": demo_cluster}
