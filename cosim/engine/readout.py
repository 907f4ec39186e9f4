"""The column front end: from a column's current to the value its ADC code stands for.

Two readouts (``HardwareSpec.readout.kind``, the names of ``circuits.crossbar.READOUTS``):

- ``"virtual_ground"``: every column flows into an ideal virtual ground at
  0 V and the ADC quantises the current itself; its full scale is
  ``v_read_volt * g_lrs * rows`` of the macro.
- ``"tia"``: every physical column flows into a transimpedance amplifier
  (``circuits.tia``: finite-gain op-amp, ``r_f``, output swing, offset) whose
  output voltage the ADC digitises. The tile states the result in amperes,
  ``(V_out - v_ref) / -r_f``, which is the ADC code times its LSB in current
  units; callers of ``Tile.mvm`` thus see column currents with either
  readout, with the TIA's gain error, offset and clamp in them.

How each backend meets the TIA:

- ``spice``: the generator's TIA readout netlist (``CrossbarParams.readout =
  "tia"``, one TIA per physical column); ngspice gives each output
  ``v(out<c>)`` and the current ``i(Vf<c>)`` it carries (``Backend.solves_tia``).
- ``calibrated`` and ``ideal``: the TIA's DC model (``circuits.tia``, module
  docstring; parameters ``TIAParams.r_in_ohm``, ``v_in0_volt``,
  ``transimpedance_ohm``). ``sense_network`` hands them the array with each
  sense node held at ``v_in0`` behind ``r_sense + r_in``, so IR drop sees the
  TIA's input resistance (``ideal`` has no series resistance and keeps only
  the held voltage); ``tia_output`` then gives ``V_out = v_in0 - I (r_f -
  r_in)``, clamped where the op-amp's internal node ``n1 = V_out - r_out I``
  reaches the swing. The model's figures agree with the ngspice
  characterisation of the TIA (``cosim.calibration.tia.dc_model``,
  ``tests/circuits/test_tia.py``).

Validity: inside the TIA's linear range the model agrees with ``spice``
(``tests/engine/test_tia_readout.py``: 0T1R and 1T1R arrays up to 32 x 32, signed
inputs at 0.1 V). What it leaves out is the clamp's exponential tail, which
bends the output as a column nears the end of the linear range, so the
model's error grows there; beyond the range the columns count as saturated.
Measured figures: ``docs/measurements/tile.md``.

Transistor-level TIAs (``TIAParams.opamp``). Their gain, offset and input
resistance have no closed form: ``tia_model`` gives the model measured by
one ngspice DC sweep of the stand-alone TIA (``cosim.calibration.tia.
measured_model``, cached per TIA): the array is solved with each sense node
held at the fitted ``v_in0`` behind ``r_sense + r_in`` as above, then the
part of the held voltage the straight line leaves out (the op-amp's gain
varies with its output; tens of uV) is put back by a first-order correction
of the column currents, ``I <- I0 - g * residual(I)`` iterated three times,
with ``g`` each column's conductance seen from its sense node (the change of
its current when every row moves by the same small voltage); ``V_out`` is
the measured ``V_out(I)`` (a cubic spline through the sweep). A conversion
saturates when ``V_out`` leaves the op-amp's rated linear output range
(``OpAmpParams.v_out_linear_volt``). Against ``spice`` with the same
transistor-level TIAs: ``tests/test_tia_readout.py``.

Saturation. A conversion saturates when a TIA of its column leaves its
linear range (``n1`` outside ``TIAParams.n1_linear_volt``: beyond it the
clamp bends the output, and past the swing the input node is no longer held,
so the model's output is only a bound there) or when the ADC input lies
beyond full scale (the code clips). The tile counts such conversions in
``Events.saturated_conversions`` and warns once per call that saturated
(``ReadoutSaturated``); the clipped values are still returned.

ADC full scale with the TIA (unless ``adc_full_scale_a`` is set):
``TIAParams.i_linear_max_a``, the largest current whose output stays linear,
i.e. the swing room from ``v_ref`` less the clamp's knee margin and the
offset, over ``r_f + r_out`` (417 uA for the default TIA). Not ``swing /
r_f`` (562.5 uA): the op-amp's internal node reaches the swing at ``swing /
(r_f + r_out)`` (500 uA; ``V_out`` stops near -0.40 V), so the codes above
that could never be reached and a clamped column would read as in range.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from circuits.crossbar import READOUTS, CrossbarParams
from circuits.errors import CosimWarning
from circuits.tia import DEFAULT_TIA, TIAParams
from cosim.hardware.spec import check_readout

if TYPE_CHECKING:
    from cosim.engine.backends.base import Backend

__all__ = ["READOUTS", "AnalyticTiaModel", "ColumnReadout", "ReadoutSaturated", "check_readout",
           "sense_network", "sense_voltage", "tia_model", "tia_output", "tia_outputs_amperes",
           "tia_saturated", "warn_saturated"]


RESIDUAL_PROBE_VOLT = 0.01
"""Row voltage of the probe that measures each column's conductance for the residual
correction of a measured TIA model (V)."""
RESIDUAL_ITERATIONS = 3
"""Fixed-point steps of that correction."""


class ReadoutSaturated(CosimWarning):
    """Conversions of one ``Tile.mvm`` call saturated (TIA clamp or ADC full scale).

    The values are returned clipped; ``Events.saturated_conversions`` counts them.
    """


@dataclass(frozen=True)
class AnalyticTiaModel:
    """The DC model of a macro-model TIA in closed form (``circuits.tia``, module docstring).

    Attributes:
        tia: the TIA.
    """

    tia: TIAParams

    @property
    def v_in0_volt(self) -> float:
        return self.tia.v_in0_volt

    @property
    def r_in_ohm(self) -> float:
        return self.tia.r_in_ohm

    has_residual = False

    def output_volt(self, i_a: np.ndarray) -> np.ndarray:
        return tia_output(self.tia, i_a)

    def input_residual_volt(self, i_a: np.ndarray) -> np.ndarray:
        return np.zeros(np.shape(i_a))

    def saturated(self, i_a: np.ndarray, v_out_volt: np.ndarray) -> np.ndarray:
        return tia_saturated(self.tia, i_a, v_out_volt)

    def outputs(self, i_a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``ColumnReadout.outputs`` of currents ``i_a`` (A): the outputs in amperes and
        which saturated (:func:`tia_outputs_amperes`)."""
        return tia_outputs_amperes(self.tia, i_a)

    def linear_range_text(self) -> str:
        lo, hi = self.tia.n1_linear_volt
        return f"op-amp node outside [{lo:g}, {hi:g}] V"


class _Measured:
    """Adapter of ``cosim.calibration.tia.MeasuredTiaModel`` to the readout's model interface."""

    has_residual = True

    def __init__(self, m: object):
        self.m = m
        self.v_in0_volt = m.v_in0_volt
        self.r_in_ohm = m.r_in_ohm

    def output_volt(self, i_a: np.ndarray) -> np.ndarray:
        return self.m.output_volt(i_a)

    def input_residual_volt(self, i_a: np.ndarray) -> np.ndarray:
        return self.m.input_residual_volt(i_a)

    def saturated(self, i_a: np.ndarray, v_out_volt: np.ndarray) -> np.ndarray:
        return self.m.saturated(v_out_volt)

    def linear_range_text(self) -> str:
        lo, hi = self.m.output_range_volt
        return f"output outside [{lo:g}, {hi:g}] V"


@functools.lru_cache(maxsize=32)
def tia_model(tia: TIAParams) -> AnalyticTiaModel | _Measured:
    """The DC model of ``tia`` the model backends use: closed form for the macro-model,
    measured in ngspice for a transistor-level op-amp (module docstring)."""
    if not tia.transistor_level:
        return AnalyticTiaModel(tia)
    from cosim.calibration.tia import measured_model

    return _Measured(measured_model(tia))


def sense_voltage(p: CrossbarParams) -> float:
    """Voltage the sense nodes of ``p`` are held at with no current (V): ``v_ref`` or,
    with a TIA, its ``v_in0``."""
    return tia_model(p.tia).v_in0_volt if p.readout == "tia" else p.v_ref_volt


def sense_network(p: CrossbarParams) -> CrossbarParams:
    """The array a model backend solves for ``p``: with ``readout = "tia"`` each sense
    node is held at the TIA's ``v_in0`` behind ``r_sense + r_in`` (an ideal virtual
    ground there); ``p`` itself otherwise."""
    return _folded(p) if p.readout == "tia" else p


@functools.lru_cache(maxsize=8)
def _folded(p: CrossbarParams) -> CrossbarParams:
    model = tia_model(p.tia)
    return replace(p, readout="virtual_ground", r_sense_ohm=p.r_sense_ohm + model.r_in_ohm,
                   v_ref_volt=model.v_in0_volt)


def tia_output(tia: TIAParams, i_a: np.ndarray) -> np.ndarray:
    """TIA output voltages (V) for column currents ``i_a`` (A) from ``sense_network``.

    ``V_out = v_in0 - I (r_f - r_in)``, with the op-amp's internal node
    ``n1 = V_out - r_out I`` clipped to the swing (a hard clamp; ngspice's
    is smooth over a few knees).
    """
    i = np.asarray(i_a, dtype=float)
    n1 = tia.v_in0_volt + tia.transimpedance_ohm * i - tia.r_out_ohm * i
    n1 = np.clip(n1, tia.v_out_min_volt, tia.v_out_max_volt)
    return n1 + tia.r_out_ohm * i


def tia_saturated(tia: TIAParams, i_a: np.ndarray, v_out_volt: np.ndarray) -> np.ndarray:
    """Which TIAs left their linear range: ``n1 = V_out - r_out I`` outside
    ``TIAParams.n1_linear_volt``. Boolean, the shape of ``i_a``."""
    n1 = np.asarray(v_out_volt, dtype=float) - tia.r_out_ohm * np.asarray(i_a, dtype=float)
    lo, hi = tia.n1_linear_volt
    return (n1 < lo) | (n1 > hi)


def tia_outputs_amperes(tia: TIAParams, i_a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The TIA's outputs stated in amperes, ``(tia_output(i) - v_ref) / -r_f``, and
    :func:`tia_saturated` of them, for currents ``i_a`` (A) from ``sense_network``.

    The same operations in the same order as those two functions, so the same numbers
    to the last bit, computed in two work arrays rather than a dozen temporaries (a
    tile's batch of reads is large).
    """
    i = np.asarray(i_a, dtype=float)
    ri = np.multiply(i, tia.r_out_ohm, out=np.empty_like(i))
    v = np.multiply(i, tia.transimpedance_ohm, out=np.empty_like(i))
    v += tia.v_in0_volt
    v -= ri
    np.clip(v, tia.v_out_min_volt, tia.v_out_max_volt, out=v)
    v += ri  # V_out
    n1 = np.subtract(v, ri, out=ri)
    lo, hi = tia.n1_linear_volt
    sat = n1 < lo
    sat |= n1 > hi
    v -= tia.v_ref_volt
    v /= -tia.r_f_ohm
    return v, sat


@dataclass(frozen=True, kw_only=True)
class ColumnReadout:
    """The front end of a tile's physical columns (see the module docstring).

    Attributes:
        kind: ``"virtual_ground"`` or ``"tia"``.
        tia: the TIA of every column (used with ``kind = "tia"``).
    """

    kind: str = "virtual_ground"
    tia: TIAParams = DEFAULT_TIA

    def __post_init__(self) -> None:
        check_readout(self.kind, self.tia)

    def crossbar_fields(self) -> dict[str, object]:
        """``CrossbarParams`` fields that put this readout at the sense nodes."""
        if self.kind != "tia":
            return {}
        return {"readout": "tia", "tia": self.tia, "v_ref_volt": self.tia.v_ref_volt}

    def read(self, backend: Backend, p: CrossbarParams, v_volt: np.ndarray,
             factors: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Column currents (A) and, where the backend solves the TIA, its output
        voltages (V), else ``None``; both ``(B, physical cols)``."""
        if self.kind == "tia" and getattr(backend, "solves_tia", False):
            return backend.tia_outputs(p, v_volt, factors)
        i0 = backend.currents(p, v_volt, factors)
        model = tia_model(self.tia) if self.kind == "tia" else None
        if model is None or not model.has_residual:
            return i0, None
        probe = np.vstack([np.zeros(p.rows), np.full(p.rows, RESIDUAL_PROBE_VOLT)])
        ip = backend.currents(p, probe, factors)
        g = (ip[1] - ip[0]) / RESIDUAL_PROBE_VOLT
        i = i0
        for _ in range(RESIDUAL_ITERATIONS):
            i = i0 - g * model.input_residual_volt(i)
        return i, None

    def outputs(self, i_a: np.ndarray, v_out_volt: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """Column outputs in amperes and which saturated, from ``read``'s results.

        Virtual ground: the currents, none saturated. TIA: ``(V_out - v_ref) /
        -r_f`` with ``V_out`` from the backend or, when ``None``, from
        ``tia_output``; saturated where ``tia_saturated``.
        """
        i = np.asarray(i_a, dtype=float)
        if self.kind != "tia":
            return i, np.zeros(i.shape, dtype=bool)
        model = tia_model(self.tia)
        if v_out_volt is None and isinstance(model, AnalyticTiaModel):
            return model.outputs(i)
        v_out = model.output_volt(i) if v_out_volt is None else np.asarray(v_out_volt)
        y = (v_out - self.tia.v_ref_volt) / -self.tia.r_f_ohm
        return y, model.saturated(i, v_out)

    def adc_full_scale_a(self, v_read_volt: float, g_lrs_siemens: float, rows: int) -> float:
        """Current of the ADC's top code when the user sets none (A): virtual ground
        ``v_read * g_lrs * rows``; TIA ``TIAParams.i_linear_max_a``."""
        if self.kind == "tia":
            return self.tia.i_linear_max_a
        return v_read_volt * g_lrs_siemens * rows


def warn_saturated(n_saturated: int, n_conversions: int, readout: ColumnReadout,
                   full_scale_a: float | None, *, stacklevel: int = 3) -> None:
    """One warning line for the saturated conversions of one call (none: no warning)."""
    if n_saturated <= 0:
        return
    what = []
    if readout.kind == "tia":
        what.append(f"a TIA left its linear range ({tia_model(readout.tia).linear_range_text()})")
    if full_scale_a is not None:
        what.append(f"the ADC input lay beyond full scale {full_scale_a * 1e6:.4g} uA")
    warnings.warn(f"{n_saturated} of {n_conversions} conversions saturated: "
                  f"{' or '.join(what)}; their outputs are clipped, counted in "
                  "events.saturated_conversions", ReadoutSaturated, stacklevel=stacklevel)
