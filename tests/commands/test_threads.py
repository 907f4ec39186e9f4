"""One thread rule for every command: ``--threads N``, else ``COSIM_THREADS``, else 1.

The BLAS pools of this test process are first raised to two threads, so a
command that forgot the cap would be seen computing with two; the spy looks at
``threadpoolctl.threadpool_info()`` from inside the command, while it computes.
"""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner
from threadpoolctl import threadpool_info, threadpool_limits

from cosim.cli import main


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def _leaves(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    """Every command under ``group``, as the command line finds them (loaded on use)."""
    out = {}
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            out.update(_leaves(command, f"{prefix}{name} "))
        else:
            out[f"{prefix}{name}"] = command
    return out


def test_every_command_takes_the_same_threads_option() -> None:
    leaves = _leaves(main)
    assert {"run", "haq", "mvm", "sweep haq", "field train", "snn run", "simulate",
            "report"} <= set(leaves)
    for name, command in leaves.items():
        options = [p for p in command.params if p.name == "threads"]
        assert len(options) == 1 and options[0].opts == ["--threads"], name
        assert "COSIM_THREADS" in options[0].help, name


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[set[int]]:
    """Replace the work of ``cosim mvm`` by a probe of the BLAS threads it runs with."""
    seen: list[set[int]] = []

    def probe(**kwargs):
        seen.append(_blas_threads())
        return {"setup_s": 0.0, "mvm_per_s": 1.0, "peak_rss_mib": 0.0}

    monkeypatch.setattr("cosim.commands.mvm.measure_mvm", probe)
    monkeypatch.delenv("COSIM_THREADS", raising=False)
    return seen


@pytest.mark.parametrize(("argv", "env", "expected"), [
    ([], None, {1}),
    (["--threads", "2"], None, {2}),
    ([], "2", {2}),
    (["--threads", "1"], "2", {1}),  # the option wins over the environment
])
def test_a_command_computes_with_blas_capped(spy: list[set[int]], monkeypatch: pytest.MonkeyPatch,
                                             argv: list[str], env: str | None,
                                             expected: set[int]) -> None:
    if env is not None:
        monkeypatch.setenv("COSIM_THREADS", env)
    with threadpool_limits(limits=2):
        assert _blas_threads() == {2}
        result = CliRunner().invoke(main, ["mvm", "--rows", "4", "--cols", "4", *argv])
        assert result.exit_code == 0, result.output
        assert spy == [expected]
        assert _blas_threads() == {2}  # the cap ends with the command


def test_no_cap_leaves_the_pools_alone(spy: list[set[int]]) -> None:
    with threadpool_limits(limits=2):
        result = CliRunner().invoke(main, ["mvm", "--rows", "4", "--cols", "4", "--threads", "0"])
    assert result.exit_code == 0 and spy == [{2}]


@pytest.mark.parametrize(("argv", "env", "message"), [
    (["--threads", "-1"], None, "--threads must be a whole number from 0 (no cap) to 1024"),
    ([], "two", "COSIM_THREADS must be a whole number of threads, got 'two'"),
])
def test_a_bad_thread_count_is_refused_before_any_work(
        spy: list[set[int]], monkeypatch: pytest.MonkeyPatch, argv: list[str],
        env: str | None, message: str) -> None:
    if env is not None:
        monkeypatch.setenv("COSIM_THREADS", env)
    result = CliRunner().invoke(main, ["mvm", *argv])
    assert result.exit_code == 2 and message in result.output and spy == []


def test_run_records_the_rule_in_its_manifest(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    def fake_run_main(config, folder, *, echo, progress, threads):
        seen["threads"], seen["blas"] = threads, _blas_threads()
        return {"elapsed_s": 0.0}

    monkeypatch.setattr("cosim.pipeline.run_main", fake_run_main)
    monkeypatch.setenv("COSIM_THREADS", "2")
    with threadpool_limits(limits=1):
        result = CliRunner().invoke(main, ["run", "--stages", "tia", "-o", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert seen == {"threads": 2, "blas": {2}}
