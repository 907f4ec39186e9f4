"""The trained network on analog layers: every weight matrix one :class:`AnalogLayer`.

Each matrix is written with a scheme (HAQ or PTQ, :mod:`cosim.programming.binary`)
at its role's bit width (input layer ``W_in``, hidden ``U/V/H``, output ``W_out``;
NF paper HAPO optimum 14/14/12 bits, ``s = 1.5``). Biases, the ``w0`` factor and
the activations run in the digital core: sine by fixed-point CORDIC
(:mod:`.cordic`), ReLU as a compare.

Input scale of each layer: the largest ``|input|`` of that matrix over the
training voxels in the software network (features and sine outputs are at
most 1); at deployment inputs beyond it saturate at the DAC's full scale.

Hardware: every matrix is placed on it through its own analog layer
(:meth:`cosim.layers.analog.AnalogLayer.place`, as the HAQ MVM test places
its matrix): in macros (IR-aware where the hardware says so), the TIA sized
to its placed block, the schemes decoding against the placement's mean
attenuation, HAQ with the hardware's verify passes and reads.

Reads: each matrix is read ``reads`` times per input and the reads averaged in the
digital core (:func:`cosim.layers.averaging.averaged_read`; the read noise falls
as ``1 / sqrt(reads)``), 1 by default.

Events: the layers' own counts (:meth:`AnalogLayer.forward`) for every read,
``reads - 1`` digital additions per output of each matrix, plus digital
work: one add per bias, one multiply per ``w0`` scaling, one CORDIC evaluation
(``iterations`` steps) per sine neuron or one add (compare) per ReLU neuron.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from circuits.errors import ConfigError, check_choice, check_int
from cosim.accounting.events import Events
from cosim.engine.options import SimOptions
from cosim.engine.placement import Placement
from cosim.hardware.spec import HardwareSpec
from cosim.layers.analog import AnalogLayer
from cosim.layers.averaging import MAX_READS, averaged_read
from cosim.programming.base import SCALINGS, BinaryCellWriter
from cosim.programming.binary import HAQ, PTQ
from cosim.workloads.field.cordic import CordicConfig, sincos_turns
from cosim.workloads.field.mlp import MLPConfig, Params, forward, matrices

ROLES = ("input", "hidden", "output")


def role(name: str) -> str:
    """``input``, ``hidden`` or ``output``: which bit width a matrix gets."""
    return {"W_in": "input", "W_out": "output"}.get(name, "hidden")


@dataclass(frozen=True, kw_only=True)
class WeightMapping:
    """How the weights become cells (the hardware they are written on is apart).

    Attributes:
        scheme: ``"haq"`` or ``"ptq"``.
        bits: cells per weight for the input, hidden and output matrices.
        amp_ratio: HAQ's ``s``.
        scaling: each matrix's full-scale weight taken over the ``"matrix"``
            (the NF paper's) or per ``"column"`` (one digital scale per output;
            :func:`cosim.programming.base.scale_weights`).
    """

    scheme: str = "haq"
    bits: tuple[int, int, int] = (14, 14, 12)
    amp_ratio: float = 1.5
    scaling: str = "matrix"

    def __post_init__(self) -> None:
        check_choice("programming scheme", self.scheme, ("haq", "ptq"))
        check_choice("weight scaling", self.scaling, SCALINGS)
        for b in self.bits:  # range checks by the schemes' own rule
            HAQ(n_bits=b, amp_ratio=self.amp_ratio)

    def n_bits(self, name: str) -> int:
        """Cells per weight of matrix ``name``."""
        return self.bits[ROLES.index(role(name))]

    def make_scheme(self, name: str) -> HAQ | PTQ:
        """The scheme of matrix ``name`` (the hardware sets HAQ's passes and the read gain
        when the layer is placed: :meth:`cosim.layers.analog.AnalogLayer.place`)."""
        n = self.n_bits(name)
        if self.scheme == "ptq":
            return PTQ(n_bits=n, scaling=self.scaling)
        return HAQ(n_bits=n, amp_ratio=self.amp_ratio, scaling=self.scaling)


class FoldedLayer:
    """An analog layer whose read path is affine, folded into ``y = x @ a + b``.

    A calibrated (or ideal) tile with an ideal virtual ground, no DAC/ADC
    quantisation and no read noise computes an affine map of its inputs: the
    extracted transfer ``I = v @ M + c`` of every macro, the offset read, the
    bit-column aggregation and the scheme's scale are all linear. Reading the
    layer once per input (``forward`` of ``input_scale * e_k`` and of 0, as a
    chip reads its transfer) gives ``a`` and ``b`` to rounding (about 1e-15
    relative), and every later call is one ``(B, in) @ (in, out)`` product
    instead of ``(B, in) @ (in, out * bits)`` per macro plus aggregation.
    Events: one vector's count (the layer's own rule) times the batch; the
    layer's counts are linear in the batch and nothing can saturate here.

    Raises:
        ConfigError: the layer's path is not affine (TIA readout, quantisation,
            read noise, a backend without a linear map).
    """

    def __init__(self, layer: AnalogLayer):
        hw = layer.tile.hardware
        why = [what for what, bad in (
            ("a TIA readout (its clamp)", hw.readout.kind == "tia"),
            ("DAC quantisation", hw.readout.dac_bits is not None),
            ("ADC quantisation", hw.readout.adc_bits is not None),
            ("read noise", hw.noise.read > 0)) if bad]
        layer.forward(np.zeros((1, layer.in_features)))  # loads the array
        if any(layer.tile.backend.linear_map(p) is None for p in layer.tile.macro_params()):
            why.append(f"the {layer.tile.sim.backend} backend (no linear map)")
        if why:
            raise ConfigError(f"cannot fold a layer with {', '.join(why)}: its forward is "
                              "not affine")
        n, s = layer.in_features, layer.input_scale
        y, _ = layer.forward(np.vstack([s * np.eye(n), np.zeros((1, n))]))
        self.b = y[-1].copy()
        self.a = (y[:-1] - y[-1]) / s
        self.input_scale = s
        self.in_features = n
        _, self._one = layer.forward(np.zeros((1, n)))

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Events]:
        """``x @ a + b`` and the events ``AnalogLayer.forward`` counts for ``len(x)`` vectors."""
        x = np.asarray(x, dtype=float)
        n = len(x)
        return x @ self.a + self.b, Events(**{k: v * n for k, v in self._one.as_dict().items()})


def input_scales(params: Params, feats: np.ndarray, mlp: MLPConfig) -> dict[str, float]:
    """Largest ``|input|`` of every matrix over ``feats`` in the software network."""
    seen: dict[str, float] = {}

    def mm(name: str, x: np.ndarray) -> np.ndarray:
        seen[name] = max(seen.get(name, 0.0), float(np.max(np.abs(x))))
        return x @ np.asarray(params[name], dtype=float)

    forward(params, feats, mlp, matmul=mm)
    return {k: (v if v > 0 else 1.0) for k, v in seen.items()}


@dataclass(frozen=True, kw_only=True, eq=False)
class DeployedMLP:
    """The network on hardware.

    Attributes:
        params: the software parameters (biases are used from here).
        mlp: the network's shape and activation.
        layers: one analog layer per matrix, by name.
        cordic: the digital core's CORDIC for sine activations.
        placements: where each matrix went, by name.
        reads: reads of every matrix averaged per input (1 to
            :data:`cosim.layers.averaging.MAX_READS`; module docstring).
    """

    params: Params
    mlp: MLPConfig
    layers: dict[str, AnalogLayer]
    cordic: CordicConfig
    placements: dict[str, Placement] = field(default_factory=dict)
    reads: int = 1

    def __post_init__(self) -> None:
        check_int("layer reads", self.reads, 1, MAX_READS)

    @property
    def macros(self) -> int:
        """Macros the placed matrices take."""
        return int(sum(p.macros for p in self.placements.values()))

    @property
    def programming_events(self) -> Events:
        ev = Events()
        for layer in self.layers.values():
            ev += layer.programming_events
        return ev

    @property
    def cells(self) -> int:
        """RRAM cells holding the weights."""
        return int(sum(layer.programmed.g_actual_siemens.size * (2 if layer.programmed.differential
                                                                 else 1)
                       for layer in self.layers.values()))

    def folded(self) -> DeployedMLP:
        """The same network with every layer folded (:class:`FoldedLayer`; affine paths only)."""
        return replace(self, layers={k: FoldedLayer(v) for k, v in self.layers.items()})

    def forward(self, feats: np.ndarray) -> tuple[np.ndarray, Events, int]:
        """Intensities of encoded voxels ``(N, n_features)``, events, CORDIC steps."""
        ev = Events()
        steps = 0
        mlp = self.mlp

        def mm(name: str, x: np.ndarray) -> np.ndarray:
            nonlocal ev
            layer = self.layers[name]
            s = layer.input_scale
            y, e = averaged_read(layer, np.clip(x, -s, s), self.reads)
            ev += e
            return y

        def act(z: np.ndarray) -> np.ndarray:
            nonlocal steps, ev
            ev += Events(digital_mults=int(z.size) if mlp.activation == "sine" else 0)
            if mlp.activation == "relu":
                ev += Events(digital_adds=int(z.size))
                return np.maximum(z, 0.0)
            steps += int(z.size) * self.cordic.iterations
            return sincos_turns(z / (2 * np.pi), self.cordic)[0]

        n = len(feats)
        biases = sum(v.size for k, v in self.params.items() if k.startswith("b"))
        ev += Events(digital_adds=int(n * biases))
        p = self.params
        h = act(mlp.w0 * (mm("W_in", feats) + p["b_in"]))
        k = 1
        while f"b{k}" in p:
            z = mm(f"V{k}", mm(f"U{k}", h)) if f"U{k}" in p else mm(f"H{k}", h)
            h = act(mlp.w0 * (z + p[f"b{k}"]))
            k += 1
        return (mm("W_out", h) + p["b_out"])[:, 0], ev, steps


def deploy_mlp(params: Params, mlp: MLPConfig, mapping: WeightMapping, hardware: HardwareSpec,
               sim: SimOptions, scales: dict[str, float], *, rng: np.random.Generator,
               seed: int = 0, cordic: CordicConfig | None = None, reads: int = 1
               ) -> DeployedMLP:
    """Place every matrix of ``params`` on the hardware, each on its own analog layer.

    Args:
        params: trained parameters.
        mlp: the network.
        mapping: scheme, bits, s, scaling.
        hardware: the hardware (its write noise, placement, readout, verify passes).
        sim: how the tiles compute.
        scales: input scale per matrix (:func:`input_scales`).
        rng: the source of the write noise (one stream per layer is spawned).
        seed: seed of the tiles' read-noise streams.
        cordic: the digital core's CORDIC (default :class:`CordicConfig`).
        reads: reads of every matrix averaged per input (:class:`DeployedMLP`).
    """
    check_int("layer reads", reads, 1, MAX_READS)  # before any cell is written
    layers, placements = {}, {}
    names = matrices(params)
    for name, stream in zip(names, rng.spawn(len(names)), strict=True):
        w = np.asarray(params[name], dtype=float)
        write = BinaryCellWriter(rram=hardware.rram, lrs_sigma=hardware.noise.write,
                                 hrs_sigma=hardware.noise.write_hrs, rng=stream)
        layer = AnalogLayer.place(mapping.make_scheme(name), hardware, sim, w=w, seed=seed,
                                  write=write, input_scale=scales[name])
        layers[name] = layer
        placements[name] = layer.placement
    return DeployedMLP(params={k: np.asarray(v, dtype=float) for k, v in params.items()},
                       mlp=mlp, layers=layers, cordic=cordic or CordicConfig(),
                       placements=placements, reads=reads)
