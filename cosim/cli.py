"""The ``cosim`` command line: a thin click group.

Each command parses its options, calls one library function and writes a run
folder. Errors of the toolkit become one line on stderr and exit code 2; no
traceback is shown for a user mistake. Every command follows one thread rule
(:mod:`cosim.threads`): it takes ``--threads N`` (else ``$COSIM_THREADS``,
else 1; 0: no cap), checked before any work, and runs with its BLAS/OpenMP
threads capped at that count (:func:`follow_thread_rule`, applied here to
every command once, when its module is first loaded: :data:`cosim.commands.COMMANDS`).
"""

from __future__ import annotations

import errno
import functools
import inspect
import sys
import warnings

import click

from circuits.errors import CosimError, CosimWarning, SimulationError
from cosim.commands import COMMANDS, load_command
from cosim.threads import THREADS_HELP, resolve_threads, thread_cap


class _Group(click.Group):
    """Click group that turns user mistakes into one line ``error: ...`` and exit code 2.

    Covers the toolkit's ``CosimError`` and click's own usage errors (unknown
    option or command, missing argument, bad value); ``--help`` and
    ``--version`` still exit 0. An ``OSError`` or ``MemoryError`` that no
    check caught also gives one line, with exit code 1.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            click.echo(f"error: {_usage_line(exc)}", err=True)
            sys.exit(2 if isinstance(exc, click.UsageError) else exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMANDS))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The listing of ``cosim --help`` from the summaries, loading no command."""
        rows = [(name, COMMANDS[name].summary if name in COMMANDS
                 else self.commands[name].get_short_help_str())
                for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, its module imported on first use
        (:data:`cosim.commands.COMMANDS`) and the thread rule applied."""
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.add_command(follow_thread_rule(load_command(cmd_name)))
        return self.commands.get(cmd_name)

    def invoke(self, ctx: click.Context):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("default", CosimWarning)
                warnings.showwarning = _show_warning
                return super().invoke(ctx)
        except SimulationError as exc:
            first = str(exc).splitlines()[0]
            where = (f" (netlist and log kept in {exc.netlist_path.parent})"
                     if exc.netlist_path else "")
            click.echo(f"error: {first}{where}", err=True)
            ctx.exit(2)
        except CosimError as exc:
            click.echo(f"error: {_one_line(str(exc))}", err=True)
            ctx.exit(2)
        except MemoryError:
            click.echo("error: out of memory; try a smaller problem", err=True)
            ctx.exit(1)
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"error: {where}{exc.strerror or _one_line(str(exc))}", err=True)
            ctx.exit(1)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print the toolkit's warnings as one line ``warning: ...`` (others as Python does)."""
    if issubclass(category, CosimWarning):
        click.echo(f"warning: {_one_line(str(message))}", err=True)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _usage_line(exc: click.ClickException) -> str:
    """Click's message on one line, naming the command and where its help is."""
    text = _one_line(exc.format_message()).rstrip(".")
    if text[:1].isupper() and text[1:2].islower():
        text = text[0].lower() + text[1:]
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        text += f" (see '{ctx.command_path} --help')"
    return text


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rram-cosim")
def main() -> None:
    """SPICE-level co-simulation of resistive-memory compute-in-memory."""


def follow_thread_rule(command: click.Command) -> click.Command:
    """Give ``command`` (and every command of a group) ``--threads`` and run it capped.

    The count is resolved (:func:`cosim.threads.resolve_threads`) before the
    command's own code runs, so a bad ``--threads`` or ``COSIM_THREADS`` is a
    one-line error before any work. A command whose function takes a
    ``threads`` parameter receives the resolved count (0: no cap), e.g. to
    record it or hand it to worker processes.
    """
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            follow_thread_rule(sub)
        return command
    if command.callback is None or getattr(command.callback, "_thread_rule", False):
        return command
    if any(p.name == "threads" for p in command.params):
        raise TypeError(f"command {command.name!r} declares --threads itself; the CLI adds it")
    command.params.append(click.Option(["--threads"], type=int, default=None,
                                       metavar="N", help=THREADS_HELP))
    callback = command.callback
    takes = "threads" in inspect.signature(callback).parameters

    @functools.wraps(callback)
    def capped(*args, threads: int | None = None, **kwargs):
        limit = resolve_threads(threads)
        if takes:
            kwargs["threads"] = limit or 0
        with thread_cap(limit):
            return callback(*args, **kwargs)

    capped._thread_rule = True
    command.callback = capped
    return command
