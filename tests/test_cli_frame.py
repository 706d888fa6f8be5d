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
