"""Energy events: what a tile or workload did, counted, for the energy ledger.

Most counters cost energy and the ledger prices each (``cosim.accounting.energy``).
A few are diagnostics that cost nothing of their own (``DIAGNOSTIC_COUNTERS``,
fields marked ``metadata={"energy": False}``): a saturated conversion is one of
the ``adc_conversions`` and costs what they cost; the ledger needs no figure
for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from circuits.errors import check_range


@dataclass(frozen=True, kw_only=True)
class Events:
    """Counts of hardware events. Add two with ``+``.

    Attributes:
        cell_reads: RRAM cells read (one per cell per input vector).
        dac_conversions: input DAC conversions (one per row per vector).
        adc_conversions: output ADC conversions (one per column per vector).
        tia_active_s: summed active time of all TIAs (s).
        vcmac_active_s: summed active time of all VCMAC chains (s).
        cell_writes: SET/RESET pulses applied while programming.
        digital_adds: digital additions (partial sums, accumulators).
        digital_mults: digital multiplications.
        saturated_conversions: conversions whose column saturated: the TIA's
            output left its linear range (clamp) or the ADC input lay beyond
            full scale (``cosim.engine.readout``); a diagnostic, no energy.
    """

    cell_reads: int = 0
    dac_conversions: int = 0
    adc_conversions: int = 0
    tia_active_s: float = 0.0
    vcmac_active_s: float = 0.0
    cell_writes: int = 0
    digital_adds: int = 0
    digital_mults: int = 0
    saturated_conversions: int = field(default=0, metadata={"energy": False})

    def __add__(self, other: Events) -> Events:
        return Events(**{n: getattr(self, n) + getattr(other, n) for n in _EVENT_NAMES})

    def as_dict(self) -> dict[str, float]:
        return {n: getattr(self, n) for n in _EVENT_NAMES}


_EVENT_NAMES = tuple(f.name for f in fields(Events))
"""The counters of ``Events``, in field order (``+`` adds them one by one)."""


DIAGNOSTIC_COUNTERS = tuple(f.name for f in fields(Events) if not f.metadata.get("energy", True))
"""``Events`` fields that count a condition, not an energy event (no energy figure needed)."""


@dataclass(frozen=True, kw_only=True)
class Timing:
    """Timing figures of the hardware (NF code defaults).

    Attributes:
        read_pulse_s: length of one read pulse (s); NF code cell read t = 10 ns.
        amplifier_active_s: active time of a TIA / VCMAC per conversion (s);
            NF code amplifier entry 100 ns, assumed. A report with simulation on
            replaces it by the amplifiers' simulated conversion time (their
            0.1 % settling, ``cosim.accounting.circuit_energy.retimed``).
        adc_rate_hz: conversions per second of one ADC; NF code 1.2 GHz
            (3.1 mW / 1.2 GHz).
    """

    read_pulse_s: float = 10e-9
    amplifier_active_s: float = 100e-9
    adc_rate_hz: float = 1.2e9

    def __post_init__(self) -> None:
        check_range("read_pulse_s", self.read_pulse_s, 0.0, 1.0, lo_open=True)
        check_range("amplifier_active_s", self.amplifier_active_s, 0.0, 1.0, lo_open=True)
        check_range("adc_rate_hz", self.adc_rate_hz, 0.0, 1e12, lo_open=True)


NF_TIMING = Timing()
"""NF code timing: 10 ns read, 100 ns amplifier, 1.2 GHz ADC."""
