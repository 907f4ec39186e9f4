"""Energy figures taken from this toolkit's own circuits by simulation (ngspice).

- **Cell read**: a read pulse (trapezoid: ``edge_s`` rise, ``width_s`` flat,
  ``edge_s`` fall) on the inputs of a :func:`circuits.crossbar.crossbar`
  netlist; the energy is the integral over the transient of ``v(in<r>) *
  -i(Vin<r>)`` summed over the driven rows (what the drivers deliver), divided
  by the cells read. For a linear cell of conductance ``G`` the exact value is
  :func:`read_energy_j`, ``G V^2 (width + 2 edge / 3)``.
- **VCMAC**: the supply power ``VDD * -i(Vdd)`` of a
  :func:`circuits.vcmac.vcmac_chain` at its operating point, with stated
  column currents; watts per active chain. With transistor-level regulation
  amplifiers (the default, ``VcmacBench.transistor_level``) it includes their
  supply current, and the conversion time is the stage's measured 0.1 %
  settling time after an input step (``cosim.calibration.vcmac.vcmac_settling``).
- **TIA**: the supply power of the :func:`circuits.tia.tia` bench while it
  reads a stated column current for one conversion: the integral of
  ``-(v(tvdd) i(Vddtia) + v(tvss) i(Vsstia))`` over the conversion, divided by
  its length: watts while active. The op-amp is the transistor-level one
  (``circuits.opamp``, the default) or the macro-model with its supply pins
  (``opamp_sup``: an assumed quiescent current plus class-AB output current,
  ``device_models/opamp.lib``; ``TiaBench(opamp=None)``, the fast option). A
  conversion lasts the TIA's measured 0.1 % settling time of a full-scale
  step (the slower sign), with the column and ADC capacitances of
  ``cosim.calibration.amplifiers.AmpConditions``, unless a fixed
  ``active_s`` is given.

:func:`simulated_table` puts these figures into an energy table in place of
the cited ones (origin ``simulated``); :func:`simulate_amplifiers` also
returns the conversion times (:class:`AmplifierTiming`) that replace the
assumed amplifier time of a conversion (:func:`retimed`). Every ngspice deck,
log and raw file is kept in the given folder so each figure traces to its run.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from circuits.analyses import Tran
from circuits.crossbar import CrossbarParams, crossbar, input_sources
from circuits.devices import V_READ_VOLT, RRAMParams
from circuits.errors import CosimError, check_range
from circuits.netlist import Netlist, num
from circuits.opamp import DEFAULT_OPAMP, OpAmpParams
from circuits.runner import run
from circuits.tia import TRANSISTOR_TIA, TIAParams
from cosim.accounting.energy import EnergyEntry, EnergyTable
from cosim.accounting.workload import Workload
from cosim.calibration.amplifiers import DEFAULT_CONDITIONS, AmpConditions, step_response

NF_READ_SIEMENS = 34.06e-6
"""NF code cell conductance (S) behind the cited 3.41 fJ."""
NF_READ_S = 10e-9
"""NF code read time (s) behind the cited 3.41 fJ."""


@dataclass(frozen=True, kw_only=True)
class ReadPulse:
    """A trapezoidal read pulse on every driven row.

    Attributes:
        v_read_volt: pulse height (V); NF code 0.1 V.
        width_s: flat top (s); NF code read time 10 ns.
        edge_s: rise and fall time (s).
        delay_s: time at 0 V before the pulse (s).
        tail_s: time simulated after the pulse ends (s), so wire capacitance
            discharges within the window.
    """

    v_read_volt: float = V_READ_VOLT
    width_s: float = NF_READ_S
    edge_s: float = 0.1e-9
    delay_s: float = 0.5e-9
    tail_s: float = 1e-9

    def __post_init__(self) -> None:
        check_range("v_read_volt", self.v_read_volt, -5.0, 5.0)
        check_range("width_s", self.width_s, 0.0, 1e-3, lo_open=True)
        check_range("edge_s", self.edge_s, 0.0, self.width_s, lo_open=True)
        check_range("delay_s", self.delay_s, 0.0, 1e-3)
        check_range("tail_s", self.tail_s, 0.0, 1e-3)

    @property
    def stop_s(self) -> float:
        return self.delay_s + 2 * self.edge_s + self.width_s + self.tail_s

    def spice(self, amplitude_volt: float) -> str:
        """The ``PULSE(...)`` of this pulse with height ``amplitude_volt``."""
        return (f"PULSE(0 {num(amplitude_volt)} {num(self.delay_s)} {num(self.edge_s)} "
                f"{num(self.edge_s)} {num(self.width_s)} 1)")


NF_PULSE = ReadPulse()


def read_energy_j(v_volt: np.ndarray | float, g_siemens: np.ndarray | float,
                  width_s: float, edge_s: float = 0.0) -> np.ndarray:
    """Energy of a trapezoidal pulse across linear conductances, ``G V^2 (width + 2 edge/3)``.

    The flat top gives ``G V^2 width`` (the NF code's ``V^2 G t``); each linear
    edge gives ``G V^2 edge / 3``.

    Args:
        v_volt: pulse heights (V), any shape broadcastable with ``g_siemens``.
        g_siemens: conductances (S).
        width_s: flat top (s).
        edge_s: rise time = fall time (s).

    Returns:
        Energies (J), the broadcast shape.
    """
    v = np.asarray(v_volt, dtype=float)
    g = np.asarray(g_siemens, dtype=float)
    return g * v**2 * (width_s + 2.0 * edge_s / 3.0)


@dataclass(frozen=True)
class SimulatedFigure:
    """One figure from an ngspice run.

    Attributes:
        value: the figure (J per event, or W).
        bench: what was simulated, in words (conditions included).
        ngspice: the ngspice version line.
        deck: the kept deck, relative to the caller's folder, or ``""``.
        conversion_s: for an amplifier, the length of one conversion the power
            is averaged over (s), its measured settling time; else ``None``.
    """

    value: float
    bench: str
    ngspice: str
    deck: str = ""
    conversion_s: float | None = None

    def source(self) -> str:
        where = f"; deck {self.deck}" if self.deck else ""
        return f"{self.ngspice} simulation: {self.bench}{where}"


def pulsed(netlist: Netlist, amplitudes_volt: dict[str, float], pulse: ReadPulse) -> Netlist:
    """``netlist`` with the DC sources named in ``amplitudes_volt`` turned into read pulses.

    Raises:
        CosimError: a named source is not a plain ``V<name> a b DC v`` line.
    """
    body = list(netlist.body)
    for name, amp in amplitudes_volt.items():
        pat = re.compile(rf"^({re.escape(name)}\s+\S+\s+\S+)\s+DC\s+\S+\s*$", re.I)
        for i, line in enumerate(body):
            m = pat.match(line)
            if m:
                body[i] = f"{m.group(1)} {pulse.spice(amp)}"
                break
        else:
            raise CosimError(f"no DC source line {name!r} to turn into a read pulse")
    return Netlist(netlist.title + ", read pulse", tuple(body), netlist.models)


def simulate_read_energy(p: CrossbarParams, pulse: ReadPulse = NF_PULSE, *,
                         v_in_volt: np.ndarray | None = None,
                         workdir: Path | None = None) -> tuple[float, int]:
    """Energy the row drivers deliver during one read pulse of crossbar ``p`` (ngspice).

    Args:
        p: the array (``c_wire_farad`` > 0 adds the wire charging energy).
        pulse: the read pulse; its height is used for every row unless
            ``v_in_volt`` gives one per row.
        v_in_volt: pulse height of each row (V), shape ``(rows,)``.
        workdir: folder to run in and keep (deck, log, raw file).

    Returns:
        ``(energy_j, cells)``: total energy (J) and the number of cells read.
    """
    from circuits.runner import ngspice_version  # noqa: F401  (looked up at run time)

    v = np.full(p.rows, pulse.v_read_volt) if v_in_volt is None else np.asarray(v_in_volt, float)
    net = pulsed(crossbar(p, np.zeros(p.rows)),
                 dict(zip(input_sources(p), map(float, v), strict=True)), pulse)
    step = pulse.edge_s / 5.0
    res = run(net, Tran(step_s=step, stop_s=pulse.stop_s), workdir=workdir)
    t = res.data["time [s]"].to_numpy()
    energy = 0.0
    for r, src in enumerate(input_sources(p)):
        power = -res.v(f"in{r}") * res.i(src)
        energy += float(np.trapezoid(power, t))
    return energy, int(p.g_siemens.size * (2 if p.differential else 1))


@functools.cache
def _ngspice() -> str:
    from circuits.runner import ngspice_version

    return ngspice_version()


@dataclass(frozen=True, kw_only=True)
class CellReadBench:
    """The cell whose read energy goes into the table.

    Attributes:
        cell: ``"1T1R"`` (access NMOS, FreePDK45 BSIM4) or ``"0T1R"``.
        g_siemens: cell conductance (S); NF code 34.06 uS.
        pulse: the read pulse; NF code 0.1 V, 10 ns.
    """

    cell: str = "1T1R"
    g_siemens: float = NF_READ_SIEMENS
    pulse: ReadPulse = NF_PULSE

    def params(self) -> CrossbarParams:
        return CrossbarParams(g_siemens=np.array([[self.g_siemens]]), cell=self.cell,
                              r_wire_bl_ohm=0.0, r_wire_sl_ohm=0.0,
                              rram=RRAMParams(g_max_siemens=max(200e-6, self.g_siemens)))


def cell_read_figure(bench: CellReadBench = CellReadBench(), *,
                     workdir: Path | None = None) -> SimulatedFigure:
    """Simulated energy of one cell read (J)."""
    e, cells = simulate_read_energy(bench.params(), bench.pulse, workdir=workdir)
    pl = bench.pulse
    exact = float(read_energy_j(pl.v_read_volt, bench.g_siemens, pl.width_s, pl.edge_s))
    text = (f"one {bench.cell} cell (circuits.crossbar, linear RRAM, G = "
            f"{bench.g_siemens * 1e6:.4g} uS) read by a {pl.v_read_volt:g} V pulse, "
            f"{pl.width_s * 1e9:g} ns flat + {pl.edge_s * 1e9:g} ns edges; energy = integral "
            f"of v(in) x i(Vin); linear-resistor value G V^2 (t + 2 t_edge/3) = "
            f"{exact * 1e15:.4g} fJ")
    return SimulatedFigure(value=e / cells, bench=text, ngspice=_ngspice(),
                           deck=_rel(workdir))


@dataclass(frozen=True, kw_only=True)
class VcmacBench:
    """The VCMAC chain whose supply power goes into the table.

    Attributes:
        n_columns: bit columns of the chain; 12, the NF MVM test's weight bits.
        code: switch code; 5 gives s = 1.5 (1 + 0.4 + 0.1), the NF HAPO optimum.
        i_column_a: input current of every column (A); 0.5 uA, so that the
            last stage of a 12-column chain at s = 1.5 carries 86 uA, inside
            the transistor-level stage's range where its ratio is within 1 %
            of nominal (it ends near 160 uA; at 1 uA per column the last
            stages would carry 171 uA). The supply power grows about
            linearly with it.
        sweep_a: input-current range of the one-stage sweep (A).
        transistor_level: regulation amplifiers at transistor level
            (``circuits.vcmac.VCMAC_OTA``, supply current included, settling
            measured); False: the behavioural ones (no supply current, no
            settling: the conversion time stays the assumed one).
    """

    n_columns: int = 12
    code: int = 5
    i_column_a: float = 0.5e-6
    sweep_a: tuple[float, float] = (1e-8, 1e-3)
    transistor_level: bool = True

    def params(self) -> object:
        """The VCMAC of this bench (``circuits.vcmac.VCMACParams``)."""
        from circuits.vcmac import VCMAC_OTA, VCMACParams

        return VCMACParams(code=self.code, amp=VCMAC_OTA if self.transistor_level else None)


def vcmac_figure(bench: VcmacBench = VcmacBench(), *,
                 workdir: Path | None = None) -> SimulatedFigure:
    """Simulated supply power of one active VCMAC chain (W).

    One ngspice run of the one-stage bench (:func:`circuits.vcmac.vcmac_stage`)
    sweeps its input current log-spaced over ``bench.sweep_a`` and records the
    supply power ``VDD * -i(Vdd)`` and the ratio ``i(Vout) / i(Vsense_in)``
    at each current. A chain of ``n`` columns is ``n - 1`` such stages, each
    holding its input and output nodes at v_ref exactly as the bench does
    (``circuits.vcmac``): stage k carries ``I_node_k = I_k + ratio *
    I_node_(k-1)`` and draws ``P(I_node_k)`` (interpolated in log current).
    The whole chain in one deck is too slow to solve in ngspice 39 beyond a
    few columns; for 4 columns the two agree within 0.3 %.

    Raises:
        CosimError: a stage current leaves the range where the measured ratio
            is within 1 % of nominal (the mirrors saturate), or the simulation fails.
    """
    from circuits.vcmac import INPUT_SENSE, OUTPUT_SOURCE, CurrentSweep, vcmac_stage

    p = bench.params()
    lo, hi = bench.sweep_a
    sweep = CurrentSweep(i_lo_a=lo, i_hi_a=hi, points=51)
    res = run(vcmac_stage(p, sweep=sweep), sweep.analysis(), workdir=workdir)
    i_in = np.abs(res.i(INPUT_SENSE))
    power = -res.v("vdd") * res.i("Vdd")
    ratio = res.i(OUTPUT_SOURCE) / res.i(INPUT_SENSE)
    ok = np.abs(ratio / p.nominal - 1.0) <= 0.01
    top = float(i_in[ok].max()) if ok.any() else 0.0
    node, total = 0.0, 0.0
    for k in range(bench.n_columns - 1):
        node = bench.i_column_a + (node * float(np.interp(np.log(node), np.log(i_in), ratio))
                                   if k else 0.0)
        if not (i_in.min() <= node <= top):
            raise CosimError(
                f"VCMAC stage {k} carries {node:.3g} A, outside the simulated stage's linear "
                f"range [{i_in.min():.3g}, {top:.3g}] A; lower i_column_a or n_columns")
        total += float(np.interp(np.log(node), np.log(i_in), power))
    conversion = None
    if bench.transistor_level:
        from cosim.calibration.vcmac import SETTLE_STEP, vcmac_settling

        settle, _ = vcmac_settling(p, [bench.code], workers=1,
                                   workdir=None if workdir is None else Path(workdir) / "settling")
        conversion = float(settle["settle_s"].iloc[0])
        amps = (f"transistor-level regulation amplifiers (five-transistor OTAs, their supply "
                f"current included); one conversion = the stage's 0.1 % settling time after "
                f"an input step {SETTLE_STEP.i_from_a * 1e6:g} -> {SETTLE_STEP.i_to_a * 1e6:g} "
                f"uA (.tran): {conversion * 1e9:.4g} ns")
    else:
        amps = "behavioural regulation amplifiers (they draw no supply current)"
    text = (f"circuits.vcmac.vcmac_stage (code {bench.code}, s = {p.nominal:g}) swept "
            f"{lo:g}..{hi:g} A in one DC run; chain of {bench.n_columns} columns with "
            f"{bench.i_column_a * 1e6:g} uA into every column composed from {bench.n_columns - 1} "
            f"stages: supply power VDD x I(Vdd) = {total * 1e3:.4g} mW; {amps}")
    return SimulatedFigure(value=total, bench=text, ngspice=_ngspice(), deck=_rel(workdir),
                           conversion_s=conversion)


NF_AMPLIFIER_S = 100e-9
"""NF code amplifier active time per conversion (s) behind the cited 14.75 pJ."""

HAQ_ROWS = 100
"""Rows of the NF paper's HAQ MVM test (vector length 100)."""


@dataclass(frozen=True, kw_only=True)
class TiaBench:
    """The TIA conversion whose supply power goes into the table.

    Attributes:
        opamp: the transistor-level op-amp (default ``circuits.opamp.DEFAULT_OPAMP``
            in ``circuits.tia.TRANSISTOR_TIA``), or ``None`` for the macro-model
            with its supply pins (the fast option).
        supply_volt: op-amp rails ``(v_dd, v_ss)`` (V); +-0.55 V, the 1.1 V 40 nm
            core supply split about the 0 V reference (``circuits.tia``).
        i_q_a: the macro-model's quiescent current (A); 73.75 uA, the NF code's
            amplifier current (assumed, see ``device_models/opamp.lib``). The
            transistor-level op-amp's own bias currents are simulated instead.
        i_column_a: column current the TIA reads (A); positive flows into the
            TIA input, so the op-amp sinks it into ``v_ss``. Default: a
            100-row column of the HAQ MVM with half its cells at the NF code's
            34.06 uS, read at 0.1 V: 100 x 0.5 x 34.06 uS x 0.1 V = 170.3 uA.
        active_s: one conversion (s), or ``None`` (default): the TIA's measured
            0.1 % settling time of a full-scale step, the slower sign
            (``cosim.calibration.amplifiers``): the latency of a conversion.
        conditions: the column and load capacitances of the transients.
    """

    opamp: OpAmpParams | None = DEFAULT_OPAMP
    supply_volt: tuple[float, float] = (0.55, -0.55)
    i_q_a: float = 73.75e-6
    i_column_a: float = HAQ_ROWS * 0.5 * NF_READ_SIEMENS * V_READ_VOLT
    active_s: float | None = None
    conditions: AmpConditions = DEFAULT_CONDITIONS

    def __post_init__(self) -> None:
        check_range("i_column_a", self.i_column_a, -1.0, 1.0)
        if self.active_s is not None:
            check_range("active_s", self.active_s, 0.0, 1e-3, lo_open=True)
        self.params()  # the rails and quiescent current are checked there

    def params(self) -> TIAParams:
        """The TIA on this bench's rails: ``TRANSISTOR_TIA`` with this op-amp, or the
        default macro-model TIA with its supply on and this quiescent current."""
        v_dd, v_ss = self.supply_volt
        if self.opamp is not None:
            return replace(TRANSISTOR_TIA, opamp=self.opamp, v_dd_volt=v_dd, v_ss_volt=v_ss)
        return TIAParams(supply=True, v_dd_volt=v_dd, v_ss_volt=v_ss, i_q_a=self.i_q_a)


def tia_conversion_s(p: TIAParams, conditions: AmpConditions = DEFAULT_CONDITIONS) -> float:
    """The TIA's conversion time (s): 0.1 % settling of a full-scale current step, the
    slower of the two signs (``.tran`` of the TIA bench)."""
    fs = p.i_linear_max_a
    return max(step_response(p, fs, conditions=conditions).settle_s,
               step_response(p, -fs, conditions=conditions).settle_s)


def tia_figure(bench: TiaBench = TiaBench(), *,
               workdir: Path | None = None) -> SimulatedFigure:
    """Simulated supply power of one active TIA (W), averaged over one conversion.

    One transient of :func:`circuits.tia.tia` with the column current
    ``bench.i_column_a`` stepping on (0.1 ns edge) into the input, the
    column and load capacitances of ``bench.conditions`` on; the power the
    rails deliver, ``-(v(tvdd) i(Vddtia) + v(tvss) i(Vsstia))``, is
    integrated over one conversion from the step and divided by its length.
    Energy per conversion is this power times ``conversion_s``.

    Raises:
        CosimError: the simulation fails or the TIA does not settle in the window.
    """
    p = bench.params()
    conv = bench.active_s if bench.active_s is not None else tia_conversion_s(p, bench.conditions)
    if not np.isfinite(conv):
        raise CosimError("the TIA did not settle to 0.1 % within the transient window")
    cond = bench.conditions
    if conv > cond.settle_window_s:
        cond = replace(cond, settle_window_s=conv * 1.05)
    r = step_response(p, bench.i_column_a, conditions=cond, workdir=workdir)
    energy = r.energy_j(conv)
    watts = energy / conv
    how = ("its measured 0.1 % settling time of a full-scale step"
           if bench.active_s is None else "a fixed window")
    if p.transistor_level:
        q = (f"{p.amplifier.describe()}, its bias currents simulated")
    else:
        q = (f"op-amp macro-model opamp_sup (device_models/opamp.lib, assumed figures), iq "
             f"{p.i_q_a * 1e6:.4g} uA")
    text = (f"circuits.tia.tia (Rf {num(p.r_f_ohm)} ohm || {p.c_f_farad * 1e12:g} pF, {q}, "
            f"rails {p.v_dd_volt:g} / {p.v_ss_volt:g} V; {cond.describe()}) reading a column "
            f"current step of {bench.i_column_a * 1e6:.4g} uA (.tran); one conversion = "
            f"{how}, {conv * 1e9:.4g} ns; supply power -(v(tvdd) i(Vddtia) + v(tvss) "
            f"i(Vsstia)) integrated over it: {energy * 1e12:.4g} pJ per conversion, "
            f"{watts * 1e6:.4g} uW while active")
    return SimulatedFigure(value=watts, bench=text, ngspice=_ngspice(), deck=_rel(workdir),
                           conversion_s=float(conv))


def _rel(workdir: Path | None) -> str:
    if workdir is None:
        return ""
    parts = Path(workdir).parts
    return "/".join(parts[-2:]) + "/deck.cir"


@dataclass(frozen=True, kw_only=True)
class AmplifierTiming:
    """Conversion times of the amplifiers from simulation (s), ``None`` where not simulated.

    Attributes:
        tia_s: the TIA's conversion (its 0.1 % settling time).
        vcmac_s: the VCMAC stage's conversion (its 0.1 % settling time).
        source: how they were found, for notes.
    """

    tia_s: float | None = None
    vcmac_s: float | None = None
    source: str = ""

    def conversion_s(self, uses_vcmac: bool) -> float | None:
        """One conversion of a workload: the TIA's, or the slower of TIA and VCMAC when
        its bit columns are summed by the VCMAC (both are active until both settle)."""
        times = [t for t in (self.tia_s, self.vcmac_s if uses_vcmac else None) if t is not None]
        return max(times) if times else None


def retimed(w: Workload, timing: AmplifierTiming) -> Workload:
    """``w`` with the amplifier time of a conversion replaced by the simulated one.

    The workload counted ``conversions x w.timing.amplifier_active_s`` of TIA
    (and VCMAC) activity; with the simulated conversion time
    (:meth:`AmplifierTiming.conversion_s`) both ``*_active_s`` counters are
    scaled by new / old time and the timing (hence the latency) takes the
    new time. Unchanged when nothing was simulated.
    """
    ev, old = w.events, w.timing
    new = timing.conversion_s(ev.vcmac_active_s > 0)
    if new is None or new == old.amplifier_active_s:
        return w
    k = new / old.amplifier_active_s
    events = replace(ev, tia_active_s=ev.tia_active_s * k, vcmac_active_s=ev.vcmac_active_s * k)
    return replace(w, events=events, timing=replace(old, amplifier_active_s=new))


def simulated_table(table: EnergyTable, *, workdir: Path | None = None,
                    cell_bench: CellReadBench = CellReadBench(),
                    vcmac_bench: VcmacBench = VcmacBench(),
                    tia_bench: TiaBench = TiaBench()) -> EnergyTable:
    """``table`` with the cell-read, VCMAC and TIA rows simulated (:func:`simulate_amplifiers`)."""
    return simulate_amplifiers(table, workdir=workdir, cell_bench=cell_bench,
                               vcmac_bench=vcmac_bench, tia_bench=tia_bench)[0]


def simulate_amplifiers(table: EnergyTable, *, workdir: Path | None = None,
                        cell_bench: CellReadBench = CellReadBench(),
                        vcmac_bench: VcmacBench = VcmacBench(),
                        tia_bench: TiaBench = TiaBench()) -> tuple[EnergyTable, AmplifierTiming]:
    """``table`` with the cell-read, VCMAC and TIA rows simulated, and the amplifiers'
    simulated conversion times.

    A figure that cannot be simulated (ngspice missing or failing) keeps its
    cited row, and the reason is added to the table's notes.

    Args:
        table: the table to start from (usually :meth:`EnergyTable.cited`).
        workdir: folder under which each bench's ngspice folder is kept
            (``cell_read/``, ``vcmac/``, ``tia/``); ``None`` keeps nothing.
        cell_bench: the cell read.
        vcmac_bench: the VCMAC chain.
        tia_bench: the TIA conversion.
    """
    def sub(name: str) -> Path | None:
        return None if workdir is None else Path(workdir) / name

    out = table
    jobs = (("cell_read", lambda: cell_read_figure(cell_bench, workdir=sub("cell_read")),
             "energy_j"),
            ("vcmac", lambda: vcmac_figure(vcmac_bench, workdir=sub("vcmac")), "power_w"),
            ("tia", lambda: tia_figure(tia_bench, workdir=sub("tia")), "power_w"))
    times: dict[str, float | None] = {"tia": None, "vcmac": None}
    for comp, make, unit in jobs:
        old = out[comp]
        try:
            fig = make()
        except CosimError as exc:
            first = str(exc).splitlines()[0]
            out = out.with_notes(f"{comp}: simulation failed ({first}); cited figure kept")
            continue
        note = (f"replaces the {old.origin} figure {old.per_unit:.4g} "
                f"{old.unit} ({old.source.split(':')[0]})")
        if fig.conversion_s is not None:
            times[comp] = fig.conversion_s
            note += (f"; energy per conversion {fig.value * fig.conversion_s * 1e12:.4g} pJ "
                     f"over {fig.conversion_s * 1e9:.4g} ns")
        entry = EnergyEntry(component=comp, counter=old.counter, origin="simulated",
                            source=fig.source(), **{unit: fig.value}, note=note)
        out = out.replaced(entry)
    parts = [f"{k.upper()} {v * 1e9:.4g} ns" for k, v in times.items() if v is not None]
    timing = AmplifierTiming(tia_s=times["tia"], vcmac_s=times["vcmac"],
                             source=("simulated amplifier conversion (0.1 % settling): "
                                     + ", ".join(parts)) if parts else "")
    return out, timing
