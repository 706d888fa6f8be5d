"""Many films in one call: pairs from a folder or a TSV list, a deterministic shard, one failure never
stopping the rest (each is reported; the caller decides the exit status from `BatchResult.failed`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wsl.errors import BadInput

__all__ = ["FilmResult", "BatchResult", "align_batch", "find_pairs"]


@dataclass(frozen=True)
class FilmResult:
    """One film of a batch: ``status`` is ok, skipped (exists), bad input or failed (with ``error``)."""

    name: str
    script: str
    subs: str
    output: str
    status: str
    error: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchResult:
    films: tuple[FilmResult, ...]

    @property
    def failed(self) -> list[FilmResult]:
        return [f for f in self.films if f.status in ("bad input", "failed")]

    def table(self) -> str:
        """The summary as TSV (name, status, figures, output, error)."""
        cols = ["name", "status", "dialogue", "aligned", "cues", "attributed", "skipped_cues", "output", "error"]
        rows = ["\t".join(cols)]
        for f in self.films:
            vals = {"name": f.name, "status": f.status, "output": f.output, "error": f.error or "", **f.figures}
            rows.append("\t".join(str(vals.get(c, "")).replace("\t", " ") for c in cols))
        return "\n".join(rows) + "\n"


def _pairs_from_dir(folder: Path) -> list[tuple[str, str, str]]:
    """(script, subtitles, name) for each subtitle file with a screenplay of the same name beside it."""
    from wsl.progress import warn
    from wsl.text.screenplay import SCRIPT_EXTENSIONS
    from wsl.text.subtitles import SUBTITLE_EXTENSIONS

    files = sorted(p for p in folder.iterdir() if p.is_file())
    pairs = []
    for sub in (p for p in files if p.suffix.lower() in SUBTITLE_EXTENSIONS):
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


def find_pairs(source: str | os.PathLike[str]) -> list[tuple[str, str, str]]:
    """(script, subtitles, name) from a folder of X.txt + X.srt pairs or a TSV list, sorted by name."""
    p = Path(source)
    if not p.exists():
        raise BadInput("no such folder or list", p)
    pairs = _pairs_from_dir(p) if p.is_dir() else _pairs_from_tsv(p)
    if not pairs:
        raise BadInput("no screenplay/subtitle pairs found (expected X.txt beside X.srt)", p)
    return sorted(pairs, key=lambda t: t[2])


def _one(job: tuple[str, str, str, str, dict[str, Any]]) -> FilmResult:
    """Align and write one film; any failure becomes the film's status (module level for --jobs)."""
    script, subs, out, name, cfg = job
    from wsl.alignment import align
    from wsl.alignment.export import render
    from wsl.errors import WslError
    from wsl.io import refuse_overwriting_inputs, write_text

    try:
        refuse_overwriting_inputs([out], [script, subs])
        result = align(script, subs, cfg["options"], script_format=cfg["script_format"], labels=cfg["labels"],
                       actions=cfg["actions"])
        write_text(out, render(result, cfg["format"], cfg["export"]))
    except WslError as e:
        status = "bad input" if isinstance(e, BadInput) else "failed"
        return FilmResult(name, script, subs, out, status, str(e.render() if isinstance(e, BadInput) else e))
    except Exception as e:  # a bug on one film must not cost the others: report it with the film
        return FilmResult(name, script, subs, out, "failed", f"internal error: {type(e).__name__}: {e}")
    s = result.summary
    return FilmResult(name, script, subs, out, "ok", None, {
        "dialogue": s["dialogue_blocks"], "aligned": s["share_dialogue_aligned"], "cues": s["cues"],
        "attributed": s["share_cues_attributed"], "skipped_cues": len(s["skipped_cues"])})


def align_batch(source: str | os.PathLike[str], out_dir: str | os.PathLike[str], options: Any = None, *,
                fmt: str = "json", export: str = "cues", script_format: str | None = None, labels: bool = False,
                actions: str | os.PathLike[str] | None = None, jobs: int = 1, skip_existing: bool = False,
                shard: tuple[int, int] | None = None) -> BatchResult:
    """Align every pair of ``source`` (a folder of X.txt + X.srt, or a TSV list) into
    ``out_dir/NAME.aligned.FMT``; ``shard=(k, n)`` takes the k-th of n deterministic parts of the
    sorted pairs. Failures are reported per film in the result, never raised."""
    from wsl.alignment.export import FORMATS
    from wsl.alignment.options import AlignOptions
    from wsl.parallel import map_jobs, shard_items

    if fmt not in FORMATS:
        raise BadInput(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}", param="fmt")
    opt = options or AlignOptions()
    opt.check()
    pairs = find_pairs(source)
    if shard is not None:
        pairs = sorted(shard_items(pairs, shard), key=lambda t: t[2])
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise BadInput("the batch output must be a folder (one file per film)", out, param="out_dir")
    out.mkdir(parents=True, exist_ok=True)
    cfg = {"options": opt, "format": fmt, "export": export, "script_format": script_format, "labels": labels,
           "actions": None if actions is None else str(actions)}
    films: list[FilmResult] = []
    todo = []
    for script, subs, name in pairs:
        target = str(out / f"{name}.aligned.{fmt}")
        if skip_existing and Path(target).exists():
            films.append(FilmResult(name, script, subs, target, "skipped (exists)"))
        else:
            todo.append((script, subs, target, name, cfg))
    films.extend(map_jobs(_one, todo, jobs, description="aligning films"))
    return BatchResult(tuple(sorted(films, key=lambda f: f.name)))
