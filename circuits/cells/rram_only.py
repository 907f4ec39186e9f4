"""The resistor-only cell: the RRAM alone, from the bit-line node to the
source-line node (the NF paper's simulated arrays)."""

from circuits.cells.kind import CellKind

ZERO_T_ONE_R = CellKind(name="0T1R", access_transistor=False, area_block="cell_0t1r",
                        netlist_bytes=130, solve_bytes=1024,
                        description="RRAM alone between bit and source line")
