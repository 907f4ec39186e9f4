"""Analyses the runner can perform: operating point, DC sweep, transient, AC sweep."""

from __future__ import annotations

from dataclasses import dataclass

from circuits.errors import ConfigError
from circuits.netlist import num


@dataclass(frozen=True, kw_only=True)
class Op:
    """DC operating point."""

    def line(self) -> str:
        return ".op"


@dataclass(frozen=True, kw_only=True)
class DC:
    """DC sweep of one independent source.

    Attributes:
        source: name of the swept V or I source (e.g. ``Vctl``).
        start, stop, step: sweep range in the source's unit (V or A).
    """

    source: str
    start: float
    stop: float
    step: float

    def __post_init__(self) -> None:
        if not self.source or self.source[0].lower() not in "vi":
            raise ConfigError(f"DC sweep source must be a V or I source, got {self.source!r}")
        if self.step == 0 or (self.stop - self.start) / self.step < 0:
            raise ConfigError(
                f"DC sweep {self.start:g} -> {self.stop:g} with step {self.step:g} never ends"
            )

    def line(self) -> str:
        return f".dc {self.source} {num(self.start)} {num(self.stop)} {num(self.step)}"


@dataclass(frozen=True, kw_only=True)
class Tran:
    """Transient analysis.

    Attributes:
        step_s: suggested (and maximum) time step in seconds.
        stop_s: end time in seconds.
    """

    step_s: float
    stop_s: float

    def __post_init__(self) -> None:
        if not (self.step_s > 0 and self.stop_s > self.step_s):
            raise ConfigError(
                f"transient needs 0 < step < stop, got step={self.step_s!r}, stop={self.stop_s!r}"
            )

    def line(self) -> str:
        return f".tran {num(self.step_s)} {num(self.stop_s)} 0 {num(self.step_s)}"


@dataclass(frozen=True, kw_only=True)
class AC:
    """Small-signal AC sweep, log-spaced (``.ac dec``).

    The circuit is linearised at its operating point; sources with an ``AC``
    magnitude drive it. Results are complex (``SimResult.data`` columns hold
    complex numbers; the sweep column is ``frequency [Hz]``).

    Attributes:
        points_per_decade: frequencies per decade (>= 1).
        f_start_hz: first frequency (Hz), > 0.
        f_stop_hz: last frequency (Hz), > ``f_start_hz``.
    """

    points_per_decade: int
    f_start_hz: float
    f_stop_hz: float

    def __post_init__(self) -> None:
        if isinstance(self.points_per_decade, bool) or not isinstance(self.points_per_decade, int) \
                or not 1 <= self.points_per_decade <= 10_000:
            raise ConfigError(f"AC points per decade must be an integer in [1, 10000], "
                              f"got {self.points_per_decade!r}")
        if not (0 < self.f_start_hz < self.f_stop_hz <= 1e15):
            raise ConfigError(f"AC sweep needs 0 < start < stop <= 1e15 Hz, got "
                              f"{self.f_start_hz!r} -> {self.f_stop_hz!r}")

    def line(self) -> str:
        return f".ac dec {self.points_per_decade} {num(self.f_start_hz)} {num(self.f_stop_hz)}"


Analysis = Op | DC | Tran | AC
