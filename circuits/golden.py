"""Golden netlists: small, fixed instances of every generator.

``netlists/<name>.cir`` holds the text each entry of ``GOLDEN`` renders, with
``GOLDEN_ANALYSES`` appended and the models included from
``GOLDEN_MODEL_DIR`` (``../device_models/<name>.lib``, relative to the deck:
ngspice 39 resolves a relative include from the including file's folder,
whatever the working folder). So every golden file runs where it lies:
``ngspice -b netlists/tia.cir`` from any folder, and ``cosim simulate
netlists/tia.cir --op`` (which replaces the deck's ``.op`` with its own
analysis). The generators stay pure: only this rendering names the folder.

The files change only through ``write_golden`` (CLI: ``cosim netlist
golden``); ``tests/circuits/test_golden.py`` diffs each generator's output against its
file whole.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from circuits.netlist import Netlist

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "netlists"
"""The project's folder of golden netlists."""

GOLDEN_MODEL_DIR = "../device_models"
"""Folder of the model files as the golden decks include it, relative to ``netlists/``."""

GOLDEN_ANALYSES = (".options nomod", ".op")
"""Lines closing every golden deck: ``.op``, so that ``ngspice -b FILE`` computes
something, and ``nomod``, which keeps ngspice from listing the model cards
(BSIM4 cards list unset parameters as ``<<NAN, error = 7>>``)."""

GOLDEN_SEED = 20240611
"""Seed of the golden crossbar's conductances."""


def crossbar_4x4_1t1r() -> Netlist:
    """4x4 1T1R crossbar, 2 ohm wire segments, conductances uniform in [HRS, LRS], DC inputs."""
    from circuits.crossbar import CrossbarParams, crossbar
    from circuits.devices import TAOX_40NM

    rng = np.random.default_rng(GOLDEN_SEED)
    g = rng.uniform(TAOX_40NM.g_hrs_siemens, TAOX_40NM.g_lrs_siemens, size=(4, 4))
    p = CrossbarParams(g_siemens=g, cell="1T1R", r_wire_bl_ohm=2.0, r_wire_sl_ohm=2.0)
    return crossbar(p, v_in_volt=np.array([0.1, 0.2, 0.05, 0.15]))


def tia_default() -> Netlist:
    """The stand-alone TIA bench with default parameters and its default current step."""
    from circuits.tia import TIAParams, tia

    return tia(TIAParams())


def tia_transistor() -> Netlist:
    """The TIA bench with the transistor-level op-amp (``TRANSISTOR_TIA``) and its default step."""
    from circuits.tia import TRANSISTOR_TIA, tia

    return tia(TRANSISTOR_TIA)


def opamp_open_loop() -> Netlist:
    """The op-amp's open-loop bench (``circuits.opamp.opamp_open_loop``), 0.5 pF load."""
    from circuits.opamp import opamp_open_loop

    return opamp_open_loop(c_load_farad=0.5e-12)


def vcmac_stage_transistor() -> Netlist:
    """The VCMAC stage bench with transistor-level regulation amplifiers and its input step."""
    from circuits.vcmac import VCMAC_OTA, InputStep, VCMACParams, vcmac_stage

    return vcmac_stage(VCMACParams(amp=VCMAC_OTA), step=InputStep())


def vcmac_chain_3() -> Netlist:
    """A VCMAC chain of 3 columns at the default switch code."""
    from circuits.vcmac import VCMACParams, vcmac_chain

    return vcmac_chain(VCMACParams(n_columns=3))


GOLDEN: dict[str, Callable[[], Netlist]] = {
    "crossbar_4x4_1t1r": crossbar_4x4_1t1r,
    "tia": tia_default,
    "tia_transistor": tia_transistor,
    "opamp_open_loop": opamp_open_loop,
    "vcmac_stage_transistor": vcmac_stage_transistor,
    "vcmac_chain_3": vcmac_chain_3,
}


def golden_text(name: str) -> str:
    """The text of ``netlists/<name>.cir`` as the generator renders it now."""
    return GOLDEN[name]().text(GOLDEN_ANALYSES, model_dir=GOLDEN_MODEL_DIR)


def write_golden(folder: Path = GOLDEN_DIR) -> list[Path]:
    """Write ``<name>.cir`` for every golden entry into ``folder``; return the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in GOLDEN:
        path = folder / f"{name}.cir"
        path.write_text(golden_text(name))
        paths.append(path)
    return paths


def check_golden(folder: Path = GOLDEN_DIR) -> list[str]:
    """Names of golden entries whose file in ``folder`` is missing or differs."""
    stale = []
    for name in GOLDEN:
        path = Path(folder) / f"{name}.cir"
        if not path.is_file() or path.read_text() != golden_text(name):
            stale.append(name)
    return stale
