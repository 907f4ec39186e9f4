"""The one description of the hardware a run simulates: :class:`HardwareSpec`.

Composed of small frozen specs, each a group of a preset file
(``cosim/hardware/presets/*.toml``) and of the main job's ``[hardware]``
section:

- :class:`CellSpec` (``cell``): the cell kind (an object,
  :mod:`circuits.cells`), the RRAM device with its read I-V law (an object,
  :data:`circuits.devices.IV_LAWS`) and the access transistor;
- :class:`ArraySpec` (``array``): macro size, wire resistance per cell segment,
  driver and sense resistance, and the placement policy;
- :class:`ReadoutSpec` (``readout``): virtual ground or a TIA per column, read
  voltage, DAC and ADC;
- :class:`NoiseSpec` (``noise``): write (programming), read and forming noise;
- :class:`ProgrammingSpec` (``programming``): how HAQ verifies its writes;
- :class:`AggregationSpec` (``aggregation``): bit columns summed digitally or
  by the VCMAC chain.

The dataclass defaults are the ``realistic`` preset (the seeds' 40 nm 1T1R
chip with its wires and readout); each default names its source. How a run is
simulated (backend, exact solves, cache, ngspice workers) is not hardware: it is
:class:`cosim.engine.options.SimOptions`.

This module is a leaf: it imports :mod:`circuits` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from circuits.cells import ONE_T_ONE_R, CellKind, cell_kind
from circuits.crossbar import MACRO_COLS, MACRO_ROWS, READOUTS
from circuits.devices import (
    ACCESS_45NM,
    FORMED_TAOX,
    TAOX_40NM,
    V_READ_VOLT,
    AccessParams,
    FormingNoise,
    RRAMParams,
)
from circuits.errors import ConfigError, check_choice, check_int, check_range
from circuits.interconnect import R_WIRE_40NM_OHM, WIRE_40NM
from circuits.settings import to_mapping
from circuits.tia import DEFAULT_TIA, TIAParams

PLACEMENTS = ("ir_aware", "full")
VERIFY_READS = ("transfer", "exact", "first_order")
AGGREGATIONS = ("digital", "analog")
MAX_HAQ_PASSES = 32
"""Most HAQ programming passes (the first plus re-verify passes)."""
READOUT_WORDS = {"tia": "TIA", "virtual_ground": "virtual-ground"}
MIN_CONVERTER_BITS = 2
"""Fewest bits of a signed mid-tread DAC or ADC (one level each side of zero)."""
MAX_CONVERTER_BITS = 32
DEFAULT_MIN_UNIFORMITY = 0.97
"""Least ratio of the worst cell's attenuation to the block's mean an IR-aware
placement keeps (:mod:`cosim.engine.placement`)."""
MEASURED_LRS_WRITE_NOISE = 0.187
"""LRS write noise, a fraction of g_LRS: NF paper Fig. 2a, 5.46 / 29.22 uS after one SET."""


@dataclass(frozen=True, kw_only=True)
class CellSpec:
    """``cell``: one crossbar cell.

    Attributes:
        kind: the cell kind (:data:`circuits.cells.CELLS`; a name is looked up):
            ``1T1R`` (the seeds' chip) or ``0T1R`` (the NF paper's simulations).
        rram: the RRAM device: LRS/HRS levels, device range, read I-V law.
        access: the access transistor of cells that have one.
    """

    kind: CellKind = field(default=ONE_T_ONE_R,
                           metadata={"parse": cell_kind, "dump": lambda c: c.name})
    rram: RRAMParams = TAOX_40NM
    access: AccessParams = ACCESS_45NM

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", cell_kind(self.kind))
        for name, cls in (("rram", RRAMParams), ("access", AccessParams)):
            if not isinstance(getattr(self, name), cls):
                raise ConfigError(f"cell.{name} must be a table of {cls.__name__} fields")


@dataclass(frozen=True, kw_only=True)
class ArraySpec:
    """``array``: the physical macros and their wires.

    Attributes:
        macro_rows: rows of one macro; 512, the seeds' 512 x 512 macro.
        macro_cols: physical columns of one macro (a differential pair takes two).
        r_wire_ohm: wire resistance per cell segment of bit and source lines (ohm);
            1.06 is a 40 nm copper line at 2F pitch (:mod:`circuits.interconnect`,
            NeuroSim's table); 0 is ideal wires.
        r_driver_ohm: output resistance of each row driver (ohm).
        r_sense_ohm: series resistance from each column into its readout (ohm).
        placement: ``ir_aware`` (use only as many rows and columns of each macro as
            keep every cell's attenuation within ``min_uniformity`` of the block's
            mean; :mod:`cosim.engine.placement`) or ``full`` (every row and column).
        min_uniformity: the IR-aware placement's bound, in [0, 1].
    """

    macro_rows: int = MACRO_ROWS
    macro_cols: int = MACRO_COLS
    r_wire_ohm: float = R_WIRE_40NM_OHM
    r_driver_ohm: float = 0.0
    r_sense_ohm: float = 0.0
    placement: str = "ir_aware"
    min_uniformity: float = DEFAULT_MIN_UNIFORMITY

    def __post_init__(self) -> None:
        check_int("macro_rows", self.macro_rows, 1, 4096)
        check_int("macro_cols", self.macro_cols, 1, 4096)
        for name in ("r_wire_ohm", "r_driver_ohm", "r_sense_ohm"):
            check_range(name, getattr(self, name), 0.0, 1e6)
        check_choice("placement", self.placement, PLACEMENTS)
        check_range("min_uniformity", self.min_uniformity, 0.0, 1.0)

    @property
    def wire_source(self) -> str:
        """Where the wire figure comes from."""
        if self.r_wire_ohm == 0:
            return "ideal wires"
        if self.r_wire_ohm == R_WIRE_40NM_OHM:
            return WIRE_40NM.source
        return "set in the hardware spec"


@dataclass(frozen=True, kw_only=True)
class ReadoutSpec:
    """``readout``: what turns column currents into numbers.

    Attributes:
        kind: ``tia`` (a transimpedance amplifier per physical column, sized to its
            placed block; :mod:`cosim.engine.readout`) or ``virtual_ground`` (ideal).
        tia: the TIA (its feedback resistor is re-sized to each placed block).
        v_read_volt: row voltage of input 1.0, the DAC's full scale (V); 0.1 V,
            the NF code's read voltage.
        dac_bits: input DAC resolution (signed, mid-tread); ``None`` is ideal.
        adc_bits: output ADC resolution (signed, mid-tread); ``None`` is ideal.
        adc_full_scale_a: current of the ADC's top code (A); ``None`` is the TIA's
            linear range, or ``v_read * g_LRS * rows`` with a virtual ground.
    """

    kind: str = "tia"
    tia: TIAParams = DEFAULT_TIA
    v_read_volt: float = V_READ_VOLT
    dac_bits: int | None = None
    adc_bits: int | None = None
    adc_full_scale_a: float | None = None

    def __post_init__(self) -> None:
        check_readout(self.kind, self.tia)
        check_range("v_read_volt", self.v_read_volt, 0.0, 2.0, lo_open=True)
        for name in ("dac_bits", "adc_bits"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), MIN_CONVERTER_BITS, MAX_CONVERTER_BITS)
        if self.adc_full_scale_a is not None:
            check_range("adc_full_scale_a", self.adc_full_scale_a, 0.0, 1.0, lo_open=True)


@dataclass(frozen=True, kw_only=True)
class NoiseSpec:
    """``noise``: the device's randomness.

    Attributes:
        write: LRS write-noise std, a fraction of g_LRS, drawn once per write;
            0.187 measured (NF paper Fig. 2a); the NF code simulates 0.15.
        write_hrs: HRS write-noise std, a fraction of g_HRS (the NF code: 0).
        read: read-noise amplitude (PRIME eq. 7), fresh at every read; 0.2 %
            is our assumption (the NF paper: much smaller than the write noise).
        forming: conductance of formed, unprogrammed cells (PRIME's random pairs).
    """

    write: float = MEASURED_LRS_WRITE_NOISE
    write_hrs: float = 0.0
    read: float = 0.002
    forming: FormingNoise = FORMED_TAOX

    def __post_init__(self) -> None:
        check_range("noise.write", self.write, 0.0, 10.0)
        check_range("noise.write_hrs", self.write_hrs, 0.0, 10.0)
        check_range("noise.read", self.read, 0.0, 1.0)
        if not isinstance(self.forming, FormingNoise):
            raise ConfigError("noise.forming must be a table of FormingNoise fields")


@dataclass(frozen=True, kw_only=True)
class ProgrammingSpec:
    """``programming``: how the chip writes and verifies HAQ's bits.

    Attributes:
        verify_read: ``transfer`` (the MVM's own transfer: one row driven, every
            other at 0 V), ``exact`` (each cell read alone) or ``first_order``
            (a reference array's reads scaled cell by cell);
            :class:`cosim.layers.analog.TileReadBack`.
        haq_passes: HAQ programming passes; 1 is the NF paper's scheme, more
            re-verify the weights on the array as it stands.
    """

    verify_read: str = "transfer"
    haq_passes: int = 16

    def __post_init__(self) -> None:
        check_choice("verify read", self.verify_read, VERIFY_READS)
        check_int("haq_passes", self.haq_passes, 1, MAX_HAQ_PASSES)


@dataclass(frozen=True, kw_only=True)
class AggregationSpec:
    """``aggregation``: how a weight's bit columns become one output.

    Attributes:
        kind: ``digital`` (each bit column converted, then shifted and added) or
            ``analog`` (the VCMAC chain sums them before one conversion).
        vcmac_stage_spread: relative stage-to-stage spread of the VCMAC ratio.
        vcmac_correction: program HAQ with the VCMAC's measured ratio (absorbing
            its ratio error) rather than the nominal one.
    """

    kind: str = "digital"
    vcmac_stage_spread: float = 0.0
    vcmac_correction: bool = True

    def __post_init__(self) -> None:
        check_choice("aggregation", self.kind, AGGREGATIONS)
        check_range("vcmac_stage_spread", self.vcmac_stage_spread, 0.0, 0.5)
        if not isinstance(self.vcmac_correction, bool):
            raise ConfigError(f"vcmac_correction must be true or false, got "
                              f"{self.vcmac_correction!r}")


def check_readout(readout: str, tia: object) -> None:
    """Refuse a readout a tile cannot use, with a one-line ``ConfigError``.

    The TIA must be a ``TIAParams`` (its own fields are checked when it is
    made) with its input held at 0 V, where the DAC's row voltages are
    referred, and a non-empty linear range.
    """
    check_choice("readout", readout, READOUTS)
    if not isinstance(tia, TIAParams):
        raise ConfigError(f"tia must be a circuits.tia.TIAParams, got {type(tia).__name__}")
    if readout != "tia":
        return
    if tia.v_ref_volt != 0.0:
        raise ConfigError(f"tia.v_ref_volt must be 0 V in a tile (the DAC drives the rows "
                          f"around 0 V), got {tia.v_ref_volt:g} V")
    if tia.i_linear_max_a <= 0:
        lo, hi = tia.n1_linear_volt
        raise ConfigError(f"the TIA has no linear range: its swing [{tia.v_out_min_volt:g}, "
                          f"{tia.v_out_max_volt:g}] V less the clamp's knees leaves "
                          f"[{lo:g}, {hi:g}] V around v_ref {tia.v_ref_volt:g} V with offset "
                          f"{tia.v_os_volt:g} V")



_GROUPS = {"cell": CellSpec, "array": ArraySpec, "readout": ReadoutSpec, "noise": NoiseSpec,
           "programming": ProgrammingSpec, "aggregation": AggregationSpec}


@dataclass(frozen=True, kw_only=True)
class HardwareSpec:
    """The hardware a run simulates (module docstring); defaults: the ``realistic`` preset.

    Attributes:
        name: what outputs call it (a preset's name, or ``custom``).
        cell, array, readout, noise, programming, aggregation: its parts.
    """

    name: str = "realistic"
    cell: CellSpec = CellSpec()
    array: ArraySpec = ArraySpec()
    readout: ReadoutSpec = ReadoutSpec()
    noise: NoiseSpec = NoiseSpec()
    programming: ProgrammingSpec = ProgrammingSpec()
    aggregation: AggregationSpec = AggregationSpec()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError(f"hardware name must be a non-empty string, got {self.name!r}")
        for name, cls in _GROUPS.items():
            if not isinstance(getattr(self, name), cls):
                raise ConfigError(f"hardware.{name} must be a table of {cls.__name__} fields")

    @property
    def rram(self) -> RRAMParams:
        return self.cell.rram

    @property
    def v_read_volt(self) -> float:
        return self.readout.v_read_volt

    def describe(self) -> str:
        """The hardware in one line (for every output that names it)."""
        a, r, p = self.array, self.readout, self.programming
        wires = f"{a.r_wire_ohm:g} ohm/segment wires" if a.r_wire_ohm else "no wires"
        conv = "".join(f", {b}-bit {what}" for what, b in (("DAC", r.dac_bits),
                                                            ("ADC", r.adc_bits)) if b)
        return (f"{self.name}: {self.cell.kind.name} cells ({self.cell.rram.iv.describe()} "
                f"RRAM), {wires}, {READOUT_WORDS[r.kind]} readout at "
                f"{r.v_read_volt:g} V{conv}, {a.placement.replace('_', '-')} placement in "
                f"{a.macro_rows} x {a.macro_cols} macros, HAQ {p.haq_passes} pass"
                f"{'es' if p.haq_passes > 1 else ''} ({p.verify_read.replace('_', ' ')} "
                f"verify), {self.aggregation.kind} aggregation, write noise "
                f"{self.noise.write:g}, read noise {self.noise.read:g}")

    def as_dict(self, *, none: Any = None) -> dict[str, Any]:
        """Every field, as a table :func:`cosim.hardware.presets.hardware_from_mapping`
        reads back (``none``: what unset optional values become)."""
        return to_mapping(self, none=none)

    def with_parts(self, **parts: dict[str, Any]) -> HardwareSpec:
        """This hardware with fields of its parts replaced:
        ``hw.with_parts(noise={"read": 0.0}, array={"r_wire_ohm": 2.5})``."""
        changed = {}
        for group, values in parts.items():
            if group not in _GROUPS:
                raise ConfigError(f"unknown hardware part {group!r} (parts: "
                                  f"{', '.join(_GROUPS)})")
            changed[group] = replace(getattr(self, group), **values)
        return replace(self, **changed)

    def with_block(self, rows_used: int, cols_used: int, tia: TIAParams) -> HardwareSpec:
        """This hardware with the macro cut to a placed block and the TIA re-sized."""
        return replace(self, array=replace(self.array, macro_rows=int(rows_used),
                                           macro_cols=int(cols_used)),
                       readout=replace(self.readout, tia=tia))
