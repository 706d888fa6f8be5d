"""Screenplay <-> subtitle alignment (Everingham et al. 2006, Laptev et al. 2008).

The screenplay's dialogue words are aligned with the subtitle words (`wsl.text.wordalign`). The
matches first decide the verdict (`verdict`: the film, a draft of it, or another film). Matched
words then carry time to the screenplay and speakers to the subtitles. Each dialogue block gets an
interval from the cues its words matched (`spans`) and a confidence (the share of its words
matched); blocks under ``min_confidence`` are abstained on, because a scene cut from the film must
not be guessed. Their matches are released, and a second pass looks for scenes the film moved.
Scene headings and action get the interval between their aligned neighbours. With ``draft``, only
blocks on long runs of consecutive matches are aligned: for a draft a wrong time is worse than none.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from wsl.alignment.gaps import TurnSlot, attach_leading, fill_gaps, turn_slots
from wsl.alignment.options import AlignOptions
from wsl.alignment.spans import BlockSpan, SubToken, block_span, interpolate, trim_edges
from wsl.alignment.speakers import cue_speakers
from wsl.alignment.verdict import Verdict, judge, refuse
from wsl.text.normalize import tokenize
from wsl.text.screenplay import Element, Screenplay
from wsl.text.subtitles import SubtitleFile, Turn, cue_turns
from wsl.text.wordalign import align_full, align_words, run_lengths, words_in_runs

__all__ = ["AlignResult", "align_parsed"]


@dataclass(frozen=True)
class AlignResult:
    """An aligned script: element and cue records (the JSON of docs/formats.md), a summary, the
    verdict; ``bags``/``actions`` when weak labels were asked for (`with_labels` returns a new result)."""

    elements: tuple[dict[str, Any], ...]
    cues: tuple[dict[str, Any], ...]
    summary: dict[str, Any]
    cast: tuple[str, ...] = ()
    verdict: Verdict | None = None
    bags: tuple[dict[str, Any], ...] | None = None
    actions: tuple[dict[str, Any], ...] | None = None

    @property
    def dialogue(self) -> list[dict[str, Any]]:
        return [e for e in self.elements if e["type"] == "dialogue"]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"summary": self.summary, "elements": list(self.elements), "cues": list(self.cues)}
        if self.bags is not None:
            out["bags"] = list(self.bags)
        if self.actions is not None:
            out["actions"] = list(self.actions)
        return out


class _Tokens:
    """The two word sequences: script dialogue words (with their block) and subtitle words (with time)."""

    def __init__(self, els: list[Element], subs: SubtitleFile) -> None:
        self.a_words: list[str] = []
        self.a_block: list[int] = []
        self.blocks: dict[int, tuple[int, int]] = {}  # element -> [lo, hi) in a_words
        for e_idx, e in enumerate(els):
            if e.type != "dialogue":
                continue
            toks = tokenize(e.text)
            self.blocks[e_idx] = (len(self.a_words), len(self.a_words) + len(toks))
            self.a_words.extend(t.norm for t in toks)
            self.a_block.extend([e_idx] * len(toks))
        self.subs: list[SubToken] = []
        self.cleaned: list[tuple[str, list[Turn]]] = []
        for c, cue in enumerate(subs.cues):
            text, turns = cue_turns(cue)
            self.cleaned.append((text, turns))
            if not text:
                continue
            dur = max(cue.end - cue.start, 0.0)
            offsets = [t.offset for t in turns]
            for tok in tokenize(text):
                turn = max(0, sum(1 for o in offsets if o <= tok.start) - 1)
                self.subs.append(SubToken(tok.norm, c, turn, cue.start + dur * tok.start / len(text),
                                          cue.start + dur * tok.end / len(text)))
        self.b_words = [t.norm for t in self.subs]


def _share(a_to_b: np.ndarray, lo: int, hi: int) -> float:
    return float((a_to_b[lo:hi] >= 0).sum()) / max(1, hi - lo)


def _draft_backed(a_to_b: np.ndarray, lo: int, hi: int, opt: AlignOptions) -> bool:
    """With ``draft``: does block [lo, hi) stand on a long run of consecutive matches?"""
    idx = lo + np.flatnonzero(a_to_b[lo:hi] >= 0)
    if not len(idx):
        return False
    pairs = np.stack([idx, a_to_b[idx]], axis=1)
    longest = int(run_lengths(pairs).max())
    rules = opt.spans
    return longest >= rules.draft_min_run or (longest == hi - lo >= rules.draft_min_words)


def _release(blocks: dict[int, tuple[int, int]], a_to_b: np.ndarray, b_to_a: np.ndarray,
             keep: Any) -> None:
    """Free the subtitle words held by blocks that will be abstained on (``keep(lo, hi)`` is False)."""
    for lo, hi in blocks.values():
        if not keep(lo, hi):
            held = a_to_b[lo:hi]
            b_to_a[held[held >= 0]] = -1
            a_to_b[lo:hi] = -1


def _rescue_reordered(blocks: dict[int, tuple[int, int]], a_words: list[str], b_words: list[str],
                      a_to_b: np.ndarray, b_to_a: np.ndarray, opt: AlignOptions) -> set[int]:
    """Second pass for scenes the film plays in another order than the script (editing moves scenes).

    The monotone pass leaves such a scene unmatched. The words of the blocks it left unaligned are
    aligned once more with the subtitle words nobody holds. A run of consecutive unaligned blocks is
    accepted only when its new matches come in runs of consecutive words (one shared "I'm sorry" proves
    nothing). Updates a_to_b/b_to_a in place; returns the blocks that were placed this way.
    """
    order = sorted(blocks)
    unaligned = [e for e in order if _share(a_to_b, *blocks[e]) < opt.min_confidence]
    a_idx = np.asarray([i for e in unaligned for i in range(*blocks[e]) if a_to_b[i] < 0], dtype=np.int64)
    b_idx = np.flatnonzero(b_to_a < 0)
    if len(a_idx) < 4 or len(b_idx) < 4:
        return set()
    # Smaller DP budget than the first pass: only runs of consecutive words are kept here anyway.
    wa = align_words([a_words[i] for i in a_idx], [b_words[j] for j in b_idx], opt.scoring, max_cells=250_000)
    if not len(wa.pairs):
        return set()
    new = np.stack([a_idx[wa.pairs[:, 0]], b_idx[wa.pairs[:, 1]]], axis=1)
    pos = {e: k for k, e in enumerate(order)}
    groups: list[list[int]] = []  # consecutive unaligned blocks (a scene, usually), judged as a whole
    for e in unaligned:
        if groups and pos[e] == pos[groups[-1][-1]] + 1:
            groups[-1].append(e)
        else:
            groups.append([e])
    placed: set[int] = set()
    for group in groups:
        lo, hi = blocks[group[0]][0], blocks[group[-1]][1]
        sel = new[(new[:, 0] >= lo) & (new[:, 0] < hi)]
        if words_in_runs(sel, 3) < 6 or words_in_runs(sel, 3) < 0.5 * len(sel):
            continue
        for e in group:
            blo, bhi = blocks[e]
            mine = sel[(sel[:, 0] >= blo) & (sel[:, 0] < bhi)]
            if not len(mine):
                continue
            # Each block on its own: consecutive words, packed in a stretch of subtitles its own size.
            n = bhi - blo
            packed = mine[-1, 1] - mine[0, 1] + 1 <= 2 * n + 4
            if not packed or words_in_runs(mine, min(3, n)) < min(3, n):
                continue
            old = a_to_b[blo:bhi]
            b_to_a[old[old >= 0]] = -1
            a_to_b[blo:bhi] = -1
            a_to_b[mine[:, 0]] = mine[:, 1]
            b_to_a[mine[:, 1]] = mine[:, 0]
            if _share(a_to_b, blo, bhi) >= opt.min_confidence:
                placed.add(e)
    return placed


def _element_record(e: Element) -> dict[str, Any]:
    rec: dict[str, Any] = {"type": e.type, "text": e.text, "character": e.character, "script_line": e.line,
                           "start": None, "end": None, "aligned": False, "confidence": 0.0, "cues": []}
    if e.extension:
        rec["extension"] = e.extension
    if e.parentheticals:
        rec["parentheticals"] = list(e.parentheticals)
    if e.page is not None:
        rec["page"] = e.page
    if e.dual:
        rec["dual"] = True
    return rec


def _skipped_cue_rows(subs: SubtitleFile) -> list[dict[str, Any]]:
    """Cues skipped as broken, kept with their text (exports write them back); placed by their line."""
    rows: list[dict[str, Any]] = []
    for b in subs.broken:
        rows.append({"index": None, "start": None if b.start is None else round(b.start, 3),
                     "end": None if b.end is None else round(b.end, 3), "text": " ".join(b.lines),
                     "speakers": [], "confidence": 0.0, "line": b.line, "turns": [], "raw": "\n".join(b.lines),
                     "skipped": b.reason})
    return rows


def align_parsed(screenplay: Screenplay, subs: SubtitleFile, options: AlignOptions | None = None) -> AlignResult:
    """Align a parsed screenplay with parsed subtitles.

    Raises BadInput when the pair does not match (another film), or when the screenplay is a draft
    of the film and ``options.draft`` is off.
    """
    opt = options or AlignOptions()
    opt.check()
    els = list(screenplay.elements)
    tk = _Tokens(els, subs)
    wa = (align_full if opt.full_matrix else align_words)(tk.a_words, tk.b_words, opt.scoring)
    verdict = judge(wa.pairs, len(tk.a_words), len(tk.b_words), opt.verdict)
    refuse(verdict, opt.draft, screenplay.path, subs.path)

    a_to_b = np.full(len(tk.a_words), -1, dtype=np.int64)
    b_to_a = np.full(len(tk.b_words), -1, dtype=np.int64)
    if len(wa.pairs):
        a_to_b[wa.pairs[:, 0]] = wa.pairs[:, 1]
        b_to_a[wa.pairs[:, 1]] = wa.pairs[:, 0]

    trimmed = sum(trim_edges(a_to_b, b_to_a, lo, hi, tk.subs, opt.spans.edge_gap_s) for lo, hi in tk.blocks.values())

    def keep(lo: int, hi: int) -> bool:
        ok = _share(a_to_b, lo, hi) >= opt.min_confidence
        return ok and (not opt.draft or _draft_backed(a_to_b, lo, hi, opt))

    _release(tk.blocks, a_to_b, b_to_a, keep)
    reordered: set[int] = set()
    if opt.reorder and not opt.draft:
        reordered = _rescue_reordered(tk.blocks, tk.a_words, tk.b_words, a_to_b, b_to_a, opt)
        for moved in reordered:
            trimmed += trim_edges(a_to_b, b_to_a, *tk.blocks[moved], tk.subs, opt.spans.edge_gap_s)

    placed: dict[int, TurnSlot] = {}
    leading: dict[int, TurnSlot] = {}
    slots = turn_slots(subs, tk.cleaned, tk.subs)
    if opt.gap_fill and not opt.draft:
        # Moved scenes are out of the script's order: neither neighbours nor candidates.
        in_order = {e: r for e, r in tk.blocks.items() if e not in reordered}
        kept = {e for e, (lo, hi) in in_order.items() if keep(lo, hi)}
        placed = fill_gaps(in_order, kept, tk.a_words, tk.b_words, a_to_b, b_to_a, slots,
                           opt.spans.max_unheard_words)
        leading = attach_leading(in_order, kept, tk.a_words, tk.b_words, a_to_b, b_to_a, slots,
                                 {(s.cue, s.turn) for s in placed.values()}, opt.spans.leading_gap_s)

    records: list[dict[str, Any]] = []
    spans: dict[int, BlockSpan] = {}
    prev_end = 0.0
    for e_idx, e in enumerate(els):
        rec = _element_record(e)
        records.append(rec)
        if e.type != "dialogue":
            continue
        lo, hi = tk.blocks[e_idx]
        matched = int((a_to_b[lo:hi] >= 0).sum())
        rec.update(confidence=round(matched / max(1, hi - lo), 3), matched_words=matched, words=hi - lo)
        slot = placed.get(e_idx)
        if slot is None and (not matched or not keep(lo, hi)):
            continue
        if slot is not None and not matched:  # a turn with no words left: the turn's own time
            cue = subs.cues[slot.cue]
            span = BlockSpan(slot.lo, slot.lo - 1, slot.t0, slot.t1, cue.start, cue.end)
        else:
            span = block_span(a_to_b, b_to_a, lo, hi, tk.subs, subs, prev_end, opt.spans)
        spans[e_idx] = span
        prev_end = span.end
        rec.update(start=round(span.start, 3), end=round(span.end, 3), cue_start=round(span.cue_start, 3),
                   cue_end=round(span.cue_end, 3), aligned=True,
                   cues=sorted({subs.cues[tk.subs[j].cue].index for j in range(span.first, span.last + 1)}))
        if slot is not None:
            rec["cues"] = sorted(set(rec["cues"]) | {subs.cues[slot.cue].index})
            rec["by_order"] = True
        lead_slot = leading.get(e_idx)
        if lead_slot is not None and lead_slot.t0 < span.start:  # its first words, in a turn of their own
            cue = subs.cues[lead_slot.cue]
            rec.update(start=round(lead_slot.t0, 3), cue_start=round(min(span.cue_start, cue.start), 3),
                       cues=sorted(set(rec["cues"]) | {cue.index}))
            span = replace(span, start=lead_slot.t0, cue_start=min(span.cue_start, cue.start))
            spans[e_idx] = span
        if e_idx in reordered:
            rec["reordered"] = True
    interpolate(records, max((c.end for c in subs.cues), default=0.0))

    cast = screenplay.cast
    by_order = {(s.cue, s.turn): ch for e, s in (*placed.items(), *leading.items()) if (ch := els[e].character)}
    cues = cue_speakers(els, subs, tk.cleaned, tk.subs, tk.a_block, b_to_a, spans, cast, opt.speakers,
                        opt.min_speaker_confidence, by_order)
    attributed = sum(1 for c in cues if c["speakers"])
    skipped = _skipped_cue_rows(subs)
    if skipped:  # back in file order, so exports write them where they were
        cues = sorted(cues + skipped, key=lambda c: c["line"])
    dialogue = [r for r in records if r["type"] == "dialogue"]
    n_aligned = sum(1 for r in dialogue if r["aligned"])
    n_cues = len(subs.cues)
    summary = {
        "screenplay": screenplay.path, "subtitles": subs.path,
        "formats": {"screenplay": screenplay.format, "subtitles": subs.format},
        "encodings": {"screenplay": screenplay.encoding, "subtitles": subs.encoding},
        "layout": screenplay.layout, "verdict": verdict.kind, "draft": opt.draft,
        "elements": dict(Counter(r["type"] for r in records)),
        "dialogue_blocks": len(dialogue), "dialogue_aligned": n_aligned,
        "share_dialogue_aligned": round(n_aligned / max(1, len(dialogue)), 4),
        "cues": n_cues, "cues_attributed": attributed,
        "share_cues_attributed": round(attributed / max(1, n_cues), 4),
        "words": {"screenplay": len(tk.a_words), "subtitles": len(tk.b_words), "matched": int(len(wa.pairs)),
                  "share_in_runs": verdict.share_in_runs, "runs_of_6": verdict.long_runs,
                  "edge_matches_trimmed": trimmed, "placed_by_order": len(placed), "leading_turns": len(leading),
                  "anchors": wa.anchors,
                  "dp_cells": wa.cells},
        "skipped_cues": [{"line": ln, "reason": why} for ln, why in subs.skipped],
        "min_confidence": opt.min_confidence, "min_speaker_confidence": opt.min_speaker_confidence,
        "cast": cast,
    }
    return AlignResult(tuple(records), tuple(cues), summary, tuple(cast), verdict)


def read_pair(script: str | os.PathLike[str] | Screenplay, subs: str | os.PathLike[str] | SubtitleFile,
              script_format: str | None = None) -> tuple[Screenplay, SubtitleFile]:
    """Read both inputs (paths in any supported format and encoding, or already parsed)."""
    from wsl.text.screenplay import read_screenplay
    from wsl.text.subtitles import read_subtitles

    sp = script if isinstance(script, Screenplay) else read_screenplay(script, script_format)
    sub = subs if isinstance(subs, SubtitleFile) else read_subtitles(subs)
    return sp, sub
