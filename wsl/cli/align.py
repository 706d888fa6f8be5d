"""`wsl align`: screenplay <-> subtitle alignment (one command); `wsl eval align`: score it against gold.

    wsl align SCRIPT SUBS -o OUT.json           one film
    wsl align --batch DIR -o OUT_DIR            many films (X.txt + X.srt pairs, or a TSV list)
    wsl eval align OUT.json GOLD.json           metrics (files or folders)

Parses options, calls `wsl.alignment.align` / `align_batch`, renders. Heavy imports (numpy, spaCy)
happen inside the library calls, so `wsl align --help` and start-up stay light.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

import typer

from wsl.cli import options
from wsl.errors import BadInput, WorkFailed

Format = Literal["json", "jsonl", "csv", "srt", "vtt", "ass"]
ScriptFormat = Literal["auto", "text", "inline", "fountain", "fdx", "pdf", "html"]


def command(
    script: Path | None = typer.Argument(None, help="Screenplay: .txt (screenplay or NAME: text transcript), "
                                                    ".fountain, .fdx, .pdf or .html.", show_default=False),
    subs: Path | None = typer.Argument(None, help="Subtitles of the same film: .srt, .vtt, .ass or .ssa.",
                                       show_default=False),
    output: str = options.output("Output file ('-' = stdout); with --batch, a folder (one file per film).",
                                 default="-"),
    fmt: Format | None = options.fmt(None, "Output format (default: from the output's extension; stdout: json; "
                                           "an unknown extension is refused)."),
    export: Literal["cues", "script"] = typer.Option(
        "cues", "--export", help="For srt/vtt/ass: cues (the subtitles with speakers) or script (timed dialogue)."),
    min_confidence: float = typer.Option(
        0.4, "--min-confidence", min=0.0, max=1.0,
        help="Share of a block's words that must match for it to be aligned; below it the block is abstained on."),
    draft: bool = typer.Option(
        False, "--draft", help="The screenplay is an early draft: align only blocks on long exact runs of words, "
                               "abstain on the rest."),
    min_speaker_confidence: float = typer.Option(
        0.0, "--min-speaker-confidence", min=0.0, max=1.0,
        help="Leave a cue turn without speaker when its speaker's confidence is lower (guesses are 0.2-0.5)."),
    labels: bool = typer.Option(False, "--labels", help="Add characters present and action triples (spaCy)."),
    actions: Path | None = typer.Option(None, "--actions", help="Action rules (YAML/JSON): timed action labels."),
    script_format: ScriptFormat = typer.Option("auto", "--script-format",
                                               help="Screenplay format (auto: from the extension, else the content)."),
    no_reorder: bool = typer.Option(False, "--no-reorder", help="Skip the second pass for scenes the film moved."),
    batch: Path | None = typer.Option(None, "--batch", help="A folder of X.txt + X.srt pairs, or a TSV list "
                                                            "(SCRIPT<TAB>SUBS[<TAB>NAME] per line)."),
    jobs: int = options.jobs(),
    skip_existing: bool = options.skip_existing(),
    shard: str | None = options.shard(),
) -> None:
    """Align a screenplay with subtitles: times for the script, speakers for the subtitles, weak labels."""
    from wsl.alignment.options import AlignOptions
    from wsl.progress import info, warn

    opt = AlignOptions(min_confidence=min_confidence, draft=draft, min_speaker_confidence=min_speaker_confidence,
                       reorder=not no_reorder)
    sformat = None if script_format == "auto" else script_format
    if actions is not None and not actions.is_file():
        raise BadInput("no such rules file", actions)
    if batch is not None:
        if script is not None:
            raise BadInput("with --batch, give no SCRIPT/SUBS arguments")
        _batch(batch, output, opt, fmt, export, sformat, labels, actions, jobs, skip_existing, shard)
        return
    if script is None or subs is None:
        raise BadInput("give a screenplay and its subtitles (wsl align SCRIPT SUBS -o OUT), or --batch DIR -o DIR")
    if shard is not None or skip_existing:
        raise BadInput("--shard and --skip-existing apply to --batch")
    from wsl.alignment import align
    from wsl.alignment.export import output_format, render
    from wsl.io import refuse_overwriting_inputs, write_text

    out_fmt = output_format(output, fmt)
    refuse_overwriting_inputs([output], [script, subs, *([actions] if actions else [])])
    # A draft refusal names `draft`; the CLI's error handler shows it as --draft.
    result = align(script, subs, opt, script_format=sformat, labels=labels, actions=actions)
    for skipped in result.summary["skipped_cues"]:
        warn(f"{subs}:{skipped['line']}: skipped a broken cue ({skipped['reason']}); kept in subtitle exports")
    write_text(output, render(result, out_fmt, export))
    s = result.summary
    info(f"aligned {s['share_dialogue_aligned']:.0%} of {s['dialogue_blocks']} dialogue blocks; "
         f"speakers for {s['share_cues_attributed']:.0%} of {s['cues']} cues")


def _batch(batch: Path, output: str, opt: Any, fmt: str | None, export: str, sformat: str | None, labels: bool,
           actions: Path | None, jobs: int, skip_existing: bool, shard: str | None) -> None:
    from wsl.alignment import align_batch
    from wsl.io import write_text
    from wsl.progress import warn

    if output == "-":
        raise BadInput("--batch needs -o OUT_DIR (one output file per film)")
    res = align_batch(batch, output, opt, fmt=fmt or "json", export=export, script_format=sformat, labels=labels,
                      actions=actions, jobs=jobs, skip_existing=skip_existing, shard=options.parse_shard(shard))
    summary = Path(output) / ("summary.tsv" if shard is None else f"summary.{shard.replace('/', 'of')}.tsv")
    write_text(summary, res.table())
    sys.stderr.write(res.table())
    for f in res.failed:
        warn(f"{f.name}: {f.status}: {f.error}")
    if res.failed:
        names = ", ".join(f.name for f in res.failed)
        raise WorkFailed(f"{len(res.failed)} of {len(res.films)} films failed ({names}); see {summary}")


def evaluate(
    output: Path = typer.Argument(..., help="An aligned-script JSON, or a folder of them."),
    gold: Path = typer.Argument(..., help="A gold JSON (blocks + cues), or a folder of X.gold.json."),
    out: str = options.output("Where to write the metrics JSON ('-' = stdout).", default="-"),
) -> None:
    """Score an alignment against gold: onsets within 1 s, absent lines abstained, speakers."""
    from wsl.eval.align import evaluate_paths
    from wsl.io import write_json

    metrics = evaluate_paths(output, gold)
    overall = metrics.get("overall", metrics)
    rows = [(k, v) for k, v in overall.items() if k not in ("counts", "files")]
    sys.stderr.write("".join(f"{k:32s} {v}\n" for k, v in rows))
    write_json(out, metrics)
