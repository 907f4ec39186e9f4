"""Hardware for tests, set by flat names: ``hw(cell="1T1R", r_wire_ohm=1.0, readout="tia")``.

Tests set a few fields of :class:`cosim.hardware.spec.HardwareSpec` at a time;
this maps each flat name to its part. The base is bare hardware: 0T1R cells,
1 ohm wire segments, an ideal virtual ground, no converters, no noise, every
row and column of 512 x 512 macros (``bare``).
"""

from __future__ import annotations

from typing import Any

from cosim.engine.options import SimOptions
from cosim.engine.tile import Tile, make_tile
from cosim.hardware.presets import preset
from cosim.hardware.spec import HardwareSpec

PARTS = {
    "kind": ("cell", "kind"), "cell": ("cell", "kind"), "rram": ("cell", "rram"),
    "access": ("cell", "access"),
    "r_wire_ohm": ("array", "r_wire_ohm"), "r_driver_ohm": ("array", "r_driver_ohm"),
    "r_sense_ohm": ("array", "r_sense_ohm"), "macro_rows": ("array", "macro_rows"),
    "macro_cols": ("array", "macro_cols"), "placement": ("array", "placement"),
    "min_uniformity": ("array", "min_uniformity"),
    "readout": ("readout", "kind"), "tia": ("readout", "tia"),
    "v_read_volt": ("readout", "v_read_volt"), "dac_bits": ("readout", "dac_bits"),
    "adc_bits": ("readout", "adc_bits"), "adc_full_scale_a": ("readout", "adc_full_scale_a"),
    "read_noise": ("noise", "read"), "read_noise_scale": ("noise", "read"),
    "write_noise": ("noise", "write"), "write_noise_hrs": ("noise", "write_hrs"),
    "forming": ("noise", "forming"),
    "verify_read": ("programming", "verify_read"), "haq_passes": ("programming", "haq_passes"),
    "aggregation": ("aggregation", "kind"),
}
SIM_KEYS = {"backend", "exact_nonlinear", "read_noise_method", "use_cache", "spice_chunk",
            "spice_mode", "spice_workers", "spice_timeout_s"}


def bare() -> HardwareSpec:
    """0T1R, 1 ohm segments, virtual ground, no converters, no noise, full placement."""
    return preset("paper").with_parts(array={"r_wire_ohm": 1.0},
                                      noise={"write": 0.0, "read": 0.0})


def hw(base: HardwareSpec | None = None, **flat: Any) -> HardwareSpec:
    """``base`` (default :func:`bare`) with flat-named fields set."""
    parts: dict[str, dict[str, Any]] = {}
    for name, value in flat.items():
        part, field = PARTS[name]
        parts.setdefault(part, {})[field] = value
    return (base or bare()).with_parts(**parts)


def sim(**kw: Any) -> SimOptions:
    """``SimOptions`` with the cache off unless asked (tests make new arrays)."""
    return SimOptions(**{"use_cache": False, **kw})


def tile(*, seed: int = 0, read_noise_draw: str = "per_vector", cache=None,
         base: HardwareSpec | None = None, **flat: Any) -> Tile:
    """A tile from flat names: hardware fields, ``SimOptions`` fields, seed, draw."""
    sim_kw = {k: flat.pop(k) for k in list(flat) if k in SIM_KEYS}
    sim_kw.setdefault("backend", "ideal")
    return make_tile(hw(base, **flat), sim(**sim_kw), seed=seed,
                     read_noise_draw=read_noise_draw, cache=cache)
