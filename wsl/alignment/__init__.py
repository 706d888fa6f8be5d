"""Screenplay <-> subtitle alignment (Everingham et al. 2006, Laptev et al. 2008): the library behind `wsl align`.

    import wsl
    result = wsl.align("movie.txt", "movie.srt")                # AlignResult
    result = wsl.align("draft.txt", "movie.srt", draft=True)    # a rewritten draft: only what survives
    batch = wsl.alignment.align_batch("films/", "out/")         # many films, one failure never stops the rest

Modules: `pipeline` (tokens, word alignment, abstention, moved scenes), `verdict` (film / draft /
another film), `spans` (block intervals, edge trimming, onsets and cue bounds), `speakers` (cue
speakers with calibrated confidence), `export` (JSON, JSONL, CSV, SRT, VTT), `weak_labels` (who is
present and what they do, spaCy), `batch`, `options` (every threshold, named).
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from wsl.alignment.batch import BatchResult, FilmResult, align_batch
from wsl.alignment.options import AlignOptions, SpanRules, SpeakerRules, VerdictRules
from wsl.alignment.pipeline import AlignResult, align_parsed, read_pair
from wsl.alignment.verdict import Verdict
from wsl.text.screenplay import Screenplay
from wsl.text.subtitles import SubtitleFile

__all__ = ["align", "align_batch", "align_parsed", "AlignOptions", "AlignResult", "BatchResult", "FilmResult",
           "Verdict", "VerdictRules", "SpanRules", "SpeakerRules"]


def align(script: str | os.PathLike[str] | Screenplay, subs: str | os.PathLike[str] | SubtitleFile,
          options: AlignOptions | None = None, *, script_format: str | None = None, labels: bool = False,
          actions: str | os.PathLike[str] | None = None, **option_values: Any) -> AlignResult:
    """Align a screenplay with the subtitles of the same film.

    ``script``/``subs``: paths (any supported format and encoding) or parsed objects. Options come as
    an `AlignOptions` or as its fields (``draft=True``, ``min_confidence=0.5`` ...). ``labels`` adds
    characters present and action triples (spaCy); ``actions`` (a rules file) adds timed action labels.
    Raises BadInput for unreadable inputs and for a mismatched pair (another film, or a draft without
    ``draft``).
    """
    opt = replace(options or AlignOptions(), **option_values)
    sp, sub = read_pair(script, subs, script_format)
    result = align_parsed(sp, sub, opt)
    if labels or actions is not None:
        from wsl.alignment.weak_labels import load_rules, with_labels

        result = with_labels(result, load_rules(actions) if actions is not None else None)
    return result
