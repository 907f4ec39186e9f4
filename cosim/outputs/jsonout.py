"""JSON on stdout: the one object a ``--json`` command prints, strict JSON only."""

from __future__ import annotations

import json
import math
import numbers
import sys
from pathlib import PurePath
from typing import Any


def emit_json(obj: dict) -> None:
    """Write ``obj`` as the one JSON object on stdout (strict JSON: NaN and inf become null)."""
    sys.stdout.write(json_text(obj) + "\n")


def json_text(obj: Any) -> str:
    """``obj`` as strict, indented JSON: NaN and +-inf become ``null``, numpy values plain."""
    return json.dumps(_strict(obj), indent=2, allow_nan=False)


def _strict(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k if isinstance(k, str) else str(k): _strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_strict(v) for v in obj]
    if isinstance(obj, (str, bool)) or obj is None:
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, PurePath):
        return str(obj)
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return _strict(obj.tolist())
    try:
        return _strict(float(obj))
    except (TypeError, ValueError):
        return str(obj)
