"""Writing weights into binary RRAM cells: PTQ (the baseline) and HAQ.

Both schemes store each weight in ``n_bits`` binary cells (SET -> LRS, RESET ->
HRS) in adjacent physical columns: weight ``(r, c)`` uses cells
``(r, c * n_bits + j)`` for bit ``j = 0 .. n_bits - 1``, bit 0 the most
significant. A weight matrix of shape ``(rows, cols)`` is therefore an array of
``(rows, cols * n_bits)`` cells, and an MVM over it returns ``(B, cols * n_bits)``
currents that :mod:`cosim.programming.aggregation` folds back into ``(B, cols)`` outputs.

Every weight is first scaled to ``t = w / max|w|`` in ``[-1, 1]``: by the largest
magnitude of the whole matrix (``scaling="matrix"``, the NF paper's), or of its
column (``scaling="column"``: one scale per output, applied digitally after the
aggregation where the matrix scale is, so the same one multiply per output;
a column whose weights are all small then uses the cells' full resolution
instead of a fraction set by the matrix's largest weight). A cell's
conductance ``g`` is read as a *level* ``u = (g - g_zero) / g_unit`` and the
weight it encodes is::

    w = max|w| * (sum_j c_j u_j + offset),   c_j = c_0 * ratio**(-j)

- **PTQ** (post-training quantisation; NF code ``ptq``): ``t`` is mapped to
  ``[0, 1]`` and rounded to an unsigned ``n_bits`` integer; its binary digits are
  written open-loop (no verify). Levels ``u = (g - g_HRS) / (g_LRS - g_HRS)``
  (LRS ~ 1, HRS ~ 0), ``c_j = 2 * 2**(n-1-j) / (2**n - 1)``, offset ``-1``.
  The weight is dequantised from the conductances actually programmed, so write
  noise on the most significant cells goes straight into the weight.
- **HAQ** (hardware-aware quantisation; NF paper Fig. 2d,e): levels
  ``b = (g - g_bias) / g_half`` with ``g_bias = (g_LRS + g_HRS) / 2`` and
  ``g_half = (g_LRS - g_HRS) / 2`` (LRS ~ +1, HRS ~ -1), ``c_j = s**(-j)``,
  offset 0. Bit 0 is SET if ``t > 0`` else RESET. After each bit the written
  cells are read back through the tile's read path and the running weight
  ``w_pro = sum_j b_j s**(-j)`` uses the levels *read*, not the intended ±1;
  the next bit is SET if ``t - w_pro > 0`` else RESET, so later, smaller bits
  absorb the write error of earlier ones. With ``s < 2`` the bits are
  redundant (``sum_{k>j} s**-k > s**-j``), which is what lets them correct.

Normalisation note: the NF code writes HAQ cells as ``r - 1/2`` with
``r in {0, 1}`` (cell contribution +-1/2 of full scale); we follow the issue's
``b = +-1`` (contribution +-1), which reproduces the paper's MVM RMSEs more
closely (see :mod:`cosim.workloads.haq_mvm`). Write noise ``sigma`` is in both
cases a fraction of the LRS conductance.

The differential schemes of the PRIME SNN share the :class:`Scheme` interface:
:class:`RandomPairs` (fixed formed pairs), :class:`Pruned` (pruned pairs RESET
to HRS) and :class:`TunedPairs` (given weights tuned into pairs, with the
programming noise of :class:`TuningWriter`).

Programming is independent of the hardware model through two injected
callables (``ProgramCells`` and ``ReadBack``); :class:`BinaryCellWriter` and
:class:`IdealReadBack` are the defaults, and :mod:`cosim.workloads.haq_mvm` wires
a :mod:`cosim.engine.tile` read path in.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from circuits.devices import TAOX_40NM, RRAMParams
from circuits.errors import ConfigError, check_choice, check_int, check_range
from cosim.accounting.events import Events
from cosim.engine.noise import FORMED_TAOX, FormingNoise, WriteNoise, read_factors

SCHEMES = ("ptq", "haq")
SCALINGS = ("matrix", "column")
"""Where the full-scale weight is taken: over the matrix or per column (module docstring)."""
MAX_BITS = 16
MAX_PASSES = 8
"""Most HAQ programming passes (the first plus re-verify passes)."""


class ProgramCells(Protocol):
    """Programs cells to target conductances and returns where they landed."""

    def __call__(self, g_target_siemens: np.ndarray, /) -> np.ndarray:
        """Args: targets (S), any shape. Returns: actual conductances (S), same shape."""


class ReadBack(Protocol):
    """Verify-reads cells through the read path.

    A read-back may also have ``cost(shape, n_cols) -> Events``: what one
    call reading ``n_cols`` columns of an array of ``shape`` (physical) costs;
    schemes add it up (:func:`read_cost`). Without it, a call costs one cell
    read per cell returned.
    """

    def __call__(self, g_actual_siemens: np.ndarray, cols: np.ndarray | None = None, /
                 ) -> np.ndarray:
        """Read the array.

        Args:
            g_actual_siemens: conductances the whole physical array holds now (S),
                shape ``(rows, n_phys)``; cells not yet written hold HRS.
            cols: physical columns to return (all when ``None``).

        Returns:
            The read conductances (S), shape ``(rows, len(cols))``.
        """


def read_cost(read: ReadBack, shape: tuple[int, int], n_cols: int) -> Events:
    """Events of one ``read`` call returning ``n_cols`` columns (see ``ReadBack``)."""
    cost = getattr(read, "cost", None)
    if cost is None:
        return Events(cell_reads=int(shape[0]) * int(n_cols))
    return cost(shape, n_cols)


def check_read_gain(read_gain: float) -> float:
    """Raise ``ConfigError`` unless ``read_gain`` is a number in ``(0, 1]``.

    The read gain is the share of a cell's conductance that the read path
    delivers to the ADC on average: 1 for an ideal array, the placement's mean
    attenuation with wires (``cosim.engine.placement``). A scheme decodes
    levels against the LRS/HRS conductances scaled by it, so an attenuated
    LRS cell still reads as about +1 and an HRS cell as about -1 (HAQ) or 0
    (PTQ): the offset the decoder subtracts matches what the wires let through.
    """
    try:
        k = float(read_gain)
    except (TypeError, ValueError):
        raise ConfigError(f"read_gain must be a number in (0, 1], got {read_gain!r}") from None
    if not np.isfinite(k):
        raise ConfigError(f"read_gain must be a finite number in (0, 1], got {read_gain!r}")
    check_range("read_gain", k, 0.0, 1.0, lo_open=True)
    return k


def check_amp_ratio(s: float, name: str = "amplification ratio s") -> float:
    """Raise ``ConfigError`` unless ``s`` is a finite number > 1."""
    try:
        s = float(s)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number > 1, got {s!r}") from None
    if not np.isfinite(s):
        raise ConfigError(f"{name} must be a finite number > 1, got {s!r}")
    check_range(name, s, 1.0, 1e3, lo_open=True)
    return s


@dataclass(frozen=True, kw_only=True)
class BinaryCellWriter:
    """Default ``ProgramCells``: SET/RESET a binary cell with Gaussian write noise.

    LRS cells land at ``g_lrs * (1 + lrs_sigma * N(0,1))`` (NF code: noise in
    units of the normalised LRS level; NF paper Fig. 2a measured 18.7 %); HRS
    cells at ``g_hrs * (1 + hrs_sigma * N(0,1))`` (NF code: noise-free). Both are
    clipped to the device range (physics of the cell, see :mod:`cosim.engine.noise`).

    Attributes:
        rram: the device (LRS/HRS levels and range).
        lrs_sigma: write-noise std of LRS cells, a fraction of ``g_lrs_siemens``.
        hrs_sigma: write-noise std of HRS cells, a fraction of ``g_hrs_siemens``.
        rng: the generator the noise is drawn from (advanced by each call).
    """

    rram: RRAMParams = TAOX_40NM
    lrs_sigma: float = 0.0
    hrs_sigma: float = 0.0
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0),
                                     compare=False)

    def __post_init__(self) -> None:
        check_range("write noise (LRS sigma)", self.lrs_sigma, 0.0, 10.0)
        check_range("HRS write noise (sigma)", self.hrs_sigma, 0.0, 10.0)

    def __call__(self, g_target_siemens: np.ndarray, /) -> np.ndarray:
        t = np.asarray(g_target_siemens, dtype=float)
        lrs = t > 0.5 * (self.rram.g_lrs_siemens + self.rram.g_hrs_siemens)
        lrs_noise = WriteNoise(sigma=self.lrs_sigma, scale="lrs", hrs_noise_free=True)
        hrs_noise = WriteNoise(sigma=self.hrs_sigma, scale="target", hrs_noise_free=False)
        g = t.copy()
        if self.lrs_sigma > 0 and lrs.any():
            g[lrs] = lrs_noise.apply(t[lrs], self.rram, self.rng)
        if self.hrs_sigma > 0 and (~lrs).any():
            g[~lrs] = hrs_noise.apply(t[~lrs], self.rram, self.rng)
        return g


@dataclass(frozen=True, kw_only=True)
class IdealReadBack:
    """Default ``ReadBack``: every cell read alone at its conductance, with read noise.

    Attributes:
        read_noise: relative read-noise amplitude (PRIME paper eq. 7); 0 is exact.
        rng: the generator the read noise is drawn from.
    """

    read_noise: float = 0.0
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(1),
                                     compare=False)

    def __post_init__(self) -> None:
        check_range("read noise", self.read_noise, 0.0, 1.0)

    def __call__(self, g_actual_siemens: np.ndarray, cols: np.ndarray | None = None, /
                 ) -> np.ndarray:
        g = np.asarray(g_actual_siemens, dtype=float)
        if cols is not None:
            g = g[:, cols]
        return g * read_factors(g.shape, self.read_noise, self.rng)

    def cost(self, shape: tuple[int, int], n_cols: int, /) -> Events:
        """One cell read per cell returned."""
        return Events(cell_reads=int(shape[0]) * int(n_cols))


@dataclass(frozen=True, kw_only=True, eq=False)
class ProgrammedWeights:
    """A weight matrix written into binary cells, and how to read it back.

    The weight a set of conductances ``g`` encodes is
    ``w = weight_scale * (sum_j c_j (g_j - g_zero) / g_unit + offset)`` with
    ``c_j = c0 * ratio**(-j)`` (see the module docstring).

    Attributes:
        scheme: ``"ptq"`` or ``"haq"``.
        n_bits: cells per weight.
        ratio: ratio between the significance of neighbouring bits (``s`` for
            HAQ, 2 for PTQ).
        c0: significance of bit 0 in units of the full-scale weight.
        offset: constant added to the level sum (-1 for PTQ, 0 for HAQ).
        g_zero_siemens: conductance read as level 0 (S).
        g_unit_siemens: conductance step read as one level unit (S).
        weight_scale: ``max|w|`` of the target matrix (weight units per full scale),
            a float; with per-column scaling ``max|w|`` of each column, ``(cols,)``.
        w_target: the target weights, shape ``(rows, cols)``.
        g_target_siemens: the state each cell was written to (g_LRS or g_HRS),
            shape ``(rows, cols * n_bits)``.
        g_actual_siemens: the conductances the cells hold (S), same shape.
        w_verify: HAQ's running estimate ``w_pro * weight_scale`` from the verify
            reads (``None`` for PTQ, which does not verify).
        events: cell writes and verify reads spent programming.
        g_target_neg_siemens: differential schemes only: the states of the
            negative cells of each pair (S), same shape as ``g_target_siemens``;
            the tile subtracts their column currents before the ADC.
        g_actual_neg_siemens: the conductances the negative cells hold (S).
    """

    scheme: str
    n_bits: int
    ratio: float
    c0: float
    offset: float
    g_zero_siemens: float
    g_unit_siemens: float
    weight_scale: float | np.ndarray
    w_target: np.ndarray
    g_target_siemens: np.ndarray
    g_actual_siemens: np.ndarray
    w_verify: np.ndarray | None = None
    events: Events = field(default_factory=Events)
    g_target_neg_siemens: np.ndarray | None = None
    g_actual_neg_siemens: np.ndarray | None = None

    @property
    def rows(self) -> int:
        return self.w_target.shape[0]

    @property
    def cols(self) -> int:
        """Logical columns (weights per row)."""
        return self.w_target.shape[1]

    @property
    def differential(self) -> bool:
        """Whether each bit column is a pair ``G+ - G-`` of cells."""
        return self.g_actual_neg_siemens is not None

    @property
    def significance(self) -> np.ndarray:
        """``c_j``, shape ``(n_bits,)``: full-scale weight per level unit of bit ``j``."""
        return self.c0 * self.ratio ** -np.arange(self.n_bits, dtype=float)

    def decode(self, g_siemens: np.ndarray, g_neg_siemens: np.ndarray | None = None
               ) -> np.ndarray:
        """Weights encoded by conductances ``g`` of shape ``(rows, cols * n_bits)``
        (minus ``g_neg``, the negative cells, for a differential scheme)."""
        g = np.asarray(g_siemens, dtype=float)
        if g_neg_siemens is not None:
            g = g - np.asarray(g_neg_siemens, dtype=float)
        u = (g - self.g_zero_siemens) / self.g_unit_siemens
        u = u.reshape(g.shape[0], -1, self.n_bits)
        return self.weight_scale * (u @ self.significance + self.offset)

    def weights(self) -> np.ndarray:
        """The weights the cells actually hold, shape ``(rows, cols)``."""
        return self.decode(self.g_actual_siemens, self.g_actual_neg_siemens)

    def bits(self) -> np.ndarray:
        """Written states, ``True`` for SET (LRS), shape ``(rows, cols, n_bits)``."""
        # HAQ levels are centred on the LRS/HRS midpoint, PTQ levels start at HRS.
        mid = self.g_zero_siemens + (0.0 if self.scheme == "haq" else 0.5 * self.g_unit_siemens)
        return (self.g_target_siemens > mid).reshape(self.rows, self.cols, self.n_bits)


def scale_weights(w: np.ndarray, scaling: str = "matrix"
                  ) -> tuple[np.ndarray, float | np.ndarray]:
    """Scale ``w`` to ``[-1, 1]`` by its largest magnitude, or each column by its own.

    Args:
        w: weights, ``(rows, cols)``.
        scaling: ``"matrix"`` or ``"column"`` (:data:`SCALINGS`).

    Returns:
        ``(t, max|w|)``; an all-zero matrix gives ``(w, 1.0)``. Per column the
        scale is ``(cols,)``; an all-zero column takes the smallest nonzero
        column's (its quantisation error scales with it), an all-zero matrix 1.0.

    Raises:
        ConfigError: ``w`` is not a finite 2-D array, or an unknown ``scaling``.
    """
    check_choice("weight scaling", scaling, SCALINGS)
    w = np.asarray(w, dtype=float)
    if w.ndim != 2 or w.size == 0:
        raise ConfigError(f"weights must be a non-empty 2-D array (rows, cols), got shape "
                          f"{w.shape}")
    if not np.all(np.isfinite(w)):
        raise ConfigError("weights hold NaN or infinite values")
    if scaling == "column":
        m_col = np.max(np.abs(w), axis=0)
        nonzero = m_col > 0.0
        fill = float(m_col[nonzero].min()) if nonzero.any() else 1.0
        m_col = np.where(nonzero, m_col, fill)
        return w / m_col, m_col
    m = float(np.max(np.abs(w)))
    if m == 0.0:
        return w.copy(), 1.0
    return w / m, m


def _physical_cols(cols: int, n_bits: int, bit: int) -> np.ndarray:
    """Physical column of bit ``bit`` of every logical column."""
    return np.arange(cols) * n_bits + bit


def program_ptq(w: np.ndarray, n_bits: int, *, rram: RRAMParams = TAOX_40NM,
                program_cells: ProgramCells | None = None,
                read_gain: float = 1.0, scaling: str = "matrix") -> ProgrammedWeights:
    """Uniform ``n_bits`` quantisation written open-loop (NF code ``ptq``).

    ``t = w / max|w|`` is mapped to ``q = round((t + 1) / 2 * (2**n - 1))``;
    bit ``j`` (most significant first) of ``q`` is SET (LRS) if 1, else RESET.

    Args:
        w: weights, shape ``(rows, cols)``.
        n_bits: bits per weight, 1..16.
        rram: the device (LRS and HRS levels).
        program_cells: writes the cells; default: exact (no write noise).
        read_gain: the share of a cell's conductance the read path delivers
            (:func:`check_read_gain`); the decode's levels are scaled by it.
        scaling: full scale per ``"matrix"`` or per ``"column"`` (:func:`scale_weights`).

    Returns:
        The programmed array, dequantised through the conductances written.
    """
    n = check_int("n_bits", n_bits, 1, MAX_BITS)
    k = check_read_gain(read_gain)
    t, scale = scale_weights(w, scaling)
    rows, cols = t.shape
    program = program_cells or BinaryCellWriter(rram=rram)
    levels = 2**n - 1
    q = np.rint((t + 1.0) / 2.0 * levels).astype(np.int64)
    shifts = np.arange(n - 1, -1, -1, dtype=np.int64)  # bit 0 = MSB
    bits = ((q[:, :, None] >> shifts) & 1).astype(bool).reshape(rows, cols * n)
    g_target = np.where(bits, rram.g_lrs_siemens, rram.g_hrs_siemens)
    g_actual = np.asarray(program(g_target), dtype=float)
    return ProgrammedWeights(
        scheme="ptq", n_bits=n, ratio=2.0, c0=2.0 * 2.0 ** (n - 1) / levels, offset=-1.0,
        g_zero_siemens=k * rram.g_hrs_siemens,
        g_unit_siemens=k * (rram.g_lrs_siemens - rram.g_hrs_siemens),
        weight_scale=scale, w_target=np.asarray(w, dtype=float), g_target_siemens=g_target,
        g_actual_siemens=g_actual, events=Events(cell_writes=int(g_target.size)),
    )


def program_haq(w: np.ndarray, n_bits: int, amp_ratio: float, *,
                rram: RRAMParams = TAOX_40NM, program_cells: ProgramCells | None = None,
                read_back: ReadBack | None = None, passes: int = 1,
                read_gain: float = 1.0, scaling: str = "matrix") -> ProgrammedWeights:
    """Hardware-aware quantisation: bit-serial writes with verify reads (NF Fig. 2d,e).

    Vectorised over the matrix: each of the ``n_bits`` steps writes one bit of
    every weight at once (one physical column per logical column), reads those
    cells back, and updates every running weight.

    **Re-verify passes** (``passes > 1``). A verify read sees the array as it
    is when the bit is written; with wire resistance, the cells written later
    change the IR drop every earlier cell sees, so its read goes stale. Each
    further pass walks the bits again, most significant first, on the array as
    it now stands: one read of the whole array (through ``read_back``, which
    sees every cell written so far), then every weight already within the
    last bit's significance of its target is left alone. For the others the
    running weight is rebuilt from the read levels of the bits before ``j``;
    bit ``j`` keeps its state when the residual it leaves is within half of
    what the bits after it can add (``s < 2`` makes them redundant, so they
    absorb it), otherwise it is decided again by the residual's sign and
    rewritten if that changes it (write noise applies; until the next pass's
    read the cell counts at its nominal level). Touching only what needs it
    keeps the rewrites, and so the disturbance of the other cells' IR drop,
    small, and each pass smaller than the one before; a pass that rewrites
    nothing ends the programming. The last read gives ``w_verify``. Cost per
    extra pass: up to ``n_bits + 1`` reads of the array and one write per
    changed cell, all counted in ``events``. With a read path that shows the
    MVM's own transfer (``cosim.layers.analog.TileReadBack`` ``"transfer"``)
    this converges on the weights the MVM sees; without wires one pass is
    exact already and further passes only rewrite cells whose read noise
    flipped a decision.

    Args:
        w: weights, shape ``(rows, cols)``.
        n_bits: bits (cells) per weight, 1..16.
        amp_ratio: ``s`` > 1, the ratio of neighbouring bit significances; use the
            VCMAC ratio *measured* for the chosen switch code when the bits are
            aggregated in analog (that is how HAQ absorbs the VCMAC's ratio error).
        rram: the device (LRS and HRS levels define ``g_bias`` and ``g_half``).
        program_cells: writes cells; default exact (no write noise).
        read_back: verify read through the read path; default exact.
        passes: programming passes, 1 (the NF paper's scheme) to 8.
        read_gain: the share of a cell's conductance the read path delivers
            (:func:`check_read_gain`): the levels are read against
            ``read_gain * g_bias`` and ``read_gain * g_half``.
        scaling: full scale per ``"matrix"`` or per ``"column"`` (:func:`scale_weights`).

    Returns:
        The programmed array; ``w_verify`` holds the running estimate seen by the
        verify reads, ``weights()`` what the cells really encode.
    """
    n = check_int("n_bits", n_bits, 1, MAX_BITS)
    s = check_amp_ratio(amp_ratio)
    check_int("passes", passes, 1, MAX_PASSES)
    t, scale = scale_weights(w, scaling)
    rows, cols = t.shape
    program = program_cells or BinaryCellWriter(rram=rram)
    read = read_back or IdealReadBack()
    g_lrs, g_hrs = rram.g_lrs_siemens, rram.g_hrs_siemens
    k = check_read_gain(read_gain)
    g_bias, g_half = 0.5 * k * (g_lrs + g_hrs), 0.5 * k * (g_lrs - g_hrs)
    sig = s ** -np.arange(n, dtype=float)

    def level(g_read: np.ndarray) -> np.ndarray:
        return (g_read - g_bias) / g_half

    g_target = np.full((rows, cols * n), g_hrs)
    g_actual = np.full((rows, cols * n), g_hrs)
    events = Events()
    w_pro = np.zeros_like(t)
    for j in range(n):
        pcols = _physical_cols(cols, n, j)
        tgt = np.where((t - w_pro) > 0.0, g_lrs, g_hrs)
        g_target[:, pcols] = tgt
        g_actual[:, pcols] = np.asarray(program(tgt), dtype=float)
        w_pro += level(np.asarray(read(g_actual, pcols), dtype=float)) * sig[j]
        events += Events(cell_writes=tgt.size) + read_cost(read, g_actual.shape, cols)

    def read_levels() -> np.ndarray:
        nonlocal events
        events += read_cost(read, g_actual.shape, g_actual.shape[1])
        return level(np.asarray(read(g_actual), dtype=float)).reshape(rows, cols, n)

    if passes > 1:
        u = read_levels()
        for _ in range(passes - 1):
            writes = _reverify(t, sig, u, g_target, g_actual, program, (g_lrs, g_hrs),
                               read_levels)
            if writes == 0:
                break  # converged: nothing left to rewrite
            events += Events(cell_writes=writes)
            u = read_levels()
        w_pro = u @ sig
    return ProgrammedWeights(
        scheme="haq", n_bits=n, ratio=s, c0=1.0, offset=0.0, g_zero_siemens=g_bias,
        g_unit_siemens=g_half, weight_scale=scale, w_target=np.asarray(w, dtype=float),
        g_target_siemens=g_target, g_actual_siemens=g_actual, w_verify=w_pro * scale,
        events=events,
    )


def _reverify(t: np.ndarray, sig: np.ndarray, u: np.ndarray, g_target: np.ndarray,
              g_actual: np.ndarray, program: ProgramCells, states: tuple[float, float],
              read_levels) -> int:
    """One re-verify pass of :func:`program_haq` (see its docstring).

    ``u`` holds the levels of the pass's read, ``(rows, cols, n_bits)``; the
    targets and conductances are updated in place; ``read_levels`` reads the
    array again (before a bit, when the bits before it rewrote cells).
    Returns the cells rewritten.
    """
    rows, cols, n = u.shape
    g_lrs, g_hrs = states
    # Weights already within the last bit's significance are left alone.
    fix = np.abs(t - u @ sig) > sig[-1]
    writes, stale = 0, False
    for j in range(n):
        if stale:
            u, stale = read_levels(), False
        resid = t - u[:, :, :j] @ sig[:j]
        pcols = _physical_cols(cols, n, j)
        # Keep bit j when the bits after it can absorb what it leaves (half
        # their reach, s < 2 makes them redundant): fewer rewrites, less disturbance.
        keep = ~fix | (np.abs(resid - u[:, :, j] * sig[j]) <= 0.5 * sig[j + 1:].sum())
        tgt = np.where(keep, g_target[:, pcols], np.where(resid > 0.0, g_lrs, g_hrs))
        flip = tgt != g_target[:, pcols]
        if flip.any():
            g_target[:, pcols] = tgt
            col_actual = g_actual[:, pcols]
            col_actual[flip] = np.asarray(program(tgt[flip]), dtype=float)
            g_actual[:, pcols] = col_actual
            writes += int(flip.sum())
            stale = True
    return writes


def program(scheme: str, w: np.ndarray, n_bits: int, amp_ratio: float = 1.5, *,
            rram: RRAMParams = TAOX_40NM, program_cells: ProgramCells | None = None,
            read_back: ReadBack | None = None) -> ProgrammedWeights:
    """Program ``w`` with ``scheme`` (``"ptq"`` or ``"haq"``); PTQ ignores ``amp_ratio``."""
    check_choice("programming scheme", scheme, SCHEMES)
    if scheme == "ptq":
        return program_ptq(w, n_bits, rram=rram, program_cells=program_cells)
    return program_haq(w, n_bits, amp_ratio, rram=rram, program_cells=program_cells,
                       read_back=read_back)



# -- schemes: one interface over every way of writing a weight matrix ----------------------


class Scheme(Protocol):
    """A way of writing a weight matrix into cells.

    ``program`` gets the target weights (``None`` for schemes that draw their
    own, such as :class:`RandomPairs`), the matrix shape, the device, the cell
    writer and the verify read path, and returns the programmed array with
    the events it spent.
    """

    name: str
    n_bits: int
    """Cells (bit columns, or pairs) per weight; a macro holds whole weights."""

    def program(self, w: np.ndarray | None, shape: tuple[int, int], *, rram: RRAMParams,
                write: ProgramCells, read_back: ReadBack | None) -> ProgrammedWeights:
        """Write the matrix; see the class docstring."""


def _need_weights(w: np.ndarray | None, shape: tuple[int, int], scheme: str) -> np.ndarray:
    if w is None:
        raise ConfigError(f"the {scheme} scheme writes given weights; pass w")
    w = np.asarray(w, dtype=float)
    if w.shape != tuple(shape):
        raise ConfigError(f"weights have shape {w.shape}, the layer is {tuple(shape)}")
    return w


@dataclass(frozen=True, kw_only=True)
class PTQ:
    """Post-training quantisation written open loop (:func:`program_ptq`).

    Attributes:
        n_bits: cells per weight.
        read_gain: the read path's mean share of a cell's conductance
            (:func:`check_read_gain`).
        scaling: full scale per ``"matrix"`` or per ``"column"`` (:func:`scale_weights`).
    """

    n_bits: int = 12
    read_gain: float = 1.0
    scaling: str = "matrix"
    name: str = field(default="ptq", init=False)

    def __post_init__(self) -> None:
        check_int("n_bits", self.n_bits, 1, MAX_BITS)
        check_read_gain(self.read_gain)
        check_choice("weight scaling", self.scaling, SCALINGS)

    def program(self, w: np.ndarray | None, shape: tuple[int, int], *, rram: RRAMParams,
                write: ProgramCells, read_back: ReadBack | None) -> ProgrammedWeights:
        return program_ptq(_need_weights(w, shape, self.name), self.n_bits, rram=rram,
                           program_cells=write, read_gain=self.read_gain,
                           scaling=self.scaling)


@dataclass(frozen=True, kw_only=True)
class HAQ:
    """Hardware-aware quantisation with verify reads (:func:`program_haq`).

    Attributes:
        n_bits: cells per weight.
        amp_ratio: ``s``; with VCMAC aggregation the layer programs with the
            ratio the VCMAC really has (its measured value).
        passes: programming passes (``program_haq``): 1 is the NF paper's
            scheme; more re-verify the bits on the array as it stands.
        read_gain: the read path's mean share of a cell's conductance
            (:func:`check_read_gain`).
        scaling: full scale per ``"matrix"`` or per ``"column"`` (:func:`scale_weights`).
    """

    n_bits: int = 12
    amp_ratio: float = 1.5
    passes: int = 1
    read_gain: float = 1.0
    scaling: str = "matrix"
    name: str = field(default="haq", init=False)

    def __post_init__(self) -> None:
        check_int("n_bits", self.n_bits, 1, MAX_BITS)
        check_amp_ratio(self.amp_ratio)
        check_int("passes", self.passes, 1, MAX_PASSES)
        check_read_gain(self.read_gain)
        check_choice("weight scaling", self.scaling, SCALINGS)

    def program(self, w: np.ndarray | None, shape: tuple[int, int], *, rram: RRAMParams,
                write: ProgramCells, read_back: ReadBack | None) -> ProgrammedWeights:
        return program_haq(_need_weights(w, shape, self.name), self.n_bits, self.amp_ratio,
                           rram=rram, program_cells=write, read_back=read_back,
                           passes=self.passes, read_gain=self.read_gain,
                           scaling=self.scaling)


@dataclass(frozen=True, kw_only=True)
class RandomPairs:
    """Fixed random weights: every weight a differential pair of formed cells (PRIME).

    Both cells of a pair keep the conductance forming gave them
    (:class:`cosim.engine.noise.FormingNoise`); the weight is ``(G+ - G-) / g_unit``
    with ``g_unit = sqrt(2) * forming std``, so the weights are about
    ``N(0, 1)`` (PRIME paper Fig. 2b; the PRIME code scales them at use).
    Forming is one pulse per cell, counted as a write. Given weights are
    refused: these weights are whatever the devices hold.

    Attributes:
        forming: the forming distribution.
        rng: the source of the forming draws.
    """

    forming: FormingNoise = FORMED_TAOX
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0),
                                     compare=False)
    name: str = field(default="random_pairs", init=False)
    n_bits: int = field(default=1, init=False)

    def program(self, w: np.ndarray | None, shape: tuple[int, int], *, rram: RRAMParams,
                write: ProgramCells, read_back: ReadBack | None) -> ProgrammedWeights:
        if w is not None:
            raise ConfigError("random_pairs draws its weights from the forming distribution; "
                              "pass w=None and a shape")
        rows, cols = (int(v) for v in shape)
        check_int("rows", rows, 1, 10**6)
        check_int("cols", cols, 1, 10**6)
        g_pos = self.forming.draw((rows, cols), rram, self.rng)
        g_neg = self.forming.draw((rows, cols), rram, self.rng)
        g_unit = np.sqrt(2.0) * self.forming.std_siemens
        if g_unit <= 0:
            raise ConfigError("random_pairs needs a forming std_siemens > 0")
        return ProgrammedWeights(
            scheme=self.name, n_bits=1, ratio=2.0, c0=1.0, offset=0.0, g_zero_siemens=0.0,
            g_unit_siemens=g_unit, weight_scale=1.0, w_target=(g_pos - g_neg) / g_unit,
            g_target_siemens=g_pos, g_actual_siemens=g_pos, g_target_neg_siemens=g_neg,
            g_actual_neg_siemens=g_neg, events=Events(cell_writes=2 * rows * cols))


@dataclass(frozen=True, kw_only=True, eq=False)
class Pruned:
    """A differential scheme whose pruned pairs are RESET to HRS (PRIME edge-popup).

    The base scheme writes every pair; then both cells of each pair where
    ``keep`` is false get a RESET pulse (through the writer, so HRS write
    noise applies), which leaves ``G+ - G-`` at about zero: the conductance
    histogram gets its peak at zero (PRIME paper Fig. 2b,d).

    Attributes:
        base: a differential scheme (e.g. :class:`RandomPairs`).
        keep: ``(rows, cols)`` booleans, true for the pairs that stay.
    """

    base: Scheme
    keep: np.ndarray
    name: str = field(default="pruned", init=False)
    n_bits: int = field(default=1, init=False)

    def program(self, w: np.ndarray | None, shape: tuple[int, int], *, rram: RRAMParams,
                write: ProgramCells, read_back: ReadBack | None) -> ProgrammedWeights:
        keep = np.asarray(self.keep)
        if keep.dtype != bool or keep.shape != tuple(shape):
            raise ConfigError(f"the pruning mask must be booleans of shape {tuple(shape)}, "
                              f"got {keep.dtype} {keep.shape}")
        pw = self.base.program(w, shape, rram=rram, write=write, read_back=read_back)
        if not pw.differential or pw.n_bits != 1:
            raise ConfigError(f"pruning RESETs differential pairs; the {self.base.name} "
                              f"scheme does not write pairs")
        cut = ~keep
        hrs = np.full(int(cut.sum()), rram.g_hrs_siemens)
        pos_t, neg_t = pw.g_target_siemens.copy(), pw.g_target_neg_siemens.copy()
        pos_a, neg_a = pw.g_actual_siemens.copy(), pw.g_actual_neg_siemens.copy()
        pos_t[cut] = neg_t[cut] = rram.g_hrs_siemens
        pos_a[cut] = np.asarray(write(hrs), dtype=float)
        neg_a[cut] = np.asarray(write(hrs), dtype=float)
        return replace(pw, scheme=f"{pw.scheme}+pruned", w_target=np.where(keep, pw.w_target, 0.0),
                       g_target_siemens=pos_t, g_actual_siemens=pos_a,
                       g_target_neg_siemens=neg_t, g_actual_neg_siemens=neg_a,
                       events=pw.events + Events(cell_writes=2 * hrs.size))


@dataclass(frozen=True, kw_only=True)
class TuningWriter:
    """Programming noise of analog (tuned) writes and of RESETs, for :class:`TunedPairs`.

    A cell tuned to a conductance above HRS lands at
    ``target + sigma * g_LRS * N(0, 1)`` (the NF code's write noise, in units of the
    LRS level); a cell RESET to HRS lands at ``g_HRS (1 + sigma N(0, 1))``. Pruning
    writes only RESETs, tuning writes every cell at an analog level: the same
    ``sigma`` costs them differently (PRIME Fig. 3g). Results are clipped to the
    device range.

    Attributes:
        rram: the device.
        sigma: write-noise std, a fraction of ``g_lrs_siemens`` (tuned cells) or of
            ``g_hrs_siemens`` (cells RESET to HRS).
        rng: the source of the noise (advanced by each call).
    """

    rram: RRAMParams = TAOX_40NM
    sigma: float = 0.0
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0),
                                     compare=False)

    def __post_init__(self) -> None:
        check_range("write noise (sigma)", self.sigma, 0.0, 10.0)

    def __call__(self, g_target_siemens: np.ndarray, /) -> np.ndarray:
        t = np.asarray(g_target_siemens, dtype=float)
        g = t.copy()
        reset = t <= self.rram.g_hrs_siemens
        if (~reset).any():
            g[~reset] = WriteNoise(sigma=self.sigma, scale="lrs", hrs_noise_free=False).apply(
                t[~reset], self.rram, self.rng)
        if reset.any():
            g[reset] = WriteNoise(sigma=self.sigma, scale="target", hrs_noise_free=False).apply(
                t[reset], self.rram, self.rng)
        return g


@dataclass(frozen=True, kw_only=True)
class TunedPairs:
    """Given weights written open loop into differential pairs (weight tuning).

    The baseline PRIME compares pruning with (Fig. 3g): weight ``w`` (in the pair
    units of :class:`RandomPairs`, ``g_unit = sqrt(2) x`` forming std) is written as
    ``G+- = g_mid +- w g_unit / 2`` around the forming mean, clipped to
    ``[g_HRS, g_max]``, so it decodes with the same ``g_unit`` as the random pairs
    and a network's weight scale applies unchanged. Each write misses its target
    by the writer's noise (:class:`TuningWriter`).

    Attributes:
        forming: fixes ``g_unit`` (as :class:`RandomPairs`) and the mid level ``g_mid``.
    """

    forming: FormingNoise = FORMED_TAOX
    name: str = field(default="tuned_pairs", init=False)
    n_bits: int = field(default=1, init=False)

    def program(self, w: np.ndarray | None, shape: tuple[int, int], *, rram: RRAMParams,
                write: ProgramCells, read_back: ReadBack | None) -> ProgrammedWeights:
        w = _need_weights(w, shape, self.name)
        g_unit = np.sqrt(2.0) * self.forming.std_siemens
        mid = self.forming.mean_siemens
        pos_t = np.clip(mid + 0.5 * w * g_unit, rram.g_hrs_siemens, rram.g_max_siemens)
        neg_t = np.clip(mid - 0.5 * w * g_unit, rram.g_hrs_siemens, rram.g_max_siemens)
        pos_a = np.asarray(write(pos_t), dtype=float)
        neg_a = np.asarray(write(neg_t), dtype=float)
        return ProgrammedWeights(
            scheme=self.name, n_bits=1, ratio=2.0, c0=1.0, offset=0.0, g_zero_siemens=0.0,
            g_unit_siemens=g_unit, weight_scale=1.0, w_target=w, g_target_siemens=pos_t,
            g_actual_siemens=pos_a, g_target_neg_siemens=neg_t, g_actual_neg_siemens=neg_a,
            events=Events(cell_writes=2 * w.size))
