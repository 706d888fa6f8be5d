"""Benchmark of `wsl align --draft`: precision of the blocks it aligns on drafts made from TBBT episodes.

A draft is made from each fixture episode (seeded): every other scene is replaced by the dialogue of
another episode (lines the film never says), and in the kept scenes two lines in three are reworded
(every third word dropped, neighbours swapped); one in three is kept verbatim. Script lines are kept, so
the episode's gold scores the result: an aligned block is right when it is a line of the film and its
start is within 1 s of gold. Also reports the verdict without --draft and, as the baseline, the
precision of the normal mode forced onto the same drafts (``min_run_share=0``). Prints one JSON line.

    python benchmarks/bench_align_draft.py [--episodes 17]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import replace
from pathlib import Path

from wsl.alignment import AlignOptions, VerdictRules, align
from wsl.errors import BadInput
from wsl.text.screenplay import Element, Screenplay, read_screenplay

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "tbbt-season1" / "aligned-fixture"


def reword(text: str, rng: random.Random) -> str:
    words = text.split()
    kept = [w for k, w in enumerate(words) if k % 3 != 2]
    for k in range(0, len(kept) - 1, 4):
        if rng.random() < 0.5:
            kept[k], kept[k + 1] = kept[k + 1], kept[k]
    return " ".join(kept) or text


def make_draft(sp: Screenplay, donor: list[str], rng: random.Random) -> tuple[Screenplay, set[int]]:
    """The draft and the script lines of its replaced (absent from the film) blocks."""
    out: list[Element] = []
    replaced: set[int] = set()
    scene = 0
    for e in sp.elements:
        if e.type == "scene":
            scene += 1
        if e.type != "dialogue":
            out.append(e)
        elif scene % 2 == 1:
            out.append(replace(e, text=rng.choice(donor)))
            replaced.add(e.line)
        elif rng.random() < 2 / 3:
            out.append(replace(e, text=reword(e.text, rng)))
        else:
            out.append(e)
    return replace(sp, elements=tuple(out)), replaced


def score(result, gold: dict, replaced: set[int]) -> tuple[int, int]:
    starts = {b["script_line"]: b.get("start") for b in gold["blocks"]}
    aligned = right = 0
    for e in result.dialogue:
        if not e["aligned"]:
            continue
        aligned += 1
        g = starts.get(e["script_line"])
        right += int(e["script_line"] not in replaced and g is not None and abs(e["start"] - g) <= 1.0)
    return aligned, right


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=17)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    golds = sorted(SHARED.glob("*.gold.json"))[: args.episodes]
    eps = [g.name.split(".")[0] for g in golds]
    scripts = {ep: read_screenplay(SHARED / f"{ep}.screenplay.txt") for ep in eps}
    totals = {"draft": [0, 0], "forced_normal": [0, 0]}
    verdicts: dict[str, int] = {}
    in_film = 0
    t0 = time.perf_counter()
    for n, ep in enumerate(eps):
        rng = random.Random(args.seed * 1000 + n)
        other = eps[(n + 1) % len(eps)]
        donor = [e.text for e in scripts[other].dialogue]
        draft, replaced = make_draft(scripts[ep], donor, rng)
        gold = json.loads((SHARED / f"{ep}.gold.json").read_text())
        in_film += sum(1 for b in gold["blocks"] if b.get("start") is not None and b["script_line"] not in replaced)
        subs = SHARED / f"{ep}.srt"
        try:
            align(draft, subs)
            verdicts["film"] = verdicts.get("film", 0) + 1
        except BadInput as e:
            kind = "draft" if e.param == "draft" else "other"
            verdicts[kind] = verdicts.get(kind, 0) + 1
        for mode, opt in (("draft", AlignOptions(draft=True)),
                          ("forced_normal", AlignOptions(verdict=VerdictRules(min_run_share=0.0, min_long_runs=0)))):
            try:
                a, r = score(align(draft, subs, opt), gold, replaced)
            except BadInput:  # too little survives even for --draft: nothing aligned, nothing wrong
                a, r = 0, 0
                verdicts[f"refused_with_{mode}"] = verdicts.get(f"refused_with_{mode}", 0) + 1
            totals[mode][0] += a
            totals[mode][1] += r
    res = {mode: {"aligned": a, "right": r, "precision": round(r / a, 4) if a else None,
                  "recall_of_film_lines": round(r / max(1, in_film), 4)} for mode, (a, r) in totals.items()}
    print(json.dumps({"benchmark": "align_draft", "episodes": len(eps), "verdict_without_draft": verdicts,
                      "draft": res["draft"], "baseline_normal_mode_forced": res["forced_normal"],
                      "precision_ratio_vs_baseline": round(res["draft"]["precision"] /
                                                           max(1e-9, res["forced_normal"]["precision"] or 1e-9), 3),
                      "seconds": round(time.perf_counter() - t0, 1)}))


if __name__ == "__main__":
    main()
