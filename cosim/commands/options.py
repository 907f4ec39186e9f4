"""Hardware and simulation options of every command that simulates, generated once.

``@hardware_options("realistic")`` adds ``--hardware NAME|FILE``, one option per
commonly set field of :class:`cosim.hardware.spec.HardwareSpec` (its help from
the field's docstring, its default the named preset's value) and ``--hw
PART.FIELD=VALUE`` for every other field; the command receives one
``hardware`` argument, the resolved spec. ``@sim_options`` does the same for
:class:`cosim.engine.options.SimOptions` (``sim``). Each option has one
spelling and one default, the same on every command.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from circuits.cells import CELLS
from circuits.crossbar import READOUTS
from circuits.devices import IV_LAWS
from circuits.errors import ConfigError
from circuits.settings import NONE_TEXT
from cosim.engine.options import SimOptions
from cosim.hardware.presets import PRESETS, load_hardware, override, preset
from cosim.hardware.spec import (
    AGGREGATIONS,
    PLACEMENTS,
    VERIFY_READS,
    AggregationSpec,
    ArraySpec,
    CellSpec,
    HardwareSpec,
    NoiseSpec,
    ProgrammingSpec,
    ReadoutSpec,
)


@dataclass(frozen=True)
class _Field:
    flag: str
    path: str  # "array.r_wire_ohm"
    choices: tuple[str, ...] | None = None


HARDWARE_FIELDS = (
    _Field("--cell", "cell.kind", tuple(CELLS)),
    _Field("--iv", "cell.rram.iv", tuple(IV_LAWS)),
    _Field("--r-wire", "array.r_wire_ohm"),
    _Field("--macro-rows", "array.macro_rows"),
    _Field("--macro-cols", "array.macro_cols"),
    _Field("--placement", "array.placement", PLACEMENTS),
    _Field("--readout", "readout.kind", READOUTS),
    _Field("--v-read", "readout.v_read_volt"),
    _Field("--dac-bits", "readout.dac_bits"),
    _Field("--adc-bits", "readout.adc_bits"),
    _Field("--write-noise", "noise.write"),
    _Field("--write-noise-hrs", "noise.write_hrs"),
    _Field("--read-noise", "noise.read"),
    _Field("--passes", "programming.haq_passes"),
    _Field("--verify-read", "programming.verify_read", VERIFY_READS),
    _Field("--aggregation", "aggregation.kind", AGGREGATIONS),
)
"""The hardware fields with an option of their own (the rest: ``--hw PART.FIELD=VALUE``)."""

_PARTS = {"cell": CellSpec, "array": ArraySpec, "readout": ReadoutSpec, "noise": NoiseSpec,
          "programming": ProgrammingSpec, "aggregation": AggregationSpec}


def field_help(cls: type, name: str) -> str:
    """The text of field ``name`` in the ``Attributes:`` section of ``cls``'s docstring."""
    doc = cls.__doc__ or ""
    lines = doc.split("\n")
    text: list[str] = []
    indent = None
    for line in lines:
        stripped = line.strip()
        head = re.match(r"^(\s*)([\w, ]+):\s*(.*)$", line)
        if head and name in [n.strip() for n in head.group(2).split(",")]:
            indent = len(head.group(1))
            text = [head.group(3)]
            continue
        if indent is not None:
            cur = len(line) - len(line.lstrip())
            if not stripped or cur <= indent:
                break
            text.append(stripped)
    out = " ".join(text).replace("``", "")
    out = re.sub(r":(?:class|func|mod|data|meth):`~?([^`]+)`", r"\1", out)
    out = re.sub(r"\bNone\b", "none", out)
    return (out[:1].upper() + out[1:]).rstrip(".") + "." if out else ""


def _field_type(path: str) -> tuple[type, Any]:
    part, _, name = path.partition(".")
    cls = _PARTS[part]
    if "." in name:  # cell.rram.iv
        return str, None
    hint = typing.get_type_hints(cls)[name]
    return hint, cls


def _preset_value(hw: HardwareSpec, path: str) -> str:
    obj: Any = hw
    for key in path.split("."):
        obj = getattr(obj, key)
    if obj is None:
        return NONE_TEXT
    return getattr(obj, "name", obj) if not isinstance(obj, (int, float, str)) else obj


def _click_type(path: str, choices: tuple[str, ...] | None) -> tuple[Any, str]:
    if choices:
        return click.Choice(list(choices)), ""
    hint, _ = _field_type(path)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = args[0] if args else hint
    if base is int:
        return str, "INTEGER|none" if type(None) in typing.get_args(hint) else "INTEGER"
    if base is float:
        return str, "NUMBER"
    return str, "TEXT"


def _dest(path: str) -> str:
    return "hw__" + path.replace(".", "__")


@dataclass(frozen=True)
class HardwareChoice:
    """What the hardware options said, before a base is known (a model's own hardware).

    Attributes:
        name: ``--hardware`` (a preset or file), or ``None``.
        settings: the field options and ``--hw`` settings, ``PART.FIELD=VALUE``.
    """

    name: str | None
    settings: tuple[str, ...]

    def resolve(self, base: HardwareSpec | str) -> HardwareSpec:
        """The spec: ``--hardware`` if given, else ``base``; then the settings."""
        hw = load_hardware(self.name) if self.name else load_hardware(base)
        return override(hw, self.settings)


def hardware_options(default: str = "realistic", exclude: tuple[str, ...] = (),
                     deferred: bool = False) -> Callable:
    """Add the hardware options; the command gets ``hardware`` (a ``HardwareSpec``).

    Args:
        default: the preset used without ``--hardware``.
        exclude: field paths the command sets itself (a sweep axis), left without an option.
        deferred: the command gets a :class:`HardwareChoice` instead, to resolve over a
            base of its own (a trained model's hardware; ``default`` when it has none).
    """
    shown = preset(default)
    fields = tuple(f for f in HARDWARE_FIELDS if f.path not in exclude)

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            choice = hardware_choice(kwargs)
            kwargs["hardware"] = choice if deferred else choice.resolve(default)
            return func(*args, **kwargs)

        for f in reversed(fields):
            kind, metavar = _click_type(f.path, f.choices)
            part, _, name = f.path.partition(".")
            cls = _PARTS[part] if "." not in name else None
            text = field_help(cls, name) if cls else "RRAM read I-V law."
            wrapper = click.option(
                f.flag, _dest(f.path), type=kind, default=None, metavar=metavar or None,
                help=f"{text} [default: the hardware's; {default}: "
                     f"{_preset_value(shown, f.path)}]")(wrapper)
        wrapper = click.option(
            "--hw", "hw__settings", multiple=True, metavar="PART.FIELD=VALUE",
            help="Set any other hardware field (repeat), e.g. --hw array.r_driver_ohm=10; "
                 "'cosim hardware show NAME' lists them.")(wrapper)
        return click.option(
            "--hardware", "hw__name", default=None, metavar="NAME|FILE",
            help=f"The hardware: a preset ({', '.join(PRESETS)}), a TOML file, or a run "
                 f"folder (the hardware its manifest records) [default: {default}].")(wrapper)

    return decorate


def hardware_choice(kwargs: dict[str, Any]) -> HardwareChoice:
    """Pop the hardware options from ``kwargs``: ``--hardware``, then the field options
    as settings, then ``--hw`` settings."""
    name = kwargs.pop("hw__name", None)
    settings = []
    for f in HARDWARE_FIELDS:
        value = kwargs.pop(_dest(f.path), None)
        if value is not None:
            settings.append(f"{f.path}={value}")
    settings += list(kwargs.pop("hw__settings", ()) or ())
    for item in settings:
        if not item.strip():
            raise ConfigError("--hw takes PART.FIELD=VALUE, got an empty setting")
    return HardwareChoice(name=name, settings=tuple(settings))


SIM_FLAGS = (("--backend", "backend", str),  # checked by SimOptions, with a suggestion
             ("--spice-workers", "spice_workers", int),
             ("--spice-timeout", "spice_timeout_s", float))


@dataclass(frozen=True)
class SimChoice:
    """What the simulation options said, before a base is known (a model's own)."""

    values: tuple[tuple[str, Any], ...]

    def resolve(self, base: SimOptions | None = None) -> SimOptions:
        """``base`` (default ``SimOptions()``) with the options given."""
        return dataclasses.replace(base or SimOptions(), **dict(self.values))


def sim_options(func: Callable | None = None, *, deferred: bool = False) -> Callable:
    """Add the simulation options; the command gets ``sim`` (a ``SimOptions``, or a
    :class:`SimChoice` with ``deferred``: options not given keep a base's values)."""
    if func is None:
        return functools.partial(sim_options, deferred=deferred)
    default = SimOptions()

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        choice = sim_choice(kwargs)
        kwargs["sim"] = choice if deferred else choice.resolve()
        return func(*args, **kwargs)

    for flag, name, kind in reversed(SIM_FLAGS):
        wrapper = click.option(flag, "sim__" + name, type=kind, default=None,
                               help=f"{field_help(SimOptions, name)} "
                                    f"[default: {getattr(default, name)}]")(wrapper)
    wrapper = click.option("--exact-nonlinear/--tangent", "sim__exact_nonlinear", default=None,
                           help="Calibrated backend: solve nonlinear arrays with the exact "
                                "read model (every input vector to convergence), or the fast "
                                "one (--tangent: every cell's chord over the read range, one "
                                "extracted transfer) [default: by the cell's I-V law].")(wrapper)
    return click.option("--no-cache", "sim__no_cache", is_flag=True, default=None,
                        help="Keep nothing in the result cache.")(wrapper)


def sim_choice(kwargs: dict[str, Any]) -> SimChoice:
    """Pop the simulation options from ``kwargs``: the ones given."""
    values = {k[len("sim__"):]: kwargs.pop(k) for k in list(kwargs) if k.startswith("sim__")}
    given = {k: v for k, v in values.items() if v is not None and k != "no_cache"}
    if values.get("no_cache"):
        given["use_cache"] = False
    SimOptions(**given)  # refuse bad values at once
    return SimChoice(values=tuple(given.items()))


def sim_as_dict(sim: SimOptions) -> dict[str, Any]:
    """``sim`` as a JSON-able table."""
    return dataclasses.asdict(sim)
