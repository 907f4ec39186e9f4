"""Averaged reads: the mean of several reads of one analog layer at the same inputs.

Each read of a layer draws its own read noise, so the mean of ``reads`` reads has
``1 / sqrt(reads)`` of one read's noise (the noise of independent reads; the
systematic parts of a read, its wires, transistor and clamp, stay as they are). A
chip does this by repeating the MVM and adding the converted outputs in the
digital core, and pays for every read: the events are those of all ``reads``
reads (cells, DAC and ADC conversions, amplifier time, aggregation) plus
``reads - 1`` digital additions per output (the final division by ``reads``,
a shift where ``reads`` is a power of two, is not counted).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from circuits.errors import check_int
from cosim.accounting.events import Events

MAX_READS = 4096
"""The most reads a config may average per input."""


class Readable(Protocol):
    """Anything read like an analog layer: ``forward(x) -> (y, events)``."""

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Events]: ...


def averaged_read(layer: Readable, x: np.ndarray, reads: int) -> tuple[np.ndarray, Events]:
    """The mean of ``reads`` reads of ``layer`` at ``x`` (each with its own read noise), and
    the events of all of them with the ``reads - 1`` digital additions per output.

    Args:
        layer: an :class:`cosim.layers.analog.AnalogLayer` (or anything read like one).
        x: inputs ``(B, in)``.
        reads: reads to average, 1 to :data:`MAX_READS`.
    """
    check_int("reads", reads, 1, MAX_READS)
    y, ev = layer.forward(x)
    for _ in range(reads - 1):
        yk, ek = layer.forward(x)
        y, ev = y + yk, ev + ek
    if reads > 1:
        y = y / reads
        ev = ev + Events(digital_adds=int(y.size) * (reads - 1))
    return y, ev
