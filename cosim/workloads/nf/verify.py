"""Spot-check of the deployed neural field against ngspice. No file I/O.

:func:`verify_field` deploys a trained field with HAQ on the ``calibrated``
backend (read noise off: both backends must see the same array), draws a
seeded sample of voxels and runs them through the hardware twice:

- ``calibrated``: the deployed pass as :func:`cosim.workloads.nf.field.evaluate_field`
  runs it (encoder layer, CORDIC, every matrix, activations);
- ``spice``: the same pass with every analog layer's tile replaced by a
  ``spice`` tile holding the *same* programmed array (``Tile.load``: same
  conductances, same macros, same TIA), each layer's input vectors and the
  all-zero vector (its offset read) in one ngspice run per macro. Digital
  steps (CORDIC, biases, activations) are the same code.

Per layer, the column currents of the spice pass's inputs are compared with
the calibrated tile's currents on the same inputs: ``max|I_cal - I_spice| /
max|I_spice|`` (the error "of full scale" of the README and of
``benchmarks/bench_validated_range.py``), checked against the calibrated
backend's stated error for the layer's cells (:func:`stated_error`). End to
end, the intensities of the two passes are compared (data range 1: the
volume is normalised to ``[0, 1]``); the difference includes the sine
activations' amplification (``omega0`` 30) of each layer's error.

Measured (``cosim field verify --model RUN --voxels 8``, RUN = ``cosim field run
--quick --backend calibrated --read-path realistic``, the paper's network, 54
macros + 2 for the encoder, seed 0): encoder 1.6e-5, W_in 2.8e-5, U1 1.9e-5, V1
1.5e-5, W_out 6.0e-5 of full scale; cells up to 44-48 uS (write noise and
forming); end to end 3.1e-5 (data range 1). 1390 s CPU (deploy 961 s and
ngspice 2000 s wall on a shared core, load ~4). The backend's stated error
depends on the block's height (the column wires' IR drop): for cells up to
100 uS at 0.1 V, 4.1e-5 up to 16 rows (encoder: 3 rows, V1: 10), 1.6e-4 up to
64 (U1: blocks of 50 rows), 3.3e-4 up to 128 (W_in: 66, W_out: 100), so every
layer is within it (rerun 2026-11-28: same figures, ``passed: true``, 887 s CPU,
15 min wall on one core). Before the backend was measured on blocks taller than
16 rows, W_out was checked against 4.1e-5 and failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from circuits.errors import check_int, check_range
from cosim.accounting.events import Events
from cosim.engine.backends.calibrated import stated_error as calibrated_stated_error
from cosim.engine.tile import TileConfig, compare, make_tile
from cosim.layers.analog import AnalogLayer
from cosim.programming.aggregation import outputs_from_currents
from cosim.workloads.nf.field import NeuralFieldConfig, Prepared, deploy_field
from cosim.workloads.nf.mlp import Params

ZERO_T_ONE_R_ERROR = 1e-12
"""Stated error of the calibrated 0T1R transfer (exact for a linear network): the README
gives 2.7e-15 to 3.4e-14 of full scale (8x11 to 16x19); we allow 1e-12 for larger blocks."""


def stated_error(cell: str, g_max_siemens: float, v_read_volt: float, rows: int = 16,
                 cols: int = 8) -> tuple[float, str]:
    """The calibrated backend's stated error against spice (of full scale) for a block of
    ``rows x cols`` physical cells of ``cell`` up to ``g_max_siemens`` read at
    ``v_read_volt``, and its source.

    0T1R: :data:`ZERO_T_ONE_R_ERROR`. 1T1R: the fast read model's measured error
    against the exact solution plus the exact model's against ngspice at its default
    tolerances, the spice backend's (``calibrated.stated_error``, from the backend's
    measured-error data); ``inf`` where never measured.
    """
    if cell == "0T1R":
        return ZERO_T_ONE_R_ERROR, "0T1R transfer, exact for a linear network"
    where = f"cells up to {g_max_siemens * 1e6:.4g} uS, blocks of up to {rows} x {cols}"
    measured = calibrated_stated_error(rows, cols, g_max_siemens, v_read_volt,
                                       reference="spice-default-tol")
    if measured is None:
        return float("inf"), f"1T1R fast read model, never measured ({where}): no stated " \
            "error"
    return measured, f"1T1R fast read model ({where}): the backend's measured figure"


END_TO_END_BOUND = 1e-3
"""Largest end-to-end intensity difference accepted (data range 1; a PSNR of 60 dB)."""


@dataclass(frozen=True, kw_only=True)
class VerifyConfig:
    """How many voxels, which ones, and how ngspice runs.

    Attributes:
        voxels: voxels sampled (without replacement, seeded).
        seed: seed of the sample.
        spice_workers: ngspice processes run at once.
        spice_timeout_s: limit of one ngspice run (s).
    """

    voxels: int = 8
    seed: int = 0
    spice_workers: int = 1
    spice_timeout_s: float = 600.0

    def __post_init__(self) -> None:
        check_int("voxels", self.voxels, 1, 10**5)
        check_int("seed", self.seed, 0, 2**32 - 1)
        check_int("spice_workers", self.spice_workers, 1, 64)
        check_range("spice_timeout_s", self.spice_timeout_s, 0.0, lo_open=True)


@dataclass(frozen=True, kw_only=True)
class LayerCheck:
    """One analog layer on both backends, on the spice pass's inputs.

    Attributes:
        name: ``encoder`` or the matrix's name.
        rows, cols: logical shape of the matrix (inputs, outputs).
        bits: cells per weight (1 for the encoder's pairs).
        cell: the tile's cell.
        g_max_siemens: the largest cell conductance the layer holds (S).
        macros: macros the layer takes.
        max_rel_error: ``max|I_cal - I_spice| / max|I_spice|`` over every column
            current of the sampled voxels and the offset read.
        max_abs_error_a: ``max|I_cal - I_spice|`` (A).
        output_max_abs_diff: ``max|y_cal - y_spice|`` in the layer's output units.
        output_scale: ``max|y_spice|``.
        bound: the calibrated backend's stated error for these cells (:func:`stated_error`).
        bound_source: where ``bound`` comes from.
        spice_s: wall time of the spice run (s).
    """

    name: str
    rows: int
    cols: int
    bits: int
    cell: str
    g_max_siemens: float
    macros: int
    max_rel_error: float
    max_abs_error_a: float
    output_max_abs_diff: float
    output_scale: float
    bound: float
    bound_source: str
    spice_s: float

    @property
    def within(self) -> bool:
        """Within a stated error; a case the backend never measured (``bound`` inf) is not."""
        return bool(np.isfinite(self.bound)) and self.max_rel_error <= self.bound

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "within": self.within}


@dataclass(frozen=True, kw_only=True, eq=False)
class FieldVerification:
    """Outcome of :func:`verify_field`.

    Attributes:
        config: the field (calibrated backend, no read noise).
        verify: the sample.
        voxels: indices of the sampled voxels (C order of the volume).
        y_calibrated, y_spice: their intensities on both passes.
        layers: the per-layer checks, in pass order.
        timings_s: deploy, calibrated pass, spice pass (s).
    """

    config: NeuralFieldConfig
    verify: VerifyConfig
    voxels: np.ndarray
    y_calibrated: np.ndarray
    y_spice: np.ndarray
    layers: list[LayerCheck]
    timings_s: dict[str, float]

    @property
    def end_to_end_max_abs(self) -> float:
        return float(np.max(np.abs(self.y_calibrated - self.y_spice)))

    @property
    def passed(self) -> bool:
        return all(c.within for c in self.layers) and self.end_to_end_max_abs <= END_TO_END_BOUND

    def summary(self) -> dict[str, Any]:
        worst = max(self.layers, key=lambda c: c.max_rel_error / c.bound
                    if np.isfinite(c.bound) else np.inf)
        return {
            "read_path": self.config.read_path_text(), "read_path_name": self.config.read_path,
            "backend": "calibrated vs spice", "voxels": int(self.voxels.size),
            "layers": [c.as_dict() for c in self.layers],
            "max_layer_error": max(c.max_rel_error for c in self.layers),
            "worst_layer": worst.name, "layers_within_bound": all(c.within for c in self.layers),
            "end_to_end_max_abs": self.end_to_end_max_abs,
            "end_to_end_bound": END_TO_END_BOUND,
            "end_to_end_rel": self.end_to_end_max_abs
            / max(float(np.max(np.abs(self.y_spice))), 1e-30),
            "passed": self.passed,
            "error_convention": "max|I_cal - I_spice| / max|I_spice| over each layer's column "
                                "currents (of full scale); end to end: intensities, data range 1",
            "timings_s": dict(self.timings_s),
        }

    def table(self):
        import pandas as pd

        return pd.DataFrame([c.as_dict() for c in self.layers])


class _Probe:
    """A layer stand-in for the spice pass: runs the inputs on a spice copy of ``layer``'s
    tile and records the error of the calibrated tile on the same inputs."""

    def __init__(self, name: str, layer: AnalogLayer, vcfg: VerifyConfig,
                 checks: list[LayerCheck], progress: Callable[[str], None] | None):
        self.name, self.layer, self.checks, self.progress = name, layer, checks, progress
        self.input_scale = layer.input_scale
        layer.forward(np.zeros((1, layer.in_features)))  # loads the array into its tile
        cal_cfg: TileConfig = layer.tile.config
        self.spice = make_tile(replace(cal_cfg, backend="spice", spice_workers=vcfg.spice_workers,
                                       spice_timeout_s=vcfg.spice_timeout_s,
                                       spice_chunk=vcfg.voxels + 1))
        self.spice.load(layer.tile.holds)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Events]:
        layer, pw = self.layer, self.layer.programmed
        s = self.input_scale
        a = np.vstack([np.asarray(x, dtype=float) / s, np.zeros((1, x.shape[1]))])
        if self.progress is not None:
            self.progress(self.name)
        t0 = time.perf_counter()
        i_sp = self.spice.mvm(a).y
        spice_s = time.perf_counter() - t0
        layer.forward(x[:1])  # make sure the calibrated tile holds this layer's array
        i_cal = layer.tile.mvm(a).y
        v = layer.tile.config.v_read_volt

        def out(i: np.ndarray) -> np.ndarray:  # as AnalogLayer.forward, offset read included
            return outputs_from_currents(pw, i[:-1] - i[-1], a[:-1], v, layer.aggregator) * s

        y_sp, y_cal = out(i_sp), out(i_cal)
        err = compare(i_cal, i_sp)
        cell = layer.tile.config.cell
        arr = layer.tile.holds
        g_max = float(max(np.max(g) for g in (arr.actual_siemens, arr.actual_neg_siemens)
                          if g is not None))
        rows = max(b.row1 - b.row0 for b in arr.blocks)
        cols = max(b.col1 - b.col0 for b in arr.blocks) * (2 if arr.differential else 1)
        bound, source = stated_error(cell, g_max, v, rows, cols)
        self.checks.append(LayerCheck(
            name=self.name, rows=pw.rows, cols=pw.cols, bits=pw.n_bits, cell=cell,
            g_max_siemens=g_max, macros=len(arr.blocks), max_rel_error=err["max_rel_error"],
            max_abs_error_a=err["max_abs_error"],
            output_max_abs_diff=float(np.max(np.abs(y_cal - y_sp))),
            output_scale=float(np.max(np.abs(y_sp))), bound=bound, bound_source=source,
            spice_s=spice_s))
        return y_sp, Events()


def verify_field(cfg: NeuralFieldConfig, prep: Prepared, params: Params,
                 vcfg: VerifyConfig = VerifyConfig(), *,
                 progress: Callable[[str], None] | None = None) -> FieldVerification:
    """Deploy ``params`` with HAQ on ``calibrated`` and check a voxel sample against spice.

    Args:
        cfg: the field; its backend is set to ``calibrated`` and its read noise to 0.
        prep: the volume and encoder of ``cfg`` (:func:`cosim.workloads.nf.field.prepare`
            with the same config).
        params: trained parameters.
        vcfg: the sample and ngspice settings.
        progress: called with each layer's name before its spice run.
    """
    cfg = replace(cfg, backend="calibrated", read_noise=0.0)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    dep = deploy_field(cfg, prep, params, "haq")
    timings["deploy_haq"] = time.perf_counter() - t0
    n = len(prep.x)
    idx = np.sort(np.random.default_rng(vcfg.seed).choice(n, min(vcfg.voxels, n),
                                                          replace=False))
    x = prep.x[idx]

    t0 = time.perf_counter()
    feats, _, _ = prep.encoder.deployed(x)
    y_cal = dep.forward(feats)[0]
    timings["calibrated_pass"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    checks: list[LayerCheck] = []
    enc = prep.encoder
    if enc.layer is not None:
        enc = replace(enc, layer=_Probe("encoder", enc.layer, vcfg, checks, progress))
    probes = {k: _Probe(k, layer, vcfg, checks, progress) for k, layer in dep.layers.items()}
    feats_sp, _, _ = enc.deployed(x)
    y_sp = replace(dep, layers=probes).forward(feats_sp)[0]
    timings["spice_pass"] = time.perf_counter() - t0
    return FieldVerification(config=cfg, verify=vcfg, voxels=idx, y_calibrated=y_cal,
                             y_spice=y_sp, layers=checks, timings_s=timings)
