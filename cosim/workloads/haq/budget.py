"""Error budget of the analog MVM: each stage of the read path on its own, and together.

The NF MVM test (:mod:`cosim.workloads.haq.mvm`) is run once per row of
:func:`budget_rows`. The first row, ``quantisation``, is the ideal hardware
(0T1R, no wires, ideal virtual ground, no ADC, no write or read noise,
digital aggregation): only the schemes' own quantisation is left. Every other
row switches on one stage of the given hardware on top of that ideal
hardware; the last, ``together``, is the whole hardware with every stage
on. Each row reports PTQ's and HAQ's RMSE on the same weights, inputs and
noise seeds.

Stages:

- ``write_noise``: the configuration's write noise of LRS (and HRS) cells;
- ``ir_drop``: its wire resistance, weights placed as it places them;
- ``access_transistor``: the 1T1R cell (the NMOS in series);
- ``tia``: the TIA front end instead of an ideal virtual ground;
- ``adc``: an ``adc_bits`` ADC on every converted column (signed, full
  scale ``v_read * g_LRS * rows`` of a block, each bit column converted);
- ``read_noise``: its read noise, fresh at every read;
- ``vcmac``: HAQ's bits summed by the VCMAC chain at its measured ratio, HAQ
  programmed with that ratio (the correction); ``vcmac_uncorrected`` programs
  HAQ with the nominal ratio instead, to show what the correction buys. PTQ
  always aggregates digitally, so its RMSE is the quantisation row's there.
  The tile's ADC converts every bit column (digital aggregation); the VCMAC's
  one conversion after its analog sum is not modelled, so the VCMAC rows run
  without an ADC and ``together`` aggregates as the configuration does.

The contribution of a stage is reported two ways: its RMSE with that stage
alone, and the excess variance over quantisation, ``rmse^2 - rmse_q^2``
(independent error sources add in variance; the ``together`` row shows how
far they are from independent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pandas as pd
from tqdm import tqdm

from circuits.cells import ONE_T_ONE_R, ZERO_T_ONE_R
from circuits.errors import check_int
from cosim.engine.options import SimOptions
from cosim.hardware.spec import HardwareSpec
from cosim.workloads.haq.mvm import HaqExperimentConfig, run_mvm_experiment

BUDGET_ADC_BITS = 10
"""ADC resolution of the ``adc`` row when the configuration has no ADC."""


def ideal_hardware(hardware: HardwareSpec) -> HardwareSpec:
    """``hardware`` made ideal: quantisation is the only error left."""
    return hardware.with_parts(
        cell={"kind": ZERO_T_ONE_R}, array={"r_wire_ohm": 0.0, "placement": "full"},
        readout={"kind": "virtual_ground", "adc_bits": None},
        noise={"write": 0.0, "write_hrs": 0.0, "read": 0.0}, aggregation={"kind": "digital"})


def budget_rows(hardware: HardwareSpec, adc_bits: int = BUDGET_ADC_BITS
                ) -> dict[str, HardwareSpec]:
    """The hardware of every row of the budget (module docstring), in order."""
    check_int("adc_bits", adc_bits, 2, 24)
    base = ideal_hardware(hardware)
    hw = hardware
    adc = hw.readout.adc_bits or adc_bits
    return {
        "quantisation": base,
        "write_noise": base.with_parts(noise={"write": hw.noise.write,
                                              "write_hrs": hw.noise.write_hrs}),
        "ir_drop": base.with_parts(array={"r_wire_ohm": hw.array.r_wire_ohm,
                                          "placement": hw.array.placement}),
        "access_transistor": base.with_parts(cell={"kind": ONE_T_ONE_R}),
        "tia": base.with_parts(readout={"kind": "tia"}),
        "adc": base.with_parts(readout={"adc_bits": adc}),
        "read_noise": base.with_parts(noise={"read": hw.noise.read}),
        "vcmac": base.with_parts(aggregation={"kind": "analog"}),
        "vcmac_uncorrected": base.with_parts(aggregation={"kind": "analog",
                                                          "vcmac_correction": False}),
        "together": hw.with_parts(readout={"adc_bits": adc}),
    }


def run_budget(cfg: HaqExperimentConfig, hardware: HardwareSpec, sim: SimOptions, *,
               vcmac_measured: Mapping[int, float] | None = None,
               adc_bits: int = BUDGET_ADC_BITS, progress: bool = False) -> pd.DataFrame:
    """Run every row of the budget; one table row per stage.

    Args:
        cfg: the test (its seed fixes weights, inputs and noise draws for every row).
        hardware: the hardware whose stages are budgeted.
        sim: how the tiles compute.
        vcmac_measured: measured VCMAC ratio per switch code for the ``vcmac``
            rows (:func:`cosim.workloads.haq.mvm.measured_vcmac_ratios`).
        adc_bits: the ``adc`` row's resolution when the hardware has no ADC.
        progress: draw a progress bar.

    Returns:
        Columns ``stage, rmse_ptq, rmse_haq, excess_var_ptq, excess_var_haq,
        haq_writes_per_cell, macros``.
    """
    rows = budget_rows(hardware, adc_bits)
    cfg = replace(cfg, read_cycles=0)
    out: list[dict[str, Any]] = []
    for name, hw in tqdm(rows.items(), desc="error budget", disable=not progress):
        res = run_mvm_experiment(cfg, hw, sim, vcmac_measured=vcmac_measured)
        cells = res.haq.programmed.g_target_siemens.size
        out.append({"stage": name, "rmse_ptq": res.ptq.rmse, "rmse_haq": res.haq.rmse,
                    "haq_writes_per_cell": res.haq.programmed.events.cell_writes / cells,
                    "macros": res.placement.macros})
    table = pd.DataFrame(out)
    for s in ("ptq", "haq"):
        q = float(table.loc[table["stage"] == "quantisation", f"rmse_{s}"].iloc[0])
        table[f"excess_var_{s}"] = table[f"rmse_{s}"] ** 2 - q ** 2
    return table


def budget_summary(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """``{stage: {"rmse_ptq": .., "rmse_haq": ..}}`` for the JSON output."""
    return {r["stage"]: {"rmse_ptq": float(r["rmse_ptq"]), "rmse_haq": float(r["rmse_haq"])}
            for r in table.to_dict(orient="records")}
