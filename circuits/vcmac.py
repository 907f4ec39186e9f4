"""VCMAC: voltage-clamped current multiply-accumulate (NF paper, Fig. 3c,d; Supp. Fig. 2).

The VCMAC combines the source-line currents of several bit columns into one
current, ``I <- s * I + I_next`` from the most significant column (0) down to
the least significant (n-1), so the final current is
``sum_k s**(n-1-k) * I_k``; the digital side later scales it by ``(1/s)**(n-1)``.
The factor ``s`` is set by four switch bits::

    s = 1 + 0.8*C4 + 0.4*C3 + 0.2*C2 + 0.1*C1      code = 8*C4 + 4*C3 + 2*C2 + C1

so codes 0..15 give s = 1.0 .. 2.5 in steps of 0.1.

Circuit of one column (all transistors FreePDK45 BSIM4, ``NMOS_VTG``/``PMOS_VTG``;
every mirror device is a whole number of identical *unit* devices, given as
the SPICE multiplier ``m``):

- **Current scaling (x0.1), input held at v_ref.** The input (source-line) node
  ``sl<k>`` takes the column current. Amplifier ``XA<k>a`` drives the common
  gate ``g<k>`` of the input NMOS ``MN<k>in`` (``1/scale`` = 10 units, drain on
  ``sl<k>``) so that ``sl<k>`` sits at ``v_ref_volt``: the input NMOS sinks the
  whole input current at Vds = v_ref. The scaled NMOS ``MN<k>s`` (1 unit, same
  gate) sinks 0.1 of it from node ``d<k>``.
- **Regulated PMOS mirror.** The reference PMOS ``MP<k>r`` (1 unit) feeds
  ``d<k>`` through an on NMOS switch ``MS<k>ra`` (a second, off switch
  ``MS<k>rb`` to the dump node makes it a copy of an output branch);
  amplifier ``XA<k>b`` drives the common PMOS gate ``pg<k>`` so that ``d<k>``
  also sits at v_ref. The scaled NMOS therefore sees exactly the drain voltage
  of the input NMOS, and the reference PMOS branch exactly the voltages of
  every output branch whose current goes to a node held at v_ref.
- **Five output stages** of 10, 8, 4, 2, 1 PMOS units (ratios 1, 0.8, 0.4, 0.2,
  0.1 of the *unscaled* input current). Each stage is a current-steering
  pair of NMOS switches with as many units as the stage: switch ``a`` (gate
  ``C``) sends the stage current to the output node, switch ``b`` (gate
  ``/C``) to the dump node ``dump<k>``, which amplifier ``XA<k>c`` and the NMOS
  sink ``MN<k>d`` hold at v_ref too. Stage 1 is always sent to the output;
  stages 0.8, 0.4, 0.2, 0.1 follow ``C4``..``C1`` (gate at VDD = on, 0 = off).
  So every PMOS unit always carries the same current at the same voltages,
  whatever the code, and the ratios hold by construction, up to the
  amplifiers' finite gain and the leakage of the off switches (gate-edge
  tunnelling of the thin FreePDK45 oxide, which grows with the switch width;
  hence the small switches). Steering rather than cutting a stage off
  matters: a PMOS stage cut off at its source or drain leaks into the output
  by up to 4 % at 0.1 uA (seen in simulation).
- **Summation.** The stages of column k that are switched to the output
  drive the input node of column k+1, where they add to that column's own
  current (Kirchhoff's current law at the node held at v_ref). The last
  column's input node is the output node, held at v_ref by the source
  ``Vout`` whose current is measured.

**Regulation amplifiers.** With ``VCMACParams.amp`` (an
:class:`circuits.opamp.OTAParams`) each of the three is a five-transistor OTA
in the FreePDK45 cards with its own reference current: PMOS input pair for
the two that drive NMOS gates (``a``, ``c``), NMOS input pair
(``OTAParams.nmos_input``) for the one that drives the PMOS mirror's gate
near VDD (``b``); named ``<X>ota<k><a|b|c>_<role>``, compensated by a capacitor
``c_comp_farad`` in series with ``r_comp_ohm`` from its output (the gate it
drives) to the node it holds (``Cc<k><a|b|c>``, ``Rc<k><a|b|c>``): the
regulated transistor then has a Miller capacitor across it, which splits the
loop's two poles (the gate node and the high-impedance held node) so that
each loop settles in transient; its supply current flows from ``Vdd``. The
transistor-level chain converges in ngspice 39 transients
(``cosim.calibration.vcmac.settling``). Without it (``amp = None``) the amplifiers are
behavioural (``vcmac_amp``: DC gain ``amp_a0``, a tanh output swing between
``amp_v_out_min_volt`` and ``amp_v_out_max_volt``, no dynamics, no supply
current), written into the netlist: the fast option for DC sweeps. The project's op-amp macro-model
(``device_models/opamp.lib``) was tried in their place: in these three high-gain
loops its 5 mV output-clamp knee made ngspice fall back to gmin and source
stepping at many sweep points (minutes per sweep instead of well under a
second), and a wider knee costs millivolts of regulation error near the gate
voltages used here. The netlists carry ``.nodeset`` guesses for the held
nodes and gates, without which the first operating point also needs gmin
stepping.

**Ratio.** For the one-stage bench (:func:`vcmac_stage`) the *ratio* is
``I_out / I_in``: ``I_in`` the current injected into the held input node
(measured by the 0 V source ``Vsense_in``), ``I_out`` the current the enabled
output stages deliver into the output node held at v_ref (measured by
``Vout``). The internal x0.1 scaling is undone by the 10, 8, 4, 2, 1-unit
output stages, so the nominal ratio is ``s`` (:func:`nominal_ratio`), not
``0.1 * s``.

Currents are positive when they flow into the held node (``Iin``) and out of
the circuit into ``Vout``'s + terminal; ``SimResult.i("Vout")`` is then positive.

**Device mismatch (optional).** With identical unit devices the ratio error
is the circuit's systematic error only (figures:
``docs/measurements/circuits.md``). With
``VCMACParams.a_vt_volt_m > 0`` every unit device that sets the ratio (the
``1/scale`` + 1 NMOS units of the x0.1 scaling pair, the reference PMOS and
the 10, 8, 4, 2, 1 PMOS units of the output stages) is written as its own
instance ``<name>_<i>`` (no ``m``) with its own threshold shift ``delvto``
(BSIM4 instance parameter, added to the model's VTH0; accepted by ngspice 39),
drawn from ``N(0, A_VT / sqrt(W L))`` (Pelgrom's law) by
:func:`mismatch_shifts_volt` with ``numpy.random.default_rng(mismatch_seed)``.
The switches and the dump sink carry no ratio-setting current mismatch and
keep ``m``. With transistor-level amplifiers, the input pair and mirror of
each of the three OTAs of every column get their own shifts too (sigma from
each device's own area), drawn after the mirror devices' from the same
generator (:func:`amp_shifts_volt`), so the mirror shifts of a seed are the
same with either kind of amplifier. With ``a_vt_volt_m = 0`` (the default)
the text is unchanged.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np

from circuits.analyses import DC
from circuits.errors import ConfigError, check_int, check_range
from circuits.netlist import Netlist, num
from circuits.opamp import OTAParams, ota_lines

MODEL_FILES = ("freepdk45_nom.lib",)
"""Model files in ``device_models/`` a VCMAC netlist includes."""
STAGE_WEIGHTS = (1.0, 0.8, 0.4, 0.2, 0.1)
"""Ratios of the five output stages to the unscaled input current; the first is always on."""
SWITCH_NAMES = ("C4", "C3", "C2", "C1")
"""Switch bits of the fractional stages 0.8, 0.4, 0.2, 0.1, most significant first."""
CODES = tuple(range(16))
NODESET_NMOS_GATE_VOLT = 0.3
"""Initial guess of the NMOS gate voltages (V), given to ngspice by ``.nodeset``."""
NODESET_PMOS_VSG_VOLT = 0.3
"""Initial guess of the PMOS source-gate voltage (V), given to ngspice by ``.nodeset``."""
MAX_COLUMNS = 16
MAX_CURRENT_A = 1e-3

INPUT_SENSE = "Vsense_in"
"""0 V source that measures the input current of the stage bench."""
OUTPUT_SOURCE = "Vout"
"""Source holding the output node at v_ref; its current is the output current."""
LOG_SWEEP_SOURCE = "Vlog"
"""Source swept 0, 1, .., points-1 (V) by a :class:`CurrentSweep`; point j gives current j."""

TYPICAL_A_VT_VOLT_M = 3.5e-9
"""Pelgrom threshold-mismatch coefficient A_VT (V*m) taken as typical of 40-45 nm
bulk CMOS: 3.5 mV*um, *assumed* (the middle of the 3-4 mV*um usually quoted
for 40-45 nm poly/SiON bulk; not taken from one cited figure). For scale, the
rule of about 1 mV*um per nm of gate oxide (Pelgrom, Tuinhout, Vertregt,
IEDM 1998) gives about 1.2-1.3 mV*um for FreePDK45's 1.14-1.26 nm TOXE, a lower bound."""
MAX_A_VT_VOLT_M = 50e-9
"""Largest accepted A_VT (V*m), 50 mV*um (micron-era CMOS is about 10-30 mV*um)."""
MAX_MISMATCH_SEED = 2**63 - 1
"""Largest accepted ``mismatch_seed``."""


VCMAC_OTA = OTAParams(w_in_um=1.0, l_in_um=0.2, i_bias_a=2e-9)
"""The regulation amplifier of the transistor-level VCMAC: a five-transistor OTA with
1 um x 0.2 um inputs (small: the thin oxide's gate tunnelling at the held nodes costs
ratio at 0.1 uA in proportion to the gate area) and a 2 nA reference, the rest of its
bias adaptive (``VCMACParams.bias_copy_w_um``)."""


def check_code(code: int) -> int:
    """Raise ``ConfigError`` unless ``code`` is a VCMAC switch code 0..15."""
    if isinstance(code, bool) or not isinstance(code, Integral) or int(code) not in CODES:
        raise ConfigError(
            f"unknown VCMAC switch code {code!r} (allowed: integers 0..15, "
            f"code = 8*C4 + 4*C3 + 2*C2 + C1)"
        )
    return code


def code_bits(code: int) -> tuple[int, int, int, int]:
    """Switch bits ``(C4, C3, C2, C1)`` of ``code`` (0..15)."""
    code = int(check_code(code))
    return ((code >> 3) & 1, (code >> 2) & 1, (code >> 1) & 1, code & 1)


def nominal_ratio(code: int) -> float:
    """Nominal amplification ``s = 1 + 0.8 C4 + 0.4 C3 + 0.2 C2 + 0.1 C1`` of ``code``."""
    bits = code_bits(code)
    s = STAGE_WEIGHTS[0] + sum(w * b for w, b in zip(STAGE_WEIGHTS[1:], bits, strict=True))
    return round(s, 12)


@dataclass(frozen=True, kw_only=True)
class VCMACParams:
    """One VCMAC chain and its transistors.

    Attributes:
        n_columns: bit columns in the chain (column 0 is the most significant);
            the stage bench ignores it.
        code: switch code 0..15 (``8*C4 + 4*C3 + 2*C2 + C1``), shared by all columns.
        vdd_volt: supply (V); FreePDK45 nominal 1.1 V.
        v_ref_volt: voltage at which every input (source-line) node is held (V);
            0.5 V (our choice) leaves V_DS = 0.5 V to the NMOS and V_SD of about
            0.6 V to the PMOS mirror on the 1.1 V supply.
        current_scale: current scaling of the input block; 0.1 in the NF paper.
            ``1/current_scale`` and every ``STAGE_WEIGHTS[i]/current_scale`` must
            be whole numbers of unit devices.
        nmos_w_um: width of one unit NMOS of the scaling block (um); 2 um (our choice).
        nmos_l_um: length of one unit NMOS (um); 1 um, long (our choice), for a
            high output resistance and, on silicon, less mismatch.
        pmos_w_um: width of one unit PMOS of the mirror (um); 2 um (our choice).
        pmos_l_um: length of one unit PMOS (um); 1 um (our choice).
        switch_w_um: width of one unit NMOS steering switch (um); 0.2 um, small
            because the off switches' gate-edge tunnelling grows with width
            (1 um switches give -0.7 % at 0.1 uA for code 0, 0.2 um -0.14 %).
        switch_l_um: length of one unit NMOS switch (um); 0.05 um, near minimum.
        amp_a0: DC gain of the regulation amplifiers (V/V); 10,000 (80 dB), the
            figure ``device_models/opamp.lib`` assumes for a 40 nm CMOS op-amp.
        amp_v_out_min_volt: lower end of the amplifiers' output swing (V).
        amp_v_out_max_volt: upper end of the amplifiers' output swing (V), at
            most VDD; ``None`` is VDD.
        i_in_a: input current of the stage bench when it is not swept (A).
        a_vt_volt_m: Pelgrom threshold-mismatch coefficient A_VT (V*m); 0 (default)
            is no mismatch; :data:`TYPICAL_A_VT_VOLT_M` (3.5 mV*um, assumed) is
            typical of 40-45 nm bulk CMOS. Each ratio-setting unit device gets
            its own ``delvto`` from ``N(0, a_vt_volt_m / sqrt(W L))``.
        mismatch_seed: seed of ``numpy.random.default_rng`` for the threshold
            shifts (>= 0); ignored when ``a_vt_volt_m`` is 0.
        amp: the regulation amplifiers at transistor level (module docstring), or
            ``None`` (default) for the behavioural ``vcmac_amp`` (``amp_a0`` ..).
        c_comp_farad: compensation capacitor of each transistor-level loop,
            from the amplifier's output to the node it holds (F); 0.2 pF, chosen
            by loop-gain measurement (``cosim characterise vcmac``).
        r_comp_ohm: resistor in series with ``c_comp_farad`` (ohm); 0 is none.
        bias_copy_w_um: width of the adaptive-bias devices (um; 0 is none): each
            amplifier's tail gets, beside its own reference current, the current
            of a copy of the column's devices (a PMOS on the mirror gate for
            ``a`` and ``c``, an NMOS on the input gate for ``b``, at their
            lengths), so every loop's amplifier transconductance scales with the
            column current as the regulated transistor's does, and the loops
            keep their phase margin over 0.1-10 uA; 0.5 um, chosen by measurement.
    """

    n_columns: int = 1
    code: int = 10
    vdd_volt: float = 1.1
    v_ref_volt: float = 0.5
    current_scale: float = 0.1
    nmos_w_um: float = 2.0
    nmos_l_um: float = 1.0
    pmos_w_um: float = 2.0
    pmos_l_um: float = 1.0
    switch_w_um: float = 0.2
    switch_l_um: float = 0.05
    amp_a0: float = 1e4
    amp_v_out_min_volt: float = 0.0
    amp_v_out_max_volt: float | None = None
    i_in_a: float = 1e-6
    a_vt_volt_m: float = 0.0
    mismatch_seed: int = 0
    amp: OTAParams | None = None
    c_comp_farad: float = 0.2e-12
    r_comp_ohm: float = 0.0
    bias_copy_w_um: float = 0.5

    def __post_init__(self) -> None:
        if isinstance(self.n_columns, bool) or not isinstance(self.n_columns, int):
            raise ConfigError(f"n_columns must be an integer, got {self.n_columns!r}")
        check_range("n_columns", self.n_columns, 1, MAX_COLUMNS)
        check_code(self.code)
        check_range("vdd_volt", self.vdd_volt, 0.5, 1.5)
        check_range("v_ref_volt", self.v_ref_volt, 0.05, self.vdd_volt - 0.2)
        check_range("current_scale", self.current_scale, 0.0, 1.0, lo_open=True)
        for w in (1.0, *STAGE_WEIGHTS):
            units = w / self.current_scale
            if abs(units - round(units)) > 1e-9:
                raise ConfigError(
                    f"current_scale {self.current_scale:g} makes stage ratio {w:g} "
                    f"{units:g} unit devices; it must be a whole number (e.g. 0.1, 0.05)"
                )
        for name in ("nmos_w_um", "pmos_w_um", "switch_w_um"):
            check_range(name, getattr(self, name), 0.09, 100.0)
        for name in ("nmos_l_um", "pmos_l_um", "switch_l_um"):
            check_range(name, getattr(self, name), 0.045, 20.0)
        check_range("amp_a0", self.amp_a0, 1.0, 1e9)
        check_range("amp_v_out_min_volt", self.amp_v_out_min_volt, 0.0, self.vdd_volt)
        if self.amp_v_out_max_volt is not None:
            check_range("amp_v_out_max_volt", self.amp_v_out_max_volt,
                        self.amp_v_out_min_volt, self.vdd_volt, lo_open=True)
        check_range("i_in_a", self.i_in_a, 0.0, MAX_CURRENT_A)
        check_range("a_vt_volt_m", self.a_vt_volt_m, 0.0, MAX_A_VT_VOLT_M)
        check_int("mismatch_seed", self.mismatch_seed, 0, MAX_MISMATCH_SEED)
        if self.amp is not None and not isinstance(self.amp, OTAParams):
            raise ConfigError(f"amp must be a circuits.opamp.OTAParams or None, got "
                              f"{type(self.amp).__name__}")
        check_range("c_comp_farad", self.c_comp_farad, 0.0, 1e-9)
        check_range("r_comp_ohm", self.r_comp_ohm, 0.0, 1e9)
        check_range("bias_copy_w_um", self.bias_copy_w_um, 0.0, 100.0)

    @property
    def amp_v_max_volt(self) -> float:
        """Upper end of the amplifiers' output swing (V), VDD when not given."""
        return self.vdd_volt if self.amp_v_out_max_volt is None else self.amp_v_out_max_volt

    @property
    def nominal(self) -> float:
        """Nominal ratio ``s`` of :attr:`code`."""
        return nominal_ratio(self.code)

    def units(self, ratio: float) -> int:
        """Unit devices of a branch carrying ``ratio`` times the unscaled input current."""
        return round(ratio / self.current_scale)

    def sigma_vt_volt(self, w_um: float, l_um: float) -> float:
        """Threshold-mismatch sigma (V) of a ``w_um`` x ``l_um`` device, ``A_VT / sqrt(W L)``."""
        return self.a_vt_volt_m / math.sqrt(w_um * 1e-6 * l_um * 1e-6)

    def mismatch_groups(self) -> tuple[tuple[str, int, float], ...]:
        """The ratio-setting devices of one column, in drawing order.

        Returns:
            ``(name, units, sigma_vt_volt)`` per device group, ``name`` without
            the column index: ``MNin`` (``1/scale`` units), ``MNs`` (1),
            ``MPr`` (1), then ``MPo0`` .. ``MPo4`` (10, 8, 4, 2, 1 units for scale 0.1).
        """
        sn = self.sigma_vt_volt(self.nmos_w_um, self.nmos_l_um)
        sp = self.sigma_vt_volt(self.pmos_w_um, self.pmos_l_um)
        return (("MNin", self.units(1.0), sn), ("MNs", 1, sn), ("MPr", 1, sp),
                *((f"MPo{j}", self.units(w), sp) for j, w in enumerate(STAGE_WEIGHTS)))


AMPS = ("a", "b", "c")
"""The three regulation amplifiers of a column: input node, mirror reference, dump node."""


def amp_shifts_volt(p: VCMACParams, n_columns: int) -> np.ndarray:
    """Threshold shifts (V) of M1-M4 of each transistor-level amplifier, shape
    ``(n_columns, 3, 4)`` (amplifiers ``a, b, c``), drawn from ``default_rng(p.mismatch_seed)``
    after the draw of :func:`mismatch_shifts_volt`; zeros without mismatch or amplifiers."""
    if p.amp is None or p.a_vt_volt_m == 0:
        return np.zeros((n_columns, len(AMPS), 4))
    rng = np.random.default_rng(p.mismatch_seed)
    rng.standard_normal((n_columns, sum(m for _, m, _ in p.mismatch_groups())))
    sigma = np.asarray(dataclasses.replace(p.amp, a_vt_volt_m=p.a_vt_volt_m).sigma_vt_volt())
    return rng.standard_normal((n_columns, len(AMPS), 4)) * sigma


def mismatch_shifts_volt(p: VCMACParams, n_columns: int) -> np.ndarray:
    """Threshold shifts (V) of the ratio-setting unit devices of ``n_columns`` columns.

    Pelgrom's law, ``sigma = A_VT / sqrt(W L)`` per unit device, drawn with
    ``numpy.random.default_rng(p.mismatch_seed)``: one ``standard_normal``
    array of shape ``(n_columns, units)``, row k for column k, the units in
    the order of :meth:`VCMACParams.mismatch_groups` (unit 0 first in each
    group), each scaled by its sigma. Same params, same shifts.

    Returns:
        Array of shape ``(n_columns, units per column)``; all zero when
        ``p.a_vt_volt_m`` is 0.
    """
    groups = p.mismatch_groups()
    sigma = np.concatenate([np.full(m, s) for _, m, s in groups])
    z = np.random.default_rng(p.mismatch_seed).standard_normal((n_columns, len(sigma)))
    return z * sigma


@dataclass(frozen=True, kw_only=True)
class CurrentSweep:
    """Log-spaced input currents for one ngspice ``.dc`` run of the stage bench.

    ngspice's ``.dc`` steps linearly, and with a fractional step it may drop
    the last point to rounding. The bench therefore sweeps source ``Vlog``
    over the integers ``0, 1, .., points-1`` (exact in floating point) and a
    behavioural current source turns ``j`` into ``i_lo * (i_hi/i_lo)**(j/(points-1))``,
    the ``j``-th value of ``numpy.geomspace(i_lo, i_hi, points)``.

    Attributes:
        i_lo_a: smallest input current (A).
        i_hi_a: largest input current (A).
        points: number of currents (>= 2).
    """

    i_lo_a: float = 0.1e-6
    i_hi_a: float = 10e-6
    points: int = 100

    def __post_init__(self) -> None:
        check_range("i_lo_a", self.i_lo_a, 0.0, MAX_CURRENT_A, lo_open=True)
        check_range("i_hi_a", self.i_hi_a, self.i_lo_a, MAX_CURRENT_A, lo_open=True)
        if isinstance(self.points, bool) or not isinstance(self.points, int):
            raise ConfigError(f"points must be an integer, got {self.points!r}")
        check_range("points", self.points, 2, 100_000)

    def analysis(self) -> DC:
        """The ``.dc`` sweep of ``Vlog`` over ``0 .. points-1`` in steps of 1."""
        return DC(source=LOG_SWEEP_SOURCE, start=0.0, stop=float(self.points - 1), step=1.0)

    def currents_a(self) -> np.ndarray:
        """The nominal input currents (A), ``geomspace(i_lo_a, i_hi_a, points)``."""
        return np.geomspace(self.i_lo_a, self.i_hi_a, self.points)

    def exponent_per_volt(self) -> float:
        """``ln(i_hi/i_lo) / (points-1)``: the B-source's exponent per volt of ``Vlog``."""
        return math.log(self.i_hi_a / self.i_lo_a) / (self.points - 1)


@dataclass(frozen=True, kw_only=True)
class InputStep:
    """A step of the stage bench's input current, for a transient.

    ``Iin`` is written ``DC i_from_a PULSE(i_from_a i_to_a delay_s edge_s edge_s 1 2)``:
    the operating point sees ``i_from_a``, a transient the step at ``delay_s``.

    Attributes:
        i_from_a: current before the step (A); 0.1 uA, the low end of NF paper Fig. 3d.
        i_to_a: current after it (A); 1 uA, ``VCMACParams.i_in_a``'s default.
        delay_s: time of the step (s).
        edge_s: its rise time (s).
    """

    i_from_a: float = 0.1e-6
    i_to_a: float = 1e-6
    delay_s: float = 1e-6
    edge_s: float = 1e-9

    def __post_init__(self) -> None:
        check_range("i_from_a", self.i_from_a, 0.0, MAX_CURRENT_A)
        check_range("i_to_a", self.i_to_a, 0.0, MAX_CURRENT_A)
        if self.i_to_a == self.i_from_a:
            raise ConfigError(f"the input step must change the current; both are "
                              f"{self.i_to_a:g} A")
        check_range("delay_s", self.delay_s, 0.0, 1.0)
        check_range("edge_s", self.edge_s, 0.0, 1e-3, lo_open=True)

    def source_text(self) -> str:
        a, b, e = num(self.i_from_a), num(self.i_to_a), num(self.edge_s)
        return f"DC {a} PULSE({a} {b} {num(self.delay_s)} {e} {e} 1 2)"


def vcmac_stage(p: VCMACParams, *, sweep: CurrentSweep | None = None,
                step: InputStep | None = None) -> Netlist:
    """Bench of one VCMAC stage: input current into the held node, output into ``Vout``.

    The input current flows from source ``Iin`` (DC ``p.i_in_a``) through the
    0 V sense source ``Vsense_in`` into node ``sl0``; the stage's output goes
    into node ``out``, held at v_ref by ``Vout``. The ratio is
    ``i(Vout) / i(Vsense_in)``, nominally :func:`nominal_ratio` of ``p.code``.

    Args:
        p: the parameters (``p.n_columns`` is ignored).
        sweep: to sweep the input current, a :class:`CurrentSweep`: ``Iin`` is
            then replaced by the behavioural source ``Bin`` driven by ``Vlog``
            (DC 0), and ``sweep.analysis()`` is the ``.dc`` line to run.
        step: for a transient, an :class:`InputStep` carried by ``Iin`` (it
            replaces ``p.i_in_a``); not with ``sweep``.
    """
    if sweep is not None and step is not None:
        raise ConfigError("give the stage bench a current sweep or a current step, not both")
    lines = _header(p, "VCMAC stage bench")
    if step is not None:
        lines.append(f"Iin 0 nin {step.source_text()}")
    elif sweep is None:
        lines.append(f"Iin 0 nin DC {num(p.i_in_a)}")
    else:
        lines.append(f"{LOG_SWEEP_SOURCE} lsw 0 DC 0")
        lines.append(f"Bin 0 nin I={num(sweep.i_lo_a)}*exp({num(sweep.exponent_per_volt())}"
                     "*v(lsw))")
    lines.append(f"{INPUT_SENSE} nin sl0 DC 0")
    lines += _column(p, 0, "sl0", "out", _shifts(p, 1))
    lines.append(f"{OUTPUT_SOURCE} out 0 DC {num(p.v_ref_volt)}")
    lines.append(f".nodeset v(out)={num(p.v_ref_volt)}")
    return Netlist(f"VCMAC stage bench, code {p.code} (s = {num(p.nominal)})",
                   tuple(lines), MODEL_FILES)


def vcmac_chain(p: VCMACParams, currents_a: Sequence[float] | None = None) -> Netlist:
    """A chain of ``p.n_columns`` bit columns summed into one output current.

    Column ``k`` takes input current ``Iin<k>`` (into node ``sl<k>``); columns
    0..n-2 each hold their node at v_ref and drive ``s`` times its current into
    node ``sl<k+1>``. The last node ``sl<n-1>`` is held at v_ref by ``Vout``,
    whose current ``i(Vout)`` is ``sum_k s**(n-1-k) * I_k`` nominally.

    The inputs are DC sources (non-zero by default), so ``.op`` gives the sum
    and a ``.dc`` sweep of ``Iin<k>`` ramps the output with slope
    ``s**(n-1-k)``. There is no transient stimulus. With the behavioural
    amplifiers (``p.amp = None``) the chain has no dynamics, and a PWL ramp
    under ``.tran`` rings at milliamperes in ngspice 39 (tried with a 10 ns
    ramp of 0.1 -> 1 uA); with the transistor-level ones it settles
    (the stage bench's :class:`InputStep`).

    Args:
        p: the parameters.
        currents_a: the DC input current of each column (A), most significant
            first; default ``p.i_in_a`` for every column.
    """
    n = p.n_columns
    cur = [p.i_in_a] * n if currents_a is None else [float(x) for x in currents_a]
    if len(cur) != n:
        raise ConfigError(f"currents_a has {len(cur)} values; the chain has {n} columns")
    for k, i in enumerate(cur):
        check_range(f"currents_a[{k}]", i, 0.0, MAX_CURRENT_A)
    lines = _header(p, f"VCMAC chain of {n} columns")
    for k in range(n):
        lines.append(f"Iin{k} 0 sl{k} DC {num(cur[k])}")
    shifts = _shifts(p, n - 1)
    for k in range(n - 1):
        lines += _column(p, k, f"sl{k}", f"sl{k + 1}", shifts)
    lines.append(f"{OUTPUT_SOURCE} sl{n - 1} 0 DC {num(p.v_ref_volt)}")
    return Netlist(f"VCMAC chain, {n} columns, code {p.code} (s = {num(p.nominal)})",
                   tuple(lines), MODEL_FILES)


def _header(p: VCMACParams, what: str) -> list[str]:
    bits = code_bits(p.code)
    mid = (p.amp_v_max_volt + p.amp_v_out_min_volt) / 2
    half = (p.amp_v_max_volt - p.amp_v_out_min_volt) / 2
    lines = [f"* {what}: code {p.code} = C4 C3 C2 C1 {' '.join(map(str, bits))}"]
    if p.amp is None:
        lines += [
            "* regulation amplifier: DC gain amp_a0, tanh output swing (memoryless, DC only)",
            ".subckt vcmac_amp inp inn out",
            f"Bamp out 0 V={num(mid)}+{num(half)}*tanh({num(p.amp_a0 / half)}*(v(inp)-v(inn)))",
            ".ends vcmac_amp",
        ]
    else:
        lines.append("* regulation amplifiers: five-transistor OTAs (circuits.opamp.ota_lines)")
    lines += [
        f"Vdd vdd 0 DC {num(p.vdd_volt)}",
        f"Vref vref 0 DC {num(p.v_ref_volt)}",
    ]
    for name, bit in zip(SWITCH_NAMES, bits, strict=True):
        lines.append(f"V{name} {name.lower()} 0 DC {num(p.vdd_volt if bit else 0.0)}")
        lines.append(f"V{name}b {name.lower()}b 0 DC {num(0.0 if bit else p.vdd_volt)}")
    return lines


def _shifts(p: VCMACParams, n_columns: int) -> np.ndarray | None:
    return mismatch_shifts_volt(p, n_columns) if p.a_vt_volt_m > 0 else None


def _units(name: str, rest: str, m: int, dvt: list[float] | None) -> list[str]:
    """``m`` unit devices: one line with ``m=``, or ``m`` lines with their own ``delvto``."""
    if dvt is None:
        return [f"{name} {rest} m={m}"]
    return [f"{name}_{i} {rest} delvto={num(dvt.pop(0))}" for i in range(m)]


def _amp(p: VCMACParams, k: int, which: str, held: str, gate: str,
         shifts: np.ndarray | None) -> list[str]:
    """Amplifier ``which`` (a, b, c) of column ``k``: holds ``held`` at v_ref, drives ``gate``."""
    if p.amp is None:
        return [f"XA{k}{which} {held} vref {gate} vcmac_amp"]
    dvt = None if shifts is None else shifts[k, AMPS.index(which)]
    amp = dataclasses.replace(p.amp, nmos_input=True) if which == "b" else p.amp
    lines = list(ota_lines(amp, f"{k}{which}", held, "vref", gate, "vdd", "0", dvt))
    if p.bias_copy_w_um > 0:
        tail = f"ota{k}{which}_tl"
        w = num(p.bias_copy_w_um)
        if which == "b":   # NMOS tail: a copy of the input NMOS adds to it
            lines.append(f"MB{k}{which} {tail} g{k} 0 0 NMOS_VTG W={w}u L={num(p.nmos_l_um)}u")
        else:              # PMOS tail: a copy of the mirror PMOS adds to it
            lines.append(f"MB{k}{which} {tail} pg{k} vdd vdd PMOS_VTG W={w}u "
                         f"L={num(p.pmos_l_um)}u")
    if p.c_comp_farad > 0:
        if p.r_comp_ohm > 0:
            lines += [f"Rc{k}{which} {gate} cc{k}{which} {num(p.r_comp_ohm)}",
                      f"Cc{k}{which} cc{k}{which} {held} {num(p.c_comp_farad)}"]
        else:
            lines.append(f"Cc{k}{which} {gate} {held} {num(p.c_comp_farad)}")
    return lines


def _column(p: VCMACParams, k: int, node_in: str, node_out: str,
            shifts: np.ndarray | None = None) -> list[str]:
    dvt = None if shifts is None else [float(x) for x in shifts[k]]
    amp_dvt = (amp_shifts_volt(p, k + 1) if p.amp is not None and p.a_vt_volt_m > 0
               else None)
    n = f"NMOS_VTG W={num(p.nmos_w_um)}u L={num(p.nmos_l_um)}u"
    pm = f"PMOS_VTG W={num(p.pmos_w_um)}u L={num(p.pmos_l_um)}u"
    sw = f"NMOS_VTG W={num(p.switch_w_um)}u L={num(p.switch_l_um)}u"
    vr = num(p.v_ref_volt)
    dump_units = sum(p.units(w) for w in STAGE_WEIGHTS[1:])
    lines = [
        f"* column {k}: scaling x{num(p.current_scale)} with {node_in} held at v_ref",
        *_amp(p, k, "a", node_in, f"g{k}", amp_dvt),
        *_units(f"MN{k}in", f"{node_in} g{k} 0 0 {n}", p.units(1.0), dvt),
        *_units(f"MN{k}s", f"d{k} g{k} 0 0 {n}", 1, dvt),
        f"* column {k}: regulated PMOS mirror, reference branch held at v_ref",
        *_amp(p, k, "b", f"d{k}", f"pg{k}", amp_dvt),
        *_units(f"MP{k}r", f"xr{k} pg{k} vdd vdd {pm}", 1, dvt),
        f"MS{k}ra xr{k} vdd d{k} 0 {sw} m=1",
        f"MS{k}rb xr{k} 0 dump{k} 0 {sw} m=1",
        f"* column {k}: dump node for steered-off stages, held at v_ref",
        *_amp(p, k, "c", f"dump{k}", f"gd{k}", amp_dvt),
        f"MN{k}d dump{k} gd{k} 0 0 {n} m={dump_units}",
        f"* column {k}: initial guess for the operating point (the loops have high gain)",
        f".nodeset v({node_in})={vr} v(d{k})={vr} v(dump{k})={vr} v(xr{k})={vr} "
        f"v(g{k})={num(NODESET_NMOS_GATE_VOLT)} v(gd{k})={num(NODESET_NMOS_GATE_VOLT)} "
        f"v(pg{k})={num(p.vdd_volt - NODESET_PMOS_VSG_VOLT)}",
        f"* column {k}: output stages {', '.join(num(w) for w in STAGE_WEIGHTS)} into {node_out}",
    ]
    gates = [("vdd", "0")] + [(s.lower(), s.lower() + "b") for s in SWITCH_NAMES]
    for j, (w, (on, off)) in enumerate(zip(STAGE_WEIGHTS, gates, strict=True)):
        m = p.units(w)
        lines += _units(f"MP{k}o{j}", f"x{k}_{j} pg{k} vdd vdd {pm}", m, dvt)
        lines.append(f"MS{k}o{j}a x{k}_{j} {on} {node_out} 0 {sw} m={m}")
        lines.append(f"MS{k}o{j}b x{k}_{j} {off} dump{k} 0 {sw} m={m}")
    if dvt:
        raise AssertionError(f"{len(dvt)} threshold shifts left unused in column {k}")
    return lines
