"""The command line loads a command's module when the command is used."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from cosim.cli import main
from cosim.commands import COMMANDS, SUMMARY_CHARS, load_command


def test_every_listed_command_loads_under_its_name() -> None:
    ctx = click.Context(main)
    assert set(main.list_commands(ctx)) >= set(COMMANDS)
    for name in COMMANDS:
        command = main.get_command(ctx, name)
        assert command is not None and command.name == name
        assert command is load_command(name)


HEAVY = ("jax", "matplotlib", "pandas")


def _cosim_in_a_new_process(argv: list[str]) -> tuple[list[str], list[str]]:
    """``cosim argv`` (exit 0) in a fresh interpreter at 80 columns: its output lines and
    the command modules and heavy libraries (``HEAVY``) it loaded."""
    code = ("import sys\nfrom cosim.cli import main\ntry:\n    main()\nexcept SystemExit as e:\n"
            "    assert e.code == 0, e.code\n"
            f"print(sorted(m for m in sys.modules if m.startswith('cosim.commands.') "
            f"or m in {HEAVY!r}))")
    res = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "COLUMNS": "80"})
    assert res.returncode == 0, res.stderr
    *lines, loaded = res.stdout.splitlines()
    return lines, ast.literal_eval(loaded)


def test_help_lists_every_summary_whole_and_loads_no_command() -> None:
    lines, loaded = _cosim_in_a_new_process(["--help"])
    assert loaded == []
    for name, entry in COMMANDS.items():
        assert len(entry.summary) <= SUMMARY_CHARS, name
        assert any(line.split() == [name, *entry.summary.split()] for line in lines), name


def test_a_loaded_command_keeps_its_summary_in_the_listing() -> None:
    runner = CliRunner()
    before = runner.invoke(main, ["--help"], terminal_width=80).output
    for name in COMMANDS:
        assert main.get_command(click.Context(main), name).get_short_help_str(
            SUMMARY_CHARS) == COMMANDS[name].summary
    assert runner.invoke(main, ["--help"], terminal_width=80).output == before


def test_an_unknown_command_is_none_and_a_one_line_error() -> None:
    assert main.get_command(click.Context(main), "no-such-command") is None
    res = subprocess.run([sys.executable, "-c", "from cosim.cli import main; main()",
                          "no-such-command"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert res.stderr.startswith("error: no such command") and len(res.stderr.splitlines()) == 1


@pytest.mark.parametrize("argv", [["netlist", "--help"], ["hardware", "list"]])
def test_a_light_command_does_not_load_jax_or_matplotlib(argv: list[str]) -> None:
    _, loaded = _cosim_in_a_new_process(argv)
    assert [m for m in loaded if m in HEAVY] == []
