"""``cosim simulate``: run a user's SPICE deck with one analysis and keep the results.

The deck is data: :mod:`circuits.safety` reads it with ngspice's own line rules
and checks it against an allowlist (no control language unless
``--allow-control``); ngspice runs the checked text, with checked copies of the
included files in the run folder. The analysis named on the command line
replaces any analysis lines of the deck's own and of every file it includes
(they are removed, and each removal is reported), so one run gives one table
and the output-point limit holds. While ngspice runs, its raw file may grow
to at most ``MAX_RAW_BYTES``: past that it is stopped and the partial file removed.

Run folder::

    RUN_DIR/results.csv        one column per vector, with its unit ("v(out) [V]")
    RUN_DIR/waves.png, .svg    node voltages and source currents vs sweep or time
    RUN_DIR/manifest.json      command, analysis, deck name and hash, ngspice version
    RUN_DIR/spice/             deck.cir, included files, ngspice.log, out.raw
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace
from pathlib import Path

import click
import pandas as pd

from circuits.analyses import DC, Analysis, Op, Tran
from circuits.errors import ConfigError, check_range, did_you_mean
from circuits.netlist import spice_number
from circuits.runner import DEFAULT_TIMEOUT_S, SimResult, ngspice_version, run
from circuits.safety import UserDeck, copy_includes, load_user_deck
from cosim.outputs.jsonout import emit_json
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.outputs.outpath import OutputPath
from cosim.outputs.plots import new_figure, plot_traces, save_figure
from cosim.outputs.rundir import new_run_dir, prepare_run_dir

MAX_POINTS = 1_000_000
"""Most output points of one analysis: the raw file and results.csv grow with them."""
MAX_TIMEOUT_S = 7 * 24 * 3600.0
"""Longest ``--timeout`` (a week); ``inf`` is refused."""
MAX_RAW_BYTES = 2**30
"""Most bytes ngspice may write into the run's raw file (1 GiB); it is stopped past it."""
ANALYSIS_WORDS = (".op", ".dc", ".tran", ".ac", ".noise", ".tf", ".sens", ".pz", ".disto",
                  ".pss", ".sp")
class SpiceNumber(click.ParamType):
    """Click type for numbers with SPICE scale suffixes."""

    name = "number"

    def convert(self, value, param, ctx):  # noqa: D102 - click protocol
        if isinstance(value, (int, float)):
            return float(value)
        try:
            return spice_number(value)
        except ConfigError as exc:
            self.fail(str(exc), param, ctx)


NUMBER = SpiceNumber()


@click.command("simulate")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--op", "op", is_flag=True, help="DC operating point.")
@click.option("--dc", type=(str, NUMBER, NUMBER, NUMBER), default=None,
              metavar="SRC START STOP STEP", help="DC sweep of source SRC.")
@click.option("--tran", type=(NUMBER, NUMBER), default=None, metavar="STEP STOP",
              help="Transient analysis (seconds).")
@click.option("-o", "--out", "run_dir", type=OutputPath(path_type=Path, file_okay=False),
              default=None, help="Run folder [default: results/simulate-<timestamp>].")
@click.option("--allow-control", is_flag=True,
              help="Trust the deck: allow .control blocks and absolute includes.")
@click.option("--timeout", "timeout_s", type=float, default=DEFAULT_TIMEOUT_S,
              show_default=True, help="Kill ngspice after this many seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def simulate_command(file: Path, op: bool, dc: tuple | None, tran: tuple | None,
                     run_dir: Path | None, allow_control: bool, timeout_s: float,
                     as_json: bool) -> None:
    """Run FILE (a SPICE deck) with one analysis; write results.csv and plots.

    The analysis given here replaces the deck's own analysis lines. The deck
    may hold only elements and a short list of dot-commands (no .control,
    *#, shell, ...) unless --allow-control, and the files it includes must
    lie in its folder or in the project's device_models/; their checked
    copies go into RUN_DIR/spice. Numbers take SPICE suffixes (1u, 10n).
    """
    analysis = _analysis(op, dc, tran)
    check_range("--timeout", timeout_s, 0.0, MAX_TIMEOUT_S, lo_open=True)
    deck, removed = without_analyses(load_user_deck(file, allow_control=allow_control))
    body = deck.checked
    if isinstance(analysis, DC) and not deck.trusted:
        _check_source(analysis.source, body, [f.text for f in deck.files])
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("simulate")) as run_dir:
        workdir = run_dir / "spice"
        workdir.mkdir(parents=True, exist_ok=True)
        copy_includes(deck, workdir)
        result = run(body, analysis, timeout_s=timeout_s, workdir=workdir,
                     max_output_bytes=MAX_RAW_BYTES)
        summary = _write_outputs(result, analysis, run_dir, file, deck.text, removed)
    _report(summary, result, analysis, as_json)


def _analysis(op: bool, dc: tuple | None, tran: tuple | None) -> Analysis:
    chosen = [a for a, given in (("op", op), ("dc", dc), ("tran", tran)) if given]
    if len(chosen) != 1:
        raise ConfigError("choose exactly one analysis: --op, --dc SRC START STOP STEP "
                          f"or --tran STEP STOP (got {len(chosen)})")
    if op:
        return Op()
    if dc:
        for name, value in zip(("START", "STOP", "STEP"), dc[1:], strict=True):
            if not math.isfinite(value):
                raise ConfigError(f"--dc {name} must be a finite number, got {value}")
        analysis = DC(source=dc[0], start=dc[1], stop=dc[2], step=dc[3])
        _check_points("--dc", abs(dc[2] - dc[1]) / abs(dc[3]) + 1, "STEP")
        return analysis
    for name, value in zip(("STEP", "STOP"), tran, strict=True):
        if not math.isfinite(value):
            raise ConfigError(f"--tran {name} must be a finite number, got {value}")
    analysis = Tran(step_s=tran[0], stop_s=tran[1])
    _check_points("--tran", tran[1] / tran[0], "STEP")
    return analysis


def _check_points(option: str, points: float, larger: str) -> None:
    """Refuse an analysis with more output points than ``MAX_POINTS`` before ngspice starts."""
    if points > MAX_POINTS:
        raise ConfigError(f"{option} asks for about {points:.3g} points, more than "
                          f"{MAX_POINTS:,}; use a larger {larger}")


def without_analyses(deck: UserDeck) -> tuple[UserDeck, list[str]]:
    """The deck with the analysis lines of the deck and of every included file removed.

    Returns:
        the deck (``checked`` without analyses and without ``.end``; each
        included file's text without analyses), and the removed lines, those
        of included files prefixed with the file (``"models/a.lib: .tran 1p 1u"``).
    """
    checked, removed = strip_analyses(deck.checked)
    files = []
    for file in deck.files:
        text, gone = strip_analyses(file.text, has_title=False)
        removed += [f"{file.dest}: {line}" for line in gone]
        files.append(replace(file, text=text))
    return replace(deck, checked=checked, files=tuple(files)), removed


def strip_analyses(text: str, *, has_title: bool = True) -> tuple[str, list[str]]:
    """Remove analysis lines (with their ``+`` continuations) and, in a deck, everything
    from ``.end``.

    Args:
        text: a deck (line 1 its title) or, with ``has_title=False``, an included
            file (whose ``.end`` ngspice ignores; it is kept).

    Returns:
        the text without them, and the removed analysis lines.
    """
    kept: list[str] = []
    removed: list[str] = []
    dropping = False
    first = 2 if has_title else 1
    for number, line in enumerate(text.splitlines(), start=1):
        word = line.strip().split()[0].lower() if line.strip() else ""
        if has_title and number > 1 and word == ".end":
            break
        if number >= first and word.startswith("+") and dropping:
            removed[-1] += " " + line.strip()
            continue
        dropping = number >= first and word in ANALYSIS_WORDS
        if dropping:
            removed.append(line.strip())
        else:
            kept.append(line)
    return "\n".join(kept) + "\n", removed


def _check_source(source: str, deck_text: str, included: list[str]) -> None:
    """Refuse a DC sweep of a source the deck does not define at top level."""
    names = _top_level_sources(deck_text, has_title=True)
    for text in included:
        names |= _top_level_sources(text, has_title=False)
    if source.lower() not in names:
        raise ConfigError(
            f"--dc source {source!r} is not a top-level V or I source of the deck"
            f"{did_you_mean(source.lower(), sorted(names))}"
        )


def _top_level_sources(text: str, *, has_title: bool) -> set[str]:
    names, depth = set(), 0
    for line in text.splitlines()[1 if has_title else 0:]:
        word = line.strip().split()[0].lower() if line.strip() else ""
        depth += word == ".subckt"
        depth -= word == ".ends"
        if depth == 0 and word[:1] in ("v", "i"):
            names.add(word)
    return names


def _write_outputs(result: SimResult, analysis: Analysis, run_dir: Path, file: Path,
                   deck_text: str, removed: list[str]) -> dict:
    csv_path = run_dir / "results.csv"
    result.data.to_csv(csv_path, index=False, float_format="%.10g")
    plots = [] if isinstance(analysis, Op) else save_results_plot(result.data, run_dir / "waves")
    summary = new_manifest(
        "simulate", config={"deck": file.name, "analysis": analysis.line()},
        deck=file.name, deck_sha256=hashlib.sha256(deck_text.encode()).hexdigest(),
        analysis=analysis.line(), removed_analysis_lines=removed,
        ngspice=ngspice_version(), points=len(result.data),
        columns=list(result.data.columns), results=csv_path.name,
        plots=[p.name for p in plots])
    write_manifest(run_dir, summary)
    return dict(summary, run_dir=str(run_dir))


def save_results_plot(data: pd.DataFrame, stem: Path) -> list[Path]:
    """Plot every node voltage and source current against the first column."""
    x_name = data.columns[0]
    groups = {"V": {}, "A": {}}
    for name in data.columns[1:]:
        unit = name.rsplit("[", 1)[-1].rstrip("]") if name.endswith("]") else ""
        if unit in groups:
            groups[unit][name.rsplit(" [", 1)[0]] = data[name].to_numpy()
    panels = [(unit, traces) for unit, traces in groups.items() if traces]
    fig, axes = new_figure(max(1, len(panels)))
    for ax, (unit, traces) in zip(axes, panels, strict=False):
        label = "voltage [V]" if unit == "V" else "current [A]"
        plot_traces(ax, data[x_name].to_numpy(), traces, ylabel=label)
    axes[-1].set_xlabel(x_name)
    return save_figure(fig, stem)


def _report(summary: dict, result: SimResult, analysis: Analysis, as_json: bool) -> None:
    if as_json:
        if isinstance(analysis, Op):
            summary["values"] = {k: float(v) for k, v in result.data.iloc[0].items()}
        emit_json(summary)
        return
    for line in summary["removed_analysis_lines"]:
        click.echo(f"note: removed the deck's own analysis line: {line}", err=True)
    if isinstance(analysis, Op):
        width = max(len(c) for c in result.data.columns)
        for name, value in result.data.iloc[0].items():
            click.echo(f"{name:<{width}}  {value: .6e}")
    points = summary["points"]
    click.echo(f"wrote {summary['run_dir']}/results.csv ({points} point{'s' * (points != 1)}, "
               f"{len(summary['columns'])} columns)"
               + (" and waves.png/.svg" if summary["plots"] else ""))
