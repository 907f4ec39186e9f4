"""Frozen parameter dataclasses from text and tables, and back.

One reader for every place a user sets parameters: ``--set name=value`` on the
command line (:func:`parse_settings`), tables of a TOML file or a manifest
(:func:`from_mapping`), and the inverse that writes a resolved object as such a
table (:func:`to_mapping`). Nested dataclasses are set by dotted names
(``array.r_wire_ohm``) or nested tables. A field whose value is an object looked
up by name (a cell kind, an I-V law) names its lookup in the field's metadata
(``field(..., metadata={"parse": cell_kind, "dump": ...})``), so no caller
compares names.

Every refusal is a :class:`ConfigError` naming the key as the user wrote it.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any

from circuits.errors import ConfigError, did_you_mean

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
NONE_TEXT = "none"
"""How an optional value that is unset is written in text and TOML (which has no null)."""


def parse_settings(cls: type, settings: tuple[str, ...] | list[str], *, base: Any = None,
                   prefix: str = "") -> dict[str, Any]:
    """Turn ``("name=value", "nested.field=value")`` into keyword arguments of ``cls``.

    Args:
        cls: a dataclass.
        settings: ``NAME=VALUE`` strings; dotted names set nested dataclasses.
        base: an instance whose nested values are the starting point (default
            the class defaults).
        prefix: prepended to names in messages (``hardware.``).

    Raises:
        ConfigError: malformed setting, unknown field (with a suggestion) or bad value.
    """
    flat: dict[str, str] = {}
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or any(not p for p in name.strip().split(".")):
            raise ConfigError(f"--set takes NAME=VALUE, got {item!r}")
        flat[name.strip()] = value.strip()
    return _kwargs(cls, flat, prefix=prefix, base=base)


def apply_settings(obj: Any, settings: tuple[str, ...] | list[str], *, prefix: str = "") -> Any:
    """``obj`` (a frozen dataclass) with ``NAME=VALUE`` settings applied."""
    if not settings:
        return obj
    return _replace(obj, parse_settings(type(obj), settings, base=obj, prefix=prefix), prefix)


def _fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")}


def _default(cls: type, f: dataclasses.Field, base: Any) -> Any:
    if base is not None:
        return getattr(base, f.name)
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    raise ConfigError(f"{cls.__name__}.{f.name} has no default to start from")


def _unknown(cls: type, prefix: str, name: str, fields: Mapping[str, Any]) -> ConfigError:
    return ConfigError(f"unknown {cls.__name__} parameter {prefix + name!r}"
                       f"{did_you_mean(name, fields)} (parameters: {', '.join(fields)})")


def _kwargs(cls: type, flat: dict[str, str], prefix: str, base: Any = None) -> dict[str, Any]:
    fields = _fields(cls)
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    nested: dict[str, dict[str, str]] = {}
    for name, value in flat.items():
        head, _, rest = name.partition(".")
        if head not in fields:
            raise _unknown(cls, prefix, head, fields)
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            kwargs[head] = parse_value(prefix + head, value, hints[head], fields[head])
    for head, sub in nested.items():
        current = kwargs.get(head, _default(cls, fields[head], base))
        name_key = fields[head].metadata.get("name_key")
        if name_key is not None and name_key in sub:  # a new kind first: iv.law=sinh
            current = fields[head].metadata["parse"](sub.pop(name_key))
            kwargs[head] = current
            if not sub:
                continue
        if current is None and _dataclass_of(hints[head]) is not None:
            current = _dataclass_of(hints[head])()  # an optional group that is off
        if not dataclasses.is_dataclass(current):
            raise ConfigError(f"{prefix + head} has no fields to set")
        sub_kwargs = _kwargs(type(current), sub, prefix=f"{prefix}{head}.", base=current)
        kwargs[head] = _replace(current, sub_kwargs, f"{prefix}{head}.")
    return kwargs


def _replace(obj: Any, kwargs: dict[str, Any], prefix: str) -> Any:
    try:
        return dataclasses.replace(obj, **kwargs)
    except ConfigError as exc:
        raise ConfigError(_named_path(prefix, str(exc))) from None


def _named_path(prefix: str, msg: str) -> str:
    """``msg`` with the dotted ``prefix`` before it, where the message does not already
    start with that path or its tail (``hardware.noise.`` + ``noise.read must ...`` ->
    ``hardware.noise.read must ...``)."""
    if not prefix:
        return msg
    parts = prefix.rstrip(".").split(".")
    for i in range(len(parts)):
        tail = ".".join(parts[i:]) + "."
        if msg.startswith(tail):
            return ".".join(parts[:i]) + ("." if i else "") + msg
    return prefix + msg


def parse_value(name: str, text: str, kind: Any, f: dataclasses.Field | None = None) -> Any:
    """Parse ``text`` to type ``kind`` (float, int, bool, str, optional, tuple, or the
    field's own ``parse`` lookup).

    Raises:
        ConfigError: the text is not a value of that type.
    """
    if f is not None and "parse" in f.metadata:
        return f.metadata["parse"](text)
    args = typing.get_args(kind)
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        if type(None) in args and text.lower() == NONE_TEXT:
            return None
        inner = [a for a in args if a is not type(None)]
        return parse_value(name, text, inner[0])
    if typing.get_origin(kind) is tuple:
        item = args[0] if args else str
        parts = [t.strip() for t in text.split(",")] if text.strip() else []
        if any(not p for p in parts):
            raise ConfigError(f"{name} has an empty item in {text!r}; separate values by "
                              f"single commas")
        return tuple(parse_value(name, p, item) for p in parts)
    try:
        if kind is bool:
            return _parse_bool(text)
        if kind is int:
            return int(text)
        if kind is float:
            from circuits.netlist import spice_number

            return spice_number(text)
    except (ValueError, ConfigError):
        raise ConfigError(f"{name} takes a {kind.__name__}, got {text!r}") from None
    if kind is str:
        return text
    if dataclasses.is_dataclass(kind):
        first = next(iter(_fields(kind)))
        raise ConfigError(f"{name} is a group of parameters; set its fields, "
                          f"e.g. --set {name}.{first}=VALUE")
    raise ConfigError(f"{name} cannot be set from the command line")


def _parse_bool(text: str) -> bool:
    low = text.lower()
    if low in _TRUE | _FALSE:
        return low in _TRUE
    raise ValueError(text)


# -- tables ---------------------------------------------------------------------------------


def from_mapping(cls: type, data: Mapping[str, Any], *, base: Any = None,
                 prefix: str = "") -> Any:
    """An instance of ``cls`` from a (nested) table, over ``base`` (default: the defaults).

    Values keep their types (a TOML float stays a float); lists become tuples,
    ``"none"`` (or ``None``) unsets an optional value, nested tables set nested
    dataclasses, and a field with a ``parse`` lookup takes its name or table.

    Raises:
        ConfigError: an unknown key (with a suggestion), a value of the wrong
            type, or a value the dataclass refuses, named ``prefix.key``.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or cls.__name__} must be a table of "
                          f"parameters, got {data!r}")
    fields = _fields(cls)
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            raise _unknown(cls, prefix, str(key), fields)
        f = fields[key]
        current = _default(cls, f, base) if base is not None or _has_default(f) else None
        kwargs[key] = _value(prefix + key, value, hints[key], f, current)
    if base is None:
        try:
            return cls(**kwargs)
        except ConfigError as exc:
            raise ConfigError(_named_path(prefix, str(exc))) from None
        except TypeError as exc:
            raise ConfigError(f"{prefix.rstrip('.') or cls.__name__}: {exc}") from None
    try:
        return dataclasses.replace(base, **kwargs)
    except ConfigError as exc:
        raise ConfigError(_named_path(prefix, str(exc))) from None


def _has_default(f: dataclasses.Field) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def _value(name: str, value: Any, kind: Any, f: dataclasses.Field, current: Any) -> Any:
    if "parse" in f.metadata:
        if isinstance(value, Mapping) and current is not None and dataclasses.is_dataclass(
                current) and "law" not in value and "name" not in value:
            return from_mapping(type(current), value, base=current, prefix=name + ".")
        return f.metadata["parse"](value)
    if isinstance(value, str) and value.lower() == NONE_TEXT and _optional(kind):
        return None
    if value is None:
        if _optional(kind):
            return None
        raise ConfigError(f"{name} cannot be none")
    if isinstance(value, Mapping):
        target = current if dataclasses.is_dataclass(current) else None
        sub_cls = type(target) if target is not None else _dataclass_of(kind)
        if sub_cls is None:
            raise ConfigError(f"{name} takes a single value, not a table")
        return from_mapping(sub_cls, value, base=target, prefix=name + ".")
    if isinstance(value, list):
        value = tuple(value)
    return _check_type(name, value, kind)


def _optional(kind: Any) -> bool:
    return type(None) in typing.get_args(kind)


def _dataclass_of(kind: Any) -> type | None:
    if dataclasses.is_dataclass(kind):
        return kind
    for a in typing.get_args(kind):
        if dataclasses.is_dataclass(a):
            return a
    return None


def _check_type(name: str, value: Any, kind: Any) -> Any:
    """``value`` if it is of type ``kind`` (ints accepted as floats), else ConfigError."""
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        inner = [a for a in typing.get_args(kind) if a is not type(None)]
        return _check_type(name, value, inner[0])
    if typing.get_origin(kind) is tuple:
        if not isinstance(value, tuple):
            raise ConfigError(f"{name} takes a list, got {value!r}")
        args = typing.get_args(kind)
        item = args[0] if args else None
        return tuple(_check_type(name, v, item) for v in value) if item else value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} takes a number, got {value!r}")
        if not math.isfinite(float(value)):
            raise ConfigError(f"{name} must be a finite number, got {value!r}")
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} takes an integer, got {value!r}")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name} takes true or false, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name} takes a string, got {value!r}")
        return value
    return value


def to_mapping(obj: Any, *, none: Any = None) -> dict[str, Any]:
    """The table :func:`from_mapping` reads back into ``obj``.

    Args:
        obj: a dataclass instance.
        none: what to write for an unset optional value (``None`` for JSON,
            :data:`NONE_TEXT` for TOML).
    """
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        if not f.init or f.name.startswith("_"):
            continue
        v = getattr(obj, f.name)
        if "dump" in f.metadata:
            out[f.name] = f.metadata["dump"](v)
        elif dataclasses.is_dataclass(v):
            out[f.name] = to_mapping(v, none=none)
        elif isinstance(v, tuple):
            out[f.name] = list(v)
        elif v is None:
            out[f.name] = none
        else:
            out[f.name] = v
    return out
