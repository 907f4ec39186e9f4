"""Fixed-point CORDIC sine and cosine, as the digital core computes the encoder's features.

The angle comes in *turns* (``theta = 2 pi t``), which makes range reduction
free in fixed point: keep the fractional part (``t - round(t)`` in
``[-1/2, 1/2]``), fold ``|t| > 1/4`` onto ``[-1/4, 1/4]`` by
``sin(pi - a) = sin a, cos(pi - a) = -cos a``, then run ``iterations``
rotation-mode CORDIC steps (Volder 1959) on integers with ``frac_bits``
fractional bits::

    d = sign(z);  x, y = x - d (y >> i),  y + d (x >> i);  z -= d atan(2^-i) / 2 pi

starting from ``x = 1/K`` (``K = prod sqrt(1 + 2^-2i)``, the CORDIC gain), so
``x -> cos``, ``y -> sin``. Shifts are arithmetic (floor).

Error bound (:func:`error_bound`): after ``n`` steps the residual angle is at
most ``atan(2^-(n-1))`` radians (the last step's angle), which moves sin and
cos by at most that much; each step adds at most one unit in the last place
(``2^-f``) to ``x`` and ``y`` by truncation, grown by at most the gain ``K``,
the quantised start value and angle table add ``n + 2`` more ulps, and
quantising the input angle to ``2^-f`` turns moves it by up to ``pi 2^-f``
radians. So ``|err| <= atan(2^-(n-1)) + (K (n + 1) + n + 2 + pi) 2^-f``, with
``K < 1.65``.

Speed: after range reduction the result depends only on the folded angle, an
integer in ``[-2^f / 4, 2^f / 4]``. Up to ``TABLE_MAX_FRAC_BITS`` the steps are
run once over every such angle and kept as a table (``2^(f-1) + 1`` entries, 8 MiB
at the default 20 bits), so each call is a lookup, bit for bit the iteration's
result; wider words iterate on every call.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from circuits.errors import ConfigError, check_int


@dataclass(frozen=True, kw_only=True)
class CordicConfig:
    """The digital core's CORDIC.

    Attributes:
        iterations: rotation steps, 1..40.
        frac_bits: fractional bits of the fixed-point words (x, y and the angle
            in turns), 4..52; the word is ``frac_bits + 3`` bits with sign.
    """

    iterations: int = 16
    frac_bits: int = 20

    def __post_init__(self) -> None:
        check_int("CORDIC iterations", self.iterations, 1, 40)
        check_int("CORDIC fractional bits", self.frac_bits, 4, 52)


def gain(iterations: int) -> float:
    """CORDIC gain ``K = prod_{i < n} sqrt(1 + 2^-2i)``."""
    i = np.arange(iterations, dtype=float)
    return float(np.prod(np.sqrt(1.0 + 4.0 ** -i)))


def error_bound(cfg: CordicConfig) -> float:
    """Largest ``|sin - sin_cordic|`` or ``|cos - cos_cordic|`` (module docstring)."""
    n, ulp = cfg.iterations, 2.0 ** -cfg.frac_bits
    return float(np.arctan(2.0 ** -(n - 1)) + (gain(n) * (n + 1) + n + 2 + np.pi) * ulp)


TABLE_MAX_FRAC_BITS = 22
"""Widest word whose CORDIC results are tabulated (module docstring; 2^21 + 1 entries)."""


def rotate(z: np.ndarray, frac_bits: int, iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """The CORDIC steps on folded angles ``z`` (integers, ``|z| <= 2^f / 4``): ``(x, y)``,
    the fixed-point ``cos`` and ``sin`` (module docstring)."""
    f, n = frac_bits, iterations
    one = 1 << f
    atan_turns = np.rint(np.arctan(2.0 ** -np.arange(n)) / (2 * np.pi) * one).astype(np.int64)
    x = np.full(z.shape, int(round(one / gain(n))), dtype=np.int64)
    y = np.zeros(z.shape, dtype=np.int64)
    for i in range(n):
        d = np.where(z >= 0, 1, -1)
        x, y = x - d * (y >> i), y + d * (x >> i)
        z = z - d * atan_turns[i]
    return x, y


@functools.lru_cache(maxsize=4)
def _table(frac_bits: int, iterations: int) -> tuple[np.ndarray, np.ndarray]:
    quarter = (1 << frac_bits) >> 2
    x, y = rotate(np.arange(-quarter, quarter + 1, dtype=np.int64), frac_bits, iterations)
    x.flags.writeable = y.flags.writeable = False
    return x, y


def sincos_turns(t: np.ndarray, cfg: CordicConfig = CordicConfig()
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``sin(2 pi t)`` and ``cos(2 pi t)`` by fixed-point CORDIC, elementwise.

    Args:
        t: angles in turns, any shape, finite.
        cfg: iterations and word length.

    Returns:
        ``(sin, cos)`` as floats of ``t``'s shape (the fixed-point results scaled back).
    """
    t = np.asarray(t, dtype=float)
    if not np.all(np.isfinite(t)):
        raise ConfigError("CORDIC inputs hold NaN or infinite values")
    f, n = cfg.frac_bits, cfg.iterations
    one = 1 << f
    # Quantise the fractional part of the angle (turns) to f bits: range reduction.
    tq = np.rint((t - np.rint(t)) * one).astype(np.int64)  # in [-one/2, one/2]
    quarter, half = one >> 2, one >> 1
    flip = np.abs(tq) > quarter
    z = np.where(flip, np.sign(tq) * half - tq, tq)  # in [-one/4, one/4]
    if f <= TABLE_MAX_FRAC_BITS:
        tx, ty = _table(f, n)
        x, y = tx[z + quarter], ty[z + quarter]
    else:
        x, y = rotate(z, f, n)
    sin = y / one
    cos = np.where(flip, -x, x) / one
    return sin, cos


def cordic_steps(values: int, cfg: CordicConfig) -> int:
    """CORDIC iterations spent on ``values`` angles (one sin/cos pair per angle)."""
    return int(values) * cfg.iterations
