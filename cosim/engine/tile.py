"""The tile: one MVM interface for every fidelity level, and its factory.

A ``Tile`` is programmed with a conductance matrix and then multiplies input
vectors by it::

    tile = make_tile(TileConfig(backend="calibrated", r_wire_ohm=1.0))
    arr = tile.program(g_siemens, write_noise=NF_CODE_WRITE_NOISE)
    res = tile.mvm(x)            # x[B, rows] in [-1, 1] -> res.y[B, cols] in amperes
    g_read = tile.read_cells()   # write-verify read of every cell

Signal path of one ``mvm`` call, the same for every backend:

1. inputs ``x`` in ``[-1, 1]`` are checked and turned into row voltages by the
   DAC (``x * v_read_volt``, quantised to ``dac_bits``; ``cosim.engine.periphery``);
2. each macro (at most ``macro_rows x macro_cols`` cells) gets its slice of
   the voltages; if read noise is on, every input vector is a new read of
   every cell (PRIME eq. 7: ``G * (1 + A * read_noise_scale)``, ``A ~ N(0, 1)``
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

import numpy as np

from circuits.crossbar import CELLS, MACRO_COLS, MACRO_ROWS, CrossbarParams, conductance_matrix
from circuits.devices import ACCESS_45NM, TAOX_40NM, V_READ_VOLT, AccessParams, RRAMParams
from circuits.errors import ConfigError, check_choice, check_int, check_range
from circuits.tia import DEFAULT_TIA, TIAParams
from cosim.accounting.events import Events
from cosim.engine.backends import BACKENDS, Backend, make_backend
from cosim.engine.cache import ResultCache
from cosim.engine.noise import WriteNoise, read_factors
from cosim.engine.periphery import MAX_BITS, MIN_BITS, adc, adc_saturated, check_inputs, dac
from cosim.engine.readout import ColumnReadout, check_readout, warn_saturated

READ_NOISE_METHODS = ("first_order", "exact")
READ_NOISE_DRAWS = ("per_vector", "per_call")
SPICE_MODES = ("batched", "per_vector")


@dataclass(frozen=True, kw_only=True)
class TileConfig:
    """Everything that fixes how a tile computes.

    Attributes:
        backend: ``"ideal"``, ``"calibrated"`` or ``"spice"``.
        cell: ``"0T1R"`` (resistor only) or ``"1T1R"`` (access NMOS in series).
        r_wire_ohm: wire resistance per cell segment of bit and source lines (ohm).
        r_driver_ohm: output resistance of each row driver (ohm).
        r_sense_ohm: series resistance from each column into its sense node (ohm).
        readout: column front end, ``"virtual_ground"`` (ideal, the default) or
            ``"tia"`` (``tia`` at every physical column; outputs still in
            amperes, ``cosim.engine.readout``). Cell reads (``read_cells``)
            sense the column current: through the TIA's input, not its gain.
        tia: the TIA of every column with ``readout = "tia"``; its input held
            at 0 V.
        v_read_volt: row voltage of input 1.0, the DAC's full scale (V).
        macro_rows: rows of one physical array; taller matrices are split.
        macro_cols: physical columns of one array; wider matrices are split
            (a differential pair takes two).
        dac_bits: input DAC resolution (signed, mid-tread); ``None`` is ideal.
        adc_bits: output ADC resolution (signed, mid-tread); ``None`` is ideal.
        adc_full_scale_a: current of the ADC's top code (A); ``None`` is
            ``v_read_volt * g_lrs_siemens * rows`` of each macro (virtual
            ground) or the TIA's linear range ``tia.i_linear_max_a`` (TIA).
        read_noise_scale: PRIME eq. 7 read-noise amplitude; 0 is off.
        read_noise_draw: ``"per_vector"`` (every vector a fresh read) or
            ``"per_call"`` (one draw per ``mvm`` call, shared by its vectors).
        read_noise_method: ``calibrated`` only: ``"first_order"`` (scale each
            entry of the extracted transfer matrix by its cell's factor) or
            ``"exact"`` (re-solve the noisy network); see
            ``cosim.engine.backends.calibrated``.
        exact_nonlinear: ``calibrated`` only: solve nonlinear arrays with the exact
            read model (every input vector to convergence) instead of the fast one
            (every cell's chord over the read range); ``None`` decides by the
            cell: exact for sinh RRAM, fast for linear RRAM behind an access
            transistor, whose stated error is measured data (it warns where that
            exceeds 1e-5 of full scale or was never measured:
            ``cosim.engine.backends.calibrated``).
        spice_chunk: ``spice`` only: input vectors per ngspice run.
        spice_mode: ``spice`` only: ``"batched"`` (one DC sweep per chunk) or
            ``"per_vector"`` (one ngspice run per vector).
        spice_workers: ``spice`` only: ngspice processes run at once.
        spice_timeout_s: ``spice`` only: limit of one ngspice run (s).
        use_cache: keep SPICE results and extracted matrices in the content-hash
            cache (``cosim.engine.cache``).
        rram: the RRAM cell (levels and device range).
        access: the access transistor (1T1R).
        seed: seed of the tile's write- and read-noise streams.
    """

    backend: str = "ideal"
    cell: str = "0T1R"
    r_wire_ohm: float = 1.0
    r_driver_ohm: float = 0.0
    r_sense_ohm: float = 0.0
    readout: str = "virtual_ground"
    tia: TIAParams = DEFAULT_TIA
    v_read_volt: float = V_READ_VOLT
    macro_rows: int = MACRO_ROWS
    macro_cols: int = MACRO_COLS
    dac_bits: int | None = None
    adc_bits: int | None = None
    adc_full_scale_a: float | None = None
    read_noise_scale: float = 0.0
    read_noise_draw: str = "per_vector"
    read_noise_method: str = "first_order"
    exact_nonlinear: bool | None = None
    spice_chunk: int = 100
    spice_mode: str = "batched"
    spice_workers: int = 1
    spice_timeout_s: float = 600.0
    use_cache: bool = True
    rram: RRAMParams = TAOX_40NM
    access: AccessParams = ACCESS_45NM
    seed: int = 0

    def __post_init__(self) -> None:
        check_choice("backend", self.backend, BACKENDS)
        check_choice("cell", self.cell, CELLS)
        check_readout(self.readout, self.tia)
        for name in ("r_wire_ohm", "r_driver_ohm", "r_sense_ohm"):
            check_range(name, getattr(self, name), 0.0, 1e6)
        check_range("v_read_volt", self.v_read_volt, 0.0, 2.0, lo_open=True)
        for name in ("macro_rows", "macro_cols", "spice_chunk", "spice_workers"):
            check_int(name, getattr(self, name), 1, 4096 if name.startswith("macro") else 10**6)
        for name in ("dac_bits", "adc_bits"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), MIN_BITS, MAX_BITS)
        if self.adc_full_scale_a is not None:
            check_range("adc_full_scale_a", self.adc_full_scale_a, 0.0, 1.0,
                        lo_open=True)
        check_range("read_noise_scale", self.read_noise_scale, 0.0, 1.0)
        check_choice("read_noise_method", self.read_noise_method, READ_NOISE_METHODS)
        check_choice("read_noise_draw", self.read_noise_draw, READ_NOISE_DRAWS)
        if self.exact_nonlinear not in (None, True, False):
            raise ConfigError(f"exact_nonlinear must be True, False or None, "
                              f"got {self.exact_nonlinear!r}")
        check_choice("spice_mode", self.spice_mode, SPICE_MODES)
        check_range("spice_timeout_s", self.spice_timeout_s, 0.0, lo_open=True)
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) \
                or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")


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
            after the ADC when one is configured.
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
    from ``config.seed`` so that two tiles with the same seed that are given
    the same array and the same calls draw the same read noise.
    """

    def __init__(self, config: TileConfig, backend: Backend, cache: ResultCache | None):
        self.config = config
        self.backend = backend
        self.cache = cache
        self.events_total = Events()
        self._array: ProgrammedArray | None = None
        self._params: list[CrossbarParams] = []
        self._squares: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        seq = np.random.SeedSequence(int(config.seed))
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
        rram = self.config.rram
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

    def mvm(self, x: np.ndarray) -> MVMResult:
        """Multiply a batch of input vectors by the programmed array.

        Args:
            x: inputs in ``[-1, 1]``, ``(B, rows)`` or ``(rows,)``.

        Returns:
            ``MVMResult`` with ``y`` in amperes, ``(B, cols)`` (``(cols,)`` for 1-D ``x``).

        Raises:
            ConfigError: ``x`` has the wrong shape, NaNs, or values outside ``[-1, 1]``.
        """
        arr = self.array
        one = np.ndim(x) == 1
        a = check_inputs(x, arr.rows, "x")
        y, events = self._mvm(a, noise=True, quantise=True)
        self.events_total += events
        return MVMResult(y=y[0] if one else y, events=events)

    def _mvm(self, a: np.ndarray, *, noise: bool, quantise: bool) -> tuple[np.ndarray, Events]:
        cfg = self.config
        arr = self.array
        v = dac(a, cfg.v_read_volt, cfg.dac_bits if quantise else None)
        n = a.shape[0]
        single = len(arr.blocks) == 1
        y = None if single else np.zeros((n, arr.cols))
        events = Events()
        readout = ColumnReadout(kind=cfg.readout, tia=cfg.tia)
        full_scale = None
        for block, p in zip(arr.blocks, self._params, strict=True):
            vb = v[:, block.rows]
            if not (noise and cfg.read_noise_scale > 0):
                i, v_out = readout.read(self.backend, p, vb, None)
            elif cfg.read_noise_draw == "per_call":
                factors = read_factors(p.g_siemens.shape, cfg.read_noise_scale, self._read_rng)
                i, v_out = readout.read(self.backend, p, vb, factors)
            else:
                i, v_out = self._noisy_reads(p, vb, readout)
            i, sat = readout.outputs(i, v_out)
            i, sat = _logical(i, arr.differential), _logical_any(sat, arr.differential)
            if quantise and cfg.adc_bits is not None:
                full_scale = self._adc_full_scale(p)
                sat = sat | adc_saturated(i, full_scale, cfg.adc_bits)
                i = adc(i, full_scale, cfg.adc_bits)
            if single:
                y = np.asarray(i, dtype=float)
            else:
                y[:, block.cols] += i
            events += Events(cell_reads=n * p.g_siemens.size, dac_conversions=n * p.rows,
                             adc_conversions=n * i.shape[1],
                             saturated_conversions=int(np.count_nonzero(sat)))
        events += Events(digital_adds=n * arr.cols * (arr.row_blocks - 1))
        warn_saturated(events.saturated_conversions, events.adc_conversions, readout,
                       full_scale, stacklevel=4)
        return y, events

    def _noisy_reads(self, p: CrossbarParams, v: np.ndarray, readout: ColumnReadout
                     ) -> tuple[np.ndarray, np.ndarray | None]:
        """``readout.read`` with a fresh read-noise draw for every vector (module docstring)."""
        s = self.config.read_noise_scale
        mc = self.backend.linear_map(p)
        if mc is not None:
            m, c = mc
            mean = v @ m + c
            std = s * np.sqrt((v * v) @ self._squared(m))
            return mean + std * self._read_rng.standard_normal(mean.shape), None
        reads = [readout.read(self.backend, p, v[b:b + 1],
                              read_factors(p.g_siemens.shape, s, self._read_rng))
                 for b in range(v.shape[0])]
        v_out = None if reads[0][1] is None else np.vstack([r[1] for r in reads])
        return np.vstack([r[0] for r in reads]), v_out

    def _squared(self, m: np.ndarray) -> np.ndarray:
        """``m * m``, kept for the transfers of the macros this tile reads (read-only ``m``:
        the backend's transfers do not change in place)."""
        hit = self._squares.get(id(m))
        if hit is None or hit[0] is not m:
            if len(self._squares) > 4 * max(1, len(self._params)):
                self._squares.clear()
            hit = self._squares[id(m)] = (m, m * m)
        return hit[1]

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
        cfg = self.config
        arr = self.array
        if negative and not arr.differential:
            raise ConfigError("negative=True needs a differential array (targets_neg_siemens)")
        out = np.empty((arr.rows, arr.cols))
        for block, p in zip(arr.blocks, self._params, strict=True):
            factors = None
            if cfg.read_noise_scale > 0:
                factors = read_factors(p.g_siemens.shape, cfg.read_noise_scale, self._read_rng)
            g = self.backend.read_cells(p, cfg.v_read_volt, factors)
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
        a = np.vstack([np.eye(arr.rows), np.zeros((1, arr.rows))])
        i, events = self._mvm(a, noise=True, quantise=False)
        self.events_total += events
        return (i[:-1] - i[-1]) / self.config.v_read_volt

    def validate(self, n: int = 16, *, reference: str = "spice",
                 rng: np.random.Generator | None = None) -> Validation:
        """This tile's error against another backend on ``n`` random input vectors.

        Compares analog column currents (no DAC/ADC quantisation, no read
        noise) for inputs uniform in ``[-1, 1]``, on the programmed array.
        Meant for arrays small enough for the reference (``spice``: up to a
        few hundred rows and columns).
        """
        check_int("n", n, 1, 10**6)
        check_choice("reference", reference, BACKENDS)
        rng = np.random.default_rng(12345) if rng is None else rng
        a = rng.uniform(-1.0, 1.0, size=(n, self.array.rows))
        y, _ = self._mvm(a, noise=False, quantise=False)
        ref = make_tile(replace(self.config, backend=reference), cache=self.cache)
        ref.load(self.array)
        y_ref, _ = ref._mvm(a, noise=False, quantise=False)
        return Validation(reference=reference, n_vectors=n, **compare(y, y_ref))

    # -- helpers -------------------------------------------------------------------------

    def _split(self, rows: int, cols: int, differential: bool, col_group: int = 1
               ) -> tuple[Block, ...]:
        check_int("col_group", col_group, 1, 4096)
        step_c = self.config.macro_cols // 2 if differential else self.config.macro_cols
        if step_c < 1:
            raise ConfigError("macro_cols must be >= 2 to hold a differential pair")
        step_c = step_c // col_group * col_group
        if step_c < 1:
            raise ConfigError(f"a macro of {self.config.macro_cols} columns cannot hold one "
                              f"group of {col_group} columns (the bits of one weight)")
        step_r = self.config.macro_rows
        return tuple(Block(row0=r, row1=min(r + step_r, rows), col0=c, col1=min(c + step_c, cols))
                     for r in range(0, rows, step_r) for c in range(0, cols, step_c))

    def _block_params(self, arr: ProgrammedArray, b: Block) -> CrossbarParams:
        cfg = self.config
        g = arr.actual_siemens[b.rows, b.cols]
        if arr.actual_neg_siemens is not None:
            gn = arr.actual_neg_siemens[b.rows, b.cols]
            phys = np.empty((g.shape[0], 2 * g.shape[1]))
            phys[:, 0::2] = g
            phys[:, 1::2] = gn
            g = phys
        return CrossbarParams(g_siemens=g, cell=cfg.cell, r_wire_bl_ohm=cfg.r_wire_ohm,
                              r_wire_sl_ohm=cfg.r_wire_ohm, r_driver_ohm=cfg.r_driver_ohm,
                              r_sense_ohm=cfg.r_sense_ohm, rram=cfg.rram, access=cfg.access,
                              **ColumnReadout(kind=cfg.readout, tia=cfg.tia).crossbar_fields())

    def _adc_full_scale(self, p: CrossbarParams) -> float:
        cfg = self.config
        if cfg.adc_full_scale_a is not None:
            return cfg.adc_full_scale_a
        return ColumnReadout(kind=cfg.readout, tia=cfg.tia).adc_full_scale_a(
            cfg.v_read_volt, cfg.rram.g_lrs_siemens, p.rows)


def _logical(i_phys: np.ndarray, differential: bool) -> np.ndarray:
    return i_phys[:, 0::2] - i_phys[:, 1::2] if differential else i_phys


def _logical_any(flags_phys: np.ndarray, differential: bool) -> np.ndarray:
    return flags_phys[:, 0::2] | flags_phys[:, 1::2] if differential else flags_phys


def make_tile(config: TileConfig | None = None, *, cache: ResultCache | None = None) -> Tile:
    """Build the tile ``config`` describes.

    Args:
        config: the tile; ``None`` is ``TileConfig()`` (ideal backend).
        cache: where SPICE results and extracted matrices are kept; ``None``
            is the default folder (``cosim.engine.cache``) when ``config.use_cache``.
    """
    config = TileConfig() if config is None else config
    if not isinstance(config, TileConfig):
        raise ConfigError(f"config must be a TileConfig, got {type(config).__name__}")
    if cache is None:
        cache = ResultCache(enabled=config.use_cache)
    backend = make_backend(config.backend, config, cache)
    return Tile(config, backend, cache)
