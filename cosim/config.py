"""Configuration of the main job: TOML files, ``--set`` overrides, manifests.

A config is a table of sections: ``[run]`` and one per stage of ``cosim run``.
The sections, their keys and the keys' defaults all come from the stage
registry (:mod:`cosim.stages`): each section is the fields of one frozen
dataclass, so an empty config is the embedded default job, a key that is
accepted is used, and every real field can be set. Values are checked when
set (one key at a time) and again together before the first stage
(:func:`validate_config`). The ``manifest.json`` of a run holds the full
config it ran with under ``"config"``, so feeding a manifest back reproduces
the run.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from circuits.errors import ConfigError, did_you_mean, split_items
from circuits.files import read_regular
from cosim.hardware.presets import hardware_from_mapping, override, preset
from cosim.stages import STAGES, build, section_fields

MAX_CONFIG_BYTES = 16 * 2**20
"""Largest config or manifest file read (a run's manifest is a few kilobytes)."""
SECTIONS: tuple[str, ...] = ("run", "hardware", "sim", *STAGES)
"""Every section of a config: ``[run]``, ``[hardware]`` (the job's hardware),
``[sim]`` (how it is simulated) and one per stage (:mod:`cosim.stages`)."""
DEFAULT_HARDWARE = "realistic"
"""The job's hardware preset when the config names none."""


def default_config() -> dict[str, dict[str, Any]]:
    """Every key of every section with its default, from the sections' dataclasses.

    Tuples become lists (TOML arrays), so a config reads the same from a file;
    ``[hardware]`` is the whole default preset as a nested table.
    """
    config = {name: {k: list(v) if isinstance(v, tuple) else v
                     for k, v in section_fields(name).items()}
              for name in SECTIONS if name != "hardware"}
    config["hardware"] = preset(DEFAULT_HARDWARE).as_dict()
    return {name: config[name] for name in SECTIONS}


def resolve(config: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Each section of ``config`` that the job uses, as its validated dataclass.

    Returns:
        ``{"run": RunSection, <stage>: <its dataclass>, ...}`` for the stages
        named in ``run.stages``.

    Raises:
        ConfigError: (one line) the first value a section's dataclass refuses,
            including settings that only fail together and a job too large for
            this machine.
    """
    run = build("run", _values(config, "run"))
    out: dict[str, Any] = {"run": run,
                           "hardware": hardware_from_mapping(config["hardware"]),
                           "sim": build("sim", _values(config, "sim"))}
    out.update({name: build(name, _values(config, name), run) for name in run.stages})
    for name in run.stages:
        check = getattr(out[name], "check_hardware", None)
        if check is not None:  # settings that only fail together with the hardware
            try:
                check(out["hardware"])
            except ConfigError as exc:
                raise ConfigError(f"[{name}] with [hardware]: {exc}") from None
    return out


def validate_config(config: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Check every value, also the ones that only fail together; return ``config``.

    Run it once all overrides are applied and before the first stage, so a bad
    value never waits behind the stages before it.
    """
    resolve(config)
    return config


def _values(config: Mapping[str, Mapping[str, Any]], name: str) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in config[name].items()}


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
    blob = read_regular(path, "config", MAX_CONFIG_BYTES)  # a named pipe would block for ever
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read config {path}: not UTF-8 text ({exc.reason} at byte "
                          f"{exc.start})") from None
    try:
        if path.suffix == ".json":
            data = json.loads(text)
            if isinstance(data, Mapping) and "config" in data:
                data = data["config"]
                if not isinstance(data, Mapping) or not data:
                    raise ConfigError(f"{path}: the manifest's \"config\" must be the table of "
                                      f"config sections a run recorded, got "
                                      f"{_json_kind(data) if data else 'an empty one'}")
            elif isinstance(data, Mapping) and not data:
                raise ConfigError(f"{path} is an empty JSON object, not a run's manifest.json "
                                  f"(give no file to run the default job)")
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
    kinds = {list: "a list", str: "a string", bool: "true/false", type(None): "null",
             dict: "a table"}
    return kinds.get(type(data), "a number" if isinstance(data, (int, float)) else "a value")


def merge(config: dict[str, dict[str, Any]], data: Mapping[str, Any], *, where: str
          ) -> dict[str, dict[str, Any]]:
    """Merge ``data`` (sections of keys) into ``config``, refusing unknown names."""
    for section, values in data.items():
        if section not in SECTIONS:
            raise ConfigError(f"unknown config section [{section}] in {where}"
                              f"{did_you_mean(section, SECTIONS)}")
        if not isinstance(values, Mapping):
            raise ConfigError(f"config section [{section}] in {where} must be a table")
        if section == "hardware":
            config["hardware"] = hardware_from_mapping(
                values, where=f"[hardware] in {where}").as_dict()
            continue
        for key, value in values.items():
            set_key(config, f"{section}.{key}", value, where=where, from_text=False)
    return config


def set_key(config: dict[str, dict[str, Any]], dotted: str, value: Any, *, where: str,
            from_text: bool = True) -> None:
    """Set ``section.key`` to ``value``, converted to the default's type and checked.

    The check builds the section's dataclass with this one value (the others at
    their defaults); settings that only fail together are caught by
    :func:`validate_config`.

    Args:
        from_text: ``value`` was typed as text (``--set``, a command-line option;
            the default): a string is parsed (``8``, ``true``, ``tia,haq``).
            False for a value from a config file (:func:`merge`): it must already
            have the key's type, so ``stages = 'tia'`` is refused, not read as a list.

    Raises:
        ConfigError: unknown section or key, a value of the wrong type or out of range.
    """
    section, _, key = dotted.partition(".")
    if section not in SECTIONS:
        raise ConfigError(f"unknown config section {section!r} in {where}"
                          f"{did_you_mean(section, SECTIONS)}")
    if section == "hardware":
        _set_hardware(config, key, value, where)
        return
    defaults = section_fields(section)
    if key not in defaults:
        raise ConfigError(f"unknown config key {dotted!r} in {where}"
                          f"{did_you_mean(key, defaults)}")
    default = defaults[key]
    value = _coerce(dotted, value, list(default) if isinstance(default, tuple) else default,
                    from_text)
    build(section, {key: tuple(value) if isinstance(value, list) else value})
    config[section][key] = value


def _set_hardware(config: dict[str, dict[str, Any]], key: str, value: Any, where: str) -> None:
    """``hardware.preset=NAME`` (a preset or file, replacing the whole hardware) or
    ``hardware.PART.FIELD=VALUE`` over the config's hardware."""
    if key == "preset":
        config["hardware"] = hardware_from_mapping({"preset": str(value)},
                                                   where=where).as_dict()
        return
    hw = hardware_from_mapping(config["hardware"], where=where)
    text = value if isinstance(value, str) else json.dumps(value)
    try:
        config["hardware"] = override(hw, [f"{key}={text}"]).as_dict()
    except ConfigError as exc:
        raise ConfigError(f"{exc} (in {where})") from None


def parse_override(text: str) -> tuple[str, str]:
    """Split a ``section.key=value`` override."""
    name, sep, value = text.partition("=")
    if not sep or "." not in name:
        raise ConfigError(f"override {text!r} must look like section.key=value (e.g. haq.n_bits=8)")
    return name.strip(), value.strip()


def _coerce(name: str, value: Any, default: Any, from_text: bool) -> Any:
    if isinstance(value, str) and from_text and not isinstance(default, str):
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
        if isinstance(value, str) and from_text:
            value = split_items(name, value)
        if isinstance(value, tuple):
            value = list(value)
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
