"""Print a fixed sample of aligned blocks per film, script text beside the subtitles at the aligned times,
so that the hand check of docs/benchmarks.md (right place? sensible span?) can be redone.

For each film in ../shared/data/screenplays (X.txt + X.srt), aligns with this tree (and, with --old DIR,
with the code checked out there, e.g. `git worktree add /tmp/old 7946266`), draws 30 aligned dialogue
blocks with a fixed seed from each result, and prints for each: the script line and text, the aligned
interval and span length, and the subtitle cues overlapping that interval. `overlap` is the share of the
block's words found in those cues: a hint for the reader, not the verdict.

    python benchmarks/align_hand_check.py [--old /tmp/old] [--n 30] [--seed 0] [--film mission_impossible]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from wsl.text.normalize import tokenize

ROOT = Path(__file__).resolve().parents[1]
FILMS = ROOT.parent / "shared" / "data" / "screenplays"
RUN_CLI = "import sys; from wsl.cli.app import main; sys.argv[0] = 'wsl'; main()"


def _align(script: Path, subs: Path, tree: str | None) -> dict[str, Any]:
    out = Path(tempfile.mkdtemp()) / "out.json"
    env = dict(os.environ, PYTHONPATH=tree) if tree else None
    # `python -c` puts the working folder first on sys.path: run inside the tree whose code is wanted.
    subprocess.run([sys.executable, "-c", RUN_CLI, "-q", "align", str(script), str(subs), "-o", str(out)],
                   env=env, check=True, cwd=tree or ROOT)
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def sample(result: dict[str, Any], n: int, seed: int) -> list[dict[str, Any]]:
    aligned = [e for e in result["elements"] if e["type"] == "dialogue" and e.get("aligned")]
    picked = random.Random(seed).sample(aligned, min(n, len(aligned)))
    return sorted(picked, key=lambda e: e["script_line"])


def show(e: dict[str, Any], cues: list[dict[str, Any]]) -> str:
    near = [c for c in cues if c.get("start") is not None and c["end"] > e["start"] - 0.05
            and c["start"] < e["end"] + 0.05]
    words = [t.norm for t in tokenize(e["text"])]
    said = {t.norm for c in near for t in tokenize(c.get("text") or "")}
    overlap = sum(w in said for w in words) / max(1, len(words))
    span = f"[{e['start']:.1f}-{e['end']:.1f}, {e['end'] - e['start']:.1f} s]"
    lines = [f"L{e['script_line']} {e.get('character')} {span} overlap {overlap:.2f}", f"  SCRIPT: {e['text'][:300]}"]
    lines += [f"  SUB {c['index']} {c['start']:.1f}-{c['end']:.1f}: {(c.get('text') or '')[:150]}" for c in near[:8]]
    if len(near) > 8:
        lines.append(f"  ... {len(near) - 8} more cues")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", default=None, help="a checkout of the code to compare with (PYTHONPATH)")
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--film", default=None)
    args = ap.parse_args()
    films = sorted(p.stem for p in FILMS.glob("*.srt") if args.film in (None, p.stem))
    for film in films:
        for label, tree in (("old", args.old), ("new", None)):
            if label == "old" and not tree:
                continue
            res = _align(FILMS / f"{film}.txt", FILMS / f"{film}.srt", tree)
            picked = sample(res, args.n, args.seed)
            n_aligned = sum(1 for e in res["elements"] if e["type"] == "dialogue" and e.get("aligned"))
            print(f"===== {film} ({label}): {n_aligned} blocks aligned; sample of {len(picked)}, seed {args.seed}")
            for k, e in enumerate(picked, 1):
                print(f"[{label} {k}] " + show(e, res["cues"]))
            print()


if __name__ == "__main__":
    main()
