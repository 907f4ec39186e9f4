"""Access-transistor I-V models for the nodal solver's Newton iteration.

Two models of the 1T1R access NMOS, both with the bulk at 0 V and the gate held
at ``AccessParams.v_gate_volt`` (the ideal word-line source of the netlist):

- ``Level1Mos``: ngspice's level-1 (Shichman-Hodges) equations, as
  ``src/spicelib/devices/mos1/mos1load.c`` evaluates them at DC, with
  ``GAMMA = 0`` and ``LD``, ``LAMBDA``, ``IS`` and ngspice's ``GMIN`` across
  the bulk junctions. The ``KP``, ``VTO`` and ``LAMBDA`` figures are read from
  the ``.model`` card in ``device_models/nmos_level1.lib`` (not duplicated here).
- ``TabulatedMos``: the FreePDK45 BSIM4 card (``NMOS_VTG``), extracted from two
  ngspice nested DC sweeps (over drain and source voltage, and over source
  voltage and a band of ``Vds`` around 0, split at ``Vds = 0`` where BSIM4's
  second derivative jumps) and interpolated by bicubic splines: within 1.3e-11 A
  (1.5e-8 of the table's largest current) of ngspice off the grid. This is what
  makes the ``calibrated`` backend calibrated: its device curves come from the
  simulator.

A BSIM4 table costs two ngspice runs (about 1 s on an idle machine, 12-50 s on
a busy one), so ``bsim4_table`` keeps each table in the content-hash cache
(``cosim.engine.cache``, the project's folder: ``$COSIM_CACHE_DIR`` or
``.cache/``) as well as in memory. Its key is everything the table depends on:
the text of both decks with their analysis lines (transistor parameters, span
and grid), the bytes of every model file they include, the ngspice program
(its path, size and modification time) and a digest of the code that builds
and reads the table (this module, the runner and the raw-file reader). So a
changed card, parameter, grid, simulator or table code never reuses a table.
An entry that cannot be read, or holds arrays of the wrong names, shapes or
grid, or non-finite currents, counts as a miss: the table is rebuilt and the
entry rewritten (atomically, by ``ResultCache.put``).

Both return ``MosCurrents``: the current flowing from the drain node into the
drain terminal and the current flowing out of the source terminal into the
source node, with their partial derivatives. They differ by what leaves through
gate and bulk (junction leakage, gate tunnelling in BSIM4).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

import circuits
from circuits.devices import AccessParams
from circuits.errors import ConfigError, CosimWarning, SimulationError
from circuits.netlist import MODEL_DIR, Netlist, num, spice_number
from cosim.engine.cache import ResultCache, cache_key

LEVEL1_FILE = "nmos_level1.lib"
"""Model file (in ``device_models/``) holding the level-1 NMOS card."""

BSIM4_FILE = "freepdk45_nom.lib"
BSIM4_MODEL = "NMOS_VTG"

NGSPICE_GMIN_SIEMENS = 1e-12
"""ngspice's default ``GMIN``, put across each bulk junction by the level-1 model."""

_BOLTZMANN = 1.38064852e-23  # ngspice-39 const.h CONSTboltz
_CHARGE = 1.6021766208e-19  # ngspice-39 const.h CHARGE
_T_NOMINAL_K = 300.15  # 27 C, ngspice's default circuit and model temperature
_MAX_EXP_ARG = 709.0  # ngspice's MAX_EXP_ARG
VT_VOLT = _BOLTZMANN * _T_NOMINAL_K / _CHARGE
"""Thermal voltage at 27 C as ngspice computes it (V)."""

TABLE_SPANS_VOLT = (0.5, 1.0, 2.0, 3.0, 5.0)
"""Half-widths of the BSIM4 tables: one is picked per call, the smallest that covers."""

TABLE_STEPS = 200
"""Intervals per axis of a BSIM4 table (step = 2 * span / TABLE_STEPS); its Vds
band takes the same step."""


@dataclass(frozen=True)
class MosCurrents:
    """Terminal currents of one NMOS at given drain and source voltages.

    All arrays share the shape of the voltages. Attributes:
        i_d: current from the drain node into the drain terminal (A).
        i_s: current out of the source terminal into the source node (A).
        did_dvd, did_dvs: derivatives of ``i_d`` by drain and source voltage (S).
        dis_dvd, dis_dvs: derivatives of ``i_s`` by drain and source voltage (S).
    """

    i_d: np.ndarray
    i_s: np.ndarray
    did_dvd: np.ndarray
    did_dvs: np.ndarray
    dis_dvd: np.ndarray
    dis_dvs: np.ndarray


class MosModel(Protocol):
    """What the nodal solver needs of an access transistor (gate and bulk fixed)."""

    def evaluate(self, vd: np.ndarray, vs: np.ndarray) -> MosCurrents:
        """Terminal currents and derivatives at drain voltage ``vd``, source ``vs`` (V)."""
        ...


# --------------------------------------------------------------------------- level 1


@dataclass(frozen=True, kw_only=True)
class Level1Card:
    """The DC figures of a level-1 NMOS ``.model`` card.

    Attributes:
        name: model name in the card.
        kp_a_per_v2: transconductance parameter KP (A/V^2).
        vto_volt: zero-bias threshold VTO (V).
        lambda_per_volt: channel-length modulation LAMBDA (1/V).
        ld_m: lateral diffusion LD (m); L_eff = L - 2 LD.
        is_a: bulk junction saturation current IS (A).
    """

    name: str
    kp_a_per_v2: float
    vto_volt: float
    lambda_per_volt: float = 0.0
    ld_m: float = 0.0
    is_a: float = 1e-14


# Parameters that do not change the DC currents (capacitances, noise) or that we
# check are harmless; anything else in a card is refused rather than ignored.
_LEVEL1_IGNORED = {"cgso", "cgdo", "cgbo", "cbd", "cbs", "cj", "cjsw", "mj", "mjsw", "pb",
                   "fc", "kf", "af", "tox", "uo", "nsub", "nss", "tpg", "xj", "rsh",
                   "phi", "tnom", "js"}
_LEVEL1_ZERO = {"gamma", "rd", "rs"}


def parse_model_card(text: str, kind: str = "nmos") -> tuple[str, dict[str, float]]:
    """First ``.model <name> <kind>`` card of a SPICE file: name and parameters.

    Continuation lines (``+``) are joined, comments (``*`` lines, ``;`` and
    ``$`` tails) dropped, parentheses ignored; names are lower-cased.

    Raises:
        ConfigError: no such card, or a value that is not a number.
    """
    lines: list[str] = []
    for raw in text.splitlines():
        line = re.split(r"[;$]", raw, maxsplit=1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith("*"):
            continue
        if line.lstrip().startswith("+") and lines:
            lines[-1] += " " + line.lstrip()[1:]
        else:
            lines.append(line.strip())
    for line in lines:
        words = line.replace("(", " ").replace(")", " ").split()
        if len(words) >= 3 and words[0].lower() == ".model" and words[2].lower() == kind:
            rest = " ".join(words[3:])
            pairs = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([^\s=]+)", rest)
            return words[1], {k.lower(): spice_number(v) for k, v in pairs}
    raise ConfigError(f"no '.model <name> {kind}' card found")


def read_level1_card(path: Path | None = None) -> Level1Card:
    """Read the level-1 NMOS card (default ``device_models/nmos_level1.lib``).

    Raises:
        ConfigError: the file is missing, the card is not level 1, or it sets a
            parameter this model does not reproduce (``GAMMA``, ``RD``, ``RS``
            other than 0, or any parameter outside the supported list).
    """
    path = MODEL_DIR / LEVEL1_FILE if path is None else Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read the level-1 NMOS card {path.name}: {exc.strerror}") \
            from exc
    name, params = parse_model_card(text, "nmos")
    if int(params.get("level", 1)) != 1:
        raise ConfigError(f"model {name} in {path.name} is level {params['level']:g}, not 1")
    for key in _LEVEL1_ZERO:
        if params.get(key, 0.0) != 0.0:
            raise ConfigError(f"level-1 card {name}: {key.upper()} = {params[key]:g} is not "
                              "supported by the nodal solver (only 0)")
    if params.get("tnom", 27.0) != 27.0:
        raise ConfigError(f"level-1 card {name}: TNOM must be 27 C, got {params['tnom']:g}")
    known = _LEVEL1_IGNORED | _LEVEL1_ZERO | {"level", "kp", "vto", "lambda", "ld", "is"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ConfigError(f"level-1 card {name}: unsupported parameter(s) "
                          f"{', '.join(unknown)}; supported: {', '.join(sorted(known))}")
    if "kp" not in params or "vto" not in params:
        raise ConfigError(f"level-1 card {name} must give KP and VTO")
    return Level1Card(name=name, kp_a_per_v2=params["kp"], vto_volt=params["vto"],
                      lambda_per_volt=params.get("lambda", 0.0), ld_m=params.get("ld", 0.0),
                      is_a=params.get("is", 1e-14))


@dataclass(frozen=True, kw_only=True)
class Level1Mos:
    """ngspice level-1 NMOS at DC, gate and bulk fixed (GAMMA = 0, T = TNOM = 27 C).

    Channel current (``mos1load.c``), with ``vgst = Vgs - VTO`` and
    ``beta = KP W / (L - 2 LD)``, for ``Vds >= 0``::

        cutoff     vgst <= 0:      0
        saturation vgst <= Vds:    beta/2 vgst^2 (1 + LAMBDA Vds)
        triode:                    beta (vgst - Vds/2) Vds (1 + LAMBDA Vds)

    and for ``Vds < 0`` drain and source swap roles. The bulk junction diodes
    carry ``IS (exp(Vbx/vt) - 1) + GMIN Vbx`` (``-IS + GMIN Vbx`` below
    ``-3 vt``), bulk at 0 V.

    Attributes:
        card: the model card's figures.
        w_m, l_m: channel width and drawn length (m).
        v_gate_volt: gate voltage (V).
        gmin_siemens: the junction shunt conductance ngspice adds (its ``GMIN``).
    """

    card: Level1Card
    w_m: float
    l_m: float
    v_gate_volt: float
    gmin_siemens: float = NGSPICE_GMIN_SIEMENS

    @property
    def beta(self) -> float:
        """KP W / L_eff (A/V^2)."""
        l_eff = self.l_m - 2.0 * self.card.ld_m
        if l_eff <= 0:
            raise ConfigError(f"L - 2 LD = {l_eff:g} m must be positive")
        return self.card.kp_a_per_v2 * self.w_m / l_eff

    def evaluate(self, vd: np.ndarray, vs: np.ndarray) -> MosCurrents:
        vd = np.asarray(vd, dtype=float)
        vs = np.asarray(vs, dtype=float)
        forward = vd >= vs
        # Normal mode: source = lower-voltage terminal (mos1load.c's mode = -1 swap).
        v_lo = np.where(forward, vs, vd)
        vds = np.abs(vd - vs)
        ich, gm, gds = self._channel(self.v_gate_volt - v_lo, vds)
        sign = np.where(forward, 1.0, -1.0)
        # d(ich)/d(v_hi) = gds, d(ich)/d(v_lo) = -(gm + gds); ch current flows hi -> lo.
        d_hi, d_lo = gds, -(gm + gds)
        dch_dvd = np.where(forward, d_hi, d_lo) * sign
        dch_dvs = np.where(forward, d_lo, d_hi) * sign
        ich = ich * sign
        cbd, gbd = self._junction(-vd)
        cbs, gbs = self._junction(-vs)
        # mos1load.c: cd = mode*cdrain - cbd (into drain); source gives mode*cdrain + cbs.
        return MosCurrents(i_d=ich - cbd, i_s=ich + cbs,
                           did_dvd=dch_dvd + gbd, did_dvs=dch_dvs,
                           dis_dvd=dch_dvd, dis_dvs=dch_dvs - gbs)

    def _channel(self, vgs: np.ndarray, vds: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Channel current, gm and gds for ``vds >= 0`` (mos1load.c, GAMMA = 0)."""
        beta, lam = self.beta, self.card.lambda_per_volt
        vgst = vgs - self.card.vto_volt
        on = vgst > 0
        sat = on & (vgst <= vds)
        tri = on & ~sat
        betap = beta * (1.0 + lam * vds)
        i = np.where(sat, 0.5 * betap * vgst**2, np.where(tri, betap * vds * (vgst - 0.5 * vds),
                                                           0.0))
        gm = np.where(sat, betap * vgst, np.where(tri, betap * vds, 0.0))
        gds = np.where(sat, 0.5 * lam * beta * vgst**2,
                       np.where(tri, betap * (vgst - vds) + lam * beta * vds * (vgst - 0.5 * vds),
                                0.0))
        return i, gm, gds

    def _junction(self, vbx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bulk-junction current (bulk -> terminal) and its derivative by ``vbx``."""
        i_s, g0 = self.card.is_a, self.gmin_siemens
        deep = vbx <= -3.0 * VT_VOLT
        e = np.exp(np.minimum(vbx / VT_VOLT, _MAX_EXP_ARG))
        cur = np.where(deep, g0 * vbx - i_s, i_s * (e - 1.0) + g0 * vbx)
        cond = np.where(deep, g0, i_s * e / VT_VOLT + g0)
        return cur, cond


def level1_model(access: AccessParams, card_path: Path | None = None) -> Level1Mos:
    """The level-1 access transistor of ``access``.

    Args:
        access: width, length and gate voltage.
        card_path: the model card (default ``device_models/nmos_level1.lib``).
    """
    path = MODEL_DIR / LEVEL1_FILE if card_path is None else Path(card_path)
    return Level1Mos(card=read_level1_card(path), w_m=access.w_m, l_m=access.l_m,
                     v_gate_volt=access.v_gate_volt)


# --------------------------------------------------------------------------- BSIM4 table


def _not_a_knot_matrix(n: int) -> np.ndarray:
    """(n+2, n+2) map from uniform cubic B-spline coefficients to interpolation conditions.

    Rows 1..n: the spline's value at the n grid points; rows 0 and n+1: no jump
    in the third derivative at the second and the second-to-last grid point
    (the not-a-knot end conditions).
    """
    if n < 4:
        raise ConfigError(f"a bicubic table needs at least 4 points per axis, got {n}")
    a = np.zeros((n + 2, n + 2))
    i = np.arange(n)
    a[i + 1, i] = 1.0 / 6.0
    a[i + 1, i + 1] = 4.0 / 6.0
    a[i + 1, i + 2] = 1.0 / 6.0
    jump = np.array([-1.0, 4.0, -6.0, 4.0, -1.0])
    a[0, 0:5] = jump
    a[n + 1, n - 3:n + 2] = jump
    return a


class UniformBicubic:
    """Not-a-knot bicubic spline interpolant on a rectangular uniform grid.

    The same interpolant as ``scipy.interpolate.RectBivariateSpline`` with
    ``kx = ky = 3`` (the interpolating cubic spline with not-a-knot ends is
    unique), evaluated with uniform B-spline weights: 16 gathers per point,
    about 50 times faster than fitpack's pointwise evaluation.

    Args:
        x0: first grid coordinate of the first axis.
        h: grid step of the first axis.
        values: (nx, ny) table; ``values[i, j]`` is the function at
            ``(x0 + i h, y0 + j hy)`` (first axis first).
        y0, hy: first coordinate and step of the second axis (default ``x0``, ``h``).
    """

    def __init__(self, x0: float, h: float, values: np.ndarray,
                 y0: float | None = None, hy: float | None = None):
        values = np.asarray(values, dtype=float)
        if values.ndim != 2:
            raise ConfigError(f"table must be 2-D, got shape {values.shape}")
        nx, ny = values.shape
        ax, ay = _not_a_knot_matrix(nx), _not_a_knot_matrix(ny)
        f = np.zeros((nx + 2, ny + 2))
        f[1:-1, 1:-1] = values
        # Coefficients C with Ax C Ay^T = F (F zero-padded for the end conditions).
        c = np.linalg.solve(ay, np.linalg.solve(ax, f).T).T
        self.x0, self.h, self.nx = float(x0), float(h), nx
        self.y0 = self.x0 if y0 is None else float(y0)
        self.hy = self.h if hy is None else float(hy)
        self.ny = ny
        self._c = c

    def __call__(self, x: np.ndarray, y: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Value and derivatives by the first and second coordinate at points (x, y)."""
        ix, wx, dwx = _weights(x, self.x0, self.h, self.nx)
        iy, wy, dwy = _weights(y, self.y0, self.hy, self.ny)
        shape = np.shape(ix)
        ix, iy = ix.ravel(), iy.ravel()
        wx, dwx, wy, dwy = (w.reshape(-1, 4) for w in (wx, dwx, wy, dwy))
        c = self._c.ravel()
        stride = self.ny + 2
        base = ix * stride + iy
        n = base.size
        val, dx, dy = np.zeros(n), np.zeros(n), np.zeros(n)
        for a in range(4):
            by_y, by_dy = np.zeros(n), np.zeros(n)
            for b in range(4):
                coef = np.take(c, base + (a * stride + b))
                by_y += coef * wy[:, b]
                by_dy += coef * dwy[:, b]
            val += by_y * wx[:, a]
            dx += by_y * dwx[:, a]
            dy += by_dy * wx[:, a]
        return val.reshape(shape), dx.reshape(shape), dy.reshape(shape)


class _PairedSplines:
    """Two ``UniformBicubic`` splines on one grid (or several such pairs side by side),
    for values only: the pair's coefficients interleaved, so that the four neighbours
    along the second axis of both splines are 8 consecutive numbers and a point needs 4
    row gathers instead of 32 scalar ones, contracted by small matrix products (the same
    numbers as ``a(x, y)[0]``, ``b(x, y)[0]``, to rounding)."""

    CHUNK = 2**15
    """Points evaluated at once (bounds the gathered rows: 8 MiB a chunk)."""

    def __init__(self, pairs: list[tuple[UniformBicubic, UniformBicubic]]):
        a = pairs[0][0]
        self.x0, self.h, self.nx = a.x0, a.h, a.nx
        self.y0, self.hy, self.ny = a.y0, a.hy, a.ny
        self.stride = a.ny + 2
        self.size = (a.nx + 2) * self.stride  # one pair's coefficients
        c = np.concatenate([np.stack([p._c.ravel(), q._c.ravel()], axis=-1)
                            for p, q in pairs]).ravel()
        c = np.concatenate([c, np.zeros(6)])  # the last windows stay inside
        self._win = np.ascontiguousarray(np.lib.stride_tricks.as_strided(
            c, shape=(c.size // 2 - 3, 8), strides=(16, 8), writeable=False))

    def __call__(self, x: np.ndarray, y: np.ndarray, table: np.ndarray | int = 0
                 ) -> np.ndarray:
        """(n, 2) values of the pair ``table`` (per point, or one for all) at 1-D points."""
        out = np.empty((x.size, 2))
        step = self.CHUNK
        for k in range(0, x.size, step):
            sl = slice(k, k + step)
            t = table if np.isscalar(table) else table[sl]
            out[sl] = self._chunk(x[sl], y[sl], t)
        return out

    def _chunk(self, x: np.ndarray, y: np.ndarray, table) -> np.ndarray:
        ix, wx = _cell_and_weights(x, self.x0, self.h, self.nx)
        iy, wy = _cell_and_weights(y, self.y0, self.hy, self.ny)
        base = ix * self.stride + iy + table * self.size
        rows = np.take(self._win, base[:, None] + self.stride * np.arange(4), axis=0)
        by_x = np.matmul(wx[:, None, :], rows).reshape(-1, 4, 2)  # (n, 4 along y, 2)
        return np.matmul(wy[:, None, :], by_x)[:, 0]


_POWER_TO_BSPLINE = np.array([[1.0, 4.0, 1.0, 0.0], [-3.0, 0.0, 3.0, 0.0],
                              [3.0, -6.0, 3.0, 0.0], [-1.0, 3.0, -3.0, 1.0]]) / 6.0
"""``[1, t, t^2, t^3] @ _POWER_TO_BSPLINE`` are the 4 uniform cubic B-spline weights."""


def _cell_and_weights(x: np.ndarray, x0: float, h: float, n: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Grid cell of 1-D points and their 4 B-spline weights, (n_points, 4)."""
    u = (x - x0) / h
    i = np.clip(np.floor(u).astype(np.int64), 0, n - 2)
    powers = np.empty((u.size, 4))
    powers[:, 0] = 1.0
    t = np.subtract(u, i, out=powers[:, 1])
    np.multiply(t, t, out=powers[:, 2])
    np.multiply(powers[:, 2], t, out=powers[:, 3])
    return i, powers @ _POWER_TO_BSPLINE


def _cubic_weights(t: np.ndarray) -> list[np.ndarray]:
    """The 4 uniform cubic B-spline weights at fractional positions ``t``."""
    t2 = t * t
    t3 = t2 * t
    s = 1.0 - t
    return [s * s * s / 6.0, (3 * t3 - 6 * t2 + 4) / 6.0, (-3 * t3 + 3 * t2 + 3 * t + 1) / 6.0,
            t3 / 6.0]


def _weights(x: np.ndarray, x0: float, h: float, n: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell index and the 4 uniform B-spline weights (and their derivatives), last axis."""
    u = (np.asarray(x, dtype=float) - x0) / h
    i = np.clip(np.floor(u).astype(np.int64), 0, n - 2)
    t = u - i
    t2, t3, s = t * t, t * t * t, 1.0 - t
    w = np.stack([s**3, 3 * t3 - 6 * t2 + 4, -3 * t3 + 3 * t2 + 3 * t + 1, t3], -1) / 6
    dw = np.stack([-0.5 * s**2, 1.5 * t2 - 2 * t, -1.5 * t2 + t + 0.5, 0.5 * t2], -1)
    return i, w, dw / h


def _uniform_step(grid: np.ndarray, name: str) -> float:
    h = (grid[-1] - grid[0]) / (grid.size - 1)
    if not (h > 0 and np.allclose(np.diff(grid), h, rtol=1e-9, atol=0)):
        raise ConfigError(f"the I-V table's {name} grid must be uniform and ascending")
    return float(h)


@dataclass(frozen=True, eq=False)
class TabulatedMos:
    """An NMOS I-V table from ngspice: a square over drain and source voltage, and a
    band along its diagonal over source voltage and ``Vds``.

    BSIM4 swaps source and drain at ``Vds = 0``, where the current's second
    derivative jumps (FreePDK45 NMOS_VTG: from about +0.004 to -0.008 A/V^2).
    A spline over drain and source voltage smears that jump, which lies on the
    square's diagonal, over a few grid cells: 1e-8 A of error at the few
    millivolts an access transistor holds, 1e-5 of full scale in the array.
    So within ``|Vds| <= vds_grid_volt[-1]`` two more bicubic splines take
    over, one over ``(Vs, Vds >= 0)`` and one over ``(Vs, -Vds >= 0)``; there
    the diagonal is a grid edge and each side is smooth.

    Attributes:
        v_grid_volt: drain and source voltages of the square (V), ascending and uniform.
        i_d_table: current into the drain terminal (A), shape (n_vs, n_vd).
        i_s_table: current out of the source terminal (A), same shape.
        vds_grid_volt: ``|Vds|`` of the band (V), ascending and uniform from 0;
            its source voltages are ``v_grid_volt``.
        i_d_fwd, i_s_fwd: the two currents at ``Vds = +vds_grid_volt``, (n_vs, n_vds).
        i_d_rev, i_s_rev: the same at ``Vds = -vds_grid_volt``.
    """

    v_grid_volt: np.ndarray
    i_d_table: np.ndarray
    i_s_table: np.ndarray
    vds_grid_volt: np.ndarray
    i_d_fwd: np.ndarray
    i_s_fwd: np.ndarray
    i_d_rev: np.ndarray
    i_s_rev: np.ndarray

    def __post_init__(self) -> None:
        g, gd = self.v_grid_volt, self.vds_grid_volt
        h, hd = _uniform_step(g, "voltage"), _uniform_step(gd, "Vds")
        if gd[0] != 0.0:
            raise ConfigError("the I-V table's Vds grid must start at 0")
        object.__setattr__(self, "_i_d", UniformBicubic(g[0], h, self.i_d_table))
        object.__setattr__(self, "_i_s", UniformBicubic(g[0], h, self.i_s_table))
        for name in ("i_d_fwd", "i_s_fwd", "i_d_rev", "i_s_rev"):
            spline = UniformBicubic(g[0], h, getattr(self, name), 0.0, hd)
            object.__setattr__(self, "_" + name, spline)
        object.__setattr__(self, "_square_pair", _PairedSplines([(self._i_d, self._i_s)]))
        object.__setattr__(self, "_band_pairs", _PairedSplines(
            [(self._i_d_fwd, self._i_s_fwd), (self._i_d_rev, self._i_s_rev)]))

    @property
    def span_volt(self) -> tuple[float, float]:
        """Range of node voltages (drain and source) the table covers (V)."""
        return float(self.v_grid_volt[0]), float(self.v_grid_volt[-1])

    def currents(self, vd: np.ndarray, vs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(i_d, i_s)`` of ``evaluate`` without the derivatives (the same spline values,
        to rounding), several times faster: for iterations that need residuals only."""
        vd = np.asarray(vd, dtype=float)
        vs = np.asarray(vs, dtype=float)
        shape = np.broadcast_shapes(vd.shape, vs.shape)
        lo, hi = self.span_volt
        d = np.clip(np.broadcast_to(vd, shape), lo, hi).ravel()
        s = np.clip(np.broadcast_to(vs, shape), lo, hi).ravel()
        vds = d - s
        u = np.abs(vds)
        band = u <= self.vds_grid_volt[-1]
        rev = (vds < 0).astype(np.int64)  # the band's second pair of splines
        if band.all():
            out = self._band_pairs(s, u, rev)
        else:
            out = np.empty((u.size, 2))
            sq = ~band
            out[sq] = self._square_pair(s[sq], d[sq])
            out[band] = self._band_pairs(s[band], u[band], rev[band])
        return out[:, 0].reshape(shape), out[:, 1].reshape(shape)

    def evaluate(self, vd: np.ndarray, vs: np.ndarray) -> MosCurrents:
        vd = np.asarray(vd, dtype=float)
        vs = np.asarray(vs, dtype=float)
        lo, hi = self.span_volt
        # Evaluate inside the table; callers check that solutions stay inside.
        d = np.clip(vd, lo, hi)
        s = np.clip(vs, lo, hi)
        vds = d - s
        u = np.abs(vds)
        fwd = vds >= 0
        band = u <= self.vds_grid_volt[-1]
        out = {}
        for name in ("i_d", "i_s"):
            val, d_vd, d_vs = (np.empty(np.shape(u)) for _ in range(3))
            sq = ~band
            if sq.any():
                val[sq], d_vs[sq], d_vd[sq] = getattr(self, "_" + name)(s[sq], d[sq])
            for mask, half, sign in ((band & fwd, "fwd", 1.0), (band & ~fwd, "rev", -1.0)):
                if mask.any():
                    f, f_s, f_u = getattr(self, f"_{name}_{half}")(s[mask], u[mask])
                    # I = f(Vs, |Vds|): dI/dVd = +-df/du, dI/dVs = df/dVs - dI/dVd.
                    val[mask], d_vd[mask], d_vs[mask] = f, sign * f_u, f_s - sign * f_u
            out[name] = (val, d_vd, d_vs)
        return MosCurrents(i_d=out["i_d"][0], i_s=out["i_s"][0],
                           did_dvd=out["i_d"][1], did_dvs=out["i_d"][2],
                           dis_dvd=out["i_s"][1], dis_dvs=out["i_s"][2])


def table_span(v_abs_max_volt: float) -> float:
    """Smallest table half-width in ``TABLE_SPANS_VOLT`` covering ``v_abs_max_volt`` + 50 mV.

    Raises:
        ConfigError: voltages beyond the largest table.
    """
    for span in TABLE_SPANS_VOLT:
        if v_abs_max_volt + 0.05 <= span:
            return span
    raise ConfigError(f"node voltages up to {v_abs_max_volt:g} V exceed the BSIM4 table "
                      f"range +-{TABLE_SPANS_VOLT[-1]:g} V")


def bsim4_sweep_netlist(access: AccessParams) -> Netlist:
    """One NMOS_VTG with drain, source, gate and bulk on ideal sources (gate at V_WL)."""
    body = (
        "Vd d 0 DC 0",
        "Vs s 0 DC 0",
        f"Vg g 0 DC {num(access.v_gate_volt)}",
        "Vb b 0 DC 0",
        f"M1 d g s b {BSIM4_MODEL} W={num(access.w_m)} L={num(access.l_m)}",
    )
    return Netlist("access NMOS I-V table", body, (BSIM4_FILE,))


def bsim4_band_netlist(access: AccessParams) -> Netlist:
    """As ``bsim4_sweep_netlist``, with the drain at ``V(s) + V(Vds)`` (a unity VCVS
    copies the source voltage), so that ``.dc Vds ... Vs ...`` sweeps the band's axes."""
    body = (
        "Vs s 0 DC 0",
        "Es x 0 s 0 1",
        "Vds d x DC 0",
        f"Vg g 0 DC {num(access.v_gate_volt)}",
        "Vb b 0 DC 0",
        f"M1 d g s b {BSIM4_MODEL} W={num(access.w_m)} L={num(access.l_m)}",
    )
    return Netlist("access NMOS I-V band", body, (BSIM4_FILE,))


SWEEP_LEAD_POINTS = 2
"""Points dropped at the start of every inner ``.dc`` sweep. ngspice 39 returns
the second point of each inner sweep of a circuit whose nodes are all fixed
off by about ``I'' dV^2 / 2`` (1e-9 A on BSIM4 with 0.5 mV steps), apparently
the predictor's value; every other point matches a sweep started elsewhere to
1e-19 A. The table sweeps start two steps early and drop both."""

BAND_FRACTION = 0.2
"""Half-width of the ``Vds`` band as a fraction of the table's half-width."""


_SWEEP_SAVE = ("i({inner})", "i(vs)", "v(d)", "v(s)")


def _sweep_lines(inner: str, inner_grid: np.ndarray, outer_grid: np.ndarray) -> list[str]:
    """The ``.dc`` line of a nested sweep over the grids (the inner one started early)."""
    h, hs = inner_grid[1] - inner_grid[0], outer_grid[1] - outer_grid[0]
    start = inner_grid[0] - SWEEP_LEAD_POINTS * h
    return [f".dc {inner} {num(start)} {num(inner_grid[-1])} {num(h)} "
            f"Vs {num(outer_grid[0])} {num(outer_grid[-1])} {num(hs)}"]


def _nested_sweep(netlist: Netlist, inner: str, inner_grid: np.ndarray,
                  outer_grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run ``.dc <inner> ... Vs ...`` over the grids; currents (i_d, i_s), (n_outer, n_inner).

    Raises:
        SimulationError: ngspice failed or returned points off the grids.
    """
    from circuits.runner import run  # the runner looks ngspice up only when called

    res = run(netlist, _sweep_lines(inner, inner_grid, outer_grid),
              save=tuple(v.format(inner=inner.lower()) for v in _SWEEP_SAVE))
    n_o, n_i = outer_grid.size, inner_grid.size + SWEEP_LEAD_POINTS
    vd, vs = res.v("d"), res.v("s")
    if vd.size != n_o * n_i:
        raise SimulationError(f"BSIM4 sweep returned {vd.size} points, expected {n_o * n_i}",
                              log_tail=res.log[-2000:])
    keep = np.s_[:, SWEEP_LEAD_POINTS:]
    # ngspice: the first source is the inner sweep.
    v_inner = (vd if inner == "Vd" else vd - vs).reshape(n_o, n_i)[keep]
    if not (np.allclose(v_inner, inner_grid, atol=1e-9)
            and np.allclose(vs.reshape(n_o, n_i)[:, 0], outer_grid, atol=1e-9)):
        raise SimulationError("BSIM4 sweep points are not on the expected grid")
    i_d = -res.i(inner.lower()).reshape(n_o, n_i)[keep]  # it flows from node d into the source
    return i_d, res.i("vs").reshape(n_o, n_i)[keep]


@dataclass(frozen=True, eq=False)
class _TablePlan:
    """The two sweeps of one BSIM4 table: grids and decks (no I/O)."""

    access: AccessParams
    span_volt: float
    grid: np.ndarray      # drain and source voltages of the square (V)
    grid_b: np.ndarray    # |Vds| of the band (V), from 0

    @classmethod
    def of(cls, access: AccessParams, span_volt: float) -> _TablePlan:
        step = 2.0 * span_volt / TABLE_STEPS
        grid = -span_volt + step * np.arange(TABLE_STEPS + 1)
        n_b = int(round(BAND_FRACTION * span_volt / step))
        return cls(access, float(span_volt), grid, step * np.arange(n_b + 1))

    @property
    def band_both(self) -> np.ndarray:
        """``Vds`` of the band sweep, negative to positive."""
        return np.concatenate([-self.grid_b[::-1], self.grid_b[1:]])

    def sweeps(self) -> tuple[tuple[Netlist, str, np.ndarray], ...]:
        """(netlist, inner source, inner grid) of the square and the band; outer: ``grid``."""
        return ((bsim4_sweep_netlist(self.access), "Vd", self.grid),
                (bsim4_band_netlist(self.access), "Vds", self.band_both))

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Shape of every array of a stored table."""
        n, n_b = self.grid.size, self.grid_b.size
        return {"v_grid_volt": (n,), "vds_grid_volt": (n_b,), "i_d_table": (n, n),
                "i_s_table": (n, n), "i_d_fwd": (n, n_b), "i_s_fwd": (n, n_b),
                "i_d_rev": (n, n_b), "i_s_rev": (n, n_b)}


TABLE_CACHE_TAG = "bsim4-iv-table-v1"
"""Version tag of the stored BSIM4 tables (part of every table's cache key)."""

DEFAULT_TABLE_CACHE = ResultCache()
"""Where ``bsim4_table`` keeps tables by default: the project's cache folder,
resolved at each use (``$COSIM_CACHE_DIR`` or ``.cache/``)."""


@functools.cache
def table_code_digest() -> str:
    """SHA-256 of the code that builds and reads a BSIM4 table: this module, the
    ngspice runner and the raw-file reader (part of every table's cache key)."""
    h = hashlib.sha256()
    pkg = Path(circuits.__file__).resolve().parent
    for path in (Path(__file__).resolve(), pkg / "runner.py", pkg / "rawfile.py"):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def simulator_id() -> str:
    """Which ngspice program a sweep would run: path, size and modification time
    (``$NGSPICE`` or ``ngspice`` on ``PATH``, the runner's rule); ``"none"`` if absent.

    Cheaper than asking the program for its version (no process, no runner import),
    and stricter: a reinstalled program rebuilds the tables once.
    """
    exe = _find_program(os.environ.get("NGSPICE") or "ngspice", os.environ.get("PATH", ""))
    try:
        st = os.stat(exe) if exe else None
    except OSError:
        st = None
    return f"{exe}:{st.st_size}:{st.st_mtime_ns}" if st else "none"


@functools.cache
def _find_program(name: str, search_path: str) -> str | None:
    """Resolved path of program ``name`` on ``search_path`` (the ``PATH`` string)."""
    exe = shutil.which(name, path=search_path)
    return str(Path(exe).resolve()) if exe else None


def table_key(access: AccessParams, span_volt: float) -> str:
    """Content-hash cache key of the BSIM4 table of ``access`` over ``[-span, span]``.

    Raises:
        ConfigError: a model file the decks include cannot be read.
    """
    plan = _TablePlan.of(access, span_volt)
    parts: list[object] = [TABLE_CACHE_TAG, table_code_digest(), simulator_id(), access,
                           plan.span_volt, TABLE_STEPS, BAND_FRACTION, SWEEP_LEAD_POINTS]
    models: dict[str, None] = {}
    for netlist, inner, inner_grid in plan.sweeps():
        parts.append(netlist.text(tuple(_sweep_lines(inner, inner_grid, plan.grid))))
        models.update(dict.fromkeys(netlist.models))
    for model in models:
        try:
            parts += [model, (MODEL_DIR / model).read_bytes()]
        except OSError as exc:
            raise ConfigError(f"cannot read the model file {model}: {exc.strerror}") from exc
    return cache_key(*parts)


_TABLES: dict[str, TabulatedMos] = {}
"""Tables built or loaded by this process, by ``table_key`` (a pure function of it)."""


def bsim4_table(access: AccessParams, span_volt: float,
                cache: ResultCache | None = DEFAULT_TABLE_CACHE) -> TabulatedMos:
    """I-V table of the BSIM4 access NMOS over drain and source in ``[-span, span]``.

    Two ngspice nested DC sweeps: the square (``.dc Vd ... Vs ...``,
    ``TABLE_STEPS`` intervals per axis) and the band
    ``|Vds| <= BAND_FRACTION * span`` at the same step (``.dc Vds ... Vs ...``).
    Kept in memory and in ``cache`` under ``table_key`` (module docstring).

    Args:
        access: the transistor.
        span_volt: half-width of the table (V).
        cache: where tables are kept across processes; ``None`` (or a disabled
            cache) keeps them in this process only.

    Raises:
        SimulationError: ngspice failed or returned an unexpected table.
    """
    key = table_key(access, span_volt)
    table = _TABLES.get(key)
    if table is None:
        plan = _TablePlan.of(access, span_volt)
        arrays = _load_table(cache, key, plan)
        if arrays is None:
            arrays = _build_table(plan)
            _store_table(cache, key, arrays)
        table = _TABLES[key] = TabulatedMos(**arrays)
    return table


def forget_tables() -> None:
    """Drop the tables kept in this process (the disk cache is untouched)."""
    _TABLES.clear()


def _build_table(plan: _TablePlan) -> dict[str, np.ndarray]:
    (sq, sq_inner, _), (band, band_inner, band_grid) = plan.sweeps()
    i_d, i_s = _nested_sweep(sq, sq_inner, plan.grid, plan.grid)
    b_d, b_s = _nested_sweep(band, band_inner, band_grid, plan.grid)
    n_b = plan.grid_b.size - 1
    fwd, rev = np.s_[:, n_b:], np.s_[:, n_b::-1]
    return {"v_grid_volt": plan.grid, "i_d_table": i_d, "i_s_table": i_s,
            "vds_grid_volt": plan.grid_b, "i_d_fwd": b_d[fwd], "i_s_fwd": b_s[fwd],
            "i_d_rev": b_d[rev], "i_s_rev": b_s[rev]}


def _load_table(cache: ResultCache | None, key: str, plan: _TablePlan
                ) -> dict[str, np.ndarray] | None:
    """The stored arrays of ``key`` if they are a whole, well-formed table of ``plan``."""
    if cache is None:
        return None
    got = cache.get(key)
    if got is None:
        return None
    shapes = plan.shapes()
    ok = (set(got) == set(shapes)
          and all(got[k].dtype == np.float64 and got[k].shape == shapes[k] for k in shapes)
          and np.array_equal(got["v_grid_volt"], plan.grid)
          and np.array_equal(got["vds_grid_volt"], plan.grid_b)
          and all(np.isfinite(a).all() for a in got.values()))
    return {k: got[k] for k in shapes} if ok else None


def _store_table(cache: ResultCache | None, key: str, arrays: dict[str, np.ndarray]) -> None:
    """Keep a fresh table in ``cache``; a folder that cannot be written only warns."""
    if cache is None:
        return
    try:
        cache.put(key, arrays)
    except OSError as exc:
        warnings.warn(f"BSIM4 table not cached in {cache.folder}: {exc}", CosimWarning,
                      stacklevel=3)


def access_model(access: AccessParams, v_abs_max_volt: float = 0.45) -> MosModel:
    """The access transistor model for ``access.model`` (``level1`` or ``bsim4``).

    Args:
        access: transistor parameters.
        v_abs_max_volt: largest |node voltage| the caller expects; picks the
            BSIM4 table's span (ignored for level 1).

    BSIM4 tables come from memory, else the project's cache folder, else
    ngspice (``bsim4_table`` with ``DEFAULT_TABLE_CACHE``).
    """
    if access.model == "level1":
        return level1_model(access)
    return bsim4_table(access, table_span(v_abs_max_volt))
