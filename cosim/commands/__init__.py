"""CLI commands, one module each; :data:`COMMANDS` names what ``cosim`` offers, where
each command lives and its one-line summary. A command's module is imported when the
command is used, so ``cosim --help`` and a command that needs neither JAX nor plotting
do not wait for them to load."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import click

@dataclass(frozen=True)
class Entry:
    """Where a command lives and what ``cosim --help`` says of it.

    Attributes:
        target: ``module:attribute`` of the click command.
        summary: its line in ``cosim --help`` (the command's ``short_help``), short
            enough for an 80-column listing (:data:`SUMMARY_CHARS`).
    """

    target: str
    summary: str


SUMMARY_CHARS = 54
"""The longest summary click prints whole in an 80-column ``cosim --help``."""

COMMANDS: dict[str, Entry] = {
    "run": Entry("cosim.commands.run:run_command",
                 "The main job: circuits, workloads, report"),
    "hardware": Entry("cosim.commands.hardware:hardware_group",
                      "Hardware presets and specs"),
    "netlist": Entry("cosim.commands.netlist:netlist_group",
                     "Write generated netlists or the golden files"),
    "simulate": Entry("cosim.commands.simulate:simulate_command",
                      "Run a SPICE deck (one analysis) in ngspice"),
    "waves": Entry("cosim.commands.waves:waves_command",
                   "Plot the signals of a simulate run"),
    "vcmac-characterise": Entry("cosim.commands.vcmac:vcmac_command",
                                "Sweep the VCMAC over input current, all 16 codes"),
    "characterise": Entry("cosim.commands.characterise:characterise_command",
                          "Characterise the op-amp, TIA or VCMAC in ngspice"),
    "mvm": Entry("cosim.commands.mvm:mvm_command",
                 "Time a tile backend's MVMs and measure their error"),
    "haq": Entry("cosim.commands.haq:haq_command",
                 "NF paper MVM test: PTQ vs HAQ RMSE"),
    "field": Entry("cosim.commands.field:field_group",
                   "Neural-field CT reconstruction (NF paper)"),
    "nerf": Entry("cosim.commands.nerf:nerf_group",
                  "NeRF and D-NeRF novel-view synthesis (NF paper)"),
    "sweep": Entry("cosim.commands.haq:sweep_group",
                   "Resumable parameter sweeps, one row per point"),
    "report": Entry("cosim.commands.report:report_command",
                    "Energy and area report of runs or configs"),
    "baseline": Entry("cosim.commands.baseline:baseline_command",
                      "Time the workloads' software networks here"),
    "snn": Entry("cosim.commands.snn:snn_group",
                 "PRIME SNN: pop-up pruning, LIF loop, early stop"),
    "verify": Entry("cosim.commands.verify:verify_command",
                    "Check a run's analog layers against ngspice"),
    "deploy": Entry("cosim.commands.deploy:deploy_command",
                    "Deploy an ONNX or NIR network on the hardware"),
    "inpaint": Entry("cosim.commands.inpaint:inpaint_group",
                     "PRIME inpainting: spiking VAE on pruned pairs"),
}
"""Every command by name."""


def load_command(name: str) -> click.Command:
    """The command ``name`` of :data:`COMMANDS`, its module imported, its short help the
    entry's summary.

    Raises:
        KeyError: no such command.
    """
    entry = COMMANDS[name]
    module, attr = entry.target.split(":")
    command = getattr(importlib.import_module(module), attr)
    if command.name != name:
        raise RuntimeError(f"{entry.target} is the command {command.name!r}, not {name!r}")
    command.short_help = entry.summary
    return command
