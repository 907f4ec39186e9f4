"""The interface of an MVM backend behind ``cosim.engine.tile.Tile``, and helpers.

A backend answers two questions about one programmed macro, given as a
single-ended ``CrossbarParams`` whose columns are the *physical* columns (a
differential pair is two neighbouring physical columns; the tile subtracts
them): what currents flow out of the columns for a batch of row voltages
(``currents``), and what conductance the write-verify read of each cell sees
(``read_cells``). Both take optional read-noise factors ``F`` (shape of the
conductance matrix): the read then sees the conductances ``G * F``.

The sense nodes are what ``CrossbarParams.readout`` says. With ``"tia"``, a
backend that simulates the TIA itself (``solves_tia``: ``spice``) also gives
its output voltages (``tia_outputs``); the others solve the array with the
TIA's DC model at the sense nodes (``cosim.engine.readout.sense_network``)
and leave the output to the tile's readout model.

The tile owns everything around this: DAC, ADC, read-noise draws, macro
splitting and digital partial sums, event counts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

import numpy as np

from circuits.crossbar import CrossbarParams

if TYPE_CHECKING:
    from cosim.engine.read_models import ColumnCorrection


class Backend(Protocol):
    """What the tile needs from a backend (see the module docstring).

    Built as ``Backend(hardware: HardwareSpec, sim: SimOptions, cache: ResultCache | None)``
    (:func:`cosim.engine.backends.registry.make_backend`).
    """

    name: str
    solves_tia: bool
    """Whether ``tia_outputs`` simulates the TIA of a ``readout = "tia"`` array."""

    def prepare(self, p: CrossbarParams) -> None:
        """Do the per-array set-up now (e.g. extract the transfer matrix)."""

    def currents(self, p: CrossbarParams, v_volt: np.ndarray,
                 factors: np.ndarray | None = None) -> np.ndarray:
        """Column currents (A), shape ``(B, cols)``, for row voltages ``v_volt[B, rows]``."""

    def tia_outputs(self, p: CrossbarParams, v_volt: np.ndarray,
                    factors: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Only where ``solves_tia``: column currents (A) and TIA output voltages (V),
        both ``(B, cols)``, of the ``readout = "tia"`` array ``p``."""

    def read_cells(self, p: CrossbarParams, v_read_volt: float,
                   factors: np.ndarray | None = None) -> np.ndarray:
        """Conductance (S) seen by reading each cell alone, shape ``(rows, cols)``."""

    def linear_map(self, p: CrossbarParams) -> tuple[np.ndarray, np.ndarray] | None:
        """``(M, c)`` with ``I = v @ M + c`` when the macro's read is linear, else ``None``
        (the tile then draws read noise vector by vector)."""

    def output_correction(self, p: CrossbarParams) -> ColumnCorrection | None:
        """Where the macro's read is ``linear_map``'s ``u + c`` corrected per column,
        ``I = u + c + correction.of(u)`` (``u = v @ M``), that correction; else ``None``."""


def with_read_noise(p: CrossbarParams, factors: np.ndarray | None) -> CrossbarParams:
    """``p`` with conductances ``G * factors``, clipped to the device range.

    Clipping only binds when ``G * F`` leaves ``[g_min, g_max]``, which needs a
    cell near the range's edge and a large read-noise draw.
    """
    if factors is None:
        return p
    return replace(p, g_siemens=noisy_g(p, factors))


def noisy_g(p: CrossbarParams, factors: np.ndarray | None) -> np.ndarray:
    """Conductances ``G * factors`` of one noisy read, clipped to the device range (S)."""
    if factors is None:
        return p.g_siemens
    return np.clip(p.g_siemens * factors, p.rram.g_min_siemens, p.rram.g_max_siemens)


def is_nonlinear(p: CrossbarParams) -> bool:
    """Whether the network's currents are not linear in the row voltages."""
    return not p.cell.is_linear(p.rram.iv)


def single_row_read(p: CrossbarParams, row: int) -> CrossbarParams:
    """The network seen when only word line ``row`` of a 1T1R array is on.

    With the other access transistors off (taken as open switches), the other
    rows' cells carry no current: each source line carries only the current of
    its cell in ``row``, which flows down the ``rows - 1 - row`` wire segments
    below it and through the sense resistance. That is a one-row crossbar whose
    sense resistance is ``r_sense + (rows - 1 - row) * r_wire_sl``.
    """
    return replace(p, g_siemens=p.g_siemens[row:row + 1],
                   r_sense_ohm=p.r_sense_ohm + (p.rows - 1 - row) * p.r_wire_sl_ohm)


def unit_reads(rows: int, v_read_volt: float) -> np.ndarray:
    """Row voltages of the ``rows`` single-row reads: ``v_read`` on one row, 0 V elsewhere."""
    return np.eye(rows) * v_read_volt
