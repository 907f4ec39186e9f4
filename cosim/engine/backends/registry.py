"""The backend registry: name -> class, and the factory the tile calls.

A new backend is one module implementing :class:`cosim.engine.backends.base.Backend`
plus one line in :data:`BACKENDS` (its name also added to
:data:`cosim.engine.options.BACKEND_NAMES`, where ``SimOptions.backend`` is checked).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from cosim.engine.options import BACKEND_NAMES, SimOptions

if TYPE_CHECKING:
    from cosim.engine.backends.base import Backend
    from cosim.engine.cache import ResultCache
    from cosim.hardware.spec import HardwareSpec

BACKENDS: dict[str, str] = {
    "ideal": "cosim.engine.backends.ideal:IdealBackend",
    "calibrated": "cosim.engine.backends.calibrated:CalibratedBackend",
    "spice": "cosim.engine.backends.spice:SpiceBackend",
}
"""name -> ``module:class``; the names are :data:`cosim.engine.options.BACKEND_NAMES`."""

assert tuple(BACKENDS) == BACKEND_NAMES


def make_backend(hardware: HardwareSpec, sim: SimOptions, cache: ResultCache | None) -> Backend:
    """The backend ``sim.backend`` names, built for ``hardware``."""
    module, cls = BACKENDS[sim.backend].split(":")
    return getattr(importlib.import_module(module), cls)(hardware, sim, cache)
