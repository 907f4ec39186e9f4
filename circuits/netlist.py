"""The ``Netlist`` value that every generator returns, and number formatting.

A netlist is plain, deterministic SPICE text: fixed number formatting, no
timestamps, no absolute paths. Model files are named, not included by path;
the runner places them beside the netlist when it runs it, so the text of a
generated deck never depends on where the project lives. (The golden files of
``netlists/`` render the same names under ``../device_models/``, see
:mod:`circuits.golden`.)

Numbers are written in the shortest form that reads back as the same double
(Python's ``repr``), up to 17 significant digits. ngspice 39 reads a number
as its digits accumulated in a double times ``pow(10, exponent)``, which lands
within one unit in the last place of the value (exactly for about half of
random values), so the spice and calibrated backends agree on a linear array
to rounding (``tests/engine/test_tile.py``'s 0T1R cases; figures in
``docs/measurements/nodal.md``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from circuits.errors import ConfigError

MODEL_DIR = Path(__file__).resolve().parent.parent / "device_models"
"""Folder with the SPICE model files written by this project."""


def num(x: float) -> str:
    """Format a number for a netlist: the shortest text that reads back as ``x``.

    ``float(num(x)) == x`` bit for bit; whole numbers lose their ``.0``
    (``800.0`` gives ``800``, ``1e-06`` stays ``1e-06``). No locale, stable.

    Raises:
        ConfigError: ``x`` is NaN or infinite (SPICE has no such numbers).
    """
    value = float(x)
    if not math.isfinite(value):
        raise ConfigError(f"a netlist number must be finite, got {value!r}")
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


_SCALE = {"t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "mil": 25.4e-6, "m": 1e-3,
          "u": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15, "a": 1e-18}
_NUMBER = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)(meg|mil|[tgkmunpfa])?[a-z]*$")


def spice_number(text: str) -> float:
    """Read a number the way SPICE does: ``50n``, ``1.2meg``, ``3u``, ``100mV``, ``1e-6``.

    The scale suffixes are SPICE's (case ignored; ``m`` is milli, ``meg`` mega,
    ``mil`` a thousandth of an inch); letters after the suffix are units and are
    ignored, as ngspice ignores them.

    Raises:
        ConfigError: ``text`` is not a number.
    """
    m = _NUMBER.match(str(text).strip().lower())
    if not m:
        raise ConfigError(f"not a number: {text!r} (examples: 0.5, 1e-6, 1u, 10n, 2meg)")
    return float(m.group(1)) * _SCALE.get(m.group(2) or "", 1.0)


@dataclass(frozen=True)
class Netlist:
    """A SPICE circuit without analyses.

    Attributes:
        title: first line of the deck (ngspice ignores it as a title).
        body: element, subcircuit and option lines, in order.
        models: file names in ``device_models/`` that the circuit needs.
    """

    title: str
    body: tuple[str, ...]
    models: tuple[str, ...] = ()

    def text(self, analyses: tuple[str, ...] = (), *, model_dir: str | None = None) -> str:
        """Render the deck.

        Args:
            analyses: analysis and ``.save`` lines appended before ``.end``.
            model_dir: prefix of the ``.include`` paths; ``None`` gives bare
                file names, resolved by the runner, which copies the models
                next to the netlist.
        """
        prefix = "" if model_dir is None else model_dir.rstrip("/") + "/"
        lines = [f"* {self.title}"]
        lines += [f'.include "{prefix}{m}"' for m in self.models]
        lines += list(self.body)
        lines += list(analyses)
        lines.append(".end")
        return "\n".join(lines) + "\n"

    def __add__(self, other: Netlist) -> Netlist:
        models = tuple(dict.fromkeys(self.models + other.models))
        return Netlist(self.title, self.body + other.body, models)
