"""Parameters of the devices in an array: the RRAM cell and the access transistor.

Named presets are plain instances. Each field says where its default comes from (NF
paper = Yu et al., "Efficient and accurate neural field reconstruction using resistive
memory").
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np

from circuits.errors import ConfigError, check_choice, check_range, did_you_mean
from circuits.netlist import num

MOS_MODELS = ("bsim4", "level1")


@dataclass(frozen=True, kw_only=True)
class LinearIV:
    """Ohmic read: ``I = G V``."""

    name: ClassVar[str] = "linear"
    linear: ClassVar[bool] = True
    """Whether the current is proportional to the voltage (no Newton needed)."""
    subckt: ClassVar[str] = "rram_lin"
    """Subcircuit of the law in ``device_models/rram_cell.lib``."""

    def current(self, v_volt: np.ndarray, g_siemens: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
        """Current (A) and differential conductance dI/dV (S) at ``v_volt`` across cells of
        conductance ``g_siemens`` (broadcast together)."""
        return g_siemens * v_volt, np.broadcast_to(g_siemens, np.shape(v_volt))

    def spice_params(self) -> str:
        """Extra subcircuit parameters of the law in a netlist (after ``g=...``)."""
        return ""

    def describe(self) -> str:
        return "linear"


@dataclass(frozen=True, kw_only=True)
class SinhIV:
    """Sinh read: ``I = G V0 sinh(V / V0)`` (conductance ``G`` near 0 V).

    Attributes:
        v0_volt: the nonlinearity voltage V0 (V); larger is more linear.
    """

    name: ClassVar[str] = "sinh"
    linear: ClassVar[bool] = False
    subckt: ClassVar[str] = "rram_sinh"
    v0_volt: float = 0.25

    def __post_init__(self) -> None:
        check_range("v0_volt", self.v0_volt, 0.0, lo_open=True)

    def current(self, v_volt: np.ndarray, g_siemens: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
        v0 = self.v0_volt
        return g_siemens * v0 * np.sinh(v_volt / v0), g_siemens * np.cosh(v_volt / v0)

    def spice_params(self) -> str:
        return f" v0={num(self.v0_volt)}"

    def describe(self) -> str:
        return f"sinh (V0 = {self.v0_volt:g} V)"


IV_LAWS: dict[str, type] = {law.name: law for law in (LinearIV, SinhIV)}
"""The read I-V laws by name. A new law is one class with ``name``, ``linear``,
``subckt`` (and that subcircuit in ``rram_cell.lib``), ``current`` and
``spice_params``, plus one entry here."""


def iv_law(value: Any) -> LinearIV | SinhIV:
    """The I-V law ``value`` names: a law object, its name, or a table
    ``{"law": name, <its parameters>}`` (as a config file writes it).

    Raises:
        ConfigError: an unknown law or parameter.
    """
    if isinstance(value, tuple(IV_LAWS.values())):
        return value
    if isinstance(value, str):
        value = {"law": value}
    if not isinstance(value, Mapping) or not isinstance(value.get("law"), str):
        raise ConfigError(f"RRAM I-V must be a law name ({', '.join(IV_LAWS)}) or a table "
                          f"with a 'law' key, got {value!r}")
    params = dict(value)
    name = params.pop("law")
    if name not in IV_LAWS:
        raise ConfigError(f"unknown RRAM I-V law {name!r}{did_you_mean(name, list(IV_LAWS))}; "
                          f"choose one of {', '.join(IV_LAWS)}")
    try:
        return IV_LAWS[name](**params)
    except TypeError:
        known = [f for f in IV_LAWS[name].__dataclass_fields__ if f != "name"]
        raise ConfigError(f"RRAM I-V law {name!r} takes "
                          f"{', '.join(known) if known else 'no parameters'}, got "
                          f"{', '.join(params)}") from None


def iv_as_dict(law: LinearIV | SinhIV) -> dict[str, Any]:
    """The table :func:`iv_law` reads back into ``law``."""
    return {"law": law.name, **asdict(law)}


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
        iv: the read I-V law, an object (:data:`IV_LAWS`: :class:`LinearIV`,
            :class:`SinhIV`); a name or table given here is looked up by :func:`iv_law`.
    """

    g_lrs_siemens: float = 29.22e-6
    g_hrs_siemens: float = 1.0e-6
    g_min_siemens: float = 0.0
    g_max_siemens: float = 200e-6
    iv: LinearIV | SinhIV = field(default_factory=LinearIV,
                                  metadata={"parse": lambda v: iv_law(v), "name_key": "law",
                                            "dump": lambda v: iv_as_dict(v)})

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
        object.__setattr__(self, "iv", iv_law(self.iv))


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


@dataclass(frozen=True, kw_only=True)
class FormingNoise:
    """Conductance of a cell left in its state after forming: Gaussian, clipped.

    A formed but unprogrammed cell holds a random conductance; PRIME uses such
    cells, read as differential pairs ``G+ - G-``, as fixed random weights
    (PRIME paper Fig. 2b: the pair difference is Gaussian). The seeds give no
    forming statistics of our device, so the defaults take the one measured
    spread we have, the LRS after one SET (NF paper Fig. 2a: 29.22 uS mean,
    5.46 uS std); both figures are parameters.

    Attributes:
        mean_siemens: mean conductance after forming (S).
        std_siemens: its standard deviation (S).
    """

    mean_siemens: float = 29.22e-6
    std_siemens: float = 5.46e-6

    def __post_init__(self) -> None:
        check_range("forming mean_siemens", self.mean_siemens, 0.0, 1.0)
        check_range("forming std_siemens", self.std_siemens, 0.0, 1.0)

    def draw(self, shape: tuple[int, ...], rram: RRAMParams,
             rng: np.random.Generator) -> np.ndarray:
        """Conductances of ``shape`` freshly formed cells (S), clipped to the device range."""
        g = self.mean_siemens + self.std_siemens * rng.standard_normal(shape)
        return np.clip(g, rram.g_min_siemens, rram.g_max_siemens)


FORMED_TAOX = FormingNoise()
"""Forming distribution of the default cell (NF paper Fig. 2a spread; see ``FormingNoise``)."""
