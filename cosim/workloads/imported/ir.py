"""The exchange form of a network: what the importers read into and the exporters write from.

Two forms, one per kind of network:

- :class:`Graph`: a dataflow network with ONNX operator semantics (operators
  of the default domain at opset ``opset``, attributes as ONNX defines them,
  named tensors, constants). The ONNX importer (:mod:`.onnx_model`) reads a
  file into it; a workload that exports its trained network
  (``cosim field --export onnx``) builds one and :mod:`cosim.outputs.export`
  writes it as an ONNX file.
- :class:`SpikingGraph`: a spiking network with NIR semantics (Pedersen et al.,
  "Neuromorphic intermediate representation: a unified instruction set for
  interoperable brain-inspired computing", Nat. Commun. 15, 8122 (2024)):
  nodes named after the NIR primitives, each with the NIR parameters of that
  primitive as numpy arrays, and edges. The NIR importer (:mod:`.nir_model`)
  reads into it; ``cosim snn --export nir`` builds one.

A workload exports by building one of these from its trained parameters; it
never imports ``onnx`` or ``nir`` itself (the writers do, in the outputs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from circuits.errors import ConfigError

DTYPES = ("float32", "float64", "int64")
"""Element types a graph input or output may have."""


@dataclass(frozen=True, kw_only=True)
class TensorSpec:
    """A graph input or output.

    Attributes:
        name: the tensor's name.
        shape: its dimensions; ``None`` for a dimension of any size (the batch).
        dtype: one of :data:`DTYPES`.
    """

    name: str
    shape: tuple[int | None, ...]
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ConfigError(f"tensor {self.name!r}: element type {self.dtype!r} is not "
                              f"handled (handled: {', '.join(DTYPES)})")


@dataclass(frozen=True, kw_only=True, eq=False)
class Node:
    """One operator of a :class:`Graph`.

    Attributes:
        name: unique name of the node.
        op: the ONNX operator type (``"Gemm"``, ``"Relu"``).
        inputs: input tensor names in the operator's order; ``""`` for an optional
            input left out.
        outputs: output tensor names.
        attrs: attributes, as plain Python values (ints, floats, strings, lists of
            them) or numpy arrays (tensor attributes).
    """

    name: str
    op: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def attr(self, key: str, default: Any = None) -> Any:
        return self.attrs.get(key, default)

    @property
    def label(self) -> str:
        """How messages name the node: ``node 'fc1' (Gemm)``."""
        return f"node {self.name!r} ({self.op})"


@dataclass(frozen=True, kw_only=True, eq=False)
class Graph:
    """A dataflow network with ONNX semantics (module docstring).

    Attributes:
        name: the graph's name.
        inputs: the tensors fed from outside (constants are not inputs).
        outputs: the tensors the network gives.
        nodes: operators in an order where every input is computed before use.
        constants: constant tensors by name (weights, biases, shapes).
        opset: the ONNX default-domain opset the attributes follow.
    """

    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    nodes: tuple[Node, ...]
    constants: Mapping[str, np.ndarray]
    opset: int

    def __post_init__(self) -> None:
        known = set(self.constants) | {t.name for t in self.inputs}
        names: set[str] = set()
        for node in self.nodes:
            if node.name in names:
                raise ConfigError(f"two nodes are named {node.name!r}")
            names.add(node.name)
            for t in node.inputs:
                if t and t not in known:
                    raise ConfigError(f"{node.label} reads {t!r}, which no earlier node, "
                                      "constant or input gives")
            known.update(node.outputs)
        for t in self.outputs:
            if t.name not in known:
                raise ConfigError(f"graph output {t.name!r} is computed by no node")

    def consumers(self, tensor: str) -> list[Node]:
        """The nodes that read ``tensor``."""
        return [n for n in self.nodes if tensor in n.inputs]


SPIKING_KINDS = ("Input", "Output", "Affine", "Linear", "Conv2d", "LIF", "CubaLIF", "LI", "IF",
                 "I", "Flatten", "SumPool2d", "AvgPool2d", "Scale")
"""NIR primitives a :class:`SpikingGraph` may hold."""


@dataclass(frozen=True, kw_only=True, eq=False)
class SpikingNode:
    """One NIR primitive.

    Attributes:
        name: the node's name in the graph.
        kind: the NIR primitive (:data:`SPIKING_KINDS`).
        params: its NIR parameters (``weight``, ``bias``, ``tau``, ``r``,
            ``v_leak``, ``v_threshold``, ``v_reset``, ``shape`` of Input/Output ...)
            as numpy arrays or plain values.
    """

    name: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in SPIKING_KINDS:
            raise ConfigError(f"NIR node {self.name!r} ({self.kind}) is not handled "
                              f"(handled: {', '.join(SPIKING_KINDS)})")

    @property
    def label(self) -> str:
        return f"NIR node {self.name!r} ({self.kind})"


@dataclass(frozen=True, kw_only=True, eq=False)
class SpikingGraph:
    """A spiking network with NIR semantics: nodes in order and the edges between them.

    Attributes:
        nodes: every node, in an order where each node's sources come first.
        edges: ``(source, target)`` node names; several edges into one node add.
    """

    nodes: tuple[SpikingNode, ...]
    edges: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise ConfigError("two NIR nodes share a name")
        where = {n: i for i, n in enumerate(names)}
        for src, dst in self.edges:
            for end in (src, dst):
                if end not in where:
                    raise ConfigError(f"NIR edge {src!r} -> {dst!r} names no node {end!r}")
            if where[src] >= where[dst]:
                raise ConfigError(f"NIR edge {src!r} -> {dst!r} goes backwards (a recurrent "
                                  "edge); only feed-forward graphs are handled")

    def sources(self, name: str) -> list[str]:
        """The nodes whose outputs feed ``name`` (added)."""
        return [s for s, d in self.edges if d == name]

    def node(self, name: str) -> SpikingNode:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)
