"""Recording what analog layers held and read, for checking them later (``cosim verify``).

Inside ``with recording() as rec:`` every :class:`cosim.layers.analog.AnalogLayer`
that runs ``forward`` leaves in ``rec`` its tile's hardware and simulation
options, the programmed array (targets, programmed conductances, macros) and
the first ``max_vectors`` input vectors it read that are not all zero, as the
tile sees them (``x / input_scale``, in ``[-1, 1]``, before the DAC). Nothing else changes:
outside a ``recording`` block a layer records nothing, and the recording
never alters what a layer computes.

A :class:`LayerRecord` is all a check needs to rebuild the tile exactly
(:meth:`LayerRecord.tile`) and read the same inputs again on any backend.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from circuits.errors import check_int
from cosim.engine.options import SimOptions
from cosim.engine.tile import ProgrammedArray, Tile, make_tile
from cosim.hardware.spec import HardwareSpec

DEFAULT_VECTORS = 8
"""Input vectors kept per layer."""


@dataclass(kw_only=True, eq=False)
class LayerRecord:
    """One layer as it ran: its tile's set-up, its array and some of its inputs.

    Attributes:
        name: the layer's name (given by the workload, else its order of first use).
        hardware: the tile's hardware (the run's, cut to the layer's placement).
        sim: the tile's simulation options.
        seed: the tile's seed.
        array: the programmed array the tile held.
        inputs: input vectors as the tile read them, ``(B, rows)`` in ``[-1, 1]``.
    """

    name: str
    hardware: HardwareSpec
    sim: SimOptions
    seed: int
    array: ProgrammedArray
    inputs: np.ndarray

    def tile(self, backend: str | None = None) -> Tile:
        """A tile holding this array on the recorded hardware (``backend`` replaces the
        recorded one)."""
        sim = self.sim if backend is None else replace(self.sim, backend=backend)
        tile = make_tile(self.hardware, sim, seed=self.seed)
        tile.load(self.array)
        return tile


@dataclass(kw_only=True)
class Recorder:
    """The layers recorded in one ``recording`` block, in order of first use."""

    max_vectors: int = DEFAULT_VECTORS
    records: list[LayerRecord] = field(default_factory=list)
    _by_layer: dict[int, LayerRecord] = field(default_factory=dict, repr=False)
    _names: dict[int, str] = field(default_factory=dict, repr=False)

    def name(self, layer: Any, name: str) -> None:
        """Call ``layer`` ``name`` in the records (before or after it runs)."""
        self._names[id(layer)] = str(name)
        if id(layer) in self._by_layer:
            self._by_layer[id(layer)].name = str(name)

    def name_all(self, layers: dict[str, Any], prefix: str = "") -> None:
        """Name every layer of a ``name -> layer`` mapping (``prefix`` before each)."""
        for key, layer in layers.items():
            self.name(layer, f"{prefix}{key}")

    def take(self, layer: Any, a: np.ndarray) -> None:
        """Keep ``layer``'s array and up to ``max_vectors`` of its tile inputs ``a`` (rows
        not all zero)."""
        rec = self._by_layer.get(id(layer))
        if rec is None:
            tile = layer.tile
            rec = LayerRecord(name=self._names.get(id(layer), f"layer{len(self.records)}"),
                              hardware=tile.hardware, sim=tile.sim, seed=tile.seed,
                              array=tile.holds, inputs=np.empty((0, a.shape[1])))
            self._by_layer[id(layer)] = rec
            self.records.append(rec)
        room = self.max_vectors - rec.inputs.shape[0]
        if room > 0:
            a = np.asarray(a, dtype=float)
            a = a[np.any(a != 0, axis=1)]  # an all-zero input reads only the offsets
            rec.inputs = np.vstack([rec.inputs, a[:room]])


_ACTIVE: ContextVar[Recorder | None] = ContextVar("cosim_layer_recorder", default=None)


@contextlib.contextmanager
def recording(max_vectors: int = DEFAULT_VECTORS) -> Iterator[Recorder]:
    """Record every analog layer that runs inside the block (module docstring)."""
    check_int("max_vectors", max_vectors, 1, 10**6)
    rec = Recorder(max_vectors=max_vectors)
    token = _ACTIVE.set(rec)
    try:
        yield rec
    finally:
        _ACTIVE.reset(token)


def record_layers(named: Mapping[str, Any], run: Callable[[], object], *,
                  max_vectors: int = DEFAULT_VECTORS) -> list[LayerRecord]:
    """The records of a pass ``run()`` through the layers (``named``: their names)."""
    with recording(max_vectors) as rec:
        rec.name_all(dict(named))
        run()
    return rec.records


def active() -> Recorder | None:
    """The recorder of the innermost ``recording`` block, or ``None``."""
    return _ACTIVE.get()
