"""Configuration of the main job: TOML files, ``--set`` overrides, manifests.

A config is a table of sections, one per stage of ``cosim run``; every key has
a default (``DEFAULTS``), so an empty config is the embedded default job. The
``manifest.json`` of a run holds the full config it ran with under
``"config"``, so feeding a manifest back reproduces the run.
"""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from circuits.errors import (
    ConfigError,
    check_choice,
    check_int,
    check_memory,
    check_range,
    did_you_mean,
)

DEFAULTS: dict[str, dict[str, Any]] = {
    "run": {
        "seed": 0,
        "workers": 2,
        "stages": ["tia", "vcmac", "haq", "report"],
    },
    "tia": {"tolerance": 1e-3},
    "vcmac": {"points": 100, "code": 5},
    "haq": {
        "n_bits": 12, "amp_ratio": 1.5, "write_noise": 0.187, "read_noise": 0.002,
        "input_bits": 8, "vector_length": 100, "n_outputs": 100, "n_vectors": 100,
        "backend": "calibrated", "r_wire_ohm": 0.0, "aggregation": "digital",
        "read_cycles": 1000,
    },
    "report": {"baselines": ["a100", "jetson_nano", "rtx4090", "h100"], "simulate": True},
}
"""Every key of a config, with its default."""

STAGES = ("tia", "vcmac", "haq", "report")


HAQ_BYTES_PER_DOUBLE = 8 * 3
"""Bytes per value of the HAQ test's per-vector arrays, with room for temporaries
(measured: 8000 vectors of length 100 at 12 bits peak at 244 MiB; this estimate 480 MiB)."""


def haq_memory_bytes(haq: Mapping[str, Any]) -> float:
    """Up-front estimate of the peak memory of the HAQ stage (bytes).

    Inputs (``n_vectors x vector_length``) and the tile's column currents
    (``n_vectors x 2 n_outputs n_bits``, differential) for every vector, plus the
    programmed arrays (``vector_length x 2 n_outputs n_bits``) a few times over.
    """
    columns = 2 * haq["n_outputs"] * haq["n_bits"]
    per_vector = haq["vector_length"] + columns
    return (HAQ_BYTES_PER_DOUBLE * haq["n_vectors"] * per_vector
            + 16 * 8 * haq["vector_length"] * columns)


def _check_stages(name: str, value: list) -> None:
    if not value:
        raise ConfigError(f"{name} is empty; name at least one of {', '.join(STAGES)}")
    for stage in value:
        check_choice("stage", str(stage), STAGES)


def _check_baselines(name: str, value: list) -> None:
    from cosim.accounting.baselines import get_baselines

    if not value:
        raise ConfigError(f"{name} is empty; name at least one GPU baseline")
    get_baselines([str(v) for v in value])


def _check_haq_field(name: str, value: Any) -> None:
    from cosim.workloads.haq_mvm import HaqExperimentConfig

    try:
        HaqExperimentConfig(**{name.partition(".")[2]: value})
    except ConfigError as exc:
        raise ConfigError(f"{name}: {exc}") from None


CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "run.seed": lambda n, v: check_int(n, v, 0, 2**63 - 1),
    "run.workers": lambda n, v: check_int(n, v, 1, 1024),
    "run.stages": _check_stages,
    "tia.tolerance": lambda n, v: check_range(n, v, 0.0, 0.5, lo_open=True),
    "vcmac.points": lambda n, v: check_int(n, v, 2, 100_000),
    "vcmac.code": lambda n, v: check_int(n, v, 0, 15),
    **{f"haq.{key}": _check_haq_field for key in DEFAULTS["haq"]},
    "report.baselines": _check_baselines,
}
"""The check of each key's value, run whenever a key is set (``NAME`` is the dotted key)."""


def validate_config(config: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Check every value and the ones that depend on each other; return ``config``.

    Run it once all overrides are applied and before the first stage, so a
    bad value never waits behind the stages before it.

    Raises:
        ConfigError: (one line) the first value out of range, an HAQ test
            whose settings do not go together, or one too large for this machine.
    """
    for section, values in config.items():
        for key, value in values.items():
            check = CHECKS.get(f"{section}.{key}")
            if check is not None:
                check(f"{section}.{key}", value)
    if "haq" in config["run"]["stages"]:
        from cosim.workloads.haq_mvm import HaqExperimentConfig

        HaqExperimentConfig(seed=config["run"]["seed"], **config["haq"])
        _check_haq_memory(config["haq"])
    return config


def _check_haq_memory(haq: Mapping[str, Any]) -> None:
    check_memory(f"the HAQ stage ({haq['n_vectors']} vectors of length {haq['vector_length']}, "
                 f"{haq['n_outputs']} outputs, {haq['n_bits']} bits)", haq_memory_bytes(haq),
                 hint="lower haq.n_vectors or haq.vector_length")


def default_config() -> dict[str, dict[str, Any]]:
    """A fresh copy of ``DEFAULTS``."""
    return copy.deepcopy(DEFAULTS)


def load_config(path: Path | None) -> dict[str, dict[str, Any]]:
    """Read a TOML config or a run's ``manifest.json`` and merge it over the defaults.

    Every value is checked here (:func:`validate_config`), so a bad one is
    refused before the first stage runs.

    Raises:
        ConfigError: unreadable file, bad TOML/JSON, not a table of sections,
            unknown section or key, a value out of range.
    """
    config = default_config()
    if path is None:
        return config
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {getattr(exc, 'strerror', exc)}") from None
    if path.is_dir():
        raise ConfigError(f"config {path} is a folder; give a TOML file or a manifest.json")
    try:
        if path.suffix == ".json":
            data = json.loads(text)
            if isinstance(data, Mapping):
                data = data.get("config", data)
        else:
            data = tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix == ".json" else "TOML"
        raise ConfigError(f"{path} is not valid {kind}: {exc}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path} must hold a table of config sections (e.g. "
                          f"{{\"haq\": {{\"n_bits\": 8}}}}), got {_json_kind(data)}")
    return validate_config(merge(config, data, where=str(path)))


def _json_kind(data: Any) -> str:
    kinds = {list: "a list", str: "a string", bool: "true/false", type(None): "null"}
    return kinds.get(type(data), "a number" if isinstance(data, (int, float)) else "a value")


def merge(config: dict[str, dict[str, Any]], data: Mapping[str, Any], *, where: str
          ) -> dict[str, dict[str, Any]]:
    """Merge ``data`` (sections of keys) into ``config``, refusing unknown names."""
    for section, values in data.items():
        if section not in DEFAULTS:
            raise ConfigError(f"unknown config section [{section}] in {where}"
                              f"{did_you_mean(section, DEFAULTS)}")
        if not isinstance(values, Mapping):
            raise ConfigError(f"config section [{section}] in {where} must be a table")
        for key, value in values.items():
            set_key(config, f"{section}.{key}", value, where=where)
    return config


def set_key(config: dict[str, dict[str, Any]], dotted: str, value: Any, *, where: str) -> None:
    """Set ``section.key`` to ``value``, converted to the default's type and checked.

    Raises:
        ConfigError: unknown section or key, a value of the wrong type or out of
            range (see :data:`CHECKS`), or a config that no longer fits in memory.
    """
    section, _, key = dotted.partition(".")
    if section not in DEFAULTS:
        raise ConfigError(f"unknown config section {section!r} in {where}"
                          f"{did_you_mean(section, DEFAULTS)}")
    if key not in DEFAULTS[section]:
        raise ConfigError(f"unknown config key {dotted!r} in {where}"
                          f"{did_you_mean(key, DEFAULTS[section])}")
    value = _coerce(dotted, value, DEFAULTS[section][key])
    check = CHECKS.get(dotted)
    if check is not None:
        check(dotted, value)
    if section == "haq":  # sizes multiply: refuse one that no longer fits, before any stage
        _check_haq_memory({**config["haq"], key: value})
    config[section][key] = value


def parse_override(text: str) -> tuple[str, str]:
    """Split a ``section.key=value`` override."""
    name, sep, value = text.partition("=")
    if not sep or "." not in name:
        raise ConfigError(f"override {text!r} must look like section.key=value (e.g. haq.n_bits=8)")
    return name.strip(), value.strip()


def _coerce(name: str, value: Any, default: Any) -> Any:
    if isinstance(value, str) and not isinstance(default, str):
        value = _parse_text(name, value, default)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r}")
        return value
    if isinstance(default, int) and not isinstance(value, bool):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise ConfigError(f"{name} must be a whole number, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number, got {value!r}")
        return float(value)
    if isinstance(default, list):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise ConfigError(f"{name} must be a list, got {value!r}")
        return list(value)
    if isinstance(default, str) and not isinstance(value, str):
        raise ConfigError(f"{name} must be a string, got {value!r}")
    return value


def _parse_text(name: str, text: str, default: Any) -> Any:
    if isinstance(default, bool):
        low = text.lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, got {text!r}")
    if isinstance(default, (int, float)):
        try:
            return int(text) if isinstance(default, int) else float(text)
        except ValueError:
            kind = "a whole number" if isinstance(default, int) else "a number"
            raise ConfigError(f"{name} must be {kind}, got {text!r}") from None
    return text
