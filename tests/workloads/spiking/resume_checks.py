"""Checks shared by the resume tests of the spiking networks (SNN, inpainting VAE)."""

from __future__ import annotations

import numpy as np


def assert_trains_on_as_uninterrupted(first, whole, resumed, *, min_step: float) -> None:
    """``resumed`` (``first``, one epoch, saved, loaded and trained one more) is where
    ``whole`` (two epochs in one go) is, to float rounding: every score within 1e-3 of
    the second epoch's mean step, which moved every layer by more than ``min_step``."""
    for a, b in zip(resumed.opt_state, whole.opt_state, strict=True):
        assert np.shape(a) == np.shape(b)
    assert len(resumed.history) == len(whole.history) == 2
    step = [np.abs(a - b) for a, b in zip(whole.params["scores"], first.params["scores"],
                                          strict=True)]
    assert min(float(d.mean()) for d in step) > min_step  # the second epoch moved each layer
    for a, b, d in zip(resumed.params["scores"], whole.params["scores"], step, strict=True):
        assert float(np.abs(a - b).max()) < 1e-3 * float(d.mean())
