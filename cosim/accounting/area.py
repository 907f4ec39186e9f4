"""Area ledger: silicon area of the arrays, their periphery and the digital core.

Figures per block come from two places, each row saying which:

- ``netlist``: summed gate area ``m * W * L`` of the transistors in this
  toolkit's generated netlists (TIA: ``circuits.tia``; VCMAC: ``circuits.vcmac``)
  times a stated layout factor, plus capacitors at a stated density; the
  behavioural amplifiers of those netlists count as one op-amp core each;
- ``derived``: cited block areas scaled to 40 nm (``cosim/accounting/data/area_blocks.csv``:
  1T1R cell, ADC, DAC, digital adder and multiplier, SRAM).

Not counted (no circuit and no cited figure here): row decoders and drivers,
control logic, clocking, I/O and wiring between macros.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd

from circuits.cells import CELLS, cell_kind
from circuits.errors import ConfigError, check_choice, check_range, did_you_mean
from circuits.netlist import Netlist, spice_number

AREA_CSV = Path(__file__).resolve().parent / "data" / "area_blocks.csv"
ORIGINS = ("netlist", "derived", "cited", "override")


@dataclass(frozen=True, kw_only=True)
class Hardware:
    """The hardware a workload occupies, as counts of blocks.

    Attributes:
        arrays: RRAM macros.
        rows_per_array: rows of one macro.
        cols_per_array: physical columns of one macro.
        cell: ``"1T1R"`` or ``"0T1R"``.
        dacs: input DACs (one per macro row).
        tias: TIAs (one per ADC input channel).
        vcmac_columns: VCMAC column stages (one per physical column with analog
            aggregation, else 0).
        adcs: ADCs (shared by ``columns_per_adc`` TIAs through a MUX).
        adders: 32-bit digital adders (one accumulator per ADC).
        multipliers: 32-bit digital multipliers.
        sram_kib: on-chip SRAM buffer (KiB).
    """

    arrays: int = 1
    rows_per_array: int = 512
    cols_per_array: int = 512
    cell: str = "1T1R"
    dacs: int = 512
    tias: int = 64
    vcmac_columns: int = 0
    adcs: int = 8
    adders: int = 8
    multipliers: int = 1
    sram_kib: float = 0.0

    def __post_init__(self) -> None:
        check_choice("cell", self.cell, CELLS)
        for f in fields(self):
            if f.name == "cell":
                continue
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ConfigError(f"hardware {f.name} must be a number, got {v!r}")
            check_range(f"hardware {f.name}", float(v), 1.0 if f.name.endswith("array")
                        or f.name == "arrays" else 0.0)

    @property
    def cells(self) -> int:
        return self.arrays * self.rows_per_array * self.cols_per_array

    def __add__(self, other: Hardware) -> Hardware:
        if (self.rows_per_array, self.cols_per_array, self.cell) != \
                (other.rows_per_array, other.cols_per_array, other.cell):
            raise ConfigError("cannot add hardware with different macro sizes or cells")
        summed = {f.name: getattr(self, f.name) + getattr(other, f.name)
                  for f in fields(self)
                  if f.name not in ("rows_per_array", "cols_per_array", "cell")}
        return Hardware(rows_per_array=self.rows_per_array, cols_per_array=self.cols_per_array,
                        cell=self.cell, **summed)


@dataclass(frozen=True, kw_only=True)
class LayoutAssumptions:
    """How gate area in a netlist becomes layout area (stated assumptions).

    Attributes:
        layout_factor: drawn area / summed gate area ``m*W*L``; 10, assumed
            (diffusion, contacts, spacing, wells and local routing around the
            gates of an analog block; analog layouts are commonly 5-20x).
        cap_density_f_per_um2: capacitor density (F/um^2); 2 fF/um^2, assumed
            (a MIM option of 40-65 nm processes).
        opamp_devices: transistors of one op-amp core (a two-stage Miller op-amp
            has 8); a behavioural amplifier in a netlist counts as one core.
        opamp_device_w_um: width of each op-amp device (um); 2 um, the VCMAC's
            unit mirror device (``circuits.vcmac.VCMACParams`` default).
        opamp_device_l_um: length of each op-amp device (um); 1 um, as above.
    """

    layout_factor: float = 10.0
    cap_density_f_per_um2: float = 2e-15
    opamp_devices: int = 8
    opamp_device_w_um: float = 2.0
    opamp_device_l_um: float = 1.0

    def __post_init__(self) -> None:
        check_range("layout_factor", self.layout_factor, 1.0, 100.0)
        check_range("cap_density_f_per_um2", self.cap_density_f_per_um2, 0.0, 1e-13,
                    lo_open=True)
        check_range("opamp_devices", self.opamp_devices, 1, 100)
        check_range("opamp_device_w_um", self.opamp_device_w_um, 0.0, 100.0, lo_open=True)
        check_range("opamp_device_l_um", self.opamp_device_l_um, 0.0, 100.0, lo_open=True)

    @property
    def opamp_core_um2(self) -> float:
        """Layout area of one op-amp core (um^2)."""
        return (self.opamp_devices * self.opamp_device_w_um * self.opamp_device_l_um
                * self.layout_factor)


LAYOUT = LayoutAssumptions()


@dataclass(frozen=True, kw_only=True)
class AreaEntry:
    """Area of one block.

    Attributes:
        block: block name (``"adc"``, ``"tia"``, ``"cell_1t1r"``).
        area_um2: area of one block (um^2).
        origin: one of ``ORIGINS``.
        source: where the figure comes from, with any arithmetic.
        note: caveats.
    """

    block: str
    area_um2: float
    origin: str
    source: str
    note: str = ""

    def __post_init__(self) -> None:
        check_choice(f"origin of area row {self.block!r}", self.origin, ORIGINS)
        check_range(f"area_um2 of {self.block!r}", float(self.area_um2), 0.0)
        if not self.source.strip():
            raise ConfigError(f"area row {self.block!r} has no source")


@dataclass(frozen=True, kw_only=True)
class NetlistInventory:
    """What a netlist holds that takes area.

    Attributes:
        gate_area_um2: summed ``m * W * L`` of the MOSFETs (um^2).
        transistors: MOSFET count, multipliers included.
        capacitance_f: summed capacitance of the capacitors (F).
        amplifiers: behavioural amplifier instances (one op-amp core each).
    """

    gate_area_um2: float
    transistors: int
    capacitance_f: float
    amplifiers: int


AMPLIFIER_SUBCKTS = ("opamp", "opamp_sup", "vcmac_amp")


def inventory(netlist: Netlist) -> NetlistInventory:
    """Count the transistors, capacitors and behavioural amplifiers of ``netlist``."""
    gate, count, cap, amps = 0.0, 0, 0.0, 0
    depth = 0
    for raw in netlist.body:
        line = raw.strip()
        low = line.lower()
        if low.startswith(".subckt"):
            depth += 1
            continue
        if low.startswith(".ends"):
            depth -= 1
            continue
        if depth or not line or line.startswith("*"):
            continue
        words = line.split()
        kind = words[0][0].upper()
        if kind == "M":
            params = {k.lower(): v for k, _, v in (w.partition("=") for w in words if "=" in w)}
            w_m, l_m = spice_number(params.get("w", "0")), spice_number(params.get("l", "0"))
            m = int(float(params.get("m", "1")))
            gate += m * w_m * l_m * 1e12
            count += m
        elif kind == "C" and len(words) >= 4:
            cap += spice_number(words[3])
        elif kind == "X" and any(w.lower() in AMPLIFIER_SUBCKTS for w in words[1:]):
            amps += 1
    return NetlistInventory(gate_area_um2=gate, transistors=count, capacitance_f=cap,
                            amplifiers=amps)


def netlist_area(name: str, netlist: Netlist, generator: str,
                 layout: LayoutAssumptions = LAYOUT) -> AreaEntry:
    """Area of the circuit in ``netlist`` from its devices (origin ``netlist``).

    ``layout_factor * sum(m W L) + capacitance / density + amplifiers * op-amp core``.
    """
    inv = inventory(netlist)
    gates = inv.gate_area_um2 * layout.layout_factor
    caps = inv.capacitance_f / layout.cap_density_f_per_um2
    amps = inv.amplifiers * layout.opamp_core_um2
    parts = []
    if inv.transistors:
        parts.append(f"{inv.transistors} MOSFETs, sum m*W*L = {inv.gate_area_um2:.4g} um^2 x "
                     f"layout factor {layout.layout_factor:g} (assumed)")
    if inv.capacitance_f:
        parts.append(f"{inv.capacitance_f * 1e12:.4g} pF at "
                     f"{layout.cap_density_f_per_um2 * 1e15:g} fF/um^2 (assumed MIM)")
    if inv.amplifiers:
        parts.append(f"{inv.amplifiers} behavioural amplifier(s) x op-amp core "
                     f"{layout.opamp_core_um2:.4g} um^2 ({layout.opamp_devices} devices of "
                     f"{layout.opamp_device_w_um:g} x {layout.opamp_device_l_um:g} um x layout "
                     "factor, assumed two-stage op-amp)")
    return AreaEntry(block=name, area_um2=gates + caps + amps, origin="netlist",
                     source=f"{generator}: " + "; ".join(parts))


def tia_area(layout: LayoutAssumptions = LAYOUT) -> AreaEntry:
    """Area of one default TIA (``circuits.tia.DEFAULT_TIA``), from its netlist lines."""
    from circuits.tia import DEFAULT_TIA, tia_readout_lines

    lines = tia_readout_lines(DEFAULT_TIA, "0", "in0", "out0")
    return netlist_area("tia", Netlist("tia", lines), "circuits.tia.tia_readout_lines "
                        "(DEFAULT_TIA)", layout)


def vcmac_column_area(layout: LayoutAssumptions = LAYOUT) -> AreaEntry:
    """Area of one VCMAC column stage (default ``VCMACParams``), from its netlist."""
    from circuits.vcmac import VCMACParams, vcmac_stage

    return netlist_area("vcmac_column", vcmac_stage(VCMACParams()),
                        "circuits.vcmac.vcmac_stage (default VCMACParams)", layout)


@dataclass(frozen=True)
class AreaTable:
    """Area per block, each with its origin."""

    entries: tuple[AreaEntry, ...]

    @classmethod
    def default(cls, layout: LayoutAssumptions = LAYOUT) -> AreaTable:
        """Cited blocks of ``area_blocks.csv`` plus the TIA and VCMAC from our netlists."""
        rows = []
        with AREA_CSV.open(newline="") as fh:
            for r in csv.DictReader(fh):
                rows.append(AreaEntry(block=r["block"], area_um2=float(r["area_um2"]),
                                      origin=r["origin"], source=r["source"],
                                      note=r.get("note", "") or ""))
        rows += [tia_area(layout), vcmac_column_area(layout)]
        return cls(tuple(rows))

    def __getitem__(self, block: str) -> AreaEntry:
        for e in self.entries:
            if e.block == block:
                return e
        names = [e.block for e in self.entries]
        raise ConfigError(f"unknown area block {block!r}{did_you_mean(block, names)}")

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"block": e.block, "area_um2": e.area_um2, "origin": e.origin,
                              "source": e.source, "note": e.note} for e in self.entries])


def area_breakdown(hw: Hardware, table: AreaTable | None = None) -> pd.DataFrame:
    """Area of ``hw`` per block: count, area each, total (um^2 and mm^2), origin, source."""
    table = table or AreaTable.default()
    cell = cell_kind(hw.cell).area_block
    counts = [(cell, "cells", hw.cells), ("dac", "dacs", hw.dacs), ("tia", "tias", hw.tias),
              ("vcmac_column", "vcmac_columns", hw.vcmac_columns), ("adc", "adcs", hw.adcs),
              ("digital_adder", "adders", hw.adders),
              ("digital_multiplier", "multipliers", hw.multipliers),
              ("sram_kib", "sram_kib", hw.sram_kib)]
    rows = []
    for block, what, n in counts:
        e = table[block]
        rows.append({"block": block, "count_of": what, "count": float(n),
                     "area_each_um2": e.area_um2, "area_um2": n * e.area_um2,
                     "area_mm2": n * e.area_um2 * 1e-6, "origin": e.origin,
                     "source": e.source})
    df = pd.DataFrame(rows)
    total = df["area_um2"].sum()
    df["share"] = df["area_um2"] / total if total > 0 else 0.0
    return df
