"""Output files named with ``-o``: checked before any work, so a bad path fails at once.

Run folders are checked and locked by :func:`cosim.outputs.rundir.prepare_run_dir`;
this module does the same check for a single output file (a netlist, a plot).
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from circuits.errors import ConfigError


class OutputPath(click.Path):
    """``click.Path`` for ``-o``: an empty name is a usage error (click would read it as ``.``)."""

    def convert(self, value, param, ctx):  # noqa: D102 - click protocol
        if isinstance(value, str) and not value.strip():
            self.fail("empty path; give a name", param, ctx)
        return super().convert(value, param, ctx)


def check_writable_output(path: Path | str | None, what: str) -> Path:
    """Check that file ``path`` can be written, creating its parent folders.

    The check writes nothing that stays: if the file does not exist, it is
    created empty and removed again.

    Args:
        path: the output file (``-o``).
        what: what the file is, for the message (``"netlist file"``).

    Returns:
        ``path`` as a ``Path``.

    Raises:
        ConfigError: (one line) empty path; the path is a folder; the path lies
            under a file; the folder cannot be created; the file cannot be written.
    """
    if path is None or not str(path).strip():
        raise ConfigError(f"{what}: empty path; give a file name with -o")
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{what} {path} is a folder; give a file name")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"{what} {path} is under {parent}, which is a file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the folder of {what} {path}: "
                          f"{exc.strerror or exc}") from None
    existed = path.exists()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise ConfigError(f"cannot write {what} {path}: {exc.strerror or exc}") from None
    os.close(fd)
    if not existed:
        try:
            path.unlink()
        except OSError:
            pass
    return path
