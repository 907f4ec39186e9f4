"""Hardware presets as files, and reading a hardware spec from a name, a file or a table.

The presets (``presets/*.toml`` beside this module) are files users copy and
edit: ``paper`` (the NF paper's simulated chip), ``realistic`` (the seeds'
1T1R chip with its wires and TIA readout; the :class:`HardwareSpec` defaults)
and ``prime`` (PRIME's random-pair setting). A file lists the parts and fields
it sets; the rest keep the defaults of :class:`HardwareSpec`, or of the preset
named by a top-level ``preset = "NAME"`` key.

Everywhere a hardware is chosen, ``--hardware NAME|FILE|RUN_DIR`` on the command line
and ``[hardware]`` in a main-job config, it is read by :func:`load_hardware`,
then ``NAME=VALUE`` overrides (``array.r_wire_ohm=2.5``) are applied by
:func:`override`. A run's manifest records :meth:`HardwareSpec.as_dict`, which
reads back into the same spec: ``--hardware RUN_DIR`` runs on a past run's hardware.
"""

from __future__ import annotations

import json
import stat
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w

from circuits.errors import ConfigError, did_you_mean
from circuits.settings import NONE_TEXT, apply_settings, from_mapping
from cosim.hardware.spec import HardwareSpec

MODIFIED = " (modified)"
PRESETS = ("paper", "realistic", "prime")
"""The preset names, each a file ``presets/<name>.toml``."""
MAX_FILE_BYTES = 1 << 20
"""Largest hardware file read (1 MiB; a complete spec is about 2 kB)."""


def preset_text(name: str) -> str:
    """The text of preset ``name``'s file."""
    if name not in PRESETS:
        raise ConfigError(f"unknown hardware preset {name!r}{did_you_mean(name, PRESETS)} "
                          f"(presets: {', '.join(PRESETS)}; or give a TOML file)")
    return resources.files("cosim.hardware").joinpath("presets", f"{name}.toml").read_text()


def preset(name: str) -> HardwareSpec:
    """The preset ``name`` as a spec."""
    return _from_text(preset_text(name), f"preset {name}", default_name=name)


def load_hardware(value: str | Path | HardwareSpec | None, default: str = "realistic"
                  ) -> HardwareSpec:
    """The hardware ``value`` names: a preset name, a TOML file, a run folder or its
    ``manifest.json`` (the spec that run recorded), a spec (passed through), or
    ``None`` for the preset ``default``.

    Raises:
        ConfigError: an unknown preset, a file that is missing, not a regular
            file, too large, not TOML, or holding an unknown part, key or bad value.
    """
    if isinstance(value, HardwareSpec):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        return preset(default)
    text = str(value)
    if text in PRESETS:
        return preset(text)
    path = Path(text)
    if path.is_dir() and (path / "manifest.json").exists():
        path = path / "manifest.json"
    if path.suffix.lower() == ".json":
        return _from_manifest(path)
    if path.suffix.lower() != ".toml" and not path.exists():
        raise ConfigError(f"unknown hardware {text!r}{did_you_mean(text, PRESETS)}: not a "
                          f"preset ({', '.join(PRESETS)}), an existing .toml file nor a "
                          "run folder")
    return _from_text(_read(path), str(path), default_name=f"custom ({path.name})")


def _from_manifest(path: Path) -> HardwareSpec:
    """The spec a run recorded: the ``hardware`` block of its ``manifest.json``."""
    try:
        data = json.loads(_read(path))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from None
    block = data.get("hardware") if isinstance(data, dict) else None
    if not isinstance(block, dict):
        raise ConfigError(f"{path} records no hardware block (a run's manifest.json has one)")
    return hardware_from_mapping(block, where=f"{path}: hardware")


def _read(path: Path) -> str:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"cannot read hardware file {path}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read hardware file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"cannot read hardware file {path}: not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise ConfigError(f"hardware file {path} holds {info.st_size} bytes, more than the "
                          f"{MAX_FILE_BYTES} allowed")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"hardware file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read hardware file {path}: {exc.strerror}") from None


def _from_text(text: str, where: str, *, default_name: str) -> HardwareSpec:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}") from None
    return hardware_from_mapping(data, where=where, default_name=default_name)


def hardware_from_mapping(data: Mapping[str, Any], *, where: str = "[hardware]",
                          default_name: str = "custom") -> HardwareSpec:
    """The spec a table describes (a preset file, a ``[hardware]`` section, a manifest's
    ``hardware`` block): over the preset its ``preset`` key names, else the defaults.

    Raises:
        ConfigError: naming ``where`` and the key.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a table of hardware parts, got {data!r}")
    data = dict(data)
    base_name = data.pop("preset", None)
    if base_name is not None and not isinstance(base_name, str):
        raise ConfigError(f"{where}: preset must be a preset name or TOML file, got "
                          f"{base_name!r}")
    base = load_hardware(base_name) if base_name else HardwareSpec()
    if "name" not in data:
        data["name"] = base.name if base_name else default_name
    try:
        return from_mapping(HardwareSpec, data, base=base)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def override(hardware: HardwareSpec, settings: Sequence[str]) -> HardwareSpec:
    """``hardware`` with ``PART.FIELD=VALUE`` settings applied (``array.r_wire_ohm=2.5``);
    its name gains `` (modified)`` unless a setting names it."""
    settings = list(settings)
    if not settings:
        return hardware
    out = apply_settings(hardware, settings, prefix="hardware.")
    if out.name == hardware.name and out != hardware and not hardware.name.endswith(
            MODIFIED):
        out = replace(out, name=hardware.name + MODIFIED)
    return out


def hardware_toml(hardware: HardwareSpec) -> str:
    """Every field of ``hardware`` as TOML that :func:`load_hardware` reads back."""
    return tomli_w.dumps(hardware.as_dict(none=NONE_TEXT))
