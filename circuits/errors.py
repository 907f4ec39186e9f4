"""The one small error hierarchy of the toolkit.

``CosimError`` is the root; user mistakes raise ``ConfigError`` (also a
``ValueError``), malformed or unsafe netlists ``NetlistError``, and failed
simulator runs ``SimulationError``. The CLI turns any of them into a one-line
message and a non-zero exit code.
"""

from __future__ import annotations

import difflib
import numbers
import os
from collections.abc import Iterable
from pathlib import Path


class CosimError(Exception):
    """Root of every error this toolkit raises on purpose."""


class ConfigError(CosimError, ValueError):
    """A parameter or input given by the user is outside what is allowed."""


class NetlistError(CosimError):
    """A netlist cannot be generated, read or accepted."""


class SimulationError(CosimError):
    """ngspice failed, timed out or produced no usable result.

    Attributes:
        netlist_path: the netlist that was run (kept on disk for inspection).
        log_tail: the last lines of the ngspice log.
    """

    def __init__(self, message: str, *, netlist_path: Path | None = None, log_tail: str = ""):
        self.netlist_path = netlist_path
        self.log_tail = log_tail
        parts = [message]
        if netlist_path is not None:
            parts.append(f"netlist: {netlist_path}")
        if log_tail:
            parts.append("ngspice log tail:\n" + log_tail)
        super().__init__("\n".join(parts))


class CosimWarning(UserWarning):
    """Root of the toolkit's warnings: the work goes on, but a result may be outside
    what was validated. The CLI prints each as one line ``warning: ...``."""


def did_you_mean(value: str, allowed: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest allowed name, or ``""``."""
    close = difflib.get_close_matches(value, list(allowed), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def check_choice(name: str, value: str, allowed: Iterable[str]) -> str:
    """Raise ``ConfigError`` unless ``value`` is one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ConfigError(
            f"unknown {name} {value!r}{did_you_mean(str(value), allowed)} "
            f"(allowed: {', '.join(allowed)})"
        )
    return value


def split_items(name: str, text: str) -> list[str]:
    """The items of a comma-separated list typed by the user (``tia,haq``, ``4,8,12``).

    Blanks around items are dropped and a blank text is the empty list; an
    empty item (``tia,,haq``, ``4,8,``) is refused rather than skipped.

    Raises:
        ConfigError: ``"<name>: empty item in '<text>'; ..."``.
    """
    if not str(text).strip():
        return []
    items = [v.strip() for v in str(text).split(",")]
    if "" in items:
        raise ConfigError(f"{name}: empty item in {text!r}; separate items by single commas")
    return items


def check_int(name: str, value: object, lo: int, hi: int) -> int:
    """Raise ``ConfigError`` unless ``value`` is a whole number (not a bool) in ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    check_range(name, int(value), lo, hi)
    return int(value)


def check_range(name: str, value: float, lo: float | None = None, hi: float | None = None,
                *, lo_open: bool = False) -> float:
    """Raise ``ConfigError`` unless ``lo <= value <= hi`` (``lo < value`` if ``lo_open``)."""
    bad = value != value  # NaN
    if lo is not None:
        bad = bad or (value <= lo if lo_open else value < lo)
    if hi is not None:
        bad = bad or value > hi
    if bad:
        lo_s = "-inf" if lo is None else _fmt(lo)
        hi_s = "inf" if hi is None else _fmt(hi)
        bracket = "(" if lo_open else "["
        raise ConfigError(f"{name} must be in {bracket}{lo_s}, {hi_s}], got {value!r}")
    return value


def _fmt(x: float) -> str:
    return str(x) if isinstance(x, numbers.Integral) else f"{x:g}"


def physical_memory_bytes() -> int | None:
    """Physical memory of this machine (bytes), or ``None`` where the OS does not say."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return pages * size if pages > 0 and size > 0 else None


def format_bytes(n: float) -> str:
    """``1.5 GiB``, ``340 MiB``: a byte count for messages."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


MEMORY_FRACTION = 0.8
"""Largest share of physical memory one command may plan to use."""


def check_memory(what: str, nbytes: float, *, hint: str = "") -> float:
    """Raise ``ConfigError`` if ``what`` needs over ``MEMORY_FRACTION`` of physical memory.

    Call it with an up-front estimate, before anything of that size is allocated.

    Args:
        what: the job, for the message (``"a 65536 x 65536 calibrated tile"``).
        nbytes: estimated peak memory of the job (bytes).
        hint: what to change, appended to the message (``"use fewer rows"``).
    """
    total = physical_memory_bytes()
    if total is not None and nbytes > MEMORY_FRACTION * total:
        raise ConfigError(f"{what} needs about {format_bytes(nbytes)} of memory, this machine "
                          f"has {format_bytes(total)}" + (f"; {hint}" if hint else ""))
    return nbytes
