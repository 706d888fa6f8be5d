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
    for name in ("torch", "spacy", "cvxpy", "video decoder", "core: ok"):
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
