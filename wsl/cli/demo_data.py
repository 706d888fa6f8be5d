"""`wsl demo-data KIND DIR`: small sample inputs for every command, generated or built from real annotations."""

from __future__ import annotations

from wsl.cli._collect import collect_demos, group

app = group("Write sample inputs for a command into a folder (see each kind's --help).")
collect_demos(app)
