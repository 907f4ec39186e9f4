"""Array periphery: the input DAC and the output ADC.

Both converters are signed, symmetric and mid-tread: ``bits`` bits give the
``2**bits - 1`` levels ``k * lsb`` for ``|k| <= 2**(bits-1) - 1``, so zero is
exact and the range is the same on both sides. ``bits=None`` is an ideal
converter (no quantisation).

- DAC: a normalised input ``x`` in ``[-1, 1]`` becomes the row voltage
  ``round(x * L) / L * v_read_volt`` with ``L = 2**(bits-1) - 1``. Inputs
  outside ``[-1, 1]`` are refused (the workload scales its data; nothing is
  clamped silently).
- ADC: a column current ``i`` becomes ``clip(round(i / lsb), -L, L) * lsb``
  with ``lsb = full_scale / L``. Saturation at full scale is what a real ADC
  does, so it clips; ``adc_saturated`` says which conversions clipped, and
  the tile counts and reports them (``cosim.engine.readout``), so nothing is
  clipped silently.

Read noise lives in ``cosim.engine.noise``; it acts on conductances, not here.
"""

from __future__ import annotations

import numpy as np

from circuits.errors import ConfigError


def levels(bits: int) -> int:
    """Largest code magnitude ``L = 2**(bits-1) - 1`` of a signed mid-tread converter."""
    return 2 ** (bits - 1) - 1


def dac(x: np.ndarray, v_read_volt: float, bits: int | None, *,
        out: np.ndarray | None = None) -> np.ndarray:
    """Row voltages (V) for normalised inputs ``x`` in ``[-1, 1]``.

    Args:
        x: inputs, any shape, already checked to lie in ``[-1, 1]``.
        v_read_volt: voltage of input 1.0 (full scale).
        bits: DAC resolution; ``None`` for an ideal DAC.
        out: where to write the voltages (``x`` itself may be given); a new array if
            ``None``.
    """
    x = np.asarray(x, dtype=float)
    if bits is not None:
        n = levels(bits)
        x = np.multiply(x, n, out=out)
        np.round(x, out=x)
        x /= n
        out = x
    return np.multiply(x, v_read_volt, out=out)


def adc(i_a: np.ndarray, full_scale_a: float | np.ndarray,
        bits: int | None) -> np.ndarray:
    """Quantised column currents (A).

    Args:
        i_a: analog column currents, shape ``(B, cols)``.
        full_scale_a: current of the top code, scalar or per column ``(cols,)``.
        bits: ADC resolution; ``None`` for an ideal ADC (returns ``i_a``).
    """
    if bits is None:
        return np.asarray(i_a, dtype=float)
    codes, n, lsb = _codes(i_a, full_scale_a, bits)
    return np.clip(codes, -n, n) * lsb


def _codes(i_a: np.ndarray, full_scale_a: float | np.ndarray, bits: int
           ) -> tuple[np.ndarray, int, np.ndarray]:
    """Unclipped ADC codes of ``i_a``, the top code ``L`` and the LSB (A)."""
    n = levels(bits)
    lsb = np.asarray(full_scale_a, dtype=float) / n
    return np.round(np.asarray(i_a, dtype=float) / lsb), n, lsb


def adc_saturated(i_a: np.ndarray, full_scale_a: float | np.ndarray,
                  bits: int | None) -> np.ndarray:
    """Which conversions of ``adc`` clip: the code of ``i_a`` lies beyond ``+-L``.

    Args:
        i_a: analog column currents, shape ``(B, cols)``.
        full_scale_a: current of the top code, scalar or per column ``(cols,)``.
        bits: ADC resolution; ``None`` (ideal, never clips) gives all ``False``.

    Returns:
        Boolean array of the shape of ``i_a``.
    """
    if bits is None:
        return np.zeros(np.shape(i_a), dtype=bool)
    codes, n, _ = _codes(i_a, full_scale_a, bits)
    return np.abs(codes) > n


def check_inputs(x: object, rows: int, name: str = "x") -> np.ndarray:
    """Validate MVM inputs: finite, within ``[-1, 1]``, shape ``(B, rows)`` or ``(rows,)``.

    Returns:
        A float array of shape ``(B, rows)``.
    """
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a numeric array of shape (B, {rows})") from None
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != rows:
        raise ConfigError(f"{name} must have shape (B, {rows}) or ({rows},), got {np.shape(x)}")
    if a.shape[0] == 0:
        raise ConfigError(f"{name} holds no input vectors (B = 0)")
    lo, hi = float(np.min(a)), float(np.max(a))  # NaN in either where any is NaN
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ConfigError(f"{name} holds NaN or infinite values")
    worst = max(-lo, hi)  # max |a|, without an |a| array
    if worst > 1.0:
        raise ConfigError(
            f"{name} must be normalised to [-1, 1] (the DAC's full scale), got |x| up to {worst:g}"
        )
    return a
