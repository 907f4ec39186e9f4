"""Reading the report's inputs: run folders with ``workload.json``, workload JSON files,
TOML configs naming a sizing adapter (:func:`load_workload`); every value checked."""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from circuits.errors import ConfigError
from circuits.files import regular_file
from cosim.accounting.workload import Workload, events_workload, make_workload


def load_workload(path: Path) -> Workload:
    """The workload of a run folder, ``workload.json``-style file or TOML config.

    Raises:
        ConfigError: nothing at ``path``, a folder with neither ``workload.json``
            nor a ``cosim haq`` manifest, or an unreadable file.
    """
    path = Path(path)
    if path.is_dir():
        wj = path / "workload.json"
        if wj.exists():
            data = _check_values(_read_json(regular_file(wj, "workload")),
                                 f"{path.name}/workload.json")
            return _with_source(events_workload(data), f"{path.name}/workload.json")
        raise ConfigError(f"run folder {str(path)!r} has no workload.json to report on "
                          "(workload runs such as cosim haq write one)")
    if not path.exists():
        raise ConfigError(f"no run folder or config file at {str(path)!r}")
    regular_file(path, "workload or config")
    suffix = path.suffix.lower()
    if suffix == ".json":
        data = _check_values(_read_json(path), path.name)
        w = make_workload({"kind": "events", **data})
    elif suffix == ".toml":
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path.name}: {exc}") from None
        w = make_workload(_check_values(data, path.name))
    else:
        raise ConfigError(f"cannot read {path.name!r}: give a run folder, a .json or a .toml")
    return _with_source(w, path.name)


_NUMBER_KEYS = ("ops_per_inference", "inferences", "read_steps")


_NUMBER_SECTIONS = ("events", "programming_events", "hardware", "timing")


_TEXT_KEYS = ("schema", "kind", "name", "claim", "source", "hardware.cell")


def _check_values(data: dict[str, Any], where: str) -> dict[str, Any]:
    """Refuse a workload whose numbers are not finite numbers, before any adapter reads it.

    Every number anywhere in ``data`` must be finite; the counts, hardware and
    timing figures of an events workload must be numbers; its names, text.
    """
    for name, value in _leaves(data, ""):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{where}: {name} must be a finite number, got {value}")
    numeric = [k for k in _NUMBER_KEYS if k in data]
    for section in _NUMBER_SECTIONS:
        if isinstance(data.get(section), dict):
            numeric += [f"{section}.{k}" for k in data[section]
                        if f"{section}.{k}" not in _TEXT_KEYS]
    for name in numeric:
        value = _lookup(data, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: {name} must be a number, got {value!r}")
    for name in _TEXT_KEYS:
        value = _lookup(data, name)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: {name} must be text, got {value!r}")
    return data


def _leaves(obj: Any, prefix: str):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, f"{prefix}[{i}]")
    else:
        yield prefix, obj


def _lookup(data: dict[str, Any], dotted: str) -> Any:
    head, _, rest = dotted.partition(".")
    value = data.get(head)
    if rest:
        return value.get(rest) if isinstance(value, dict) else None
    return value


def _with_source(w: Workload, where: str) -> Workload:
    from dataclasses import replace

    src = f"{where}: {w.source}" if w.source else where
    return replace(w, source=src)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{Path(path).name} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{Path(path).name} must hold one JSON object")
    return data


@dataclass(frozen=True, kw_only=True, eq=False)
class ReportInput:
    """One workload input of a report, with what its run folder records.

    Attributes:
        path: the input as given.
        workload: its :class:`Workload` (:func:`load_workload`).
        key: the workload's key: the first word of its run folder's command
            (``haq``, ``field``, ``snn``, ...), else the file's or folder's stem.
        summary: the run folder's ``manifest.json`` (``{}`` for a config or a
            folder without one): the workload's own figures (metrics, paper,
            hardware text).
        figures: the run folder's figures (PNG), in the order its manifest lists them.
    """

    path: Path
    workload: Workload
    key: str
    summary: dict[str, Any]
    figures: tuple[Path, ...]


def load_input(path: Path) -> ReportInput:
    """The workload of ``path`` and what its run folder records (manifest, figures).

    A ``.json`` workload file inside a run folder (``snn/workload_early_stop.json``)
    takes that folder's manifest, not its figures.

    Raises:
        ConfigError: as :func:`load_workload`.
    """
    path = Path(path)
    workload = load_workload(path)
    folder = path if path.is_dir() else path.parent
    summary: dict[str, Any] = {}
    if (path.is_dir() or path.suffix.lower() == ".json") and (folder / "manifest.json").is_file():
        try:
            summary = _read_json(folder / "manifest.json")
        except ConfigError:
            summary = {}  # a damaged manifest only costs the card its metrics
    command = str(summary.get("command", "")).split()
    key = command[0] if command else (path.name if path.is_dir() else path.stem)
    return ReportInput(path=path, workload=workload, key=key, summary=summary,
                       figures=tuple(_figures(path, summary)) if path.is_dir() else ())


def _figures(folder: Path, summary: dict[str, Any]) -> list[Path]:
    """The PNG figures of a run folder: those its manifest lists, else every PNG in it."""
    listed = [str(n) for n in summary.get("figures", []) if isinstance(n, str)]
    names = [n for n in listed if n.lower().endswith(".png")]
    paths = [folder / n for n in names if (folder / n).is_file()]
    return paths or sorted(p for p in folder.glob("*.png") if p.is_file())
