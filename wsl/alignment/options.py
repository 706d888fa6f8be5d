"""The knobs of `wsl.align`, each group in a frozen dataclass (the pattern of `wordalign.Scoring`).

Every threshold is named here with the measurement that chose it, so the pipeline reads as the
method and this file as its settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wsl.text.wordalign import Scoring

__all__ = ["AlignOptions", "VerdictRules", "SpanRules", "SpeakerRules", "DEFAULT_MIN_CONFIDENCE"]

# Chosen on the 17 TBBT fixture episodes (docs/benchmarks.md): lower aligns more cut lines, higher
# abstains on reworded ones.
DEFAULT_MIN_CONFIDENCE = 0.4


@dataclass(frozen=True)
class VerdictRules:
    """Is this the film's screenplay, a heavily rewritten draft of it, or another film?

    Measured (issue 12): the right film has 28-98% of its words in runs of 4+ consecutive matches;
    a real draft of the right film 2.5% but 12 runs of 6+ words; 20 pairs of different films at most
    1.4% and 0-2 runs of 6+. Runs of 6+ are the sharper signal, so they separate draft from stranger.
    """

    min_run_share: float = 0.08  # share of words in runs of 4+: at least this is the right film
    min_long_runs: int = 4  # runs of 6+ words: at least this many is a draft of the film (a TV draft gave 4)
    long_run: int = 6


@dataclass(frozen=True)
class SpanRules:
    """From a block's matched words to its interval."""

    # Time allowed for each word of a block that the subtitles left out (about three words a second).
    word_seconds: float = 0.3
    # A matched word at a block's edge this far (s) from the next matched word is a stray match of a
    # common word elsewhere in the film (1-4% of blocks in real films had one): it is dropped.
    edge_gap_s: float = 8.0
    # With --draft a block is aligned only on a run of at least this many consecutive matched words
    # (a shorter block needs all of its words, and at least draft_min_words of them).
    draft_min_run: int = 5
    draft_min_words: int = 4
    # An unaligned block placed by turn order (`gaps`) on a free subtitle turn may have at most this
    # many words the turn lacks: a longer line reduced to one word or to punctuation is more likely cut
    # (one shared name placed long lines of the real films).
    max_unheard_words: int = 4
    # A block's unmatched first words may start it at the free turn just before its first matched
    # turn ("Oh." kept as "." in a cue of its own) when that turn ends at most this long (s) before.
    leading_gap_s: float = 2.0


@dataclass(frozen=True)
class SpeakerRules:
    """Confidences of the speaker fills, calibrated on TBBT episodes 1-12 (Season1.trn.lst + dev.lst):
    each is the share of such fills that gold confirms, with one success and one failure added
    (Laplace), so that episodes 13-17 (tst.lst) check them (docs/benchmarks.md, "speaker calibration")."""

    inside: float = 0.5  # an unmatched turn inside an aligned block's words (1 turn in 17 episodes)
    by_order: float = 0.92  # a free turn holding a block (or its first words) placed by order (32 of 34)
    continued_same: float = 0.95  # a wordless fragment between two turns of one speaker (19 of 19)
    continued: float = 0.92  # a wordless fragment between two speakers, given to the one before (44 of 47)
    guess: float = 0.76  # a line absent from the script, one or two possible other parties (68 of 89)
    guess_crowded: float = 0.64  # the same with three or more possible other parties (26 of 40)
    unknown_label: float = 0.5  # a hearing-impaired label (JOHN:) that names no cast member
    guess_window_s: float = 10.0  # fill only between known speakers this close in time
    nearby_turns: int = 8  # how far (in attributed turns) to look for the other party


@dataclass(frozen=True)
class AlignOptions:
    """Options of `wsl.align`.

    ``min_confidence``: share of a block's words that must match for it to be aligned.
    ``draft``: the screenplay is an early draft; align only blocks on long exact runs, abstain on the rest.
    ``min_speaker_confidence``: speakers guessed with less confidence are left empty.
    ``full_matrix`` runs the plain N x M DP (the benchmark's baseline); ``reorder`` the second pass
    for scenes the film moved; ``gap_fill`` places short unmatched lines on the free subtitle turns
    between their aligned neighbours (`wsl.alignment.gaps`).
    """

    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    draft: bool = False
    min_speaker_confidence: float = 0.0
    full_matrix: bool = False
    reorder: bool = True
    gap_fill: bool = True
    verdict: VerdictRules = field(default_factory=VerdictRules)
    spans: SpanRules = field(default_factory=SpanRules)
    speakers: SpeakerRules = field(default_factory=SpeakerRules)
    scoring: Scoring = field(default_factory=Scoring)

    def check(self) -> None:
        """Refuse values out of range, naming the parameter."""
        from wsl.errors import BadInput

        for name in ("min_confidence", "min_speaker_confidence"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise BadInput(f"`{name}` must be between 0 and 1, got {v}", param=name)
