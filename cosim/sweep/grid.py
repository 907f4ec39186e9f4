"""The points of a sweep: ranges from the command line, the grid, and each point's key.

A point is a flat dict of JSON scalars (``{"amp_ratio": 1.5, "write_noise": 0.15,
"bits": 12, "seed": 0}``); :func:`grid` makes every combination of the axes,
:func:`point_key` names a point by its content (the resume key), and
:func:`parse_range` reads ``"a:b:step"``, ``"a,b,c"`` or one value.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from circuits.errors import ConfigError, split_items

Point = dict[str, Any]


PointFn = Callable[[Point], Mapping[str, Any]]


MAX_POINTS = 1_000_000


def parse_range(text: str, name: str, *, integer: bool = False) -> list[float] | list[int]:
    """Values of a range written ``"a:b:step"`` (both ends included), ``"a,b,c"`` or ``"a"``.

    Args:
        text: the range as typed.
        name: the option, for error messages.
        integer: the values must be whole numbers (returned as ``int``).

    Returns:
        The values in order; floats are rounded to 10 decimals so ``1.1:2.5:0.1``
        gives ``1.1, 1.2, ...`` exactly as typed.

    Raises:
        ConfigError: malformed text, ``b < a``, ``step <= 0``, or too many values.
    """
    s = str(text).strip()
    if not s:
        raise ConfigError(f"{name}: empty range")

    def num(part: str) -> float:
        try:
            v = float(part)
        except ValueError:
            raise ConfigError(f"{name}: {part.strip()!r} in {s!r} is not a number "
                              f"(write a:b:step, a,b,c or one value)") from None
        if not math.isfinite(v):
            raise ConfigError(f"{name}: {part.strip()!r} in {s!r} is not finite")
        return v

    if ":" in s:
        parts = s.split(":")
        if len(parts) != 3:
            raise ConfigError(f"{name}: {s!r} must be a:b:step (three numbers)")
        a, b, step = (num(p) for p in parts)
        if step <= 0:
            raise ConfigError(f"{name}: step must be > 0 in {s!r}, got {step:g}")
        if b < a:
            raise ConfigError(f"{name}: range {s!r} ends ({b:g}) before it starts ({a:g}); "
                              f"write a:b:step with a <= b")
        count = math.floor((b - a) / step + 1e-9) + 1
        if count > MAX_POINTS:
            raise ConfigError(f"{name}: {s!r} has {count} values, more than {MAX_POINTS}")
        values = [a + k * step for k in range(count)]
    else:
        values = [num(p) for p in split_items(name, s)]
        if not values:
            raise ConfigError(f"{name}: empty list {s!r}")
    if integer:
        if any(v != int(v) for v in values):
            raise ConfigError(f"{name}: {s!r} must hold whole numbers")
        return [int(v) for v in values]
    return [round(v, 10) for v in values]


def grid(axes: Mapping[str, Sequence[Any]], **fixed: Any) -> list[Point]:
    """All combinations of ``axes`` (the last axis varies fastest), plus ``fixed`` keys."""
    for name, values in axes.items():
        if len(values) == 0:
            raise ConfigError(f"sweep axis {name!r} has no values")
    names = list(axes)
    total = math.prod(len(v) for v in axes.values())
    if total > MAX_POINTS:
        raise ConfigError(f"the sweep has {total} points, more than {MAX_POINTS}")
    return [{**dict(zip(names, combo, strict=True)), **fixed}
            for combo in itertools.product(*(axes[n] for n in names))]


def point_key(point: Mapping[str, Any]) -> str:
    """Stable identity of a point: hash of its canonical JSON (sorted keys)."""
    text = json.dumps(jsonable(point), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        return obj.item()
    return obj
