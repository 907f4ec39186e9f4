"""``cosim waves``: plot chosen signals of a finished run against time or the sweep.

Signals are named as in the results table, e.g. ``v(out)`` or ``i(vsense0)``;
case does not matter and the unit suffix (``" [V]"``) may be left out. Signals
of different units go into separate panels sharing the x axis.
"""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from circuits.errors import ConfigError, did_you_mean
from circuits.files import regular_file
from cosim.outputs.jsonout import emit_json
from cosim.outputs.outpath import OutputPath, check_writable_output
from cosim.outputs.plots import new_figure, plot_traces, save_as

PLOT_SUFFIXES = (".png", ".svg")


@click.command("waves")
@click.argument("run_dir", type=OutputPath(path_type=Path))
@click.option("-s", "--signal", "signals", multiple=True, required=True,
              help="Signal to plot, e.g. v(out) or i(vsense0); repeat for more.")
@click.option("-o", "--out", "plot", type=OutputPath(path_type=Path, dir_okay=False),
              required=True, help="Output figure; .png or .svg.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def waves_command(run_dir: Path, signals: tuple[str, ...], plot: Path, as_json: bool) -> None:
    """Plot signals of RUN_DIR/results.csv against its first column (time or sweep)."""
    if plot.suffix.lower() not in PLOT_SUFFIXES:
        raise ConfigError(f"plot file must end in .png or .svg, got {plot.name!r}")
    data = read_results(run_dir)
    columns = [match_signal(name, data.columns[1:]) for name in signals]
    check_writable_output(plot, "plot file")
    plot_signals(data, columns, plot)
    if as_json:
        emit_json({"plot": str(plot), "signals": columns, "x": str(data.columns[0]),
                   "points": len(data)})
    else:
        click.echo(f"wrote {plot}")


def read_results(run_dir: Path) -> pd.DataFrame:
    """The results table of a run folder (or of the CSV file given directly).

    Raises:
        ConfigError: no table there, one with fewer than two columns or points,
            or one with a column that is not numbers.
    """
    path = run_dir / "results.csv" if run_dir.is_dir() else run_dir
    if not path.exists():
        raise ConfigError(f"no results table at {path}; run 'cosim simulate' with -o {run_dir}")
    regular_file(path, "results table")
    try:
        data = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        raise ConfigError(f"{path} is not a results table (CSV)") from None
    if len(data.columns) < 2:
        raise ConfigError(f"{path} has {len(data.columns)} column(s); a results table has the "
                          "time or sweep column and at least one signal")
    if len(data) < 2:
        raise ConfigError(f"{path} holds {len(data)} point(s); waves need a sweep or transient")
    for name in data.columns:
        values = pd.to_numeric(data[name], errors="coerce")
        bad = values.isna() & data[name].notna()
        if bad.any():
            row = int(bad.to_numpy().argmax()) + 1
            raise ConfigError(f"column {name!r} of {path} is not numbers (data row {row}: "
                              f"{data[name][bad].iloc[0]!r})")
        data[name] = values
    return data


def _key(name: str) -> str:
    """Comparison key: lower case, no blanks, no unit suffix."""
    base = name.rsplit("[", 1)[0] if name.rstrip().endswith("]") else name
    return "".join(base.split()).lower()


def match_signal(name: str, columns) -> str:
    """The column of ``columns`` that ``name`` means.

    Raises:
        ConfigError: no such signal; names the closest ones.
    """
    by_key = {_key(c): c for c in columns}
    key = _key(name)
    if key in by_key:
        return by_key[key]
    if f"v({key})" in by_key:
        return by_key[f"v({key})"]
    hint = did_you_mean(key, list(by_key))
    shown = ", ".join(list(by_key)[:8]) + (" ..." if len(by_key) > 8 else "")
    raise ConfigError(f"unknown signal {name!r}{hint} (signals: {shown})")


def plot_signals(data: pd.DataFrame, columns: list[str], path: Path) -> Path:
    """Plot ``columns`` against ``data``'s first column into ``path``; one panel per unit."""
    by_unit: dict[str, dict[str, object]] = {}
    for col in dict.fromkeys(columns):
        unit = col.rsplit("[", 1)[-1].rstrip("]") if col.endswith("]") else ""
        by_unit.setdefault(unit, {})[col] = data[col].to_numpy()
    fig, axes = new_figure(len(by_unit))
    x = data[data.columns[0]].to_numpy()
    for ax, (unit, traces) in zip(axes, by_unit.items(), strict=True):
        plot_traces(ax, x, traces, ylabel=f"[{unit}]" if unit else "value")
    axes[-1].set_xlabel(data.columns[0])
    return save_as(fig, path)
