"""Speakers of each subtitle cue turn, with a confidence and the evidence behind it.

Evidence, strongest first: a hearing-impaired label naming a cast member (``JOHN: ...``, evidence
``label``); the characters of the script words the turn's words matched (``words``, confidence = the
share of the turn's words that voted for the winner); being inside an aligned block's words
(``inside``). A turn with none of these is filled from its neighbours inside a conversation: a
wordless fragment continues the speaker before it (``continued``), and a line absent from the
screenplay goes to the other party of the conversation (``guess``). The fills carry the confidences
of `SpeakerRules`, calibrated as the share of such fills that gold confirms; turns under
``min_confidence`` are left without a speaker.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from typing import Any

import numpy as np

from wsl.alignment.options import SpeakerRules
from wsl.alignment.spans import BlockSpan, SubToken
from wsl.text.screenplay import Element, normalize_character
from wsl.text.subtitles import SubtitleFile, Turn

__all__ = ["cue_speakers"]

_WORD = re.compile(r"[^\W\d_]+")
Key = tuple[int, int]  # (cue position, turn)
Who = tuple[str, float, str]  # (speaker, confidence, evidence)


class _Evidence:
    """The word evidence for every turn: votes of matched words, and turns inside aligned blocks."""

    def __init__(self, els: list[Element], tokens: list[SubToken], a_block: list[int], b_to_a: np.ndarray,
                 spans: dict[int, BlockSpan]) -> None:
        self.votes: dict[Key, Counter[str]] = defaultdict(Counter)
        for j, i in enumerate(b_to_a.tolist()):
            if i >= 0 and a_block[i] in spans and els[a_block[i]].character:
                self.votes[(tokens[j].cue, tokens[j].turn)][els[a_block[i]].character] += 1
        self.inside: dict[Key, str] = {}
        for e_idx, span in spans.items():
            ch = els[e_idx].character
            for j in range(span.first, span.last + 1):
                if ch and b_to_a[j] < 0:
                    self.inside.setdefault((tokens[j].cue, tokens[j].turn), ch)
        self.n_words: Counter[Key] = Counter((t.cue, t.turn) for t in tokens)


def _first_pass(turns: list[list[Turn]], ev: _Evidence, cast: set[str], rules: SpeakerRules,
                by_order: dict[Key, str]) -> tuple[list[Key], dict[Key, Who]]:
    keys: list[Key] = []
    who: dict[Key, Who] = {}
    for c, cue_turns in enumerate(turns):
        for t_idx, turn in enumerate(cue_turns):
            key = (c, t_idx)
            keys.append(key)
            label = normalize_character(turn.label) if turn.label else None
            v = ev.votes.get(key)
            if label and (label in cast or not v):
                who[key] = (label, 1.0 if label in cast else rules.unknown_label, "label")
            elif v:
                name, n = v.most_common(1)[0]
                who[key] = (name, n / max(1, ev.n_words[key]), "words")
            elif key in by_order:
                who[key] = (by_order[key], rules.by_order, "order")
            elif key in ev.inside:
                who[key] = (ev.inside[key], rules.inside, "inside")
    return keys, who


def _named(text: str, cast_words: dict[str, set[str]]) -> set[str | None]:
    """Cast members whose name (any word of it) the text mentions."""
    words = {w.upper() for w in _WORD.findall(text)}
    return {name for name, parts in cast_words.items() if parts & words}


def _fill(keys: list[Key], who: dict[Key, Who], turns: list[list[Turn]], ev: _Evidence, subs: SubtitleFile,
          rules: SpeakerRules, cast: set[str]) -> None:
    """Second pass: turns without evidence, inside a conversation (known speakers close on both sides)."""
    cast_words = {name: {w for w in name.split() if len(w) > 2} for name in cast}
    known = [k for k in keys if k in who]
    pos = {k: n for n, k in enumerate(keys)}
    known_pos = [pos[k] for k in known]
    for key in keys:
        if key in who:
            continue
        b = bisect.bisect_left(known_pos, pos[key])
        prev = who[known[b - 1]][0] if b > 0 else None
        nxt = who[known[b]][0] if b < len(known) else None
        c = key[0]
        t_prev = subs.cues[known[b - 1][0]].end if b > 0 else -1e9
        t_next = subs.cues[known[b][0]].start if b < len(known) else 1e9
        if subs.cues[c].start - t_prev > rules.guess_window_s or t_next - subs.cues[c].end > rules.guess_window_s:
            continue
        same_cue = {who[(c, t)][0] for t in range(len(turns[c])) if (c, t) in who}
        if ev.n_words[key] == 0 and prev is not None and prev not in same_cue:
            # Between two turns of one speaker a wordless fragment is theirs (TBBT: always); between
            # two speakers it is less sure.
            who[key] = (prev, rules.continued_same if prev == nxt else rules.continued, "continued")
            continue
        # The other party: the most frequent nearby speaker who is neither neighbour (on TBBT the line
        # missing from the script is by a neighbour 2-9% of the time), nor in this cue, nor named in
        # the line itself (a name in a line is the person spoken to).
        lo, hi = max(0, b - rules.nearby_turns), min(len(known), b + rules.nearby_turns)
        nearby = Counter(who[known[q]][0] for q in range(lo, hi))
        exclude = same_cue | {prev, nxt, None} | _named(turns[c][key[1]].text, cast_words)
        options = [name for name, _ in nearby.most_common() if name not in exclude]
        if options:
            conf = rules.guess if len(options) <= 2 else rules.guess_crowded
            who[key] = (options[0], conf, "guess")


def _cue_row(cue_index: int, c: int, text: str, turns: list[Turn], who: dict[Key, Who], min_conf: float
             ) -> dict[str, Any]:
    speakers: list[str] = []
    confs: list[float] = []
    rows: list[dict[str, Any]] = []
    for t_idx, turn in enumerate(turns):
        name, conf, kind = who.get((c, t_idx), (None, 0.0, None))
        if name is not None and conf < min_conf:
            name, conf, kind = None, 0.0, None
        rows.append({"text": turn.text, "speaker": name, "confidence": round(conf, 3), "evidence": kind})
        if name is None:
            continue
        if speakers and speakers[-1] == name:
            confs[-1] = max(confs[-1], conf)
            continue
        speakers.append(name)
        confs.append(conf)
    return {"speakers": speakers, "confidence": round(min(confs), 3) if confs else 0.0, "turns": rows}


def cue_speakers(els: list[Element], subs: SubtitleFile, cleaned: list[tuple[str, list[Turn]]],
                 tokens: list[SubToken], a_block: list[int], b_to_a: np.ndarray, spans: dict[int, BlockSpan],
                 cast: list[str], rules: SpeakerRules, min_confidence: float = 0.0,
                 by_order: dict[Key, str] | None = None) -> list[dict[str, Any]]:
    """One record per cue: index, times, cleaned text, speakers in order, per-turn speakers with
    confidence and evidence, the cue's source line and its raw text (for the SRT/VTT exports).
    ``by_order``: turns holding a block placed by the script's turn order (`gaps`) -> its character."""
    ev = _Evidence(els, tokens, a_block, b_to_a, spans)
    turns = [t for _, t in cleaned]
    keys, who = _first_pass(turns, ev, set(cast), rules, by_order or {})
    _fill(keys, who, turns, ev, subs, rules, set(cast))
    out = []
    for c, cue in enumerate(subs.cues):
        row = _cue_row(cue.index, c, cleaned[c][0], turns[c], who, min_confidence)
        out.append({"index": cue.index, "start": round(cue.start, 3), "end": round(cue.end, 3), "text": cleaned[c][0],
                    "speakers": row["speakers"], "confidence": row["confidence"], "line": cue.line,
                    "turns": row["turns"], "raw": "\n".join(cue.lines)})
    return out
