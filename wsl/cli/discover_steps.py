"""`wsl discover-steps`: the ordered steps of a task and where they happen, from narrated videos."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import typer

FORMAT = "wsl.steps/1"


def discover_steps(
    task_dir: Path = typer.Argument(..., metavar="TASK_DIR", help="Folder of narrations (.srt/.vtt/.csv/.json) "
                                    "and features (<video>.npy) of one task."),
    output: str = typer.Option("-", "-o", "--output", help="JSON result file, or - for stdout."),
    steps: int | None = typer.Option(None, "--steps", "-k", min=1, help="Number of steps K (default: from the "
                                     "support curve)."),
    text_only: bool = typer.Option(False, "--text-only", help="Stage 1 only: steps and narration times, no video."),
    features: Path | None = typer.Option(None, "--features", help="Folder of <video>.npy features "
                                         "(default: TASK_DIR)."),
    fps: float | None = typer.Option(None, "--fps", help="Feature rate when index.json gives none."),
    layout: str = typer.Option("Td", "--layout", help="Td (frames x dims) or dT (MS-TCN/Breakfast)."),
    window: float = typer.Option(10.0, "--window", min=0.0, help="Seconds around its narration a step must lie in."),
    each_step: str = typer.Option("at-most-once", "--each-step", help="at-most-once (steps not narrated may be "
                                  "left out of a video) or once."),
    max_slots: int = typer.Option(20, "--max-slots", min=1, help="Largest template the text alignment may build."),
    min_support: int = typer.Option(2, "--min-support", min=1, help="Videos a step must be narrated in."),
    no_merge: bool = typer.Option(False, "--no-merge", help="Do not merge near-synonym verbs (chop/dice/slice)."),
    lam: float = typer.Option(1e-2, "--lam", min=1e-9, help="Ridge of the discriminative classifier."),
    max_epochs: int = typer.Option(200, "--max-epochs", min=1, help="Frank-Wolfe passes over the videos."),
    eval_gt: Path | None = typer.Option(None, "--eval", help="Ground truth: COIN .json or a folder of .srt step "
                                        "segments (Mining-YouTube); adds Alayrac's F1."),
    plot: Path | None = typer.Option(None, "--plot", help="Folder for one timeline picture per video."),
    seed: int = typer.Option(0, "--seed", help="Seed of the Frank-Wolfe block order."),
) -> None:
    """Discover the ordered steps of a task from narrated videos (Alayrac et al. 2016)."""
    from wsl.data.task_folder import read_task_folder
    from wsl.errors import BadInput
    from wsl.io import write_json
    from wsl.progress import info, warn
    from wsl.text.steps import discover_text_steps, extract_relations

    if each_step not in ("once", "at-most-once"):
        raise BadInput(f"--each-step must be once or at-most-once, got {each_step!r}")
    videos = read_task_folder(task_dir, features, fps, layout, text_only)
    if len(videos) < 2:
        raise BadInput(f"discover-steps needs at least two videos of the task, found {len(videos)}", task_dir)
    narrated = [v for v in videos if v.narration is not None]
    if len(narrated) < 2:
        raise BadInput(f"discover-steps needs narrations of at least two videos, found {len(narrated)}", task_dir)
    info(f"{len(videos)} videos, {len(narrated)} narrated, "
         f"{sum(v.features is not None for v in videos)} with features")
    rels_of = dict(zip([v.video for v in narrated],
                       extract_relations([v.narration for v in narrated], merge_synonyms=not no_merge),  # type: ignore
                       strict=True))
    for v in narrated:
        if not rels_of[v.video]:
            warn(f"{v.narration.path}: no verb-object relation found; this video adds no step constraint")  # type: ignore
    names = [v.video for v in videos]
    ts = discover_text_steps([rels_of.get(n, []) for n in names], steps, max_slots, min_support)
    K = len(ts.steps)
    if K == 0:
        from wsl.errors import WorkFailed

        raise WorkFailed(f"no relation is narrated in {min_support} or more videos: no common step "
                         "(more videos of the task, or a lower --min-support)")
    if steps is not None and steps > K:
        warn(f"asked for {steps} steps; the narrations support only {K}")
    result = _result(task_dir, videos, ts, text_only)
    with_feats = [i for i, v in enumerate(videos) if v.features is not None]
    if not text_only and with_feats:
        import numpy as np

        from wsl.solvers.narration import StepLocalizer

        spans = [[None if r is None else (r.start, r.end) for r in ts.narrated[i]] for i in with_feats]
        model = StepLocalizer(window=window, lam=lam, at_most_once=each_step == "at-most-once",
                              max_epochs=max_epochs, seed=seed)
        model.fit([videos[i].features for i in with_feats], [videos[i].fps for i in with_feats], spans, K,
                  [names[i] for i in with_feats])
        for j, i in enumerate(with_feats):
            rows = result["videos"][names[i]]["steps"]
            for k in range(K):
                t = model.times_[j][k]
                rows[k]["time"] = None if np.isnan(t) else round(float(t), 3)
                iv = model.intervals_[j][k]
                rows[k]["interval"] = None if iv is None else [round(iv[0], 3), round(iv[1], 3)]
                rows[k]["source"] = "video" if iv is not None else None
        r = model.result_
        result["solver"] = {"epochs": int(r.nit), "gap": float(r.gap), "converged": bool(r.success),
                            "rounding": model.rounding_, "window": window, "each_step": each_step}
        if not r.success:
            warn(f"Frank-Wolfe stopped after {r.nit} epochs with gap {r.gap:.2e} (raise --max-epochs to go on)")
    elif not text_only:
        warn("no feature files: only the text stage ran (times are narration times)")
    gold = None
    if eval_gt is not None:
        from wsl.eval.steps import read_step_ground_truth, step_f1

        gold = read_step_ground_truth(eval_gt, names)
        if not gold:
            raise BadInput("none of the task's videos is in the ground truth", eval_gt)
        missing = len(names) - len(gold)
        if missing:
            warn(f"{missing} video(s) have no ground truth and are left out of the evaluation")
        pred = {n: [s["time"] for s in result["videos"][n]["steps"]] for n in gold}
        result["eval"] = step_f1(pred, gold).as_dict()
    write_json(output, result)
    _table(result)
    if plot is not None:
        _plots(plot, result, gold)
        info(f"wrote {len(result['videos'])} timeline(s) to {plot}")


def _result(task_dir: Path, videos: list, ts: Any, text_only: bool) -> dict[str, Any]:
    """The JSON result with text-stage times (the narration) filled in."""
    out: dict[str, Any] = {
        "format": FORMAT, "task": Path(task_dir).name, "k": len(ts.steps), "k_from": ts.k_from,
        "support_curve": ts.support_curve, "text_only": text_only,
        "steps": [{"index": k, **s} for k, s in enumerate(ts.steps)], "videos": {},
    }
    for i, v in enumerate(videos):
        rows = []
        for k, r in enumerate(ts.narrated[i]):
            nar = None if r is None else {"start": r.start, "end": r.end, "phrase": r.phrase, "line": r.line}
            rows.append({"step": k, "narrated": nar, "time": None if r is None else round((r.start + r.end) / 2, 3),
                         "interval": None if r is None else [r.start, r.end], "source": None if r is None else "text"})
        out["videos"][v.video] = {
            "narration": None if v.narration is None else v.narration.path,
            "features": v.features_path, "fps": v.fps, "duration": round(v.length, 3),
            "relations": len(ts.relations[i]), "steps": rows,
        }
    return out


def _table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from wsl.progress import log

    if not log.isEnabledFor(logging.INFO):
        return
    n = len(result["videos"])
    t = Table(title=f"{result['task']}: {result['k']} steps ({result['k_from']}), {n} videos")
    t.add_column("#", justify="right")
    t.add_column("step")
    t.add_column("support", justify="right")
    t.add_column("located", justify="right")
    t.add_column("median time (s)", justify="right")
    for s in result["steps"]:
        times = [v["steps"][s["index"]]["time"] for v in result["videos"].values()]
        times = sorted(x for x in times if x is not None)
        med = f"{times[len(times) // 2]:.1f}" if times else "-"
        t.add_row(str(s["index"] + 1), s["label"], f"{s['support']}/{n}", f"{len(times)}/{n}", med)
    console = Console(stderr=True)
    console.print(t)
    if "eval" in result:
        e = result["eval"]
        console.print(f"F1 {e['f1']:.3f}  precision {e['precision']:.3f}  recall {e['recall']:.3f}  "
                      f"({e['correct']} correct of {e['predicted']} predicted, {e['annotated']} annotated)")


def _plots(folder: Path, result: dict[str, Any], gold: dict | None) -> None:
    """One PNG per video: narrated steps, found steps (point and interval), and the ground truth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from wsl.io import write_bytes

    K = result["k"]
    cmap = plt.get_cmap("tab20" if K > 10 else "tab10")
    labels = [s["label"] for s in result["steps"]]
    match = {v: int(k) for k, v in result.get("eval", {}).get("matching", {}).items()}
    for vid, v in result["videos"].items():
        fig, ax = plt.subplots(figsize=(10, 2.6))
        for s in v["steps"]:
            c = cmap(s["step"] % cmap.N)
            if s["narrated"] is not None:
                ax.plot([s["narrated"]["start"], s["narrated"]["end"]], [2, 2], color=c, lw=6, solid_capstyle="butt")
            if s["time"] is not None:
                a, b = s["interval"]
                ax.plot([a, b], [1, 1], color=c, lw=6, alpha=0.5, solid_capstyle="butt")
                ax.plot([s["time"]], [1], marker="v", color=c, ms=9)
        if gold is not None and vid in gold:
            for seg in gold[vid].segments:
                k = match.get(seg.label)
                c = cmap(k % cmap.N) if k is not None else (0.6, 0.6, 0.6, 1.0)
                ax.plot([seg.start, seg.end], [0, 0], color=c, lw=6, solid_capstyle="butt")
        ax.set_yticks([0, 1, 2], ["truth", "found", "narrated"])
        ax.set_ylim(-0.6, 2.6)
        ax.set_xlim(0, max(v["duration"], 1.0))
        ax.set_xlabel("seconds")
        ax.set_title(vid, fontsize=9)
        handles = [plt.Line2D([0], [0], color=cmap(k % cmap.N), lw=6) for k in range(K)]
        ax.legend(handles, [f"{k + 1}. {lab}" for k, lab in enumerate(labels)], fontsize=7, loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), frameon=False)
        fig.tight_layout()
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        plt.close(fig)
        write_bytes(folder / f"{vid}.png", buf.getvalue())


command = discover_steps
