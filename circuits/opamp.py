"""Two-stage Miller-compensated CMOS op-amp in the FreePDK45 cards: parameters and netlist lines.

The amplifier of the TIA front end (``circuits.tia``) at transistor level,
every device a FreePDK45 BSIM4 ``NMOS_VTG``/``PMOS_VTG`` of
``device_models/freepdk45_nom.lib``. Circuit of one instance named ``<n>``
(``opamp_lines``; element and internal node names carry ``opa<n>_``)::

    Ib     pb -> vss                 i_bias_a           reference current
    Mb     pb  pb  vdd vdd  PMOS     bias_units x unit  diode of the bias mirror
    Mt     tl  pb  vdd vdd  PMOS     tail_units x unit  tail current source
    M1     a   inn tl  tl   PMOS     w_in x l_in        input pair (n-well at its source)
    M2     o1  inp tl  tl   PMOS     w_in x l_in
    M3     a   a   vss vss  NMOS     w_n x l_n          first-stage mirror load
    M4     o1  a   vss vss  NMOS     w_n x l_n
    M5     out o1  vss vss  NMOS     driver_units x (w_n x l_n)   second stage
    M6     out pb  vdd vdd  PMOS     out_units x unit   its current-source load
    Rz     o1  z   r_z_ohm;   Cc  z  out  c_c_farad    Miller compensation, nulling resistor

``unit`` is the bias-mirror PMOS ``w_p_um x l_p_um``; a device of ``k``
units is the SPICE multiplier ``m = k``. The first stage is a PMOS
differential pair (a rising ``inp`` lowers ``o1``, which lowers the
driver's current and raises ``out``: ``inp`` is the non-inverting input)
with an NMOS mirror load; the second a common-source NMOS with a PMOS
current-source load (class A: it sources at most ``out_units / bias_units *
i_bias_a``, it sinks what the driver allows). The driver is
``2 * out_units / tail_units`` mirror units so that, with the inputs equal, it
carries exactly the second stage's current at the mirror's gate voltage (no
systematic offset).

The input pair sits in its own n-well tied to its sources (no body effect);
all NMOS bulks are at ``vss``. The reference current ``Ib`` is an ideal
source from ``pb`` to ``vss``: the supply draws it like every other branch,
so the integral of the supply current counts it.

**Device mismatch (optional).** With ``a_vt_volt_m > 0`` the input pair
``M1, M2`` and the first-stage mirror ``M3, M4`` (the devices that set the
input offset) each get a threshold shift ``delvto`` drawn from
``N(0, A_VT / sqrt(W L m))`` (Pelgrom's law over the device's whole gate
area) by ``numpy.random.default_rng(mismatch_seed)``, in the order M1, M2,
M3, M4. With ``a_vt_volt_m = 0`` the text carries no ``delvto``.

The default sizing is chosen by measurement for the TIA of ``circuits.tia``
(``cosim characterise amp``; figures in ``docs/measurements/amplifiers.md``):
rails +-0.55 V (the 1.1 V core supply split about the TIA's 0 V reference),
a second stage that can source the default TIA's full-scale column current,
and a Miller capacitor for a phase margin of at least 60 degrees in the
TIA's feedback configuration.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np

from circuits.errors import ConfigError, check_int, check_range
from circuits.netlist import Netlist, num

MODEL_FILE = "freepdk45_nom.lib"
"""The model file in ``device_models/`` a netlist holding the op-amp includes."""

MAX_A_VT_VOLT_M = 50e-9
"""Largest accepted Pelgrom A_VT (V*m), 50 mV*um."""

_NAME = re.compile(r"[A-Za-z0-9_]*")
_NODE = re.compile(r"[A-Za-z0-9_.]+")


@dataclass(frozen=True, kw_only=True)
class OpAmpParams:
    """One two-stage Miller op-amp (module docstring for the circuit).

    Attributes:
        i_bias_a: reference current of the bias mirror (A).
        bias_units: PMOS units of the bias diode ``Mb``.
        tail_units: PMOS units of the tail source ``Mt``; the first stage draws
            ``tail_units / bias_units * i_bias_a``.
        out_units: PMOS units of the second stage's load ``M6``; it draws
            ``out_units / bias_units * i_bias_a``, the most current the output
            can source.
        w_p_um: width of one bias-mirror PMOS unit (um).
        l_p_um: length of the bias-mirror PMOS (um), long for output resistance.
        w_in_um: width of each input PMOS (um).
        l_in_um: length of each input PMOS (um).
        w_n_um: width of each first-stage NMOS mirror device, the driver's unit (um).
        l_n_um: length of the first-stage NMOS mirror and of the driver (um).
        c_c_farad: Miller compensation capacitor (F).
        r_z_ohm: nulling resistor in series with ``c_c_farad`` (ohm); 0 is none.
        v_out_linear_volt: half-width of the output range about mid-supply
            over which the op-amp is rated linear (V): the range a TIA built on
            it uses (``circuits.tia``); ``cosim characterise amp`` measures the
            swing that covers it.
        a_vt_volt_m: Pelgrom threshold-mismatch coefficient A_VT (V*m) of the
            input pair and first-stage mirror; 0 (default) is no mismatch.
        mismatch_seed: seed of ``numpy.random.default_rng`` for the threshold
            shifts (>= 0); ignored when ``a_vt_volt_m`` is 0.
    """

    i_bias_a: float = 20e-6
    bias_units: int = 1
    tail_units: int = 4
    out_units: int = 40
    w_p_um: float = 4.0
    l_p_um: float = 0.3
    w_in_um: float = 16.0
    l_in_um: float = 0.2
    w_n_um: float = 2.0
    l_n_um: float = 0.3
    c_c_farad: float = 0.6e-12
    r_z_ohm: float = 1500.0
    v_out_linear_volt: float = 0.35
    a_vt_volt_m: float = 0.0
    mismatch_seed: int = 0

    def __post_init__(self) -> None:
        check_range("i_bias_a", self.i_bias_a, 0.0, 1e-2, lo_open=True)
        check_int("bias_units", self.bias_units, 1, 1000)
        check_int("tail_units", self.tail_units, 1, 1000)
        check_int("out_units", self.out_units, 1, 10000)
        for name in ("w_p_um", "w_in_um", "w_n_um"):
            check_range(name, getattr(self, name), 0.09, 1000.0)
        for name in ("l_p_um", "l_in_um", "l_n_um"):
            check_range(name, getattr(self, name), 0.045, 20.0)
        check_range("c_c_farad", self.c_c_farad, 0.0, 1e-9, lo_open=True)
        check_range("r_z_ohm", self.r_z_ohm, 0.0, 1e9)
        check_range("v_out_linear_volt", self.v_out_linear_volt, 0.0, 5.0, lo_open=True)
        check_range("a_vt_volt_m", self.a_vt_volt_m, 0.0, MAX_A_VT_VOLT_M)
        check_int("mismatch_seed", self.mismatch_seed, 0, 2**63 - 1)
        units = 2 * self.out_units / self.tail_units
        if abs(units - round(units)) > 1e-9:
            raise ConfigError(
                f"the driver must be 2 * out_units / tail_units = {units:g} mirror units, a "
                f"whole number; out_units {self.out_units} and tail_units {self.tail_units} "
                "do not give one")

    @property
    def driver_units(self) -> int:
        """NMOS mirror units of the second-stage driver, ``2 * out_units / tail_units``."""
        return round(2 * self.out_units / self.tail_units)

    @property
    def i_tail_a(self) -> float:
        """Nominal first-stage tail current (A)."""
        return self.i_bias_a * self.tail_units / self.bias_units

    @property
    def i_out_a(self) -> float:
        """Nominal second-stage current (A), the most the output sources."""
        return self.i_bias_a * self.out_units / self.bias_units

    @property
    def i_supply_a(self) -> float:
        """Nominal quiescent supply current (A): reference, tail and second stage
        (the measured figure comes from ngspice)."""
        return self.i_bias_a + self.i_tail_a + self.i_out_a

    def scaled_output(self, factor: float) -> OpAmpParams:
        """This op-amp with its second stage and bias reference scaled for ``factor``
        times the output current, the first stage unchanged.

        ``out_units`` becomes ``ceil(out_units * factor)``, rounded up to keep the
        driver a whole number of units; the compensation capacitor is kept (the
        second stage's transconductance, and with it the output pole, grows).

        Raises:
            ConfigError: ``factor`` is not in ``(0, 1000]``.
        """
        check_range("factor", factor, 0.0, 1000.0, lo_open=True)
        step = self.tail_units // math.gcd(2, self.tail_units)
        out = max(step, math.ceil(self.out_units * factor / step) * step)
        return replace(self, out_units=out)

    def sigma_vt_volt(self) -> tuple[float, float, float, float]:
        """Threshold-mismatch sigma (V) of M1, M2, M3, M4: ``A_VT / sqrt(W L)``."""
        s_in = self.a_vt_volt_m / math.sqrt(self.w_in_um * self.l_in_um * 1e-12)
        s_n = self.a_vt_volt_m / math.sqrt(self.w_n_um * self.l_n_um * 1e-12)
        return (s_in, s_in, s_n, s_n)


DEFAULT_OPAMP = OpAmpParams()
"""The op-amp sized for the default TIA (``circuits.tia``)."""


def mismatch_shifts_volt(p: OpAmpParams) -> np.ndarray:
    """Threshold shifts (V) of M1, M2, M3, M4: one ``standard_normal(4)`` draw of
    ``default_rng(p.mismatch_seed)`` times :meth:`OpAmpParams.sigma_vt_volt`; zeros
    without mismatch."""
    if p.a_vt_volt_m == 0:
        return np.zeros(4)
    z = np.random.default_rng(p.mismatch_seed).standard_normal(4)
    return z * np.asarray(p.sigma_vt_volt())


def opamp_lines(p: OpAmpParams, name: str, inp: str, inn: str, out: str,
                vdd: str, vss: str) -> tuple[str, ...]:
    """Netlist lines of one op-amp instance (module docstring).

    Args:
        p: the op-amp.
        name: instance name, letters, digits and ``_``; elements are named
            ``<X>opa<name>_<role>`` and internal nodes ``opa<name>_<node>``.
        inp, inn: non-inverting and inverting input nodes.
        out: output node.
        vdd, vss: supply nodes.

    Returns:
        Element lines; the caller includes :data:`MODEL_FILE`.

    Raises:
        ConfigError: a name SPICE would misread, or ``out`` shared with an input.
    """
    if not _NAME.fullmatch(name):
        raise ConfigError(f"op-amp name must hold only letters, digits and '_', got {name!r}")
    for label, node in (("inp", inp), ("inn", inn), ("out", out), ("vdd", vdd), ("vss", vss)):
        if not _NODE.fullmatch(node):
            raise ConfigError(f"op-amp {label} must be a node name of letters, digits, '_' "
                              f"or '.', got {node!r}")
    if out in (inp, inn):
        raise ConfigError(f"op-amp output {out!r} must differ from its inputs")
    pre = f"opa{name}_"
    pb, tl, a, o1, z = (pre + s for s in ("pb", "tl", "a", "o1", "z"))
    pmos = f"PMOS_VTG W={num(p.w_p_um)}u L={num(p.l_p_um)}u"
    pin = f"PMOS_VTG W={num(p.w_in_um)}u L={num(p.l_in_um)}u"
    nmos = f"NMOS_VTG W={num(p.w_n_um)}u L={num(p.l_n_um)}u"
    dvt = mismatch_shifts_volt(p)

    def shift(k: int) -> str:
        return f" delvto={num(float(dvt[k]))}" if p.a_vt_volt_m > 0 else ""

    lines = [
        f"I{pre}b {pb} {vss} DC {num(p.i_bias_a)}",
        f"M{pre}b {pb} {pb} {vdd} {vdd} {pmos} m={p.bias_units}",
        f"M{pre}t {tl} {pb} {vdd} {vdd} {pmos} m={p.tail_units}",
        f"M{pre}1 {a} {inn} {tl} {tl} {pin}{shift(0)}",
        f"M{pre}2 {o1} {inp} {tl} {tl} {pin}{shift(1)}",
        f"M{pre}3 {a} {a} {vss} {vss} {nmos}{shift(2)}",
        f"M{pre}4 {o1} {a} {vss} {vss} {nmos}{shift(3)}",
        f"M{pre}5 {out} {o1} {vss} {vss} {nmos} m={p.driver_units}",
        f"M{pre}6 {out} {pb} {vdd} {vdd} {pmos} m={p.out_units}",
    ]
    if p.r_z_ohm > 0:
        lines += [f"R{pre}z {o1} {z} {num(p.r_z_ohm)}", f"C{pre}c {z} {out} {num(p.c_c_farad)}"]
    else:
        lines.append(f"C{pre}c {o1} {out} {num(p.c_c_farad)}")
    return tuple(lines)


@dataclass(frozen=True, kw_only=True)
class Rails:
    """Supply rails of an op-amp bench.

    Attributes:
        v_dd_volt: positive rail (V); +0.55 V, half the 1.1 V FreePDK45 core supply.
        v_ss_volt: negative rail (V); -0.55 V.
    """

    v_dd_volt: float = 0.55
    v_ss_volt: float = -0.55

    def __post_init__(self) -> None:
        check_range("v_dd_volt", self.v_dd_volt, -5.0, 5.0)
        check_range("v_ss_volt", self.v_ss_volt, -5.0, self.v_dd_volt)
        if not self.v_dd_volt - self.v_ss_volt > 0.3:
            raise ConfigError(f"the rails must be more than 0.3 V apart, got "
                              f"{self.v_ss_volt:g} .. {self.v_dd_volt:g} V")

    @property
    def mid_volt(self) -> float:
        """Middle of the rails (V), the benches' input common mode."""
        return (self.v_dd_volt + self.v_ss_volt) / 2

    def lines(self) -> list[str]:
        """``Vdd vdd 0`` and ``Vss vss 0`` (supply current ``i(Vdd)``, ``i(Vss)``)."""
        return [f"Vdd vdd 0 DC {num(self.v_dd_volt)}", f"Vss vss 0 DC {num(self.v_ss_volt)}"]


SPLIT_RAILS = Rails()
"""+-0.55 V, the TIA's rails."""

BENCH_INDUCTOR_H = 1e6
"""Inductor of the open-loop bench (H): a short at DC, open above a few uHz."""
BENCH_CAPACITOR_F = 1.0
"""Capacitor of the open-loop bench (F): AC ground for the inverting input."""


def opamp_open_loop(p: OpAmpParams = DEFAULT_OPAMP, rails: Rails = SPLIT_RAILS, *,
                    c_load_farad: float = 0.0, r_load_ohm: float = 0.0) -> Netlist:
    """Open-loop bench: the operating point of a unity-gain follower, the AC response open.

    ``out`` feeds ``inn`` through ``Lfb`` (:data:`BENCH_INDUCTOR_H`), which
    closes the loop at DC (so the op-amp sits at its operating point, input
    offset and gate leakage included) and opens it for AC, where ``Cfb``
    (:data:`BENCH_CAPACITOR_F`) holds ``inn`` at AC ground. ``Vinp`` (DC at
    mid-rail, ``AC 1``) drives ``inp``: an ``.ac`` analysis gives the
    open-loop gain as ``v(out)``.

    Args:
        p: the op-amp.
        rails: the supply.
        c_load_farad: load capacitance from ``out`` to ground (F); 0 is none.
        r_load_ohm: load resistance from ``out`` to mid-rail (ohm); 0 is none.
    """
    check_range("c_load_farad", c_load_farad, 0.0, 1e-6)
    check_range("r_load_ohm", r_load_ohm, 0.0, 1e12)
    body = [*rails.lines(), f"Vinp inp 0 DC {num(rails.mid_volt)} AC 1",
            *opamp_lines(p, "", "inp", "inn", "out", "vdd", "vss"),
            f"Lfb out inn {num(BENCH_INDUCTOR_H)}", f"Cfb inn 0 {num(BENCH_CAPACITOR_F)}"]
    body += _loads(rails, c_load_farad, r_load_ohm)
    return Netlist(f"two-stage op-amp, open-loop AC bench, rails {num(rails.v_ss_volt)} / "
                   f"{num(rails.v_dd_volt)} V", tuple(body), (MODEL_FILE,))


def opamp_follower(p: OpAmpParams = DEFAULT_OPAMP, rails: Rails = SPLIT_RAILS, *,
                   step_volt: float = 0.0, delay_s: float = 5e-9, edge_s: float = 50e-12,
                   width_s: float = 1.0, c_load_farad: float = 0.0,
                   r_load_ohm: float = 0.0) -> Netlist:
    """Unity-gain follower bench: ``out`` tied to ``inn``, ``Vinp`` drives ``inp``.

    ``Vinp`` sits at mid-rail (DC, so ``.op`` gives the quiescent supply
    current ``-i(Vdd)``) and in a transient steps by ``step_volt`` at
    ``delay_s`` over ``edge_s``, holds for ``width_s`` and steps back: the
    output's largest ``dv/dt`` on each edge is a slew rate.
    A ``.dc`` sweep of ``Vinp`` gives the follower's transfer (input common-mode
    and output range).
    """
    check_range("step_volt", step_volt, -5.0, 5.0)
    check_range("delay_s", delay_s, 0.0, 1.0)
    check_range("edge_s", edge_s, 0.0, 1.0, lo_open=True)
    check_range("width_s", width_s, 0.0, 10.0, lo_open=True)
    check_range("c_load_farad", c_load_farad, 0.0, 1e-6)
    check_range("r_load_ohm", r_load_ohm, 0.0, 1e12)
    mid = rails.mid_volt
    period = 2 * (delay_s + edge_s + width_s)
    body = [*rails.lines(),
            f"Vinp inp 0 DC {num(mid)} PULSE({num(mid)} {num(mid + step_volt)} {num(delay_s)} "
            f"{num(edge_s)} {num(edge_s)} {num(width_s)} {num(period)})",
            *opamp_lines(p, "", "inp", "inn", "out", "vdd", "vss"), "Vfb out inn DC 0"]
    body += _loads(rails, c_load_farad, r_load_ohm)
    return Netlist(f"two-stage op-amp, unity-gain follower, step {num(step_volt)} V",
                   tuple(body), (MODEL_FILE,))


def _loads(rails: Rails, c_load_farad: float, r_load_ohm: float) -> list[str]:
    lines = []
    if c_load_farad > 0:
        lines.append(f"Cload out 0 {num(c_load_farad)}")
    if r_load_ohm > 0:
        lines += [f"Vmid mid 0 DC {num(rails.mid_volt)}", f"Rload out mid {num(r_load_ohm)}"]
    return lines


@dataclass(frozen=True, kw_only=True)
class OTAParams:
    """Single-stage five-transistor OTA: the VCMAC's regulation amplifier (``circuits.vcmac``).

    Circuit of one instance ``<n>`` with a PMOS input pair (``ota_lines``,
    names carry ``ota<n>_``)::

        Ib   pb -> vss              i_bias_a         reference current
        Mb   pb  pb  vdd vdd PMOS   1 unit           bias diode
        Mt   tl  pb  vdd vdd PMOS   tail_units       tail
        M1   a   inp tl  tl  PMOS   w_in x l_in      input pair (n-well at its source)
        M2   out inn tl  tl  PMOS   w_in x l_in
        M3   a   a   vss vss NMOS   w_n x l_n        mirror load
        M4   out a   vss vss NMOS   w_n x l_n

    A rising ``inp`` lowers M1's current, so the mirror sinks less from
    ``out`` while M2 sources more: ``out`` rises (``inp`` is non-inverting).
    With ``nmos_input`` the circuit is its mirror image (NMOS pair and tail,
    bodies at ``vss``; PMOS mirror load; ``Ib`` from ``vdd`` into the NMOS bias
    diode ``nb``), again with ``out`` rising with ``inp``: its output reaches
    up to ``vdd`` less a saturation voltage, where a PMOS-input OTA's stops
    below its tail node, so it drives PMOS gates. The widths and lengths
    of the fields then apply to the mirrored devices (``w_p_um``/``l_p_um`` to
    the NMOS bias and tail, ``w_n_um``/``l_n_um`` to the PMOS mirror).
    The output node is the only high-impedance node: its load capacitance
    (and any compensation the caller adds there) sets the dominant pole.

    Attributes:
        i_bias_a: reference current (A).
        tail_units: PMOS units of the tail; it carries ``tail_units * i_bias_a``.
        w_p_um: width of the bias and tail PMOS unit (um).
        l_p_um: their length (um).
        w_in_um: width of each input PMOS (um).
        l_in_um: their length (um).
        w_n_um: width of each mirror NMOS (um).
        l_n_um: their length (um).
        a_vt_volt_m: Pelgrom A_VT (V*m) of the input pair and the mirror (M1-M4);
            0 is no mismatch.
        mismatch_seed: seed of ``numpy.random.default_rng`` for their threshold shifts.
        nmos_input: the mirrored circuit with an NMOS input pair (above).
    """

    i_bias_a: float = 1e-6
    tail_units: int = 2
    w_p_um: float = 2.0
    l_p_um: float = 0.5
    w_in_um: float = 4.0
    l_in_um: float = 0.5
    w_n_um: float = 2.0
    l_n_um: float = 0.5
    a_vt_volt_m: float = 0.0
    mismatch_seed: int = 0
    nmos_input: bool = False

    def __post_init__(self) -> None:
        check_range("i_bias_a", self.i_bias_a, 0.0, 1e-2, lo_open=True)
        check_int("tail_units", self.tail_units, 1, 1000)
        if not isinstance(self.nmos_input, bool):
            raise ConfigError(f"nmos_input must be True or False, got {self.nmos_input!r}")
        for name in ("w_p_um", "w_in_um", "w_n_um"):
            check_range(name, getattr(self, name), 0.09, 1000.0)
        for name in ("l_p_um", "l_in_um", "l_n_um"):
            check_range(name, getattr(self, name), 0.045, 20.0)
        check_range("a_vt_volt_m", self.a_vt_volt_m, 0.0, MAX_A_VT_VOLT_M)
        check_int("mismatch_seed", self.mismatch_seed, 0, 2**63 - 1)

    @property
    def i_supply_a(self) -> float:
        """Nominal supply current (A): reference and tail."""
        return self.i_bias_a * (1 + self.tail_units)

    def sigma_vt_volt(self) -> tuple[float, float, float, float]:
        """Threshold-mismatch sigma (V) of M1, M2, M3, M4: ``A_VT / sqrt(W L)``."""
        s_in = self.a_vt_volt_m / math.sqrt(self.w_in_um * self.l_in_um * 1e-12)
        s_n = self.a_vt_volt_m / math.sqrt(self.w_n_um * self.l_n_um * 1e-12)
        return (s_in, s_in, s_n, s_n)


def ota_lines(p: OTAParams, name: str, inp: str, inn: str, out: str, vdd: str, vss: str,
              shifts_volt: np.ndarray | None = None) -> tuple[str, ...]:
    """Netlist lines of one OTA instance (``OTAParams``).

    Args:
        p: the OTA.
        name: instance name (letters, digits, ``_``).
        inp, inn, out, vdd, vss: its nodes.
        shifts_volt: threshold shifts of M1-M4 (V), or ``None`` for none; the
            caller draws them (one instance of many in a circuit draws its own).

    Raises:
        ConfigError: a name SPICE would misread, or ``out`` shared with an input.
    """
    if not _NAME.fullmatch(name):
        raise ConfigError(f"OTA name must hold only letters, digits and '_', got {name!r}")
    for label, node in (("inp", inp), ("inn", inn), ("out", out), ("vdd", vdd), ("vss", vss)):
        if not _NODE.fullmatch(node):
            raise ConfigError(f"OTA {label} must be a node name of letters, digits, '_' or "
                              f"'.', got {node!r}")
    if out in (inp, inn):
        raise ConfigError(f"OTA output {out!r} must differ from its inputs")
    pre = f"ota{name}_"
    pb, tl, a = pre + "pb", pre + "tl", pre + "a"
    hi, lo = (vdd, vss) if not p.nmos_input else (vss, vdd)
    kind_in, kind_load = ("PMOS_VTG", "NMOS_VTG") if not p.nmos_input else ("NMOS_VTG",
                                                                         "PMOS_VTG")
    bias = f"{kind_in} W={num(p.w_p_um)}u L={num(p.l_p_um)}u"
    pin = f"{kind_in} W={num(p.w_in_um)}u L={num(p.l_in_um)}u"
    load = f"{kind_load} W={num(p.w_n_um)}u L={num(p.l_n_um)}u"

    def shift(k: int) -> str:
        return "" if shifts_volt is None else f" delvto={num(float(shifts_volt[k]))}"

    pair_bulk = (tl, tl) if not p.nmos_input else (vss, vss)
    return (
        f"I{pre}b {pb} {lo} DC {num(p.i_bias_a)}" if not p.nmos_input
        else f"I{pre}b {vdd} {pb} DC {num(p.i_bias_a)}",
        f"M{pre}b {pb} {pb} {hi} {hi} {bias} m=1",
        f"M{pre}t {tl} {pb} {hi} {hi} {bias} m={p.tail_units}",
        f"M{pre}1 {a} {inp} {tl} {pair_bulk[0]} {pin}{shift(0)}",
        f"M{pre}2 {out} {inn} {tl} {pair_bulk[1]} {pin}{shift(1)}",
        f"M{pre}3 {a} {a} {lo} {lo} {load}{shift(2)}",
        f"M{pre}4 {out} {a} {lo} {lo} {load}{shift(3)}",
    )
