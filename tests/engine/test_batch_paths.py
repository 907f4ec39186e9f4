"""The batch paths of a tile's read give the numbers of the plain formulas, to the bit.

The readout, pair difference and ADC run over a macro's outputs in slices of rows
(``cosim.engine.tile.ROW_CHUNK_ELEMENTS``), the TIA's model in two work arrays
(:func:`cosim.engine.readout.tia_outputs_amperes`), the DAC in place when the caller
hands its inputs over: none of it may change a number or an event.
"""

from __future__ import annotations

import numpy as np
import pytest

from circuits.errors import ConfigError
from circuits.tia import DEFAULT_TIA
from cosim.engine import tile as tile_module
from cosim.engine.periphery import dac
from cosim.engine.readout import tia_output, tia_outputs_amperes, tia_saturated
from tests.hardware_helpers import tile

pytestmark = pytest.mark.filterwarnings("ignore::cosim.engine.readout.ReadoutSaturated")


def _currents(rng, shape) -> np.ndarray:
    """Currents across the TIA's linear range and past it on both sides."""
    top = DEFAULT_TIA.i_linear_max_a
    i = rng.uniform(-2.5 * top, 2.5 * top, size=shape)
    i.flat[:4] = (0.0, -0.0, top, -top)
    return i


def test_fused_tia_outputs_are_tia_output_and_tia_saturated_to_the_bit(rng) -> None:
    tia = DEFAULT_TIA
    i = _currents(rng, (300, 7))
    v_out = tia_output(tia, i)
    y, sat = tia_outputs_amperes(tia, i)
    np.testing.assert_array_equal(y, (v_out - tia.v_ref_volt) / -tia.r_f_ohm)
    np.testing.assert_array_equal(sat, tia_saturated(tia, i, v_out))
    assert sat.any() and not sat.all()  # both sides of the range were exercised
    y0, sat0 = tia_outputs_amperes(tia, np.float64(i[0, 2]))  # a 0-d current
    assert y0.shape == () and y0 == y[0, 2] and sat0 == sat[0, 2]


def _noisy_tia_tile(seed: int):
    """A calibrated 0T1R tile with wires, TIA, ADC and per-call read noise, over 2 x 2
    macros of differential pairs, a few columns pushed past the ADC's full scale."""
    return tile(seed=seed, read_noise_draw="per_call", backend="calibrated",
                r_wire_ohm=1.0, readout="tia", adc_bits=6, adc_full_scale_a=3e-6,
                read_noise=0.01, macro_rows=12, macro_cols=8)


def test_tile_read_in_row_slices_equals_the_whole_batch(rng, monkeypatch) -> None:
    g = rng.uniform(2e-6, 30e-6, size=(20, 6))
    gn = rng.uniform(2e-6, 30e-6, size=(20, 6))
    x = rng.uniform(-1, 1, size=(53, 20))
    results = []
    for chunk in (10**9, 7):  # one slice (the whole batch), and ragged slices of 1 row
        monkeypatch.setattr(tile_module, "ROW_CHUNK_ELEMENTS", chunk)
        t = _noisy_tia_tile(seed=3)
        t.program(g, gn)
        results.append([t.mvm(x) for _ in range(2)])  # two calls: two read-noise draws
    for whole, sliced in zip(*results, strict=True):
        np.testing.assert_array_equal(sliced.y, whole.y)
        assert sliced.events == whole.events
    assert results[0][0].events.saturated_conversions > 0
    assert len(t.array.blocks) == 4


def test_mvm_overwriting_its_input_gives_the_same_numbers(rng) -> None:
    g = rng.uniform(2e-6, 30e-6, size=(20, 6))
    x = rng.uniform(-1, 1, size=(9, 20))
    kept, handed = x.copy(), x.copy()
    a, b = _noisy_tia_tile(seed=5), _noisy_tia_tile(seed=5)
    a.program(g)
    b.program(g)
    ra, rb = a.mvm(kept), b.mvm(handed, overwrite_x=True)
    np.testing.assert_array_equal(rb.y, ra.y)
    assert rb.events == ra.events
    np.testing.assert_array_equal(kept, x)  # not handed over: untouched


@pytest.mark.parametrize("bits", [None, 4])
def test_dac_in_place_equals_dac(rng, bits) -> None:
    x = rng.uniform(-1, 1, size=(5, 8))
    want = dac(x, 0.1, bits)
    got = dac(x, 0.1, bits, out=x)
    assert got is x
    np.testing.assert_array_equal(got, want)
    if bits is not None:  # on the converter's levels: multiples of 0.1 V / 7
        codes = want / 0.1 * 7
        np.testing.assert_allclose(codes, np.round(codes), atol=1e-9)


def test_mvm_refuses_infinite_and_too_negative_inputs(rng) -> None:
    t = tile()
    t.program(rng.uniform(2e-6, 30e-6, size=(4, 3)))
    with pytest.raises(ConfigError, match="x holds NaN or infinite"):
        t.mvm(np.array([[0.1, -np.inf, 0.0, 0.0]]))
    with pytest.raises(ConfigError, match=r"normalised to \[-1, 1\].*up to 1.5"):
        t.mvm(np.array([[0.1, -1.5, 0.0, 0.0]]))
