"""Whole-process CPU time of `wsl align` on a feature film, against bare Python and the pre-redesign code.

Runs, interleaved and repeated: `python -c pass` (the floor), `python -c "import numpy"` (what the
alignment cannot do without), `wsl -q align SCRIPT SUBS -o OUT` with this tree, and the same command
with the code of commit 7946266 (before the redesign; check it out first with
`git worktree add /tmp/old 7946266`, or pass --old DIR; skipped when absent). CPU is user + system
time of the child process (resource.getrusage), medians over the repeats. Prints one JSON line with the
ratios against bare Python and against the old code.

    python benchmarks/bench_align_startup.py [--film mission_impossible] [--repeat 7] [--old /tmp/old]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

FILMS = Path(__file__).resolve().parents[2] / "shared" / "data" / "screenplays"
RUN_CLI = "import sys; from wsl.cli.app import main; sys.argv[0] = 'wsl'; main()"


def _cpu(cmd: list[str], env: dict[str, str] | None = None) -> float:
    # `python -c` puts the working folder first on sys.path: run inside the tree whose code is wanted.
    cwd = env["PYTHONPATH"] if env else str(Path(__file__).resolve().parents[1])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--film", default="mission_impossible")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--old", default="/tmp/old")
    args = ap.parse_args()
    script, subs = FILMS / f"{args.film}.txt", FILMS / f"{args.film}.srt"
    out = Path(tempfile.mkdtemp()) / "out.json"
    align_args = ["-q", "align", str(script), str(subs), "-o", str(out)]
    runs: dict[str, tuple[list[str], dict[str, str] | None]] = {
        "python_pass": ([sys.executable, "-c", "pass"], None),
        "import_numpy": ([sys.executable, "-c", "import numpy"], None),
        "wsl_align": ([sys.executable, "-c", RUN_CLI, *align_args], None),
    }
    old = Path(args.old)
    if (old / "wsl" / "cli" / "app.py").exists():
        env = dict(os.environ, PYTHONPATH=str(old))
        runs["old_wsl_align"] = ([sys.executable, "-c", RUN_CLI, *align_args], env)
    times: dict[str, list[float]] = {k: [] for k in runs}
    for cmd, env in runs.values():  # warm the file cache
        _cpu(cmd, env)
    for _ in range(args.repeat):
        for k, (cmd, env) in runs.items():
            times[k].append(_cpu(cmd, env))
    med = {f"{k}_cpu_s": round(statistics.median(v), 3) for k, v in times.items()}
    res: dict[str, object] = {"film": args.film, "cues": json.loads(out.read_text())["summary"]["cues"],
                              "repeat": args.repeat, **med}
    res["align_over_python"] = round(med["wsl_align_cpu_s"] / med["python_pass_cpu_s"], 1)
    if "old_wsl_align_cpu_s" in med:
        res["align_over_old"] = round(med["wsl_align_cpu_s"] / med["old_wsl_align_cpu_s"], 3)
    res["load_average"] = round(os.getloadavg()[0], 1)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
