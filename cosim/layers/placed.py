"""One matrix placed on the hardware: its placement in macros and the tile of its blocks.

For a ``rows x cols`` cell matrix whose columns come in groups of ``group``
(the bit columns of one weight, or the two columns of a differential pair),
:func:`placed_tile` gives

- the placement (:func:`cosim.engine.placement.place`): IR-aware when the
  hardware's ``array.placement`` says so and the backend sees IR drop (the
  ``ideal`` backend has none and always places in full);
- the tile, on the hardware cut to the placed block (the tile then splits the
  matrix exactly as placed) with the TIA sized to it
  (:func:`circuits.tia.tia_for_current`: its linear range, the ADC's full
  scale, ends at the current of a column of cells at ``g_cell_max`` read at
  full input, ``v_read * g * rows used``; ``g`` the LRS level unless given).

The schemes then decode against the placement's mean attenuation
(``Placement.mean_attenuation``, their read gain).
"""

from __future__ import annotations

from circuits.errors import check_range
from circuits.tia import tia_for_current
from cosim.engine.options import SimOptions
from cosim.engine.placement import Placement, place
from cosim.engine.tile import Tile, make_tile
from cosim.hardware.spec import HardwareSpec


def placement(hardware: HardwareSpec, sim: SimOptions, rows: int, cols: int, group: int
              ) -> Placement:
    """Where a ``rows x cols`` cell matrix (``group`` columns per weight) goes."""
    a = hardware.array
    ir_aware = a.placement == "ir_aware" and sim.backend != "ideal"
    return place(rows, cols, group=group, macro_rows=a.macro_rows, macro_cols=a.macro_cols,
                 cell=hardware.cell.kind, r_wire_ohm=a.r_wire_ohm, rram=hardware.rram,
                 access=hardware.cell.access, v_read_volt=hardware.v_read_volt,
                 min_uniformity=a.min_uniformity if ir_aware else 0.0)


def block_hardware(hardware: HardwareSpec, lay: Placement, *,
                   g_cell_max_siemens: float | None = None) -> HardwareSpec:
    """``hardware`` cut to the placed block, with its TIA sized to it (module docstring)."""
    tia = hardware.readout.tia
    if hardware.readout.kind == "tia":
        g = hardware.rram.g_lrs_siemens if g_cell_max_siemens is None else g_cell_max_siemens
        check_range("g_cell_max_siemens", g, 0.0, 1.0, lo_open=True)
        tia = tia_for_current(hardware.v_read_volt * g * lay.rows_used, tia)
    return hardware.with_block(lay.rows_used, lay.cols_used, tia)


def placed_tile(hardware: HardwareSpec, sim: SimOptions, rows: int, cols: int, group: int, *,
                seed: int = 0, read_noise_draw: str = "per_vector",
                g_cell_max_siemens: float | None = None) -> tuple[Tile, Placement]:
    """The tile of one placed ``rows x cols`` cell matrix, and its placement."""
    lay = placement(hardware, sim, rows, cols, group)
    hw = block_hardware(hardware, lay, g_cell_max_siemens=g_cell_max_siemens)
    return make_tile(hw, sim, seed=seed, read_noise_draw=read_noise_draw), lay
