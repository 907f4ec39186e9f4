"""The analog layer: one weight matrix deployed on tiles, in weight units.

A workload never touches a tile. It places each weight matrix on the hardware once::

    layer = AnalogLayer.place(HAQ(n_bits=12, amp_ratio=1.5), hardware, sim, w=w, seed=0)
    y, events = layer.forward(x)        # x[B, in] -> y[B, out] ~ x @ w

and composes layers with digital steps. The layer holds

- the tile (or tiles: the tile splits a matrix over macros, keeping the bit
  columns of each weight in one macro, and adds the partial sums digitally),
  on the hardware cut to the matrix's placement (:mod:`cosim.layers.placed`),
- the programmed array and the scheme that wrote it (PTQ, HAQ, random
  differential pairs, pruned pairs; :mod:`cosim.programming`), as the hardware
  runs it (HAQ's verify passes, the placement's read gain), whose verify reads go
  through this tile's own read path (:class:`TileReadBack`, the hardware's
  ``programming.verify_read``), writes with the hardware's write noise,
- the aggregator of bit columns (digital, or the VCMAC with its measured
  ratio; :mod:`cosim.programming.aggregation`),
- the periphery: DAC, ADC and read voltage (the hardware's readout), and the
  amplifier time per conversion (:class:`cosim.accounting.events.Timing`).

``forward`` turns currents back into weight units (the level offset removed
from the known input sum, bit columns aggregated, the scheme's scale
applied), so no workload scales currents itself, and counts every event of
the call:

- from the tile: cell reads, DAC conversions, ADC conversions;
- TIA active time: one conversion of ``amplifier_active_s`` per ADC conversion;
- digital aggregation: one multiply per converted bit column, ``bits - 1``
  adds per output and macro row, and ``row blocks - 1`` partial-sum adds per
  output;
- analog aggregation: the VCMAC chain sums a weight's bit columns before its
  one TIA/ADC conversion, so one conversion per output and macro row, VCMAC
  active time equal to the TIA's, one digital rescale per output and
  ``row blocks - 1`` partial-sum adds.

This is the rule :func:`cosim.accounting.workload.mvm_workload` applies analytically;
``tests/layers/test_layer.py`` checks that the two agree.
"""

from __future__ import annotations

import numpy as np

from circuits.errors import ConfigError, check_choice
from cosim.accounting.events import NF_TIMING, Events, Timing
from cosim.engine.options import SimOptions
from cosim.engine.placement import Placement
from cosim.engine.tile import ProgrammedArray, Tile
from cosim.hardware.spec import VERIFY_READS, HardwareSpec
from cosim.layers import record
from cosim.layers.placed import placed_tile
from cosim.programming.aggregation import Aggregator, outputs_from_sums
from cosim.programming.base import BinaryCellWriter, ProgramCells, ProgrammedWeights, Scheme


class TileReadBack:
    """``ReadBack`` through a tile's read path (transfer or cell reads), with fresh read noise.

    Three methods:

    - ``"transfer"``: each call loads ``g_actual`` into the tile exactly and
      reads the MVM's own transfer (``Tile.read_transfer``: one row driven,
      every other row at 0 V, every word line on, the offset read
      subtracted), so what HAQ verifies is what the MVM will compute with,
      IR drop of the array as it stands included. The read a chip does for an
      MVM, only with one-hot inputs; it costs ``rows + 1`` array reads per
      call, whatever columns the scheme uses (``cost``).
    - ``"exact"``: each call loads ``g_actual`` into the tile exactly (no new
      write noise: the writer has drawn it) and reads every cell, so the read
      sees the backend's full network for the array as it now is. With the
      ``calibrated`` backend that is one transfer extraction per call (per bit).
    - ``"first_order"``: the tile holds a reference array once (every cell at
      the LRS/HRS midpoint ``g_ref``) and each read is
      ``read_cells() * g_actual / g_ref``: the reference array's read path,
      scaled cell by cell (the calibrated backend's first-order update, as for
      read noise). One extraction for the whole programming run; exact without
      wires, and off by the IR-drop coupling times the deviation from the
      reference with them.

    ``col_group`` keeps each weight's bit columns in one macro, as the layer
    places them for its MVMs, so the verify reads see the same macros.
    The reads' events are counted by the scheme through ``cost``: one cell
    read per cell returned (``"exact"``, ``"first_order"``: each cell read
    alone); for ``"transfer"`` every drive reads its row's cells and converts
    every column.
    """

    def __init__(self, tile: Tile, method: str = "exact", col_group: int = 1):
        self.tile = tile
        self.method = check_choice("verify-read method", method, VERIFY_READS)
        self.col_group = col_group
        self._g_ref: np.ndarray | None = None

    def __call__(self, g_actual_siemens: np.ndarray, cols: np.ndarray | None = None, /
                 ) -> np.ndarray:
        g = np.asarray(g_actual_siemens, dtype=float)
        if self.method == "transfer":
            self.tile.program(g, col_group=self.col_group)
            out = self.tile.read_transfer()
        elif self.method == "exact":
            self.tile.program(g, col_group=self.col_group)
            out = self.tile.read_cells()
        else:
            if self._g_ref is None or self._g_ref.shape != g.shape:
                rram = self.tile.hardware.rram
                self._g_ref = np.full(g.shape, 0.5 * (rram.g_lrs_siemens + rram.g_hrs_siemens))
                self.tile.program(self._g_ref, col_group=self.col_group)
            out = self.tile.read_cells() * (g / self._g_ref)
        return out if cols is None else out[:, cols]

    def cost(self, shape: tuple[int, int], n_cols: int, /) -> Events:
        """Events of one call reading ``n_cols`` columns of a ``shape`` array."""
        rows, phys = (int(v) for v in shape)
        if self.method != "transfer":
            return Events(cell_reads=rows * int(n_cols))
        drives = rows + 1  # one per row, and the offset read
        return Events(cell_reads=rows * phys, dac_conversions=drives * rows,
                      adc_conversions=drives * phys)


class AnalogLayer:
    """One weight matrix on hardware: ``forward(x) -> (y, events)`` in weight units.

    Build one with :meth:`deploy`. Several layers may share one tile (a
    comparison of schemes on the same hardware): each ``forward`` loads the
    layer's own array into the tile when another one is there.

    Attributes:
        tile: the tile the matrix lives on.
        programmed: the cells as written, and how they decode.
        aggregator: how bit columns become outputs.
        timing: amplifier active time per conversion.
        input_scale: the input magnitude that drives a row at full read voltage.
        offset_calibration: when the array is first loaded, read it once with
            every input at 0 V and subtract that reading (each column's offset:
            the access transistors' leakage, the TIA's offset) from every
            ``forward``, as a chip's offset calibration does; its events are
            ``calibration_events``. Zero for ideal 0T1R arrays.
    """

    def __init__(self, tile: Tile, programmed: ProgrammedWeights, *,
                 aggregator: Aggregator | None = None, timing: Timing = NF_TIMING,
                 input_scale: float = 1.0, offset_calibration: bool = True):
        if not isinstance(programmed, ProgrammedWeights):
            raise ConfigError(f"programmed must be ProgrammedWeights, got "
                              f"{type(programmed).__name__}")
        if not (np.isfinite(input_scale) and input_scale > 0):
            raise ConfigError(f"input_scale must be a finite number > 0, got {input_scale!r}")
        self.tile = tile
        self.programmed = programmed
        self.aggregator = aggregator or Aggregator()
        if self.aggregator.kind == "analog" and programmed.differential:
            raise ConfigError("the VCMAC chains bit columns; a differential-pair scheme has "
                              "none to chain: use digital aggregation")
        self.timing = timing
        self.input_scale = float(input_scale)
        self.offset_calibration = bool(offset_calibration)
        self.calibration_events = Events()
        self.placement: Placement | None = None
        self._offset: np.ndarray | float = 0.0
        self._array: ProgrammedArray | None = None

    @classmethod
    def program(cls, scheme: Scheme, tile: Tile, *, w: np.ndarray | None = None,
                shape: tuple[int, int] | None = None, write: ProgramCells | None = None,
                placement: Placement | None = None, aggregator: Aggregator | None = None,
                timing: Timing = NF_TIMING, input_scale: float = 1.0) -> AnalogLayer:
        """Program a matrix with ``scheme`` onto ``tile`` (one already placed).

        The scheme runs as the tile's hardware says (:meth:`Scheme.on_hardware`:
        HAQ's verify passes; the read gain is ``placement.mean_attenuation``, 1
        without a placement), verifying through the hardware's
        ``programming.verify_read`` on this tile.

        Args:
            scheme: how the cells are written.
            tile: the tile (:func:`cosim.layers.placed.placed_tile`).
            w: target weights ``(in, out)``; ``None`` for schemes that draw their
                own (then ``shape`` is needed).
            shape: ``(in, out)`` when ``w`` is ``None``.
            write: the cell writer; default the hardware's write noise
                (:class:`BinaryCellWriter`) drawn from a stream seeded by the tile's seed.
            placement: the matrix's placement (its read gain).
            aggregator: digital by default.
            timing: amplifier time per conversion.
            input_scale: the input magnitude of a full-scale row voltage.
        """
        if not isinstance(tile, Tile):
            raise ConfigError(f"tile must be a Tile, got {type(tile).__name__}")
        if w is not None:
            shape = np.shape(w)
        if shape is None or len(shape) != 2:
            raise ConfigError(f"a layer needs weights or a shape (in, out), got {shape!r}")
        hw = tile.hardware
        gain = placement.mean_attenuation if placement is not None else 1.0
        scheme = scheme.on_hardware(hw.programming, gain)
        write = write or BinaryCellWriter(rram=hw.rram, lrs_sigma=hw.noise.write,
                                          hrs_sigma=hw.noise.write_hrs,
                                          rng=np.random.default_rng(tile.seed))
        read = TileReadBack(tile, hw.programming.verify_read, scheme.n_bits)
        pw = scheme.program(w, tuple(shape), rram=hw.rram, write=write, read_back=read)
        layer = cls(tile, pw, aggregator=aggregator, timing=timing, input_scale=input_scale)
        layer.placement = placement
        return layer

    @classmethod
    def place(cls, scheme: Scheme, hardware: HardwareSpec, sim: SimOptions | None = None, *,
              w: np.ndarray | None = None, shape: tuple[int, int] | None = None,
              seed: int = 0, write: ProgramCells | None = None,
              aggregator: Aggregator | None = None, timing: Timing = NF_TIMING,
              input_scale: float = 1.0, g_cell_max_siemens: float | None = None,
              read_noise_draw: str = "per_vector") -> AnalogLayer:
        """Place a matrix on ``hardware`` (its own tile) and program it with ``scheme``.

        Args:
            scheme, w, shape, write, aggregator, timing, input_scale: as :meth:`program`.
            hardware: the hardware; the matrix gets the blocks its placement uses.
            sim: how the tile computes (default ``SimOptions()``).
            seed: seed of the tile's noise streams (and of the default writer's).
            g_cell_max_siemens: the largest conductance a cell may hold, for sizing
                the TIA; default the LRS level for binary cells, and for pairs a formed
                cell 4 standard deviations above the hardware's forming mean.
            read_noise_draw: ``"per_vector"`` or ``"per_call"`` (:func:`make_tile`).
        """
        sim = SimOptions() if sim is None else sim
        if w is not None:
            shape = np.shape(w)
        if shape is None or len(shape) != 2:
            raise ConfigError(f"a layer needs weights or a shape (in, out), got {shape!r}")
        group = 2 if scheme.differential else scheme.n_bits
        if g_cell_max_siemens is None and scheme.differential:
            forming = hardware.noise.forming
            g_cell_max_siemens = min(forming.mean_siemens + 4 * forming.std_siemens,
                                     hardware.rram.g_max_siemens)
        tile, lay = placed_tile(hardware, sim, int(shape[0]), int(shape[1]) * group, group,
                                seed=seed, read_noise_draw=read_noise_draw,
                                g_cell_max_siemens=g_cell_max_siemens)
        return cls.program(scheme, tile, w=w, shape=shape, write=write, placement=lay,
                           aggregator=aggregator, timing=timing, input_scale=input_scale)

    @property
    def in_features(self) -> int:
        return self.programmed.rows

    @property
    def out_features(self) -> int:
        return self.programmed.cols

    @property
    def programming_events(self) -> Events:
        """Writes and verify reads the scheme spent."""
        return self.programmed.events

    def weights(self) -> np.ndarray:
        """The weights the cells hold, ``(in, out)``."""
        return self.programmed.weights()

    def forward(self, x: np.ndarray, *, overwrite_x: bool = False
                ) -> tuple[np.ndarray, Events]:
        """``y ~ x @ w`` through the hardware, and the events of the call.

        Args:
            x: inputs ``(B, in)`` with ``|x| <= input_scale``.
            overwrite_x: the call may overwrite ``x`` (a float array the caller hands
                over) rather than copy a large batch.

        Returns:
            ``y`` of shape ``(B, out)`` in weight x input units, and the events.
        """
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ConfigError(f"inputs must have shape (batch, {self.in_features}), "
                              f"got {x.shape}")
        if self.input_scale == 1.0:  # x / 1 is x
            a, own = x, overwrite_x
        else:
            a, own = np.divide(x, self.input_scale, out=x if overwrite_x else None), True
        self._load()
        recorder = record.active()
        if recorder is not None:
            recorder.take(self, a)
        x_sum = a.sum(axis=1, keepdims=True)  # before the tile may write over a
        res = self.tile.mvm(a, overwrite_x=own)
        i = res.y  # the caller's (a new array)
        i -= self._offset
        y = outputs_from_sums(self.programmed, i, x_sum, self.tile.hardware.v_read_volt,
                              self.aggregator)
        if self.input_scale != 1.0:
            y *= self.input_scale
        return y, self._count(res.events, x.shape[0])

    def _load(self) -> None:
        if self._array is None:
            pw = self.programmed
            self._array = self.tile.program(pw.g_actual_siemens, pw.g_actual_neg_siemens,
                                            col_group=pw.n_bits)
            if self.offset_calibration:
                zero = self.tile.mvm(np.zeros((1, self.in_features)))
                self._offset = zero.y[0]
                self.calibration_events = zero.events
        elif self.tile.holds is not self._array:
            self.tile.load(self._array)

    def _count(self, tile_events: Events, batch: int) -> Events:
        """Events of one call (module docstring), from the tile's count of its reads."""
        pw = self.programmed
        cols, n = pw.cols, pw.n_bits
        row_blocks = self._array.row_blocks
        t_amp = self.timing.amplifier_active_s
        partial_adds = batch * cols * (row_blocks - 1)
        if self.aggregator.kind == "digital":
            conv = tile_events.adc_conversions
            return Events(cell_reads=tile_events.cell_reads,
                          dac_conversions=tile_events.dac_conversions, adc_conversions=conv,
                          tia_active_s=conv * t_amp, digital_mults=conv,
                          digital_adds=batch * cols * (n - 1) * row_blocks + partial_adds)
        conv = tile_events.adc_conversions // n
        return Events(cell_reads=tile_events.cell_reads,
                      dac_conversions=tile_events.dac_conversions, adc_conversions=conv,
                      tia_active_s=conv * t_amp, vcmac_active_s=conv * t_amp,
                      digital_mults=batch * cols, digital_adds=partial_adds)
