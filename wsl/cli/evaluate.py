"""`wsl eval TASK PREDICTIONS GOLD`: score saved predictions; metrics JSON on stdout or -o, a table on stderr."""

from __future__ import annotations

from wsl.cli._collect import collect_evaluations, group

app = group("Score predictions against ground truth: metrics as JSON on stdout (or -o), a table on stderr.")
collect_evaluations(app)
