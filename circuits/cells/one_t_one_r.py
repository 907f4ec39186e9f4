"""The seeds' chip cell: the RRAM from the bit-line node to a mid node, then an
access NMOS (drain at the mid node, gate at the row's word line, source at the
source-line node, bulk at ground), as in :mod:`circuits.crossbar`'s topology
contract."""

from circuits.cells.kind import CellKind

ONE_T_ONE_R = CellKind(name="1T1R", access_transistor=True, area_block="cell_1t1r",
                       netlist_bytes=190, solve_bytes=6144,
                       description="RRAM behind an access NMOS (FreePDK45 BSIM4 by default)")
