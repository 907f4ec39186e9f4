"""The trained neural field as an exchange graph (ONNX semantics), for ``--export onnx``.

The graph computes what :func:`cosim.workloads.field.mlp.forward` computes on the
encoder's features (:meth:`cosim.workloads.field.encoder.Encoder.software`), from
voxel coordinates ``coords (N, 3)`` in ``[-1, 1]`` to ``intensity (N, 1)``::

    proj  = MatMul(coords, 2 pi B^T)                   (Fourier encodings; none: feats = coords)
    feats = Concat(coords, Sin(proj), Cos(proj))
    h     = Sin(w0 * Gemm(feats, W_in, b_in))          (ReLU networks: Relu, no w0)
    h     = Sin(w0 * Gemm(MatMul(h, U_k), V_k, b_k))   (low rank; full rank: Gemm(h, H_k, b_k))
    out   = Gemm(h, W_out, b_out)

The Gaussian encoder's ``B`` is the one the cells hold (as the software model
uses it); a model brought back with ``cosim deploy`` puts ``B`` on a crossbar like
every other constant-weight MatMul.
"""

from __future__ import annotations

import numpy as np

from cosim.workloads.field.encoder import Encoder
from cosim.workloads.field.mlp import MLPConfig, Params
from cosim.workloads.imported.ir import Graph, Node, TensorSpec

OPSET = 17
"""The default-domain opset the graph is written for (widely read by runtimes)."""
EXPORT_FORMATS = {"onnx": None,
                  "nir": "NIR describes spiking networks and has no sine or ReLU activation; "
                         "export the field as onnx"}
"""Formats ``cosim field --export`` writes (``None``) or refuses (the reason)."""


def field_graph(params: Params, mlp: MLPConfig, encoder: Encoder, *, name: str = "field"
                ) -> Graph:
    """The network of ``params`` with ``encoder`` in front (module docstring)."""
    consts: dict[str, np.ndarray] = {}
    nodes: list[Node] = []

    def const(key: str, value) -> str:
        consts[key] = np.asarray(value, dtype=float)
        return key

    def node(op: str, inputs: list[str], out: str, **attrs) -> str:
        nodes.append(Node(name=out, op=op, inputs=tuple(inputs), outputs=(out,), attrs=attrs))
        return out

    feats = "coords"
    if encoder.b is not None:
        proj = node("MatMul", ["coords", const("B_rad", 2 * np.pi * np.asarray(encoder.b).T)],
                    "proj")
        s = node("Sin", [proj], "enc_sin")
        c = node("Cos", [proj], "enc_cos")
        feats = node("Concat", ["coords", s, c], "features", axis=1)

    sine = mlp.activation == "sine"

    def act(z: str, tag: str) -> str:
        if not sine:
            return node("Relu", [z], f"{tag}_act")
        z = node("Mul", [z, const(f"{tag}_w0", [mlp.w0])], f"{tag}_scaled")
        return node("Sin", [z], f"{tag}_act")

    p = {k: np.asarray(v, dtype=float) for k, v in params.items()}
    h = act(node("Gemm", [feats, const("W_in", p["W_in"]), const("b_in", p["b_in"])], "z_in"),
            "in")
    k = 1
    while f"b{k}" in p:
        bias = const(f"b{k}", p[f"b{k}"])
        if f"U{k}" in p:
            u = node("MatMul", [h, const(f"U{k}", p[f"U{k}"])], f"low{k}")
            z = node("Gemm", [u, const(f"V{k}", p[f"V{k}"]), bias], f"z{k}")
        else:
            z = node("Gemm", [h, const(f"H{k}", p[f"H{k}"]), bias], f"z{k}")
        h = act(z, f"h{k}")
        k += 1
    node("Gemm", [h, const("W_out", p["W_out"]), const("b_out", p["b_out"])], "intensity")
    return Graph(name=name, inputs=(TensorSpec(name="coords", shape=(None, 3)),),
                 outputs=(TensorSpec(name="intensity", shape=(None, 1)),), nodes=tuple(nodes),
                 constants=consts, opset=OPSET)
