"""What a cell kind tells the code that builds, solves and sizes arrays of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
