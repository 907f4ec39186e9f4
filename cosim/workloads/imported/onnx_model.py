"""ONNX files in and out of the exchange form; the ONNX reference evaluator as the float oracle.

:func:`load_onnx` reads an ``.onnx`` file and checks everything before any
work: a regular file of at most 2 GiB (protobuf's limit) that parses as an
ONNX model and passes ``onnx.checker``, weights stored in the file (no
external data files), one graph input fed with data (constants are not
inputs), the default-domain opset within ``MIN_OPSET..MAX_OPSET`` and no newer
than the installed ``onnx`` knows, and every node an operator handled here
(:data:`HANDLED`: the analog ones of :mod:`.matrices`, the digital ones of
:mod:`.ops`, ``Constant``). Then, at load:

- ``Constant`` nodes become constants, and every node whose inputs are all
  constants is computed once (constant folding: shape arithmetic, a weight
  transposed in the graph); ``Shape`` of a tensor whose shape the ONNX shape
  inference knows in full becomes a constant too (one with a free batch size
  stays a run-time ``Shape``, which costs nothing);
- a ``BatchNormalization`` right after a Conv, ConvTranspose, Gemm or 2-D
  MatMul whose output it alone reads is folded into that operator's weight and
  bias (``s = scale / sqrt(var + eps)`` per output channel, ``W' = W s``,
  ``b' = (b - mean) s + B``);
- nodes whose outputs nothing reads are dropped;
- every analog operator's weight must then be a constant (else: a dynamic
  weight, refused naming the node);
- analog operators that read the same weight initializer (by name) and so the
  same matrices share one deployment (:attr:`OnnxModel.owners`): one set of
  arrays that every one of them uses, as a network unrolled over timesteps
  uses its layers at every step.

A failed check is one :class:`ConfigError` line naming the file and, for a
node, the node and its operator.

The float oracle (:class:`FloatOracle`) is ``onnx.reference.ReferenceEvaluator``
on the model as read from the file, its floating-point tensors promoted to
float64 (:func:`promote_to_double`: the same graph, computed without float32
rounding), so it depends on none of this module's parsing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from circuits.errors import ConfigError
from circuits.files import read_regular
from cosim.workloads.imported.ir import Graph, Node, TensorSpec
from cosim.workloads.imported.matrices import ANALOG_OPS, Matrix, matrix_of
from cosim.workloads.imported.ops import DIGITAL_OPS, run_op

MIN_OPSET, MAX_OPSET = 11, 25
"""Default-domain opsets handled: every operator here follows these versions' definitions."""
HANDLED = ANALOG_OPS + tuple(DIGITAL_OPS) + ("Constant",)
"""ONNX operators a model may hold."""
MAX_MODEL_BYTES = 2**31 - 1
"""protobuf's limit on one serialised message."""
INSTALL_HINT = "pip install 'rram-cosim[import]'"

_FLOAT_TYPES = {"FLOAT": "float32", "DOUBLE": "float64", "FLOAT16": "float32"}
_INT_TYPES = {"INT64": "int64", "INT32": "int64"}


def onnx_package():
    """The ``onnx`` package, or a one-line error saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise ConfigError(f"ONNX models need the onnx package: {INSTALL_HINT}") from None
    return onnx


@dataclass(frozen=True, kw_only=True, eq=False)
class OnnxModel:
    """An ONNX model read and checked.

    Attributes:
        path: the file.
        graph: the graph after folding (module docstring), ready to run.
        matrices: the analog operators' matrices, by node name.
        proto: the model as read (``onnx.ModelProto``), for the float oracle.
        notes: what the load folded, one line each.
        owners: for an analog node that shares its weight with an earlier one
            (module docstring), that node's name; nodes not named own theirs.
    """

    path: str
    graph: Graph
    matrices: Mapping[str, Matrix]
    proto: Any
    notes: tuple[str, ...] = ()
    owners: Mapping[str, str] = field(default_factory=dict)

    @property
    def input(self) -> TensorSpec:
        return self.graph.inputs[0]

    def owner(self, name: str) -> str:
        """The node whose deployment analog node ``name`` uses."""
        return self.owners.get(name, name)

    @property
    def deployed(self) -> dict[str, Matrix]:
        """The matrices that go onto the hardware: one per weight, by owner node."""
        return {k: m for k, m in self.matrices.items() if k not in self.owners}


def shared_weights(graph: Graph, matrices: Mapping[str, Matrix]) -> dict[str, str]:
    """Analog node -> the first analog node reading the same weight initializer with the
    same matrices (module docstring); nodes that own their weight are left out."""
    first: dict[str, str] = {}
    owners = {}
    for node in graph.nodes:
        if node.name not in matrices:
            continue
        key = node.inputs[1]
        if key not in first:
            first[key] = node.name
            continue
        a, b = matrices[first[key]].weights, matrices[node.name].weights
        if len(a) == len(b) and all(x.shape == y.shape and np.array_equal(x, y)
                                    for x, y in zip(a, b, strict=True)):
            owners[node.name] = first[key]
    return owners


def read_proto(path: Path | str, what: str = "model"):
    """The ``ModelProto`` of an ONNX file, parsed and checked (module docstring)."""
    onnx = onnx_package()
    from google.protobuf.message import DecodeError

    blob = read_regular(path, what, MAX_MODEL_BYTES)
    where = f"{what} {path}"
    try:
        model = onnx.load_model_from_string(blob)
    except (DecodeError, ValueError, RuntimeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where} is not an ONNX model (truncated or another format: "
                          f"{_first(exc)})") from None
    if not model.HasField("graph") or model.ir_version < 3 or not model.graph.node:
        raise ConfigError(f"{where} is not an ONNX model (no graph, or an IR version "
                          f"{model.ir_version} below 3); truncated or another format")
    for t in list(model.graph.initializer) + [a.t for n in model.graph.node
                                               for a in n.attribute if a.HasField("t")]:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            raise ConfigError(f"{where}: tensor {t.name!r} is stored in an external data "
                              "file, which is not read; save the model with its weights "
                              "inside")
    if model.graph.sparse_initializer:
        raise ConfigError(f"{where}: sparse initializers are not handled")
    _check_opset(model, where)
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError) as exc:
        raise ConfigError(f"{where} fails the ONNX checker: {_first(exc)}") from None
    return model


def _check_opset(model, where: str) -> int:
    onnx = onnx_package()
    versions = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    opset = versions.get("ai.onnx")
    if opset is None:
        raise ConfigError(f"{where} imports no default-domain (ai.onnx) opset")
    newest = min(MAX_OPSET, onnx.defs.onnx_opset_version())
    if not MIN_OPSET <= opset <= newest:
        raise ConfigError(f"{where}: opset {opset} is not handled (handled: {MIN_OPSET} to "
                          f"{newest}); convert the model with onnx.version_converter")
    return opset


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load_onnx(path: Path | str, what: str = "model") -> OnnxModel:
    """Read, check and fold an ONNX file (module docstring).

    Raises:
        ConfigError: any failed check, one line.
    """
    model = read_proto(path, what)
    graph, notes = graph_from_proto(model, f"{what} {path}")
    matrices = {n.name: matrix_of(n, graph.constants) for n in graph.nodes
                if n.op in ANALOG_OPS}
    if not matrices:
        raise ConfigError(f"{what} {path} has no Gemm, MatMul, Conv or ConvTranspose with a "
                          "constant weight: nothing to put on crossbars")
    owners = shared_weights(graph, matrices)
    uses: dict[str, int] = {}
    for owner in owners.values():
        uses[owner] = uses.get(owner, 1) + 1
    notes += [f"{matrices[k].node.op} weight {matrices[k].node.inputs[1]!r} is used by {n} "
              "nodes: deployed once" for k, n in uses.items()]
    return OnnxModel(path=str(path), graph=graph, matrices=matrices, proto=model,
                     notes=tuple(notes), owners=owners)


# -- proto -> Graph ----------------------------------------------------------------------

def _attr_value(onnx, attr, label: str) -> Any:
    from onnx import helper, numpy_helper

    if attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS,
                     onnx.AttributeProto.SPARSE_TENSOR, onnx.AttributeProto.SPARSE_TENSORS,
                     onnx.AttributeProto.TYPE_PROTO, onnx.AttributeProto.TYPE_PROTOS):
        raise ConfigError(f"{label}: attribute {attr.name!r} of this kind is not handled")
    if attr.type == onnx.AttributeProto.TENSOR:
        return numpy_helper.to_array(attr.t)
    if attr.type == onnx.AttributeProto.TENSORS:
        return [numpy_helper.to_array(t) for t in attr.tensors]
    v = helper.get_attribute_value(attr)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, list):
        return [x.decode() if isinstance(x, bytes) else x for x in v]
    return v


def _tensor_spec(onnx, vi, where: str) -> TensorSpec:
    tt = vi.type.tensor_type
    kind = onnx.TensorProto.DataType.Name(tt.elem_type) if tt.elem_type else "UNDEFINED"
    dtype = _FLOAT_TYPES.get(kind) or _INT_TYPES.get(kind)
    if dtype is None:
        raise ConfigError(f"{where}: tensor {vi.name!r} has element type {kind}; float and "
                          "integer tensors are handled")
    shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim)
    return TensorSpec(name=vi.name, shape=shape, dtype=dtype)


def _array(onnx, t) -> np.ndarray:
    from onnx import numpy_helper

    a = numpy_helper.to_array(t)
    if np.issubdtype(a.dtype, np.floating):
        return a.astype(np.float64)
    if np.issubdtype(a.dtype, np.integer) or a.dtype == bool:
        return a.astype(np.int64)
    raise ConfigError(f"constant {t.name!r} has element type {a.dtype}; float and integer "
                      "constants are handled")


def _constant_value(onnx, node: Node) -> np.ndarray:
    a = dict(node.attrs)
    if "value" in a:
        v = np.asarray(a["value"])
    elif "value_float" in a:
        v = np.asarray(a["value_float"], dtype=np.float64)
    elif "value_floats" in a:
        v = np.asarray(a["value_floats"], dtype=np.float64)
    elif "value_int" in a:
        v = np.asarray(a["value_int"], dtype=np.int64)
    elif "value_ints" in a:
        v = np.asarray(a["value_ints"], dtype=np.int64)
    else:
        raise ConfigError(f"{node.label}: only numeric constants are handled")
    if np.issubdtype(v.dtype, np.floating):
        return v.astype(np.float64)
    if np.issubdtype(v.dtype, np.integer) or v.dtype == bool:
        return v.astype(np.int64)
    raise ConfigError(f"{node.label}: a constant of type {v.dtype} is not handled")


def _static_shapes(onnx, model) -> dict[str, tuple[int, ...]]:
    """Shapes the ONNX shape inference knows in full, by tensor name."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except (onnx.shape_inference.InferenceError, ValueError, RuntimeError):
        return {}
    out = {}
    g = inferred.graph
    for vi in list(g.value_info) + list(g.input) + list(g.output):
        dims = vi.type.tensor_type.shape.dim
        if vi.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
            out[vi.name] = tuple(d.dim_value for d in dims)
    return out


def graph_from_proto(model, where: str) -> tuple[Graph, list[str]]:
    """The checked, folded graph of a model (module docstring) and what was folded."""
    onnx = onnx_package()
    g = model.graph
    opset = _check_opset(model, where)
    constants: dict[str, np.ndarray] = {t.name: _array(onnx, t) for t in g.initializer}
    inputs = tuple(_tensor_spec(onnx, vi, where) for vi in g.input if vi.name not in constants)
    if len(inputs) != 1:
        names = ", ".join(t.name for t in inputs) or "none"
        raise ConfigError(f"{where}: the model takes {len(inputs)} data inputs ({names}); "
                          "deploy feeds exactly one")
    outputs = tuple(_tensor_spec(onnx, vi, where) for vi in g.output)
    nodes = []
    for i, pn in enumerate(g.node):
        name = pn.name or f"{pn.op_type}_{i}"
        label = f"node {name!r} ({pn.op_type})"
        if pn.domain not in ("", "ai.onnx"):
            raise ConfigError(f"{where}: {label} is in domain {pn.domain!r}; only the default "
                              "ONNX domain is handled")
        if pn.op_type not in HANDLED:
            raise ConfigError(f"{where}: {label} is not handled (handled operators: "
                              f"{', '.join(sorted(HANDLED))})")
        attrs = {a.name: _attr_value(onnx, a, f"{where}: {label}") for a in pn.attribute}
        nodes.append(Node(name=name, op=pn.op_type, inputs=tuple(pn.input),
                          outputs=tuple(pn.output), attrs=attrs))
    shapes = _static_shapes(onnx, model)
    notes: list[str] = []
    kept = _fold_constants(nodes, constants, shapes, opset, notes, where)
    kept = _fold_batchnorm(kept, constants, {t.name for t in outputs}, notes)
    kept = _drop_dead(kept, {t.name for t in outputs})
    used = {t for n in kept for t in n.inputs} | {t.name for t in outputs}
    constants = {k: v for k, v in constants.items() if k in used}
    for t in outputs:  # an output folded to a constant still comes out
        if t.name in constants and not any(t.name in n.outputs for n in kept):
            raise ConfigError(f"{where}: output {t.name!r} is a constant; nothing to deploy")
    try:
        graph = Graph(name=g.name or "model", inputs=inputs, outputs=outputs, nodes=tuple(kept),
                      constants=constants, opset=opset)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return graph, notes


def _fold_constants(nodes: list[Node], constants: dict[str, np.ndarray],
                    shapes: dict[str, tuple[int, ...]], opset: int, notes: list[str],
                    where: str) -> list[Node]:
    onnx = onnx_package()
    kept = []
    n_folded = 0
    for node in nodes:
        if node.op == "Constant":
            constants[node.outputs[0]] = _constant_value(onnx, node)
            n_folded += 1
            continue
        if node.op == "Shape" and node.inputs[0] in shapes:
            node_in = [np.zeros(shapes[node.inputs[0]], dtype=np.int8)]
            constants[node.outputs[0]] = run_op(node, node_in, opset)[0][0]
            n_folded += 1
            continue
        ins = [t for t in node.inputs if t]
        if ins and all(t in constants for t in ins) and node.op in DIGITAL_OPS:
            try:
                outs, _ = run_op(node, [constants[t] if t else None for t in node.inputs],
                                 opset)
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from None
            for name, v in zip(node.outputs, outs, strict=False):
                if name:
                    constants[name] = np.asarray(v)
            n_folded += 1
            continue
        kept.append(node)
    if n_folded:
        notes.append(f"{n_folded} constant nodes (Constant, Shape, operators on constants) "
                     "computed at load")
    return kept


_BN_AFTER = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def _fold_batchnorm(nodes: list[Node], constants: dict[str, np.ndarray], outputs: set[str],
                    notes: list[str]) -> list[Node]:
    producer = {t: n for n in nodes for t in n.outputs}
    readers: dict[str, int] = {}
    for n in nodes:
        for t in n.inputs:
            readers[t] = readers.get(t, 0) + 1
    replaced: dict[str, Node] = {}
    dropped: set[str] = set()
    for bn in nodes:
        if bn.op != "BatchNormalization" or len([o for o in bn.outputs if o]) != 1:
            continue
        x = bn.inputs[0]
        prev = replaced.get(producer[x].name, producer.get(x)) if x in producer else None
        params = bn.inputs[1:5]
        if (prev is None or prev.op not in _BN_AFTER or readers.get(x, 0) != 1
                or x in outputs or not all(p in constants for p in params)
                or int(bn.attr("training_mode", 0)) or len(prev.inputs) < 2
                or prev.inputs[1] not in constants):
            continue
        w = np.asarray(constants[prev.inputs[1]], dtype=float)
        if prev.op == "MatMul" and w.ndim != 2:
            continue
        if prev.op == "Gemm" and int(prev.attr("transA", 0)):
            continue
        scale, shift, mean, var = (np.asarray(constants[p], dtype=float).reshape(-1)
                                   for p in params)
        s = scale / np.sqrt(var + float(bn.attr("epsilon", 1e-5)))
        bias_name = prev.inputs[2] if len(prev.inputs) > 2 and prev.inputs[2] else None
        if bias_name is not None and bias_name not in constants:
            continue
        n_out = s.size
        b = (np.zeros(n_out) if bias_name is None
             else np.broadcast_to(np.asarray(constants[bias_name], dtype=float).reshape(-1),
                                  (n_out,)))
        if prev.op == "Conv":
            w2 = w * s.reshape((-1,) + (1,) * (w.ndim - 1))
        elif prev.op == "ConvTranspose":
            g = int(prev.attr("group", 1))
            cg, mg = w.shape[0] // g, w.shape[1]
            w2 = w.reshape(g, cg, mg, *w.shape[2:]) * s.reshape(g, 1, mg, *(1,) * (w.ndim - 2))
            w2 = w2.reshape(w.shape)
        elif prev.op == "Gemm" and int(prev.attr("transB", 0)):
            w2 = w * s[:, None]
        else:
            w2 = w * s[None, :]
        if prev.op == "Gemm":
            beta = float(prev.attr("beta", 1.0))
            b = b * beta
            alpha = float(prev.attr("alpha", 1.0))
            w2 = w2 * alpha
        b2 = (b - mean) * s + shift
        wn, bname = f"{prev.name}::W_bn", f"{prev.name}::B_bn"
        constants[wn], constants[bname] = w2, b2
        attrs = dict(prev.attrs)
        if prev.op == "Gemm":
            attrs.update(alpha=1.0, beta=1.0)
        if prev.op == "MatMul":  # MatMul has no bias: a Gemm does the same with one
            new = Node(name=prev.name, op="Gemm", inputs=(prev.inputs[0], wn, bname),
                       outputs=bn.outputs[:1], attrs={})
        else:
            new = Node(name=prev.name, op=prev.op, inputs=(prev.inputs[0], wn, bname),
                       outputs=bn.outputs[:1], attrs=attrs)
        replaced[prev.name] = new
        dropped.add(bn.name)
        notes.append(f"BatchNormalization {bn.name!r} folded into {prev.op} {prev.name!r}")
    return [replaced.get(n.name, n) for n in nodes if n.name not in dropped]


def _drop_dead(nodes: list[Node], outputs: set[str]) -> list[Node]:
    need = set(outputs)
    kept = []
    for node in reversed(nodes):
        if any(o in need for o in node.outputs if o):
            kept.append(node)
            need.update(t for t in node.inputs if t)
    return kept[::-1]


# -- Graph -> proto, and the float oracle ------------------------------------------------

_NP_TO_ONNX = {"float32": "FLOAT", "float64": "DOUBLE", "int64": "INT64"}


def graph_to_proto(graph: Graph, *, dtype: str = "float32", producer: str = "rram-cosim"):
    """An ``onnx.ModelProto`` of ``graph`` (default-domain opset ``graph.opset``).

    Floating-point constants, inputs and outputs are written as ``dtype``
    (``float32``, the exchange default, or ``float64``); integer ones as int64.
    The model passes ``onnx.checker``.
    """
    onnx = onnx_package()
    from onnx import helper, numpy_helper

    def elem(spec_dtype: str) -> int:
        kind = _NP_TO_ONNX[dtype if spec_dtype != "int64" else "int64"]
        return getattr(onnx.TensorProto, kind)

    def value(spec: TensorSpec):
        return helper.make_tensor_value_info(
            spec.name, elem(spec.dtype), [d if d is not None else "N" for d in spec.shape])

    def tensor(name: str, a: np.ndarray):
        a = np.asarray(a)
        a = a.astype(dtype) if np.issubdtype(a.dtype, np.floating) else a.astype(np.int64)
        return numpy_helper.from_array(a, name)

    nodes = []
    for n in graph.nodes:
        attrs = {}
        for k, v in n.attrs.items():
            if k.startswith("_"):
                continue
            attrs[k] = tensor(f"{n.name}.{k}", v) if isinstance(v, np.ndarray) else v
        nodes.append(helper.make_node(n.op, list(n.inputs), list(n.outputs), name=n.name,
                                      **attrs))
    g = helper.make_graph(nodes, graph.name, [value(t) for t in graph.inputs],
                          [value(t) for t in graph.outputs],
                          initializer=[tensor(k, v) for k, v in graph.constants.items()])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", graph.opset)],
                              producer_name=producer)
    model.ir_version = min(model.ir_version, _ir_version_for(graph.opset))
    onnx.checker.check_model(model)
    return model


def _ir_version_for(opset: int) -> int:
    """The IR version the ONNX release that introduced ``opset`` wrote (so older runtimes read
    the file), from ``onnx.helper.VERSION_TABLE``."""
    from onnx import helper

    irs = [row[1] for row in helper.VERSION_TABLE if row[2] == opset]
    return min(irs) if irs else helper.VERSION_TABLE[-1][1]


def promote_to_double(model):
    """A copy of ``model`` whose floating-point tensors are float64 (module docstring); a
    ``Cast`` to float32 becomes a cast to float64."""
    onnx = onnx_package()
    from onnx import helper, numpy_helper

    m = onnx.ModelProto()
    m.CopyFrom(model)
    floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)
    g = m.graph
    for i, t in enumerate(g.initializer):
        if t.data_type in floats:
            g.initializer[i].CopyFrom(numpy_helper.from_array(
                numpy_helper.to_array(t).astype(np.float64), t.name))
    for vi in list(g.input) + list(g.output):
        if vi.type.tensor_type.elem_type in floats:
            vi.type.tensor_type.elem_type = onnx.TensorProto.DOUBLE
    del g.value_info[:]
    for node in g.node:
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type in floats:
                a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t)
                                                     .astype(np.float64), a.t.name))
        if node.op_type == "Cast":  # a cast to float32 would round what follows
            for a in node.attribute:
                if a.name == "to" and a.i in floats:
                    a.i = onnx.TensorProto.DOUBLE
        if node.op_type == "Constant":
            for a in list(node.attribute):
                if a.name in ("value_float", "value_floats"):
                    vals = np.asarray(helper.get_attribute_value(a), dtype=np.float64)
                    node.attribute.remove(a)
                    node.attribute.append(helper.make_attribute(
                        "value", numpy_helper.from_array(vals)))
    return m


class FloatOracle:
    """``onnx.reference.ReferenceEvaluator`` on ``model`` promoted to float64
    (:func:`promote_to_double`): ``oracle(feeds) -> outputs``.

    Args:
        model: an ``onnx.ModelProto``.
    """

    def __init__(self, model):
        onnx_package()
        from onnx.reference import ReferenceEvaluator

        self._ref = ReferenceEvaluator(promote_to_double(model))

    def __call__(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """The model's outputs for ``feeds`` (input name -> array; floats as float64)."""
        feeds = {k: (np.asarray(v, dtype=np.float64)
                     if np.issubdtype(np.asarray(v).dtype, np.floating)
                     else np.asarray(v, dtype=np.int64)) for k, v in feeds.items()}
        try:
            return [np.asarray(v, dtype=float) for v in self._ref.run(None, feeds)]
        except (ValueError, TypeError, IndexError, RuntimeError) as exc:
            raise ConfigError(f"the ONNX reference evaluator cannot run the model on these "
                              f"inputs: {_first(exc)}") from None


def with_weights(graph: Graph, matrices: Mapping[str, Matrix],
                 weights: Mapping[str, list[np.ndarray]],
                 owners: Mapping[str, str] | None = None) -> Graph:
    """``graph`` with the weight of each analog node replaced by ``weights[name]`` (matrices
    ``(in, out)`` per group, as the cells hold them), in the operator's own layout; a node
    that shares its owner's deployment (``owners``, :attr:`OnnxModel.owners`) takes the
    owner's weights."""
    owners = owners or {}
    consts = dict(graph.constants)
    nodes = []
    for n in graph.nodes:
        owner = owners.get(n.name, n.name)
        if owner in weights:
            key = f"{owner}::W_cells"
            consts[key] = matrices[n.name].onnx_weight(list(weights[owner]))
            n = replace(n, inputs=(n.inputs[0], key, *n.inputs[2:]))
        nodes.append(n)
    return replace(graph, nodes=tuple(nodes), constants=consts)
