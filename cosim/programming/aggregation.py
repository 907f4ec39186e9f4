"""Folding bit-column currents into weight outputs: digital or through the VCMAC.

A weight stored in ``n`` binary cells in adjacent columns (see
:mod:`cosim.programming.schemes`) gives ``n`` column currents ``I_0 .. I_{n-1}`` (bit 0
the most significant). The output of that weight column is
``sum_j ratio**(-j) * I_j``, formed either

- **digitally**: each column is converted and weighted by the exact power of
  ``1/ratio``; or
- **in analog** by the VCMAC chain (NF paper Fig. 3c,d)::

      I <- s_k * I + I_next      over the bit columns, MSB first,

  which leaves ``sum_j (prod_{k>j} s_k) * I_j``; the digital side scales the
  one final conversion by ``(1/s_rescale)**(n-1)``. ``s_k`` are the chain's real
  stage ratios (the ratio measured by the circuit layer for the switch code,
  optionally with stage-to-stage spread). HAQ programs with the *measured*
  ratio, so the per-bit significances match the chain; we rescale with the
  measured ratio too by default. Rescaling with the nominal ratio (the issue
  text) leaves a global gain ``(s_meas / s_nom)**(n-1)`` (12 % at 12 bits and a
  1 % ratio error), so it is an option, not the default.

The switch code of ``s = 1 + 0.8 C4 + 0.4 C3 + 0.2 C2 + 0.1 C1`` comes from
:mod:`circuits.vcmac`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from circuits.errors import ConfigError, check_choice, check_int, check_range
from circuits.vcmac import CODES, nominal_ratio
from cosim.hardware.spec import AGGREGATIONS
from cosim.programming.base import MAX_BITS, ProgrammedWeights, check_amp_ratio

RESCALES = ("measured", "nominal")


def code_for_ratio(s: float) -> int:
    """VCMAC switch code (1..15) whose nominal ratio is ``s`` (1.1 .. 2.5, step 0.1).

    Raises:
        ConfigError: ``s`` <= 1, or not a ratio the switches can set.
    """
    s = check_amp_ratio(s)
    for code in CODES[1:]:
        if abs(nominal_ratio(code) - s) < 1e-6:
            return code
    near = min(CODES[1:], key=lambda c: abs(nominal_ratio(c) - s))
    raise ConfigError(
        f"the VCMAC cannot set amplification ratio {s:g} (allowed: 1.1 .. 2.5 in steps "
        f"of 0.1, s = 1 + 0.8 C4 + 0.4 C3 + 0.2 C2 + 0.1 C1); nearest is "
        f"{nominal_ratio(near):g} (code {near})"
    )


@dataclass(frozen=True, kw_only=True)
class VcmacRatio:
    """The ratio of one switch code, nominal and as measured.

    Attributes:
        code: switch code 1..15.
        nominal: ``1 + 0.8 C4 + 0.4 C3 + 0.2 C2 + 0.1 C1``.
        measured: the ratio the circuit really has (circuit layer; equals the
            nominal ratio when no characterisation is given).
        stage_spread: relative stage-to-stage spread of the ratio around
            ``measured`` (a standard deviation; 0: every stage the same).
    """

    code: int
    nominal: float
    measured: float
    stage_spread: float = 0.0

    def __post_init__(self) -> None:
        check_amp_ratio(self.measured, "measured VCMAC ratio")
        check_range("stage_spread", self.stage_spread, 0.0, 0.5)

    @property
    def rel_error(self) -> float:
        """Systematic ratio error ``measured / nominal - 1``."""
        return self.measured / self.nominal - 1.0


def vcmac_ratio(s: float, measured: Mapping[int, float] | None = None, *,
                stage_spread: float = 0.0) -> VcmacRatio:
    """The :class:`VcmacRatio` for nominal ratio ``s``.

    Args:
        s: nominal ratio (a switch-code value, 1.1 .. 2.5).
        measured: measured ratio per switch code (e.g. from
            ``cosim.calibration.vcmac.characterise_vcmac``); codes missing are nominal.
        stage_spread: relative stage-to-stage spread of the ratio.
    """
    code = code_for_ratio(s)
    nom = nominal_ratio(code)
    meas = float(measured.get(code, nom)) if measured else nom
    return VcmacRatio(code=code, nominal=nom, measured=meas, stage_spread=stage_spread)


def _split_bits(currents: np.ndarray, n_bits: int) -> np.ndarray:
    i = np.asarray(currents, dtype=float)
    n = check_int("n_bits", n_bits, 1, MAX_BITS)
    if i.shape[-1] % n:
        raise ConfigError(f"{i.shape[-1]} bit columns are not a whole number of {n}-bit weights")
    return i.reshape(*i.shape[:-1], i.shape[-1] // n, n)


def aggregate_digital(currents: np.ndarray, n_bits: int, ratio: float) -> np.ndarray:
    """``sum_j ratio**(-j) * I_j`` with exact powers.

    Args:
        currents: bit-column currents, shape ``(..., cols * n_bits)``, bit 0 of each
            weight first.
        n_bits: bits per weight.
        ratio: significance ratio of neighbouring bits (> 1).

    Returns:
        Shape ``(..., cols)``.
    """
    i = _split_bits(currents, n_bits)
    r = check_amp_ratio(ratio)
    return i @ (r ** -np.arange(i.shape[-1], dtype=float))


def aggregate_vcmac(currents: np.ndarray, n_bits: int, stage_ratios: float | Sequence[float],
                    rescale_ratio: float) -> np.ndarray:
    """The VCMAC chain ``I <- s_k I + I_next``, then ``* (1/rescale_ratio)**(n-1)``.

    Args:
        currents: bit-column currents, shape ``(..., cols * n_bits)``, MSB first.
        n_bits: bits per weight.
        stage_ratios: the chain's ratio, one number or one per stage
            (``n_bits - 1`` values; stage ``k`` multiplies before adding column ``k``).
        rescale_ratio: the ratio the digital side divides out.

    Returns:
        Shape ``(..., cols)``.
    """
    i = _split_bits(currents, n_bits)
    n = i.shape[-1]
    r = np.asarray(stage_ratios, dtype=float)
    if r.ndim == 0:
        r = np.full(n - 1, float(r))
    if r.shape != (n - 1,):
        raise ConfigError(f"stage_ratios needs {n - 1} values for {n} bits, got {r.shape[0]}")
    for v in r:
        check_amp_ratio(v, "VCMAC stage ratio")
    acc = i[..., 0].copy()
    for k in range(1, n):
        acc = r[k - 1] * acc + i[..., k]
    return acc * check_amp_ratio(rescale_ratio) ** -(n - 1)


def vcmac_error_bound(currents: np.ndarray, n_bits: int, ratio: float,
                      rel_error: float) -> np.ndarray:
    """Worst case of ``|analog - digital|`` when every stage ratio is within ``rel_error``.

    With stage ratios ``ratio * (1 + d_k)``, ``|d_k| <= e``, rescaled by ``ratio``,
    bit ``j`` is weighted by ``ratio**-j * prod_{k>j}(1 + d_k)``, so the
    difference is at most ``sum_j |I_j| ratio**-j ((1 + e)**(n-1-j) - 1)``.

    Returns:
        Shape ``(..., cols)``, same units as ``currents``.
    """
    i = np.abs(_split_bits(currents, n_bits))
    n = i.shape[-1]
    j = np.arange(n, dtype=float)
    e = abs(float(rel_error))
    return i @ (check_amp_ratio(ratio) ** -j * ((1.0 + e) ** (n - 1 - j) - 1.0))


@dataclass(frozen=True, kw_only=True)
class Aggregator:
    """How bit-column currents become weight outputs.

    Attributes:
        kind: ``"digital"`` (exact powers of the programmed ratio) or ``"analog"``
            (VCMAC chain).
        stage_ratios: analog only: the chain's actual ratio, one value or one per
            stage; ``None`` uses the programmed ratio.
        rescale: analog only: the ratio the final digital scaling divides out,
            ``"measured"`` (the programmed ratio) or ``"nominal"``.
        nominal_ratio: the nominal switch-code ratio (needed for ``rescale="nominal"``).
    """

    kind: str = "digital"
    stage_ratios: float | tuple[float, ...] | None = None
    rescale: str = "measured"
    nominal_ratio: float | None = None

    def __post_init__(self) -> None:
        check_choice("aggregation", self.kind, AGGREGATIONS)
        check_choice("VCMAC rescale", self.rescale, RESCALES)
        if self.rescale == "nominal" and self.nominal_ratio is None:
            raise ConfigError("rescale='nominal' needs nominal_ratio")

    def __call__(self, currents: np.ndarray, n_bits: int, ratio: float) -> np.ndarray:
        """Aggregate ``currents[..., cols * n_bits]`` of weights programmed with ``ratio``."""
        if self.kind == "digital":
            return aggregate_digital(currents, n_bits, ratio)
        stages = ratio if self.stage_ratios is None else self.stage_ratios
        rescale = ratio if self.rescale == "measured" else self.nominal_ratio
        return aggregate_vcmac(currents, n_bits, stages, rescale)


def outputs_from_currents(pw: ProgrammedWeights, currents: np.ndarray, x: np.ndarray,
                          v_read_volt: float, aggregator: Aggregator | None = None
                          ) -> np.ndarray:
    """MVM outputs in weight x input units from the tile's bit-column currents.

    Removes the level offset ``g_zero`` of every column digitally (from the
    known input sum ``sum_r x_r``; the "universal bias" of the NF paper),
    aggregates, and applies the scheme's scale and offset::

        y = weight_scale * (c0 * agg(I - v sum(x) g_zero) / (g_unit v) + offset sum(x))

    Args:
        pw: the programmed weights.
        currents: tile output, shape ``(B, cols * n_bits)`` (A).
        x: the normalised inputs, shape ``(B, rows)``, in ``[-1, 1]``.
        v_read_volt: the read voltage of a full-scale input (V).
        aggregator: digital by default.

    Returns:
        ``y ~ x @ w``, shape ``(B, cols)``.
    """
    x = np.atleast_2d(np.asarray(x, dtype=float))
    return outputs_from_sums(pw, np.atleast_2d(np.array(currents, dtype=float)),
                             x.sum(axis=1, keepdims=True), v_read_volt, aggregator)


def outputs_from_sums(pw: ProgrammedWeights, currents: np.ndarray, x_sum: np.ndarray,
                      v_read_volt: float, aggregator: Aggregator | None = None) -> np.ndarray:
    """:func:`outputs_from_currents` from the inputs' sums ``x_sum`` ``(B, 1)``
    (``sum_r x_r``), writing over ``currents`` (a float array the caller hands over)."""
    agg = aggregator or Aggregator()
    currents -= v_read_volt * pw.g_zero_siemens * x_sum
    a = agg(currents, pw.n_bits, pw.ratio)  # a new array
    # weight_scale * (c0 * a / (g_unit v) + offset sum(x)), in that order, in place
    a *= pw.c0
    a /= pw.g_unit_siemens * v_read_volt
    a += pw.offset * x_sum
    return np.multiply(a, pw.weight_scale, out=a if np.ndim(pw.weight_scale) <= 1 else None)
