"""Each paper ratio beside ours, with a line saying what differs, in numbers.

For an energy-efficiency claim (``ours = E_gpu / E_chip``, energies per inference):

- our GPU side: the baseline at ``utilisation x`` datasheet peak at its rated
  power, for the workload's operations per inference, whatever the batch;
- what the paper's ratio asks of the GPU with our chip's energy
  (``E_gpu = claimed x E_chip``): the fraction of its FP32 and FP16 datasheet
  peaks at rated power, or the power at its FP16 peak;
- what it asks of the chip with our GPU model (``E_chip = E_gpu / claimed``);
- what was measured: the same forward's fraction of a device's dense
  matrix-product rate over the batch sizes timed (``cosim baseline``);
- the paper's ratios against two baselines beside the datasheets' ratio;
- what the paper's figure covers, as far as the cited papers say
  (``claim_conditions.csv``).

An area claim gets the areas compared. The numbers come from the report's
tables; nothing here is a cited figure but the claims themselves.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cosim.accounting.baselines import claim_conditions, get_baselines
from cosim.outputs.report.fmt import num, pct, si, times
from cosim.outputs.report.options import ReportOptions


def _top_component(energy: pd.DataFrame, workload: str) -> str:
    sub = energy[(energy["workload"] == workload) & (energy["energy_per_inference_j"] > 0)]
    if sub.empty:
        return ""
    top = sub.loc[sub["energy_per_inference_j"].idxmax()]
    return f"{top['component']} {pct(top['share'], 2)}"


def _measured_line(measured: pd.DataFrame | None, key: str, ours: float,
                   utilisation: float) -> str:
    """What the measured baselines of workload ``key`` say of the assumed utilisation."""
    if measured is None or measured.empty or not key:
        return ""
    sub = measured[measured["workload"] == key]
    if sub.empty:
        return ""
    parts = []
    for system, grp in sub.groupby("system", sort=False):
        util = grp.set_index("batch")["utilisation"].astype(float)
        fps = grp["inferences_per_s"].astype(float)
        lo, hi = float(util.min()), float(util.max())
        parts.append(
            f"measured on {system}: the same forward reaches {pct(lo, 2)} to {pct(hi, 2)} of "
            f"that device's dense matrix-product rate over batches "
            f"{', '.join(map(str, util.index))} (throughput varies {fps.max() / fps.min():.3g}x "
            f"with the batch); if the GPU reached that fraction of its assumed "
            f"{utilisation:g} x peak, ours would be {times(ours / hi)} to {times(ours / lo)}")
    return "; ".join(parts)


def energy_line(claimed: float, ours: float, *, e_chip: float, ops: float, baseline,
                options: ReportOptions, top: str, measured: str) -> str:
    """The reconciliation of one energy-efficiency claim (module docstring)."""
    u, prec = options.gpu.utilisation, options.gpu.precision
    peak = baseline.peak_flops(prec)
    e_gpu = baseline.power_w * ops / (u * peak)
    need = e_chip * claimed  # the GPU energy per inference the paper's ratio asks
    u32 = baseline.power_w * ops / (baseline.peak_fp32_flops * need)
    u16 = baseline.power_w * ops / (baseline.peak_fp16_flops * need)
    p16 = need * baseline.peak_fp16_flops / ops
    apart = max(ours, claimed) / min(ours, claimed)
    line = (f"ours {times(ours)} against the paper's {times(claimed)} ({times(apart)} apart). "
            f"Our GPU side: {baseline.name} at {u:g} x its {prec.upper()} datasheet peak "
            f"({si(u * peak, 'FLOP/s')}), {si(baseline.power_w, 'W')} rated, "
            f"{si(ops, 'FLOP')} per inference, any batch: {si(e_gpu, 'J')} per inference; "
            f"our chip {si(e_chip, 'J')}" + (f" ({top})" if top else "") + ". "
            f"The paper's ratio with our chip's energy asks {si(need, 'J')} of the GPU: "
            f"{pct(u32, 3)} of its FP32 peak or {pct(u16, 3)} of its FP16 tensor peak at "
            f"rated power")
    line += (f", or its FP16 peak at {si(p16, 'W')}" if u16 > 1 else "")
    line += ("; no utilisation of the card in FP32 at rated power gives the paper's ratio, "
             "so the gap is not the GPU's utilisation; " if u32 > 1 else "; ")
    line += (f"with our GPU model it asks {si(e_gpu / claimed, 'J')} per inference of the "
             f"chip, {times(e_gpu / claimed / e_chip)} ours.")
    if measured:
        line += f" {measured[0].upper()}{measured[1:]}."
    return line


def reconcile(claims: pd.DataFrame, ratios: pd.DataFrame, efficiency: pd.DataFrame,
              energy: pd.DataFrame, options: ReportOptions, keys: dict[str, str],
              measured: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per claim with ours beside it: ``claim``, ``workload``, ``baseline``,
    ``metric``, ``claimed_ratio``, ``ours``, ``our_workload``, ``reconciliation``,
    ``conditions`` (what the paper's figure covers), ``origin``, ``source``.

    Args:
        claims: the report's claims table (:func:`cosim.outputs.report.tables.build_tables`).
        keys: workload name -> workload key (for the measured rows).
    """
    conditions = claim_conditions()
    known = {b.key: b for b in get_baselines(None)}
    rows = []
    for _, c in claims.iterrows():
        ours, wl = c.get("ours", np.nan), str(c.get("our_workload", "") or "")
        text = ""
        if wl and isinstance(ours, float) and math.isfinite(ours) and c["baseline"] in known:
            b = known[c["baseline"]]
            eff = efficiency[(efficiency["workload"] == wl) & (efficiency["key"] == "ours")]
            if c["metric"] == "energy_efficiency" and not eff.empty:
                e = eff.iloc[0]
                text = energy_line(float(c["claimed_ratio"]), float(ours),
                                   e_chip=float(e["energy_per_inference_j"]),
                                   ops=float(e["ops_per_inference"]), baseline=b,
                                   options=options, top=_top_component(energy, wl),
                                   measured=_measured_line(measured, keys.get(wl, ""),
                                                           float(ours),
                                                           options.gpu.utilisation))
                text += _pair_line(claims, c, known, options)
            elif c["metric"] == "area_efficiency" and not eff.empty:
                text = (f"ours {times(ours)} against the paper's {times(c['claimed_ratio'])}: "
                        f"our chip {num(eff.iloc[0]['area_mm2'])} mm² (arrays and periphery "
                        f"counted, area_breakdown.csv) against the {b.name}'s "
                        f"{num(b.die_area_mm2)} mm² die, throughput as for energy.")
        rows.append({"claim": c["claim"], "workload": c["workload"], "baseline": c["baseline"],
                     "metric": c["metric"], "claimed_ratio": c["claimed_ratio"], "ours": ours,
                     "our_workload": wl, "reconciliation": text,
                     "conditions": conditions.get(str(c["claim"]),
                                                  "the paper's conditions are not in the "
                                                  "figures we cite"),
                     "origin": "derived", "source": c["source"]})
    return pd.DataFrame(rows)


def _pair_line(claims: pd.DataFrame, c: pd.Series, known: dict, options: ReportOptions
               ) -> str:
    """The paper's ratios against two baselines beside what the datasheets give."""
    other = claims[(claims["workload"] == c["workload"]) & (claims["metric"] == c["metric"])
                   & (claims["baseline"] != c["baseline"]) & claims["baseline"].isin(known)]
    if other.empty:
        return ""
    o = other.iloc[0]
    b1, b2 = known[c["baseline"]], known[o["baseline"]]
    prec = options.gpu.precision
    sheet = (b1.peak_flops(prec) / b1.power_w) / (b2.peak_flops(prec) / b2.power_w)
    paper = float(o["claimed_ratio"]) / float(c["claimed_ratio"])
    return (f" The paper's ratios against {b1.name} and {b2.name} say the first is "
            f"{times(paper)} as efficient as the second; their {prec.upper()} datasheet peaks "
            f"per rated watt say {times(sheet)}.")
