"""The interface of a programming scheme, and what every scheme shares.

A scheme writes a weight matrix into cells (:class:`Scheme`): the binary-cell
schemes PTQ and HAQ (:mod:`.binary`) and the differential-pair schemes of the
PRIME SNN (:mod:`.pairs`). Programming is independent of the hardware model
through two injected callables: ``ProgramCells`` (the writer, with its write
noise; :class:`BinaryCellWriter` by default) and ``ReadBack`` (the verify read;
:class:`IdealReadBack` by default, :class:`cosim.layers.analog.TileReadBack`
through a tile's read path). A scheme's result is :class:`ProgrammedWeights`:
the cells as written and how they decode into weights.

Every weight is first scaled to ``t = w / max|w|`` in ``[-1, 1]``: by the
largest magnitude of the whole matrix (``scaling="matrix"``, the NF paper's),
or of its column (``scaling="column"``: one scale per output, applied
digitally after the aggregation where the matrix scale is, so the same one
multiply per output; a column whose weights are all small then uses the
cells' full resolution instead of a fraction set by the matrix's largest
weight).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from circuits.devices import TAOX_40NM, RRAMParams
from circuits.errors import ConfigError, check_choice, check_range
from cosim.accounting.events import Events
from cosim.engine.noise import WriteNoise, read_factors
from cosim.hardware.spec import ProgrammingSpec

SCALINGS = ("matrix", "column")
"""Where the full-scale weight is taken: over the matrix or per column (module docstring)."""


MAX_BITS = 16


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
    differential: bool
    """Whether each weight is a pair of cells on neighbouring physical columns."""

    def program(self, w: np.ndarray | None, shape: tuple[int, int], *, rram: RRAMParams,
                write: ProgramCells, read_back: ReadBack | None) -> ProgrammedWeights:
        """Write the matrix; see the class docstring."""

    def on_hardware(self, programming: ProgrammingSpec, read_gain: float) -> Scheme:
        """This scheme as the hardware runs it: its verify passes from ``programming``
        and the read gain of the matrix's placement (schemes that use neither return
        themselves)."""


def need_weights(w: np.ndarray | None, shape: tuple[int, int], scheme: str) -> np.ndarray:
    if w is None:
        raise ConfigError(f"the {scheme} scheme writes given weights; pass w")
    w = np.asarray(w, dtype=float)
    if w.shape != tuple(shape):
        raise ConfigError(f"weights have shape {w.shape}, the layer is {tuple(shape)}")
    return w
