"""``cosim hardware``: the hardware presets, and any hardware spec resolved in full.

``cosim hardware list`` names the presets with their one-line description;
``cosim hardware show NAME|FILE [--hw PART.FIELD=VALUE ...] [-o FILE]`` prints
(or writes) every field of the resolved spec as TOML, a file to copy, edit and
pass back with ``--hardware FILE``.
"""

from __future__ import annotations

from pathlib import Path

import click

from circuits.errors import ConfigError
from cosim.commands.options import HardwareChoice
from cosim.hardware.presets import PRESETS, hardware_toml, preset
from cosim.outputs.jsonout import emit_json
from cosim.outputs.outpath import OutputPath, check_writable_output


@click.group("hardware")
def hardware_group() -> None:
    """Hardware presets and specs (cells, wires, readout, noise, programming)."""


@hardware_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def hardware_list_command(as_json: bool) -> None:
    """The presets, one line each."""
    if as_json:
        emit_json({name: preset(name).describe() for name in PRESETS})
        return
    for name in PRESETS:
        click.echo(preset(name).describe())


@hardware_group.command("show")
@click.argument("hardware", default="realistic", metavar="NAME|FILE")
@click.option("--hw", "settings", multiple=True, metavar="PART.FIELD=VALUE",
              help="Set a field first (repeat), e.g. --hw array.r_wire_ohm=2.5.")
@click.option("-o", "--out", type=OutputPath(path_type=Path, dir_okay=False), default=None,
              help="Write the TOML to this new file instead of printing it.")
@click.option("--json", "as_json", is_flag=True, help="Print the spec as one JSON object.")
def hardware_show_command(hardware: str, settings: tuple[str, ...], out: Path | None,
                          as_json: bool) -> None:
    """Every field of a preset or hardware file, resolved, as TOML (or JSON)."""
    hw = HardwareChoice(name=hardware, settings=tuple(settings)).resolve(hardware)
    if as_json:
        emit_json({"hardware_text": hw.describe(), "hardware": hw.as_dict()})
        return
    text = f"# {hw.describe()}\n" + hardware_toml(hw)
    if out is None:
        click.echo(text, nl=False)
        return
    check_writable_output(out, "hardware file")
    if out.exists():
        raise ConfigError(f"{out} exists; give a new file")
    out.write_text(text)
    click.echo(f"wrote {out}")
