"""The error each backend states against ngspice (what ``cosim verify`` holds layers to).

The 1T1R figures are the shipped measurements (``cosim/engine/data/measured_error.csv``,
``benchmarks/bench_validated_range.py``): the fast read model against the exact one for
the covering block, plus the exact model against ngspice at its default tolerances. The
covering rule itself is tested on a made-up table in ``test_measured_error.py``.
"""

from __future__ import annotations

import math

import pytest

from circuits.cells import ONE_T_ONE_R, ZERO_T_ONE_R
from cosim.engine.stated import ZERO_T_ONE_R_ERROR, stated_error

EXACT_VS_NGSPICE_60US_01V = 2.0e-7
"""The exact model's largest measured error against ngspice (default tolerances) for
cells up to 60 uS read at up to 0.1 V (a 256 x 8 block)."""

EXACT_VS_NGSPICE_60US_05V = 5.1e-6
"""The same for reads up to 0.5 V (a 256 x 8 block)."""


def test_stated_error_follows_the_block_height_and_never_passes_unmeasured_cases():
    """Cells up to 48 uS (covered by the 60 uS cases): at 0.1 V the fast model's largest
    measured error over the blocks up to the covering one is 6.0e-6 (a 2 x 8 block)
    whatever the height (the per-column correction takes tall blocks below it); at 0.5 V
    3.4e-5 up to 16 rows (2 x 8) and 8.7e-4 up to 512 rows (512 x 8); each plus the
    exact model's error against ngspice; no bound where never measured (taller than 512
    rows; reads of 1 V, where the exact model was never run against default-tolerance
    ngspice; 512 x 512 and 256 x 512 blocks)."""
    def bound(g, v, rows, cols):
        return stated_error("calibrated", ONE_T_ONE_R, g, v, rows, cols)[0]

    assert bound(48e-6, 0.1, 10, 8) == pytest.approx(6.0e-6 + EXACT_VS_NGSPICE_60US_01V)
    assert bound(48e-6, 0.1, 100, 8) == pytest.approx(6.0e-6 + EXACT_VS_NGSPICE_60US_01V)
    assert bound(48e-6, 0.1, 200, 8) == pytest.approx(6.0e-6 + EXACT_VS_NGSPICE_60US_01V)
    assert bound(48e-6, 0.5, 10, 8) == pytest.approx(3.4e-5 + EXACT_VS_NGSPICE_60US_05V)
    assert bound(48e-6, 0.5, 300, 8) == pytest.approx(8.7e-4 + EXACT_VS_NGSPICE_60US_05V)
    # HRS-LRS cells at 0.2 V up to 16 x 8: 2.5e-6 (2 x 8), plus 1.1e-6 (exact model, 512 x 8)
    assert bound(20e-6, 0.2, 16, 8) == pytest.approx(2.5e-6 + 1.1e-6)
    for unmeasured in [(48e-6, 0.1, 600, 8), (48e-6, 1.0, 16, 8), (48e-6, 2.5, 16, 8),
                       (48e-6, 0.1, 512, 512), (48e-6, 0.1, 200, 400)]:
        value, source = stated_error("calibrated", ONE_T_ONE_R, *unmeasured)
        assert value == math.inf and "never measured" in source, unmeasured
    assert "measured figure" in stated_error("calibrated", ONE_T_ONE_R, 48e-6, 0.1, 10, 8)[1]


def test_other_backends_and_linear_cells():
    assert stated_error("calibrated", ZERO_T_ONE_R, 1e-4, 0.3, 512, 512)[0] == ZERO_T_ONE_R_ERROR
    assert stated_error("ideal", ZERO_T_ONE_R, 1e-4, 0.3, 8, 8)[0] == math.inf
    assert stated_error("spice", ONE_T_ONE_R, 1e-4, 0.3, 8, 8)[0] == 0.0
