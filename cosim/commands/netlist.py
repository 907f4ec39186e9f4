"""``cosim netlist``: write a generated netlist, or rewrite the golden netlists.

``cosim netlist KIND [--set NAME=VALUE ...] -o FILE`` with KIND one of
``crossbar``, ``tia``, ``vcmac``. ``--set`` takes any field of that generator's
parameter dataclass by name (``--set r_f_ohm=1k``); fields of a nested
parameter object take a dotted name (``--set rram.g_lrs_siemens=30u``). The
value is parsed to the field's type (numbers accept SPICE suffixes).

The written deck has no analysis (``cosim simulate FILE --op`` adds one). The
model files it needs are copied next to FILE and included by bare name, so the
file runs where it lies and holds no absolute path. Its sources carry a
stimulus for each analysis: the TIA bench's ``Iin`` is a 100 uA current step
(``DC`` its final value, ``PULSE`` at 10 ns for ``--tran``); the VCMAC chain's
inputs ``Iin<k>`` are 1 uA DC currents, to ramp with ``--dc Iin0 ...`` (its
amplifiers have no dynamics, so it takes no transient). Numbers are written
so that they read back as the same doubles.

``cosim netlist golden [--check]`` rewrites ``netlists/*.cir`` from the
generators (the only way they change), or with ``--check`` reports which differ.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from circuits.cells import cell_kind
from circuits.errors import ConfigError, check_memory, check_range, format_bytes
from circuits.golden import GOLDEN_DIR, check_golden, write_golden
from circuits.netlist import MODEL_DIR, Netlist, spice_number
from circuits.settings import parse_settings
from cosim.outputs.jsonout import emit_json
from cosim.outputs.outpath import OutputPath, check_writable_output


@click.group("netlist")
def netlist_group() -> None:
    """Write generated netlists (crossbar, tia, vcmac) or the golden files."""


def _common(func: Callable) -> Callable:
    func = click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")(func)
    func = click.option("-o", "--out", "out", type=OutputPath(path_type=Path, dir_okay=False),
                        required=True, help="Netlist file to write.")(func)
    return click.option("--set", "settings", multiple=True, metavar="NAME=VALUE",
                        help="Set a parameter field (repeat); dotted names for nested ones.")(func)


@netlist_group.command("crossbar")
@_common
@click.option("--rows", type=int, default=4, show_default=True, help="Rows (word/bit lines).")
@click.option("--cols", type=int, default=4, show_default=True, help="Columns (outputs).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the random conductances (uniform between HRS and LRS).")
@click.option("--differential", is_flag=True, help="Add a negative column per output.")
@click.option("--v-in", "v_in", type=str, default=None,
              help="DC input voltage of every row (V) [default: 0 V sources].")
def crossbar_command(settings: tuple[str, ...], out: Path, as_json: bool, rows: int, cols: int,
                     seed: int, differential: bool, v_in: str | None) -> None:
    """A crossbar with random conductances between the HRS and LRS levels."""
    from circuits.crossbar import crossbar

    params = build_crossbar_params(settings, rows=rows, cols=cols, seed=seed,
                                   differential=differential)
    v = None if v_in is None else np.full(params.rows, spice_number(v_in))
    check_writable_output(out, "netlist file")
    _write(crossbar(params, v_in_volt=v), out, as_json)


@netlist_group.command("tia")
@_common
@click.option("--transistor", is_flag=True,
              help="The transistor-level op-amp (circuits.tia.TRANSISTOR_TIA) instead of the "
                   "macro-model; --set opamp.<field>=... sets its devices.")
def tia_command(settings: tuple[str, ...], out: Path, as_json: bool, transistor: bool) -> None:
    """The stand-alone TIA test bench."""
    from circuits.tia import TRANSISTOR_TIA, TIAParams, tia

    params = build_params(TIAParams, settings, base=TRANSISTOR_TIA if transistor else None)
    check_writable_output(out, "netlist file")
    _write(tia(params), out, as_json)


@netlist_group.command("vcmac")
@_common
@click.option("--transistor", is_flag=True,
              help="Transistor-level regulation amplifiers (circuits.vcmac.VCMAC_OTA); "
                   "--set amp.<field>=... sets their devices.")
def vcmac_command(settings: tuple[str, ...], out: Path, as_json: bool, transistor: bool) -> None:
    """A VCMAC chain (set n_columns, code, ...)."""
    from circuits.vcmac import VCMAC_OTA, VCMACParams, vcmac_chain

    params = build_params(VCMACParams, settings,
                          base=VCMACParams(amp=VCMAC_OTA) if transistor else None)
    check_writable_output(out, "netlist file")
    _write(vcmac_chain(params), out, as_json)


@netlist_group.command("golden")
@click.option("--dir", "folder", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="Folder of the golden files [default: the project's netlists/].")
@click.option("--check", is_flag=True, help="Only report which golden files differ.")
def golden_command(folder: Path | None, check: bool) -> None:
    """Rewrite the golden netlists from the generators (or --check them)."""
    folder = folder or GOLDEN_DIR
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"golden folder {folder} is a file; give a folder with --dir")
    if check and not folder.is_dir():
        raise ConfigError(f"golden folder {folder} does not exist; nothing to check")
    if not check:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create golden folder {folder}: "
                              f"{exc.strerror or exc}") from None
    if check:
        stale = check_golden(folder)
        if stale:
            raise ConfigError(f"golden netlists differ from the generators: {', '.join(stale)}; "
                              "run 'cosim netlist golden' to rewrite them")
        click.echo("golden netlists match the generators")
        return
    for path in write_golden(folder):
        shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
        click.echo(f"wrote {shown}")


def build_crossbar_params(settings: tuple[str, ...], *, rows: int, cols: int, seed: int,
                          differential: bool = False):
    """``CrossbarParams`` with random conductances and ``settings`` applied."""
    from circuits.crossbar import MAX_DIM, CrossbarParams

    check_range("rows", rows, 1, MAX_DIM)
    check_range("cols", cols, 1, MAX_DIM)
    check_range("seed", seed, 0, 2**63 - 1)
    for item in settings:
        if item.partition("=")[0].strip() in ("g_siemens", "g_neg_siemens"):
            raise ConfigError("conductances cannot be set with --set; they are drawn from "
                              "--rows, --cols, --seed and the rram.* levels")
    kwargs = parse_settings(CrossbarParams, settings)
    defaults = {f.name: f.default for f in dataclasses.fields(CrossbarParams)}
    check_crossbar_size(rows, cols, differential, kwargs.get("cell", defaults["cell"]))
    rram = kwargs.get("rram", defaults["rram"])
    rng = np.random.default_rng(seed)
    lo, hi = rram.g_hrs_siemens, rram.g_lrs_siemens
    kwargs["g_siemens"] = rng.uniform(lo, hi, size=(rows, cols))
    if differential:
        kwargs["g_neg_siemens"] = rng.uniform(lo, hi, size=(rows, cols))
    return CrossbarParams(**kwargs)


GENERATE_BYTES_PER_TEXT_BYTE = 6
"""Peak memory of generating a netlist per byte of its text (measured ~5 at 512 x 512)."""
MAX_NETLIST_BYTES = 2**30
"""Largest netlist text written (1 GiB); ngspice is practical up to about 64 x 64."""


def check_crossbar_size(rows: int, cols: int, differential: bool, cell: str) -> None:
    """Refuse a crossbar netlist too large to write, before it is generated.

    Raises:
        ConfigError: the text would exceed ``MAX_NETLIST_BYTES`` or its generation
            this machine's memory (figures estimated from the cell count).
    """
    cells = rows * cols * (2 if differential else 1)
    text = cells * cell_kind(cell).netlist_bytes
    what = f"a {rows} x {cols} {cell}{' differential' if differential else ''} crossbar netlist"
    if text > MAX_NETLIST_BYTES:
        raise ConfigError(f"{what} would be about {format_bytes(text)} of text, more than the "
                          f"{format_bytes(MAX_NETLIST_BYTES)} written (ngspice is practical up "
                          "to about 64 x 64); use fewer --rows or --cols")
    check_memory(what, text * GENERATE_BYTES_PER_TEXT_BYTE, hint="use fewer --rows or --cols")


def build_params(cls: type, settings: tuple[str, ...], *, base: Any = None) -> Any:
    """An instance of parameter dataclass ``cls`` with ``settings`` applied to its defaults
    (or to ``base``, an instance of ``cls``)."""
    if base is None:
        return cls(**parse_settings(cls, settings))
    return dataclasses.replace(base, **parse_settings(cls, settings, base=base))


def _write(netlist: Netlist, out: Path, as_json: bool) -> None:
    """Write the deck to ``out`` and the model files it includes beside it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(netlist.text())
    models = []
    for model in netlist.models:
        shutil.copyfile(MODEL_DIR / model, out.parent / model)
        models.append(str(out.parent / model))
    if as_json:
        emit_json({"netlist": str(out), "models": models, "title": netlist.title,
                   "lines": len(netlist.body)})
        return
    click.echo(f"wrote {out}" + (f" and {', '.join(models)}" if models else ""))
