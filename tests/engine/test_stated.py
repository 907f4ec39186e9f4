"""The error each backend states against ngspice (what ``cosim verify`` holds layers to)."""

from __future__ import annotations

import math

from circuits.cells import ONE_T_ONE_R, ZERO_T_ONE_R
from cosim.engine.stated import ZERO_T_ONE_R_ERROR, stated_error


def test_stated_error_follows_the_block_height_and_never_passes_unmeasured_cases():
    """The backend's measured figure for the block's height (cells up to 100 uS at 0.1 V:
    4.1e-5 up to 16 rows, 3.3e-4 up to 128); a case never measured has no bound."""
    assert stated_error("calibrated", ONE_T_ONE_R, 48e-6, 0.1, 10, 8)[0] == 4.1e-5
    assert stated_error("calibrated", ONE_T_ONE_R, 48e-6, 0.1, 100, 8)[0] == 3.3e-4
    assert stated_error("calibrated", ONE_T_ONE_R, 20e-6, 0.2, 16, 8)[0] == 1e-5
    bound, source = stated_error("calibrated", ONE_T_ONE_R, 48e-6, 0.1, 200, 8)
    assert bound == math.inf and "never measured" in source


def test_other_backends_and_linear_cells():
    assert stated_error("calibrated", ZERO_T_ONE_R, 1e-4, 0.3, 512, 512)[0] == ZERO_T_ONE_R_ERROR
    assert stated_error("ideal", ZERO_T_ONE_R, 1e-4, 0.3, 8, 8)[0] == math.inf
    assert stated_error("spice", ONE_T_ONE_R, 1e-4, 0.3, 8, 8)[0] == 0.0
