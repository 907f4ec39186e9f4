"""Characterise the TIA front end in ngspice: DC gain, linearity and settling.

The gain is the slope of a straight-line fit to a DC sweep of the input current
over the TIA's linear range; the settling time is when a transient current
step's output stays within a tolerance band of its final value.

``dc_model`` measures, from the same DC sweep, the figures the tile's TIA
readout model takes from ``TIAParams`` (``cosim.engine.readout``): input
resistance, held input voltage, transimpedance and output offset, so the
model can be checked against the simulated circuit (``tests/circuits/test_tia.py``).

``measured_model`` is the tile's DC model of a transistor-level TIA
(``TIAParams.opamp``), whose gain, offset and input resistance have no
closed form: one ngspice DC sweep of the stand-alone bench over the input
current tabulates the held input ``v_in(I)`` and the output ``V_out(I)``;
a straight line fitted to ``v_in`` over the linear range gives the
``v_in0`` and ``r_in`` the array solve folds into the sense nodes, and the
rest (the op-amp's gain varying with its output) is a residual the readout
corrects for (``cosim.engine.readout``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import CubicSpline

from circuits.analyses import DC, Tran
from circuits.errors import check_range
from circuits.runner import run
from circuits.tia import DEFAULT_TIA, TIAParams, tia


@dataclass(frozen=True, kw_only=True)
class TIACharacterisation:
    """Measured figures of one TIA.

    Attributes:
        gain_ohm: measured transimpedance dV_out/dI_in (ohm), negative.
        gain_rel_error: (gain - (-r_f)) / r_f.
        max_nonlinearity_volt: largest deviation of the DC sweep from its line fit (V).
        i_range_a: the swept input current range, +- this (A).
        settle_time_s: time after the step to stay within ``settle_tolerance`` (s).
        settle_tolerance: relative tolerance band of the settling time.
        step_a: height of the current step (A).
    """

    gain_ohm: float
    gain_rel_error: float
    max_nonlinearity_volt: float
    i_range_a: float
    settle_time_s: float
    settle_tolerance: float
    step_a: float

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def dc_transfer(p: TIAParams = DEFAULT_TIA, points: int = 101) -> tuple[np.ndarray, np.ndarray]:
    """DC sweep of the input current over the linear range: (I_in A, V_out V)."""
    i_max = p.i_linear_max_a
    step = 2 * i_max / (points - 1)
    res = run(tia(p), DC(source="Iin", start=-i_max, stop=i_max, step=step))
    return res.data.iloc[:, 0].to_numpy(), res.v("out")


@dataclass(frozen=True, kw_only=True)
class TIADCModel:
    """DC figures of one TIA measured in ngspice (straight-line fits over its linear range).

    Attributes:
        r_in_ohm: input resistance ``dv_in / dI`` at the held node (ohm).
        v_in0_volt: held node's voltage at zero input current (V).
        transimpedance_ohm: ``dV_out / dI`` (ohm), negative.
        v_out0_volt: output at zero input current (V).
        max_nonlinearity_volt: largest deviation of ``V_out`` from its line fit (V).
    """

    r_in_ohm: float
    v_in0_volt: float
    transimpedance_ohm: float
    v_out0_volt: float
    max_nonlinearity_volt: float

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def dc_model(p: TIAParams = DEFAULT_TIA, points: int = 41, span: float = 1.0) -> TIADCModel:
    """Measure the TIA's DC model (``TIADCModel``) in ngspice.

    Compare with ``p.r_in_ohm``, ``p.v_in0_volt`` and ``p.transimpedance_ohm``,
    the figures the tile's readout model uses (``cosim.engine.readout``).
    Over the whole linear range (``span = 1``) the clamp's tails near its ends
    bend the fit slightly (figures: ``docs/measurements/circuits.md``); over its
    middle half they are out of reach.

    Args:
        p: the TIA.
        points: sweep points.
        span: swept input currents ``+-span * p.i_linear_max_a``, ``0 < span <= 1``.
    """
    check_range("span", span, 0.0, 1.0, lo_open=True)
    i_max = span * p.i_linear_max_a
    step = 2 * i_max / (points - 1)
    res = run(tia(p, step=None), DC(source="Iin", start=-i_max, stop=i_max, step=step),
              save=("v(in)", "v(out)"))
    i_in = res.data.iloc[:, 0].to_numpy()
    r_in, v_in0 = np.polyfit(i_in, res.v("in"), 1)
    v_out = res.v("out")
    gain, v_out0 = np.polyfit(i_in, v_out, 1)
    return TIADCModel(r_in_ohm=float(r_in), v_in0_volt=float(v_in0),
                      transimpedance_ohm=float(gain), v_out0_volt=float(v_out0),
                      max_nonlinearity_volt=float(np.max(np.abs(v_out - (gain * i_in + v_out0)))))


def step_response(p: TIAParams = DEFAULT_TIA, step_a: float = 100e-6,
                  t_step_s: float = 5e-9, t_stop_s: float = 60e-9
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Transient response to a current step at ``t_step_s``: (time s, V_out V)."""
    pwl = ((0.0, 0.0), (t_step_s, 0.0), (t_step_s + 0.1e-9, step_a), (t_stop_s, step_a))
    res = run(tia(p, i_in_pwl=pwl), Tran(step_s=10e-12, stop_s=t_stop_s))
    return res.data["time [s]"].to_numpy(), res.v("out")


def settle_time(t: np.ndarray, v: np.ndarray, t_step_s: float, tolerance: float) -> float:
    """Time after ``t_step_s`` from which ``v`` stays within ``tolerance`` of its final value."""
    v0 = v[t <= t_step_s][-1]
    final = v[-1]
    band = tolerance * abs(final - v0)
    outside = np.nonzero(np.abs(v - final) > band)[0]
    if len(outside) == 0:
        return 0.0
    last = outside[-1]
    return float(t[min(last + 1, len(t) - 1)] - t_step_s)


def characterise_tia(p: TIAParams = DEFAULT_TIA, tolerance: float = 1e-3) -> TIACharacterisation:
    """Run the DC sweep and the step response of ``p`` and measure them."""
    i_in, v_out = dc_transfer(p)
    slope, intercept = np.polyfit(i_in, v_out, 1)
    nonlin = float(np.max(np.abs(v_out - (slope * i_in + intercept))))
    step = 0.25 * p.i_linear_max_a
    t, v = step_response(p, step_a=step)
    return TIACharacterisation(
        gain_ohm=float(slope), gain_rel_error=float((slope + p.r_f_ohm) / p.r_f_ohm),
        max_nonlinearity_volt=nonlin, i_range_a=float(p.i_linear_max_a),
        settle_time_s=settle_time(t, v, 5e-9, tolerance), settle_tolerance=tolerance,
        step_a=step)


MODEL_SPAN = 1.25
"""The measured model's sweep covers ``+-MODEL_SPAN`` times the TIA's linear range."""
MODEL_POINTS = 501
"""Input currents of the measured model's sweep (a cubic spline through them)."""


@dataclass(frozen=True, eq=False)
class MeasuredTiaModel:
    """DC model of a TIA tabulated from one ngspice sweep (``measured_model``).

    Attributes:
        i_a: swept input currents (A), increasing.
        v_in: held input node at each current (V).
        v_out: output at each current (V).
        v_in0_volt: held input at zero current of the line fitted to ``v_in`` over
            the linear range (V).
        r_in_ohm: slope of that line (ohm), the input resistance the array sees.
        output_range_volt: the TIA's rated linear output range (V); outside it a
            conversion counts as saturated.
    """

    i_a: np.ndarray
    v_in: np.ndarray
    v_out: np.ndarray
    v_in0_volt: float
    r_in_ohm: float
    output_range_volt: tuple[float, float]
    _out: CubicSpline = field(init=False, repr=False)
    _res: CubicSpline = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_out", CubicSpline(self.i_a, self.v_out))
        line = self.v_in0_volt + self.r_in_ohm * self.i_a
        object.__setattr__(self, "_res", CubicSpline(self.i_a, self.v_in - line))

    def output_volt(self, i_a: np.ndarray) -> np.ndarray:
        """``V_out`` (V) for column currents ``i_a`` (A); held at the sweep's ends beyond it."""
        i = np.clip(np.asarray(i_a, dtype=float), self.i_a[0], self.i_a[-1])
        return self._out(i)

    def input_residual_volt(self, i_a: np.ndarray) -> np.ndarray:
        """``v_in(I) - (v_in0 + r_in I)`` (V): what the straight line leaves out."""
        i = np.clip(np.asarray(i_a, dtype=float), self.i_a[0], self.i_a[-1])
        return self._res(i)

    def saturated(self, v_out_volt: np.ndarray) -> np.ndarray:
        """Outputs outside the rated linear range."""
        v = np.asarray(v_out_volt, dtype=float)
        lo, hi = self.output_range_volt
        return (v < lo) | (v > hi)


@functools.lru_cache(maxsize=32)
def measured_model(p: TIAParams) -> MeasuredTiaModel:
    """The DC model of TIA ``p`` from one ngspice sweep (module docstring), cached per ``p``.

    The sweep covers ``+-MODEL_SPAN * p.i_linear_max_a`` in ``MODEL_POINTS``
    steps; ``v_in0`` and ``r_in`` are the line fitted to ``v_in`` over
    ``+-p.i_linear_max_a``.

    Raises:
        SimulationError: ngspice failed.
    """
    i_max = MODEL_SPAN * p.i_linear_max_a
    res = run(tia(p, step=None),
              DC(source="Iin", start=-i_max, stop=i_max, step=2 * i_max / (MODEL_POINTS - 1)),
              save=("v(in)", "v(out)"))
    i = res.data.iloc[:, 0].to_numpy()
    order = np.argsort(i)
    i, v_in, v_out = i[order], res.v("in")[order], res.v("out")[order]
    lin = np.abs(i) <= p.i_linear_max_a * (1 + 1e-9)
    r_in, v_in0 = np.polyfit(i[lin], v_in[lin], 1)
    return MeasuredTiaModel(i_a=i, v_in=v_in, v_out=v_out, v_in0_volt=float(v_in0),
                            r_in_ohm=float(r_in), output_range_volt=p.amplifier.output_range_volt)
