"""Writing weights into binary RRAM cells: PTQ (the baseline) and HAQ.

Both schemes store each weight in ``n_bits`` binary cells (SET -> LRS, RESET ->
HRS) in adjacent physical columns: weight ``(r, c)`` uses cells
``(r, c * n_bits + j)`` for bit ``j = 0 .. n_bits - 1``, bit 0 the most
significant. A weight matrix of shape ``(rows, cols)`` is therefore an array of
``(rows, cols * n_bits)`` cells, and an MVM over it returns ``(B, cols * n_bits)``
currents that :mod:`cosim.programming.aggregation` folds back into ``(B, cols)`` outputs.

Every weight is first scaled to ``t`` in ``[-1, 1]`` (:func:`.base.scale_weights`).
A cell's conductance ``g`` is read as a *level* ``u = (g - g_zero) / g_unit`` and the
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
closely (see :mod:`cosim.workloads.haq.mvm`). Write noise ``sigma`` is in both
cases a fraction of the LRS conductance.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from circuits.devices import TAOX_40NM, RRAMParams
from circuits.errors import check_choice, check_int
from cosim.accounting.events import Events
from cosim.hardware.spec import MAX_HAQ_PASSES as MAX_PASSES
from cosim.hardware.spec import ProgrammingSpec
from cosim.programming.base import (
    MAX_BITS,
    SCALINGS,
    BinaryCellWriter,
    IdealReadBack,
    ProgramCells,
    ProgrammedWeights,
    ReadBack,
    check_amp_ratio,
    check_read_gain,
    need_weights,
    read_cost,
    scale_weights,
)


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
    change the IR drop every earlier cell sees, so its read goes stale, and
    every rewrite moves the read levels of the other cells on its lines. Each
    further pass reads the whole array once (through ``read_back``, which sees
    every cell written so far) and corrects only the weights whose read error
    exceeds the last bit's significance and ``REVERIFY_TOLERANCE_SPREAD`` times
    the spread of the weights the pass before left alone (read noise, and the
    IR drop its rewrites caused: a smaller error is not known), each with at most
    two cell writes: switching a bit (SET <-> RESET) or SETting an LRS bit again
    (a fresh draw of its write noise, for a bit written weak). Of every single
    write and pair of writes the pass takes the one whose predicted residual is
    smallest, the new level taken at its nominal +-1 and a new LRS level's
    spread (the spread of the LRS levels as read) counting as
    ``WRITE_NOISE_WEIGHT`` of its variance, and each write costing
    ``REWRITE_COST_LSB`` last-bit significances; a weight no such move improves
    is left alone. Few writes per pass keep the disturbance of the other cells
    small, so the passes converge (the next pass's read sees what the writes and
    their IR drop did); a pass that rewrites nothing ends the programming. The
    last read gives ``w_verify``. Cost per extra pass: one read of the array and
    one write per rewritten cell, all counted in ``events``. With a read path
    that shows the MVM's own transfer (``cosim.layers.analog.TileReadBack``
    ``"transfer"``) this converges on the weights the MVM sees; without wires it
    rewrites the weights whose write noise left them off target.

    Args:
        w: weights, shape ``(rows, cols)``.
        n_bits: bits (cells) per weight, 1..16.
        amp_ratio: ``s`` > 1, the ratio of neighbouring bit significances; use the
            VCMAC ratio *measured* for the chosen switch code when the bits are
            aggregated in analog (that is how HAQ absorbs the VCMAC's ratio error).
        rram: the device (LRS and HRS levels define ``g_bias`` and ``g_half``).
        program_cells: writes cells; default exact (no write noise).
        read_back: verify read through the read path; default exact.
        passes: programming passes, 1 (the NF paper's scheme) to ``MAX_PASSES``.
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
        tol = sig[-1]
        for _ in range(passes - 1):
            rewritten = _reverify(t, sig, u, tol, g_target, g_actual, program,
                                  (g_lrs, g_hrs))
            writes = int(rewritten.sum())
            if writes == 0:
                break  # converged: nothing left to rewrite
            events += Events(cell_writes=writes)
            u_new = read_levels()
            kept = ~rewritten.any(axis=2)
            if kept.any():  # how far the weights left alone moved between the reads
                moved = (u_new[kept] - u[kept]) @ sig
                tol = max(sig[-1], REVERIFY_TOLERANCE_SPREAD * float(moved.std()) / np.sqrt(2))
            u = u_new
        w_pro = u @ sig
    return ProgrammedWeights(
        scheme="haq", n_bits=n, ratio=s, c0=1.0, offset=0.0, g_zero_siemens=g_bias,
        g_unit_siemens=g_half, weight_scale=scale, w_target=np.asarray(w, dtype=float),
        g_target_siemens=g_target, g_actual_siemens=g_actual, w_verify=w_pro * scale,
        events=events,
    )


# Re-verify passes (``_reverify``): a weight is corrected when its read error
# exceeds the last bit's significance and this many times the spread of the
# read weights that the pass before left alone (read noise and the IR drop its
# rewrites caused: errors below that cannot be told apart from it); each
# rewrite costs this many last-bit significances in the choice of a correction
# (fewer rewrites, less disturbance of the other cells' IR drop); and this share
# of a new LRS level's variance (its write noise) counts against a correction
# (later passes absorb the rest). Chosen by measurement
# (docs/measurements/haq.md, "Re-verify under wire resistance").
REVERIFY_TOLERANCE_SPREAD = 2.0
REWRITE_COST_LSB = 0.25
WRITE_NOISE_WEIGHT = 0.1
_CHUNK = 4096  # weights per block of the correction search (bounds its memory)


def _reverify(t: np.ndarray, sig: np.ndarray, u: np.ndarray, tol: float,
              g_target: np.ndarray, g_actual: np.ndarray, program: ProgramCells,
              states: tuple[float, float]) -> np.ndarray:
    """One re-verify pass of :func:`program_haq` (see its docstring).

    ``u`` holds the levels of the pass's read, ``(rows, cols, n_bits)``; weights
    whose read error exceeds ``tol`` (weight units of full scale 1) are
    corrected; the targets and conductances are updated in place. Returns which
    cells were rewritten, ``(rows, cols, n_bits)``.
    """
    rows, cols, n = u.shape
    g_lrs, g_hrs = states
    lsb = sig[-1]
    err = t - u @ sig
    rewritten = np.zeros(u.shape, dtype=bool)
    fix = np.nonzero(np.abs(err) > tol)
    if fix[0].size == 0:
        return rewritten
    lrs_all = (g_target == g_lrs).reshape(rows, cols, n)
    # The spread of the LRS levels as read (write noise, IR drop): what a new SET costs.
    sd_lrs = float(u[lrs_all].std()) if lrs_all.any() else 0.0
    # Moves 0..n-1 switch bit j (SET <-> RESET), moves n..2n-1 SET an LRS bit again.
    a, b = np.triu_indices(2 * n, 1)
    a, b = a[a % n != b % n], b[a % n != b % n]
    sig2 = np.concatenate([sig, sig])
    for lo in range(0, fix[0].size, _CHUNK):
        r_, c_ = fix[0][lo:lo + _CHUNK], fix[1][lo:lo + _CHUNK]
        m = r_.size
        lrs = lrs_all[r_, c_]
        new = np.concatenate([np.where(lrs, -1.0, 1.0), np.ones((m, n))], axis=1)
        valid = np.concatenate([np.ones((m, n), dtype=bool), lrs], axis=1)
        uu = u[r_, c_]
        dw = np.where(valid, (new - np.concatenate([uu, uu], axis=1)) * sig2, 0.0)
        var = WRITE_NOISE_WEIGHT * np.where(new > 0, sd_lrs * sig2, 0.0) ** 2
        e = err[r_, c_]
        one = np.sqrt((e[:, None] - dw) ** 2 + var) + REWRITE_COST_LSB * lsb
        one[~valid] = np.inf
        two = (np.sqrt((e[:, None] - dw[:, a] - dw[:, b]) ** 2 + var[:, a] + var[:, b])
               + 2 * REWRITE_COST_LSB * lsb)
        two[~(valid[:, a] & valid[:, b])] = np.inf
        k = np.arange(m)
        j1, p2 = one.argmin(axis=1), two.argmin(axis=1)
        best = np.stack([np.abs(e), one[k, j1], two[k, p2]]).argmin(axis=0)
        who = np.concatenate([k[best == 1], k[best == 2], k[best == 2]])
        move = np.concatenate([j1[best == 1], a[p2[best == 2]], b[p2[best == 2]]])
        if who.size == 0:
            continue
        rr, pc = r_[who], c_[who] * n + move % n
        tgt = np.where(new[who, move] > 0, g_lrs, g_hrs)
        g_target[rr, pc] = tgt
        g_actual[rr, pc] = np.asarray(program(tgt), dtype=float)
        rewritten[rr, c_[who], move % n] = True
    return rewritten


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
    differential: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        check_int("n_bits", self.n_bits, 1, MAX_BITS)
        check_read_gain(self.read_gain)
        check_choice("weight scaling", self.scaling, SCALINGS)

    def program(self, w: np.ndarray | None, shape: tuple[int, int], *, rram: RRAMParams,
                write: ProgramCells, read_back: ReadBack | None) -> ProgrammedWeights:
        return program_ptq(need_weights(w, shape, self.name), self.n_bits, rram=rram,
                           program_cells=write, read_gain=self.read_gain,
                           scaling=self.scaling)

    def on_hardware(self, programming: ProgrammingSpec, read_gain: float) -> PTQ:
        """PTQ writes open loop: only the read gain it decodes with changes."""
        return replace(self, read_gain=read_gain)


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
    differential: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        check_int("n_bits", self.n_bits, 1, MAX_BITS)
        check_amp_ratio(self.amp_ratio)
        check_int("passes", self.passes, 1, MAX_PASSES)
        check_read_gain(self.read_gain)
        check_choice("weight scaling", self.scaling, SCALINGS)

    def program(self, w: np.ndarray | None, shape: tuple[int, int], *, rram: RRAMParams,
                write: ProgramCells, read_back: ReadBack | None) -> ProgrammedWeights:
        return program_haq(need_weights(w, shape, self.name), self.n_bits, self.amp_ratio,
                           rram=rram, program_cells=write, read_back=read_back,
                           passes=self.passes, read_gain=self.read_gain,
                           scaling=self.scaling)

    def on_hardware(self, programming: ProgrammingSpec, read_gain: float) -> HAQ:
        """HAQ with the hardware's verify passes, decoding with ``read_gain``."""
        return replace(self, passes=programming.haq_passes, read_gain=read_gain)
