"""Benchmark of `wsl align`: speed of the anchored alignment against a plain full-matrix DP, and both accuracies.

The "film" is four TBBT fixture episodes joined end to end (about 1,500 cues and 1,000 dialogue
blocks, with gold starts and speakers), from ../shared/data; without it, the shipped example is used.
Also times the three real films. Prints one JSON line. spaCy is not involved (no --labels).

    python benchmarks/bench_align.py [--episodes 4]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace
from pathlib import Path

from wsl.alignment import AlignOptions, align
from wsl.eval.align import evaluate_alignment
from wsl.text.screenplay import Screenplay, read_screenplay
from wsl.text.subtitles import SubtitleFile, read_subtitles

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def joined_episodes(n: int) -> tuple[Screenplay, SubtitleFile, dict]:
    """n episodes as one long film: times, cue numbers and script lines shifted past the previous one."""
    folder = SHARED / "tbbt-season1" / "aligned-fixture"
    elements, cues, blocks, gold_cues = [], [], [], []
    t0, line0, idx0 = 0.0, 0, 0
    for gold_path in sorted(folder.glob("*.gold.json"))[:n]:
        ep = gold_path.name.split(".")[0]
        sp = read_screenplay(folder / f"{ep}.screenplay.txt")
        subs = read_subtitles(folder / f"{ep}.srt")
        gold = json.loads(gold_path.read_text())
        elements += [replace(e, line=e.line + line0) for e in sp.elements]
        cues += [replace(c, index=c.index + idx0, start=c.start + t0, end=c.end + t0) for c in subs.cues]
        for b in gold["blocks"]:
            blocks.append({**b, "script_line": b["script_line"] + line0,
                           "start": None if b["start"] is None else b["start"] + t0})
        gold_cues += [{**c, "index": c["index"] + idx0} for c in gold["cues"]]
        t0 = max(c.end for c in cues) + 30.0
        line0 = max(e.line for e in elements) + 10
        idx0 = max(c.index for c in cues)
    return (Screenplay(tuple(elements), "text", "utf-8", "joined"), SubtitleFile(tuple(cues), "utf-8", "srt", "joined"),
            {"blocks": blocks, "cues": gold_cues})


def timed(fn, repeat: int = 3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=4)
    args = ap.parse_args()
    if (SHARED / "tbbt-season1").is_dir():
        sp, subs, gold = joined_episodes(args.episodes)
        source = f"tbbt-season1 S01E01-S01E{args.episodes:02d} joined"
    else:
        ex = ROOT / "examples" / "align"
        sp, subs = read_screenplay(ex / "lighthouse.txt"), read_subtitles(ex / "lighthouse.srt")
        gold = json.loads((ex / "lighthouse.gold.json").read_text())
        source = "examples/align/lighthouse (no shared data)"
    fast_s, fast = timed(lambda: align(sp, subs))
    full_s, full = timed(lambda: align(sp, subs, AlignOptions(full_matrix=True)), repeat=1)
    m_fast = evaluate_alignment(fast.to_dict(), gold)
    m_full = evaluate_alignment(full.to_dict(), gold)
    keys = ("share_within_1s", "share_within_2s", "share_absent_abstained", "speaker_accuracy")
    films = {}
    for name in ("The Assignment", "birthday_girl", "mission_impossible"):
        folder = SHARED / "screenplays"
        if (folder / f"{name}.txt").exists():
            t_read, (fsp, fsub) = timed(lambda n=name, f=folder: (read_screenplay(f / f"{n}.txt"),
                                                                  read_subtitles(f / f"{n}.srt")), 1)
            t_align, res = timed(lambda a=fsp, b=fsub: align(a, b))
            s = res.summary
            films[name] = {"cues": len(fsub.cues), "dialogue_blocks": len(fsp.dialogue), "read_s": round(t_read, 3),
                           "align_s": round(t_align, 3), "share_dialogue_aligned": s["share_dialogue_aligned"],
                           "share_cues_attributed": s["share_cues_attributed"]}
    print(json.dumps({
        "benchmark": "align", "input": source, "cues": len(subs.cues), "dialogue_blocks": len(sp.dialogue),
        "words": {"script": fast.summary["words"]["screenplay"], "subtitles": fast.summary["words"]["subtitles"]},
        "anchored_s": round(fast_s, 3), "full_matrix_s": round(full_s, 3), "speedup": round(full_s / fast_s, 1),
        "dp_cells": {"anchored": fast.summary["words"]["dp_cells"], "full_matrix": full.summary["words"]["dp_cells"]},
        "anchored": {k: m_fast[k] for k in keys}, "full_matrix": {k: m_full[k] for k in keys},
        "films": films, "machine": f"{platform.machine()} {platform.system()}, Python {platform.python_version()}",
    }))


if __name__ == "__main__":
    main()
