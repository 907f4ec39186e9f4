"""CLI commands, one module each; ``COMMANDS`` lists what ``cosim`` offers."""

from __future__ import annotations

import click

from cosim.commands.baseline import baseline_command
from cosim.commands.characterise import characterise_command
from cosim.commands.deploy import deploy_command
from cosim.commands.field import field_group
from cosim.commands.haq import haq_command, sweep_group
from cosim.commands.hardware import hardware_group
from cosim.commands.inpaint import inpaint_group
from cosim.commands.mvm import mvm_command
from cosim.commands.nerf import nerf_group
from cosim.commands.netlist import netlist_group
from cosim.commands.report import report_command
from cosim.commands.run import run_command
from cosim.commands.simulate import simulate_command
from cosim.commands.snn import snn_group
from cosim.commands.vcmac import vcmac_command
from cosim.commands.verify import verify_command
from cosim.commands.waves import waves_command

COMMANDS: list[click.Command] = [
    run_command,
    hardware_group,
    netlist_group,
    simulate_command,
    waves_command,
    vcmac_command,
    characterise_command,
    mvm_command,
    haq_command,
    field_group,
    nerf_group,
    sweep_group,
    report_command,
    baseline_command,
    snn_group,
    verify_command,
    deploy_command,
    inpaint_group,
]
