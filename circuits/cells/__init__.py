"""Cell kinds of a crossbar (what sits between a bit line and a source line) and
their registry.

A cell kind is an object, not a string compared across files: the netlist
generator, the nodal solver, the spice backend, the placement, the area model
and the size estimates ask it what they need (:class:`CellKind`). The kinds:
:data:`ZERO_T_ONE_R` (``"0T1R"``, :mod:`.rram_only`) and :data:`ONE_T_ONE_R`
(``"1T1R"``, :mod:`.one_t_one_r`).

A new kind whose elements the generator and the solver already know (an RRAM,
optionally behind the access NMOS) is one module holding its instance and one
entry in :data:`CELLS`, plus the row of the area table its ``area_block``
names. A kind with new elements (a selector, two transistors) also needs them
in the netlist generator and the nodal solver.
"""

from __future__ import annotations

from circuits.cells.kind import CellKind
from circuits.cells.one_t_one_r import ONE_T_ONE_R
from circuits.cells.rram_only import ZERO_T_ONE_R
from circuits.errors import ConfigError, did_you_mean

__all__ = ["CELLS", "ONE_T_ONE_R", "ZERO_T_ONE_R", "CellKind", "cell_kind"]

CELLS: dict[str, CellKind] = {c.name: c for c in (ZERO_T_ONE_R, ONE_T_ONE_R)}
"""The cell kinds by name."""


def cell_kind(value: CellKind | str) -> CellKind:
    """The cell kind ``value`` names (a kind passes through).

    Raises:
        ConfigError: an unknown name, with the closest one.
    """
    if isinstance(value, CellKind):
        return value
    if isinstance(value, str) and value in CELLS:
        return CELLS[value]
    raise ConfigError(f"unknown cell {value!r}{did_you_mean(str(value), list(CELLS))} "
                      f"(allowed: {', '.join(CELLS)})")
