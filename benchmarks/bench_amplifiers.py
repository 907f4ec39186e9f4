"""Measure the transistor-level amplifiers and write ``docs/measurements/amplifiers.md``.

Every figure comes from ngspice through the library functions the commands
use; each table names the analysis (``.ac``, ``.dc``, ``.op``, ``.tran``):

1. the op-amp (``cosim characterise amp``): gain, GBW, phase margins,
   slew, swing against the ADC range, quiescent current;
2. the TIA per input range: 0.1 % settling of full-scale steps and energy
   per conversion, beside the assumed figures they replace; its DC figures;
3. the energy table's TIA and VCMAC rows (transistor level and the
   macro-model option) and the conversion times that replace the assumed
   100 ns;
4. the VCMAC: ratio error per code (transistor-level vs behavioural
   amplifiers), settling per code;
5. Monte Carlo: the TIA's offset and gain error, and the VCMAC's ratio error
   per code for s = 1.1-2.0, over ``--seeds`` Pelgrom mismatch seeds
   (A_VT 3.5 mV*um, assumed), beside the NF paper's ~1 %;
6. the calibrated tile's measured TIA model against the spice backend's
   transistor-level TIAs (0T1R 32 x 32, 1 ohm wires);
7. wall times: ``cosim characterise`` and the main job's ``tia`` and ``vcmac``
   stages (``cosim run --stages tia,vcmac``), with the load average beside
   them; with ``--baseline-src DIR`` (a checkout of the revision before these
   amplifiers) the same stages there, for comparison.

Usage::

    .venv/bin/python benchmarks/bench_amplifiers.py [--seeds 50] [--workers 2]
        [--baseline-src DIR] [--out docs/measurements/amplifiers.md]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from circuits.runner import ngspice_version  # noqa: E402
from circuits.tia import TRANSISTOR_TIA  # noqa: E402
from circuits.vcmac import VCMAC_OTA, VCMACParams  # noqa: E402


def _load() -> str:
    a, b, c = os.getloadavg()
    return f"{a:.1f} / {b:.1f} / {c:.1f}"


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    def fmt(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return out + [""]


def opamp_section(workers: int) -> list[str]:
    from cosim.calibration.amplifiers import characterise_opamp

    t0 = time.perf_counter()
    ch = characterise_opamp(TRANSISTOR_TIA, workers=workers)
    dt = time.perf_counter() - t0
    rows = [[f.quantity, f.value, f.unit, f.analysis, f.condition] for f in ch.figures]
    return ["## 1. The op-amp (`circuits.opamp.DEFAULT_OPAMP` in `TRANSISTOR_TIA`)", "",
            "Command: `cosim characterise amp`; library: "
            "`cosim.calibration.amplifiers.characterise_opamp`. "
            f"({dt:.1f} s, load {_load()})", "",
            *_table(["quantity", "value", "unit", "analysis", "condition"], rows)]


def tia_section(workers: int, seeds: int) -> list[str]:
    from cosim.calibration.amplifiers import TiaJob, run_tia_job

    t0 = time.perf_counter()
    r = run_tia_job(TiaJob(mismatch_seeds=seeds), workers=workers)
    dt = time.perf_counter() - t0
    s = r.summary(1e-3)
    rows = [[x["range"], x["r_f_ohm"], x["out_units"], x["settle_pos_s"] * 1e9,
             x["settle_neg_s"] * 1e9, x["energy_per_conversion_j"] * 1e12,
             x["mean_power_w"] * 1e3] for _, x in r.settling.iterrows()]
    out = ["## 2. The TIA per input range (`TRANSISTOR_TIA`, sized by `tia_for_current`)", "",
           "`.tran` of `circuits.tia.tia` with 1 pF at the input (column) and 0.5 pF at the "
           "output (ADC), full-scale current steps of either sign (0.1 ns edge); settling to "
           "0.1 % of the step; energy = integral of -(v(tvdd) i(Vddtia) + v(tvss) i(Vsstia)) "
           "over the conversion (the slower settling) after the positive step. Command: "
           f"`cosim characterise tia`. ({dt:.1f} s with the Monte Carlo, load {_load()})", "",
           *_table(["input range", "Rf (ohm)", "output-stage units", "settle +FS (ns)",
                    "settle -FS (ns)", "energy / conversion (pJ)", "mean power (mW)"], rows),
           "Assumed before (NF code constants): 14.75 pJ per conversion over 100 ns.", "",
           f"DC (`.dc` sweep over +-50 % of the range): transimpedance {s['gain_ohm']:.4f} ohm "
           f"(gain error {s['gain_rel_error']:+.4%}), output offset {s['offset_volt'] * 1e6:.1f}"
           f" uV, input resistance {s['r_in_ohm']:.4g} ohm, largest deviation from the line "
           f"{s['max_nonlinearity_volt'] * 1e6:.2f} uV.", ""]
    if r.mismatch is not None:
        m = r.mismatch
        out += [f"Monte Carlo, {len(m)} seeds, A_VT 3.5 mV*um on the input pair and "
                "first-stage mirror (`tia_mismatch`, one `.dc` per seed): output offset "
                f"mean {m['offset_volt'].mean() * 1e3:+.3f} mV, std "
                f"{m['offset_volt'].std(ddof=1) * 1e3:.3f} mV; gain error mean "
                f"{m['gain_error'].mean():+.4%}, std {m['gain_error'].std(ddof=1):.2e}.", ""]
    return out


def energy_section() -> list[str]:
    from cosim.accounting.circuit_energy import (
        TiaBench,
        VcmacBench,
        tia_figure,
        vcmac_figure,
    )

    rows = []
    for label, make in (
            ("TIA, transistor level", lambda: tia_figure(TiaBench())),
            ("TIA, macro-model (fast option)", lambda: tia_figure(TiaBench(opamp=None))),
            ("VCMAC chain, transistor level", lambda: vcmac_figure(VcmacBench())),
            ("VCMAC chain, behavioural (fast option)",
             lambda: vcmac_figure(VcmacBench(transistor_level=False)))):
        t0 = time.perf_counter()
        f = make()
        dt = time.perf_counter() - t0
        conv = f.conversion_s
        rows.append([label, f.value * 1e6, "" if conv is None else f"{conv * 1e9:.4g}",
                     "" if conv is None else f"{f.value * conv * 1e12:.4g}", f"{dt:.1f}"])
    return ["## 3. The energy table's amplifier rows (`cosim.accounting.circuit_energy`)", "",
            "TIA: the default bench (170.3 uA column current step, 1 pF / 0.5 pF) over one "
            "conversion = the TIA's measured 0.1 % full-scale settling. VCMAC: 12-column chain "
            "at 0.5 uA per column, code 5, composed from one `.dc` stage sweep; its conversion "
            "= the stage's 0.1 % settling after a 0.1 -> 1 uA input step (`.tran`). Assumed "
            "before: 147.5 uW over 100 ns for each (14.75 pJ).", "",
            *_table(["row", "power while active (uW)", "conversion (ns)",
                     "energy / conversion (pJ)", "wall (s)"], rows)]


def vcmac_section(workers: int) -> list[str]:
    from cosim.calibration.vcmac import (
        VcmacJob,
        mean_abs_error,
        run_vcmac_job,
        vcmac_settling,
    )

    t0 = time.perf_counter()
    tr, _ = run_vcmac_job(VcmacJob(points=100), workers=workers)
    t_dc = time.perf_counter() - t0
    be, _ = run_vcmac_job(VcmacJob(points=100, transistor_level=False), workers=workers)
    t0 = time.perf_counter()
    st, _ = vcmac_settling(VCMACParams(amp=VCMAC_OTA), workers=workers)
    t_st = time.perf_counter() - t0
    rows = []
    for (_, a), (_, b), (_, c) in zip(tr.iterrows(), be.iterrows(), st.iterrows(), strict=True):
        rows.append([int(a["code"]), a["nominal"], f"{a['rel_error']:+.3%}",
                     f"{a['max_rel_error']:.3%}", f"{b['rel_error']:+.4%}",
                     c["settle_s"] * 1e9, f"{c['overshoot']:+.1%}", c["i_supply_a"] * 1e6])
    return ["## 4. The VCMAC stage with transistor-level regulation amplifiers", "",
            "Ratio: `.dc` sweep of 100 log-spaced currents 0.1-10 uA per code (mean ratio "
            f"error; largest over the currents) ({t_dc:.1f} s); settling: `.tran` of the stage "
            "bench, input step 0.1 -> 1 uA, 0.1 % band of the output current's step "
            f"({t_st:.1f} s for 16 codes). Mean |error| for s 1.1-2.0: transistor level "
            f"{mean_abs_error(tr):.3%}, behavioural amplifiers {mean_abs_error(be):.4%}. "
            f"Load {_load()}.", "",
            *_table(["code", "s", "ratio error", "max over currents",
                     "behavioural amps", "settle (ns)", "overshoot", "supply after (uA)"],
                    rows)]


def mc_section(workers: int, seeds: int) -> list[str]:
    from cosim.calibration.vcmac import mismatch_monte_carlo, mismatch_statistics

    codes = [c for c in range(16) if 1.1 - 1e-9 <= VCMACParams(code=c).nominal <= 2.0 + 1e-9]
    t0 = time.perf_counter()
    per = mismatch_monte_carlo(range(seeds), a_vt_mv_um=3.5, codes=codes, workers=workers)
    dt = time.perf_counter() - t0
    be = mismatch_monte_carlo(range(seeds), a_vt_mv_um=3.5, codes=codes, workers=workers,
                              params=VCMACParams())
    st, sb = mismatch_statistics(per), mismatch_statistics(be)
    rows = [[int(a["code"]), a["nominal"], f"{a['mean_rel_error']:+.3%}",
             f"{a['std_rel_error']:.3%}", f"{a['mean_abs_rel_error']:.3%}",
             f"{a['p95_abs_rel_error']:.3%}", f"{b['mean_abs_rel_error']:.3%}"]
            for (_, a), (_, b) in zip(st.iterrows(), sb.iterrows(), strict=True)]
    return [f"## 5. Monte Carlo of the VCMAC ratio error, {seeds} seeds", "",
            "Pelgrom A_VT 3.5 mV*um (assumed typical of 40-45 nm bulk) on every ratio-setting "
            "unit device and, at transistor level, on each OTA's input pair and mirror; one "
            "`.dc` sweep (11 currents, 0.1-10 uA) per seed and code, "
            f"{workers} ngspice processes at a time ({dt:.0f} s, load {_load()}). Error of "
            "the mean ratio over the currents; the NF paper reports a mean ratio error within "
            "~1 % for s = 1.1-2.0 (Fig. 3d).", "",
            *_table(["code", "s", "mean error", "std", "mean abs error", "95th pct abs",
                     "mean abs, behavioural amps"], rows),
            f"Mean |error| over these codes: {st['mean_abs_rel_error'].mean():.3%} "
            f"(behavioural amplifiers {sb['mean_abs_rel_error'].mean():.3%}); NF paper ~1 %.",
            ""]


def tile_section() -> list[str]:
    os.environ.setdefault("COSIM_CACHE_DIR", tempfile.mkdtemp(prefix="bench-amp-cache-"))
    from cosim.engine import readout
    from cosim.engine.tile import TileConfig, make_tile

    rng = np.random.default_rng(1234)
    g = rng.uniform(1e-6, 29.22e-6, size=(32, 32))
    x = np.vstack([rng.uniform(-1, 1, size=(6, 32)), np.ones((1, 32)), -np.ones((1, 32))])
    fs = TRANSISTOR_TIA.i_linear_max_a
    rows = []
    for v in (0.1, 0.3, 0.7):
        kw = dict(readout="tia", tia=TRANSISTOR_TIA, r_wire_ohm=1.0, v_read_volt=v,
                  use_cache=False)
        cal = make_tile(TileConfig(backend="calibrated", **kw))
        ref = make_tile(TileConfig(backend="spice", **kw))
        arr = cal.program(g)
        ref.load(arr)
        t0 = time.perf_counter()
        y_ref = ref.mvm(x).y
        t_sp = time.perf_counter() - t0
        err = np.max(np.abs(cal.mvm(x).y - y_ref)) / fs
        keep = readout.RESIDUAL_ITERATIONS
        readout.RESIDUAL_ITERATIONS = 0
        try:
            line = make_tile(TileConfig(backend="calibrated", **kw))
            line.load(arr)
            err_line = np.max(np.abs(line.mvm(x).y - y_ref)) / fs
        finally:
            readout.RESIDUAL_ITERATIONS = keep
        rows.append([v, f"{np.max(np.abs(y_ref)) / fs:.0%}", f"{err:.2g}", f"{err_line:.2g}",
                     f"{t_sp:.1f}"])
    return ["## 6. The tile's TIA model against the spice backend's transistor-level TIAs", "",
            "0T1R 32 x 32, 1 ohm wire segments, cells uniform in 1-29.22 uS, 6 random signed "
            "vectors plus all +1 and all -1; calibrated backend with the measured model "
            "(`cosim.calibration.tia.measured_model`) against 32 op-amps in the spice "
            "backend's netlist. Error: largest |difference| / full scale "
            f"({fs * 1e6:.1f} uA).", "",
            *_table(["read voltage (V)", "largest output / full scale", "error",
                     "error without the residual correction", "spice wall (s)"], rows)]


def _timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    dt = time.perf_counter() - t0
    if out.returncode != 0:
        return dt, "failed: " + (out.stderr.strip().splitlines() or ["?"])[-1]
    return dt, "ok"


def timing_section(baseline: Path | None) -> list[str]:
    cosim = [sys.executable, "-c", "from cosim.cli import main; main()"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, args in (("cosim characterise amp", ["characterise", "amp"]),
                            ("cosim characterise tia", ["characterise", "tia"]),
                            ("cosim characterise vcmac", ["characterise", "vcmac"]),
                            ("cosim run --stages tia,vcmac (this revision)",
                             ["run", "--stages", "tia,vcmac", "--no-progress"])):
            load = _load()
            dt, status = _timed([*cosim, *args, "-o", f"{tmp}/{len(rows)}"], ROOT)
            rows.append([label, f"{dt:.1f}", status, load])
        if baseline is not None:
            env = dict(os.environ, PYTHONPATH=str(baseline))
            load = _load()
            dt, status = _timed([*cosim, "run", "--stages", "tia,vcmac", "--no-progress", "-o",
                                 f"{tmp}/base"], baseline, env)
            rows.append(["cosim run --stages tia,vcmac (baseline revision)", f"{dt:.1f}",
                         status, load])
    return ["## 7. Wall times (2 shared cores)", "",
            *_table(["command", "wall (s)", "status", "load average before (1/5/15 min)"],
                    rows)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--baseline-src", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "measurements" / "amplifiers.md")
    ap.add_argument("--skip", default="", help="comma-separated section numbers to leave out")
    args = ap.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    t0 = time.perf_counter()
    parts = ["# Transistor-level amplifiers: measurements", "",
             f"Written by `benchmarks/bench_amplifiers.py` (ngspice: {ngspice_version()}; "
             f"{os.cpu_count()} cores shared with other jobs, load average at the start "
             f"{_load()}). Every figure below is from the run that wrote this page.", ""]
    sections = {"1": lambda: opamp_section(args.workers),
                "2": lambda: tia_section(args.workers, args.seeds),
                "3": energy_section,
                "4": lambda: vcmac_section(args.workers),
                "5": lambda: mc_section(args.workers, args.seeds),
                "6": tile_section,
                "7": lambda: timing_section(args.baseline_src)}
    for key, make in sections.items():
        if key in skip:
            continue
        print(f"section {key} ...", flush=True)
        part = make()
        print("\n".join(part), flush=True)
        parts += part
    parts.append(f"Benchmark wall time: {time.perf_counter() - t0:.0f} s.")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(parts) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
