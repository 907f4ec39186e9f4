"""Characterise the transistor-level amplifiers in ngspice: the op-amp and the TIA built on it.

Every figure comes from one named ngspice analysis of one bench
(:data:`ANALYSES` says which), so the characterisation table can say where
each number came from:

- **op-amp, open loop** (``.ac`` of :func:`circuits.opamp.opamp_open_loop`):
  DC gain, unity-gain frequency (GBW) and the phase margin as a unity-gain
  follower, with the load capacitance of :class:`AmpConditions`; once
  unloaded and once loaded by the TIA's feedback resistance (the resistive
  load it drives in a tile);
- **op-amp quiescent current** (``.op`` of :func:`circuits.opamp.opamp_follower`);
- **slew rate** (``.tran`` of the follower with a large input step): the
  largest ``dv/dt`` of the output, rising and falling;
- **TIA loop gain** (``.ac`` of :func:`circuits.tia.tia_loop_gain`): the DC
  loop gain, crossover and phase margin in the TIA's own feedback
  configuration, with the column capacitance at the input;
- **output swing** (``.dc`` sweep of the TIA's input current): the output
  range over which the TIA's incremental transimpedance stays within
  :data:`SWING_TOLERANCE` of its value at zero current;
- **settling and energy** (``.tran`` of the TIA bench with a current step):
  the 0.1 % settling time of full-scale steps of either sign, per input
  range, and the energy the rails deliver over one conversion, the integral
  of ``-(v(tvdd) i(Vddtia) + v(tvss) i(Vsstia))``.

Monte Carlo (:func:`tia_mismatch`): seeded Pelgrom mismatch of the op-amp's
input pair and first-stage mirror (``OpAmpParams.a_vt_volt_m``), one ngspice
DC sweep per seed, ``workers`` processes at a time: the TIA's input-referred
offset and gain error per seed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from circuits.analyses import AC, DC, Op, Tran
from circuits.devices import TAOX_40NM, V_READ_VOLT
from circuits.errors import ConfigError, SimulationError, check_int, check_range
from circuits.opamp import (
    DEFAULT_OPAMP,
    SPLIT_RAILS,
    OpAmpParams,
    Rails,
    opamp_follower,
    opamp_open_loop,
)
from circuits.runner import DEFAULT_TIMEOUT_S, SimResult, run, run_many
from circuits.tia import (
    SUPPLY_SOURCES,
    TRANSISTOR_TIA,
    TIAParams,
    tia,
    tia_for_current,
    tia_loop_gain,
)

SETTLE_TOLERANCE = 1e-3
"""Settling band: 0.1 % of the step."""
SWING_TOLERANCE = 0.01
"""The output swing ends where the TIA's incremental transimpedance is 1 % off its mid value."""
AC_SWEEP = AC(points_per_decade=40, f_start_hz=1.0, f_stop_hz=1e11)
"""The frequency sweep of every Bode plot (1 Hz to 100 GHz)."""
ROWS_PER_RANGE = (64, 128, 256, 512)
"""Input ranges of the settling table: a column of this many LRS cells (NF paper 29.22 uS)
read at the NF code's 0.1 V, the full scale ``tia_for_current`` sizes a TIA for."""

ANALYSES = {
    "open_loop": ".ac of circuits.opamp.opamp_open_loop (loop closed at DC by 1 MH, open in AC)",
    "quiescent": ".op of circuits.opamp.opamp_follower",
    "slew": ".tran of circuits.opamp.opamp_follower with an input step",
    "loop_gain": ".ac of circuits.tia.tia_loop_gain (voltage injection at the op-amp's "
                 "inverting input)",
    "swing": ".dc sweep of Iin of circuits.tia.tia",
    "settling": ".tran of circuits.tia.tia with a current step",
}
"""Where each kind of figure comes from (the ``analysis`` column of the table)."""


@dataclass(frozen=True, kw_only=True)
class AmpConditions:
    """The setting every amplifier figure is measured in.

    Attributes:
        c_load_farad: capacitance at the op-amp's output (F); 0.5 pF, assumed:
            an ADC's sampling capacitor plus wiring.
        c_in_farad: capacitance at the TIA's input (F); 1 pF, assumed: a
            column's source line (wire and access-transistor junctions) with
            margin.
        slew_step_volt: input step of the slew-rate bench (V); 0.3 V, most of
            the rated output range.
        settle_window_s: length of a settling transient after the step (s).
        edge_s: rise time of the current steps (s).
    """

    c_load_farad: float = 0.5e-12
    c_in_farad: float = 1e-12
    slew_step_volt: float = 0.3
    settle_window_s: float = 40e-9
    edge_s: float = 0.1e-9

    def __post_init__(self) -> None:
        check_range("c_load_farad", self.c_load_farad, 0.0, 1e-9)
        check_range("c_in_farad", self.c_in_farad, 0.0, 1e-9)
        check_range("slew_step_volt", self.slew_step_volt, 0.01, 1.0)
        check_range("settle_window_s", self.settle_window_s, 1e-9, 1e-3)
        check_range("edge_s", self.edge_s, 1e-12, self.settle_window_s / 10)

    def describe(self) -> str:
        return (f"{self.c_load_farad * 1e12:g} pF at the output, {self.c_in_farad * 1e12:g} pF "
                "at the TIA input")


DEFAULT_CONDITIONS = AmpConditions()


# --------------------------------------------------------------------------- small-signal


@dataclass(frozen=True)
class Bode:
    """A complex frequency response and its figures.

    Attributes:
        f_hz: frequencies (Hz).
        h: complex response at each frequency.
    """

    f_hz: np.ndarray
    h: np.ndarray

    @property
    def magnitude_db(self) -> np.ndarray:
        return 20 * np.log10(np.abs(self.h))

    @property
    def phase_deg(self) -> np.ndarray:
        """Unwrapped phase (degrees), starting within (-180, 180] at the lowest frequency."""
        return np.degrees(np.unwrap(np.angle(self.h)))

    @property
    def dc_db(self) -> float:
        """Magnitude at the lowest frequency (dB)."""
        return float(self.magnitude_db[0])

    def crossings(self) -> list[tuple[float, float]]:
        """``(f_hz, phase_deg)`` at every frequency where the magnitude passes 0 dB
        (log-linear interpolation), lowest first."""
        mag, ph = self.magnitude_db, self.phase_deg
        out = []
        for i in np.nonzero(np.diff(np.sign(mag)) != 0)[0]:
            w = mag[i] / (mag[i] - mag[i + 1])
            f = math.exp(math.log(self.f_hz[i]) + w * math.log(self.f_hz[i + 1] / self.f_hz[i]))
            out.append((float(f), float(ph[i] + w * (ph[i + 1] - ph[i]))))
        return out

    def crossover(self) -> tuple[float, float]:
        """``(f_hz, phase_deg)`` of the 0 dB crossing with the least phase margin (where
        the magnitude passes 0 dB more than once, as it may near a compensation
        zero); NaN when it never does."""
        xs = self.crossings()
        if not xs:
            return math.nan, math.nan
        return min(xs, key=lambda x: self._margin(x[1]))

    def unity_gain_hz(self) -> float:
        """The highest frequency where the magnitude passes 0 dB (Hz); NaN if none."""
        xs = self.crossings()
        return xs[-1][0] if xs else math.nan

    def _margin(self, phase_deg: float) -> float:
        return float(180.0 + phase_deg - self.phase_deg[0])

    def phase_margin_deg(self) -> float:
        """``180 + phase - phase at DC`` (degrees) at the worst 0 dB crossing: the margin
        of a loop whose DC phase is that of negative feedback (0 for a loop gain written
        with its sign)."""
        _, ph = self.crossover()
        return self._margin(ph)


def _bode(res: SimResult, num: str, den: str | None = None) -> Bode:
    f = res.data["frequency [Hz]"].to_numpy().real
    h = res.data[f"v({num}) [V]"].to_numpy()
    if den is not None:
        h = -h / res.data[f"v({den}) [V]"].to_numpy()
    return Bode(f_hz=f, h=h)


def open_loop(p: OpAmpParams = DEFAULT_OPAMP, rails: Rails = SPLIT_RAILS, *,
              c_load_farad: float = 0.5e-12, r_load_ohm: float = 0.0,
              workdir: Path | None = None) -> Bode:
    """Open-loop response ``v(out) / v(inp)`` of the op-amp (``.ac``)."""
    res = run(opamp_open_loop(p, rails, c_load_farad=c_load_farad, r_load_ohm=r_load_ohm),
              AC_SWEEP, save=("v(out)",), workdir=workdir)
    return _bode(res, "out")


def loop_gain(p: TIAParams = TRANSISTOR_TIA, *, c_in_farad: float = 1e-12,
              c_load_farad: float = 0.5e-12, r_source_ohm: float = 0.0, i_in_a: float = 0.0,
              workdir: Path | None = None) -> Bode:
    """Loop gain ``T = -v(in) / v(inn)`` of the TIA (``.ac`` of ``tia_loop_gain``)."""
    res = run(tia_loop_gain(p, i_in_a=i_in_a, c_in_farad=c_in_farad, c_load_farad=c_load_farad,
                            r_source_ohm=r_source_ohm),
              AC_SWEEP, save=("v(in)", "v(inn)"), workdir=workdir)
    return _bode(res, "in", "inn")


def quiescent_current_a(p: OpAmpParams = DEFAULT_OPAMP, rails: Rails = SPLIT_RAILS, *,
                        workdir: Path | None = None) -> float:
    """Supply current of the op-amp at rest (A), ``-i(Vdd)`` of the follower at mid-rail."""
    res = run(opamp_follower(p, rails), Op(), save=("i(vdd)",), workdir=workdir)
    return float(-res.i("Vdd")[0])


def slew_rates(p: OpAmpParams = DEFAULT_OPAMP, rails: Rails = SPLIT_RAILS, *,
               step_volt: float = 0.3, c_load_farad: float = 0.5e-12,
               workdir: Path | None = None
               ) -> tuple[float, float, tuple[np.ndarray, np.ndarray]]:
    """Rising and falling slew rates (V/s) of the follower for a ``+-step_volt`` input step.

    One transient holds both edges (the ``PULSE`` rises at 5 ns and falls back
    at 25 ns); the rates are the largest ``dv/dt`` of the output on each edge.

    Returns:
        ``(rising, falling, (t, v_out))``, both rates positive.
    """
    net = opamp_follower(p, rails, step_volt=step_volt, width_s=20e-9, c_load_farad=c_load_farad)
    res = run(net, Tran(step_s=5e-12, stop_s=45e-9), save=("v(out)",), workdir=workdir)
    t, v = res.data["time [s]"].to_numpy(), res.v("out")
    dv = np.gradient(v, t)
    rise, fall = t < 25e-9, t >= 25e-9
    return float(dv[rise].max()), float(-dv[fall].min()), (t, v)


# --------------------------------------------------------------------------- TIA DC


@dataclass(frozen=True)
class TiaSweep:
    """A DC sweep of a TIA's input current.

    Attributes:
        i_a: input currents (A).
        v_in: held input node (V).
        v_out: output (V).
        i_supply_a: current drawn from the positive rail (A), or empty.
    """

    i_a: np.ndarray
    v_in: np.ndarray
    v_out: np.ndarray
    i_supply_a: np.ndarray

    @property
    def transimpedance_ohm(self) -> np.ndarray:
        """Incremental ``dV_out / dI`` at every point (ohm)."""
        return np.gradient(self.v_out, self.i_a)

    @property
    def opamp_gain(self) -> np.ndarray:
        """The op-amp's in-circuit gain ``-dV_out / dv_in`` at every point (V/V)."""
        return -np.gradient(self.v_out, self.i_a) / np.gradient(self.v_in, self.i_a)

    def swing_volt(self, tolerance: float = SWING_TOLERANCE) -> tuple[float, float]:
        """Output range ``(low, high)`` (V) around zero current within which the incremental
        transimpedance stays within ``tolerance`` of its value at zero current."""
        z = self.transimpedance_ohm
        mid = int(np.argmin(np.abs(self.i_a)))
        ok = np.abs(z / z[mid] - 1.0) <= tolerance
        lo = hi = mid
        while lo > 0 and ok[lo - 1]:
            lo -= 1
        while hi < len(ok) - 1 and ok[hi + 1]:
            hi += 1
        a, b = self.v_out[lo], self.v_out[hi]
        return float(min(a, b)), float(max(a, b))


def tia_sweep(p: TIAParams = TRANSISTOR_TIA, *, span: float = 1.6, points: int = 321,
              workdir: Path | None = None) -> TiaSweep:
    """DC sweep of the input current over ``+-span`` times the TIA's linear range."""
    check_range("span", span, 0.0, 10.0, lo_open=True)
    check_int("points", points, 3, 100_000)
    i_max = span * p.i_linear_max_a
    save = ["v(in)", "v(out)"]
    if p.transistor_level or p.supply:
        save.append(f"i({SUPPLY_SOURCES[0].lower()})")
    res = run(tia(p, step=None), DC(source="Iin", start=-i_max, stop=i_max,
                                    step=2 * i_max / (points - 1)),
              save=tuple(save), workdir=workdir)
    i = res.data.iloc[:, 0].to_numpy()
    sup = -res.i(SUPPLY_SOURCES[0]) if len(save) > 2 else np.zeros(0)
    return TiaSweep(i_a=i, v_in=res.v("in"), v_out=res.v("out"), i_supply_a=sup)


# --------------------------------------------------------------------------- settling


@dataclass(frozen=True)
class StepResponse:
    """One current step of a TIA.

    Attributes:
        t_s: time (s), the step starting at ``t_step_s``.
        v_out: output (V).
        p_supply_w: power the rails deliver (W).
        t_step_s: start of the step (s).
        i_step_a: step height (A).
        settle_s: time after ``t_step_s`` from which ``v_out`` stays within
            :data:`SETTLE_TOLERANCE` of the step of its final value (s).
    """

    t_s: np.ndarray
    v_out: np.ndarray
    p_supply_w: np.ndarray
    t_step_s: float
    i_step_a: float
    settle_s: float

    def energy_j(self, window_s: float) -> float:
        """Energy from the rails over ``[t_step, t_step + window_s]`` (J)."""
        t0, t1 = self.t_step_s, self.t_step_s + window_s
        grid = np.linspace(t0, t1, 2001)
        return float(np.trapezoid(np.interp(grid, self.t_s, self.p_supply_w), grid))


def settle_time_s(t: np.ndarray, v: np.ndarray, t_step_s: float,
                  tolerance: float = SETTLE_TOLERANCE) -> float:
    """Time after ``t_step_s`` from which ``v`` stays within ``tolerance`` of the step
    ``|v_final - v_before|`` around ``v_final`` (s); the crossing is interpolated linearly."""
    v0 = float(np.interp(t_step_s, t, v))
    final = float(v[-1])
    band = tolerance * abs(final - v0)
    outside = np.nonzero(np.abs(v - final) > band)[0]
    if not len(outside):
        return 0.0
    k = int(outside[-1])
    if k == len(t) - 1:
        return math.inf
    e0, e1 = abs(v[k] - final) - band, abs(v[k + 1] - final) - band
    tc = t[k] + (t[k + 1] - t[k]) * e0 / (e0 - e1) if e0 != e1 else t[k + 1]
    return float(max(tc - t_step_s, 0.0))


def step_response(p: TIAParams = TRANSISTOR_TIA, i_step_a: float | None = None, *,
                  conditions: AmpConditions = DEFAULT_CONDITIONS, t_step_s: float = 2e-9,
                  tolerance: float = SETTLE_TOLERANCE,
                  workdir: Path | None = None) -> StepResponse:
    """Transient of the TIA bench for a current step ``0 -> i_step_a`` at ``t_step_s``.

    The step rises over ``conditions.edge_s``; the column capacitance and the
    load of ``conditions`` are on. ``i_step_a`` defaults to the TIA's linear
    range (a full-scale step into the input, output falling).
    """
    i_step = p.i_linear_max_a if i_step_a is None else float(i_step_a)
    edge, stop = conditions.edge_s, t_step_s + conditions.settle_window_s
    pwl = ((0.0, 0.0), (t_step_s, 0.0), (t_step_s + edge, i_step), (stop, i_step))
    save = ["v(out)"]
    supplied = p.transistor_level or p.supply
    if supplied:
        save += ["v(tvdd)", "v(tvss)", *(f"i({s.lower()})" for s in SUPPLY_SOURCES)]
    res = run(tia(p, i_in_pwl=pwl, c_in_farad=conditions.c_in_farad,
                  c_load_farad=conditions.c_load_farad),
              Tran(step_s=min(10e-12, edge / 4), stop_s=stop), save=tuple(save), workdir=workdir)
    t, v = res.data["time [s]"].to_numpy(), res.v("out")
    power = np.zeros_like(t)
    if supplied:
        power = -(res.v("tvdd") * res.i(SUPPLY_SOURCES[0])
                  + res.v("tvss") * res.i(SUPPLY_SOURCES[1]))
    return StepResponse(t_s=t, v_out=v, p_supply_w=power, t_step_s=t_step_s, i_step_a=i_step,
                        settle_s=settle_time_s(t, v, t_step_s, tolerance))


def input_ranges(base: TIAParams = TRANSISTOR_TIA, rows: Sequence[int] = ROWS_PER_RANGE,
                 v_read_volt: float = V_READ_VOLT,
                 g_lrs_siemens: float = TAOX_40NM.g_lrs_siemens) -> list[tuple[str, TIAParams]]:
    """``(label, TIA)`` for the default TIA and for a TIA sized to each column height."""
    out = [(f"default ({base.i_linear_max_a * 1e6:.4g} uA)", base)]
    for n in rows:
        i = v_read_volt * g_lrs_siemens * n
        out.append((f"{n} rows ({i * 1e6:.4g} uA)", tia_for_current(i, base)))
    return out


def settling_table(ranges: Sequence[tuple[str, TIAParams]], *,
                   conditions: AmpConditions = DEFAULT_CONDITIONS, workers: int = 2,
                   tolerance: float = SETTLE_TOLERANCE, workdir: Path | None = None
                   ) -> tuple[pd.DataFrame, dict[tuple[str, int], StepResponse]]:
    """0.1 % settling of full-scale steps of either sign and the energy of one
    conversion, per input range: one transient per range and sign, ``workers`` at a time.

    The conversion of a range lasts its slower settling time (the latency of
    a conversion); its energy is the rails' energy over that window after the
    positive step (input current into the TIA, output falling).

    Returns:
        ``(table, responses)``: one row per range (``range, r_f_ohm, c_f_farad,
        i_full_scale_a, out_units, settle_pos_s, settle_neg_s, conversion_s,
        energy_per_conversion_j, mean_power_w``) and the step responses by
        ``(range, sign)``.
    """
    jobs = [(k, label, p, sign) for k, (label, p) in enumerate(ranges) for sign in (1, -1)]

    def one(job: tuple[int, str, TIAParams, int]) -> StepResponse:
        k, _, p, sign = job
        folder = None if workdir is None else (
            Path(workdir) / f"range{k}_{'pos' if sign > 0 else 'neg'}")
        return step_response(p, sign * p.i_linear_max_a, conditions=conditions,
                             tolerance=tolerance, workdir=folder)

    results = _parallel(one, jobs, workers)
    responses = {(label, sign): r for (_, label, _, sign), r in zip(jobs, results, strict=True)}
    rows = []
    for label, p in ranges:
        pos, neg = responses[(label, 1)], responses[(label, -1)]
        conv = max(pos.settle_s, neg.settle_s)
        energy = pos.energy_j(conv) if math.isfinite(conv) else math.nan
        rows.append({"range": label, "r_f_ohm": p.r_f_ohm, "c_f_farad": p.c_f_farad,
                     "i_full_scale_a": p.i_linear_max_a,
                     "out_units": p.opamp.out_units if p.opamp is not None else 0,
                     "settle_pos_s": pos.settle_s, "settle_neg_s": neg.settle_s,
                     "conversion_s": conv, "energy_per_conversion_j": energy,
                     "mean_power_w": energy / conv if conv > 0 else math.nan})
    return pd.DataFrame(rows), responses


def _parallel(fn: Callable, items: Sequence, workers: int) -> list:
    """``[fn(x) for x in items]``, ``workers`` at a time (each call runs its own ngspice)."""
    check_int("workers", workers, 1, 1024)
    if workers == 1 or len(items) <= 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True, kw_only=True)
class AmpFigure:
    """One row of the characterisation table."""

    quantity: str
    value: float
    unit: str
    analysis: str
    condition: str

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class OpAmpCharacterisation:
    """The op-amp's figures and the curves behind them."""

    figures: tuple[AmpFigure, ...]
    open_loop: Bode
    open_loop_loaded: Bode
    loop: Bode
    sweep: TiaSweep
    slew_wave: tuple[np.ndarray, np.ndarray]

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([f.as_dict() for f in self.figures])

    def value(self, quantity: str) -> float:
        for f in self.figures:
            if f.quantity == quantity:
                return f.value
        raise ConfigError(f"no figure {quantity!r} in the characterisation")


def characterise_opamp(p: TIAParams = TRANSISTOR_TIA, *,
                       conditions: AmpConditions = DEFAULT_CONDITIONS, workers: int = 2,
                       workdir: Path | None = None) -> OpAmpCharacterisation:
    """Every op-amp figure of the module docstring for the op-amp of TIA ``p``.

    With ``workdir`` each bench's ngspice folder (deck, log, raw file) is kept
    under it: ``open_loop/``, ``open_loop_loaded/``, ``loop_gain/``,
    ``quiescent/``, ``slew/``, ``swing/``.

    Raises:
        ConfigError: ``p`` has no transistor-level op-amp.
        SimulationError: an ngspice run failed.
    """
    if p.opamp is None:
        raise ConfigError("the TIA has the macro-model op-amp; characterise_opamp needs a "
                          "transistor-level one (TIAParams.opamp)")
    rails = Rails(v_dd_volt=p.v_dd_volt, v_ss_volt=p.v_ss_volt)
    c_l, c_in = conditions.c_load_farad, conditions.c_in_farad
    def sub(name: str) -> Path | None:
        return None if workdir is None else Path(workdir) / name

    jobs: dict[str, Callable[[], object]] = {
        "ol": lambda: open_loop(p.opamp, rails, c_load_farad=c_l, workdir=sub("open_loop")),
        "oll": lambda: open_loop(p.opamp, rails, c_load_farad=c_l, r_load_ohm=p.r_f_ohm,
                                 workdir=sub("open_loop_loaded")),
        "loop": lambda: loop_gain(p, c_in_farad=c_in, c_load_farad=c_l,
                                  workdir=sub("loop_gain")),
        "iq": lambda: quiescent_current_a(p.opamp, rails, workdir=sub("quiescent")),
        "slew": lambda: slew_rates(p.opamp, rails, step_volt=conditions.slew_step_volt,
                                   c_load_farad=c_l, workdir=sub("slew")),
        "sweep": lambda: tia_sweep(p, workdir=sub("swing")),
    }
    done = dict(zip(jobs, _parallel(lambda f: f(), list(jobs.values()), workers), strict=True))
    ol, oll, loop, sweep = done["ol"], done["oll"], done["loop"], done["sweep"]
    rise, fall, wave = done["slew"]
    f_u = ol.unity_gain_hz()
    f_c, _ = loop.crossover()
    fs = p.i_linear_max_a
    at_fs = _parallel(lambda i: loop_gain(p, c_in_farad=c_in, c_load_farad=c_l, i_in_a=i),
                      [fs, -fs], workers)
    pm_worst = min([loop.phase_margin_deg()] + [b.phase_margin_deg() for b in at_fs])
    lo, hi = sweep.swing_volt()
    v_lo, v_hi = p.amplifier.output_range_volt
    mid = int(np.argmin(np.abs(sweep.i_a)))
    load = f"{c_l * 1e12:g} pF load"
    fig = AmpFigure
    figures = (
        fig(quantity="dc_gain_db", value=ol.dc_db, unit="dB", analysis=ANALYSES["open_loop"],
            condition=f"open loop, {load}"),
        fig(quantity="dc_gain_loaded_db", value=oll.dc_db, unit="dB",
            analysis=ANALYSES["open_loop"],
            condition=f"open loop, {load} and {p.r_f_ohm:g} ohm (the feedback resistor) to "
                      "mid-rail"),
        fig(quantity="gbw_hz", value=f_u, unit="Hz", analysis=ANALYSES["open_loop"],
            condition=f"unity-gain frequency (the highest 0 dB crossing), {load}"),
        fig(quantity="phase_margin_follower_deg", value=ol.phase_margin_deg(), unit="deg",
            analysis=ANALYSES["open_loop"],
            condition=f"as a unity-gain follower, worst 0 dB crossing, {load}"),
        fig(quantity="tia_loop_gain_db", value=loop.dc_db, unit="dB",
            analysis=ANALYSES["loop_gain"],
            condition=f"TIA Rf {p.r_f_ohm:g} ohm || Cf {p.c_f_farad * 1e12:g} pF, "
                      f"{conditions.describe()}, current-source input"),
        fig(quantity="tia_crossover_hz", value=f_c, unit="Hz", analysis=ANALYSES["loop_gain"],
            condition="as above"),
        fig(quantity="tia_phase_margin_deg", value=loop.phase_margin_deg(), unit="deg",
            analysis=ANALYSES["loop_gain"], condition="as above"),
        fig(quantity="tia_phase_margin_worst_deg", value=pm_worst, unit="deg",
            analysis=ANALYSES["loop_gain"],
            condition=f"the least over the operating points 0 and +-{fs * 1e6:.4g} uA "
                      "(full scale) of input current"),
        fig(quantity="slew_rate_rising_v_per_s", value=rise, unit="V/s",
            analysis=ANALYSES["slew"],
            condition=f"follower, {conditions.slew_step_volt:g} V input step, {load}"),
        fig(quantity="slew_rate_falling_v_per_s", value=fall, unit="V/s",
            analysis=ANALYSES["slew"], condition="as above"),
        fig(quantity="output_swing_low_v", value=lo, unit="V", analysis=ANALYSES["swing"],
            condition=f"TIA transimpedance within {SWING_TOLERANCE:.0%} of its value at 0 A"),
        fig(quantity="output_swing_high_v", value=hi, unit="V", analysis=ANALYSES["swing"],
            condition="as above"),
        fig(quantity="adc_range_low_v", value=v_lo, unit="V", analysis="rated (OpAmpParams)",
            condition=f"the TIA's linear range, full scale {p.i_linear_max_a * 1e6:.4g} uA"),
        fig(quantity="adc_range_high_v", value=v_hi, unit="V", analysis="rated (OpAmpParams)",
            condition="as above"),
        fig(quantity="opamp_gain_in_tia_db", value=float(20 * np.log10(sweep.opamp_gain[mid])),
            unit="dB", analysis=ANALYSES["swing"],
            condition="-dV_out/dv_in at 0 A: the gain the TIA's accuracy sees (output "
                      "current through the open-loop output resistance included)"),
        fig(quantity="quiescent_current_a", value=done["iq"], unit="A",
            analysis=ANALYSES["quiescent"], condition="inputs at mid-rail"),
        fig(quantity="quiescent_power_w", value=done["iq"] * (rails.v_dd_volt - rails.v_ss_volt),
            unit="W", analysis=ANALYSES["quiescent"], condition="as above, times the rails"),
    )
    return OpAmpCharacterisation(figures=figures, open_loop=ol, open_loop_loaded=oll, loop=loop,
                                 sweep=sweep, slew_wave=wave)


# --------------------------------------------------------------------------- Monte Carlo


MISMATCH_COLUMNS = ("seed", "offset_volt", "gain_error", "transimpedance_ohm")


def tia_mismatch(p: TIAParams = TRANSISTOR_TIA, seeds: Sequence[int] = range(50), *,
                 a_vt_volt_m: float = 3.5e-9, workers: int = 2,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> pd.DataFrame:
    """TIA input-referred offset and gain error per mismatch seed (one ``.dc`` run each).

    The op-amp of ``p`` gets ``a_vt_volt_m`` and each seed
    (``OpAmpParams.mismatch_seed``); the input current is swept over the
    middle half of the linear range, and a straight line fitted to
    ``v_out(I)`` gives the transimpedance and the output at 0 A. The offset is
    that output's distance from ``v_ref`` (the held input's offset from ``v_ref``
    equals it, the feedback resistor carrying no current at 0 A); the gain
    error is ``(transimpedance + r_f) / r_f`` (the sign convention of
    ``TiaResult.summary``'s ``gain_rel_error``: positive is a gain below ``r_f``
    in magnitude).

    Returns:
        One row per seed, columns :data:`MISMATCH_COLUMNS`.
    """
    if p.opamp is None:
        raise ConfigError("tia_mismatch needs a transistor-level TIA (TIAParams.opamp)")
    seeds = [check_int("seed", s, 0, 2**63 - 1) for s in seeds]
    if not seeds:
        raise ConfigError("give at least one mismatch seed")
    i_max = 0.5 * p.i_linear_max_a
    analysis = DC(source="Iin", start=-i_max, stop=i_max, step=i_max / 10)
    jobs = []
    for s in seeds:
        q = dataclasses.replace(p, opamp=dataclasses.replace(p.opamp, a_vt_volt_m=a_vt_volt_m,
                                                             mismatch_seed=s))
        jobs.append((tia(q, step=None), analysis))
    results = run_many(jobs, workers=workers, timeout_s=timeout_s, save=("v(out)",))
    rows = []
    for s, res in zip(seeds, results, strict=True):
        i = res.data.iloc[:, 0].to_numpy()
        slope, v0 = np.polyfit(i, res.v("out"), 1)
        rows.append({"seed": s, "offset_volt": float(v0 - p.v_ref_volt),
                     "gain_error": float((slope + p.r_f_ohm) / p.r_f_ohm),
                     "transimpedance_ohm": float(slope)})
    return pd.DataFrame(rows, columns=list(MISMATCH_COLUMNS))


# --------------------------------------------------------------------------- jobs


@dataclass(frozen=True, kw_only=True)
class TiaJob:
    """One characterisation of the TIA front end: the ``[tia]`` section of ``cosim run``
    and the options of ``cosim characterise tia``.

    Attributes:
        tolerance: settling band (fraction of the step); 0.1 %.
        transistor_level: the transistor-level TIA (``circuits.tia.TRANSISTOR_TIA``);
            False: the macro-model TIA (``DEFAULT_TIA``, the fast option).
        mismatch_seeds: Monte Carlo seeds of the op-amp's mismatch (0 is none;
            transistor level only).
        a_vt_mv_um: Pelgrom A_VT of the Monte Carlo (mV*um); 3.5 assumed typical.
    """

    tolerance: float = SETTLE_TOLERANCE
    transistor_level: bool = True
    mismatch_seeds: int = 0
    a_vt_mv_um: float = 3.5

    def __post_init__(self) -> None:
        check_range("tolerance", self.tolerance, 0.0, 0.5, lo_open=True)
        if not isinstance(self.transistor_level, bool):
            raise ConfigError(f"transistor_level must be true or false, got "
                              f"{self.transistor_level!r}")
        check_int("mismatch_seeds", self.mismatch_seeds, 0, MAX_SEEDS)
        check_range("a_vt_mv_um", self.a_vt_mv_um, 0.0, 50.0)
        if self.mismatch_seeds and not self.transistor_level:
            raise ConfigError("mismatch_seeds needs the transistor-level TIA (the macro-model "
                              "has no devices to mismatch)")

    def params(self) -> TIAParams:
        from circuits.tia import DEFAULT_TIA

        return TRANSISTOR_TIA if self.transistor_level else DEFAULT_TIA


MAX_SEEDS = 10_000
"""Most Monte Carlo seeds one characterisation accepts."""


@dataclass(frozen=True)
class TiaResult:
    """What :func:`run_tia_job` measured.

    Attributes:
        params: the TIA.
        dc: its DC figures (``cosim.calibration.tia.dc_model``: gain, offset, input resistance).
        settling: one row per input range (:func:`settling_table`).
        responses: the step responses by ``(range, sign)``.
        sweep: the DC sweep of the default range.
        mismatch: one row per seed (:func:`tia_mismatch`), or ``None``.
    """

    params: TIAParams
    dc: object
    settling: pd.DataFrame
    responses: dict
    sweep: TiaSweep
    mismatch: pd.DataFrame | None

    def summary(self, tolerance: float) -> dict[str, object]:
        """The headline figures (JSON-able)."""
        p, d = self.params, self.dc
        first = self.settling.iloc[0]
        out: dict[str, object] = {
            "amplifier": p.amplifier.describe(),
            "gain_ohm": float(d.transimpedance_ohm),
            "gain_rel_error": float((d.transimpedance_ohm + p.r_f_ohm) / p.r_f_ohm),
            "offset_volt": float(d.v_out0_volt - p.v_ref_volt),
            "r_in_ohm": float(d.r_in_ohm),
            "max_nonlinearity_volt": float(d.max_nonlinearity_volt),
            "i_range_a": float(p.i_linear_max_a),
            "settle_time_s": float(first["conversion_s"]),
            "settle_tolerance": tolerance,
            "energy_per_conversion_j": float(first["energy_per_conversion_j"]),
            "ranges": self.settling.to_dict(orient="records"),
        }
        if self.mismatch is not None:
            m = self.mismatch
            out["mismatch"] = {"seeds": int(len(m)),
                               "offset_mean_volt": float(m["offset_volt"].mean()),
                               "offset_std_volt": float(m["offset_volt"].std(ddof=1)),
                               "gain_error_mean": float(m["gain_error"].mean()),
                               "gain_error_std": float(m["gain_error"].std(ddof=1))}
        return out


def run_tia_job(job: TiaJob, *, workers: int = 2, workdir: Path | None = None,
                conditions: AmpConditions = DEFAULT_CONDITIONS) -> TiaResult:
    """DC model, settling and energy per input range, and (with seeds) the offset Monte
    Carlo of the TIA of ``job``: the one function behind ``cosim characterise tia`` and
    the ``tia`` stage of ``cosim run``. Runs are kept under ``workdir`` when given."""
    from cosim.calibration.tia import dc_model

    p = job.params()
    sub = (lambda name: None) if workdir is None else (lambda name: Path(workdir) / name)
    dc = dc_model(p, span=0.5)
    sweep = tia_sweep(p, workdir=sub("dc_sweep"))
    table, responses = settling_table(input_ranges(p), conditions=conditions, workers=workers,
                                      tolerance=job.tolerance, workdir=sub("settling"))
    mc = None
    if job.mismatch_seeds:
        mc = tia_mismatch(p, range(job.mismatch_seeds), a_vt_volt_m=job.a_vt_mv_um * 1e-9,
                          workers=workers)
    return TiaResult(params=p, dc=dc, settling=table, responses=responses, sweep=sweep,
                     mismatch=mc)


__all__ = ["ANALYSES", "AmpConditions", "Bode", "OpAmpCharacterisation", "SimulationError",
           "StepResponse", "TiaJob", "TiaResult", "TiaSweep", "characterise_opamp",
           "input_ranges", "loop_gain", "open_loop", "run_tia_job", "settle_time_s",
           "settling_table", "slew_rates", "step_response", "tia_mismatch", "tia_sweep"]
