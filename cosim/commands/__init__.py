"""CLI commands, one module each; :data:`COMMANDS` names what ``cosim`` offers and where
each command lives. A command's module is imported when the command is used (or when
``cosim --help`` lists every command's summary), so a command that needs neither JAX
nor plotting does not wait for them to load."""

from __future__ import annotations

import importlib

import click

COMMANDS: dict[str, str] = {
    "run": "cosim.commands.run:run_command",
    "hardware": "cosim.commands.hardware:hardware_group",
    "netlist": "cosim.commands.netlist:netlist_group",
    "simulate": "cosim.commands.simulate:simulate_command",
    "waves": "cosim.commands.waves:waves_command",
    "vcmac-characterise": "cosim.commands.vcmac:vcmac_command",
    "characterise": "cosim.commands.characterise:characterise_command",
    "mvm": "cosim.commands.mvm:mvm_command",
    "haq": "cosim.commands.haq:haq_command",
    "field": "cosim.commands.field:field_group",
    "nerf": "cosim.commands.nerf:nerf_group",
    "sweep": "cosim.commands.haq:sweep_group",
    "report": "cosim.commands.report:report_command",
    "baseline": "cosim.commands.baseline:baseline_command",
    "snn": "cosim.commands.snn:snn_group",
    "verify": "cosim.commands.verify:verify_command",
    "deploy": "cosim.commands.deploy:deploy_command",
    "inpaint": "cosim.commands.inpaint:inpaint_group",
}
"""Each command's name and ``module:attribute``."""


def load_command(name: str) -> click.Command:
    """The command ``name`` of :data:`COMMANDS`, its module imported.

    Raises:
        KeyError: no such command.
    """
    module, attr = COMMANDS[name].split(":")
    command = getattr(importlib.import_module(module), attr)
    if command.name != name:
        raise RuntimeError(f"{COMMANDS[name]} is the command {command.name!r}, not {name!r}")
    return command
