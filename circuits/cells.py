"""Cell kinds of a crossbar: what sits between a bit line and a source line.

A cell kind is an object, not a string compared across files: the netlist
generator, the nodal solver, the spice backend, the placement, the area model
and the size estimates ask it what they need. Two kinds:

- :data:`ZERO_T_ONE_R` (``"0T1R"``): the RRAM alone, from the bit-line node to
  the source-line node;
- :data:`ONE_T_ONE_R` (``"1T1R"``): the RRAM from the bit-line node to a mid
  node, then an access NMOS (drain at the mid node, gate at the row's word
  line, source at the source-line node, bulk at ground), as in
  :mod:`circuits.crossbar`'s topology contract.

A new kind whose elements the generator and the solver already know (an RRAM,
optionally behind the access NMOS) is one instance in a module of its own and
one entry in :data:`CELLS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from circuits.errors import ConfigError, did_you_mean


@dataclass(frozen=True, kw_only=True)
class CellKind:
    """One kind of crossbar cell.

    Attributes:
        name: what configs and outputs call it.
        access_transistor: an access NMOS in series with the RRAM (mid node
            ``m<r>_<c>``, gate at the word line ``wl<r>``); ``False`` is the
            RRAM alone. Cells with one are nonlinear whatever the RRAM's I-V.
        area_block: the row of the area table (``cosim/accounting/data/area_blocks.csv``)
            that gives one cell's silicon area.
        netlist_bytes: netlist text per cell (bytes), for up-front size estimates.
        solve_bytes: memory of the nodal solve per cell (bytes), for estimates.
        description: the cell in words.
    """

    name: str
    access_transistor: bool
    area_block: str
    netlist_bytes: int
    solve_bytes: int
    description: str

    def __str__(self) -> str:
        return self.name

    def is_linear(self, iv: Any) -> bool:
        """Whether an array of these cells with RRAM I-V law ``iv`` is a linear network."""
        return not self.access_transistor and bool(iv.linear)


ZERO_T_ONE_R = CellKind(name="0T1R", access_transistor=False, area_block="cell_0t1r",
                        netlist_bytes=130, solve_bytes=1024,
                        description="RRAM alone between bit and source line")
"""The resistor-only cell (the NF paper's simulated arrays)."""

ONE_T_ONE_R = CellKind(name="1T1R", access_transistor=True, area_block="cell_1t1r",
                       netlist_bytes=190, solve_bytes=6144,
                       description="RRAM behind an access NMOS (FreePDK45 BSIM4 by default)")
"""The seeds' chip: RRAM in series with an access transistor."""

CELLS: dict[str, CellKind] = {c.name: c for c in (ZERO_T_ONE_R, ONE_T_ONE_R)}
"""The cell kinds by name: a new kind is one instance plus one entry here."""


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
