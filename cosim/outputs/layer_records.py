r"""Recorded layers in a run folder: what ``cosim verify RUN_DIR`` checks.

Written by every workload run (``cosim haq``, ``cosim field run``, ``cosim snn
run`` and their main-job stages) from its :class:`cosim.layers.record.LayerRecord`\ s::

    RUN_DIR/layers/index.json        schema, and per layer: name, file, the tile's
                                     hardware (resolved spec) and simulation options,
                                     seed, shape, macros, vectors kept
    RUN_DIR/layers/<k>.npz           target_siemens, actual_siemens (and the
                                     negative columns' for pairs), blocks
                                     (row0, row1, col0, col1 per macro), inputs

Reading checks everything before any work: the schema, every key, the
hardware and options as a run's manifest would be checked, array shapes
against each other and the blocks, finite conductances within the cell's
range, inputs within ``[-1, 1]``, and each file's size against memory.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from circuits.errors import ConfigError
from circuits.files import atomic_write, atomic_writer, checked_npz, read_regular
from circuits.settings import from_mapping
from cosim.engine.options import SimOptions
from cosim.engine.tile import Block, ProgrammedArray
from cosim.hardware.presets import hardware_from_mapping
from cosim.layers.record import LayerRecord

SCHEMA = "rram-cosim.layers/1"
FOLDER = "layers"
MAX_INDEX_BYTES = 16 << 20
"""Largest ``index.json`` read (16 MiB)."""
MAX_LAYERS = 10_000


def write_layer_records(run_dir: Path, records: Sequence[LayerRecord]) -> list[str]:
    """Write ``records`` under ``run_dir/layers/``; the files written, relative to
    ``run_dir`` (none when there are no records)."""
    if not records:
        return []
    folder = Path(run_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    entries, files = [], []
    for k, rec in enumerate(records):
        name = f"{k:03d}.npz"
        arr = rec.array
        data = {"target_siemens": arr.target_siemens, "actual_siemens": arr.actual_siemens,
                "blocks": np.array([[b.row0, b.row1, b.col0, b.col1] for b in arr.blocks],
                                   dtype=np.int64),
                "inputs": rec.inputs}
        if arr.differential:
            data["target_neg_siemens"] = arr.target_neg_siemens
            data["actual_neg_siemens"] = arr.actual_neg_siemens
        with atomic_writer(folder / name) as fh:
            np.savez_compressed(fh, **data)
        entries.append({"name": rec.name, "file": name, "hardware": rec.hardware.as_dict(),
                        "sim": asdict(rec.sim), "seed": rec.seed, "rows": arr.rows,
                        "cols": arr.cols, "differential": arr.differential,
                        "macros": len(arr.blocks), "vectors": int(rec.inputs.shape[0])})
        files.append(f"{FOLDER}/{name}")
    atomic_write(folder / "index.json",
                 json.dumps({"schema": SCHEMA, "layers": entries}, indent=1) + "\n")
    return [f"{FOLDER}/index.json", *files]


def read_layer_records(run_dir: Path) -> list[LayerRecord]:
    """The layers recorded in ``run_dir`` (module docstring), every value checked.

    Raises:
        ConfigError: no ``layers/index.json`` (the run recorded none, or is not a
            run folder), or anything in it or its files that does not hold.
    """
    folder = Path(run_dir) / FOLDER
    index = folder / "index.json"
    if not index.exists():
        raise ConfigError(f"{run_dir} holds no recorded layers ({FOLDER}/index.json): "
                          "give the folder of a haq, field or snn run")
    raw = read_regular(index, f"{index}", MAX_INDEX_BYTES)
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{index} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ConfigError(f"{index}: schema must be {SCHEMA!r}")
    layers = data.get("layers")
    if not isinstance(layers, list) or not 1 <= len(layers) <= MAX_LAYERS:
        raise ConfigError(f"{index}: layers must be a list of 1 to {MAX_LAYERS} entries")
    return [_record(folder, entry, f"{index} layer {k}") for k, entry in enumerate(layers)]


_KEYS = {"name": str, "file": str, "hardware": dict, "sim": dict, "seed": int, "rows": int,
         "cols": int, "differential": bool, "macros": int, "vectors": int}


def _record(folder: Path, entry: Any, where: str) -> LayerRecord:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a table")
    for key, kind in _KEYS.items():
        value = entry.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(f"{where}: {key} must be a {kind.__name__}, got {value!r}")
    unknown = set(entry) - set(_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    file = entry["file"]
    if Path(file).name != file or not file.endswith(".npz"):
        raise ConfigError(f"{where}: file must be a .npz name inside {FOLDER}/, got {file!r}")
    hardware = hardware_from_mapping(entry["hardware"], where=f"{where} hardware")
    try:
        sim = from_mapping(SimOptions, entry["sim"], prefix="sim.")
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    array, inputs = _arrays(folder / file, entry, hardware.rram.g_max_siemens or 1.0)
    return LayerRecord(name=entry["name"], hardware=hardware, sim=sim, seed=entry["seed"],
                       array=array, inputs=inputs)


def _arrays(path: Path, entry: dict[str, Any], g_top: float
            ) -> tuple[ProgrammedArray, np.ndarray]:
    what = str(path)
    rows, cols, pairs = entry["rows"], entry["cols"], entry["differential"]
    names = ["target_siemens", "actual_siemens", "blocks", "inputs"]
    if pairs:
        names += ["target_neg_siemens", "actual_neg_siemens"]
    with checked_npz(path, what) as npz:
        missing = [n for n in names if n not in npz.files]
        if missing:
            raise ConfigError(f"{what} lacks {', '.join(missing)}")
        got = {n: np.asarray(npz[n]) for n in names}
    for n in names:
        if n.endswith("siemens"):
            g = got[n]
            if g.shape != (rows, cols) or g.dtype.kind != "f" or not np.all(np.isfinite(g)) \
                    or g.min(initial=0.0) < 0 or g.max(initial=0.0) > 10 * g_top:
                raise ConfigError(f"{what}: {n} must be ({rows}, {cols}) finite conductances "
                                  f"in [0, {10 * g_top:g}] S")
    a = got["inputs"]
    if a.ndim != 2 or a.shape[1] != rows or a.shape[0] != entry["vectors"] \
            or a.dtype.kind != "f" or not np.all(np.abs(a) <= 1.0):
        raise ConfigError(f"{what}: inputs must be ({entry['vectors']}, {rows}) values in "
                          "[-1, 1]")
    blocks = _blocks(got["blocks"], rows, cols, entry["macros"], what)
    array = ProgrammedArray(target_siemens=got["target_siemens"],
                            actual_siemens=got["actual_siemens"],
                            target_neg_siemens=got.get("target_neg_siemens"),
                            actual_neg_siemens=got.get("actual_neg_siemens"), blocks=blocks)
    return array, a


def _blocks(b: np.ndarray, rows: int, cols: int, macros: int, what: str) -> tuple[Block, ...]:
    if b.shape != (macros, 4) or b.dtype.kind not in "iu":
        raise ConfigError(f"{what}: blocks must be ({macros}, 4) integers")
    covered = np.zeros((rows, cols), dtype=np.int64)
    out = []
    for r0, r1, c0, c1 in b.tolist():
        if not (0 <= r0 < r1 <= rows and 0 <= c0 < c1 <= cols):
            raise ConfigError(f"{what}: block {(r0, r1, c0, c1)} lies outside the "
                              f"{rows} x {cols} array")
        covered[r0:r1, c0:c1] += 1
        out.append(Block(row0=r0, row1=r1, col0=c0, col1=c1))
    if not np.all(covered == 1):
        raise ConfigError(f"{what}: the blocks must cover the array once")
    return tuple(out)
