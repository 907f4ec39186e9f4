"""Characterisation of circuit blocks by SPICE sweeps: the VCMAC ratio per switch code.

For every switch code 0..15 the VCMAC stage bench (:func:`circuits.vcmac.vcmac_stage`)
is swept over log-spaced input currents in one ngspice ``.dc`` run (see
:class:`circuits.vcmac.CurrentSweep`), and the ratio ``I_out / I_in`` is
compared with the nominal ``s`` of the code. This reproduces the measurement
of NF paper Fig. 3d (measured vs nominal ratio; the paper reports a mean
ratio error within 1 % for nominal ratios 1.1 to 2.0).

Two tables come out:

- the *curves* (:func:`vcmac_ratio_curves`), one row per code and input
  current: ``code, i_in_a, i_out_a, ratio, nominal, rel_error``;
- the *summary* (:func:`summarise_vcmac`, :func:`characterise_vcmac`), one row
  per code: ``code, c4, c3, c2, c1, nominal, measured, rel_error,
  max_rel_error, ratio_min, ratio_max, points``, where ``measured`` is the mean
  ratio over the currents, ``rel_error = measured / nominal - 1`` and
  ``max_rel_error`` the largest ``|ratio / nominal - 1|`` over the currents.

Device mismatch is set through the parameters: ``VCMACParams(a_vt_volt_m=...,
mismatch_seed=...)`` (see :mod:`circuits.vcmac`); :func:`mismatch_params` builds
them from A_VT in the usual mV*um, and :func:`mean_abs_error` is the figure the
paper quotes (mean |ratio error| over the measured codes).
:func:`mismatch_monte_carlo` runs many seeds (every code of every seed its
own ngspice run, ``workers`` at a time) and :func:`mismatch_statistics`
gives the mean and spread of the ratio error per code over the seeds.

Settling (:func:`vcmac_settling`): with transistor-level regulation
amplifiers (``VCMACParams.amp``) the stage bench takes an input current
step (:class:`circuits.vcmac.InputStep`, 0.1 -> 1 uA by default) in a
transient; the output current's 0.1 % settling time, overshoot and final
ratio come out per code, with the supply current after the step.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from circuits.analyses import Tran
from circuits.errors import ConfigError, check_int, check_range
from circuits.runner import DEFAULT_TIMEOUT_S, run_many
from circuits.vcmac import (
    CODES,
    INPUT_SENSE,
    OUTPUT_SOURCE,
    VCMAC_OTA,
    CurrentSweep,
    InputStep,
    VCMACParams,
    check_code,
    code_bits,
    nominal_ratio,
    vcmac_stage,
)

DEFAULT_POINTS = 100
"""Input currents per code; a 100-point sweep is the benchmark unit."""
CURRENT_RANGE_A = (0.1e-6, 10e-6)
"""Input current range of the characterisation (A), as the task of NF paper Fig. 3d."""
MEASURED_RANGE = (1.1, 2.0)
"""Nominal ratios the NF paper measured (Fig. 3d); the 1 % target applies to them."""
TARGET_REL_ERROR = 0.01
"""The NF paper's claim: mean ratio error within 1 %."""
VOLT_M_PER_MV_UM = 1e-9
"""A_VT unit conversion: 1 mV*um = 1e-9 V*m."""

SUMMARY_COLUMNS = ("code", "c4", "c3", "c2", "c1", "nominal", "measured", "rel_error",
                   "max_rel_error", "ratio_min", "ratio_max", "points")
CURVE_COLUMNS = ("code", "i_in_a", "i_out_a", "ratio", "nominal", "rel_error")


def default_currents(points: int = DEFAULT_POINTS) -> np.ndarray:
    """``points`` log-spaced input currents over :data:`CURRENT_RANGE_A` (A)."""
    return CurrentSweep(i_lo_a=CURRENT_RANGE_A[0], i_hi_a=CURRENT_RANGE_A[1],
                        points=points).currents_a()


def vcmac_ratio_curves(params: VCMACParams | None = None,
                       currents_a: Sequence[float] | np.ndarray | None = None, *,
                       codes: Sequence[int] = CODES, workers: int = 2,
                       timeout_s: float = DEFAULT_TIMEOUT_S,
                       progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Sweep the input current of the VCMAC stage bench for each switch code.

    One ngspice run per code; ``workers`` runs at a time (``run_many``). The
    sweep visits ``geomspace(min(currents_a), max(currents_a), len(currents_a))``;
    the ratio at each requested current is read off that sweep (linear
    interpolation in log current, exact when ``currents_a`` is itself
    log-spaced, as the default is). The measured ``I_in`` (through the 0 V
    sense source) is used, not the nominal one.

    Args:
        params: the VCMAC (its ``code`` is replaced by each of ``codes``);
            default ``VCMACParams()``.
        currents_a: input currents (A), at least two distinct positive values;
            default :func:`default_currents` (100 points, 0.1 to 10 uA).
        codes: switch codes to sweep; default all 16.
        workers: ngspice processes at a time.
        timeout_s: limit of each ngspice run (s).
        progress: called with the number of codes just finished, after each
            batch of ``workers`` codes (for a progress bar).

    Returns:
        One row per code and requested current, columns :data:`CURVE_COLUMNS`,
        ordered by code and then by current as given.

    Raises:
        ConfigError: bad currents or codes.
        SimulationError: an ngspice run failed.
    """
    params = VCMACParams() if params is None else params
    req = _check_currents(default_currents() if currents_a is None else currents_a)
    codes = [int(check_code(c)) for c in codes]
    if not codes:
        raise ConfigError("codes is empty; give at least one switch code 0..15")
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    sweep = CurrentSweep(i_lo_a=float(req.min()), i_hi_a=float(req.max()), points=len(req))
    save = (f"i({INPUT_SENSE.lower()})", f"i({OUTPUT_SOURCE.lower()})")
    frames = []
    for start in range(0, len(codes), workers):
        batch = codes[start:start + workers]
        jobs = [(vcmac_stage(dataclasses.replace(params, code=c), sweep=sweep), sweep.analysis())
                for c in batch]
        results = run_many(jobs, workers=workers, timeout_s=timeout_s, save=save)
        for code, res in zip(batch, results, strict=True):
            frames.append(_curve(code, res.i(INPUT_SENSE), res.i(OUTPUT_SOURCE), req))
        if progress is not None:
            progress(len(batch))
    return pd.concat(frames, ignore_index=True)


def summarise_vcmac(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per code from the curves of :func:`vcmac_ratio_curves`.

    Returns:
        Columns :data:`SUMMARY_COLUMNS`, one row per code, ordered by code.
    """
    missing = [c for c in ("code", "ratio", "nominal", "rel_error") if c not in curves.columns]
    if missing:
        raise ConfigError(f"curves lack columns {', '.join(missing)}")
    rows = []
    for code, g in curves.groupby("code", sort=True):
        code = int(code)
        nominal = nominal_ratio(code)
        measured = float(g["ratio"].mean())
        rows.append({
            "code": code,
            **dict(zip(("c4", "c3", "c2", "c1"), code_bits(code), strict=True)),
            "nominal": nominal,
            "measured": measured,
            "rel_error": measured / nominal - 1.0,
            "max_rel_error": float(g["rel_error"].abs().max()),
            "ratio_min": float(g["ratio"].min()),
            "ratio_max": float(g["ratio"].max()),
            "points": int(len(g)),
        })
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def characterise_vcmac(params: VCMACParams | None = None,
                       currents_a: Sequence[float] | np.ndarray | None = None, *,
                       workers: int = 2, timeout_s: float = DEFAULT_TIMEOUT_S,
                       progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Ratio of every switch code of the VCMAC over the input current range.

    Runs :func:`vcmac_ratio_curves` for all 16 codes and summarises them
    (:func:`summarise_vcmac`).

    Args:
        params: the VCMAC; default ``VCMACParams()``.
        currents_a: input currents (A); default 100 log-spaced, 0.1 to 10 uA.
        workers: ngspice processes at a time.
        timeout_s: limit of each ngspice run (s).
        progress: called with the number of codes just finished.

    Returns:
        One row per code 0..15, columns :data:`SUMMARY_COLUMNS`.
    """
    curves = vcmac_ratio_curves(params, currents_a, workers=workers, timeout_s=timeout_s,
                                progress=progress)
    return summarise_vcmac(curves)


@dataclass(frozen=True, kw_only=True)
class VcmacJob:
    """One characterisation of all 16 switch codes: the ``[vcmac]`` section of
    ``cosim run`` and the options of ``cosim vcmac-characterise``.

    Attributes:
        points: log-spaced input currents per code, 0.1 to 10 uA.
        a_vt_mv_um: Pelgrom threshold-mismatch coefficient (mV*um); 0 is none,
            3.5 a typical 40-45 nm bulk figure (our assumption).
        mismatch_seed: seed of the threshold shifts when ``a_vt_mv_um > 0``.
        transistor_level: regulation amplifiers at transistor level
            (``circuits.vcmac.VCMAC_OTA``); False uses the behavioural ones,
            the fast option (no settling then).
        settling: also run the input-step transient (:func:`vcmac_settling`) of
            the codes ``settle_codes``; needs ``transistor_level``.
        settle_codes: codes whose settling is simulated; default 0, 5, 10, 15
            (the ends and the two codes of s = 1.5 and 2.0: the settling time
            varies little with the code), ``cosim characterise vcmac`` runs all 16.
    """

    points: int = DEFAULT_POINTS
    a_vt_mv_um: float = 0.0
    mismatch_seed: int = 0
    transistor_level: bool = True
    settling: bool = True
    settle_codes: tuple[int, ...] = (0, 5, 10, 15)

    def __post_init__(self) -> None:
        check_int("points", self.points, 2, 100_000)
        # a list given on the command line (--set vcmac.settle_codes=0,5) arrives as text
        codes = tuple(int(c) if isinstance(c, str) and c.strip().isdigit() else c
                      for c in self.settle_codes)
        object.__setattr__(self, "settle_codes", codes)
        if not codes:
            raise ConfigError("settle_codes is empty; give at least one switch code 0..15")
        for c in codes:
            check_code(c)
        check_range("a_vt_mv_um", self.a_vt_mv_um, 0.0, 100.0)
        check_int("mismatch_seed", self.mismatch_seed, 0, 2**63 - 1)
        for name in ("transistor_level", "settling"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")

    def params(self) -> VCMACParams:
        """The VCMAC this job characterises."""
        base = VCMACParams(amp=VCMAC_OTA) if self.transistor_level else VCMACParams()
        return mismatch_params(self.a_vt_mv_um, self.mismatch_seed, base)


def run_vcmac_job(job: VcmacJob, *, workers: int = 2,
                  progress: Callable[[int], None] | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Characterise every switch code: ``(summary, curves)`` (module docstring).

    The one function behind ``cosim vcmac-characterise`` and the ``vcmac``
    stage of ``cosim run``.
    """
    curves = vcmac_ratio_curves(job.params(), default_currents(job.points), workers=workers,
                                progress=progress)
    return summarise_vcmac(curves), curves


def mismatch_params(a_vt_mv_um: float, seed: int = 0,
                    params: VCMACParams | None = None) -> VCMACParams:
    """``params`` (default ``VCMACParams()``) with Pelgrom A_VT given in mV*um and ``seed``.

    Raises:
        ConfigError: negative or too large A_VT, or a bad seed.
    """
    params = VCMACParams() if params is None else params
    return dataclasses.replace(params, a_vt_volt_m=float(a_vt_mv_um) * VOLT_M_PER_MV_UM,
                               mismatch_seed=seed)


def mean_abs_error(summary: pd.DataFrame, *,
                   nominal_range: tuple[float, float] = MEASURED_RANGE) -> float:
    """Mean of ``|rel_error|`` over the codes with nominal ratio in ``nominal_range``.

    Raises:
        ConfigError: no code of ``summary`` lies in ``nominal_range``.
    """
    lo, hi = nominal_range
    sel = summary[(summary["nominal"] >= lo - 1e-9) & (summary["nominal"] <= hi + 1e-9)]
    if not len(sel):
        raise ConfigError(f"no code with nominal ratio in {lo:g}..{hi:g} in the summary")
    return float(sel["rel_error"].abs().mean())


def within_target(summary: pd.DataFrame, *, nominal_range: tuple[float, float] = MEASURED_RANGE,
                  target: float = TARGET_REL_ERROR) -> bool:
    """Whether every code with nominal ratio in ``nominal_range`` has |rel_error| <= ``target``."""
    lo, hi = nominal_range
    sel = summary[(summary["nominal"] >= lo - 1e-9) & (summary["nominal"] <= hi + 1e-9)]
    return bool(len(sel)) and bool((sel["rel_error"].abs() <= target).all())


def _check_currents(currents_a: Sequence[float] | np.ndarray) -> np.ndarray:
    try:
        cur = np.asarray(currents_a, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError("currents_a must be a 1-D array of currents in amperes") from None
    if cur.ndim != 1 or len(np.unique(cur)) < 2:
        raise ConfigError(
            f"currents_a must hold at least two distinct currents, got shape {cur.shape}")
    if not np.all(np.isfinite(cur)) or cur.min() <= 0:
        raise ConfigError(
            f"currents_a must be finite and > 0 A, got min {cur.min()!r}")
    return cur


def _curve(code: int, i_in: np.ndarray, i_out: np.ndarray, req: np.ndarray) -> pd.DataFrame:
    order = np.argsort(i_in)
    log_i = np.log(i_in[order])
    ratio_sim = (i_out / i_in)[order]
    ratio = np.interp(np.log(req), log_i, ratio_sim)
    nominal = nominal_ratio(code)
    return pd.DataFrame({
        "code": code,
        "i_in_a": req,
        "i_out_a": ratio * req,
        "ratio": ratio,
        "nominal": nominal,
        "rel_error": ratio / nominal - 1.0,
    }, columns=list(CURVE_COLUMNS))


# --------------------------------------------------------------------------- settling

SETTLE_TOLERANCE = 1e-3
"""Settling band of the output current: 0.1 % of its step."""
SETTLE_STEP = InputStep(i_from_a=0.1e-6, i_to_a=1e-6, delay_s=0.5e-6)
"""The input step of the settling transient: 0.1 -> 1 uA (a decade of NF paper Fig. 3d's
range, ending at the chain's 1 uA per column) at 0.5 us."""
SETTLE_WINDOW_S = 6e-6
"""Length of the settling transient (s)."""
SETTLE_POINTS = 400
"""Largest time step of the settling transient: the window over this many (s)."""
SETTLING_COLUMNS = ("code", "nominal", "settle_s", "overshoot", "final_ratio", "rel_error",
                    "i_supply_a")


@dataclass(frozen=True)
class VcmacStepResponse:
    """One code's input-step transient: time (s), input and output current (A),
    supply current (A, drawn from ``Vdd``)."""

    code: int
    t_s: np.ndarray
    i_in_a: np.ndarray
    i_out_a: np.ndarray
    i_supply_a: np.ndarray


def vcmac_settling(params: VCMACParams | None = None, codes: Sequence[int] = CODES, *,
                   step: InputStep = SETTLE_STEP, window_s: float = SETTLE_WINDOW_S,
                   workers: int = 2, timeout_s: float = DEFAULT_TIMEOUT_S,
                   workdir: Path | None = None
                   ) -> tuple[pd.DataFrame, dict[int, VcmacStepResponse]]:
    """Settling of the stage bench's output current after an input step, per code.

    One ngspice transient per code (``workers`` at a time), the step at
    ``step.delay_s``, ``window_s`` long. The settling time is when ``i(Vout)``
    enters and stays in a band of :data:`SETTLE_TOLERANCE` of its step around
    its final value; the overshoot is the largest excursion beyond the final
    value as a fraction of the step; the final ratio is ``i(Vout) / i(Vsense_in)``
    at the end; the supply current is ``-i(Vdd)`` at the end.

    Args:
        params: a VCMAC with transistor-level amplifiers; default
            ``VCMACParams(amp=VCMAC_OTA)``.
        codes: switch codes; default all 16.
        step: the input step.
        window_s: length of the transient (s); must end at least 10 % after the step.
        workers: ngspice processes at a time.
        timeout_s: limit of each run (s).
        workdir: folder under which each code's run is kept (``code<c>/``), or ``None``.

    Returns:
        ``(table, responses)``: one row per code (:data:`SETTLING_COLUMNS`) and
        the waveforms by code.

    Raises:
        ConfigError: behavioural amplifiers (they have no dynamics), bad codes or window.
        SimulationError: an ngspice run failed.
    """
    from cosim.calibration.amplifiers import settle_time_s

    params = VCMACParams(amp=VCMAC_OTA) if params is None else params
    if params.amp is None:
        raise ConfigError("the VCMAC's behavioural amplifiers have no dynamics; settling "
                          "needs transistor-level ones (VCMACParams.amp)")
    codes = [int(check_code(c)) for c in codes]
    if not codes:
        raise ConfigError("codes is empty; give at least one switch code 0..15")
    check_range("window_s", window_s, step.delay_s * 1.1 + 1e-12, 1.0)
    analysis = Tran(step_s=window_s / SETTLE_POINTS, stop_s=window_s)
    save = (f"i({INPUT_SENSE.lower()})", f"i({OUTPUT_SOURCE.lower()})", "i(vdd)")

    def one(code: int) -> VcmacStepResponse:
        from circuits.runner import run

        net = vcmac_stage(dataclasses.replace(params, code=code), step=step)
        folder = None if workdir is None else Path(workdir) / f"code{code}"
        res = run(net, analysis, save=save, timeout_s=timeout_s, workdir=folder)
        return VcmacStepResponse(code=code, t_s=res.data["time [s]"].to_numpy(),
                                 i_in_a=res.i(INPUT_SENSE), i_out_a=res.i(OUTPUT_SOURCE),
                                 i_supply_a=-res.i("Vdd"))

    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        responses = dict(zip(codes, pool.map(one, codes), strict=True))
    rows = []
    for code, r in responses.items():
        io, t = r.i_out_a, r.t_s
        before = float(np.interp(step.delay_s, t, io))
        final = float(io[-1])
        span = final - before
        after = t >= step.delay_s
        over = float(np.max((io[after] - final) / span)) if span else math.nan
        ratio = final / float(r.i_in_a[-1])
        rows.append({"code": code, "nominal": nominal_ratio(code),
                     "settle_s": settle_time_s(t, io, step.delay_s, SETTLE_TOLERANCE),
                     "overshoot": over, "final_ratio": ratio,
                     "rel_error": ratio / nominal_ratio(code) - 1.0,
                     "i_supply_a": float(r.i_supply_a[-1])})
    return pd.DataFrame(rows, columns=list(SETTLING_COLUMNS)), responses


# --------------------------------------------------------------------------- Monte Carlo

MC_POINTS = 11
"""Input currents per code and seed of the Monte Carlo (log-spaced, 0.1 to 10 uA)."""


def mismatch_monte_carlo(seeds: Sequence[int], *, a_vt_mv_um: float = 3.5,
                         params: VCMACParams | None = None, codes: Sequence[int] = CODES,
                         points: int = MC_POINTS, workers: int = 2,
                         timeout_s: float = DEFAULT_TIMEOUT_S,
                         progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Ratio of every code for each mismatch seed: one ngspice DC sweep per (seed, code).

    All runs go through one pool of ``workers`` ngspice processes. Each seed
    draws the threshold shifts of the ratio-setting devices and, with
    transistor-level amplifiers, of their input pairs and mirrors
    (``circuits.vcmac``).

    Args:
        seeds: mismatch seeds (>= 1 of them).
        a_vt_mv_um: Pelgrom A_VT (mV*um); 3.5 is our typical 40-45 nm figure.
        params: the VCMAC; default ``VCMACParams(amp=VCMAC_OTA)``.
        codes: switch codes.
        points: log-spaced input currents per run, 0.1 to 10 uA.
        workers: ngspice processes at a time.
        timeout_s: limit of each run (s).
        progress: called with the number of runs just finished.

    Returns:
        One row per seed and code: ``seed`` and the :data:`SUMMARY_COLUMNS`.
    """
    params = VCMACParams(amp=VCMAC_OTA) if params is None else params
    seeds = [check_int("seed", s, 0, 2**63 - 1) for s in seeds]
    if not seeds:
        raise ConfigError("give at least one mismatch seed")
    codes = [int(check_code(c)) for c in codes]
    check_int("points", points, 2, 100_000)
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    req = default_currents(points)
    sweep = CurrentSweep(i_lo_a=float(req.min()), i_hi_a=float(req.max()), points=points)
    save = (f"i({INPUT_SENSE.lower()})", f"i({OUTPUT_SOURCE.lower()})")
    keys = [(s, c) for s in seeds for c in codes]
    frames = []
    batch = max(workers, 1) * 4
    for start in range(0, len(keys), batch):
        part = keys[start:start + batch]
        jobs = [(vcmac_stage(dataclasses.replace(mismatch_params(a_vt_mv_um, s, params), code=c),
                             sweep=sweep), sweep.analysis()) for s, c in part]
        results = run_many(jobs, workers=workers, timeout_s=timeout_s, save=save)
        for (s, c), res in zip(part, results, strict=True):
            curve = _curve(c, res.i(INPUT_SENSE), res.i(OUTPUT_SOURCE), req)
            frames.append(summarise_vcmac(curve).assign(seed=s))
        if progress is not None:
            progress(len(part))
    out = pd.concat(frames, ignore_index=True)
    return out[["seed", *SUMMARY_COLUMNS]]


MC_STAT_COLUMNS = ("code", "nominal", "seeds", "mean_rel_error", "std_rel_error",
                   "mean_abs_rel_error", "p95_abs_rel_error", "max_abs_rel_error")


def mismatch_statistics(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Mean and spread over seeds of each code's ratio error (``rel_error`` of the mean
    ratio over currents), from :func:`mismatch_monte_carlo`.

    Returns:
        One row per code, columns :data:`MC_STAT_COLUMNS`.
    """
    rows = []
    for code, g in per_seed.groupby("code", sort=True):
        e = g["rel_error"].to_numpy()
        rows.append({"code": int(code), "nominal": nominal_ratio(int(code)), "seeds": len(e),
                     "mean_rel_error": float(e.mean()),
                     "std_rel_error": float(e.std(ddof=1)) if len(e) > 1 else math.nan,
                     "mean_abs_rel_error": float(np.abs(e).mean()),
                     "p95_abs_rel_error": float(np.quantile(np.abs(e), 0.95)),
                     "max_abs_rel_error": float(np.abs(e).max())})
    return pd.DataFrame(rows, columns=list(MC_STAT_COLUMNS))
