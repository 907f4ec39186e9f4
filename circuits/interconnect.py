"""Wire resistance of the array's interconnect, from a stated technology figure.

The resistance of one wire segment between neighbouring cells is
``rho * pitch / (width * width * aspect_ratio)``: a copper line of the given
width, height ``width * aspect_ratio`` and the size-effect resistivity of that
width, one cell pitch long.

The default, ``WIRE_40NM``, takes the interconnect table NeuroSim uses for a
40 nm wide line (aspect ratio 1.9, resistivity 4.03e-8 ohm m, an ITRS
projection that includes surface and grain-boundary scattering; P.-Y. Chen,
X. Peng, S. Yu, "NeuroSim: A Circuit-Level Macro Model for Benchmarking
Neuro-Inspired Architectures in Online Learning", IEEE TCAD 37(12), 2018) and
a cell pitch of two line widths (80 nm, NeuroSim's crossbar pitch of 2F at
F = 40 nm): 1.06 ohm per segment. A 1T1R cell is usually wider than 2F (the
access transistor), so its segments are longer: at 3F to 5F pitch the same
line gives 1.6 to 2.7 ohm, the range the read-path targets are checked over
(1 and 2.5 ohm).
"""

from __future__ import annotations

from dataclasses import dataclass

from circuits.errors import check_range


@dataclass(frozen=True, kw_only=True)
class WireTech:
    """One interconnect line of the array.

    Attributes:
        width_m: line width (m).
        aspect_ratio: line height over width.
        resistivity_ohm_m: resistivity at that width, size effects included (ohm m).
        pitch_m: cell pitch along the line, the length of one segment (m).
        source: where the figures come from.
    """

    width_m: float
    aspect_ratio: float
    resistivity_ohm_m: float
    pitch_m: float
    source: str = ""

    def __post_init__(self) -> None:
        check_range("width_m", self.width_m, 0.0, 1e-3, lo_open=True)
        check_range("aspect_ratio", self.aspect_ratio, 0.0, 100.0, lo_open=True)
        check_range("resistivity_ohm_m", self.resistivity_ohm_m, 0.0, 1e-3, lo_open=True)
        check_range("pitch_m", self.pitch_m, 0.0, 1e-2, lo_open=True)

    @property
    def segment_ohm(self) -> float:
        """Resistance of one segment, one cell pitch of line (ohm)."""
        area = self.width_m * self.width_m * self.aspect_ratio
        return self.resistivity_ohm_m * self.pitch_m / area


WIRE_40NM = WireTech(width_m=40e-9, aspect_ratio=1.9, resistivity_ohm_m=4.03e-8,
                     pitch_m=80e-9,
                     source="NeuroSim interconnect table (Chen, Peng, Yu, IEEE TCAD 2018), "
                            "40 nm line, 2F cell pitch")
"""A 40 nm copper line at 2F pitch (module docstring): 1.06 ohm per segment."""

R_WIRE_40NM_OHM = round(WIRE_40NM.segment_ohm, 2)
"""Wire resistance per cell segment of the default read path (ohm), ``WIRE_40NM``."""
