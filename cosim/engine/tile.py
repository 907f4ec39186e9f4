"""The tile: one MVM interface for every fidelity level, and its factory.

A ``Tile`` is programmed with a conductance matrix and then multiplies input
vectors by it::

    tile = make_tile(hardware, SimOptions(backend="calibrated"), seed=0)
    arr = tile.program(g_siemens, write_noise=NF_CODE_WRITE_NOISE)
    res = tile.mvm(x)            # x[B, rows] in [-1, 1] -> res.y[B, cols] in amperes
    g_read = tile.read_cells()   # write-verify read of every cell

Signal path of one ``mvm`` call, the same for every backend:

The hardware is a :class:`cosim.hardware.spec.HardwareSpec`; how it is
simulated, :class:`cosim.engine.options.SimOptions`.

1. inputs ``x`` in ``[-1, 1]`` are checked and turned into row voltages by the
   DAC (``x * readout.v_read_volt``, quantised to ``readout.dac_bits``;
   ``cosim.engine.periphery``);
2. each macro (at most ``array.macro_rows x array.macro_cols`` cells) gets its slice of
   the voltages; if read noise is on, every input vector is a new read of
   every cell (PRIME eq. 7: ``G * (1 + A * noise.read)``, ``A ~ N(0, 1)``
   fresh each read). For a linear map ``I = v @ M + c`` (``ideal``, and
   ``calibrated`` with first-order noise) the noise term of one read,
   ``s * sum_r v_r M_rc A_rc``, is Gaussian with standard deviation
   ``s * sqrt(sum_r v_r^2 M_rc^2)``, so it is drawn directly from that
   distribution at the cost of one more matrix product (exact in
   distribution; the clipping of a conductance pushed past the device range
   by a >5-sigma draw is neglected). Other backends draw factors vector by
   vector. ``read_noise_draw="per_call"`` instead shares one draw among the
   vectors of a call, which lets two backends see the same noisy array;
3. the backend returns the macro's column currents (``ideal``: ``V @ G``;
   ``calibrated``: the extracted transfer matrix of the wired network;
   ``spice``: ngspice);
4. the column front end (``readout``, ``cosim.engine.readout``): an ideal
   virtual ground passes the currents on; a TIA per physical column
   (``spice``: its netlist; ``calibrated``/``ideal``: its DC model, input
   resistance in series with each column) gives ``V_out``, which the tile
   states in amperes, ``(V_out - v_ref) / -r_f``, so ``y`` is in amperes with
   either readout, the TIA's gain error, offset and clamp included;
5. the ADC quantises them per macro (``adc_bits``, full scale
   ``adc_full_scale_a``, else ``v_read * g_lrs * macro rows`` for the virtual
   ground and ``TIAParams.i_linear_max_a`` for the TIA). A conversion whose
   TIA left its linear range or whose ADC input lay beyond full scale is
   clipped, counted (``saturated_conversions``) and warned about once per
   call (``cosim.engine.readout.ReadoutSaturated``);
6. partial sums of macros that share columns are added digitally.

Differential pairs (``targets_neg_siemens``) put each logical column on two
neighbouring physical columns and subtract their currents before the ADC.

Events counted per call: ``cell_reads`` (B x physical cells), DAC conversions
(B x rows per macro), ADC conversions (B x logical columns per macro),
``saturated_conversions`` (among those) and ``digital_adds`` (B x cols per
extra row of macros). ``Tile.events_total``
also sums programming writes and verify reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from circuits.crossbar import CrossbarParams, conductance_matrix
from circuits.errors import ConfigError, check_choice, check_int
from cosim.accounting.events import Events
from cosim.engine.backends.base import Backend
from cosim.engine.backends.registry import make_backend
from cosim.engine.cache import ResultCache
from cosim.engine.noise import WriteNoise, read_factors
from cosim.engine.options import SimOptions
from cosim.engine.periphery import adc, adc_saturated, check_inputs, dac
from cosim.engine.readout import ColumnReadout, warn_saturated
from cosim.hardware.spec import HardwareSpec

if TYPE_CHECKING:
    from cosim.engine.read_models import ColumnCorrection

READ_NOISE_DRAWS = ("per_vector", "per_call")

ROW_CHUNK_ELEMENTS = 2**16
"""Outputs of a macro's read (elements) that ``Tile.mvm`` passes through the readout, the
pairs' difference and the ADC at once: every step there is elementwise, so the rows go
in slices whose temporaries stay in cache and are reused, rather than as arrays of the
whole batch, each mapped afresh (the product before them stays one call)."""

MOMENT_BYTES = 64 * 2**20
"""Memory a tile may hold in remembered noisy reads (bytes), shared by its transfers."""


@dataclass(kw_only=True, eq=False)
class _ReadMoments:
    """One transfer ``I = v @ m + c``, ``m * m``, and the last inputs read with their
    mean and read-noise standard deviation (:meth:`Tile._read_moments`)."""

    m: np.ndarray
    m2: np.ndarray
    v: np.ndarray | None = None
    c: np.ndarray | None = None
    mean: np.ndarray | None = None
    std: np.ndarray | None = None


@dataclass(frozen=True, kw_only=True)
class Block:
    """One macro's place in the whole matrix: rows ``[row0, row1)``, columns ``[col0, col1)``."""

    row0: int
    row1: int
    col0: int
    col1: int

    @property
    def rows(self) -> slice:
        return slice(self.row0, self.row1)

    @property
    def cols(self) -> slice:
        return slice(self.col0, self.col1)


@dataclass(frozen=True, kw_only=True, eq=False)
class ProgrammedArray:
    """Conductances as programmed, and where each macro holds its part.

    Attributes:
        target_siemens: requested conductances (S), ``(rows, cols)``.
        actual_siemens: conductances the cells hold after programming (S):
            the targets plus write noise, clipped to the device range.
        target_neg_siemens: targets of the negative columns of differential
            pairs (S), or ``None`` for single-ended columns.
        actual_neg_siemens: programmed negative-column conductances (S), or ``None``.
        blocks: the macros, in row-major order.
        events: what programming cost (one write per physical cell).
    """

    target_siemens: np.ndarray
    actual_siemens: np.ndarray
    target_neg_siemens: np.ndarray | None = None
    actual_neg_siemens: np.ndarray | None = None
    blocks: tuple[Block, ...]
    events: Events = field(default_factory=Events)

    @property
    def rows(self) -> int:
        return self.target_siemens.shape[0]

    @property
    def cols(self) -> int:
        return self.target_siemens.shape[1]

    @property
    def differential(self) -> bool:
        return self.actual_neg_siemens is not None

    @property
    def row_blocks(self) -> int:
        """Number of macros stacked along the rows (partial sums per output)."""
        return len({b.row0 for b in self.blocks})

    def effective_siemens(self) -> np.ndarray:
        """Signed conductance of each logical weight: ``G+ - G-`` (or ``G``) (S)."""
        if self.actual_neg_siemens is None:
            return self.actual_siemens
        return self.actual_siemens - self.actual_neg_siemens


@dataclass(frozen=True, kw_only=True)
class MVMResult:
    """Output of one ``Tile.mvm`` call.

    Attributes:
        y: column currents (A), ``(B, cols)`` (``(cols,)`` for a 1-D input),
            after the ADC when one is configured; a new array, the caller's.
        events: hardware events of the call.
    """

    y: np.ndarray
    events: Events


@dataclass(frozen=True, kw_only=True)
class Validation:
    """Error of a tile against a reference backend on one random batch.

    Attributes:
        reference: the reference backend's name.
        n_vectors: input vectors compared.
        max_rel_error: ``max|y - y_ref| / max|y_ref|``.
        max_abs_error: ``max|y - y_ref|`` (A).
        rms_rel_error: ``rms(y - y_ref) / rms(y_ref)``.
    """

    reference: str
    n_vectors: int
    max_rel_error: float
    max_abs_error: float
    rms_rel_error: float


def compare(y: np.ndarray, y_ref: np.ndarray) -> dict[str, float]:
    """Error figures of ``y`` against ``y_ref`` (same shapes)."""
    d = np.asarray(y, dtype=float) - np.asarray(y_ref, dtype=float)
    scale = float(np.max(np.abs(y_ref))) or 1.0
    rms_ref = float(np.sqrt(np.mean(np.square(y_ref)))) or 1.0
    return {"max_rel_error": float(np.max(np.abs(d))) / scale,
            "max_abs_error": float(np.max(np.abs(d))),
            "rms_rel_error": float(np.sqrt(np.mean(np.square(d)))) / rms_ref}


class Tile:
    """A programmable MVM unit; build one with ``make_tile``.

    Holds the currently programmed array (``program`` or ``load`` replaces
    it) and the tile's random streams (write noise, read noise), both seeded
    from ``seed`` so that two tiles with the same seed that are given
    the same array and the same calls draw the same read noise.
    """

    def __init__(self, hardware: HardwareSpec, sim: SimOptions, backend: Backend,
                 cache: ResultCache | None, *, seed: int = 0,
                 read_noise_draw: str = "per_vector"):
        self.hardware = hardware
        self.sim = sim
        self.seed = int(seed)
        self.read_noise_draw = read_noise_draw
        self.backend = backend
        self.cache = cache
        self.events_total = Events()
        self._array: ProgrammedArray | None = None
        self._params: list[CrossbarParams] = []
        self._moments: dict[int, _ReadMoments] = {}
        seq = np.random.SeedSequence(self.seed)
        write_seq, read_seq = seq.spawn(2)
        self._write_rng = np.random.default_rng(write_seq)
        self._read_rng = np.random.default_rng(read_seq)

    # -- programming ---------------------------------------------------------------------

    @property
    def holds(self) -> ProgrammedArray | None:
        """The array the tile holds now, or ``None``."""
        return self._array

    @property
    def array(self) -> ProgrammedArray:
        """The programmed array."""
        if self._array is None:
            raise ConfigError("the tile holds no array yet; call program() first")
        return self._array

    def program(self, targets_siemens: np.ndarray, targets_neg_siemens: np.ndarray | None = None,
                *, write_noise: WriteNoise | None = None,
                rng: np.random.Generator | None = None, col_group: int = 1) -> ProgrammedArray:
        """Write ``targets_siemens`` into the tile's macros.

        Args:
            targets_siemens: target conductances (S), ``(rows, cols)``, inside
                the device range ``[rram.g_min_siemens, rram.g_max_siemens]``.
            targets_neg_siemens: targets of the negative columns for
                differential pairs (same shape), or ``None``.
            write_noise: programming noise; ``None`` writes exactly.
            rng: source of the write noise; default the tile's own stream.
            col_group: columns that must stay in one macro (the bit columns of
                one weight): each macro takes a whole number of groups.

        Returns:
            The programmed array (also kept by the tile for ``mvm``).

        Raises:
            ConfigError: a target is NaN, outside the device range, or the
                shapes are wrong.
        """
        rram = self.hardware.rram
        target = conductance_matrix("targets_siemens", targets_siemens, rram, None)
        target_neg = None
        if targets_neg_siemens is not None:
            target_neg = conductance_matrix("targets_neg_siemens", targets_neg_siemens, rram,
                                            None)
            if target_neg.shape != target.shape:
                raise ConfigError(f"targets_neg_siemens has shape {target_neg.shape}, "
                                  f"targets_siemens has {target.shape}; they must match")
        if write_noise is not None and not isinstance(write_noise, WriteNoise):
            raise ConfigError(f"write_noise must be a WriteNoise or None, got {write_noise!r}")
        rng = self._write_rng if rng is None else rng

        def write(t: np.ndarray) -> np.ndarray:
            g = t.copy() if write_noise is None else write_noise.apply(t, rram, rng)
            g.setflags(write=False)
            return g

        actual = write(target)
        actual_neg = None if target_neg is None else write(target_neg)
        n_cells = target.size * (1 if target_neg is None else 2)
        arr = ProgrammedArray(target_siemens=target, actual_siemens=actual,
                              target_neg_siemens=target_neg, actual_neg_siemens=actual_neg,
                              blocks=self._split(*target.shape, target_neg is not None,
                                                 col_group),
                              events=Events(cell_writes=n_cells))
        self.load(arr)
        self.events_total += arr.events
        return arr

    def load(self, array: ProgrammedArray) -> None:
        """Hold an array programmed elsewhere (e.g. by a tile of another backend)."""
        if not isinstance(array, ProgrammedArray):
            raise ConfigError(f"array must be a ProgrammedArray, got {type(array).__name__}")
        self._array = array
        self._params = [self._block_params(array, b) for b in array.blocks]

    def prepare(self) -> None:
        """Do the backend's per-array set-up now (``calibrated``: extract the transfers)."""
        self.array  # noqa: B018 - raises when nothing is programmed
        for p in self._params:
            self.backend.prepare(p)

    def macro_params(self) -> list[CrossbarParams]:
        """The circuit of each macro (single-ended, physical columns), in block order."""
        self.array  # noqa: B018
        return list(self._params)

    # -- computing -----------------------------------------------------------------------

    def mvm(self, x: np.ndarray, *, overwrite_x: bool = False) -> MVMResult:
        """Multiply a batch of input vectors by the programmed array.

        Args:
            x: inputs in ``[-1, 1]``, ``(B, rows)`` or ``(rows,)``.
            overwrite_x: the call may overwrite ``x`` (a float array the caller hands
                over) with the row voltages, rather than copy a large batch.

        Returns:
            ``MVMResult`` with ``y`` in amperes, ``(B, cols)`` (``(cols,)`` for 1-D ``x``).

        Raises:
            ConfigError: ``x`` has the wrong shape, NaNs, or values outside ``[-1, 1]``.
        """
        arr = self.array
        one = np.ndim(x) == 1
        a = check_inputs(x, arr.rows, "x")
        y, events = self._mvm(a, noise=True, quantise=True, overwrite=overwrite_x)
        self.events_total += events
        return MVMResult(y=y[0] if one else y, events=events)

    def macro_reads(self, x: np.ndarray
                    ) -> list[tuple[CrossbarParams, np.ndarray, np.ndarray, np.ndarray]]:
        """What each macro sees and gives for inputs ``x``: its circuit, its input voltages
        (V, after the DAC), its analog column outputs (A, physical columns, through
        the readout; no read noise, no ADC) and which of those left the readout's
        linear range (bool, the conversions ``mvm`` clips and counts as saturated), in
        block order. For checking a macro against another backend
        (:mod:`cosim.engine.slices`).

        Raises:
            ConfigError: ``x`` of the wrong shape or outside ``[-1, 1]``.
        """
        arr = self.array
        a = check_inputs(x, arr.rows, "x")
        ro = self.hardware.readout
        v = dac(a, ro.v_read_volt, ro.dac_bits)
        readout = self._readout()
        out = []
        for block, p in zip(arr.blocks, self._params, strict=True):
            vb = v[:, block.rows]
            y, sat = readout.outputs(*readout.read(self.backend, p, vb, None))
            out.append((p, vb, y, sat))
        return out

    def _mvm(self, a: np.ndarray, *, noise: bool, quantise: bool, overwrite: bool = False
             ) -> tuple[np.ndarray, Events]:
        """Outputs ``(B, cols)`` (A, a new array) and events of inputs ``a`` (checked);
        ``overwrite``: ``a`` may hold the row voltages."""
        hw = self.hardware
        ro = hw.readout
        arr = self.array
        v = dac(a, ro.v_read_volt, ro.dac_bits if quantise else None,
                out=a if overwrite else None)
        n = a.shape[0]
        single = len(arr.blocks) == 1
        y = np.empty((n, arr.cols)) if single else np.zeros((n, arr.cols))
        events = Events()
        readout = self._readout()
        s_read = hw.noise.read
        full_scale = None
        for block, p in zip(arr.blocks, self._params, strict=True):
            vb = v[:, block.rows]
            if not (noise and s_read > 0):
                i, v_out = readout.read(self.backend, p, vb, None)
            elif self.read_noise_draw == "per_call":
                factors = read_factors(p.g_siemens.shape, s_read, self._read_rng)
                i, v_out = readout.read(self.backend, p, vb, factors)
            else:
                i, v_out = self._noisy_reads(p, vb, readout)
            if quantise and ro.adc_bits is not None:
                full_scale = self._adc_full_scale(p)
            n_sat = 0
            step = max(1, ROW_CHUNK_ELEMENTS // max(1, i.shape[1]))
            for r0 in range(0, n, step):  # elementwise from here on: any rows at a time
                rows = slice(r0, r0 + step)
                ic, sat = readout.outputs(i[rows], None if v_out is None else v_out[rows])
                ic, sat = _logical(ic, arr.differential), _logical_any(sat, arr.differential)
                if full_scale is not None:
                    sat = sat | adc_saturated(ic, full_scale, ro.adc_bits)
                    ic = adc(ic, full_scale, ro.adc_bits)
                if single:
                    y[rows] = ic
                else:
                    y[rows, block.cols] += ic
                n_sat += int(np.count_nonzero(sat))
            events += Events(cell_reads=n * p.g_siemens.size, dac_conversions=n * p.rows,
                             adc_conversions=n * (block.col1 - block.col0),
                             saturated_conversions=n_sat)
        events += Events(digital_adds=n * arr.cols * (arr.row_blocks - 1))
        warn_saturated(events.saturated_conversions, events.adc_conversions, readout,
                       full_scale, stacklevel=4)
        return y, events

    def _noisy_reads(self, p: CrossbarParams, v: np.ndarray, readout: ColumnReadout
                     ) -> tuple[np.ndarray, np.ndarray | None]:
        """``readout.read`` with a fresh read-noise draw for every vector (module docstring)."""
        s = self.hardware.noise.read
        mc = self.backend.linear_map(p)
        if mc is not None:
            mean, std = self._read_moments(*mc, v, self.backend.output_correction(p))
            i = self._read_rng.standard_normal(mean.shape)
            i *= std
            i += mean  # mean + std * noise
            return i, None
        reads = [readout.read(self.backend, p, v[b:b + 1],
                              read_factors(p.g_siemens.shape, s, self._read_rng))
                 for b in range(v.shape[0])]
        v_out = None if reads[0][1] is None else np.vstack([r[1] for r in reads])
        return np.vstack([r[0] for r in reads]), v_out

    def _read_moments(self, m: np.ndarray, c: np.ndarray, v: np.ndarray,
                      corr: ColumnCorrection | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Mean ``u + c`` (A), ``u = v @ m``, plus the backend's output correction
        ``corr.of(u)`` where it has one, and read-noise standard deviation
        ``s * sqrt(v^2 @ m^2)`` (A) of noisy reads of the transfer ``(m, c)`` at inputs
        ``v``. Kept per transfer (read-only ``m``: the backend's transfers do not change
        in place) with ``m * m`` and the last inputs read, so repeated read cycles of the
        same inputs cost only their noise draw; the remembered reads are bounded by
        ``MOMENT_BYTES``."""
        hit = self._kept(m)
        if hit.v is not None and np.array_equal(hit.c, c) and np.array_equal(hit.v, v):
            return hit.mean, hit.std
        mean = v @ m
        if corr is not None:
            corr.add_to(mean)
        mean += c
        std = self.hardware.noise.read * np.sqrt((v * v) @ hit.m2)
        if 2 * mean.nbytes + v.nbytes <= MOMENT_BYTES // max(1, len(self._moments)):
            hit.v, hit.c, hit.mean, hit.std = v.copy(), np.array(c), mean, std
        else:
            hit.v = hit.c = hit.mean = hit.std = None
        return mean, std

    def _kept(self, m: np.ndarray) -> _ReadMoments:
        """What this tile keeps of the transfer matrix ``m`` (made on first use)."""
        hit = self._moments.get(id(m))
        if hit is None or hit.m is not m:
            if len(self._moments) > 4 * max(1, len(self._params)):
                self._moments.clear()
            hit = self._moments[id(m)] = _ReadMoments(m=m, m2=m * m)
        return hit

    def read_cells(self, *, negative: bool = False) -> np.ndarray:
        """Write-verify read: the conductance of each cell, read alone.

        Each cell's row is driven at ``v_read_volt`` with all other rows at
        0 V (1T1R: only that row's word line on); the conductance is the
        column current divided by ``v_read_volt``, so it includes the wire,
        driver and sense resistance on the cell's path (``ideal``: none) and
        the read noise of this read, drawn afresh for every cell.

        Args:
            negative: read the negative columns of a differential array.

        Returns:
            Read conductances (S), ``(rows, cols)``.
        """
        hw = self.hardware
        arr = self.array
        if negative and not arr.differential:
            raise ConfigError("negative=True needs a differential array (targets_neg_siemens)")
        out = np.empty((arr.rows, arr.cols))
        for block, p in zip(arr.blocks, self._params, strict=True):
            factors = None
            if hw.noise.read > 0:
                factors = read_factors(p.g_siemens.shape, hw.noise.read, self._read_rng)
            g = self.backend.read_cells(p, hw.readout.v_read_volt, factors)
            if arr.differential:
                g = g[:, 1::2] if negative else g[:, 0::2]
            out[block.rows, block.cols] = g
        self.events_total += Events(cell_reads=arr.rows * arr.cols,
                                    dac_conversions=arr.rows * arr.cols,
                                    adc_conversions=arr.rows * arr.cols)
        return out

    def read_transfer(self) -> np.ndarray:
        """Transfer read: the MVM's own response to each row, as a chip measures it.

        For every row ``r`` the array is read the way an MVM reads it (every
        word line on, every other row held at 0 V) with ``v_read_volt`` on
        row ``r`` alone; one more read with every row at 0 V gives each
        column's offset, which is subtracted. Row ``r`` of the result is
        ``(I(v_read e_r) - I(0)) / v_read``: for a linear network exactly row
        ``r`` of the transfer the MVM applies (``y = v @ M``), IR drop of the
        whole array as it stands now included, so weights verified with it
        are the weights the MVM sees. Each read draws fresh read noise; no
        DAC/ADC quantisation (a verify read senses precisely).

        Returns:
            ``(rows, cols)`` in siemens (logical columns: ``G+ - G-`` for pairs).
        """
        arr = self.array
        reads = self._transfer_reads()
        if reads is None:
            a = np.vstack([np.eye(arr.rows), np.zeros((1, arr.rows))])
            reads = self._mvm(a, noise=True, quantise=False)
        i, events = reads
        self.events_total += events
        return (i[:-1] - i[-1]) / self.hardware.readout.v_read_volt

    def _transfer_reads(self) -> tuple[np.ndarray, Events] | None:
        """``_mvm`` of the transfer read's inputs (each row alone at ``v_read_volt``, then
        none), computed where a row drives the macro: a macro's reading of a vector that
        drives none of its rows is its offset ``c`` exactly (the noise term's standard
        deviation is 0 there), and of its row ``r`` alone ``v m_r + c`` plus noise, so
        only those rows are multiplied. Every vector's read noise is drawn as ``_mvm``
        draws it, so the random streams and every number are ``_mvm``'s. ``None`` where
        the tile reads otherwise (no read noise, one draw per call, or no linear map).

        These one-row reads take the backend's ``linear_map`` alone, not its
        ``output_correction``: that grows as the square of the column's input-driven
        current, here one cell's, so it is about ``(g_cell / g_column)^2`` of its size
        on a coherent input (below 1e-6 of the largest read on the realistic preset's
        macros, ``tests/layers/test_programming_paths.py``), and making it costs two
        exact solves of the array, which write-verify programming, reading after every
        write step, does not pay."""
        hw = self.hardware
        s = hw.noise.read
        if not (s > 0 and self.read_noise_draw == "per_vector"):
            return None
        maps = [self.backend.linear_map(p) for p in self._params]
        if any(mc is None for mc in maps):
            return None
        arr = self.array
        n = arr.rows + 1
        v = hw.readout.v_read_volt  # the DAC's voltage of input 1.0
        readout = self._readout()
        single = len(arr.blocks) == 1
        y = None if single else np.zeros((n, arr.cols))
        events = Events()
        for block, p, (m, c) in zip(arr.blocks, self._params, maps, strict=True):
            noise = self._read_rng.standard_normal((n, m.shape[1]))
            mean = v * m + c
            std = s * np.sqrt((v * v) * self._kept(m).m2)
            i_on, sat_on = readout.outputs(mean + std * noise[block.rows])
            i_off, sat_off = readout.outputs(c[None, :])
            i_on, sat_on = _logical(i_on, arr.differential), _logical_any(sat_on,
                                                                           arr.differential)
            i_off, sat_off = _logical(i_off, arr.differential), _logical_any(sat_off,
                                                                              arr.differential)
            i = np.empty((n, i_on.shape[1]))
            i[:] = i_off
            i[block.rows] = i_on
            if single:
                y = i
            else:
                y[:, block.cols] += i
            n_sat = np.count_nonzero(sat_on) + (n - i_on.shape[0]) * np.count_nonzero(sat_off)
            events += Events(cell_reads=n * p.g_siemens.size, dac_conversions=n * p.rows,
                             adc_conversions=n * i.shape[1], saturated_conversions=int(n_sat))
        events += Events(digital_adds=n * arr.cols * (arr.row_blocks - 1))
        warn_saturated(events.saturated_conversions, events.adc_conversions, readout, None,
                       stacklevel=4)
        return y, events

    def validate(self, n: int = 16, *, reference: str = "spice",
                 rng: np.random.Generator | None = None) -> Validation:
        """This tile's error against another backend on ``n`` random input vectors.

        Compares analog column currents (no DAC/ADC quantisation, no read
        noise) for inputs uniform in ``[-1, 1]``, on the programmed array.
        Meant for arrays small enough for the reference (``spice``: up to a
        few hundred rows and columns). ``reference`` is a backend name, checked
        where every backend name is (:class:`cosim.engine.options.SimOptions`).
        """
        check_int("n", n, 1, 10**6)
        rng = np.random.default_rng(12345) if rng is None else rng
        a = rng.uniform(-1.0, 1.0, size=(n, self.array.rows))
        y, _ = self._mvm(a, noise=False, quantise=False)
        ref = make_tile(self.hardware, replace(self.sim, backend=reference), seed=self.seed,
                        read_noise_draw=self.read_noise_draw, cache=self.cache)
        ref.load(self.array)
        y_ref, _ = ref._mvm(a, noise=False, quantise=False)
        return Validation(reference=reference, n_vectors=n, **compare(y, y_ref))

    # -- helpers -------------------------------------------------------------------------

    def _split(self, rows: int, cols: int, differential: bool, col_group: int = 1
               ) -> tuple[Block, ...]:
        check_int("col_group", col_group, 1, 4096)
        macro_rows, macro_cols = self.hardware.array.macro_rows, self.hardware.array.macro_cols
        step_c = macro_cols // 2 if differential else macro_cols
        if step_c < 1:
            raise ConfigError("macro_cols must be >= 2 to hold a differential pair")
        step_c = step_c // col_group * col_group
        if step_c < 1:
            raise ConfigError(f"a macro of {macro_cols} columns cannot hold one "
                              f"group of {col_group} columns (the bits of one weight)")
        step_r = macro_rows
        return tuple(Block(row0=r, row1=min(r + step_r, rows), col0=c, col1=min(c + step_c, cols))
                     for r in range(0, rows, step_r) for c in range(0, cols, step_c))

    def _block_params(self, arr: ProgrammedArray, b: Block) -> CrossbarParams:
        hw = self.hardware
        g = arr.actual_siemens[b.rows, b.cols]
        if arr.actual_neg_siemens is not None:
            gn = arr.actual_neg_siemens[b.rows, b.cols]
            phys = np.empty((g.shape[0], 2 * g.shape[1]))
            phys[:, 0::2] = g
            phys[:, 1::2] = gn
            g = phys
        a = hw.array
        return CrossbarParams(g_siemens=g, cell=hw.cell.kind, r_wire_bl_ohm=a.r_wire_ohm,
                              r_wire_sl_ohm=a.r_wire_ohm, r_driver_ohm=a.r_driver_ohm,
                              r_sense_ohm=a.r_sense_ohm, rram=hw.cell.rram,
                              access=hw.cell.access, **self._readout().crossbar_fields())

    def _readout(self) -> ColumnReadout:
        return ColumnReadout(kind=self.hardware.readout.kind, tia=self.hardware.readout.tia)

    def _adc_full_scale(self, p: CrossbarParams) -> float:
        ro = self.hardware.readout
        if ro.adc_full_scale_a is not None:
            return ro.adc_full_scale_a
        return self._readout().adc_full_scale_a(ro.v_read_volt, self.hardware.rram.g_lrs_siemens,
                                                p.rows)


def _logical(i_phys: np.ndarray, differential: bool) -> np.ndarray:
    return i_phys[:, 0::2] - i_phys[:, 1::2] if differential else i_phys


def _logical_any(flags_phys: np.ndarray, differential: bool) -> np.ndarray:
    return flags_phys[:, 0::2] | flags_phys[:, 1::2] if differential else flags_phys


def make_tile(hardware: HardwareSpec | None = None, sim: SimOptions | None = None, *,
              seed: int = 0, read_noise_draw: str = "per_vector",
              cache: ResultCache | None = None) -> Tile:
    """Build a tile of ``hardware`` simulated as ``sim`` says.

    Args:
        hardware: the cells, macros, wires, readout and noise; ``None`` is the
            default (:class:`cosim.hardware.spec.HardwareSpec`, the realistic preset).
        sim: backend, exact solves, cache, ngspice; ``None`` is ``SimOptions()``.
        seed: seed of the tile's write- and read-noise streams.
        read_noise_draw: ``"per_vector"`` (every input vector a fresh read of
            every cell) or ``"per_call"`` (one draw per ``mvm`` call, shared by
            its vectors; see the module docstring).
        cache: where SPICE results and extracted matrices are kept; ``None``
            is the default folder (``cosim.engine.cache``) when ``sim.use_cache``.
    """
    hardware = HardwareSpec() if hardware is None else hardware
    sim = SimOptions() if sim is None else sim
    if not isinstance(hardware, HardwareSpec):
        raise ConfigError(f"hardware must be a HardwareSpec, got {type(hardware).__name__}")
    if not isinstance(sim, SimOptions):
        raise ConfigError(f"sim must be SimOptions, got {type(sim).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    check_choice("read_noise_draw", read_noise_draw, READ_NOISE_DRAWS)
    if cache is None:
        cache = ResultCache(enabled=sim.use_cache)
    return Tile(hardware, sim, make_backend(hardware, sim, cache), cache, seed=int(seed),
                read_noise_draw=read_noise_draw)
