"""Parameters of the devices in an array: the RRAM cell and the access transistor.

Named presets are plain instances. Figures come from ``shared/reference/FIGURES.md``
(NF paper = Yu et al., "Efficient and accurate neural field reconstruction using
resistive memory"); each field says where its default comes from.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from circuits.errors import ConfigError, check_choice, check_range

RRAM_IV = ("linear", "sinh")
MOS_MODELS = ("bsim4", "level1")


@dataclass(frozen=True, kw_only=True)
class RRAMParams:
    """One resistive-memory cell.

    Attributes:
        g_lrs_siemens: low-resistance-state conductance (S); NF paper Fig. 2a
            mean after one SET over 10,000 devices, 29.22 uS.
        g_hrs_siemens: high-resistance-state conductance (S). The seeds give no
            HRS figure; 1 uS (LRS/HRS about 30) is our assumption for 40 nm TaOx.
        g_min_siemens: smallest conductance the device can hold (S); inputs below are refused.
        g_max_siemens: largest conductance the device can hold (S); inputs above are refused.
        iv: read I-V: ``"linear"`` (I = G V) or ``"sinh"`` (I = G V0 sinh(V / V0)).
        v0_volt: the sinh nonlinearity voltage V0 (V); larger is more linear.
    """

    g_lrs_siemens: float = 29.22e-6
    g_hrs_siemens: float = 1.0e-6
    g_min_siemens: float = 0.0
    g_max_siemens: float = 200e-6
    iv: str = "linear"
    v0_volt: float = 0.25

    def __post_init__(self) -> None:
        levels = ("g_min_siemens", "g_hrs_siemens", "g_lrs_siemens", "g_max_siemens")
        for name in levels:
            check_range(name, getattr(self, name), 0.0, 1.0)
        for lo, hi in itertools.pairwise(levels):  # name both fields of a broken order
            if getattr(self, lo) > getattr(self, hi):
                raise ConfigError(
                    f"{hi} ({getattr(self, hi):g} S) must be >= {lo} ({getattr(self, lo):g} S):"
                    " the levels must satisfy g_min <= g_hrs <= g_lrs <= g_max")
        if not self.g_max_siemens > self.g_min_siemens:
            raise ConfigError(f"g_max_siemens ({self.g_max_siemens:g} S) must be > "
                              f"g_min_siemens ({self.g_min_siemens:g} S)")
        check_choice("RRAM I-V", self.iv, RRAM_IV)
        check_range("v0_volt", self.v0_volt, 0.0, lo_open=True)


@dataclass(frozen=True, kw_only=True)
class AccessParams:
    """The access NMOS of a 1T1R cell.

    Attributes:
        model: ``"bsim4"`` (FreePDK45 NMOS_VTG, level 54) or ``"level1"`` (our fast card).
        w_m: channel width (m).
        l_m: channel length (m).
        v_gate_volt: word-line voltage during a read (V); FreePDK45's nominal VDD is 1.1 V.
    """

    model: str = "bsim4"
    w_m: float = 1.0e-6
    l_m: float = 50e-9
    v_gate_volt: float = 1.1

    def __post_init__(self) -> None:
        check_choice("transistor model", self.model, MOS_MODELS)
        check_range("w_m", self.w_m, 0.0, 1e-3, lo_open=True)
        check_range("l_m", self.l_m, 0.0, 1e-3, lo_open=True)
        check_range("v_gate_volt", self.v_gate_volt, 0.0, 5.0)


V_READ_VOLT = 0.1
"""Row voltage of a full-scale read (V): the NF code's 0.1 V. The tiles read at it
by default and the simulated cell-read energy (V^2 G t) is taken at it, so the
accuracy and the energy of a read describe the same read."""

TAOX_40NM = RRAMParams()
"""40 nm TaOx 1T1R cell of the NF paper (linear read)."""

ACCESS_45NM = AccessParams()
"""Access NMOS, FreePDK45 BSIM4, 1 um / 50 nm, word line at 1.1 V."""
