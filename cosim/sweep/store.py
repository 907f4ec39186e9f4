"""What a sweep keeps on disk: ``points.jsonl`` (one row per finished point), the
failed points, and the tidy table.

``points.jsonl`` starts with a header line (``{"cosim_sweep": 1, ...}``) that marks
it as written by a sweep: resuming refuses a file without it and never truncates
or rewrites one. A line that is not a valid row is reported (by line number, a
``CosimWarning``) and left as it is, and every other row is kept; only a last
line cut short by an interrupt is removed. Each row is appended, flushed and
synced as soon as its point ends.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from circuits.errors import ConfigError, CosimWarning
from circuits.files import atomic_write, regular_file

ROWS_FILE = "points.jsonl"


KEY = "point_key"


ELAPSED = "elapsed_s"


FAILED_FILE = "failed.jsonl"


@dataclass(frozen=True, kw_only=True)
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes:
        table: one row per requested point, in grid order (point keys first).
        computed: points computed in this call.
        failed: points that failed every attempt in this call (in ``failed.jsonl``).
        skipped: points already written by a previous run and not recomputed.
        out_dir: the run folder.
        elapsed_s: wall time of this call (s).
    """

    table: pd.DataFrame
    computed: int
    failed: int
    skipped: int
    out_dir: Path
    elapsed_s: float


HEADER = "cosim_sweep"
"""Key of the header record, the first line of every ``points.jsonl`` this module writes."""


FORMAT_VERSION = 1


@dataclass(frozen=True)
class RowsFile:
    """What :func:`read_rows` found in a ``points.jsonl``.

    Attributes:
        rows: the valid rows, by point key (a later row of a key wins).
        bad_lines: 1-based numbers of the lines (after the header) that are not
            valid rows; left in the file as they are.
        torn_at: byte offset of a last line cut short (no newline) that is not
            a valid row, or ``None``.
        unterminated: the last line is a valid row but has no newline.
    """

    rows: dict[str, dict[str, Any]]
    bad_lines: tuple[int, ...] = ()
    torn_at: int | None = None
    unterminated: bool = False


def read_rows(path: Path) -> RowsFile:
    """Read a ``points.jsonl`` written by :func:`run_sweep`, without changing it.

    Raises:
        ConfigError: the file does not start with the cosim sweep header (it was
            not written by this module, or by a version before the header).
    """
    path = regular_file(path, "sweep rows")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    lines = data.splitlines(keepends=True)
    if not lines or not _is_header(lines[0]):
        raise ConfigError(f"{path} is not a cosim sweep file (its first line is not the "
                          f'{{"{HEADER}": ...}} header); refusing to resume into it: '
                          f"choose another output folder")
    rows: dict[str, dict[str, Any]] = {}
    bad: list[int] = []
    pos = len(lines[0])
    torn_at = None
    unterminated = False
    for number, line in enumerate(lines[1:], start=2):
        start, pos = pos, pos + len(line)
        last = not line.endswith(b"\n")
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            row = None
        if isinstance(row, dict) and isinstance(row.get(KEY), str):
            rows[row[KEY]] = row
            unterminated = last
        elif last:
            torn_at = start
        elif line.strip():
            bad.append(number)
    return RowsFile(rows=rows, bad_lines=tuple(bad), torn_at=torn_at,
                    unterminated=unterminated)


def _is_header(line: bytes) -> bool:
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return line.endswith(b"\n") and isinstance(obj, dict) and HEADER in obj


def load_rows(out_dir: Path) -> dict[str, dict[str, Any]]:
    """Rows already written to ``out_dir/points.jsonl``, by point key (none if no file).

    Reads only; see :func:`read_rows`.
    """
    path = Path(out_dir) / ROWS_FILE
    return read_rows(path).rows if path.exists() else {}


def open_rows(path: Path, table_name: str) -> dict[str, dict[str, Any]]:
    """Rows of the sweep in ``path`` (resumed), or a new file with its header.

    Warns (``CosimWarning``) of lines that are not rows (they stay in the file), and
    removes only a last line cut short by an interrupt, so new rows append
    cleanly.
    """
    if not path.exists():
        header = {HEADER: FORMAT_VERSION, "table": table_name,
                  "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        atomic_write(path, json.dumps(header) + "\n")  # a points.jsonl starts with its header
        return {}
    found = read_rows(path)
    if found.bad_lines:
        numbers = ", ".join(map(str, found.bad_lines[:20]))
        more = f" and {len(found.bad_lines) - 20} more" if len(found.bad_lines) > 20 else ""
        warnings.warn(f"{path}: line{'s' if len(found.bad_lines) > 1 else ''} {numbers}"
                      f"{more} {'are' if len(found.bad_lines) > 1 else 'is'} not a valid "
                      f"sweep row; left as is, every other row kept, and the points missing "
                      f"are recomputed", CosimWarning, stacklevel=3)
    if found.torn_at is not None:
        warnings.warn(f"{path}: dropped a last line cut short by an interrupt", CosimWarning,
                      stacklevel=3)
        with open(path, "r+b") as f:
            f.truncate(found.torn_at)
    elif found.unterminated:
        with open(path, "ab") as f:
            f.write(b"\n")
    return found.rows


def check_resumable(out_dir: Path | str) -> Path:
    """Refuse ``--resume`` into a folder that holds no sweep (checked before it is created).

    Raises:
        ConfigError: ``out_dir`` has no ``points.jsonl`` (missing, empty, or other files).
    """
    out = Path(out_dir)
    if not (out / ROWS_FILE).exists():
        what = "does not exist" if not out.exists() else f"holds no {ROWS_FILE}"
        raise ConfigError(f"--resume: {out} {what}, so it is not a sweep to resume; leave "
                          f"out --resume to start one in a new or empty folder")
    return out


def append_row(path: Path, record: Mapping[str, Any]) -> None:
    """Append one JSON line and sync it, so an interrupt cannot lose it."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())


def write_table(out: Path, table_name: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Tidy table of the finished points (grid order), as Parquet and CSV."""
    table = pd.DataFrame(rows)
    if KEY in table.columns:
        table = table.drop(columns=[KEY])
    table.to_parquet(out / f"{table_name}.parquet", index=False)
    table.to_csv(out / f"{table_name}.csv", index=False)
    return table
