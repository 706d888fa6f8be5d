"""Every command refuses an -o that names one of its inputs (exit 2, input intact): issue 15's data loss."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _refused(run_cli, victim: Path, *args: object) -> None:
    before = _digest(victim)
    code, out, err = run_cli(*args)
    assert code == 2, err
    assert err.startswith("error: ") and ("is also an input" in err or "input files in" in err)
    assert len(err.strip().splitlines()) <= 3
    assert _digest(victim) == before


def test_align_refuses_writing_onto_its_script_or_subtitles(run_cli, tmp_path) -> None:
    script = shutil.copy(ROOT / "examples/align/lighthouse.txt", tmp_path / "s.txt")
    subs = shutil.copy(ROOT / "examples/align/lighthouse.srt", tmp_path / "s.srt")
    _refused(run_cli, Path(script), "align", script, subs, "-o", script, "--format", "json")
    _refused(run_cli, Path(subs), "align", script, subs, "-o", subs, "--format", "srt")
    link = tmp_path / "link.txt"
    link.symlink_to(script)
    _refused(run_cli, Path(script), "align", script, subs, "-o", link, "--format", "json")


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from wsl.cli.app import main

    root = tmp_path_factory.mktemp("demos")
    for kind in ("actions", "cluster", "steps"):
        try:
            main(["-q", "demo-data", kind, str(root / kind)])
        except SystemExit as e:
            assert not e.code
    return root


def test_label_actions_refuses_writing_onto_its_transcripts(run_cli, demos) -> None:
    t = demos / "actions" / "transcripts.json"
    _refused(run_cli, t, "label-actions", demos / "actions" / "feats", "-t", t, "-o", t)


def test_cluster_refuses_writing_onto_its_features_or_bags(run_cli, demos) -> None:
    x, bags = demos / "cluster" / "tracks.npy", demos / "cluster" / "bags.json"
    _refused(run_cli, x, "cluster", x, "--bags", bags, "-o", x)
    _refused(run_cli, bags, "cluster", x, "--bags", bags, "-o", bags)


def test_discover_steps_refuses_writing_onto_a_narration(run_cli, demos) -> None:
    narration = sorted((demos / "steps").glob("*.srt"))[0]
    _refused(run_cli, narration, "discover-steps", demos / "steps", "-o", narration, "--text-only")
