"""`wsl discover-steps`: the ordered steps of a task and where they happen, from narrated videos."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import typer

from wsl.cli import options

FORMAT = "wsl.steps/1"


def discover_steps(
    task_dir: Path = typer.Argument(..., metavar="TASK_DIR", help="Folder of narrations (.srt/.vtt/.csv/.json) "
                                    "and features (<video>.npy) or videos (.mp4/.mkv/.avi/.mov/.webm) of one task."),
    output: str = options.output("JSON result file, or - for stdout.", default="-"),
    steps: int | None = typer.Option(None, "--steps", "-k", min=1, help="Number of steps K (default: from the "
                                     "support curve)."),
    text_only: bool = typer.Option(False, "--text-only", help="Stage 1 only: steps and narration times, no video."),
    features: Path | None = typer.Option(None, "--features", help="Folder of <video>.npy features "
                                         "(default: TASK_DIR)."),
    fps: float | None = options.fps(None, help="Rate of the features extracted from videos (default 2), and of "
                                    ".npy files whose index.json gives none."),
    features_cache: Path | None = options.features_cache(),
    backbone: Literal["lite0", "lite1", "lite2", "classic"] = options.backbone(),
    layout: Literal["Td", "dT"] = options.layout(),
    window: float = typer.Option(10.0, "--window", min=0.0, help="Seconds around its narration a step must lie in."),
    each_step: Literal["at-most-once", "once"] = typer.Option(
        "at-most-once", "--each-step", help="at-most-once (a video may leave out steps it does not narrate) or once."),
    absence_weight: float = typer.Option(1.0, "--absence-weight", min=0.0, help="Cost of placing a step a video "
                                         "does not narrate, scaled by how rarely the other videos narrate it."),
    pca_dim: int = options.pca_dim(),
    max_slots: int = typer.Option(20, "--max-slots", min=1, help="Largest template the text alignment may build."),
    min_support: int = typer.Option(2, "--min-support", min=1, help="Videos a step must be narrated in."),
    no_merge: bool = typer.Option(False, "--no-merge", help="Do not merge near-synonym verbs (chop/dice/slice)."),
    paraphrases: Literal["auto", "yes", "no"] = typer.Option(
        "auto", "--paraphrases", help="Merge paraphrased steps with the sentence encoder (auto: when installed)."),
    lam: float = options.lam(1e-2),
    max_iter: int = options.max_iter(300),
    tol: float = options.tol(1e-3),
    eval_gt: Path | None = typer.Option(None, "--eval", help="Shortcut for `wsl eval steps`: COIN .json or a folder "
                                        "of .srt step segments; adds Alayrac's F1."),
    plot: Path | None = typer.Option(None, "--plot", help="Folder for one timeline picture per video."),
    seed: int = options.seed(),
) -> None:
    """Discover the ordered steps of a task from narrated videos (Alayrac et al. 2016)."""
    from wsl.data.narration import NARRATION_SUFFIXES
    from wsl.data.task_folder import TASK_VIDEO_SUFFIXES
    from wsl.io import refuse_overwriting_inputs, write_json
    from wsl.progress import info
    from wsl.steps import discover_steps as run
    from wsl.steps import evaluate as score

    if output != "-":
        refuse_overwriting_inputs([output], [task_dir, *(p for p in (features, eval_gt) if p is not None)],
                                  folder_suffixes=(*NARRATION_SUFFIXES, ".npy", *TASK_VIDEO_SUFFIXES))
    result = run(task_dir, n_steps=steps, text_only=text_only, features=features, fps=fps, layout=layout,
                 window=window, each_step=each_step, absence_weight=absence_weight, max_slots=max_slots,
                 min_support=min_support, merge_synonyms=not no_merge,
                 paraphrases=None if paraphrases == "auto" else paraphrases == "yes", lam=lam, max_iter=max_iter,
                 tol=tol, seed=seed, features_cache=features_cache or options.cache_beside(output), backbone=backbone,
                 pca_dim=pca_dim or None)
    doc = result.to_json()
    gold = None
    if eval_gt is not None:
        from wsl.eval.steps import read_step_ground_truth

        doc["eval"] = score(doc, eval_gt).as_dict()
        gold = read_step_ground_truth(eval_gt, list(doc["videos"]))
    write_json(output, doc)
    _table(doc)
    if plot is not None:
        _plots(plot, doc, gold)
        info(f"wrote {len(doc['videos'])} timeline(s) to {plot}")


def evaluate(
    predictions: Path = typer.Argument(..., help="A discover-steps result (wsl.steps/1 JSON)."),
    gold: Path = typer.Argument(..., help="Ground truth: COIN .json, or a folder (or .tar.gz) of .srt step segments."),
    output: str = options.output("Metrics JSON file, or - for stdout.", default="-"),
) -> None:
    """Steps: F1 of discovered steps against annotated step segments (Alayrac et al. 2016)."""
    from rich.console import Console

    from wsl.io import refuse_overwriting_inputs, write_json
    from wsl.steps import evaluate as score

    if output != "-":
        refuse_overwriting_inputs([output], [predictions, gold])
    e = score(predictions, gold)
    Console(stderr=True).print(f"F1 {e.f1:.3f}  precision {e.precision:.3f}  recall {e.recall:.3f}  ({e.correct} "
                               f"correct of {e.predicted} predicted, {e.annotated} annotated, {e.videos} videos)")
    write_json(output, e.as_dict())


def demo(
    folder: Path = typer.Argument(..., help="Folder to write the task into (narrations, features, index.json, "
                                  "truth/)."),
    coin: Path | None = typer.Option(None, "--coin", help="COIN annotation JSON to build the task from."),
    task: str | None = typer.Option(None, "--task", help="The COIN task to take (with --coin), e.g. ChangeCarTire."),
    videos: int = typer.Option(12, "--videos", min=2, help="Number of videos."),
    seed: int = options.seed(),
) -> None:
    """A small task folder for `wsl discover-steps` (built-in car-tire structure, or a COIN task)."""
    from wsl.progress import info
    from wsl.steps.demo import make_demo_task

    names = make_demo_task(folder, coin, task, videos, seed)
    info(f"wrote {len(names)} narrated videos to {folder}; try: wsl discover-steps {folder} -o steps.json "
         f"--eval {folder}/truth")


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
demos = {"steps": demo}
