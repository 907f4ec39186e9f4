"""The read path a matrix is deployed through, and the tile of each placed matrix.

One definition for every workload that deploys matrices on hardware (the HAQ
MVM test, the neural field): a :class:`ReadPath` names the cell, the wires,
the column readout, the placement and how HAQ verifies; :meth:`ReadPath.deploy`
gives, for one ``rows x cols`` cell matrix whose bit columns come in groups
of ``group``, the placement (:func:`cosim.engine.placement.place`) and the
tile to build (:func:`block_tile`):

- the macro is cut down to the rows and columns the placement uses, so the
  tile splits the matrix exactly as placed;
- the TIA is sized to the placed block (``circuits.tia.tia_for_current``: its
  linear range, the ADC's full scale, ends at the current of a column of LRS
  cells read at full input, ``v_read * g_lrs * rows used``);
- the schemes decode against the placement's mean attenuation
  (``Placement.mean_attenuation``, the ``read_gain`` of PTQ and HAQ).

Two named read paths: :data:`PAPER` (0T1R cells, no wires, ideal virtual
ground, every row and column of the macro, one HAQ pass: the setting of the
NF paper's figures) and :data:`REALISTIC` (1T1R cells, the 40 nm wire figure
of ``circuits.interconnect``, a TIA per column, IR-aware placement, three
HAQ passes verified through the MVM's own transfer).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from circuits.crossbar import CELLS, MACRO_COLS, MACRO_ROWS, READOUTS
from circuits.errors import check_choice, check_int, check_range
from circuits.interconnect import R_WIRE_40NM_OHM
from circuits.tia import tia_for_current
from cosim.engine.placement import DEFAULT_MIN_UNIFORMITY, Placement, place
from cosim.engine.tile import TileConfig
from cosim.layers.analog import VERIFY_READS
from cosim.programming.schemes import MAX_PASSES

PLACEMENTS = ("ir_aware", "full")


@dataclass(frozen=True, kw_only=True)
class ReadPath:
    """How a deployed matrix is read.

    Attributes:
        name: what to call it in outputs (``paper``, ``realistic`` or ``custom``).
        cell: ``"1T1R"`` or ``"0T1R"``.
        r_wire_ohm: wire resistance per cell segment of bit and source lines (ohm).
        readout: ``"tia"`` (a TIA per column, sized to the placed block) or
            ``"virtual_ground"`` (ideal).
        placement: ``"ir_aware"`` (only as many rows and columns of each macro
            as keep every cell's attenuation within ``min_uniformity`` of the
            block's mean, ``cosim.engine.placement``) or ``"full"``. The
            ``ideal`` backend has no IR drop and always places in full.
        min_uniformity: the IR-aware placement's bound.
        macro_rows, macro_cols: the physical macro.
        verify_read: HAQ verify reads (:class:`cosim.layers.analog.TileReadBack`).
        haq_passes: HAQ programming passes (1: the NF paper's scheme).
    """

    name: str = "realistic"
    cell: str = "1T1R"
    r_wire_ohm: float = R_WIRE_40NM_OHM
    readout: str = "tia"
    placement: str = "ir_aware"
    min_uniformity: float = DEFAULT_MIN_UNIFORMITY
    macro_rows: int = MACRO_ROWS
    macro_cols: int = MACRO_COLS
    verify_read: str = "transfer"
    haq_passes: int = 3

    def __post_init__(self) -> None:
        check_choice("cell", self.cell, CELLS)
        check_range("r_wire_ohm", self.r_wire_ohm, 0.0, 1e6)
        check_choice("readout", self.readout, READOUTS)
        check_choice("placement", self.placement, PLACEMENTS)
        check_range("min_uniformity", self.min_uniformity, 0.0, 1.0)
        check_int("macro_rows", self.macro_rows, 1, 4096)
        check_int("macro_cols", self.macro_cols, 1, 4096)
        check_choice("verify-read method", self.verify_read, VERIFY_READS)
        check_int("haq_passes", self.haq_passes, 1, MAX_PASSES)

    def layout(self, rows: int, cols: int, group: int, base: TileConfig) -> Placement:
        """Where a ``rows x cols`` cell matrix (``group`` columns per weight) goes."""
        ir_aware = self.placement == "ir_aware" and base.backend != "ideal"
        return place(rows, cols, group=group, macro_rows=self.macro_rows,
                     macro_cols=self.macro_cols, cell=self.cell, r_wire_ohm=self.r_wire_ohm,
                     rram=base.rram, access=base.access, v_read_volt=base.v_read_volt,
                     min_uniformity=self.min_uniformity if ir_aware else 0.0)

    def deploy(self, rows: int, cols: int, group: int, base: TileConfig, *,
               g_cell_max_siemens: float | None = None) -> tuple[TileConfig, Placement]:
        """The tile of one placed matrix and its placement (module docstring).

        ``g_cell_max_siemens``: the largest conductance a cell of the matrix is
        expected to hold, for sizing the TIA; default the LRS level (bit cells).
        """
        lay = self.layout(rows, cols, group, base)
        return block_tile(base, lay, cell=self.cell, r_wire_ohm=self.r_wire_ohm,
                          readout=self.readout, g_cell_max_siemens=g_cell_max_siemens), lay

    def describe(self) -> str:
        """The read path in words."""
        wires = f"{self.r_wire_ohm:g} ohm/segment" if self.r_wire_ohm else "no wires"
        return (f"{self.name} read path ({self.cell}, {wires}, {self.readout.replace('_', ' ')}, "
                f"{self.placement.replace('_', '-')} placement, HAQ {self.haq_passes} pass"
                f"{'es' if self.haq_passes > 1 else ''} with {self.verify_read} verify reads)")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def block_tile(base: TileConfig, lay: Placement, *, cell: str, r_wire_ohm: float,
               readout: str, g_cell_max_siemens: float | None = None) -> TileConfig:
    """``base`` cut to the placed block, with the given cell, wires and readout.

    The macro becomes ``lay.rows_used x lay.cols_used`` (the tile then splits
    the matrix as placed), and with ``readout = "tia"`` the TIA's linear range
    (the ADC's full scale) ends at ``v_read * g * lay.rows_used`` with ``g`` the
    LRS level (or ``g_cell_max_siemens`` when given: cells that may read above LRS,
    such as formed random pairs).
    """
    tia = base.tia
    if readout == "tia":
        g = base.rram.g_lrs_siemens if g_cell_max_siemens is None else g_cell_max_siemens
        check_range("g_cell_max_siemens", g, 0.0, 1.0, lo_open=True)
        tia = tia_for_current(base.v_read_volt * g * lay.rows_used, base.tia)
    return replace(base, cell=cell, r_wire_ohm=r_wire_ohm, readout=readout, tia=tia,
                   macro_rows=lay.rows_used, macro_cols=lay.cols_used)


PAPER = ReadPath(name="paper", cell="0T1R", r_wire_ohm=0.0, readout="virtual_ground",
                 placement="full", verify_read="first_order", haq_passes=1)
"""The NF paper's setting: ideal cells and wires, one HAQ pass."""

REALISTIC = ReadPath()
"""The realistic read path: 1T1R, 1.06 ohm segments, TIA, IR-aware placement, 3 HAQ passes."""

READ_PATHS = {"paper": PAPER, "realistic": REALISTIC}


def read_path(name: str, **overrides: Any) -> ReadPath:
    """The named read path with ``overrides`` (fields of :class:`ReadPath`) applied."""
    base = READ_PATHS[check_choice("read path", name, tuple(READ_PATHS))]
    return replace(base, **overrides) if overrides else base
