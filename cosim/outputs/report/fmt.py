"""Numbers as the report prints them: 3-4 significant digits, SI prefixes, no exponents.

:func:`si` writes one quantity with its unit (``3.41 fJ``); :func:`num` a plain
number (``0.06774``, ``12,345``, ``12.35 M`` for counts); :func:`column_scale`
picks one prefix for a table column so its header carries the unit
(``energy per inference (pJ)``) and its cells plain numbers.
"""

from __future__ import annotations

import math

import numpy as np

PREFIXES = {-18: "a", -15: "f", -12: "p", -9: "n", -6: "µ", -3: "m", 0: "", 3: "k", 6: "M",
            9: "G", 12: "T", 15: "P"}


def _finite(v: object) -> float | None:
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _exp3(x: float) -> int:
    """The multiple of 3 at or below ``log10(|x|)``, clipped to the prefixes known."""
    e = int(math.floor(math.log10(abs(x)) / 3) * 3)
    return max(min(e, 15), -18)


def _digits(x: float, digits: int) -> str:
    """``x`` with ``digits`` significant digits, never in exponent form, trailing zeros
    kept off (``40.8``, ``0.06774``, ``1,235``)."""
    if x == 0:
        return "0"
    decimals = max(digits - 1 - int(math.floor(math.log10(abs(x)))), 0)
    text = f"{x:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def si(value: object, unit: str = "", digits: int = 3) -> str:
    """``value`` with an SI prefix and ``unit``: ``si(3.41e-15, "J") == "3.41 fJ"``.

    Non-numbers are returned as text; NaN as an empty string.
    """
    x = _finite(value)
    if x is None:
        return "" if isinstance(value, float) and math.isnan(value) else str(value)
    if x == 0:
        return f"0 {unit}".strip()
    e = _exp3(x)
    scaled = x / 10.0**e
    if round(abs(scaled), max(digits - 1 - int(math.floor(math.log10(abs(scaled)))), 0)) >= 1000:
        e, scaled = e + 3, scaled / 1000.0  # 999.96 rounds up to the next prefix
    return f"{_digits(scaled, digits)} {PREFIXES[e]}{unit}".strip()


def num(value: object, digits: int = 4) -> str:
    """A plain number with ``digits`` significant digits: ``0.06774``, ``38.49``,
    ``0.0001292``, ``1,235``; from 1e6 up and below 1e-6 with an SI prefix
    (``12.35 M``, ``55.3 n``) instead of an exponent. Integers below 1e6 are written
    whole (``18,432``)."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    x = _finite(value)
    if x is None:
        return "" if isinstance(value, float) and math.isnan(value) else str(value)
    if x == 0:
        return "0"
    if abs(x) >= 1e6 or abs(x) < 1e-6:
        return si(x, "", digits)
    if float(x).is_integer() and isinstance(value, int | np.integer):
        return f"{int(x):,}"
    return _digits(x, digits)


def pct(fraction: object, digits: int = 3) -> str:
    """A fraction as a percentage: ``pct(0.918) == "91.8 %"``."""
    x = _finite(fraction)
    return "" if x is None else f"{_digits(100.0 * x, digits)} %"


def times(value: object, digits: int = 3) -> str:
    """A ratio: ``times(351.2) == "351x"``, ``times(1321) == "1,321x"``."""
    x = _finite(value)
    if x is None:
        return ""
    return f"{_digits(x, max(digits, len(str(int(abs(x))))))}x"


def column_scale(values: list[float] | np.ndarray) -> tuple[float, str]:
    """``(factor, prefix)`` for a column: the prefix that puts the median of its nonzero
    finite magnitudes in ``[1, 1000)``."""
    arr = np.asarray([v for v in (_finite(x) for x in values) if v], dtype=float)
    if arr.size == 0:
        return 1.0, ""
    e = _exp3(float(np.median(np.abs(arr))))
    return 10.0**-e, PREFIXES[e]
