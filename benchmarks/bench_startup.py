"""Start-up time of the CLI in shell loops: `wsl --help` against bare Python and against importing torch.

Prints one JSON line: median seconds over repeated runs, and the ratios to the bare-Python baseline.
Run: python benchmarks/bench_startup.py
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time


def _median_seconds(cmd: list[str], repeat: int = 7) -> float:
    subprocess.run(cmd, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    wsl = shutil.which("wsl") or sys.exit("wsl is not installed in this environment")
    python = _median_seconds([sys.executable, "-c", "pass"])
    figures = {
        "python_s": python,
        "wsl_help_s": _median_seconds([wsl, "--help"]),
        "wsl_version_s": _median_seconds([wsl, "--version"]),
        "wsl_features_help_s": _median_seconds([wsl, "features", "extract", "--help"]),
        "import_torch_s": _median_seconds([sys.executable, "-c", "import torch"]),
    }
    figures["help_over_python"] = figures["wsl_help_s"] / python
    figures["torch_import_over_help"] = figures["import_torch_s"] / figures["wsl_help_s"]
    print(json.dumps({k: round(v, 4) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
