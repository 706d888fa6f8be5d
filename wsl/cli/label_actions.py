"""`wsl label-actions`: ordered action lists + per-frame features -> per-frame labels (Bojanowski 2014).

Thin: parse, call :func:`wsl.actions.label_actions`, write. Also ``evaluate`` (`wsl eval actions`)
and ``demos`` (`wsl demo-data actions`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import typer

from wsl.cli import options


def label_actions(
    features_dir: Path = typer.Argument(..., help="Folder of <video>.npy feature files, (T, d) each, or of "
                                        "videos (.mp4/.mkv/.avi/...: features extracted once and cached)."),
    transcripts: Path = typer.Option(..., "--transcripts", "-t", help="JSON {video: [ordered action labels]}, "
                                     "or a COIN annotation file."),
    output: str = options.output("Output JSON (- for stdout); with --format mstcn, a folder of <video>.txt.", "-"),
    format: Literal["json", "mstcn"] = options.fmt("json", "json (frames + segments + solver) or mstcn (one "
                                                   "<video>.txt per video, one label per frame)."),
    eval_gold: Path | None = typer.Option(None, "--eval", help="Shortcut for `wsl eval actions`: an MS-TCN folder "
                                          "of <video>.txt or a COIN JSON file; prints the metrics JSON on stdout."),
    background: str = typer.Option("background", "--background", help="The label meaning no action (e.g. SIL), "
                                   "in transcripts and ground truth; written as 'background'."),
    background_share: float | None = typer.Option(None, "--background-share", min=0.0, max=0.99,
                                                  help="Expected share of frames outside the listed actions "
                                                  "(default: chosen from the data, said on stderr)."),
    gaps: bool | None = typer.Option(None, "--gaps/--no-gaps", help="Allow background between listed actions "
                                     "(default: only when no transcript lists the --background label)."),
    layout: Literal["Td", "dT"] = options.layout(),
    init: Literal["uniform", "convex", "best"] = typer.Option("uniform", "--init", help="Start of the refinement: "
                                                              "uniform, convex (the certified convex solution, "
                                                              "rounded) or best (both; the better likelihood wins)."),
    refine: int = typer.Option(30, "--refine", min=0, help="Hard-EM rounds after annealing; 0 = the convex method "
                               "alone."),
    max_iter: int = options.max_iter(2000),
    tol: float = options.tol(1e-3),
    lam: float = options.lam(1e-2),
    kappa: float = typer.Option(0.0, "--kappa", help="Linear cost per background frame in the convex stage."),
    require_convergence: bool = typer.Option(False, "--require-convergence", help="Exit 1 when the convex stage "
                                             "does not reach --tol."),
    fps: float | None = options.fps(None, help="Rate of the features extracted from videos (default 2)."),
    features_cache: Path | None = options.features_cache(),
    backbone: Literal["lite0", "lite1", "lite2", "classic"] = options.backbone(),
    pca_dim: int = options.pca_dim(),
    seed: int = options.seed(),
) -> None:
    """Label every frame from ordered action lists (DIFFRAC + ordering constraints, annealed EM against collapse)."""
    from wsl.actions import label_actions as run
    from wsl.io import refuse_overwriting_inputs, write_json

    refuse_overwriting_inputs([output], [features_dir, transcripts] + ([eval_gold] if eval_gold else []))
    res = run(features_dir, transcripts, layout=layout, background=background, background_share=background_share,
              gaps=gaps, init=init, refine=refine, lam=lam, kappa=kappa, max_iter=max_iter, tol=tol,
              require_convergence=require_convergence, seed=seed, fps=fps,
              features_cache=features_cache or options.cache_beside(output), backbone=backbone,
              pca_dim=pca_dim or None)
    if format == "mstcn":
        from wsl.data.framelabels import write_frame_labels

        if output == "-":
            from wsl.errors import BadInput

            raise BadInput("the mstcn format writes one file per video: give a folder", param="output")
        folder = Path(output)
        folder.mkdir(parents=True, exist_ok=True)
        for v, frames in res.frames.items():
            write_frame_labels(folder / f"{v}.txt", [background if f == "background" else f for f in frames])
    else:
        write_json(output, res.to_json())
    if eval_gold is not None:
        from wsl.eval.actions import evaluate_actions

        m = evaluate_actions(res.frames, eval_gold, background=background)
        _show(m)
        if output != "-":
            typer.echo(json.dumps(m))


def _show(m: dict[str, float]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table("metric", "value", title="label-actions")
    for k, v in m.items():
        t.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
    Console(stderr=True).print(t)


def evaluate(
    predictions: Path = typer.Argument(..., help="label-actions output JSON."),
    gold: Path = typer.Argument(..., help="Ground truth: an MS-TCN folder of <video>.txt or a COIN JSON file."),
    fps: float | None = options.fps(None, "Frames per second of the predictions, to sample COIN annotations "
                                    "(default: frames over duration)."),
    mapping: Path | None = typer.Option(None, "--mapping", help="'index name' lines when the ground truth holds "
                                        "indices (default: mapping.txt in the folder if present)."),
    background: str | None = typer.Option(None, "--background", help="The ground truth's no-action label "
                                          "(e.g. SIL), read as background."),
    output: str = options.output("Metrics JSON (- for stdout).", "-"),
) -> None:
    """Frame accuracy and mean IoU of saved label-actions output against ground truth."""
    from wsl.eval.actions import evaluate_actions
    from wsl.io import refuse_overwriting_inputs, write_json

    refuse_overwriting_inputs([output], [predictions, gold])
    m = evaluate_actions(predictions, gold, fps=fps, mapping=mapping, background=background)
    _show(m)
    write_json(output, m)


def demo_actions(
    folder: Path = typer.Argument(..., help="Folder to write transcripts.json, gt/ and feats/ into."),
    coin: Path | None = typer.Option(None, "--coin", help="Build from a COIN annotation JSON (real step orders "
                                     "and durations) instead of made-up videos."),
    mining_youtube: Path | None = typer.Option(None, "--mining-youtube", help="Build from Mining-YouTube "
                                               "annotations (a folder of .srt or annotations.tar.gz)."),
    videos: int = typer.Option(30, "--videos", min=1, help="Most videos to take."),
    fps: float = options.fps(1.0, "Frames per second of the ground truth and features."),
    noise: float = typer.Option(2.0, "--noise", min=0.0, help="Feature noise (see wsl.data.synth)."),
    seed: int = options.seed(),
) -> None:
    """Sample inputs for label-actions: transcripts, MS-TCN ground truth and features drawn from the labels."""
    from wsl.data.action_tasks import read_annotations, write_action_task
    from wsl.progress import info

    if coin is not None or mining_youtube is not None:
        vids = read_annotations(coin if coin is not None else mining_youtube, videos)  # type: ignore[arg-type]
    else:
        from wsl.data.segments import ActionVideo, Segment, frames_to_segments
        from wsl.data.synth import random_action_frames

        made = random_action_frames(videos, 3, 4, 12, background=0.3, seed=seed)
        vids = [ActionVideo(v, len(f) / fps, tuple(Segment(str(s["label"]), int(str(s["start"])) / fps,
                                                           int(str(s["end"])) / fps) for s in frames_to_segments(f)))
                for v, f in made.items()]
    paths = write_action_task(folder, vids, fps=fps, noise=noise, seed=seed)
    info(f"wrote {len(vids)} videos: {', '.join(str(p) for p in paths.values())}")
    info(f"try: wsl label-actions {paths['features']} -t {paths['transcripts']} -o {folder}/labels.json "
         f"--eval {paths['ground_truth']}")


command = label_actions
demos = {"actions": demo_actions}
