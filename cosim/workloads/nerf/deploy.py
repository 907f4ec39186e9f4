"""NeRF and D-NeRF on hardware: every matrix on an analog layer, the rest in the digital core.

Each weight matrix of the network (:func:`cosim.workloads.nerf.model.layer_names`)
is placed and written on the hardware through its own
:class:`cosim.layers.analog.AnalogLayer` with HAQ or PTQ at its role's bit width
(first layer of each trunk: ``input``; density, colour and deformation heads:
``output``; the rest ``hidden``), as the CT task's network is
(:mod:`cosim.workloads.field.deploy`). The encodings' random pairs are the CT
task's analog Gaussian encoder (:mod:`cosim.workloads.field.encoder`: its
projection on an analog layer, sin and cos by the digital core's fixed-point
CORDIC). Where a layer's read path is affine it runs folded
(:class:`cosim.workloads.field.deploy.FoldedLayer`: same outputs to rounding, same
events).

The digital core does the rest and counts it (:class:`HardwareOps`):

- bias: one add per value; ReLU: one compare (an add) per value;
- sigmoid ``1 / (1 + exp(-z))``: one exponential (``cordic.iterations`` CORDIC
  steps), one add and one divide (counted as a multiply) per value;
- concatenation: one SRAM access per two 32-bit values moved (64-bit accesses);
- positions scaled by ``1 / bound``: one multiply per coordinate, and clamped to
  ``[-1, 1]``: two compares (adds); D-NeRF's
  ``t * u`` and ``x + dx``: one multiply and one add per coordinate; the time
  encoding: one multiply per frequency and one CORDIC sin/cos pair;
- volume rendering (:mod:`.render`) per sample: ``sigma delta`` (multiply),
  ``exp`` (CORDIC steps), ``1 - e`` (add), weight ``T alpha`` and transmittance
  ``T e`` (2 multiplies), colour and opacity accumulation (3 multiplies, 4 adds);
  per ray the background ``(1 - A) * white`` (1 add, 3 multiplies, 3 adds).

The exponentials of the sigmoid and the renderer are computed in floating point and
counted as CORDIC steps; the encoders' sin and cos are the CORDIC's own results.
Inputs of a layer beyond its input scale (the largest ``|input|`` over a sample of
training rays in the software network) saturate at the DAC's full scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from circuits.errors import ConfigError
from cosim.accounting.events import Events
from cosim.engine.options import SimOptions
from cosim.engine.placement import Placement
from cosim.hardware.spec import HardwareSpec
from cosim.layers.analog import AnalogLayer
from cosim.programming.base import BinaryCellWriter
from cosim.programming.binary import HAQ, PTQ
from cosim.workloads.field.cordic import CordicConfig, cordic_steps, sincos_turns
from cosim.workloads.field.deploy import FoldedLayer
from cosim.workloads.field.encoder import Encoder
from cosim.workloads.nerf.model import ModelConfig, Ops, Params, layer_names, role

ROLES = ("input", "hidden", "output")


@dataclass(frozen=True, kw_only=True)
class Mapping:
    """How the weights become cells.

    Attributes:
        scheme: ``"haq"`` or ``"ptq"``.
        bits: cells per weight of the input, hidden and output matrices.
        amp_ratio: HAQ's ``s``.
        scaling: full-scale weight per ``"matrix"`` or per ``"column"``.
    """

    scheme: str
    bits: tuple[int, int, int]
    amp_ratio: float
    scaling: str = "matrix"

    def make_scheme(self, name: str) -> HAQ | PTQ:
        n = self.bits[ROLES.index(role(name))]
        if self.scheme == "ptq":
            return PTQ(n_bits=n, scaling=self.scaling)
        if self.scheme != "haq":
            raise ConfigError(f"programming scheme must be haq or ptq, got {self.scheme!r}")
        return HAQ(n_bits=n, amp_ratio=self.amp_ratio, scaling=self.scaling)


@dataclass(frozen=True, kw_only=True, eq=False)
class DeployedNerf:
    """The network on hardware.

    Attributes:
        params: the software parameters (biases are used from here).
        model: the network's configuration.
        layers: one analog layer (or its folded form) per matrix, by name.
        analog: the analog layers themselves (histograms, cells), by name.
        encoders: the encoders by name (their Gaussian pairs on analog layers).
        placements: where each matrix went.
        cordic: the digital core's CORDIC.
        bound: positions are encoded as ``x / bound``.
    """

    params: Params
    model: ModelConfig
    layers: dict[str, Any]
    analog: dict[str, AnalogLayer]
    encoders: dict[str, Encoder]
    placements: dict[str, Placement] = field(default_factory=dict)
    cordic: CordicConfig = field(default_factory=CordicConfig)
    time_frequencies: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def cells(self) -> int:
        """RRAM cells holding the weights (encoders excluded)."""
        return int(sum(a.programmed.g_actual_siemens.size * (2 if a.programmed.differential
                                                            else 1)
                       for a in self.analog.values()))

    @property
    def macros(self) -> int:
        return int(sum(p.macros for p in self.placements.values()))

    @property
    def programming_events(self) -> Events:
        ev = Events()
        for a in self.analog.values():
            ev += a.programming_events
        return ev


def deploy(params: Params, model: ModelConfig, mapping: Mapping, hardware: HardwareSpec,
           sim: SimOptions, scales: dict[str, float], encoders: dict[str, Encoder], *,
           rng: np.random.Generator, seed: int = 0, cordic: CordicConfig | None = None,
           time_frequencies: np.ndarray | None = None, fold: bool = True) -> DeployedNerf:
    """Place and write every matrix of ``params`` (module docstring).

    Args:
        params: trained parameters.
        model: the network.
        mapping: scheme, bits, ``s``, scaling.
        hardware, sim: the hardware and how its tiles compute.
        scales: input scale per matrix.
        encoders: the encoders by name.
        rng: source of the write noise (one stream per matrix).
        seed: seed of the tiles' read-noise streams.
        cordic: the digital core's CORDIC.
        time_frequencies: of the time encoding (D-NeRF).
        fold: run affine layers folded.
    """
    names = layer_names(model, params)
    layers, analog, placements = {}, {}, {}
    for name, stream in zip(names, rng.spawn(len(names)), strict=True):
        w = np.asarray(params[name], dtype=float)
        write = BinaryCellWriter(rram=hardware.rram, lrs_sigma=hardware.noise.write,
                                 hrs_sigma=hardware.noise.write_hrs, rng=stream)
        layer = AnalogLayer.place(mapping.make_scheme(name), hardware, sim, w=w, seed=seed,
                                  write=write, input_scale=scales[name])
        analog[name] = layer
        placements[name] = layer.placement
        run: Any = layer
        if fold:
            try:
                run = FoldedLayer(layer)
            except ConfigError:
                pass  # a TIA readout, quantisation or read noise: every call through the layer
        layers[name] = run
    return DeployedNerf(params={k: np.asarray(v, dtype=float) for k, v in params.items()},
                        model=model, layers=layers, analog=analog, encoders=dict(encoders),
                        placements=placements,
                        cordic=cordic or CordicConfig(),
                        time_frequencies=(np.zeros(0) if time_frequencies is None
                                          else np.asarray(time_frequencies, dtype=float)))


class HardwareOps(Ops):
    """The network's steps on hardware, counting every event (module docstring)."""

    def __init__(self, deployed: DeployedNerf):
        super().__init__(deployed.params, encodings=None)  # type: ignore[arg-type]
        self.deployed = deployed
        self.events = Events()
        self.cordic_steps = 0
        self.sram_accesses = 0
        self._iters = deployed.cordic.iterations

    @property
    def folded(self) -> bool:
        """Every layer runs folded."""
        return all(isinstance(v, FoldedLayer) for v in self.deployed.layers.values())

    def mm(self, name: str, x: Any) -> Any:
        layer = self.deployed.layers[name]
        s = layer.input_scale
        y, ev = layer.forward(np.clip(x, -s, s))
        self.events += ev
        return y

    def _digital(self, adds: int = 0, mults: int = 0) -> None:
        self.events += Events(digital_adds=int(adds), digital_mults=int(mults))

    def bias(self, z: Any, name: str) -> Any:
        self._digital(adds=z.size)
        return z + self.params[name]

    def relu(self, z: Any) -> Any:
        self._digital(adds=z.size)
        return np.maximum(z, 0.0)

    def sigmoid(self, z: Any) -> Any:
        self._digital(adds=z.size, mults=z.size)
        self.cordic_steps += int(z.size) * self._iters
        return 1.0 / (1.0 + np.exp(-z))

    def clip_unit(self, x: Any) -> Any:
        self._digital(adds=2 * x.size)  # two compares
        return np.clip(x, -1.0, 1.0)

    def concat(self, parts: Sequence[Any]) -> Any:
        out = np.concatenate(list(parts), axis=-1)
        self.sram_accesses += -(-int(out.size) // 2)
        return out

    def mul(self, a: Any, b: Any) -> Any:
        out = a * b
        self._digital(mults=out.size)
        return out

    def add(self, a: Any, b: Any) -> Any:
        out = a + b
        self._digital(adds=out.size)
        return out

    def encode(self, kind: str, x: Any) -> Any:
        if kind == "time":
            f = self.deployed.time_frequencies
            p = x[:, None] * f[None, :]
            self._digital(mults=p.size)
            s, c = sincos_turns(p, self.deployed.cordic)
            self.cordic_steps += cordic_steps(p.size, self.deployed.cordic)
            return np.concatenate([x[:, None], s, c], axis=-1)
        feats, ev, steps = self.deployed.encoders[kind].deployed(x)
        self.events += ev
        self.cordic_steps += steps
        return feats

    def rendered(self, rays: int, samples: int) -> None:
        n = rays * samples
        self._digital(adds=4 * n + 4 * rays + n, mults=6 * n + 3 * rays)
        self.cordic_steps += n * self._iters

    def extra_counts(self) -> dict[str, float]:
        """Counters beyond :class:`Events` (for the ledger)."""
        return {"cordic_steps": float(self.cordic_steps),
                "sram_accesses": float(self.sram_accesses)}
