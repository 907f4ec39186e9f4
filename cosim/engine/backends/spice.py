"""The ``spice`` backend: every column current comes from ngspice.

This is the reference the other backends are measured against.

Batching. In ``"batched"`` mode (the default) one ngspice run solves a whole
chunk of ``spice_chunk`` input vectors: ``circuits.crossbar.crossbar`` turns
the chunk into a control source ``Vctl`` and piecewise-linear B-sources on
the rows, and a DC sweep of ``Vctl`` over ``0 .. B-1`` visits one input vector
per sweep point, each an exact DC solution of the network (at integer
points the PWL tables return their entries exactly). ``"per_vector"`` runs
one ngspice process per vector, ``spice_workers`` at a time; it gives the same
currents (to 5e-16) and exists to measure what batching saves
(``benchmarks/bench_tile.py``; figures in ``docs/measurements/tile.md``).
Batching saves ngspice's start, parsing and, above all, its sparse-matrix
ordering, which it does once per run (the crossbar's mesh fills in heavily);
what remains is one numeric refactorisation per sweep point, which grows
quickly with the array. Hence ``spice`` is a reference for small arrays and
``calibrated`` the engine for large ones.

Results are cached by the SHA-256 of the deck text (which holds the
conductances and the input voltages), the analysis and the ngspice version.

Cell reads (``read_cells``): a 0T1R array is read row by row in one sweep
(``v_read`` on one row, 0 V elsewhere; every column senses its cell of that
row); a 1T1R array with one word line on is the one-row network of
``cosim.engine.backends.single_row_read``, one small run per row.

TIA readout (``CrossbarParams.readout = "tia"``): the generator's netlist
puts one TIA of ``circuits.tia`` at every sense node; ``currents`` are then
the currents its feedback meters ``Vf<c>`` carry and ``tia_outputs`` adds
the output voltages ``v(out<c>)`` from the same run (``solves_tia``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from circuits.crossbar import (
    CrossbarParams,
    batch_sweep,
    crossbar,
    output_nodes,
    output_sources,
)
from circuits.errors import ConfigError
from circuits.runner import ngspice_version, run
from cosim.engine.backends.base import single_row_read, unit_reads, with_read_noise
from cosim.engine.cache import ResultCache, cache_key

if TYPE_CHECKING:
    from cosim.engine.options import SimOptions
    from cosim.hardware.spec import HardwareSpec

CACHE_TAG = "spice-currents-v1"
CACHE_TAG_TIA = "spice-tia-outputs-v1"

# Size law of one ngspice run of a macro (0T1R, wires, a batched DC sweep), measured by
# benchmarks/bench_spice_size.py; figures and conditions in docs/measurements/bench_spice_size.md.
NGSPICE_BASE_BYTES = 12 * 2**20
"""Resident memory of ngspice with an empty circuit (bytes)."""
NGSPICE_BYTES_PER_CELL = 8.7 * 2**10
"""Peak resident memory of ngspice per cell of the macro (bytes; the 128 x 128 figure,
the largest measured; it rises slowly with the macro)."""
NGSPICE_REF_CELLS = 128 * 128
NGSPICE_REF_S = 150.0
"""Wall time of one run of a ``NGSPICE_REF_CELLS`` macro on the development machine (s)."""
NGSPICE_TIME_EXPONENT = 2.0
"""The run time grows as cells**2 (the sparse ordering of the wire mesh; 2.2-3.0 measured)."""
FASTER_MACHINE = 4.0
"""The time estimate assumes a machine this many times faster than the measuring one,
so it is a lower bound: a run is refused only when even that machine could not finish it."""


def run_estimate(rows: int, cols: int) -> tuple[float, float]:
    """Peak memory (bytes) and a lower bound of the wall time (s) of one ngspice run of a
    ``rows x cols`` macro (see the constants above for the law and its source)."""
    cells = rows * cols
    seconds = NGSPICE_REF_S / FASTER_MACHINE * (cells / NGSPICE_REF_CELLS) ** NGSPICE_TIME_EXPONENT
    return NGSPICE_BASE_BYTES + NGSPICE_BYTES_PER_CELL * cells, seconds


def check_run_time(rows: int, cols: int, timeout_s: float) -> float:
    """Refuse macros whose ngspice runs cannot end within ``timeout_s`` (before any run).

    Returns:
        the time estimate (s).

    Raises:
        ConfigError: the estimate, and what to change.
    """
    _, seconds = run_estimate(rows, cols)
    if seconds > timeout_s:
        largest = int((NGSPICE_REF_CELLS * (timeout_s * FASTER_MACHINE / NGSPICE_REF_S)
                       ** (1.0 / NGSPICE_TIME_EXPONENT)) ** 0.5)
        raise ConfigError(
            f"the spice backend would solve {rows} x {cols} macros in ngspice: at least "
            f"{_duration(seconds)} per run (about {NGSPICE_REF_S:g} s at 128 x 128 on the "
            f"development machine, growing as cells^{NGSPICE_TIME_EXPONENT:g}, here for a "
            f"machine {FASTER_MACHINE:g} times faster), more than the {timeout_s:g} s limit "
            f"of one run; use the calibrated backend, or at most about {largest} x {largest}")
    return seconds


def _duration(seconds: float) -> str:
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.3g} hours"
    if seconds >= 120:
        return f"{seconds / 60:.3g} minutes"
    return f"{seconds:.3g} s"


class SpiceBackend:
    """Column currents from ngspice DC sweeps (see the module docstring).

    Args:
        hardware: the tile's hardware (nothing of it is needed beyond each macro's params).
        sim: ``spice_chunk``, ``spice_mode``, ``spice_workers``, ``spice_timeout_s``.
        cache: content-hash cache of results; ``None`` caches nothing.
    """

    name = "spice"
    solves_tia = True

    def __init__(self, hardware: HardwareSpec, sim: SimOptions,
                 cache: ResultCache | None = None):
        self.chunk = sim.spice_chunk
        self.mode = sim.spice_mode
        self.workers = sim.spice_workers
        self.timeout_s = sim.spice_timeout_s
        self.cache = cache
        self.runs = 0
        self._version: str | None = None

    def prepare(self, p: CrossbarParams) -> None:
        """Nothing to set up: every call runs ngspice."""

    def output_correction(self, p: CrossbarParams) -> None:
        """None: no correction: ngspice solves each read."""
        return None

    def linear_map(self, p: CrossbarParams) -> None:
        """ngspice solves each read; there is no extracted map (read noise per vector)."""
        return None

    def currents(self, p: CrossbarParams, v_volt: np.ndarray,
                 factors: np.ndarray | None = None) -> np.ndarray:
        """Column currents (A), ``(B, cols)``, solved by ngspice."""
        p = with_read_noise(p, factors)
        return np.vstack([r["i"] for r in self._run_all(p, self._pieces(v_volt))])

    def tia_outputs(self, p: CrossbarParams, v_volt: np.ndarray,
                    factors: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Column currents (A) and TIA output voltages (V), ``(B, cols)`` each, of the
        ``readout = "tia"`` array ``p``, from the same ngspice runs."""
        p = with_read_noise(p, factors)
        runs = self._run_all(p, self._pieces(v_volt), voltages=True)
        return np.vstack([r["i"] for r in runs]), np.vstack([r["v_out"] for r in runs])

    def _pieces(self, v_volt: np.ndarray) -> list[np.ndarray]:
        v = np.atleast_2d(np.asarray(v_volt, dtype=float))
        if self.mode == "per_vector":
            return [v[i:i + 1] for i in range(v.shape[0])]
        return [v[i:i + self.chunk] for i in range(0, v.shape[0], self.chunk)]

    def read_cells(self, p: CrossbarParams, v_read_volt: float,
                   factors: np.ndarray | None = None) -> np.ndarray:
        """Conductance (S) of each cell read alone, ``(rows, cols)``."""
        p = with_read_noise(p, factors)
        if not p.cell.access_transistor:
            return self.currents(p, unit_reads(p.rows, v_read_volt)) / v_read_volt
        one = np.array([[v_read_volt]])
        jobs = [(single_row_read(p, r), one) for r in range(p.rows)]
        rows = self._map(lambda job: self._run_one(*job)["i"], jobs)
        return np.vstack(rows) / v_read_volt

    # -- runs ----------------------------------------------------------------------------

    def _run_all(self, p: CrossbarParams, pieces: list[np.ndarray], *,
                 voltages: bool = False) -> list[dict[str, np.ndarray]]:
        return self._map(lambda v: self._run_one(p, v, voltages=voltages), pieces)

    def _map(self, fn, items: list) -> list[np.ndarray]:
        if self.workers <= 1 or len(items) <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(fn, items))

    def _run_one(self, p: CrossbarParams, v: np.ndarray, *,
                 voltages: bool = False) -> dict[str, np.ndarray]:
        """One run for the vectors ``v[B, rows]``: ``{"i": currents of the physical
        columns}``, plus ``"v_out"`` (TIA outputs) with ``voltages``."""
        netlist = crossbar(p, v_in_volt=v)
        analysis = batch_sweep(v.shape[0])
        sources = list(output_sources(p))
        nodes = list(output_nodes(p)) if voltages else []
        save = [f"i({s})" for s in sources] + [f"v({n})" for n in nodes]
        key = None
        if self.cache is not None and self.cache.enabled:
            text = netlist.text((analysis.line(), ".save " + " ".join(save)))
            key = cache_key(CACHE_TAG_TIA if voltages else CACHE_TAG, self.version(), text)
            hit = self.cache.get(key)
            if hit is not None and (not voltages or "v_out" in hit):
                return hit
        result = run(netlist, analysis, save=save, timeout_s=self.timeout_s)
        self.runs += 1
        shape = (v.shape[0], len(sources))
        out = {"i": np.column_stack([result.i(s) for s in sources]).reshape(shape)}
        if voltages:
            out["v_out"] = np.column_stack([result.v(n) for n in nodes]).reshape(shape)
        if key is not None:
            self.cache.put(key, out)
        return out

    def version(self) -> str:
        """The ngspice version (part of every cache key), looked up once."""
        if self._version is None:
            self._version = ngspice_version()
        return self._version
