"""The ``cosim`` command line: a thin click group.

Each command parses its options, calls one library function and writes a run
folder. Errors of the toolkit become one line on stderr and exit code 2; no
traceback is shown for a user mistake.
"""

from __future__ import annotations

import errno
import sys
import warnings

import click

from circuits.errors import CosimError, CosimWarning, SimulationError
from cosim.commands import COMMANDS


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


for _command in COMMANDS:
    main.add_command(_command)
