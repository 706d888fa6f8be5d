"""`wsl align`: screenplay <-> subtitle alignment; `wsl align eval`: score an alignment against gold.

    wsl align SCRIPT SUBS -o OUT.json        one film
    wsl align --batch DIR -o OUT_DIR         many films (X.txt + X.srt pairs, or a TSV list)
    wsl align eval OUT.json GOLD.json        metrics (files or folders)

The group runs its default command (`run`) unless the first word is a subcommand, so the one-film
form needs no subcommand name. Heavy imports (numpy, spaCy) happen inside the commands.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Any

import click
import typer
from typer.core import TyperGroup

from wsl.errors import BadInput, WorkFailed, WslError
from wsl.progress import info, warn


class _DefaultGroup(TyperGroup):
    """A group that falls back to its ``run`` command when the first argument names no subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "SCRIPT SUBS [-o OUT] [OPTIONS] | --batch DIR -o DIR | eval OUT GOLD")


app = typer.Typer(
    cls=_DefaultGroup,
    help="Align a screenplay with subtitles: times for the script, speakers for the subtitles, weak labels.\n\n"
         "wsl align SCRIPT SUBS -o OUT.json  |  wsl align --batch DIR -o OUT_DIR  |  wsl align eval OUT GOLD\n\n"
         "Run 'wsl align run --help' for the options of the alignment itself.",
    no_args_is_help=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

SUB_EXTS = (".srt", ".vtt")


def _options(min_confidence: float | None, reorder: bool) -> Any:
    from wsl.text.align import DEFAULT_MIN_CONFIDENCE, AlignOptions

    mc = DEFAULT_MIN_CONFIDENCE if min_confidence is None else min_confidence
    if not 0.0 <= mc <= 1.0:
        raise BadInput(f"--min-confidence must be between 0 and 1, got {mc}")
    return AlignOptions(min_confidence=mc, reorder=reorder)


def align_one(job: tuple[str, str, str | None, dict[str, Any]]) -> dict[str, Any]:
    """Align one pair and write its output; module-level so that --jobs can send it to workers.

    Returns a summary row; in batch mode a failure is reported in the row instead of raised.
    """
    script, subs, out, cfg = job
    from wsl.io import write_text
    from wsl.text.align import align
    from wsl.text.align_export import format_from_path, render
    from wsl.text.screenplay import read_screenplay
    from wsl.text.subtitles import read_subtitles

    row: dict[str, Any] = {"name": cfg.get("name") or Path(subs).stem, "output": out}
    try:
        sp = read_screenplay(script, None if cfg["script_format"] == "auto" else cfg["script_format"])
        sub = read_subtitles(subs)
        result = align(sp, sub, _options(cfg["min_confidence"], cfg["reorder"]))
        data = result.to_dict()
        if cfg["labels"] or cfg["actions"]:
            from wsl.text.weak_labels import add_labels, load_rules

            rules = load_rules(cfg["actions"]) if cfg["actions"] else None
            add_labels(data, result.cast, rules)
        fmt = cfg["format"] or format_from_path(out or "-")
        write_text(out or "-", render(data, fmt, cfg["export"]))
        s = result.summary
        row.update(status="ok", dialogue=s["dialogue_blocks"], aligned=s["share_dialogue_aligned"],
                   cues=s["cues"], attributed=s["share_cues_attributed"], skipped_cues=len(s["skipped_cues"]))
        for skipped in s["skipped_cues"]:
            warn(f"{subs}:{skipped['line']}: skipped a broken cue ({skipped['reason']})")
    except WslError as e:
        if not cfg.get("batch"):
            raise
        row.update(status=f"error ({'bad input' if isinstance(e, BadInput) else 'failed'}): {e}")
    return row


def _pairs_from_dir(folder: Path) -> list[tuple[str, str, str]]:
    """(script, subtitles, name) for each subtitle file with a screenplay of the same name beside it."""
    from wsl.text.screenplay import SCRIPT_EXTENSIONS

    files = sorted(p for p in folder.iterdir() if p.is_file())
    pairs = []
    for sub in (p for p in files if p.suffix.lower() in SUB_EXTS):
        stem = sub.stem
        cands = [p for p in files if p.suffix.lower() in SCRIPT_EXTENSIONS and p != sub
                 and (p.stem == stem or p.name.startswith(stem + "."))]
        if not cands:
            warn(f"{sub}: no screenplay named {stem}.txt (or .fountain/.fdx/.pdf/.html) beside it; skipped")
            continue
        cands.sort(key=lambda p: (p.stem != stem, len(p.name)))
        pairs.append((str(cands[0]), str(sub), stem))
    return pairs


def _pairs_from_tsv(path: Path) -> list[tuple[str, str, str]]:
    """Lines ``SCRIPT<TAB>SUBS[<TAB>NAME]``, paths relative to the list's folder; # starts a comment."""
    from wsl.io import read_text

    text, _ = read_text(path)
    pairs = []
    for no, line in enumerate(text.split("\n"), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = line.rstrip("\n").split("\t")
        if len(cols) < 2:
            raise BadInput("expected SCRIPT<TAB>SUBTITLES[<TAB>NAME]", path, no)
        script, subs = (str((path.parent / c.strip()).resolve()) for c in cols[:2])
        name = cols[2].strip() if len(cols) > 2 and cols[2].strip() else Path(subs).stem
        pairs.append((script, subs, name))
    return pairs


def _summary_table(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    fields = ["name", "status", "dialogue", "aligned", "cues", "attributed", "skipped_cues", "output"]
    w = csv.DictWriter(buf, fieldnames=fields, delimiter="\t", extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


@app.command("run", help="Align SCRIPT (txt, fountain, fdx, pdf, html) with SUBS (srt, vtt). The default command.")
def run(
    script: Path | None = typer.Argument(None, help="Screenplay: .txt, .fountain, .fdx, .pdf or .html."),
    subs: Path | None = typer.Argument(None, help="Subtitles of the same film: .srt or .vtt."),
    output: str = typer.Option(None, "-o", "--output",
                               help="Output file ('-' = stdout, the default); with --batch, a folder."),
    fmt: str | None = typer.Option(None, "--format",
                                   help="json, jsonl, csv, srt or vtt (default: from -o, else json)."),
    export: str = typer.Option("cues", "--export",
                               help="For srt/vtt: 'cues' (subtitles with speakers) or 'script' (timed dialogue)."),
    min_confidence: float | None = typer.Option(
        None, "--min-confidence", help="Share of a block's words that must match for it to be aligned (default 0.4)."),
    labels: bool = typer.Option(False, "--labels", help="Add characters present and action triples (spaCy)."),
    actions: Path | None = typer.Option(None, "--actions", help="Action rules (YAML/JSON): timed action labels."),
    script_format: str = typer.Option("auto", "--script-format", help="auto, text, fountain, fdx, pdf or html."),
    no_reorder: bool = typer.Option(False, "--no-reorder", help="Skip the second pass for scenes the film moved."),
    batch: Path | None = typer.Option(None, "--batch", help="A folder of X.txt + X.srt pairs, or a TSV list."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Films aligned in parallel (with --batch)."),
    skip_existing: bool = typer.Option(False, "--skip-existing", help="With --batch: skip films already aligned."),
) -> None:
    from wsl.text.align_export import FORMATS

    if fmt is not None and fmt not in FORMATS:
        raise BadInput(f"unknown --format {fmt!r}: use one of {', '.join(FORMATS)}")
    if export not in ("cues", "script"):
        raise BadInput(f"--export must be 'cues' or 'script', not {export!r}")
    if script_format not in ("auto", "text", "fountain", "fdx", "pdf", "html"):
        raise BadInput(f"unknown --script-format {script_format!r}")
    cfg = {"format": fmt, "export": export, "min_confidence": min_confidence, "labels": labels,
           "actions": str(actions) if actions else None, "script_format": script_format, "reorder": not no_reorder}
    if actions is not None and not actions.is_file():
        raise BadInput("no such rules file", actions)
    if batch is None:
        if script is None or subs is None:
            raise BadInput("give a screenplay and its subtitles (wsl align SCRIPT SUBS -o OUT), "
                           "or --batch DIR, or: wsl align eval OUT GOLD")
        _options(min_confidence, True)
        row = align_one((str(script), str(subs), output, cfg))
        info(f"aligned {row['aligned']:.0%} of {row['dialogue']} dialogue blocks; "
             f"speakers for {row['attributed']:.0%} of {row['cues']} cues")
        return
    if script is not None:
        raise BadInput("with --batch, give no SCRIPT/SUBS arguments")
    if not output or output == "-":
        raise BadInput("--batch needs -o OUT_DIR (one output file per film)")
    _options(min_confidence, True)
    pairs = _pairs_from_dir(batch) if batch.is_dir() else _pairs_from_tsv(batch)
    if not pairs:
        raise BadInput("no screenplay/subtitle pairs found (expected X.txt beside X.srt)", batch)
    out_dir = Path(output)
    out_dir.mkdir(parents=True, exist_ok=True)
    ext = fmt or "json"
    todo, rows = [], []
    for s, u, name in pairs:
        out = str(out_dir / f"{name}.aligned.{ext}")
        if skip_existing and Path(out).exists():
            rows.append({"name": name, "status": "skipped (exists)", "output": out})
            continue
        todo.append((s, u, out, {**cfg, "name": name, "batch": True}))
    from wsl.parallel import map_jobs

    rows.extend(map_jobs(align_one, todo, jobs, description="aligning"))
    rows.sort(key=lambda r: r["name"])
    table = _summary_table(rows)
    from wsl.io import write_text

    write_text(out_dir / "summary.tsv", table)
    sys.stderr.write(table)
    failed = [r for r in rows if str(r.get("status", "")).startswith("error")]
    if failed:
        raise WorkFailed(f"{len(failed)} of {len(rows)} films failed (see {out_dir / 'summary.tsv'})")


@app.command("eval", help="Score OUTPUT against GOLD (files, or folders paired by name: X.aligned.json, X.gold.json).")
def eval_(
    output: Path = typer.Argument(..., help="An aligned-script JSON, or a folder of them."),
    gold: Path = typer.Argument(..., help="A gold JSON (blocks + cues), or a folder of X.gold.json."),
    out: str = typer.Option("-", "-o", "--output", help="Where to write the metrics JSON ('-' = stdout)."),
) -> None:
    from wsl.eval.align import combine, evaluate_alignment
    from wsl.io import load_json, write_json

    if output.is_dir() != gold.is_dir():
        raise BadInput("OUTPUT and GOLD must both be files or both be folders")
    if not output.is_dir():
        write_json(out, evaluate_alignment(load_json(output), load_json(gold)))
        return
    per: dict[str, Any] = {}
    for g in sorted(gold.glob("*.gold.json")):
        name = g.name[: -len(".gold.json")]
        cands = sorted(output.glob(f"{name}.*json"))
        if not cands:
            warn(f"{g}: no output {name}.aligned.json in {output}; counted as missing")
            continue
        per[name] = evaluate_alignment(load_json(cands[0]), load_json(g))
    if not per:
        raise BadInput("no X.gold.json with a matching X.aligned.json", gold)
    total = combine(per.values())
    write_json(out, {"overall": total, "files": {k: {kk: vv for kk, vv in v.items() if kk != "counts"}
                                                  for k, v in per.items()}})
