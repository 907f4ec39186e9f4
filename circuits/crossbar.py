"""1T1R / 0T1R crossbar: parameters and the netlist generator.

Topology (the contract shared by the generator and by every independent
solver of the same network, e.g. ``cosim.engine.nodal``):

- Rows are bit lines, columns are source lines. Row ``r`` is driven at its
  left end by input voltage source ``Vin<r>`` (node ``in<r>``) through the
  driver resistance ``r_driver_ohm`` into node ``bl<r>_0``; the bit line runs
  through nodes ``bl<r>_<c>`` (c = 0..cols-1) with one segment of
  ``r_wire_bl_ohm`` between neighbouring columns.
- Column ``c`` runs through nodes ``sl<c>_<r>`` (r = 0..rows-1) with one
  segment of ``r_wire_sl_ohm`` between neighbouring rows; it leaves at its
  bottom end (row ``rows-1``) through ``r_sense_ohm`` into the sense node
  ``sense<c>``, held at ``v_ref_volt`` by an ideal virtual ground (source
  ``Vsense<c>``, whose current is the output) or by a TIA.
- Cell (r, c) sits between ``bl<r>_<c>`` and ``sl<c>_<r>``: in 0T1R mode the
  RRAM alone; in 1T1R mode the RRAM from ``bl<r>_<c>`` to ``m<r>_<c>`` and the
  access NMOS with drain ``m<r>_<c>``, gate ``wl<r>`` (ideal word-line source
  at ``access.v_gate_volt``), source ``sl<c>_<r>`` and bulk at ground.
- Differential mode: each logical column ``c`` has a positive physical column
  (conductances ``g_siemens[:, c]``) and a negative one (``g_neg_siemens[:, c]``),
  physical columns ``2c`` and ``2c+1``; the logical output is I(2c) - I(2c+1).
- A zero resistance means a direct connection (no element).
- Optional end currents (``crossbar(..., i_end_amp=...)``): a current drawn
  from the far end of each bit line (``bl<r>_<cols-1>``) to ground, standing
  for the columns of a wider array beyond this one.
- Optional wire capacitance ``c_wire_farad`` to ground at every bit-line and
  source-line node, for transients.

Output currents are positive when current flows from the array into the sense
node (positive inputs, positive conductances).

Netlist names (``crossbar``). Node and source names follow the contract; with
differential pairs they carry the physical column index. Elements:

- inputs: ``Vin<r> in<r> 0 DC v`` (one vector), or for a batch of B vectors a
  control source ``Vctl ctl 0 DC 0``, a B-source
  ``Bdrv<r> drv<r> 0 V=pwl(v(ctl), 0,x0, 1,x1, ...)`` and ``Vin<r> in<r> drv<r>
  DC 0`` in series, so ``Vin<r>`` and ``in<r>`` exist in every mode and
  ``i(Vin<r>)`` is always the row's input current. ``.dc Vctl 0 B-1 1``
  (``batch_sweep``) visits one input vector per sweep point;
- word lines (1T1R): ``Vwl<r> wl<r> 0 DC v_gate``;
- wires: ``Rdrv<r>`` (in<r> - bl<r>_0), ``Rbl<r>_<c>`` (bl<r>_<c-1> - bl<r>_<c>),
  ``Rsl<c>_<r>`` (sl<c>_<r> - sl<c>_<r+1>), ``Rsense<c>`` (sl<c>_<rows-1> - sense<c>);
- cells: ``Xc<r>_<c>`` (the RRAM subcircuit ``rram_lin`` or ``rram_sinh`` of
  ``device_models/rram_cell.lib``) and, in 1T1R mode, ``Mc<r>_<c>``;
- wire capacitances: ``Cbl<r>_<c>`` and ``Csl<c>_<r>``, one per contract node;
- readout: ``Vsense<c> sense<c> 0 DC v_ref`` (virtual ground), or the TIA of
  ``circuits.tia`` named ``<c>`` (``Vf<c>`` meters the current, output node
  ``out<c>``).

Zero resistances. No element is written for a zero resistance; the nodes it
would join are one node, named after the member nearest the line's driven
end: with ``r_driver_ohm = 0`` node ``bl<r>_0`` is named ``in<r>``; with
``r_wire_bl_ohm = 0`` every ``bl<r>_<c>`` is named like ``bl<r>_0`` (so
``in<r>`` if the driver is ideal too); with ``r_sense_ohm = 0`` node
``sl<c>_<rows-1>`` is named ``sense<c>``; with ``r_wire_sl_ohm = 0`` every
``sl<c>_<r>`` is named like ``sl<c>_<rows-1>``. ``bl_node`` and ``sl_node``
give the netlist name of any contract node. Wire capacitors stay one per
contract node, so merged nodes carry their sum.

Zero conductances. A cell with ``g = 0`` is an open circuit: its RRAM element
is left out (in 1T1R mode the access NMOS stays, its drain ``m<r>_<c>`` then
touches only the transistor).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from circuits.analyses import DC
from circuits.cells import ZERO_T_ONE_R, CellKind, cell_kind
from circuits.devices import ACCESS_45NM, TAOX_40NM, AccessParams, RRAMParams
from circuits.errors import ConfigError, check_choice, check_range
from circuits.netlist import Netlist, num
from circuits.tia import DEFAULT_TIA, TIAParams, tia_readout_lines

READOUTS = ("virtual_ground", "tia")
MAX_DIM = 4096
MACRO_ROWS = 512
"""Rows of one physical array of the seeds' chip (a 512 x 512 1T1R macro)."""
MACRO_COLS = 512
"""Physical columns of one array of the seeds' chip."""

RRAM_FILE = "rram_cell.lib"
"""Model file of the RRAM cell subcircuits."""

NMOS_CARDS = {"bsim4": ("freepdk45_nom.lib", "NMOS_VTG"),
              "level1": ("nmos_level1.lib", "NMOS_L1")}
"""Model file and model name of the access NMOS per ``AccessParams.model``."""

LEVEL1_V_GATE_RANGE_VOLT = (0.7, 1.1)
"""Word-line voltages the level-1 card was fitted over (see ``nmos_level1.lib``)."""

CONTROL_SOURCE = "Vctl"
"""The source swept by ``batch_sweep``: its value picks the input vector."""

MAX_INPUT_VOLT = 5.0
"""Largest input voltage magnitude the generator accepts (V)."""

MAX_END_AMP = 1.0
"""Largest bit-line end current magnitude the generator accepts (A)."""

PWL_PAIRS_PER_LINE = 8
"""Points of a batch input's PWL table per netlist line (continuation lines follow)."""


@dataclass(frozen=True, kw_only=True, eq=False)
class CrossbarParams:
    """A crossbar array and its parasitics.

    Attributes:
        g_siemens: cell conductances (S), shape (rows, cols); a read-only copy is kept.
        g_neg_siemens: conductances of the negative columns (S) for differential
            pairs, same shape, or ``None`` for single-ended columns.
        cell: the cell kind (:mod:`circuits.cells`; a name is looked up).
        r_wire_bl_ohm: bit-line wire resistance per segment between neighbouring cells (ohm).
        r_wire_sl_ohm: source-line wire resistance per segment between neighbouring cells (ohm).
        r_driver_ohm: output resistance of each input driver (ohm); 0 is ideal.
        r_sense_ohm: series resistance from the source line's end into the sense node (ohm).
        c_wire_farad: wire capacitance to ground at each bit-/source-line node (F); 0 is none.
        v_ref_volt: voltage at which the sense nodes are held (V).
        readout: ``"virtual_ground"`` (ideal, current measured) or ``"tia"``.
        rram: the RRAM cell model (levels, device range, read I-V).
        access: the access transistor (used in 1T1R mode).
        tia: the TIA at each sense node when ``readout`` is ``"tia"``.
    """

    g_siemens: np.ndarray
    g_neg_siemens: np.ndarray | None = None
    cell: CellKind = field(default=ZERO_T_ONE_R,
                           metadata={"parse": cell_kind, "dump": lambda c: c.name})
    r_wire_bl_ohm: float = 1.0
    r_wire_sl_ohm: float = 1.0
    r_driver_ohm: float = 0.0
    r_sense_ohm: float = 0.0
    c_wire_farad: float = 0.0
    v_ref_volt: float = 0.0
    readout: str = "virtual_ground"
    rram: RRAMParams = TAOX_40NM
    access: AccessParams = ACCESS_45NM
    tia: TIAParams = DEFAULT_TIA
    _digest: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        g = conductance_matrix("g_siemens", self.g_siemens, self.rram)
        object.__setattr__(self, "g_siemens", g)
        if self.g_neg_siemens is not None:
            gn = conductance_matrix("g_neg_siemens", self.g_neg_siemens, self.rram)
            if gn.shape != g.shape:
                raise ConfigError(
                    f"g_neg_siemens has shape {gn.shape}, g_siemens has {g.shape}; they must match"
                )
            object.__setattr__(self, "g_neg_siemens", gn)
        object.__setattr__(self, "cell", cell_kind(self.cell))
        check_choice("readout", self.readout, READOUTS)
        for name in ("r_wire_bl_ohm", "r_wire_sl_ohm", "r_driver_ohm", "r_sense_ohm",
                     "c_wire_farad"):
            check_range(name, getattr(self, name), 0.0)
        check_range("v_ref_volt", self.v_ref_volt, -5.0, 5.0)
        if self.cell.access_transistor and self.access.model == "level1":
            lo, hi = LEVEL1_V_GATE_RANGE_VOLT
            if not lo <= self.access.v_gate_volt <= hi:
                raise ConfigError(
                    f"access.v_gate_volt = {self.access.v_gate_volt:g} V is outside "
                    f"[{lo:g}, {hi:g}] V, the range the level-1 card is fitted over; "
                    "use access.model = 'bsim4'"
                )
        if self.readout == "tia" and self.tia.v_ref_volt != self.v_ref_volt:
            raise ConfigError(
                f"tia.v_ref_volt = {self.tia.v_ref_volt:g} V must equal v_ref_volt = "
                f"{self.v_ref_volt:g} V (the TIA holds the sense nodes at v_ref_volt)"
            )
        object.__setattr__(self, "_digest", self._compute_digest())

    @property
    def rows(self) -> int:
        return self.g_siemens.shape[0]

    @property
    def cols(self) -> int:
        """Logical columns (outputs)."""
        return self.g_siemens.shape[1]

    @property
    def differential(self) -> bool:
        return self.g_neg_siemens is not None

    def physical_g(self) -> np.ndarray:
        """Conductances of the physical columns, shape (rows, cols or 2*cols)."""
        if self.g_neg_siemens is None:
            return self.g_siemens
        g = np.empty((self.rows, 2 * self.cols))
        g[:, 0::2] = self.g_siemens
        g[:, 1::2] = self.g_neg_siemens
        return g

    def digest(self) -> str:
        """Content hash of every field (for caches)."""
        return self._digest

    def _compute_digest(self) -> str:
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.g_siemens, dtype="<f8").tobytes())
        if self.g_neg_siemens is not None:
            h.update(np.ascontiguousarray(self.g_neg_siemens, dtype="<f8").tobytes())
        rest = (self.g_siemens.shape, self.cell.name, self.r_wire_bl_ohm, self.r_wire_sl_ohm,
                self.r_driver_ohm, self.r_sense_ohm, self.c_wire_farad, self.v_ref_volt,
                self.readout, self.rram, self.access, self.tia)
        h.update(repr(rest).encode())
        return h.hexdigest()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CrossbarParams) and self._digest == other._digest

    def __hash__(self) -> int:
        return hash(self._digest)


def conductance_matrix(name: str, value: object, rram: RRAMParams,
                       max_dim: int | None = MAX_DIM) -> np.ndarray:
    """``value`` as a read-only 2-D array of conductances inside the device range.

    The one check of conductances given by a user or a scheme (crossbar
    parameters, tile targets).

    Args:
        name: what the array is, for messages.
        value: the conductances (S), ``(rows, cols)``.
        rram: the device whose range ``[g_min, g_max]`` applies.
        max_dim: largest rows and cols (``None``: any non-empty size).

    Raises:
        ConfigError: not a non-empty 2-D array of numbers, too large, NaN or
            infinite entries, or entries outside the device range.
    """
    try:
        g = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a 2-D array of conductances in siemens") from None
    if g.ndim != 2 or 0 in g.shape:
        raise ConfigError(f"{name} must be a non-empty 2-D array (rows, cols), got shape "
                          f"{g.shape}")
    rows, cols = g.shape
    if max_dim is not None and not (rows <= max_dim and cols <= max_dim):
        raise ConfigError(f"rows and cols must be in [1, {max_dim}], got {rows} x {cols}")
    if not np.all(np.isfinite(g)):
        raise ConfigError(f"{name} holds NaN or infinite values")
    lo, hi = g.min(), g.max()
    if lo < rram.g_min_siemens or hi > rram.g_max_siemens:
        bad = lo if lo < rram.g_min_siemens else hi
        raise ConfigError(
            f"{name} holds {bad:.4g} S, outside the device range "
            f"[{rram.g_min_siemens:.4g}, {rram.g_max_siemens:.4g}] S"
        )
    g.setflags(write=False)
    return g


# --------------------------------------------------------------------------- generator


def crossbar(p: CrossbarParams, v_in_volt: np.ndarray | None = None,
             i_end_amp: np.ndarray | None = None) -> Netlist:
    """Netlist of the crossbar ``p`` (see the module docstring for every name).

    Args:
        p: the array and its parasitics.
        v_in_volt: input voltages (V): ``None`` gives 0 V DC sources (a caller
            may sweep ``Vin<r>``); shape ``(rows,)`` one DC vector; shape
            ``(B, rows)`` a batch, solved by ``batch_sweep(B)`` one vector per
            sweep point.
        i_end_amp: current (A) drawn out of the far end of each bit line (node
            ``bl<r>_<cols-1>``) into ground, the shape of ``v_in_volt``: the
            rest of a wider array beyond the last column, when ``p`` is a column
            slice of it (sources ``Iend<r>``, or B-sources ``Bend<r>`` for a
            batch). ``None``: the bit lines end open, as in a whole array.

    Returns:
        The netlist, without analyses; same ``p`` and inputs give the same text.

    Raises:
        ConfigError: inputs of the wrong shape, not finite or beyond
            ``MAX_INPUT_VOLT``; end currents without inputs, of another shape,
            not finite or beyond ``MAX_END_AMP``.
    """
    v = _check_inputs(p, v_in_volt)
    bl, sl = _bl_names(p), _sl_names(p)
    body = [
        *_input_lines(p, v),
        *_end_lines(p, bl, v, i_end_amp),
        *_wordline_lines(p),
        *_bitline_lines(p, bl),
        *_cell_lines(p, bl, sl),
        *_sourceline_lines(p, sl),
        *_capacitor_lines(p, bl, sl),
        *_readout_lines(p),
    ]
    return Netlist(title=_title(p, v), body=tuple(body), models=_models(p))


def batch_sweep(batch_size: int) -> DC:
    """The DC sweep of ``Vctl`` that visits each of ``batch_size`` input vectors once.

    Raises:
        ConfigError: ``batch_size`` is not a positive integer.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) \
            or batch_size < 1:
        raise ConfigError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    return DC(source=CONTROL_SOURCE, start=0.0, stop=float(batch_size - 1), step=1.0)


def output_sources(p: CrossbarParams) -> list[str]:
    """Names of the sources whose currents are the outputs, physical column order.

    ``i(<name>)`` is the current flowing into sense node ``c`` from the array:
    ``Vsense<c>`` for the virtual ground, the TIA's feedback meter ``Vf<c>``.
    """
    prefix = "Vsense" if p.readout == "virtual_ground" else "Vf"
    return [f"{prefix}{c}" for c in range(_physical_cols(p))]


def output_nodes(p: CrossbarParams) -> list[str]:
    """TIA output nodes ``out<c>``, physical column order (``readout = "tia"`` only).

    Raises:
        ConfigError: the readout is an ideal virtual ground (no output voltage).
    """
    if p.readout != "tia":
        raise ConfigError(f"readout {p.readout!r} has no output voltages; use 'tia'")
    return [f"out{c}" for c in range(_physical_cols(p))]


def input_sources(p: CrossbarParams) -> list[str]:
    """Names of the input sources ``Vin<r>``, row order."""
    return [f"Vin{r}" for r in range(p.rows)]


def bl_node(p: CrossbarParams, r: int, c: int) -> str:
    """Netlist name of contract node ``bl<r>_<c>`` (c physical), after zero-ohm merging."""
    _check_index("row", r, p.rows)
    _check_index("physical column", c, _physical_cols(p))
    if p.r_wire_bl_ohm == 0:
        c = 0
    return f"in{r}" if c == 0 and p.r_driver_ohm == 0 else f"bl{r}_{c}"


def sl_node(p: CrossbarParams, c: int, r: int) -> str:
    """Netlist name of contract node ``sl<c>_<r>`` (c physical), after zero-ohm merging."""
    _check_index("physical column", c, _physical_cols(p))
    _check_index("row", r, p.rows)
    last = p.rows - 1
    if p.r_wire_sl_ohm == 0:
        r = last
    return f"sense{c}" if r == last and p.r_sense_ohm == 0 else f"sl{c}_{r}"


def _check_index(name: str, i: int, n: int) -> None:
    if not 0 <= i < n:
        raise ConfigError(f"{name} index must be in [0, {n - 1}], got {i}")


def _physical_cols(p: CrossbarParams) -> int:
    return 2 * p.cols if p.differential else p.cols


def _check_inputs(p: CrossbarParams, v_in_volt: np.ndarray | None) -> np.ndarray | None:
    """Inputs as a float array of shape ``(rows,)`` or ``(B, rows)``, or ``None``."""
    if v_in_volt is None:
        return None
    try:
        v = np.array(v_in_volt, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError("v_in_volt must be an array of voltages in volts") from None
    if v.ndim not in (1, 2) or v.shape[-1] != p.rows or v.size == 0:
        raise ConfigError(
            f"v_in_volt must have shape ({p.rows},) or (B, {p.rows}) with B >= 1, "
            f"got {v.shape}"
        )
    if not np.all(np.isfinite(v)):
        raise ConfigError("v_in_volt holds NaN or infinite values")
    worst = float(np.abs(v).max())
    if worst > MAX_INPUT_VOLT:
        raise ConfigError(
            f"v_in_volt holds {worst:g} V in magnitude, beyond the allowed "
            f"{MAX_INPUT_VOLT:g} V"
        )
    return v


def _title(p: CrossbarParams, v: np.ndarray | None) -> str:
    kind = "differential " if p.differential else ""
    inputs = "" if v is None or v.ndim == 1 else f", batch of {v.shape[0]} input vectors"
    return (f"{kind}{p.cell.name} crossbar {p.rows} x {p.cols}, {p.rram.iv.describe()} RRAM, "
            f"{p.readout} readout{inputs}")


def _models(p: CrossbarParams) -> tuple[str, ...]:
    models = [RRAM_FILE]
    if p.cell.access_transistor:
        models.append(NMOS_CARDS[p.access.model][0])
    if p.readout == "tia":
        models += [m for m in p.tia.models if m not in models]
    return tuple(models)


def _bl_names(p: CrossbarParams) -> list[list[str]]:
    """``names[r][c]``: netlist name of bit-line node (r, c), physical c."""
    cols = _physical_cols(p)
    names = []
    for r in range(p.rows):
        first = f"in{r}" if p.r_driver_ohm == 0 else f"bl{r}_0"
        if p.r_wire_bl_ohm == 0:
            names.append([first] * cols)
        else:
            names.append([first] + [f"bl{r}_{c}" for c in range(1, cols)])
    return names


def _sl_names(p: CrossbarParams) -> list[list[str]]:
    """``names[c][r]``: netlist name of source-line node (c, r), physical c."""
    last = p.rows - 1
    names = []
    for c in range(_physical_cols(p)):
        end = f"sense{c}" if p.r_sense_ohm == 0 else f"sl{c}_{last}"
        if p.r_wire_sl_ohm == 0:
            names.append([end] * p.rows)
        else:
            names.append([f"sl{c}_{r}" for r in range(last)] + [end])
    return names


def _input_lines(p: CrossbarParams, v: np.ndarray | None) -> list[str]:
    if v is None or v.ndim == 1:
        values = ["0"] * p.rows if v is None else [num(x) for x in v]
        return [f"Vin{r} in{r} 0 DC {values[r]}" for r in range(p.rows)]
    lines = [f"{CONTROL_SOURCE} ctl 0 DC 0"]
    batch = v if v.shape[0] > 1 else np.vstack([v, v])  # a PWL table needs two points
    points = [str(k) for k in range(batch.shape[0])]
    for r in range(p.rows):
        pairs = [f"{k},{num(x)}" for k, x in zip(points, batch[:, r], strict=True)]
        lines += _pwl_source_lines(f"Bdrv{r} drv{r} 0 V=pwl(v(ctl),", pairs)
        lines.append(f"Vin{r} in{r} drv{r} DC 0")
    return lines


def _end_lines(p: CrossbarParams, bl: list[list[str]], v: np.ndarray | None,
               i_end_amp: np.ndarray | None) -> list[str]:
    if i_end_amp is None:
        return []
    try:
        i = np.array(i_end_amp, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError("i_end_amp must be an array of currents in amperes") from None
    if v is None or i.shape != v.shape:
        raise ConfigError(f"i_end_amp must have the shape of v_in_volt "
                          f"({None if v is None else v.shape}), got {i.shape}")
    if not np.all(np.isfinite(i)) or float(np.abs(i).max()) > MAX_END_AMP:
        raise ConfigError(f"i_end_amp must be finite and within {MAX_END_AMP:g} A in "
                          "magnitude")
    if i.ndim == 1:
        return [f"Iend{r} {bl[r][-1]} 0 DC {num(x)}" for r, x in enumerate(i)]
    batch = i if i.shape[0] > 1 else np.vstack([i, i])
    lines = []
    for r in range(p.rows):
        pairs = [f"{k},{num(x)}" for k, x in enumerate(batch[:, r])]
        lines += _pwl_source_lines(f"Bend{r} {bl[r][-1]} 0 I=pwl(v(ctl),", pairs)
    return lines


def _pwl_source_lines(head: str, pairs: list[str]) -> list[str]:
    """A B-source with a long PWL table, ``PWL_PAIRS_PER_LINE`` points per line."""
    n = PWL_PAIRS_PER_LINE
    chunks = [", ".join(pairs[i:i + n]) for i in range(0, len(pairs), n)]
    lines = [f"{head} {chunks[0]}"]
    lines += [f"+ , {chunk}" for chunk in chunks[1:]]
    lines[-1] += ")"
    return lines


def _wordline_lines(p: CrossbarParams) -> list[str]:
    if not p.cell.access_transistor:
        return []
    vg = num(p.access.v_gate_volt)
    return [f"Vwl{r} wl{r} 0 DC {vg}" for r in range(p.rows)]


def _bitline_lines(p: CrossbarParams, bl: list[list[str]]) -> list[str]:
    lines = []
    if p.r_driver_ohm > 0:
        rd = num(p.r_driver_ohm)
        lines += [f"Rdrv{r} in{r} {bl[r][0]} {rd}" for r in range(p.rows)]
    if p.r_wire_bl_ohm > 0:
        rw = num(p.r_wire_bl_ohm)
        cols = _physical_cols(p)
        lines += [f"Rbl{r}_{c} {row[c - 1]} {row[c]} {rw}"
                  for r, row in enumerate(bl) for c in range(1, cols)]
    return lines


def _sourceline_lines(p: CrossbarParams, sl: list[list[str]]) -> list[str]:
    lines = []
    last = p.rows - 1
    if p.r_wire_sl_ohm > 0:
        rw = num(p.r_wire_sl_ohm)
        lines += [f"Rsl{c}_{r} {col[r]} {col[r + 1]} {rw}"
                  for c, col in enumerate(sl) for r in range(last)]
    if p.r_sense_ohm > 0:
        rs = num(p.r_sense_ohm)
        lines += [f"Rsense{c} {col[last]} sense{c} {rs}" for c, col in enumerate(sl)]
    return lines


def _cell_lines(p: CrossbarParams, bl: list[list[str]], sl: list[list[str]]) -> list[str]:
    """RRAM instances, row-major, then (1T1R mode) the access NMOS, row-major."""
    g = p.physical_g()
    rows, cols = g.shape
    values, index = np.unique(g, return_inverse=True)
    text = [num(x) for x in values.tolist()]
    g_str = [text[i] for i in index.ravel().tolist()]
    subckt = p.rram.iv.subckt
    extra = p.rram.iv.spice_params()
    one_t = p.cell.access_transistor
    if one_t:
        top = [[f"m{r}_{c}" for c in range(cols)] for r in range(rows)]
    else:
        top = [[sl[c][r] for c in range(cols)] for r in range(rows)]
    lines = [f"Xc{r}_{c} {bl[r][c]} {top[r][c]} {subckt} params: g={gs}{extra}"
             for r in range(rows) for c, gs in enumerate(g_str[r * cols:(r + 1) * cols])
             if gs != "0"]
    if one_t:
        model = NMOS_CARDS[p.access.model][1]
        size = f"W={num(p.access.w_m)} L={num(p.access.l_m)}"
        lines += [f"Mc{r}_{c} {top[r][c]} wl{r} {sl[c][r]} 0 {model} {size}"
                  for r in range(rows) for c in range(cols)]
    return lines


def _capacitor_lines(p: CrossbarParams, bl: list[list[str]], sl: list[list[str]]) -> list[str]:
    if p.c_wire_farad == 0:
        return []
    cw = num(p.c_wire_farad)
    lines = [f"Cbl{r}_{c} {node} 0 {cw}" for r, row in enumerate(bl) for c, node in enumerate(row)]
    lines += [f"Csl{c}_{r} {node} 0 {cw}" for c, col in enumerate(sl) for r, node in enumerate(col)]
    return lines


def _readout_lines(p: CrossbarParams) -> list[str]:
    cols = _physical_cols(p)
    if p.readout == "virtual_ground":
        vref = num(p.v_ref_volt)
        return [f"Vsense{c} sense{c} 0 DC {vref}" for c in range(cols)]
    lines: list[str] = []
    for c in range(cols):
        lines += tia_readout_lines(p.tia, str(c), f"sense{c}", f"out{c}")
    return lines
