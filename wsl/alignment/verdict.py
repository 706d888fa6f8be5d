"""The verdict on a pair before any time is given: the film's screenplay, a draft of it, or another film.

Two unrelated texts share common words and the odd phrase; long runs of consecutive matched words
only come from the same speech. The share of words in runs of 4+ separates the film's own script
from the rest; the number of runs of 6+ words then tells a heavily rewritten draft of the film (a few
dozen surviving speeches) from another film or another language (none or one or two).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from wsl.alignment.options import VerdictRules
from wsl.errors import BadInput
from wsl.text.wordalign import run_lengths, words_in_runs

__all__ = ["Verdict", "judge", "refuse"]


@dataclass(frozen=True)
class Verdict:
    """``kind``: "film" (align), "draft" (align only with ``draft``), "other" (refuse)."""

    kind: Literal["film", "draft", "other"]
    share_in_runs: float  # matched words in runs of 4+, over the shorter text
    long_runs: int  # runs of 6+ consecutive matched words
    surviving: float  # share of the screenplay's dialogue words in runs of 4+


def judge(pairs: np.ndarray, n_script: int, n_subs: int, rules: VerdictRules) -> Verdict:
    in_runs = words_in_runs(pairs)
    share = in_runs / max(1, min(n_script, n_subs))
    lengths = run_lengths(pairs)
    long_runs = 0
    if len(lengths):  # run_lengths gives each pair its run's length: count each run once, at its start
        starts = np.concatenate(([True], np.any(np.diff(pairs, axis=0) != 1, axis=1)))
        long_runs = int(np.sum(starts & (lengths >= rules.long_run)))
    surviving = in_runs / max(1, n_script)
    if share >= rules.min_run_share:
        kind: Literal["film", "draft", "other"] = "film"
    elif long_runs >= rules.min_long_runs:
        kind = "draft"
    else:
        kind = "other"
    return Verdict(kind, round(share, 4), long_runs, round(surviving, 4))


def refuse(v: Verdict, draft: bool, script: str | None, subs: str | None) -> None:
    """Raise BadInput for a pair that must not be aligned (a mismatched pair is bad input)."""
    where = f" ({script} vs {subs})"
    if v.kind == "other":
        raise BadInput(
            f"the subtitles do not match this screenplay: {v.share_in_runs:.1%} of the words match in runs of 4 or "
            f"more and {v.long_runs} runs of 6+ words (the film's own script gives well over 8%, a draft of it "
            f"several runs of 6+); are they the subtitles of another film or in another language?{where}")
    if v.kind == "draft" and not draft:
        raise BadInput(
            f"the screenplay looks like an early draft of this film: only {v.surviving:.1%} of its dialogue "
            f"survives ({v.long_runs} runs of 6+ words); run with `draft` to align what survives{where}",
            param="draft")
