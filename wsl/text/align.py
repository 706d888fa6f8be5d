"""Screenplay <-> subtitle alignment (Everingham et al. 2006, Laptev et al. 2008).

The screenplay's dialogue words are aligned with the subtitle words (`wsl.text.wordalign`); matched
words carry time to the screenplay and speakers to the subtitles. Each dialogue block gets a start and
end from the cues its words matched, and a confidence (the share of its words matched); blocks under
``min_confidence`` are left unaligned, because a scene cut from the film must be abstained on, not
guessed. Scene headings and action get the interval between their aligned neighbours (interpolated).
Inside a cue, time is spread over the characters: a word a third of the way into the cue's text is
placed a third of the way into its duration, so the second speaker of ``- Hi. / - Hello.`` starts
partway through the cue.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wsl.errors import WorkFailed
from wsl.text.normalize import tokenize
from wsl.text.screenplay import Screenplay, normalize_character
from wsl.text.subtitles import SubtitleFile, cue_turns
from wsl.text.wordalign import Scoring, WordAlignment, align_full, align_words, words_in_runs

__all__ = ["AlignOptions", "AlignResult", "align", "align_files", "DEFAULT_MIN_CONFIDENCE"]

# Chosen on the 17 TBBT fixture episodes (docs/benchmarks.md): lower aligns more cut lines, higher
# abstains on reworded ones.
DEFAULT_MIN_CONFIDENCE = 0.4
# Time allowed for each word of a block that the subtitles left out (about three words a second).
WORD_SECONDS = 0.3


@dataclass(frozen=True)
class AlignOptions:
    """Knobs of the alignment. ``full_matrix`` runs the plain N x M DP (the benchmark's baseline)."""

    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    # Below this share of words in runs of 4+ consecutive matches, the subtitles are of another film
    # (measured: 0.28 to 0.98 for the right film, at most 0.03 for another one).
    min_run_share: float = 0.08
    full_matrix: bool = False
    reorder: bool = True  # second pass for scenes the film moved (see _rescue_reordered)
    scoring: Scoring = field(default_factory=Scoring)


@dataclass
class AlignResult:
    """Elements and cues as plain records (the JSON of docs/formats.md), plus a summary."""

    elements: list[dict[str, Any]]
    cues: list[dict[str, Any]]
    summary: dict[str, Any]
    cast: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary, "elements": self.elements, "cues": self.cues}


@dataclass
class _SubToken:
    norm: str
    cue: int  # position in subs.cues
    turn: int
    t0: float
    t1: float


def _subtitle_tokens(subs: SubtitleFile) -> tuple[list[_SubToken], list[tuple[str, list]]]:
    tokens: list[_SubToken] = []
    cleaned = []
    for c, cue in enumerate(subs.cues):
        text, turns = cue_turns(cue)
        cleaned.append((text, turns))
        if not text:
            continue
        dur = max(cue.end - cue.start, 0.0)
        length = len(text)
        offsets = [t.offset for t in turns]
        for tok in tokenize(text):
            turn = max(0, sum(1 for o in offsets if o <= tok.start) - 1)
            tokens.append(_SubToken(tok.norm, c, turn, cue.start + dur * tok.start / length,
                                    cue.start + dur * tok.end / length))
    return tokens, cleaned


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 3)


def align(screenplay: Screenplay, subs: SubtitleFile, options: AlignOptions | None = None) -> AlignResult:
    """Align a parsed screenplay with parsed subtitles. Raises WorkFailed when they do not match."""
    opt = options or AlignOptions()
    els = list(screenplay.elements)
    # Script tokens: dialogue only (action is not spoken).
    a_words: list[str] = []
    a_block: list[int] = []
    block_tokens: dict[int, tuple[int, int]] = {}
    for e_idx, e in enumerate(els):
        if e.type != "dialogue":
            continue
        toks = tokenize(e.text)
        block_tokens[e_idx] = (len(a_words), len(a_words) + len(toks))
        a_words.extend(t.norm for t in toks)
        a_block.extend([e_idx] * len(toks))
    s_tokens, cleaned = _subtitle_tokens(subs)
    b_words = [t.norm for t in s_tokens]
    wa: WordAlignment = (align_full if opt.full_matrix else align_words)(a_words, b_words, opt.scoring)

    a_to_b = np.full(len(a_words), -1, dtype=np.int64)
    b_to_a = np.full(len(b_words), -1, dtype=np.int64)
    if len(wa.pairs):
        a_to_b[wa.pairs[:, 0]] = wa.pairs[:, 1]
        b_to_a[wa.pairs[:, 1]] = wa.pairs[:, 0]
    shorter = max(1, min(len(a_words), len(b_words)))
    run_share = words_in_runs(wa.pairs) / shorter
    if run_share < opt.min_run_share:
        raise WorkFailed(
            f"the subtitles do not match this screenplay: only {run_share:.1%} of the words match in runs of "
            f"4 or more (the right film gives well over {opt.min_run_share:.0%}, another film about 2%); "
            f"are they the subtitles of another film or in another language? "
            f"({screenplay.path} vs {subs.path})")

    reordered = _rescue_reordered(block_tokens, a_words, b_words, a_to_b, b_to_a, opt) if opt.reorder else set()

    # ---- dialogue blocks: confidence, times, cues
    out_elements: list[dict[str, Any]] = []
    block_span: dict[int, tuple[int, int]] = {}  # element -> (first, last) matched subtitle token
    prev_end = 0.0
    for e_idx, e in enumerate(els):
        rec: dict[str, Any] = {
            "type": e.type, "text": e.text, "character": e.character, "script_line": e.line,
            "start": None, "end": None, "aligned": False, "confidence": 0.0, "cues": [],
        }
        if e.extension:
            rec["extension"] = e.extension
        if e.parentheticals:
            rec["parentheticals"] = list(e.parentheticals)
        if e.page is not None:
            rec["page"] = e.page
        if e.type == "dialogue":
            lo, hi = block_tokens[e_idx]
            js = a_to_b[lo:hi]
            matched = js[js >= 0]
            conf = len(matched) / (hi - lo) if hi > lo else 0.0
            rec["confidence"] = round(conf, 3)
            rec["matched_words"] = int(len(matched))
            rec["words"] = int(hi - lo)
            if len(matched) and conf >= opt.min_confidence:
                first_i = lo + int(np.argmax(js >= 0))
                last_i = hi - 1 - int(np.argmax(js[::-1] >= 0))
                j_first, j_last = int(a_to_b[first_i]), int(a_to_b[last_i])
                j_start, lead = _extend(j_first, first_i - lo, -1, s_tokens, b_to_a)
                j_end, trail = _extend(j_last, hi - 1 - last_i, +1, s_tokens, b_to_a)
                block_span[e_idx] = (j_start, j_end)
                start, end = s_tokens[j_start].t0, s_tokens[j_end].t1
                # Words of the block that the subtitles left out were still said: allow time for them,
                # but not before the previous cue ends (nor after the next one starts).
                c0, c1 = s_tokens[j_start].cue, s_tokens[j_end].cue
                if lead:
                    floor = max(subs.cues[c0 - 1].end if c0 > 0 else 0.0, prev_end)
                    start = max(min(start, max(floor, start - lead * WORD_SECONDS)), 0.0)
                if trail:
                    ceil = subs.cues[c1 + 1].start if c1 + 1 < len(subs.cues) else end + trail * WORD_SECONDS
                    end = max(end, min(ceil, end + trail * WORD_SECONDS))
                prev_end = end
                rec["start"] = _round(start)
                rec["end"] = _round(end)
                rec["aligned"] = True
                if e_idx in reordered:
                    rec["reordered"] = True
                rec["cues"] = sorted({subs.cues[s_tokens[j].cue].index for j in range(j_start, j_end + 1)})
        out_elements.append(rec)

    # ---- scene headings and action: the interval between aligned neighbours
    _interpolate(out_elements, subs)

    # ---- speakers of cues
    cast = screenplay.cast
    out_cues, attributed = _cue_speakers(els, subs, cleaned, s_tokens, a_block, b_to_a, block_span, cast)

    dialogue = [r for r in out_elements if r["type"] == "dialogue"]
    n_aligned = sum(1 for r in dialogue if r["aligned"])
    summary = {
        "screenplay": screenplay.path, "subtitles": subs.path,
        "formats": {"screenplay": screenplay.format, "subtitles": subs.format},
        "encodings": {"screenplay": screenplay.encoding, "subtitles": subs.encoding},
        "layout": screenplay.layout,
        "elements": dict(Counter(r["type"] for r in out_elements)),
        "dialogue_blocks": len(dialogue), "dialogue_aligned": n_aligned,
        "share_dialogue_aligned": round(n_aligned / max(1, len(dialogue)), 4),
        "cues": len(out_cues), "cues_attributed": attributed,
        "share_cues_attributed": round(attributed / max(1, len(out_cues)), 4),
        "words": {"screenplay": len(a_words), "subtitles": len(b_words), "matched": int(len(wa.pairs)),
                  "share_in_runs": round(run_share, 4),
                  "anchors": wa.anchors, "dp_cells": wa.cells},
        "skipped_cues": [{"line": ln, "reason": why} for ln, why in subs.skipped],
        "min_confidence": opt.min_confidence, "cast": cast,
    }
    return AlignResult(out_elements, out_cues, summary, cast)


# Confidence given to speakers that no matched word supports (see _cue_speakers).
CONF_INSIDE = 0.5  # an unmatched turn inside an aligned block's words
CONF_CONTINUED = 0.3  # a turn with no words (a fragment), given to the speaker before it
CONF_GUESS = 0.2  # a line absent from the screenplay: the other party of the conversation
GUESS_WINDOW_S = 10.0  # fill only between known speakers this close in time


def _rescue_reordered(block_tokens: dict[int, tuple[int, int]], a_words: list[str], b_words: list[str],
                      a_to_b: np.ndarray, b_to_a: np.ndarray, opt: AlignOptions) -> set[int]:
    """Second pass for scenes the film plays in another order than the script (editing moves scenes).

    The monotone pass leaves such a scene unmatched. The words of the blocks it left unaligned are
    aligned once more with the subtitle words nobody matched. A run of consecutive unaligned blocks is
    accepted only when its new matches come in runs of consecutive words (one shared "I'm sorry" proves
    nothing). Updates a_to_b/b_to_a in place; returns the blocks that were placed this way.
    """
    def conf(lo: int, hi: int) -> float:
        return float((a_to_b[lo:hi] >= 0).sum()) / max(1, hi - lo)

    blocks = sorted(block_tokens)
    unaligned = [e for e in blocks if conf(*block_tokens[e]) < opt.min_confidence]
    a_idx = np.asarray([i for e in unaligned for i in range(*block_tokens[e]) if a_to_b[i] < 0], dtype=np.int64)
    b_idx = np.flatnonzero(b_to_a < 0)
    if len(a_idx) < 4 or len(b_idx) < 4:
        return set()
    # Smaller DP budget than the first pass: only runs of consecutive words are kept here anyway.
    wa = align_words([a_words[i] for i in a_idx], [b_words[j] for j in b_idx], opt.scoring, max_cells=250_000)
    if not len(wa.pairs):
        return set()
    new = np.stack([a_idx[wa.pairs[:, 0]], b_idx[wa.pairs[:, 1]]], axis=1)
    # Group consecutive unaligned blocks (a scene, usually) and judge each group as a whole.
    pos = {e: k for k, e in enumerate(blocks)}
    groups: list[list[int]] = []
    for e in unaligned:
        if groups and pos[e] == pos[groups[-1][-1]] + 1:
            groups[-1].append(e)
        else:
            groups.append([e])
    placed: set[int] = set()
    for group in groups:
        lo, hi = block_tokens[group[0]][0], block_tokens[group[-1]][1]
        sel = new[(new[:, 0] >= lo) & (new[:, 0] < hi)]
        if words_in_runs(sel, 3) < 6 or words_in_runs(sel, 3) < 0.5 * len(sel):
            continue
        for e in group:
            blo, bhi = block_tokens[e]
            mine = sel[(sel[:, 0] >= blo) & (sel[:, 0] < bhi)]
            if not len(mine):
                continue
            # Each block on its own: consecutive words, packed in a stretch of subtitles its own size.
            n = bhi - blo
            packed = mine[-1, 1] - mine[0, 1] + 1 <= 2 * n + 4
            if not packed or words_in_runs(mine, min(3, n)) < min(3, n):
                continue
            old = a_to_b[blo:bhi]
            b_to_a[old[old >= 0]] = -1  # the first pass's few scattered matches of this block give way
            a_to_b[blo:bhi] = -1
            a_to_b[mine[:, 0]] = mine[:, 1]
            b_to_a[mine[:, 1]] = mine[:, 0]
            if conf(blo, bhi) >= opt.min_confidence:
                placed.add(e)
    return placed


def _cue_speakers(els: list, subs: SubtitleFile, cleaned: list, s_tokens: list[_SubToken], a_block: list[int],
                  b_to_a: np.ndarray, block_span: dict[int, tuple[int, int]], cast: list[str]
                  ) -> tuple[list[dict[str, Any]], int]:
    """Speakers of each cue turn, with a confidence.

    Evidence, strongest first: a hearing-impaired label naming a cast member (``JOHN: ...``); the
    characters of the script words the turn's words matched; being inside an aligned block. A turn
    with none of these is filled from its neighbours: a wordless fragment continues the speaker before
    it, and a subtitle line absent from the screenplay is given to the other party of the
    conversation (two turns of one cue, or a line between two blocks of one speaker, are different
    people). Those fills carry low confidences, so users who want only evidence filter on confidence.
    """
    cast_set = set(cast)
    votes: dict[tuple[int, int], Counter[str]] = defaultdict(Counter)
    for j, i in enumerate(b_to_a.tolist()):
        if i >= 0 and a_block[i] in block_span and els[a_block[i]].character:
            votes[(s_tokens[j].cue, s_tokens[j].turn)][els[a_block[i]].character] += 1
    inside: dict[tuple[int, int], str] = {}
    for e_idx, (j0, j1) in block_span.items():
        ch = els[e_idx].character
        for j in range(j0, j1 + 1):
            if ch and b_to_a[j] < 0:
                inside.setdefault((s_tokens[j].cue, s_tokens[j].turn), ch)
    n_words: Counter[tuple[int, int]] = Counter((t.cue, t.turn) for t in s_tokens)

    # First pass: evidence. keys: (cue, turn) in order.
    keys: list[tuple[int, int]] = []
    who: dict[tuple[int, int], tuple[str, float]] = {}
    for c in range(len(subs.cues)):
        for t_idx, turn in enumerate(cleaned[c][1]):
            key = (c, t_idx)
            keys.append(key)
            label = normalize_character(turn.label) if turn.label else None
            v = votes.get(key)
            if label and (label in cast_set or not v):
                who[key] = (label, 1.0 if label in cast_set else 0.5)
            elif v:
                name, n = v.most_common(1)[0]
                who[key] = (name, n / max(1, n_words[key]))
            elif key in inside:
                who[key] = (inside[key], CONF_INSIDE)

    # Second pass: fill the rest from the neighbours.
    known = [k for k in keys if k in who]
    pos = {k: n for n, k in enumerate(keys)}
    known_pos = [pos[k] for k in known]
    import bisect

    for key in keys:
        if key in who:
            continue
        p = pos[key]
        b = bisect.bisect_left(known_pos, p)
        prev = who[known[b - 1]][0] if b > 0 else None
        nxt = who[known[b]][0] if b < len(known) else None
        c = key[0]
        # Only fill inside a conversation: known speakers on both sides, close in time.
        t_prev = subs.cues[known[b - 1][0]].end if b > 0 else -1e9
        t_next = subs.cues[known[b][0]].start if b < len(known) else 1e9
        if subs.cues[c].start - t_prev > GUESS_WINDOW_S or t_next - subs.cues[c].end > GUESS_WINDOW_S:
            continue
        same_cue = {who[(c, t)][0] for t in range(len(cleaned[c][1])) if (c, t) in who}
        if n_words[key] == 0 and prev is not None and prev not in same_cue:
            who[key] = (prev, CONF_CONTINUED)
            continue
        # The other party: the most frequent nearby speaker who is neither neighbour nor in this cue.
        lo, hi = max(0, b - 8), min(len(known), b + 8)
        nearby = Counter(who[known[q]][0] for q in range(lo, hi))
        exclude = same_cue | ({prev} if prev == nxt or not same_cue else set()) | {None}
        for name, _ in nearby.most_common():
            if name not in exclude:
                who[key] = (name, CONF_GUESS)
                break

    out: list[dict[str, Any]] = []
    attributed = 0
    for c, cue in enumerate(subs.cues):
        text, turns = cleaned[c]
        speakers: list[str] = []
        confs: list[float] = []
        turn_rows: list[dict[str, Any]] = []
        for t_idx, turn in enumerate(turns):
            name, conf = who.get((c, t_idx), (None, 0.0))
            turn_rows.append({"text": turn.text, "speaker": name, "confidence": round(conf, 3)})
            if name is None:
                continue
            if speakers and speakers[-1] == name:
                confs[-1] = max(confs[-1], conf)
                continue
            speakers.append(name)
            confs.append(conf)
        attributed += bool(speakers)
        # "raw" keeps what the subtitle showed (sound descriptions, lyrics) for the SRT/VTT exports.
        out.append({"index": cue.index, "start": _round(cue.start), "end": _round(cue.end), "text": text,
                    "speakers": speakers, "confidence": round(min(confs), 3) if confs else 0.0, "line": cue.line,
                    "turns": turn_rows, "raw": "\n".join(cue.lines)})
    return out, attributed


def _extend(j: int, unmatched: int, step: int, tokens: list[_SubToken], b_to_a: np.ndarray) -> tuple[int, int]:
    """Move from a block's first (last) matched subtitle word over as many unmatched words as the block has
    unmatched words before (after) it, staying in the same cue turn: those are the block's reworded words.
    Returns the new position and how many of the block's words found no subtitle word to stand on."""
    cue, turn = tokens[j].cue, tokens[j].turn
    left = unmatched
    while left:
        k = j + step
        if k < 0 or k >= len(tokens) or b_to_a[k] >= 0 or tokens[k].cue != cue or tokens[k].turn != turn:
            break
        j = k
        left -= 1
    return j, left


def _interpolate(records: list[dict[str, Any]], subs: SubtitleFile) -> None:
    """Non-dialogue elements (and abstained dialogue stays null): between the aligned neighbours."""
    film_end = max((c.end for c in subs.cues), default=0.0)
    prev_end = 0.0
    nexts: list[float | None] = [None] * len(records)
    nxt: float | None = None
    for k in range(len(records) - 1, -1, -1):
        nexts[k] = nxt
        r = records[k]
        if r["type"] == "dialogue" and r["aligned"]:
            nxt = r["start"]
    for k, r in enumerate(records):
        if r["type"] == "dialogue":
            if r["aligned"]:
                prev_end = r["end"]
            continue
        end = nexts[k] if nexts[k] is not None else film_end
        r["start"] = _round(min(prev_end, end))
        r["end"] = _round(end)
        r["interpolated"] = True


def align_files(script_path: str | os.PathLike[str], subs_path: str | os.PathLike[str],
                options: AlignOptions | None = None) -> AlignResult:
    """Read both files (any supported format and encoding) and align them."""
    from wsl.text.screenplay import read_screenplay
    from wsl.text.subtitles import read_subtitles

    return align(read_screenplay(script_path), read_subtitles(subs_path), options)
