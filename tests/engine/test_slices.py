"""Column slices of a macro in ngspice, with their boundary from the exact solution,
reproduce the whole macro's ngspice outputs (the basis of ``cosim verify``)."""

from __future__ import annotations

import numpy as np
import pytest

from circuits.cells import ONE_T_ONE_R, ZERO_T_ONE_R
from circuits.crossbar import CrossbarParams, crossbar
from circuits.errors import ConfigError
from circuits.tia import DEFAULT_TIA, tia_for_current
from cosim.engine.backends.spice import SpiceBackend
from cosim.engine.options import SimOptions
from cosim.engine.readout import ColumnReadout
from cosim.engine.slices import _run_slice, check_macro, slice_bounds
from cosim.hardware.presets import preset
from cosim.hardware.spec import HardwareSpec
from tests.hardware_helpers import tile as hw_tile

# Wires and driver much stronger than the presets' (5 and 10 ohm) so that the
# columns couple through the bit lines well above ngspice's tolerances.
WIRES = {"r_wire_bl_ohm": 5.0, "r_wire_sl_ohm": 5.0, "r_driver_ohm": 10.0}


def _macro(cell, rows=16, cols=12, seed=0, **kw) -> tuple[CrossbarParams, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = CrossbarParams(g_siemens=rng.uniform(1e-6, 3e-5, (rows, cols)), cell=cell,
                       **WIRES, **kw)
    return p, rng.uniform(-0.1, 0.1, (3, rows))


def _spice() -> SpiceBackend:
    return SpiceBackend(HardwareSpec(), SimOptions(backend="spice"))


@pytest.mark.ngspice
@pytest.mark.parametrize("cell, bound", [(ZERO_T_ONE_R, 1e-12), (ONE_T_ONE_R, 1e-9)])
def test_slices_reproduce_the_whole_macro_in_ngspice(cell, bound):
    # Measured: 0T1R 5e-15, 1T1R 1.4e-11 of full scale (the exact solution's
    # BSIM4 table against ngspice's BSIM4 is the 1T1R part).
    p, v = _macro(cell)
    y_whole = _spice().currents(p, v)
    checks = check_macro(p, v, y_whole, ColumnReadout(), slice_bounds(12, 4))
    full_scale = np.abs(y_whole).max()
    assert [(c.col0, c.col1) for c in checks] == [(0, 4), (4, 8), (8, 12)]
    for c in checks:
        assert c.max_abs_error_a / full_scale < bound
        assert c.boundary_error_volt < 1e-9


@pytest.mark.ngspice
def test_a_slice_without_its_boundary_is_not_the_macro():
    # The negative control: the middle slice (columns 4-7) driven by the inputs
    # through the driver with open bit-line ends, as if it were a macro of its
    # own, is far off: the boundary is what makes the check above pass.
    p, v = _macro(ZERO_T_ONE_R)
    y_whole = _spice().currents(p, v)
    alone = CrossbarParams(g_siemens=p.g_siemens[:, 4:8], cell=ZERO_T_ONE_R, **WIRES)
    i, _, _ = _run_slice(alone, v, None, 60.0)
    # measured 4.4e-3 of full scale
    assert np.abs(i - y_whole[:, 4:8]).max() / np.abs(y_whole).max() > 1e-4


@pytest.mark.ngspice
def test_slices_with_tia_readout():
    p, v = _macro(ONE_T_ONE_R, readout="tia", tia=DEFAULT_TIA,
                  v_ref_volt=DEFAULT_TIA.v_ref_volt)
    readout = ColumnReadout(kind="tia", tia=DEFAULT_TIA)
    i, v_out = _spice().tia_outputs(p, v)
    y_whole, _ = readout.outputs(i, v_out)
    checks = check_macro(p, v, y_whole, readout, slice_bounds(12, 6), workers=2)
    full_scale = np.abs(y_whole).max()
    # The boundary comes from the TIA's DC model (sense nodes held at its fitted
    # input voltage behind its input resistance), the outputs from its netlist.
    # Measured: 1.4e-11 of full scale, boundary 3e-13 V.
    assert max(c.max_abs_error_a for c in checks) / full_scale < 1e-9
    assert max(c.boundary_error_volt for c in checks) < 1e-9


def test_slice_bounds():
    assert slice_bounds(20, 8) == [(0, 8), (8, 16), (16, 20)]
    assert slice_bounds(20, 7, pairs=True) == [(0, 8), (8, 16), (16, 20)]
    assert slice_bounds(64, 8, count=3) == [(0, 8), (32, 40), (56, 64)]
    assert slice_bounds(16, 8, count=5) == [(0, 8), (8, 16)]
    for bad in ({"cols": 0}, {"cols": 8, "width": 0}, {"cols": 8, "count": -1}):
        with pytest.raises(ConfigError):
            slice_bounds(**bad)


def test_end_currents_are_checked():
    p, v = _macro(ZERO_T_ONE_R, rows=4, cols=3)
    ok = crossbar(p, v, i_end_amp=np.zeros_like(v)).text()
    assert "Bend0 bl0_2 0 I=pwl(v(ctl)," in ok
    assert "Iend3 bl3_2 0 DC 1e-06" in crossbar(p, v[0], i_end_amp=np.full(4, 1e-6)).text()
    for i_end, inputs in ((np.zeros(4), None), (np.zeros((2, 4)), v),
                          (np.full_like(v, np.nan), v), (np.full_like(v, 2.0), v),
                          ("bad", v)):
        with pytest.raises(ConfigError, match="i_end_amp"):
            crossbar(p, inputs, i_end_amp=i_end)


@pytest.mark.ngspice
def test_a_tia_at_the_end_of_its_linear_range_and_beyond():
    """A 2-row 1T1R macro with its TIAs sized to full drive at LRS (as placed tiles
    size them) and cells above LRS, read at rising drive. Inside the linear range
    the model is as exact as anywhere, up to its end (the clamp's tail neglected by
    the DC model stays below 5e-7 there); a vector that saturates a TIA is far off
    and is left out of the comparison and counted."""
    g_lrs, rows, cols = 29.22e-6, 2, 8
    tia = tia_for_current(0.1 * g_lrs * rows)
    t = hw_tile(base=preset("realistic"), backend="calibrated", write_noise=0.0,
                write_noise_hrs=0.0, read_noise=0.0, adc_bits=None, dac_bits=None,
                placement="full", macro_rows=rows, macro_cols=cols, tia=tia)
    t.program(np.full((rows, cols), 1.3 * g_lrs))
    half = t.macro_reads(np.full((1, rows), 0.5))[0][2]
    end = 0.5 * 0.995 * tia.i_linear_max_a / np.abs(half).max()  # the range's last 0.5 %
    drive = np.array([0.5, end, 1.0])
    p, v, y, sat = t.macro_reads(np.repeat(drive[:, None], rows, axis=1))[0]
    assert not sat[:2].any() and sat[2].all()
    readout = ColumnReadout(kind="tia", tia=tia)
    (check,) = check_macro(p, v, y, readout, [(0, cols)], saturated=sat)
    assert check.saturated == cols  # the saturated vector's conversions
    # measured: 3.9e-6 of the linear limit (6.7e-5 with the linear range ending 10
    # knees inside the swing instead of 15)
    assert check.max_abs_error_a / tia.i_linear_max_a < 5e-6
    y_sp, _ = readout.outputs(*_spice().tia_outputs(p, v))
    assert np.abs(y[2] - y_sp[2]).max() / tia.i_linear_max_a > 1e-3  # measured 3.9e-2
