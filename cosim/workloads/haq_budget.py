"""Error budget of the analog MVM: each stage of the read path on its own, and together.

The NF MVM test (:mod:`cosim.workloads.haq_mvm`) is run once per row of
``BUDGET_STAGES``. The first row, ``quantisation``, is the ideal hardware
(0T1R, no wires, ideal virtual ground, no ADC, no write or read noise,
digital aggregation): only the schemes' own quantisation is left. Every other
row switches on one stage of the given configuration on top of that ideal
hardware; the last, ``together``, is the whole configuration with every stage
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

from circuits.errors import check_int
from cosim.workloads.haq_mvm import HaqExperimentConfig, run_mvm_experiment

BUDGET_ADC_BITS = 10
"""ADC resolution of the ``adc`` row when the configuration has no ADC."""


def ideal_hardware(cfg: HaqExperimentConfig) -> HaqExperimentConfig:
    """``cfg`` on ideal hardware: quantisation is the only error left."""
    return replace(cfg, cell="0T1R", r_wire_ohm=0.0, readout="virtual_ground", adc_bits=None,
                   write_noise=0.0, hrs_noise=0.0, read_noise=0.0, aggregation="digital",
                   placement="full", read_cycles=0)


def budget_rows(cfg: HaqExperimentConfig, adc_bits: int = BUDGET_ADC_BITS
                ) -> dict[str, HaqExperimentConfig]:
    """The configuration of every row of the budget (module docstring), in order."""
    check_int("adc_bits", adc_bits, 2, 24)
    base = ideal_hardware(cfg)
    rows = {
        "quantisation": base,
        "write_noise": replace(base, write_noise=cfg.write_noise, hrs_noise=cfg.hrs_noise),
        "ir_drop": replace(base, r_wire_ohm=cfg.r_wire_ohm, placement=cfg.placement),
        "access_transistor": replace(base, cell="1T1R"),
        "tia": replace(base, readout="tia"),
        "adc": replace(base, adc_bits=cfg.adc_bits or adc_bits),
        "read_noise": replace(base, read_noise=cfg.read_noise),
        "vcmac": replace(base, aggregation="analog"),
        "vcmac_uncorrected": replace(base, aggregation="analog", vcmac_correction=False),
        "together": replace(cfg, adc_bits=cfg.adc_bits or adc_bits, read_cycles=0),
    }
    return rows


def run_budget(cfg: HaqExperimentConfig, *, vcmac_measured: Mapping[int, float] | None = None,
               adc_bits: int = BUDGET_ADC_BITS, progress: bool = False) -> pd.DataFrame:
    """Run every row of the budget; one table row per stage.

    Args:
        cfg: the read path whose stages are budgeted (its seed fixes weights,
            inputs and noise draws for every row).
        vcmac_measured: measured VCMAC ratio per switch code for the ``vcmac``
            rows (:func:`cosim.workloads.haq_mvm.measured_vcmac_ratios`).
        adc_bits: the ``adc`` row's resolution when ``cfg`` has no ADC.
        progress: draw a progress bar.

    Returns:
        Columns ``stage, rmse_ptq, rmse_haq, excess_var_ptq, excess_var_haq,
        haq_writes_per_cell, macros``.
    """
    rows = budget_rows(cfg, adc_bits)
    out: list[dict[str, Any]] = []
    for name, c in tqdm(rows.items(), desc="error budget", disable=not progress):
        res = run_mvm_experiment(c, vcmac_measured=vcmac_measured)
        cells = res.haq.programmed.g_target_siemens.size
        out.append({"stage": name, "rmse_ptq": res.ptq.rmse, "rmse_haq": res.haq.rmse,
                    "haq_writes_per_cell": res.haq.programmed.events.cell_writes / cells,
                    "macros": c.layout().macros})
    table = pd.DataFrame(out)
    for s in ("ptq", "haq"):
        q = float(table.loc[table["stage"] == "quantisation", f"rmse_{s}"].iloc[0])
        table[f"excess_var_{s}"] = table[f"rmse_{s}"] ** 2 - q ** 2
    return table


def budget_summary(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """``{stage: {"rmse_ptq": .., "rmse_haq": ..}}`` for the JSON output."""
    return {r["stage"]: {"rmse_ptq": float(r["rmse_ptq"]), "rmse_haq": float(r["rmse_haq"])}
            for r in table.to_dict(orient="records")}
