"""How a run is simulated, apart from the hardware it simulates: :class:`SimOptions`.

The physics lives in :class:`cosim.hardware.spec.HardwareSpec`; this is the
fidelity and the machinery: which backend solves the arrays, whether nonlinear
arrays are solved exactly, how read noise is applied to an extracted transfer,
the result cache, and how ngspice runs. The same hardware gives the same
answer on every backend within that backend's stated error.

``backend`` is validated here and only here, against the backend registry's
names (:data:`BACKEND_NAMES`). This module is a leaf: it imports :mod:`circuits` only.
"""

from __future__ import annotations

from dataclasses import dataclass

from circuits.errors import ConfigError, check_choice, check_int, check_range

BACKEND_NAMES = ("ideal", "calibrated", "spice")
"""The tile backends (:data:`cosim.engine.backends.registry.BACKENDS` maps each to its
class): ``ideal`` (``x @ G``), ``calibrated`` (the wired network's extracted
transfer; 1T1R: its fast or exact read model), ``spice`` (ngspice)."""
READ_NOISE_METHODS = ("first_order", "exact")
SPICE_MODES = ("batched", "per_vector")


@dataclass(frozen=True, kw_only=True)
class SimOptions:
    """How the tiles compute.

    Attributes:
        backend: ``ideal``, ``calibrated`` or ``spice`` (:data:`BACKEND_NAMES`).
        exact_nonlinear: ``calibrated`` only: solve nonlinear arrays with the exact
            read model (every input vector to convergence) instead of the fast one
            (every cell's chord over the read range,
            :mod:`cosim.engine.read_models`); ``None`` decides by the cell: exact
            for a nonlinear RRAM I-V law, fast for linear RRAM behind an access
            transistor, whose stated error is measured data
            (:mod:`cosim.engine.stated`).
        read_noise_method: ``calibrated`` only: ``first_order`` (scale each entry of
            the extracted transfer by its cell's noise factor) or ``exact``
            (re-solve the noisy network); :mod:`cosim.engine.backends.calibrated`.
        use_cache: keep SPICE results and extracted transfers in the content-hash
            cache (:mod:`cosim.engine.cache`).
        spice_chunk: ``spice`` only: input vectors per ngspice run.
        spice_mode: ``spice`` only: ``batched`` (one DC sweep per chunk) or
            ``per_vector`` (one ngspice run per vector).
        spice_workers: ngspice processes run at once.
        spice_timeout_s: longest one ngspice run may take (s).
    """

    backend: str = "calibrated"
    exact_nonlinear: bool | None = None
    read_noise_method: str = "first_order"
    use_cache: bool = True
    spice_chunk: int = 100
    spice_mode: str = "batched"
    spice_workers: int = 1
    spice_timeout_s: float = 600.0

    def __post_init__(self) -> None:
        check_choice("backend", self.backend, BACKEND_NAMES)
        if self.exact_nonlinear not in (None, True, False):
            raise ConfigError(f"exact_nonlinear must be true, false or none, got "
                              f"{self.exact_nonlinear!r}")
        check_choice("read_noise_method", self.read_noise_method, READ_NOISE_METHODS)
        if not isinstance(self.use_cache, bool):
            raise ConfigError(f"use_cache must be true or false, got {self.use_cache!r}")
        check_int("spice_chunk", self.spice_chunk, 1, 10**6)
        check_choice("spice_mode", self.spice_mode, SPICE_MODES)
        check_int("spice_workers", self.spice_workers, 1, 1024)
        check_range("spice_timeout_s", self.spice_timeout_s, 0.0, 7 * 24 * 3600.0,
                    lo_open=True)

    def describe(self) -> str:
        """The options in one line."""
        extra = ""
        if self.backend == "calibrated" and self.exact_nonlinear is not None:
            extra = ", exact read model" if self.exact_nonlinear else ", fast read model"
        return f"{self.backend} backend{extra}"
