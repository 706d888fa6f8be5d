from __future__ import annotations

from wsl import __version__


def test_version(run_cli) -> None:
    code, out, _ = run_cli("--version")
    assert code == 0 and out.strip() == f"wsl {__version__}"


def test_help_lists_commands(run_cli) -> None:
    code, out, _ = run_cli("--help")
    assert code == 0 and "doctor" in out


def test_unknown_command_is_usage_error(run_cli) -> None:
    code, _, err = run_cli("no-such-command")
    assert code == 2 and "no-such-command" in err


def test_doctor_reports_core(run_cli) -> None:
    code, out, _ = run_cli("doctor")
    assert code == 0
    for name in ("[torch]", "spacy", "[reference]", "[video]", "[vision]", "core: ok"):
        assert name in out


def test_bad_input_is_one_line_and_exit_2(run_cli, tmp_path) -> None:
    code, out, err = run_cli("features", "info", tmp_path / "nowhere")
    assert code == 2 and out == ""
    assert err == f"error: {tmp_path / 'nowhere'}: not a folder of .npy feature files\n"


def test_debug_shows_the_exception(run_cli, tmp_path) -> None:
    import pytest

    from wsl.errors import BadInput

    with pytest.raises(BadInput):
        run_cli("--debug", "features", "info", tmp_path / "nowhere")


def test_usage_error_is_one_error_line_and_a_usage_hint(run_cli) -> None:
    code, out, err = run_cli("doctor", "--no-such-flag")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert lines[0].startswith("error: ") and "--no-such-flag" in lines[0]
    assert not any(ch in err for ch in "╭╰│")  # no rich box
    assert any(line.startswith("Usage: wsl doctor") for line in lines)


def test_global_options_work_after_the_subcommand(run_cli, tmp_path) -> None:
    import pytest

    from wsl.errors import BadInput

    with pytest.raises(BadInput):
        run_cli("features", "info", tmp_path / "nowhere", "--debug")
    code, _, err = run_cli("features", "info", tmp_path / "nowhere", "-q")
    assert code == 2 and err.startswith("error: ")


def test_library_parameter_names_become_flags_in_messages() -> None:
    import typer

    from wsl.cli.app import _flag_for

    app = typer.Typer()

    @app.command()
    def train(image_size: int = typer.Option(224, "--image-size", help="Side in pixels.")) -> None:
        """Train."""

    @app.command()
    def other() -> None:
        """Other."""

    root = typer.main.get_command(app)
    assert _flag_for(root, ["train", "--image-size", "3"], "image_size") == "--image-size"
    from wsl.errors import BadInput

    e = BadInput("`image_size` must be a multiple of 32, got 3", param="image_size")
    assert e.render("--image-size") == "--image-size must be a multiple of 32, got 3"
    assert str(e) == "image_size must be a multiple of 32, got 3"
    e = BadInput("looks like an early draft; pass `draft` to align what survives", param="draft")
    assert e.render("--draft") == "looks like an early draft; pass --draft to align what survives"


def test_shards_cover_every_input_once() -> None:
    from wsl.cli.options import parse_shard
    from wsl.parallel import shard_items

    items = [f"v{i:03d}.mp4" for i in range(23)]
    parts = [shard_items(items, parse_shard(f"{k}/4")) for k in range(1, 5)]
    assert sorted(x for p in parts for x in p) == sorted(items)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    import pytest

    from wsl.errors import BadInput

    for bad in ("0/4", "5/4", "a/b", "3"):
        with pytest.raises(BadInput):
            parse_shard(bad)


def test_a_missing_extra_is_one_line_naming_the_pip_install(tmp_path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from wsl.cli.app import main\n"
        f"main(['localize', 'train', {str(tmp_path)!r}, '-o', {str(tmp_path / 'run')!r}])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "error: this command needs the 'torch' extra (torch is not installed): " \
        "pip install 'wsl[torch]'"
