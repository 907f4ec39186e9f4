"""A recorded layer's macro against ngspice (``cosim verify``'s unit of work)."""

from __future__ import annotations

import numpy as np
import pytest

from cosim.layers.record import record_layers
from cosim.layers.spice_check import CheckOptions, check_macro_of
from tests.layers.test_record import _layers


@pytest.mark.ngspice
@pytest.mark.slow
def test_weak_inputs_are_judged_on_the_macros_full_scale():
    """The stated error is measured of the output at full drive (every row at +-1); a
    layer that only ever saw weak inputs is held to the same full scale, not to its
    own small outputs (which would inflate the same absolute error tenfold)."""
    layers, rng = _layers()
    weak = 0.05 * rng.uniform(-1, 1, (3, 20))
    rec = record_layers({"haq": layers["haq"]}, lambda: layers["haq"].forward(weak))[0]
    check = check_macro_of(rec, 0, CheckOptions(vectors=3, slices=1))
    assert check.vectors == 5  # the three recorded vectors and the two full-drive ones
    _, _, y_weak, _ = rec.tile().macro_reads(weak)[0]
    assert check.full_scale_a > 10 * np.abs(y_weak).max()
    assert 0 < check.max_rel_error <= check.stated_error
