"""The project's SPICE model files load in ngspice and do what their headers say.

- ``freepdk45_nom.lib``: NMOS_VTG and PMOS_VTG give sane on-currents.
- ``rram_cell.lib``: ``rram_lin`` and ``rram_sinh`` carry ``g V`` and
  ``g v0 sinh(V / v0)``; ``g = 0`` carries (almost) nothing.
- ``nmos_level1.lib``: the card matches the Shichman-Hodges equations, its
  error against BSIM4 on the fitting grid is below the bounds its header
  states, and a fresh least-squares fit gives back its figures.
"""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import pytest

from circuits.netlist import MODEL_DIR
from circuits.runner import run

W_M, L_M = 1e-6, 50e-9

# The fitting grid of nmos_level1.lib (see its header).
VGS_SWEEP = "0.7 1.1 0.05"
VDS_SWEEP = "0 0.3 0.01"
N_POINTS = 9 * 31


def _level1_figures() -> dict[str, float]:
    text = (MODEL_DIR / "nmos_level1.lib").read_text()
    card = next(line for line in text.splitlines() if line.lower().startswith(".model"))
    return {k.lower(): float(v) for k, v in re.findall(r"(\w+)=([-+0-9.eE]+)", card)}


def _stated_bounds() -> tuple[float, float, float, float]:
    """(max uA, rms uA, max %, rms %) from the header line the test asserts."""
    text = (MODEL_DIR / "nmos_level1.lib").read_text()
    m = re.search(r"Bounds asserted by the test: ([\d.]+) uA, ([\d.]+) uA, ([\d.]+) %, "
                  r"([\d.]+) %", text)
    assert m, "nmos_level1.lib must state the bounds its fit test asserts"
    return tuple(float(x) for x in m.groups())  # type: ignore[return-value]


def _shichman_hodges(vgs: np.ndarray, vds: np.ndarray, kp: float, vto: float,
                     lam: float) -> np.ndarray:
    """Drain current of ngspice's level-1 NMOS (GAMMA = 0, LD = 0) for Vds >= 0 (A)."""
    beta = kp * W_M / L_M
    vov = vgs - vto
    core = np.where(vds < vov, vds * (vov - vds / 2), vov**2 / 2)
    return np.where(vov > 0, beta * core * (1 + lam * vds), 0.0)


@functools.cache
def _fit_sweep() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vgs, Vds, BSIM4 current and level-1 current over the fitting grid (V, V, A, A).

    One ngspice run, shared by the tests of this module.
    """
    deck = "\n".join([
        "* NMOS_VTG against NMOS_L1 on the fitting grid",
        '.include "freepdk45_nom.lib"',
        '.include "nmos_level1.lib"',
        "Vg g 0 DC 1.1",
        "Vd d 0 DC 0",
        "Vm d d1 DC 0",
        f"Mbsim d g 0 0 NMOS_VTG W={W_M} L={L_M}",
        f"Ml1 d1 g 0 0 NMOS_L1 W={W_M} L={L_M}",
    ])
    res = _run_with_models(deck, [f".dc Vd {VDS_SWEEP} Vg {VGS_SWEEP}"])
    i_l1 = res.i("vm")
    i_bsim = -res.i("vd") - i_l1
    return res.v("g"), res.v("d"), i_bsim, i_l1


def _run_with_models(deck: str, analysis: list[str]):
    """Run raw deck text whose ``.include`` lines name files of ``device_models/``."""
    full = re.sub(r'\.include "([^"/]+)"', lambda m: f'.include "{MODEL_DIR / m.group(1)}"',
                  deck)
    return run(full, analysis)


# --------------------------------------------------------------------------- loading


@pytest.mark.ngspice
@pytest.mark.parametrize(("model", "vgs", "vds", "lo_a", "hi_a"), [
    ("NMOS_VTG", 1.1, 0.1, 100e-6, 1e-3),
    ("NMOS_L1", 1.1, 0.1, 100e-6, 1e-3),
    ("PMOS_VTG", -1.1, -0.1, 30e-6, 1e-3),
])
def test_transistor_cards_load_and_conduct(model: str, vgs: float, vds: float,
                                           lo_a: float, hi_a: float) -> None:
    kind = "nmos" if model.startswith("NMOS") else "pmos"
    lib = "nmos_level1.lib" if model == "NMOS_L1" else "freepdk45_nom.lib"
    deck = "\n".join([
        f"* one {kind}",
        f'.include "{lib}"',
        f"Vg g 0 DC {vgs}",
        f"Vd d 0 DC {vds}",
        f"M1 d g 0 0 {model} W={W_M} L={L_M}",
    ])
    i_d = -_run_with_models(deck, [".op"]).i("vd")[0]
    assert lo_a < abs(i_d) < hi_a
    assert math.copysign(1.0, i_d) == math.copysign(1.0, vds)


@pytest.mark.ngspice
def test_rram_subcircuits_carry_their_read_currents() -> None:
    deck = "\n".join([
        "* RRAM cells",
        '.include "rram_cell.lib"',
        "Va a 0 DC 0.2",
        "Xlin a 0 rram_lin params: g=29.22u",
        "Vb b 0 DC -0.3",
        "Xsinh b 0 rram_sinh params: g=10u v0=0.25",
        "Vc c 0 DC 0.2",
        "Xopen c 0 rram_lin params: g=0",
        "Vd d 0 DC 0.2",
        "Xsinh0 d 0 rram_sinh params: g=0 v0=0.25",
        "Ve e 0 DC 0.1",
        "Xdefault e 0 rram_lin",
    ])
    res = _run_with_models(deck, [".op"])
    current = {n: -res.i(f"v{n}")[0] for n in "abcde"}  # into the cell's p terminal
    assert current["a"] == pytest.approx(29.22e-6 * 0.2, rel=1e-9)
    assert current["b"] == pytest.approx(10e-6 * 0.25 * math.sinh(-0.3 / 0.25), rel=1e-9)
    assert current["c"] == pytest.approx(1e-15 * 0.2, rel=1e-6)  # the documented floor
    assert current["d"] == 0.0
    assert current["e"] == pytest.approx(29.22e-6 * 0.1, rel=1e-9)  # LRS default


# --------------------------------------------------------------------------- level-1 fit


@pytest.mark.ngspice
def test_level1_card_is_shichman_hodges_with_its_figures() -> None:
    f = _level1_figures()
    vgs, vds, _, i_l1 = _fit_sweep()
    expected = _shichman_hodges(vgs, vds, f["kp"], f["vto"], f["lambda"])
    np.testing.assert_allclose(i_l1, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.ngspice
def test_level1_fit_error_against_bsim4_is_within_the_stated_bounds() -> None:
    vgs, vds, i_bsim, i_l1 = _fit_sweep()
    assert vgs.size == N_POINTS
    err = i_l1 - i_bsim
    on = vds > 1e-9
    rel = err[on] / i_bsim[on]
    figures = (np.abs(err).max() * 1e6, np.sqrt(np.mean(err**2)) * 1e6,
               np.abs(rel).max() * 100, np.sqrt(np.mean(rel**2)) * 100)
    print("\nlevel-1 vs BSIM4: max {:.1f} uA, rms {:.1f} uA, max {:.2f} %, rms {:.2f} %"
          .format(*figures))
    for name, got, bound in zip(("max uA", "rms uA", "max %", "rms %"), figures,
                                _stated_bounds(), strict=True):
        assert got <= bound, f"{name}: {got:.3g} above the stated bound {bound:g}"


@pytest.mark.ngspice
def test_a_fresh_fit_gives_back_the_card() -> None:
    least_squares = pytest.importorskip("scipy.optimize").least_squares
    vgs, vds, i_bsim, _ = _fit_sweep()
    on = vds > 1e-9

    def residual(x: np.ndarray) -> np.ndarray:
        return _shichman_hodges(vgs[on], vds[on], *x) / i_bsim[on] - 1.0

    fit = least_squares(residual, [3e-4, 0.2, 0.0], x_scale=[1e-4, 0.1, 0.1]).x
    f = _level1_figures()
    # The card holds the fit rounded to 4 significant digits.
    np.testing.assert_allclose(fit, [f["kp"], f["vto"], f["lambda"]], rtol=1e-3)
