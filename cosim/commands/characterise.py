"""``cosim characterise amp|tia|vcmac``: the transistor-level amplifiers in ngspice.

- ``amp``: the TIA's two-stage op-amp (``circuits.opamp``): DC gain, GBW and
  phase margin (open loop and in the TIA's feedback configuration), slew
  rate, output swing against the ADC range, quiescent current; every figure
  with the analysis it came from (``opamp_characterisation.csv``), Bode plots.
- ``tia``: the TIA (``circuits.tia.TRANSISTOR_TIA``, or the macro-model with
  ``--amplifier macro``): gain, offset, input resistance, 0.1 % settling and
  energy per conversion per input range, step responses.
- ``vcmac``: the VCMAC with transistor-level regulation amplifiers: ratio of
  every switch code over 0.1-10 uA, settling per code after an input step.

``--mismatch-seeds N`` adds a Monte Carlo over N seeds of Pelgrom mismatch
(``--a-vt``): the op-amp's offset (amp), the TIA's offset and gain error (tia),
the VCMAC's ratio error per code beside the NF paper's ~1 % (vcmac).

Run folder: the tables (CSV), figures (PNG + SVG), ``spice/`` with every
bench's deck, ngspice log and raw file (open the raw files in a waveform
viewer), and ``manifest.json``.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import click

from circuits.errors import ConfigError, check_int, check_range
from cosim.calibration.amplifiers import MAX_SEEDS
from cosim.outputs.jsonout import emit_json
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.outputs.outpath import OutputPath
from cosim.outputs.rundir import new_run_dir, prepare_run_dir

KINDS = ("amp", "tia", "vcmac")
OLD_TIA = {"energy_per_conversion_j": 14.75e-12, "conversion_s": 100e-9,
           "source": "NF code energy constants: amplifier 14.75 pJ = 2 x 73.75 uA x 100 ns "
                     "(assumed before this characterisation)"}
"""The assumed TIA figures the simulated ones replace (``cosim.accounting.events.NF_TIMING``,
the cited energy table)."""


@click.command("characterise")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("-o", "--out", "run_dir", type=OutputPath(path_type=Path, file_okay=False),
              default=None, help="Run folder [default: results/characterise-<kind>-<timestamp>].")
@click.option("--mismatch-seeds", type=int, default=0, show_default=True,
              help="Monte Carlo seeds of Pelgrom mismatch (0: none).")
@click.option("--a-vt", "a_vt_mv_um", type=float, default=3.5, show_default=True,
              help="Pelgrom threshold-mismatch coefficient A_VT of the Monte Carlo (mV*um); "
                   "3.5 = typical 40-45 nm bulk CMOS (assumed).")
@click.option("--amplifier", type=click.Choice(["transistor", "macro"]), default="transistor",
              show_default=True,
              help="tia, vcmac: the transistor-level amplifiers or the macro-model / "
                   "behavioural ones (fast; no mismatch, no VCMAC settling).")
@click.option("--points", type=int, default=100, show_default=True,
              help="vcmac: log-spaced input currents per code, 0.1 to 10 uA.")
@click.option("--workers", type=int, default=2, show_default=True,
              help="ngspice processes at a time.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object (the figures and the run folder) and nothing else.")
def characterise_command(kind: str, run_dir: Path | None, mismatch_seeds: int,
                         a_vt_mv_um: float, amplifier: str, points: int, workers: int,
                         as_json: bool) -> None:
    """Characterise the op-amp (amp), the TIA (tia) or the VCMAC (vcmac) in ngspice."""
    check_int("--mismatch-seeds", mismatch_seeds, 0, MAX_SEEDS)
    check_range("--a-vt", a_vt_mv_um, 0.0, 50.0, lo_open=True)
    check_int("--workers", workers, 1, 1024)
    check_int("--points", points, 2, 100_000)
    transistor = amplifier == "transistor"
    if kind == "amp" and not transistor:
        raise ConfigError("characterise amp is the transistor-level op-amp; --amplifier macro "
                          "applies to tia and vcmac")
    if mismatch_seeds and not transistor:
        raise ConfigError("--mismatch-seeds needs --amplifier transistor (the macro-model has "
                          "no devices to mismatch)")
    folder = run_dir if run_dir is not None else new_run_dir(f"characterise-{kind}")
    with prepare_run_dir(folder) as folder:
        t0 = time.perf_counter()
        run = {"amp": _amp, "tia": _tia, "vcmac": _vcmac}[kind]
        summary, files, config = run(folder, transistor=transistor, seeds=mismatch_seeds,
                                     a_vt=a_vt_mv_um, points=points, workers=workers)
        elapsed = time.perf_counter() - t0
        write_manifest(folder, new_manifest(
            f"characterise {kind}", config={**config, "workers": workers},
            seeds={"mismatch": mismatch_seeds}, elapsed_s=round(elapsed, 3), summary=summary,
            files=files, raw_files="spice/*/out.raw"))
    if as_json:
        emit_json({"kind": kind, **summary, "elapsed_s": elapsed, "run_dir": str(folder)})
        return
    _print(kind, summary)
    click.echo(f"{elapsed:.1f} s; run folder: {folder}")


# --------------------------------------------------------------------------- kinds


def _amp(folder: Path, *, transistor: bool, seeds: int, a_vt: float, points: int,
         workers: int) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    from circuits.tia import TRANSISTOR_TIA
    from cosim.calibration.amplifiers import characterise_opamp, tia_mismatch
    from cosim.outputs.amplifiers import write_opamp

    ch = characterise_opamp(TRANSISTOR_TIA, workers=workers, workdir=folder / "spice")
    files = write_opamp(ch, folder)
    summary: dict[str, Any] = {"figures": ch.table().to_dict(orient="records")}
    v = ch.value
    summary["checks"] = {
        "dc_gain_at_least_60_db": v("dc_gain_db") >= 60.0,
        "tia_phase_margin_at_least_60_deg": v("tia_phase_margin_worst_deg") >= 60.0,
        "swing_covers_adc_range": (v("output_swing_low_v") <= v("adc_range_low_v")
                                   and v("output_swing_high_v") >= v("adc_range_high_v")),
    }
    if seeds:
        mc = tia_mismatch(TRANSISTOR_TIA, range(seeds), a_vt_volt_m=a_vt * 1e-9, workers=workers)
        mc.to_csv(folder / "opamp_offset_mismatch.csv", index=False, float_format="%.10g")
        files.append("opamp_offset_mismatch.csv")
        summary["offset_mismatch"] = {"seeds": seeds, "a_vt_mv_um": a_vt,
                                      "mean_volt": float(mc["offset_volt"].mean()),
                                      "std_volt": float(mc["offset_volt"].std(ddof=1))}
    config = {"opamp": dataclasses.asdict(TRANSISTOR_TIA.opamp), "a_vt_mv_um": a_vt}
    return summary, files, config


def _tia(folder: Path, *, transistor: bool, seeds: int, a_vt: float, points: int,
         workers: int) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    from cosim.calibration.amplifiers import TiaJob, run_tia_job
    from cosim.outputs.amplifiers import write_tia

    job = TiaJob(transistor_level=transistor, mismatch_seeds=seeds, a_vt_mv_um=a_vt)
    result = run_tia_job(job, workers=workers, workdir=folder / "spice")
    files = write_tia(result, folder, job.tolerance)
    summary = {**result.summary(job.tolerance), "assumed_before": OLD_TIA}
    return summary, files, {"job": dataclasses.asdict(job)}


def _vcmac(folder: Path, *, transistor: bool, seeds: int, a_vt: float, points: int,
           workers: int) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    from circuits.vcmac import CODES
    from cosim.calibration.vcmac import (
        SETTLE_STEP,
        VcmacJob,
        mean_abs_error,
        mismatch_monte_carlo,
        mismatch_statistics,
        run_vcmac_job,
        vcmac_settling,
    )
    from cosim.outputs.amplifiers import write_vcmac_mismatch, write_vcmac_settling
    from cosim.outputs.vcmac import write_vcmac

    job = VcmacJob(points=points, transistor_level=transistor, settling=transistor,
                   settle_codes=CODES)
    summary_df, curves = run_vcmac_job(job, workers=workers)
    files = write_vcmac(summary_df, curves, folder)
    summary: dict[str, Any] = {
        "amplifiers": "transistor-level OTAs" if transistor else "behavioural",
        "codes": summary_df[["code", "nominal", "measured", "rel_error"]].to_dict("records"),
        "mean_abs_rel_error_1p1_to_2p0": mean_abs_error(summary_df)}
    if transistor:
        table, responses = vcmac_settling(job.params(), job.settle_codes, workers=workers,
                                          workdir=folder / "spice" / "settling")
        files += write_vcmac_settling(table, responses, folder, SETTLE_STEP.delay_s)
        summary["settling"] = table.to_dict(orient="records")
        summary["settling_step_a"] = [SETTLE_STEP.i_from_a, SETTLE_STEP.i_to_a]
    if seeds:
        per_seed = mismatch_monte_carlo(range(seeds), a_vt_mv_um=a_vt, params=job.params(),
                                        workers=workers)
        stats = mismatch_statistics(per_seed)
        files += write_vcmac_mismatch(per_seed, stats, folder, a_vt)
        sel = stats[(stats["nominal"] >= 1.1 - 1e-9) & (stats["nominal"] <= 2.0 + 1e-9)]
        summary["mismatch"] = {"seeds": seeds, "a_vt_mv_um": a_vt,
                               "per_code": stats.to_dict(orient="records"),
                               "mean_abs_rel_error_1p1_to_2p0":
                                   float(sel["mean_abs_rel_error"].mean()),
                               "paper": "NF paper: mean ratio error within ~1 % for s = 1.1-2.0"}
    return summary, files, {"job": dataclasses.asdict(job), "a_vt_mv_um": a_vt}


def _print(kind: str, s: dict[str, Any]) -> None:
    if kind == "amp":
        for f in s["figures"]:
            click.echo(f"{f['quantity']:28s} {f['value']:12.5g} {f['unit']:4s}  {f['analysis']}")
        for k, ok in s["checks"].items():
            click.echo(f"{k}: {'yes' if ok else 'NO'}")
        if "offset_mismatch" in s:
            m = s["offset_mismatch"]
            click.echo(f"offset over {m['seeds']} seeds: mean {m['mean_volt'] * 1e3:+.3f} mV, "
                       f"std {m['std_volt'] * 1e3:.3f} mV")
    elif kind == "tia":
        click.echo(f"{s['amplifier']}")
        click.echo(f"gain {s['gain_ohm']:.3f} ohm ({s['gain_rel_error']:+.3%}), offset "
                   f"{s['offset_volt'] * 1e6:+.1f} uV, input resistance {s['r_in_ohm']:.4g} ohm")
        click.echo(" range                  settle +FS   settle -FS   energy/conversion")
        for r in s["ranges"]:
            click.echo(f" {r['range']:22s} {r['settle_pos_s'] * 1e9:8.2f} ns  "
                       f"{r['settle_neg_s'] * 1e9:8.2f} ns   "
                       f"{r['energy_per_conversion_j'] * 1e12:8.3f} pJ")
        a = s["assumed_before"]
        click.echo(f"assumed before: {a['energy_per_conversion_j'] * 1e12:g} pJ over "
                   f"{a['conversion_s'] * 1e9:g} ns")
        if "mismatch" in s:
            m = s["mismatch"]
            click.echo(f"over {m['seeds']} seeds: offset {m['offset_mean_volt'] * 1e3:+.3f} "
                       f"+- {m['offset_std_volt'] * 1e3:.3f} mV, gain error "
                       f"{m['gain_error_mean']:+.4%} +- {m['gain_error_std']:.2e}")
    else:
        click.echo(f"amplifiers: {s['amplifiers']}; mean |ratio error| for s 1.1-2.0: "
                   f"{s['mean_abs_rel_error_1p1_to_2p0']:.3%}")
        for r in s.get("settling", []):
            click.echo(f" code {r['code']:2d} (s {r['nominal']:.1f}): settles in "
                       f"{r['settle_s'] * 1e9:8.1f} ns, overshoot {r['overshoot']:+.1%}")
        if "mismatch" in s:
            m = s["mismatch"]
            click.echo(f"Monte Carlo, {m['seeds']} seeds, A_VT {m['a_vt_mv_um']:g} mV*um:")
            for r in m["per_code"]:
                click.echo(f" code {r['code']:2d} (s {r['nominal']:.1f}): mean "
                           f"{r['mean_rel_error']:+.3%}, std {r['std_rel_error']:.3%}, "
                           f"mean |error| {r['mean_abs_rel_error']:.3%}")
            click.echo(f"mean |error| for s 1.1-2.0: {m['mean_abs_rel_error_1p1_to_2p0']:.3%} "
                       f"({m['paper']})")
