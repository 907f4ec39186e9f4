"""The differential-pair schemes of the PRIME SNN: fixed random pairs, pruned pairs, tuned pairs.

A weight is a pair of cells on neighbouring physical columns, read as
``G+ - G-``: :class:`RandomPairs` (the formed cells left as they are, PRIME's
fixed random weights), :class:`Pruned` (a mask of pairs RESET to HRS, the
rest formed) and :class:`TunedPairs` (given weights tuned into pairs, the
baseline PRIME compares pruning with, with the programming noise of
:class:`TuningWriter`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from circuits.devices import FORMED_TAOX, TAOX_40NM, FormingNoise, RRAMParams
from circuits.errors import ConfigError, check_int, check_range
from cosim.accounting.events import Events
from cosim.engine.noise import WriteNoise
from cosim.hardware.spec import ProgrammingSpec
from cosim.programming.base import ProgramCells, ProgrammedWeights, ReadBack, Scheme, need_weights


@dataclass(frozen=True, kw_only=True)
class RandomPairs:
    """Fixed random weights: every weight a differential pair of formed cells (PRIME).

    Both cells of a pair keep the conductance forming gave them
    (:class:`circuits.devices.FormingNoise`); the weight is ``(G+ - G-) / g_unit``
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
    differential: bool = field(default=True, init=False)

    def on_hardware(self, programming: ProgrammingSpec, read_gain: float) -> Scheme:
        """Pairs are formed or RESET, never verified: the scheme as it is."""
        return self

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
    differential: bool = field(default=True, init=False)

    def on_hardware(self, programming: ProgrammingSpec, read_gain: float) -> Scheme:
        """Pairs are formed or RESET, never verified: the scheme as it is."""
        return self

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
    differential: bool = field(default=True, init=False)

    def on_hardware(self, programming: ProgrammingSpec, read_gain: float) -> Scheme:
        """Pairs are formed or RESET, never verified: the scheme as it is."""
        return self

    def program(self, w: np.ndarray | None, shape: tuple[int, int], *, rram: RRAMParams,
                write: ProgramCells, read_back: ReadBack | None) -> ProgrammedWeights:
        w = need_weights(w, shape, self.name)
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
