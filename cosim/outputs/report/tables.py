"""The report's tables: energy per event, energy and area per component, GPU efficiency and ratios,
each row with its origin and source (:func:`build_tables`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cosim.accounting.area import AreaTable, area_breakdown
from cosim.accounting.baselines import (
    baseline_fps,
    claimed_ratios,
    get_baselines,
)
from cosim.accounting.energy import EnergyTable
from cosim.accounting.workload import Workload
from cosim.outputs.report.options import ReportOptions

if TYPE_CHECKING:
    from cosim.accounting.circuit_energy import AmplifierTiming


def energy_table(options: ReportOptions, sim_dir: Path | None
                 ) -> tuple[EnergyTable, AmplifierTiming | None]:
    """The energy table of a report (cited, then simulated, then the user's overrides)
    and, when simulating, the amplifiers' simulated conversion times."""
    table, timing = EnergyTable.cited(), None
    if options.simulate:
        from circuits.opamp import DEFAULT_OPAMP
        from cosim.accounting.circuit_energy import TiaBench, VcmacBench, simulate_amplifiers

        tr = options.transistor_amplifiers
        table, timing = simulate_amplifiers(
            table, workdir=sim_dir, tia_bench=TiaBench(opamp=DEFAULT_OPAMP if tr else None),
            vcmac_bench=VcmacBench(transistor_level=tr))
        table = table.with_notes(
            "amplifiers simulated " + ("at transistor level (TIA: two-stage Miller op-amp; "
                                       "VCMAC: OTAs)" if tr else
                                       "with the op-amp macro-model and behavioural VCMAC "
                                       "amplifiers (--amplifiers macro)"))
    else:
        table = table.with_notes("simulation off (--no-simulate): cited figures only")
    if options.energy_override is not None:
        table = table.with_overrides(options.energy_override)
    return table, timing


@dataclass(frozen=True)
class ReportTables:
    """All tables of a report (each row with ``origin`` and ``source``)."""

    energy_table: pd.DataFrame
    energy: pd.DataFrame
    area_table: pd.DataFrame
    area: pd.DataFrame
    baselines: pd.DataFrame
    efficiency: pd.DataFrame
    ratios: pd.DataFrame
    claims: pd.DataFrame

    def named(self) -> dict[str, pd.DataFrame]:
        return {"energy_table": self.energy_table, "energy_breakdown": self.energy,
                "area_table": self.area_table, "area_breakdown": self.area,
                "baselines": self.baselines, "efficiency": self.efficiency,
                "ratios": self.ratios, "claimed_ratios": self.claims}


def _unique_names(workloads: list[Workload]) -> list[str]:
    names, seen = [], {}
    for w in workloads:
        n = w.name
        seen[n] = seen.get(n, 0) + 1
        names.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return names


MEASURED_OPS_TOLERANCE = 0.01
"""A measured baseline prices a workload only when its network does the same operations per
inference within this fraction (the same network, counted by the same rule)."""


def measured_rows(workload: Workload, key: str, measured: pd.DataFrame | None
                  ) -> list[dict]:
    """Efficiency rows of the measured baselines of workload ``key`` (each device's best
    batch), or none when no measurement matches its network."""
    if measured is None or measured.empty:
        return []
    sub = measured[measured["workload"] == key]
    if "ops_per_inference" in sub.columns:
        ops = pd.to_numeric(sub["ops_per_inference"], errors="coerce")
        sub = sub[(ops - workload.ops_per_inference).abs()
                  <= MEASURED_OPS_TOLERANCE * workload.ops_per_inference]
    rows = []
    for (_, device), grp in sub.groupby(["system", "device"], sort=False):
        b = grp.loc[grp["inferences_per_s"].idxmax()]
        e = float(b["energy_per_inference_j"])
        power = str(b.get("power_origin", "")) or "given"
        rows.append({"system": f"{b['system']} ({device}, measured, batch {int(b['batch'])})",
                     "short": f"{device.upper()} here, measured (batch {int(b['batch'])})",
                     "key": f"measured_{device}", "ops_per_inference": workload.ops_per_inference,
                     "fps": float(b["inferences_per_s"]), "power_w": float(b["power_w"]),
                     "energy_per_inference_j": e, "fps_per_w": 1.0 / e,
                     "area_mm2": np.nan, "fps_per_mm2": np.nan, "origin": "measured",
                     "source": f"measured_baselines.csv, the fastest of {len(grp)} batch sizes "
                               f"(power {power}): {b['source']}"})
    return rows


def build_tables(workloads: list[Workload], table: EnergyTable, options: ReportOptions,
                 measured: pd.DataFrame | None = None, keys: list[str] | None = None
                 ) -> ReportTables:
    """Energy, area, efficiency and ratio tables of ``workloads``.

    Args:
        measured: rows of ``cosim baseline`` runs (:func:`cosim.outputs.baseline.read_measured`).
        keys: each workload's key (``haq``, ``field``, ``snn``), matching the
            measured rows' ``workload``.
    """
    baselines = get_baselines(list(options.baselines))
    gpu = options.gpu
    area_tab = AreaTable.default(options.layout)
    names = _unique_names(workloads)
    energy_rows, area_rows, eff_rows, ratio_rows = [], [], [], []
    claims = claimed_ratios()
    for i, (name, w) in enumerate(zip(names, workloads, strict=True)):
        led = w.ledger(table)
        led.insert(0, "workload", name)
        led["count_source"] = w.source
        energy_rows.append(led)
        ar = area_breakdown(w.hardware, area_tab)
        ar.insert(0, "workload", name)
        area_rows.append(ar)
        e_inf = float(led["energy_per_inference_j"].sum())
        area_mm2 = float(ar["area_mm2"].sum())
        latency = w.latency_s()
        fps = w.inferences / latency
        origins = ", ".join(f"{o} {n}" for o, n in
                            led.loc[led["energy_j"] > 0, "origin"].value_counts().items())
        ours = {"workload": name, "system": "RRAM CIM (this toolkit)", "key": "ours",
                "ops_per_inference": w.ops_per_inference, "fps": fps,
                "power_w": e_inf * fps, "energy_per_inference_j": e_inf,
                "fps_per_w": 1.0 / e_inf if e_inf > 0 else math.inf,
                "area_mm2": area_mm2, "fps_per_mm2": fps / area_mm2,
                "origin": "derived",
                "source": (f"energy_breakdown.csv ({origins}) and area_breakdown.csv of this "
                           f"workload; fps = {w.inferences:g} inferences / latency "
                           f"{latency:.4g} s ({w.read_steps:g} read steps of "
                           f"{w.timing.read_pulse_s * 1e9:g} ns read / "
                           f"{w.timing.amplifier_active_s * 1e9:g} ns amplifier, ADCs at "
                           f"{w.timing.adc_rate_hz / 1e9:g} GHz x {w.hardware.adcs:g}); "
                           f"counts from {w.source}")}
        eff_rows.append(ours)
        for b in baselines:
            bfps = baseline_fps(b, w.ops_per_inference, gpu)
            row = {"workload": name, "system": b.name, "key": b.key,
                   "ops_per_inference": w.ops_per_inference, "fps": bfps,
                   "power_w": b.power_w, "energy_per_inference_j": b.power_w / bfps,
                   "fps_per_w": bfps / b.power_w, "area_mm2": b.die_area_mm2,
                   "fps_per_mm2": bfps / b.die_area_mm2, "origin": "derived",
                   "source": f"{gpu.describe(b)}; power and die area: {b.source}"}
            eff_rows.append(row)
            r_e = ours["fps_per_w"] / row["fps_per_w"]
            r_a = ours["fps_per_mm2"] / row["fps_per_mm2"]
            rr = {"workload": name, "baseline": b.key, "baseline_name": b.name,
                  "energy_efficiency_ratio": r_e, "area_efficiency_ratio": r_a,
                  "claimed_energy_ratio": np.nan, "claimed_area_ratio": np.nan,
                  "claim_source": "", "origin": "derived",
                  "source": f"efficiency.csv: fps/W and fps/mm^2 of ours over {b.key}"}
            if w.claim:
                match = claims[(claims["workload"] == w.claim)
                               & (claims["baseline"].isin([b.key, "gpu"]))]
                for _, c in match.iterrows():
                    col = ("claimed_energy_ratio" if c["metric"] == "energy_efficiency"
                           else "claimed_area_ratio")
                    rr[col] = float(c["ratio"])
                    rr["claim_source"] = (rr["claim_source"] + "; " if rr["claim_source"]
                                          else "") + str(c["source"])
            ratio_rows.append(rr)
        for row in measured_rows(w, keys[i] if keys else "", measured):
            eff_rows.append({"workload": name, **{k: v for k, v in row.items() if k != "short"}})
            ratio_rows.append({
                "workload": name, "baseline": row["key"], "baseline_name": row["short"],
                "energy_efficiency_ratio": ours["fps_per_w"] / row["fps_per_w"],
                "area_efficiency_ratio": np.nan, "claimed_energy_ratio": np.nan,
                "claimed_area_ratio": np.nan, "claim_source": "", "origin": "measured",
                "source": f"efficiency.csv: fps/W of ours over the measured {row['system']}"})
    ratios = pd.DataFrame(ratio_rows)
    claims_out = claims.copy()
    ours_col, ours_wl = [], []
    for _, c in claims.iterrows():
        hit = ratios[(ratios["baseline"] == c["baseline"])
                     & ratios["workload"].isin([n for n, w in zip(names, workloads, strict=True)
                                                if w.claim == c["workload"]])]
        metric = ("energy_efficiency_ratio" if c["metric"] == "energy_efficiency"
                  else "area_efficiency_ratio")
        ours_col.append(float(hit[metric].iloc[0]) if len(hit) else np.nan)
        ours_wl.append(str(hit["workload"].iloc[0]) if len(hit) else "")
    claims_out["source"] = [
        f"{src}; ours: ratios.csv ({metric} of {wl}, derived)" if wl else src
        for src, wl, metric in zip(claims_out["source"], ours_wl, claims_out["metric"],
                                   strict=True)]
    claims_out = claims_out.rename(columns={"ratio": "claimed_ratio"})
    claims_out.insert(claims_out.columns.get_loc("claimed_ratio") + 1, "ours", ours_col)
    claims_out.insert(claims_out.columns.get_loc("ours") + 1, "our_workload", ours_wl)
    bl = pd.DataFrame([{
        "key": b.key, "name": b.name, "power_w": b.power_w, "die_area_mm2": b.die_area_mm2,
        "process": b.process, "peak_fp32_flops": b.peak_fp32_flops,
        "peak_fp16_flops": b.peak_fp16_flops,
        "achievable_flops": gpu.utilisation * b.peak_flops(gpu.precision),
        "origin": "cited", "source": f"{b.source}; {b.flops_source}; achievable = "
                                     f"{gpu.utilisation:g} x peak {gpu.precision} (assumed)"}
        for b in baselines])
    return ReportTables(energy_table=table.frame(), energy=pd.concat(energy_rows,
                        ignore_index=True), area_table=area_tab.frame(),
                        area=pd.concat(area_rows, ignore_index=True), baselines=bl,
                        efficiency=pd.DataFrame(eff_rows), ratios=ratios, claims=claims_out)
