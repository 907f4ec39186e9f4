"""The trained NeRF / D-NeRF radiance network as an exchange graph (ONNX semantics).

For ``cosim nerf run|train --export onnx``. The graph is the network's
point-wise part, :func:`cosim.workloads.nerf.model.radiance`, built by running
that very function over :class:`GraphOps`, whose steps emit operators instead
of computing; so the exported graph is the forward pass, not a second copy of
it. Sampling along rays and compositing (NF eqs. 6-7) are not in the graph:
they are the renderer's, outside the network.

- Input ``samples``, ``(N, 6)`` for NeRF, ``(N, 7)`` for D-NeRF: the sample
  point divided by the scene's bound (in ``[-1, 1]^3``), the unit view
  direction and (D-NeRF) the time in ``[0, 1]``.
- Output ``radiance``, ``(N, 4)``: the density (per unit of scene length) and
  the colour in ``[0, 1]``.

Each encoding's ``2 pi B`` is a constant-weight ``MatMul`` (``B`` as the cells
hold it, as the software model uses it), so ``cosim deploy`` puts it on a
crossbar like every other matrix; the time encoding is an elementwise
``Mul`` (digital, as in the workload). :func:`sample_inputs` gives the samples
of a few rays of a test view, written beside the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cosim.workloads.imported.ir import Graph, Node, TensorSpec
from cosim.workloads.nerf.model import (
    Encodings,
    Geometry,
    ModelConfig,
    Ops,
    Params,
    radiance,
    ray_samples,
)

OPSET = 17
"""The default-domain opset the graph is written for."""
EXPORT_FORMATS = {"onnx": None,
                  "nir": "NIR describes spiking networks and has no ReLU, sine or sigmoid "
                         "activation; export NeRF as onnx"}
"""Formats ``cosim nerf --export`` writes (``None``) or refuses (the reason)."""
EXPORT_RAYS = 256
"""Rays of the first test view whose samples go into ``model_inputs.npz``."""


class Tensor:
    """A tensor of the graph being built; indexing emits the operator that does it."""

    def __init__(self, name: str, ops: GraphOps):
        self.name = name
        self._ops = ops

    def __getitem__(self, key: Any) -> Tensor:
        """``[:, k]`` (a column, the axis dropped) or ``[:, None]`` (a new axis), the
        two forms :func:`radiance` uses."""
        if isinstance(key, tuple) and len(key) == 2 and key[0] == slice(None):
            if key[1] is None:
                return self._ops.node("Unsqueeze", [self, self._ops.const([1])])
            if isinstance(key[1], int):
                return self._ops.node("Gather", [self, self._ops.const(key[1])], axis=1)
        raise TypeError(f"indexing a graph tensor by {key!r} is not built")


class GraphOps(Ops):
    """The steps of the forward pass as ONNX operators (module docstring)."""

    def __init__(self, params: Params, encodings: Encodings):
        super().__init__({k: np.asarray(v, dtype=float) for k, v in params.items()}, encodings)
        self.nodes: list[Node] = []
        self.constants: dict[str, np.ndarray] = {}

    def const(self, value: Any, name: str | None = None) -> Tensor:
        """A constant (integers stay integers: indices and axes)."""
        a = np.asarray(value)
        a = a.astype(np.int64) if np.issubdtype(a.dtype, np.integer) else a.astype(float)
        key = name if name is not None else f"c{len(self.constants)}"
        self.constants[key] = a
        return Tensor(key, self)

    def node(self, op: str, inputs: Sequence[Tensor], out: str | None = None,
             **attrs: Any) -> Tensor:
        name = out if out is not None else f"{op.lower()}{len(self.nodes)}"
        self.nodes.append(Node(name=name, op=op, inputs=tuple(t.name for t in inputs),
                               outputs=(name,), attrs=attrs))
        return Tensor(name, self)

    def _weight(self, name: str) -> Tensor:
        key = name.replace("/", ".")
        if key not in self.constants:
            self.const(self.params[name], key)
        return Tensor(key, self)

    def mm(self, name: str, x: Tensor) -> Tensor:
        return self.node("MatMul", [x, self._weight(name)], name)  # a layer named by its matrix

    def bias(self, z: Tensor, name: str) -> Tensor:
        return self.node("Add", [z, self._weight(name)])

    def relu(self, z: Tensor) -> Tensor:
        return self.node("Relu", [z])

    def sigmoid(self, z: Tensor) -> Tensor:
        return self.node("Sigmoid", [z])

    def concat(self, parts: Sequence[Tensor]) -> Tensor:
        return self.node("Concat", list(parts), axis=1)

    def mul(self, a: Tensor, b: Tensor | float) -> Tensor:
        return self.node("Mul", [a, b if isinstance(b, Tensor) else self.const(b)])

    def add(self, a: Tensor, b: Tensor) -> Tensor:
        return self.node("Add", [a, b])

    def clip_unit(self, x: Tensor) -> Tensor:
        return self.node("Clip", [x, self.const(-1.0), self.const(1.0)])

    def encode(self, kind: str, x: Tensor) -> Tensor:
        """What :meth:`Encodings.features` computes, as operators (``2 pi`` folded into
        the constant)."""
        if kind == "time":
            t = x[:, None]
            freqs = 2 * np.pi * np.asarray(self.encodings.time_frequencies, float)[None, :]
            p = self.node("Mul", [t, self.const(freqs)])
            return self.concat([t, self.node("Sin", [p]), self.node("Cos", [p])])
        b = self.encodings.matrices[kind]
        if b is None:
            return x
        p = self.node("MatMul", [x, self.const(2 * np.pi * np.asarray(b, float).T,
                                               f"B_{kind}")], f"encode_{kind}")
        return self.concat([x, self.node("Sin", [p]), self.node("Cos", [p])])


def nerf_graph(cfg: ModelConfig, params: Params, encodings: Encodings, *,
               name: str = "nerf") -> Graph:
    """The radiance network of ``params`` as a :class:`Graph` (module docstring)."""
    ops = GraphOps(params, encodings)
    samples = Tensor("samples", ops)
    x = ops.node("Gather", [samples, ops.const([0, 1, 2])], "points", axis=1)
    d = ops.node("Gather", [samples, ops.const([3, 4, 5])], "directions", axis=1)
    t = samples[:, 6] if cfg.dynamic else None
    sigma, rgb = radiance(ops, cfg, x, d, t)
    ops.node("Concat", [sigma[:, None], rgb], "radiance", axis=1)
    width = 7 if cfg.dynamic else 6
    return Graph(name=name, inputs=(TensorSpec(name="samples", shape=(None, width)),),
                 outputs=(TensorSpec(name="radiance", shape=(None, 4)),),
                 nodes=tuple(ops.nodes), constants=ops.constants, opset=OPSET)


def sample_inputs(cfg: ModelConfig, geom: Geometry, o: np.ndarray, d: np.ndarray,
                  t: np.ndarray, t0: np.ndarray, t1: np.ndarray, samples: int,
                  rays: int = EXPORT_RAYS) -> np.ndarray:
    """The graph's input for ``rays`` evenly spaced rays of ``o, d, t`` on their
    segments ``[t0, t1]`` (bin-centre samples, as the renderer takes them):
    ``(rays * samples, 6 | 7)``."""
    from cosim.workloads.nerf.render import sample_along

    pick = np.unique(np.linspace(0, len(o) - 1, min(rays, len(o))).round().astype(int))
    s, _ = sample_along(t0[pick], t1[pick], samples)
    numpy_ops = Ops({}, Encodings(matrices={}, time_frequencies=np.zeros(0)))
    x, ds, ts = ray_samples(numpy_ops, cfg, geom, o[pick], d[pick], t[pick], s)
    cols = [x, ds] + ([ts[:, None]] if cfg.dynamic else [])
    return np.concatenate(cols, axis=1)
