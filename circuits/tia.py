"""Transimpedance-amplifier (TIA) front end: parameters and netlist generators.

One TIA holds its input node at ``v_ref_volt`` and turns the current flowing
into that node into a voltage: ``V_out = V_ref - I * r_f_ohm`` (plus the
op-amp's offset and finite-gain error). The op-amp is one of two objects
(``TIAParams.amplifier``): by default the ``opamp`` macro-model of
``device_models/opamp.lib`` (finite gain, one dominant pole, slew rate,
smooth output clamp, offset, output resistance; its header says where each
default figure comes from), the fast option; with ``TIAParams.opamp`` the
two-stage Miller op-amp of ``circuits.opamp`` at transistor level, on the
rails ``v_dd_volt``/``v_ss_volt`` (:data:`TRANSISTOR_TIA`; its figures are
measured, ``cosim characterise amp``). The rest of this docstring describes
the macro-model TIA; the transistor-level one has the same element names for
the reference, the feedback and the rails.

Circuit of one instance named ``<name>`` (``tia_readout_lines``)::

    Vtref<name>  tref<name> 0            DC v_ref
    Xtia<name>   tref<name> <in> <out>   opamp (inp, inn, out)
    Vf<name>     <in> tfb<name>          DC 0     <- feedback current meter
    Rf<name>     tfb<name> <out>         r_f
    Cf<name>     tfb<name> <out>         c_f      (omitted when c_f = 0)

The op-amp draws no input current, so ``i(Vf<name>)`` is the whole current
flowing into ``<in>`` from outside (the column current), at DC and in
transients alike.

With ``TIAParams.supply`` the op-amp is ``opamp_sup`` (same signal model, plus
supply pins that carry a quiescent current and the class-AB output current)
fed by its own rails, so its supply power can be integrated::

    Vddtia<name> tvdd<name> 0            DC v_dd
    Vsstia<name> tvss<name> 0            DC v_ss
    Xtia<name>   tref<name> <in> <out> tvdd<name> tvss<name>   opamp_sup ... iq=i_q

and the op-amp draws ``P = -(v_dd i(Vddtia<name>) + v_ss i(Vsstia<name>))``.
Without it (the default) the text is exactly the supply-less one.

Default sizing: a 64-row column of 29.22 uS cells read at 0.2 V carries at
most 64 * 29.22e-6 * 0.2 = 0.374 mA (about 0.4 mA). With ``r_f_ohm = 800``
and the op-amp's 100 ohm output resistance, 0.4 mA moves the output 0.32 V
and the op-amp's internal node 0.36 V from ``V_ref = 0``, 90 mV inside the
assumed +-0.45 V output swing, so the whole range stays linear
(``TIAParams.i_linear_max_a`` = 0.417 mA). ``c_f_farad = 0.5 pF`` puts the
feedback pole at 1/(2 pi 800 ohm 0.5 pF) = 398 MHz, above the 100 MHz GBW:
it keeps the loop stable with up to a few pF of column capacitance at the
input without slowing the response (closed-loop time constant about
1/(2 pi GBW) = 1.6 ns; 0.1 % settling in about 12 ns for a small step).

DC behaviour inside the linear range (what a tile's readout model uses,
``cosim.engine.readout``). The op-amp's integrating node sits at
``n1 = v_mid + a0 (v_ref + v_os - v_in)`` (``v_mid`` the middle of the
swing, ``v_in`` the held input node) and its output sinks the input current
``I``: ``V_out = n1 + r_out I``. With ``V_out = v_in - I r_f`` the loop gives::

    v_in  = v_in0 + I r_in,     r_in  = (r_f + r_out) / (1 + a0)
                                v_in0 = (v_mid + a0 (v_ref + v_os)) / (1 + a0)
    V_out = v_in0 - I (r_f - r_in)
    n1    = V_out - I r_out

So the column sees a source ``v_in0`` behind ``r_in`` (``TIAParams.r_in_ohm``,
0.09 ohm by default) rather than an ideal virtual ground, and the output has
the gain error ``-r_in / r_f`` (-1.1e-4 by default) and, with an offset, the
output offset ``v_in0 - v_ref``. Neglected: the curvature of the input
stage's tanh (relative 2e-8 at the linear range's end) and the clamp's
exponential tails: the clamp draws ``imax exp(-d / v_knee)`` at a distance ``d``
inside a limit, which the input stage supplies with an input-referred error of
``sr / (2 pi gbw) exp(-d / v_knee)`` (0.16 V times the exponential with the default
op-amp): under 50 nV (5e-7 of a 0.1 V read, below the read models' error) while
``n1`` stays ``LINEAR_MARGIN_KNEES`` knees inside the swing
(``TIAParams.n1_linear_volt``). At 10 knees it is 7 uV, which ngspice shows as
2e-5 of full scale on a TIA sized to its column's full drive.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from itertools import pairwise

from circuits.errors import ConfigError, check_range
from circuits.netlist import Netlist, num
from circuits.opamp import MODEL_FILE as OPAMP_MODEL_FILE
from circuits.opamp import OpAmpParams, opamp_lines

MODEL_FILE = "opamp.lib"
"""The model file in ``device_models/`` that a netlist using a macro-model TIA must include
(a transistor-level TIA includes the FreePDK45 cards instead; ``TIAParams.models``)."""

LINEAR_MARGIN_KNEES = 15.0
"""The linear output range ends this many clamp knees inside each swing limit (module
docstring: where the clamp's neglected tail is below the read models' error)."""

SUPPLY_SOURCES = ("Vddtia", "Vsstia")
"""Prefixes of the supply sources of a TIA with ``supply`` (the instance name follows)."""

_NAME = re.compile(r"[A-Za-z0-9_]*")
_NODE = re.compile(r"[A-Za-z0-9_.]+")


@dataclass(frozen=True, kw_only=True)
class TIAParams:
    """One TIA: an op-amp macro-model with ``r_f_ohm || c_f_farad`` feedback.

    Attributes:
        a0_db: op-amp open-loop DC gain (dB); 80 dB (10,000 V/V), assumed,
            typical of a 40 nm CMOS two-stage op-amp.
        gbw_hz: op-amp gain-bandwidth product (Hz); 100 MHz, assumed, typical of
            a 40 nm CMOS two-stage op-amp.
        slew_rate_v_per_s: op-amp slew rate (V/s); 1e8 (100 V/us), assumed,
            typical of a 40 nm CMOS two-stage op-amp.
        r_f_ohm: feedback resistance (ohm), the transimpedance; 800 ohm keeps a
            0.4 mA column current in the linear range (see the module docstring).
        c_f_farad: feedback capacitance (F) across ``r_f_ohm``; 0 is none.
        v_ref_volt: voltage at which the input node is held (V); 0 V, the
            mid-point of a split +-0.55 V (1.1 V, 40 nm core) supply.
        v_os_volt: op-amp input offset voltage (V), added to the non-inverting
            input; 0 V nominal (a random offset of a few mV is given per instance
            when studied).
        v_out_min_volt: lower output swing limit (V); -0.45 V, assumed: 0.1 V
            headroom to the -0.55 V rail.
        v_out_max_volt: upper output swing limit (V); +0.45 V, assumed: 0.1 V
            headroom to the +0.55 V rail.
        v_knee_volt: width of the smooth output clamp's knee (V); 5 mV, a
            modelling choice (sharp, yet smooth for Newton's method).
        r_out_ohm: op-amp open-loop output resistance (ohm); 100 ohm, assumed,
            typical of a two-stage op-amp with a class-AB output stage.
        supply: give the op-amp supply pins and rails (``opamp_sup``, sources
            ``Vddtia<name>``/``Vsstia<name>``) so its supply current can be
            integrated; False (default) emits the supply-less ``opamp``.
        v_dd_volt: positive supply (V), used with ``supply``; +0.55 V, half of
            the 1.1 V 40 nm core supply split as +-0.55 V. Must be at least
            ``v_out_max_volt`` when ``supply`` is set.
        v_ss_volt: negative supply (V), used with ``supply``; -0.55 V. Must be
            at most ``v_out_min_volt`` when ``supply`` is set.
        i_q_a: op-amp quiescent current (A) from ``v_dd`` to ``v_ss``, used
            with ``supply``; 73.75 uA, assumed: the amplifier current of the NF
            code's energy constants (14.75 pJ = 2 x 73.75 uA x 100 ns).
        opamp: the op-amp at transistor level (``circuits.opamp``, FreePDK45
            cards, fed by the rails ``v_dd_volt``/``v_ss_volt``), or ``None``
            (default) for the behavioural macro-model of
            ``device_models/opamp.lib``, the fast option. With an op-amp the
            macro-model's figures (``a0_db`` .. ``r_out_ohm``, ``v_out_min_volt``,
            ``v_out_max_volt``, ``v_knee_volt``, ``supply``, ``i_q_a``) are not
            used: its gain, offset and swing are measured
            (``cosim.calibration.tia``), its linear output range is
            ``OpAmpParams.v_out_linear_volt`` about mid-supply.
    """

    a0_db: float = 80.0
    gbw_hz: float = 100e6
    slew_rate_v_per_s: float = 100e6
    r_f_ohm: float = 800.0
    c_f_farad: float = 0.5e-12
    v_ref_volt: float = 0.0
    v_os_volt: float = 0.0
    v_out_min_volt: float = -0.45
    v_out_max_volt: float = 0.45
    v_knee_volt: float = 5e-3
    r_out_ohm: float = 100.0
    supply: bool = False
    v_dd_volt: float = 0.55
    v_ss_volt: float = -0.55
    i_q_a: float = 73.75e-6
    opamp: OpAmpParams | None = None

    def __post_init__(self) -> None:
        check_range("a0_db", self.a0_db, 0.0, 200.0, lo_open=True)
        check_range("gbw_hz", self.gbw_hz, 0.0, 1e12, lo_open=True)
        check_range("slew_rate_v_per_s", self.slew_rate_v_per_s, 0.0, 1e13, lo_open=True)
        check_range("r_f_ohm", self.r_f_ohm, 0.0, 1e12, lo_open=True)
        check_range("c_f_farad", self.c_f_farad, 0.0, 1e-6)
        check_range("v_out_min_volt", self.v_out_min_volt, -10.0, 10.0)
        check_range("v_out_max_volt", self.v_out_max_volt, self.v_out_min_volt, 10.0,
                    lo_open=True)
        swing = self.v_out_max_volt - self.v_out_min_volt
        check_range("v_knee_volt", self.v_knee_volt, 0.0, swing / (4 * LINEAR_MARGIN_KNEES),
                    lo_open=True)
        check_range("v_ref_volt", self.v_ref_volt, self.v_out_min_volt, self.v_out_max_volt)
        check_range("v_os_volt", self.v_os_volt, -0.1, 0.1)
        check_range("r_out_ohm", self.r_out_ohm, 0.0, 1e9, lo_open=True)
        if not isinstance(self.supply, bool):
            raise ConfigError(f"supply must be True or False, got {self.supply!r}")
        check_range("v_dd_volt", self.v_dd_volt, -10.0, 10.0)
        check_range("v_ss_volt", self.v_ss_volt, -10.0, self.v_dd_volt)
        check_range("i_q_a", self.i_q_a, 0.0, 1.0)
        if self.opamp is not None:
            if not isinstance(self.opamp, OpAmpParams):
                raise ConfigError(f"opamp must be a circuits.opamp.OpAmpParams or None, got "
                                  f"{type(self.opamp).__name__}")
            lo, hi = self.amplifier.output_range_volt
            check_range("v_ref_volt", self.v_ref_volt + self.v_os_volt, lo, hi)
        if self.supply or self.opamp is not None:
            # the output swing must lie between the rails
            lo, hi = self.amplifier.output_range_volt
            check_range("v_dd_volt", self.v_dd_volt, hi, 10.0)
            check_range("v_ss_volt", self.v_ss_volt, -10.0, lo)

    @property
    def amplifier(self) -> MacroAmplifier | TransistorAmplifier:
        """The op-amp as an object that writes its lines and states its output range:
        :class:`MacroAmplifier` without ``opamp``, :class:`TransistorAmplifier` with it."""
        return MacroAmplifier(self) if self.opamp is None else TransistorAmplifier(self)

    @property
    def transistor_level(self) -> bool:
        """Whether the op-amp is the transistor-level ``opamp`` (not the macro-model)."""
        return self.opamp is not None

    @property
    def models(self) -> tuple[str, ...]:
        """Model files in ``device_models/`` a netlist holding this TIA includes."""
        return self.amplifier.models

    def _macro_only(self, name: str) -> None:
        if self.opamp is not None:
            raise ConfigError(f"TIAParams.{name} is the macro-model's closed form; a "
                              "transistor-level TIA's is measured "
                              "(cosim.calibration.tia.measured_model)")

    @property
    def a0(self) -> float:
        """Open-loop DC gain (V/V)."""
        return 10.0 ** (self.a0_db / 20.0)

    @property
    def i_linear_max_a(self) -> float:
        """Largest input current magnitude (A) whose output stays linear.

        Macro-model: the op-amp's internal node sits at ``V_ref - I (r_f + r_out)``;
        it must stay ``LINEAR_MARGIN_KNEES`` knees inside the nearer swing limit.
        Transistor level: the output ``V_ref - I r_f`` must stay inside the
        op-amp's rated linear output range (``OpAmpParams.v_out_linear_volt``).
        """
        return self.amplifier.i_linear_max_a

    @property
    def v_mid_volt(self) -> float:
        """Middle of the output swing, the gain stage's reference (V)."""
        return (self.v_out_min_volt + self.v_out_max_volt) / 2

    @property
    def r_in_ohm(self) -> float:
        """DC input resistance at the held node (ohm): ``(r_f + r_out) / (1 + a0)``
        (module docstring)."""
        self._macro_only("r_in_ohm")
        return (self.r_f_ohm + self.r_out_ohm) / (1.0 + self.a0)

    @property
    def v_in0_volt(self) -> float:
        """Voltage of the held node at zero input current (V):
        ``(v_mid + a0 (v_ref + v_os)) / (1 + a0)`` (module docstring)."""
        self._macro_only("v_in0_volt")
        return (self.v_mid_volt + self.a0 * (self.v_ref_volt + self.v_os_volt)) / (1.0 + self.a0)

    @property
    def transimpedance_ohm(self) -> float:
        """DC slope ``dV_out / dI`` inside the linear range (ohm): ``-(r_f - r_in)``."""
        self._macro_only("transimpedance_ohm")
        return -(self.r_f_ohm - self.r_in_ohm)

    @property
    def n1_linear_volt(self) -> tuple[float, float]:
        """Range of the op-amp's internal node ``n1 = V_out - I r_out`` inside which the
        output is linear (V): ``LINEAR_MARGIN_KNEES`` knees inside each swing limit."""
        self._macro_only("n1_linear_volt")
        margin = LINEAR_MARGIN_KNEES * self.v_knee_volt
        return self.v_out_min_volt + margin, self.v_out_max_volt - margin


@dataclass(frozen=True)
class MacroAmplifier:
    """The behavioural macro-model op-amp of a TIA (``opamp``/``opamp_sup`` of
    ``device_models/opamp.lib``) with the TIA's ``a0_db`` .. ``r_out_ohm`` figures."""

    p: TIAParams
    kind = "macro-model"

    @property
    def models(self) -> tuple[str, ...]:
        return (MODEL_FILE,)

    @property
    def output_range_volt(self) -> tuple[float, float]:
        """The output swing ``(v_out_min_volt, v_out_max_volt)`` (V)."""
        return self.p.v_out_min_volt, self.p.v_out_max_volt

    @property
    def i_linear_max_a(self) -> float:
        p = self.p
        room = min(p.v_out_max_volt - p.v_ref_volt, p.v_ref_volt - p.v_out_min_volt)
        room -= LINEAR_MARGIN_KNEES * p.v_knee_volt + abs(p.v_os_volt)
        return max(room, 0.0) / (p.r_f_ohm + p.r_out_ohm)

    def describe(self) -> str:
        p = self.p
        return (f"op-amp macro-model (device_models/opamp.lib: {p.a0_db:g} dB, "
                f"{p.gbw_hz / 1e6:g} MHz GBW, assumed figures)")

    def lines(self, name: str, ref: str, in_node: str, out_node: str) -> list[str]:
        """The reference source, rails (with ``supply``) and op-amp instance."""
        p = self.p
        opamp = " ".join((
            f"a0={num(p.a0)}",
            f"gbw={num(p.gbw_hz)}",
            f"sr={num(p.slew_rate_v_per_s)}",
            f"vos={num(p.v_os_volt)}",
            f"vmin={num(p.v_out_min_volt)}",
            f"vmax={num(p.v_out_max_volt)}",
            f"vknee={num(p.v_knee_volt)}",
            f"rout={num(p.r_out_ohm)}",
        ))
        lines = [f"Vtref{name} {ref} 0 DC {num(p.v_ref_volt)}"]
        if not p.supply:
            return [*lines, f"Xtia{name} {ref} {in_node} {out_node} opamp {opamp}"]
        vdd, vss = f"tvdd{name}", f"tvss{name}"
        return [
            *lines,
            f"{SUPPLY_SOURCES[0]}{name} {vdd} 0 DC {num(p.v_dd_volt)}",
            f"{SUPPLY_SOURCES[1]}{name} {vss} 0 DC {num(p.v_ss_volt)}",
            f"Xtia{name} {ref} {in_node} {out_node} {vdd} {vss} opamp_sup {opamp} "
            f"iq={num(p.i_q_a)}",
        ]


@dataclass(frozen=True)
class TransistorAmplifier:
    """The transistor-level op-amp of a TIA (``circuits.opamp``) on the TIA's rails."""

    p: TIAParams
    kind = "transistor-level"

    @property
    def models(self) -> tuple[str, ...]:
        return (OPAMP_MODEL_FILE,)

    @property
    def mid_volt(self) -> float:
        """Middle of the rails (V)."""
        return (self.p.v_dd_volt + self.p.v_ss_volt) / 2

    @property
    def output_range_volt(self) -> tuple[float, float]:
        """The rated linear output range, ``mid +- OpAmpParams.v_out_linear_volt`` (V)."""
        half = self.p.opamp.v_out_linear_volt  # type: ignore[union-attr]
        return self.mid_volt - half, self.mid_volt + half

    @property
    def i_linear_max_a(self) -> float:
        p = self.p
        lo, hi = self.output_range_volt
        room = min(hi - p.v_ref_volt, p.v_ref_volt - lo) - abs(p.v_os_volt)
        return max(room, 0.0) / p.r_f_ohm

    def describe(self) -> str:
        o = self.p.opamp
        return (f"transistor-level two-stage Miller op-amp (circuits.opamp, FreePDK45 BSIM4, "
                f"{o.i_supply_a * 1e6:.4g} uA nominal, Cc {o.c_c_farad * 1e12:g} pF)")

    def lines(self, name: str, ref: str, in_node: str, out_node: str) -> list[str]:
        """The reference source (at ``v_ref + v_os``), the rails and the op-amp's devices."""
        p = self.p
        vdd, vss = f"tvdd{name}", f"tvss{name}"
        return [
            f"Vtref{name} {ref} 0 DC {num(p.v_ref_volt + p.v_os_volt)}",
            f"{SUPPLY_SOURCES[0]}{name} {vdd} 0 DC {num(p.v_dd_volt)}",
            f"{SUPPLY_SOURCES[1]}{name} {vss} 0 DC {num(p.v_ss_volt)}",
            *opamp_lines(p.opamp, f"tia{name}", ref, in_node, out_node, vdd, vss),
        ]


DEFAULT_TIA = TIAParams()
"""The default TIA (macro-model: 80 dB, 100 MHz, 800 ohm || 0.5 pF, V_ref 0 V, +-0.45 V swing)."""

TRANSISTOR_TIA = TIAParams(opamp=OpAmpParams(), c_f_farad=1e-12)
"""The default TIA at transistor level: 800 ohm || 1 pF around ``circuits.opamp.DEFAULT_OPAMP``
on +-0.55 V rails (the 1 pF keeps the phase margin with a column capacitance at the input;
``cosim characterise tia``)."""


def tia_for_current(i_max_a: float, p: TIAParams = DEFAULT_TIA) -> TIAParams:
    """``p`` with its transimpedance resized so that its linear range ends at ``i_max_a``.

    ``r_f = room / i_max - r_out`` (``TIAParams.i_linear_max_a`` solved for
    ``r_f``), and ``c_f`` scaled by the inverse so the feedback pole stays
    where it was. A tile's column of ``rows`` cells read at ``v_read`` carries
    up to ``v_read * g_lrs * rows``: the default TIA (800 ohm) is sized for
    64 rows at 0.2 V; a 512-row macro read at 0.1 V needs
    ``tia_for_current(0.1 * 29.22e-6 * 512)``, 151 ohm.

    A transistor-level TIA (``p.opamp``) gets ``r_f = room / i_max`` and, when
    ``i_max_a`` exceeds its present range, an op-amp whose second stage is
    scaled up by the same factor (``OpAmpParams.scaled_output``), so that it
    can still source the full-scale current.

    Raises:
        ConfigError: ``i_max_a`` is not positive, or too large for the swing
            (``r_f`` would not be positive).
    """
    check_range("i_max_a", i_max_a, 0.0, 1.0, lo_open=True)
    if p.opamp is not None:
        r_f = p.i_linear_max_a * p.r_f_ohm / i_max_a
        if not r_f > 0:
            raise ConfigError(f"a transistor-level TIA around v_ref {p.v_ref_volt:g} V has no "
                              "linear output range")
        factor = i_max_a / p.i_linear_max_a
        opamp = p.opamp.scaled_output(factor) if factor > 1 else p.opamp
        return replace(p, r_f_ohm=r_f, c_f_farad=p.c_f_farad * p.r_f_ohm / r_f, opamp=opamp)
    room = p.i_linear_max_a * (p.r_f_ohm + p.r_out_ohm)
    r_f = room / i_max_a - p.r_out_ohm
    if not r_f > 0:
        raise ConfigError(f"a TIA with {p.r_out_ohm:g} ohm output resistance and "
                          f"{room:g} V of linear swing stays linear up to "
                          f"{room / p.r_out_ohm * 1e3:.4g} mA at most; {i_max_a * 1e3:.4g} mA "
                          "asked")
    return replace(p, r_f_ohm=r_f, c_f_farad=p.c_f_farad * p.r_f_ohm / r_f)


def tia_readout_lines(p: TIAParams, name: str, in_node: str, out_node: str) -> tuple[str, ...]:
    """Netlist lines of one TIA that holds ``in_node`` at ``p.v_ref_volt``.

    The caller includes ``p.models`` in its netlist's models. Elements and
    internal nodes carry ``name`` (``Xtia<name>``, ``Vf<name>``, ``tref<name>``
    ...), so several TIAs with different names can share one netlist.

    Args:
        p: the TIA.
        name: suffix of element and internal node names: letters, digits, ``_``.
        in_node: the node held at ``V_ref`` (the op-amp's inverting input).
        out_node: the output node, ``V_out = V_ref - I * r_f``.

    Returns:
        Element lines; the current into ``in_node`` from outside is ``i(Vf<name>)``.
        With ``p.supply`` they add the rails ``Vddtia<name>``/``Vsstia<name>``
        and use the ``opamp_sup`` subcircuit; a transistor-level TIA
        (``p.opamp``) always has the rails, and its devices are named
        ``<X>opatia<name>_<role>`` (``circuits.opamp.opamp_lines``).

    Raises:
        ConfigError: ``name`` or a node name holds characters SPICE would misread.
    """
    if not _NAME.fullmatch(name):
        raise ConfigError(f"TIA name must hold only letters, digits and '_', got {name!r}")
    for label, node in (("in_node", in_node), ("out_node", out_node)):
        if not _NODE.fullmatch(node):
            raise ConfigError(
                f"TIA {label} must be a node name of letters, digits, '_' or '.', got {node!r}"
            )
    if in_node == out_node:
        raise ConfigError(f"TIA in_node and out_node must differ, both are {in_node!r}")
    lines = p.amplifier.lines(name, f"tref{name}", in_node, out_node)
    lines += _feedback_lines(p, name, in_node, out_node)
    return tuple(lines)


def _feedback_lines(p: TIAParams, name: str, in_node: str, out_node: str) -> list[str]:
    """The feedback meter ``Vf<name>``, ``Rf<name>`` and (unless 0) ``Cf<name>``."""
    fb = f"tfb{name}"
    lines = [f"Vf{name} {in_node} {fb} DC 0", f"Rf{name} {fb} {out_node} {num(p.r_f_ohm)}"]
    if p.c_f_farad > 0:
        lines.append(f"Cf{name} {fb} {out_node} {num(p.c_f_farad)}")
    return lines


def tia_loop_gain(p: TIAParams, *, i_in_a: float = 0.0, c_in_farad: float = 0.0,
                  c_load_farad: float = 0.0, r_source_ohm: float = 0.0) -> Netlist:
    """Loop-gain bench of a TIA: the loop broken at the op-amp's inverting input.

    The TIA of :func:`tia`, but the op-amp's inverting input ``inn`` meets the
    input node ``in`` through ``Vinj inn in DC 0 AC 1``: the DC operating
    point is the closed loop's (``Iin`` carries ``i_in_a``), and in an
    ``.ac`` analysis the loop gain is ``T = -v(in) / v(inn)`` (voltage
    injection; exact while the op-amp's input impedance is far above the
    network's at ``in``, as a MOS gate's is). Its phase at ``|T| = 1`` gives
    the phase margin in the TIA's own feedback configuration.

    Args:
        p: the TIA.
        i_in_a: DC input current, the operating point (A).
        c_in_farad: column capacitance at ``in`` (F).
        c_load_farad: load capacitance at ``out`` (F).
        r_source_ohm: the column's source resistance from ``in`` to ``v_ref`` (ohm);
            0 is none (an ideal current source, feedback factor 1 at DC).
    """
    check_range("i_in_a", i_in_a, -1.0, 1.0)
    check_range("c_in_farad", c_in_farad, 0.0, 1e-6)
    check_range("c_load_farad", c_load_farad, 0.0, 1e-6)
    check_range("r_source_ohm", r_source_ohm, 0.0, 1e12)
    body = [f"Iin 0 in DC {num(i_in_a)}",
            *p.amplifier.lines("", "tref", "inn", "out"),
            "Vinj inn in DC 0 AC 1",
            *_feedback_lines(p, "", "in", "out")]
    if c_in_farad > 0:
        body.append(f"Cin in 0 {num(c_in_farad)}")
    if c_load_farad > 0:
        body.append(f"Cload out 0 {num(c_load_farad)}")
    if r_source_ohm > 0:
        body.append(f"Rsrc in tref {num(r_source_ohm)}")
    return Netlist(f"TIA loop-gain bench, Rf {num(p.r_f_ohm)} ohm, {p.amplifier.kind} op-amp",
                   tuple(body), p.models)


@dataclass(frozen=True, kw_only=True)
class CurrentStep:
    """The input stimulus of the stand-alone TIA bench: one current step.

    ``Iin`` is written ``DC i_step_a PULSE(0 i_step_a delay_s edge_s edge_s
    1 2)``: an operating point (``.op``) sees the step's final value, a ``.dc``
    sweep of ``Iin`` replaces it, and a transient sees 0 A until ``delay_s``,
    then a rise over ``edge_s`` to ``i_step_a`` held for 1 s.

    Attributes:
        i_step_a: step height (A), current into the input node; 100 uA moves
            the default TIA's output by -80 mV, well inside its linear range.
        delay_s: time (s) of the step's start; 10 ns, so a transient shows the
            settled output before it.
        edge_s: rise time (s) of the step; 1 ns, below the default TIA's 1.6 ns
            closed-loop time constant.
    """

    i_step_a: float = 100e-6
    delay_s: float = 10e-9
    edge_s: float = 1e-9

    def __post_init__(self) -> None:
        check_range("i_step_a", self.i_step_a, -1.0, 1.0)
        check_range("delay_s", self.delay_s, 0.0, 1.0)
        check_range("edge_s", self.edge_s, 0.0, 1.0, lo_open=True)

    def source_text(self) -> str:
        """``DC ... PULSE(...)``: the value part of the ``Iin`` line."""
        i = num(self.i_step_a)
        edge = num(self.edge_s)
        return f"DC {i} PULSE(0 {i} {num(self.delay_s)} {edge} {edge} 1 2)"


DEFAULT_STEP = CurrentStep()
"""The TIA bench's default stimulus: 100 uA after 10 ns, 1 ns edge."""


def tia(p: TIAParams = DEFAULT_TIA, *,
        i_in_pwl: tuple[tuple[float, float], ...] = (),
        step: CurrentStep | None = DEFAULT_STEP,
        c_in_farad: float = 0.0, c_load_farad: float = 0.0) -> Netlist:
    """Stand-alone TIA test bench.

    Current source ``Iin`` drives current into the inverting node ``in``
    (a caller can sweep it with ``DC(source="Iin", ...)``); the output is node
    ``out``, ``V_out = V_ref - I * r_f``; the feedback current is ``i(Vf)``.
    With ``p.supply`` the op-amp's rails are the sources ``Vddtia`` and
    ``Vsstia`` (nodes ``tvdd``, ``tvss``).

    By default ``Iin`` carries ``step`` (a current step, DC value its final
    value), so ``.op``, ``.dc`` and ``.tran`` of the bench as written all show
    something; ``step=None`` gives ``Iin 0 in DC 0``.

    Args:
        p: the TIA.
        i_in_pwl: optional transient waveform of ``Iin`` as (time s, current A)
            points with strictly increasing times; it replaces ``step`` and
            the DC value is then 0.
        step: the current step of ``Iin`` when ``i_in_pwl`` is empty, or ``None``.
        c_in_farad: capacitance from the input node to ground (F), the column's
            source line seen by the TIA (``Cin``); 0 is none.
        c_load_farad: capacitance from the output to ground (F), the ADC's
            sampling capacitor (``Cload``); 0 is none.

    Returns:
        The netlist (includes ``p.models``).

    Raises:
        ConfigError: ``i_in_pwl`` has non-finite values or times not increasing,
            or a negative capacitance.
    """
    check_range("c_in_farad", c_in_farad, 0.0, 1e-6)
    check_range("c_load_farad", c_load_farad, 0.0, 1e-6)
    source = "Iin 0 in DC 0"
    if step is not None and not i_in_pwl:
        source = "Iin 0 in " + step.source_text()
    if i_in_pwl:
        try:
            points = [(float(t), float(v)) for t, v in i_in_pwl]
        except (TypeError, ValueError):
            raise ConfigError("i_in_pwl must be (time s, current A) pairs of numbers") from None
        times = [t for t, _ in points]
        if not all(math.isfinite(x) for point in points for x in point):
            raise ConfigError("i_in_pwl holds NaN or infinite values")
        if times[0] < 0 or any(b <= a for a, b in pairwise(times)):
            raise ConfigError(f"i_in_pwl times must be >= 0 and strictly increasing, got {times}")
        source += " PWL(" + " ".join(f"{num(t)} {num(v)}" for t, v in points) + ")"
    body = (source,) + tia_readout_lines(p, "", "in", "out")
    if c_in_farad > 0:
        body += (f"Cin in 0 {num(c_in_farad)}",)
    if c_load_farad > 0:
        body += (f"Cload out 0 {num(c_load_farad)}",)
    title = f"TIA test bench, Rf {num(p.r_f_ohm)} ohm"
    if p.transistor_level:
        title += (f", transistor-level op-amp on {num(p.v_dd_volt)} / {num(p.v_ss_volt)} V "
                  "rails")
    elif p.supply:
        title += f", op-amp supply {num(p.v_dd_volt)} / {num(p.v_ss_volt)} V"
    return Netlist(title=title, body=body, models=p.models)
