"""`wsl label-actions`: ordered action lists + per-frame features -> per-frame labels (Bojanowski 2014)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from wsl.errors import BadInput


def read_transcripts(path: Path, background: str = "background") -> dict[str, list[str]]:
    """T.json: ``{video: [action, ...]}`` (or the same under ``"transcripts"``)."""
    from wsl.io import load_json

    data: Any = load_json(path)
    if isinstance(data, dict) and isinstance(data.get("transcripts"), dict):
        data = data["transcripts"]
    if not isinstance(data, dict) or not data:
        raise BadInput("expected a JSON object mapping each video id to its ordered list of action labels", path)
    out: dict[str, list[str]] = {}
    for vid, acts in data.items():
        if not isinstance(acts, list) or not all(isinstance(a, str) and a.strip() for a in acts):
            raise BadInput(f"video {vid}: the transcript must be a list of non-empty label strings", path)
        if not [a for a in acts if a != background]:
            raise BadInput(f"video {vid}: the transcript lists no action", path)
        out[str(vid)] = [a.strip() for a in acts]
    return out


def label_actions(
    features_dir: Path = typer.Argument(..., help="Folder of <video>.npy feature files, (T, d) each."),
    transcripts: Path = typer.Option(..., "--transcripts", "-t", help="JSON: {video: [ordered action labels]}."),
    output: str = typer.Option(..., "--output", "-o", help="Output JSON (- for stdout)."),
    eval_dir: Path | None = typer.Option(None, "--eval", help="Folder of <video>.txt ground truth, one label per "
                                         "line per frame (MS-TCN/Breakfast); prints frame accuracy and mean IoU."),
    mapping: Path | None = typer.Option(None, "--mapping", help="'index name' lines, when the ground truth holds "
                                        "indices (default: mapping.txt in the --eval folder if present)."),
    background: str = typer.Option("background", "--background", help="The label meaning no action (e.g. SIL), "
                                   "in transcripts and ground truth; written as 'background'."),
    background_share: float = typer.Option(0.0, "--background-share", help="Expected share of frames outside the "
                                           "listed actions: 0 when every frame is an action (Breakfast-like), "
                                           "about 0.5 for Hollywood or Mining-YouTube-like data."),
    gaps: bool | None = typer.Option(None, "--gaps/--no-gaps", help="Allow background between listed actions "
                                     "(default: only when no transcript lists the --background label)."),
    layout: str = typer.Option("Td", "--layout", help="Feature layout: Td (frames x dims) or dT (MS-TCN)."),
    init: str = typer.Option("uniform", "--init", help="Start of the refinement: uniform, convex (the "
                             "DIFFRAC + Frank-Wolfe rounding) or best (both; the better likelihood wins)."),
    refine: int = typer.Option(30, "--refine", help="Hard-EM rounds after annealing; 0 = the convex method alone."),
    max_iter: int = typer.Option(50, "--max-iter", help="Frank-Wolfe iterations (epochs with --block)."),
    tol: float = typer.Option(1e-4, "--tol", help="Frank-Wolfe relative duality-gap tolerance."),
    lam: float = typer.Option(1e-2, "--lambda", help="DIFFRAC ridge."),
    kappa: float = typer.Option(0.0, "--kappa", help="Linear cost per background frame in the convex stage."),
    block: bool = typer.Option(False, "--block", help="Block-coordinate Frank-Wolfe over videos."),
    require_convergence: bool = typer.Option(False, "--require-convergence", help="Exit 1 when Frank-Wolfe does "
                                             "not reach --tol."),
    seed: int = typer.Option(0, "--seed", help="Seed (block visiting order)."),
) -> None:
    """Label every frame from ordered action lists (DIFFRAC + ordering constraints, annealed EM against collapse)."""
    from wsl.data.framelabels import read_label_dir
    from wsl.data.segments import BACKGROUND, frames_to_segments
    from wsl.features.files import load_feature_dir
    from wsl.io import write_json
    from wsl.progress import info, warn
    from wsl.solvers.ordering import OrderingLabeler

    if init not in ("uniform", "convex", "best"):
        raise BadInput(f"--init must be uniform, convex or best, got {init!r}")
    trs = read_transcripts(transcripts, background)
    feats = load_feature_dir(features_dir, layout=layout)
    no_tr = sorted(set(feats) - set(trs))
    no_feat = sorted(set(trs) - set(feats))
    if no_feat:
        warn(f"{len(no_feat)} transcript(s) have no feature file in {features_dir}, skipped: {', '.join(no_feat[:5])}")
    if no_tr:
        warn(f"{len(no_tr)} feature file(s) have no transcript in {transcripts}, skipped: {', '.join(no_tr[:5])}")
    feats = {v: x for v, x in feats.items() if v in trs}
    if not feats:
        raise BadInput(f"no video has both a feature file in {features_dir} and a transcript", transcripts)
    info(f"label-actions: {len(feats)} videos, {sum(len(x) for x in feats.values())} frames")
    model = OrderingLabeler(lam=lam, kappa=kappa, max_iter=max_iter, tol=tol, block=block, refine=refine,
                            gaps=gaps, background=background, seed=seed, require_convergence=require_convergence,
                            init=init, background_share=background_share)
    model.fit(feats, {v: trs[v] for v in feats})
    videos = {}
    for v, labs in model.labels_.items():
        frames = [BACKGROUND if lab == background else lab for lab in labs]
        videos[v] = {"frames": frames, "segments": frames_to_segments(frames)}
    out: dict[str, Any] = {"videos": videos, "solver": _solver_summary(model)}
    if eval_dir is not None:
        gold = read_label_dir(eval_dir, sorted(videos), mapping, background)
        from wsl.eval.actions import action_metrics

        out["eval"] = action_metrics({v: d["frames"] for v, d in videos.items()}, gold)
    write_json(output, out)
    if eval_dir is not None:
        m = out["eval"]
        info(f"frame accuracy {m['frame_accuracy']:.4f}, mean IoU {m['mean_iou']:.4f} "
             f"({m['videos']} videos, {m['frames']} frames)")
        if output != "-":
            typer.echo(json.dumps(m))


def _solver_summary(model: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"init": model.init_, "strides": model.strides_}
    fw = getattr(model, "fw_", None)
    if fw is not None:
        s["frank_wolfe"] = {"objective": float(fw.fun), "gap": float(fw.gap), "iterations": int(fw.nit),
                            "converged": bool(fw.success)}
        s["rounding"] = model.rounding_
    return s


command = label_actions
