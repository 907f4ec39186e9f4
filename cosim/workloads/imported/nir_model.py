"""NIR files in and out of the exchange form (:class:`~.ir.SpikingGraph`).

:func:`load_nir` reads a ``.nir`` file (NIR's HDF5 format, through the ``nir``
package) and checks it before any work: a regular file starting with the HDF5
signature that ``nir.read`` accepts (its own type check included), nodes of
the handled primitives only (:data:`~.ir.SPIKING_KINDS`; a sub-graph, ``Delay``,
``Threshold``, ``Conv1d`` ... is refused naming the node), one ``Input`` and
one ``Output``, no recurrent edge, and parameters of consistent shapes.

:func:`to_nir` is the inverse, for the exporters: one ``nir.NIRGraph``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from circuits.errors import ConfigError
from circuits.files import regular_file
from cosim.workloads.imported.ir import SPIKING_KINDS, SpikingGraph, SpikingNode

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
INSTALL_HINT = "pip install 'rram-cosim[import]'"
NEURONS = ("LIF", "CubaLIF", "LI", "IF", "I")
MATRICES = ("Affine", "Linear", "Conv2d")


def nir_package():
    """The ``nir`` package, or a one-line error saying how to install it."""
    try:
        import nir
    except ImportError:
        raise ConfigError(f"NIR models need the nir package: {INSTALL_HINT}") from None
    return nir


@dataclass(frozen=True, kw_only=True, eq=False)
class NirModel:
    """A NIR model read and checked.

    Attributes:
        path: the file.
        graph: the network.
        input_shape: the shape of one input at one timestep.
    """

    path: str
    graph: SpikingGraph
    input_shape: tuple[int, ...]


def _plain(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray) and v.dtype.kind in "SO" and v.ndim == 0:
        return _plain(v[()])
    return v


def _params(node) -> dict[str, Any]:
    skip = {"input_type", "output_type", "metadata"}
    out = {f.name: _plain(getattr(node, f.name)) for f in dataclasses.fields(node)
           if f.name not in skip}
    kind = type(node).__name__
    if kind == "Input":
        out["shape"] = tuple(int(v) for v in np.asarray(node.input_type["input"]).reshape(-1))
    if kind == "Output":
        out["shape"] = tuple(int(v) for v in np.asarray(node.output_type["output"]).reshape(-1))
    if kind == "Flatten":
        shape = node.input_type.get("input")
        out["input_shape"] = (None if shape is None
                              else tuple(int(v) for v in np.asarray(shape).reshape(-1)))
    return out


def load_nir(path: Path | str, what: str = "model") -> NirModel:
    """Read and check a NIR file (module docstring).

    Raises:
        ConfigError: any failed check, one line naming the file (and the node).
    """
    nir = nir_package()
    path = regular_file(path, what)
    where = f"{what} {path}"
    with path.open("rb") as f:
        head = f.read(len(HDF5_SIGNATURE))
    if head != HDF5_SIGNATURE:
        raise ConfigError(f"{where} is not a NIR file (NIR files are HDF5; this one does not "
                          "start with the HDF5 signature)")
    try:
        g = nir.read(path)
    except (OSError, KeyError, ValueError, TypeError, AssertionError, AttributeError,
            IndexError) as exc:
        text = str(exc).strip().splitlines()
        raise ConfigError(f"{where} cannot be read as NIR (truncated or not a NIR graph: "
                          f"{text[0] if text else type(exc).__name__})") from None
    return NirModel(path=str(path), graph=graph_from_nir(g, where),
                    input_shape=_input_shape(g, where))


def _input_shape(g, where: str) -> tuple[int, ...]:
    nir = nir_package()
    ins = [n for n in g.nodes.values() if isinstance(n, nir.Input)]
    return tuple(int(v) for v in np.asarray(ins[0].input_type["input"]).reshape(-1))


def graph_from_nir(g, where: str) -> SpikingGraph:
    """The checked :class:`SpikingGraph` of a ``nir.NIRGraph``."""
    nodes: dict[str, SpikingNode] = {}
    for name, node in g.nodes.items():
        kind = type(node).__name__
        if kind not in SPIKING_KINDS:
            extra = " (a sub-graph)" if kind == "NIRGraph" else ""
            raise ConfigError(f"{where}: NIR node {name!r} ({kind}){extra} is not handled "
                              f"(handled: {', '.join(SPIKING_KINDS)})")
        nodes[name] = SpikingNode(name=str(name), kind=kind, params=_params(node))
    counts = {k: sum(n.kind == k for n in nodes.values()) for k in ("Input", "Output")}
    if counts["Input"] != 1 or counts["Output"] != 1:
        raise ConfigError(f"{where}: the graph has {counts['Input']} Input and "
                          f"{counts['Output']} Output nodes; one of each is handled")
    edges = []
    for e in g.edges:
        src, dst = (str(v) for v in e)
        for end in (src, dst):
            if end not in nodes:
                raise ConfigError(f"{where}: edge {src!r} -> {dst!r} names no node {end!r} "
                                  "(ports of sub-graphs are not handled)")
        edges.append((src, dst))
    order = _topological(list(nodes), edges, where)
    for n in nodes.values():
        _check_params(n, where)
    try:
        return SpikingGraph(nodes=tuple(nodes[k] for k in order), edges=tuple(edges))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _topological(names: list[str], edges: list[tuple[str, str]], where: str) -> list[str]:
    incoming = {n: 0 for n in names}
    for _, d in edges:
        incoming[d] += 1
    ready = [n for n in names if incoming[n] == 0]
    order = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for s, d in edges:
            if s == n:
                incoming[d] -= 1
                if incoming[d] == 0:
                    ready.append(d)
    if len(order) != len(names):
        loop = [n for n in names if n not in order]
        raise ConfigError(f"{where}: nodes {', '.join(loop[:4])} form a loop (a recurrent "
                          "network); only feed-forward graphs are handled")
    return order


def _check_params(n: SpikingNode, where: str) -> None:
    p = n.params
    label = f"{where}: {n.label}"

    def arr(key: str) -> np.ndarray:
        try:
            a = np.asarray(p[key], dtype=float)
        except (TypeError, ValueError):
            raise ConfigError(f"{label}: {key} is not numeric") from None
        if not np.all(np.isfinite(a)):
            raise ConfigError(f"{label}: {key} holds NaN or infinite values")
        return a

    if n.kind in ("Affine", "Linear"):
        w = arr("weight")
        if w.ndim != 2:
            raise ConfigError(f"{label}: weight of shape {w.shape}; a 2-D (out, in) weight "
                              "is handled")
        if n.kind == "Affine" and arr("bias").size not in (1, w.shape[0]):
            raise ConfigError(f"{label}: bias has {arr('bias').size} values for "
                              f"{w.shape[0]} outputs")
    elif n.kind == "Conv2d":
        if arr("weight").ndim != 4:
            raise ConfigError(f"{label}: weight must be (out, in, kh, kw)")
    elif n.kind in NEURONS:
        keys = {"LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
                "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset",
                            "w_in"),
                "LI": ("tau", "r", "v_leak"), "IF": ("r", "v_threshold", "v_reset"),
                "I": ("r",)}[n.kind]
        shapes = {arr(k).shape for k in keys}
        if len(shapes) != 1:
            raise ConfigError(f"{label}: its parameters ({', '.join(keys)}) differ in shape")
        for k in keys:
            if k.startswith("tau") and np.any(arr(k) <= 0):
                raise ConfigError(f"{label}: {k} must be > 0")


def to_nir(graph: SpikingGraph):
    """``graph`` as a ``nir.NIRGraph`` (the exporters' side)."""
    nir = nir_package()
    nodes = {}
    for n in graph.nodes:
        p = dict(n.params)
        if n.kind == "Input":
            nodes[n.name] = nir.Input(input_type=np.asarray(p["shape"]))
        elif n.kind == "Output":
            nodes[n.name] = nir.Output(output_type=np.asarray(p["shape"]))
        elif n.kind == "Flatten":
            nodes[n.name] = nir.Flatten(input_type={"input": np.asarray(p["input_shape"])},
                                        start_dim=int(p.get("start_dim", 0)),
                                        end_dim=int(p.get("end_dim", -1)))
        else:
            cls = getattr(nir, n.kind)
            nodes[n.name] = cls(**{k: (np.asarray(v) if isinstance(v, list | tuple) else v)
                                   for k, v in p.items()})
    return nir.NIRGraph(nodes=nodes, edges=[tuple(e) for e in graph.edges])


def params_of(n: SpikingNode, keys: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Node parameters as float arrays (``keys``: name -> default when absent or None)."""
    out = {}
    for k, default in keys.items():
        v = n.params.get(k)
        out[k] = np.asarray(default if v is None else v, dtype=float)
    return out
