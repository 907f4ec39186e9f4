"""The digital operators of an imported network, in numpy, with ONNX semantics and their work.

Each operator of :data:`DIGITAL_OPS` is a function ``(node, inputs, opset) ->
(outputs, Work)`` computing in float64 (integer tensors stay int64) exactly
what the ONNX operator of that opset defines, and counting what the digital
core does for it (:class:`Work`):

- ``Add``, ``Sub``: one add per output element; ``Mul``: one multiply; ``Div``:
  one division (counted as a multiply);
- ``Relu``: one add (a compare) per element; ``Clip``: one per bound given;
- ``Greater``, ``Less`` on floats: one add (a compare) per output element; their
  outputs are booleans;
- ``Cast``: no arithmetic (a change of type: a spike or compare result to a
  number); a cast to any floating type gives float64, as every float here is;
- ``Sin``, ``Cos``: one CORDIC evaluation per element (``iterations`` steps of
  the digital core's CORDIC, :class:`cosim.workloads.field.cordic.CordicConfig`);
- ``Sigmoid``, ``Tanh``: one hyperbolic CORDIC evaluation (its steps counted
  as CORDIC steps), one add and one division (counted as a multiply) per element;
- ``Softmax``: per element one exponential (CORDIC), two adds (the max
  subtracted, the sum) and one division (a multiply);
- ``BatchNormalization`` left unfolded: one multiply and one add per element
  (its per-channel factors folded from the constants);
- pooling: ``k - 1`` compares (adds) per output of a ``k``-tap max window;
  ``k - 1`` adds and one multiply per output of an average window;
- ``Concat``, ``Split``, ``Slice``, ``Gather``, ``Reshape``, ``Flatten``,
  ``Transpose``, ``Squeeze``, ``Unsqueeze``, ``Identity``, ``Dropout``
  (inference: identity): no arithmetic; the elements they move are counted
  (``moved``, reported, not priced);
- arithmetic on integer tensors (shapes, indices) and ``Shape`` cost nothing.

The digital core's own number format (fixed point, CORDIC error) is not
modelled here: the values are float64, so an imported network on exact
hardware gives the float model's outputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

import numpy as np

from circuits.errors import ConfigError
from cosim.workloads.field.cordic import CordicConfig
from cosim.workloads.imported.ir import Node
from cosim.workloads.imported.windows import padded, window_geometry, windows

CORDIC_ITERATIONS = CordicConfig().iterations
"""CORDIC steps per sin, cos, exp or tanh evaluation (the field's digital core)."""


@dataclass(frozen=True)
class Work:
    """What the digital core did for one operator call (module docstring)."""

    adds: int = 0
    mults: int = 0
    cordic_steps: int = 0
    moved: int = 0

    def __add__(self, other: Work) -> Work:
        return Work(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


Op = Callable[[Node, list, int], tuple[list, Work]]
DIGITAL_OPS: dict[str, Op] = {}
"""Digital operators by ONNX type."""


def _op(*names: str) -> Callable[[Op], Op]:
    def register(fn: Op) -> Op:
        for n in names:
            DIGITAL_OPS[n] = fn
        return fn
    return register


def _float(x: np.ndarray) -> bool:
    return np.issubdtype(np.asarray(x).dtype, np.floating)


def _const_ints(node: Node, value, what: str) -> list[int]:
    if value is None:
        raise ConfigError(f"{node.label}: needs its {what}")
    return [int(v) for v in np.asarray(value).reshape(-1)]


def _axis(node: Node, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise ConfigError(f"{node.label}: axis {axis} is outside a rank-{rank} tensor")
    return axis % rank


def _int_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Integer division truncated toward zero (ONNX ``Div`` on integers)."""
    if np.any(np.asarray(b) == 0):
        raise ConfigError("integer division by zero")
    q = np.abs(a) // np.abs(b)
    return np.where((np.asarray(a) < 0) ^ (np.asarray(b) < 0), -q, q)


@_op("Add", "Sub", "Mul", "Div")
def _binary(node: Node, x: list, opset: int) -> tuple[list, Work]:
    a, b = x
    floats = _float(a) or _float(b)
    fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply,
          "Div": np.divide if floats else _int_divide}[node.op]
    try:
        y = fn(a, b)
    except ValueError:
        raise ConfigError(f"{node.label}: shapes {np.shape(a)} and {np.shape(b)} do not "
                          "broadcast") from None
    except ConfigError as exc:
        raise ConfigError(f"{node.label}: {exc}") from None
    if not floats:
        return [y], Work()
    return [y], Work(mults=y.size) if node.op in ("Mul", "Div") else Work(adds=y.size)


@_op("Relu")
def _relu(node: Node, x: list, opset: int) -> tuple[list, Work]:
    y = np.maximum(x[0], 0)
    return [y], Work(adds=y.size)


@_op("Clip")
def _clip(node: Node, x: list, opset: int) -> tuple[list, Work]:
    v = x[0]  # opset >= 11: the bounds are optional inputs
    lo = x[1] if len(x) > 1 else None
    hi = x[2] if len(x) > 2 else None
    for what, bound in (("min", lo), ("max", hi)):
        if bound is not None and np.size(bound) != 1:
            raise ConfigError(f"{node.label}: its {what} must be one value")
    y = v
    if lo is not None:
        y = np.maximum(y, np.asarray(lo).reshape(()))
    if hi is not None:
        y = np.minimum(y, np.asarray(hi).reshape(()))
    y = y.astype(v.dtype, copy=False)
    bounds = (lo is not None) + (hi is not None)
    return [y], Work(adds=y.size * bounds) if _float(y) else Work()


@_op("Greater", "Less")
def _compare(node: Node, x: list, opset: int) -> tuple[list, Work]:
    a, b = x
    fn = np.greater if node.op == "Greater" else np.less
    try:
        y = fn(a, b)
    except ValueError:
        raise ConfigError(f"{node.label}: shapes {np.shape(a)} and {np.shape(b)} do not "
                          "broadcast") from None
    return [y], Work(adds=y.size) if (_float(a) or _float(b)) else Work()


_CAST_FLOAT = {1: "FLOAT", 10: "FLOAT16", 11: "DOUBLE", 16: "BFLOAT16"}
_CAST_INT = {2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64",
             12: "UINT32", 13: "UINT64"}
_CAST_BOOL = 9
"""``Cast``'s ``to`` codes (``onnx.TensorProto.DataType``) handled."""


@_op("Cast")
def _cast(node: Node, x: list, opset: int) -> tuple[list, Work]:
    to = node.attr("to")
    v = np.asarray(x[0])
    if to in _CAST_FLOAT:
        y = v.astype(np.float64)
    elif to in _CAST_INT:
        if _float(v) and not np.all(np.isfinite(v)):
            raise ConfigError(f"{node.label}: NaN or infinite values cast to an integer")
        y = np.trunc(v).astype(np.int64) if _float(v) else v.astype(np.int64)
    elif to == _CAST_BOOL:
        y = v != 0
    else:
        raise ConfigError(f"{node.label}: a cast to type code {to} is not handled (floats, "
                          "integers, bool)")
    return [y], Work()


@_op("Sin", "Cos")
def _trig(node: Node, x: list, opset: int) -> tuple[list, Work]:
    y = (np.sin if node.op == "Sin" else np.cos)(x[0])
    return [y], Work(cordic_steps=y.size * CORDIC_ITERATIONS)


@_op("Sigmoid", "Tanh")
def _squash(node: Node, x: list, opset: int) -> tuple[list, Work]:
    v = x[0]
    y = np.tanh(v) if node.op == "Tanh" else 0.5 * (1.0 + np.tanh(0.5 * v))
    return [y], Work(adds=y.size, mults=y.size, cordic_steps=y.size * CORDIC_ITERATIONS)


@_op("Softmax")
def _softmax(node: Node, x: list, opset: int) -> tuple[list, Work]:
    v = x[0]
    axis = _axis(node, int(node.attr("axis", -1 if opset >= 13 else 1)), v.ndim)
    if opset < 13:  # the input is coerced to 2-D at ``axis``
        shape = v.shape
        v2 = v.reshape(math.prod(shape[:axis]), -1)
        e = np.exp(v2 - v2.max(axis=1, keepdims=True))
        y = (e / e.sum(axis=1, keepdims=True)).reshape(shape)
    else:
        e = np.exp(v - v.max(axis=axis, keepdims=True))
        y = e / e.sum(axis=axis, keepdims=True)
    return [y], Work(adds=2 * y.size, mults=y.size, cordic_steps=y.size * CORDIC_ITERATIONS)


@_op("BatchNormalization")
def _batchnorm(node: Node, x: list, opset: int) -> tuple[list, Work]:
    v, scale, bias, mean, var = x[:5]
    if int(node.attr("training_mode", 0)):
        raise ConfigError(f"{node.label}: training mode is not handled (inference only)")
    eps = float(node.attr("epsilon", 1e-5))
    shape = (1, -1) + (1,) * (v.ndim - 2)
    s = np.asarray(scale, dtype=float) / np.sqrt(np.asarray(var, dtype=float) + eps)
    t = np.asarray(bias, dtype=float) - np.asarray(mean, dtype=float) * s
    y = v * s.reshape(shape) + t.reshape(shape)
    return [y], Work(adds=y.size, mults=y.size)


@_op("Identity", "Dropout")
def _identity(node: Node, x: list, opset: int) -> tuple[list, Work]:
    if node.op == "Dropout" and len(x) > 2 and x[2] is not None and bool(np.asarray(x[2])):
        raise ConfigError(f"{node.label}: training mode is not handled (inference only)")
    out = [x[0]]
    if len(node.outputs) > 1:
        out.append(np.ones(np.shape(x[0]), dtype=bool))
    return out, Work(moved=np.size(x[0]))


@_op("Concat")
def _concat(node: Node, x: list, opset: int) -> tuple[list, Work]:
    parts = [v for v in x if v is not None]
    axis = _axis(node, int(node.attr("axis")), parts[0].ndim)
    try:
        y = np.concatenate(parts, axis=axis)
    except ValueError:
        raise ConfigError(f"{node.label}: shapes {[p.shape for p in parts]} do not join on "
                          f"axis {axis}") from None
    return [y], Work(moved=0 if not _float(y) else y.size)


@_op("Split")
def _split(node: Node, x: list, opset: int) -> tuple[list, Work]:
    v = x[0]
    axis = _axis(node, int(node.attr("axis", 0)), v.ndim)
    n_out = len(node.outputs)
    split = x[1] if opset >= 13 and len(x) > 1 else node.attr("split")
    dim = v.shape[axis]
    if split is not None and len(np.asarray(split).reshape(-1)):
        sizes = _const_ints(node, split, "split sizes")
    elif node.attr("num_outputs") is not None:
        k = -(-dim // int(node.attr("num_outputs")))
        sizes = [min(k, dim - i * k) for i in range(int(node.attr("num_outputs")))]
    else:
        if dim % n_out:
            raise ConfigError(f"{node.label}: {dim} values do not split evenly in {n_out}")
        sizes = [dim // n_out] * n_out
    if sum(sizes) != dim or len(sizes) != n_out:
        raise ConfigError(f"{node.label}: split sizes {sizes} do not cover {dim} values in "
                          f"{n_out} outputs")
    out = np.split(v, np.cumsum(sizes)[:-1], axis=axis)
    return list(out), Work(moved=v.size if _float(v) else 0)


@_op("Slice")
def _slice(node: Node, x: list, opset: int) -> tuple[list, Work]:
    v = x[0]
    starts = _const_ints(node, x[1], "starts")
    ends = _const_ints(node, x[2], "ends")
    axes = (_const_ints(node, x[3], "axes") if len(x) > 3 and x[3] is not None
            else list(range(len(starts))))
    steps = (_const_ints(node, x[4], "steps") if len(x) > 4 and x[4] is not None
             else [1] * len(starts))
    index = [slice(None)] * v.ndim
    for s, e, a, k in zip(starts, ends, axes, steps, strict=True):
        if k == 0:
            raise ConfigError(f"{node.label}: a step of 0")
        index[_axis(node, a, v.ndim)] = slice(s, e, k)
    y = v[tuple(index)]
    return [y], Work(moved=y.size if _float(y) else 0)


@_op("Gather")
def _gather(node: Node, x: list, opset: int) -> tuple[list, Work]:
    v, idx = x
    axis = _axis(node, int(node.attr("axis", 0)), v.ndim)
    idx = np.asarray(idx)
    if not np.issubdtype(idx.dtype, np.integer):
        raise ConfigError(f"{node.label}: indices must be integers")
    dim = v.shape[axis]
    if idx.size and (idx.max() >= dim or idx.min() < -dim):
        raise ConfigError(f"{node.label}: an index lies outside the {dim} values of axis {axis}")
    y = np.take(v, idx, axis=axis)
    return [y], Work(moved=y.size if _float(y) else 0)


@_op("Reshape")
def _reshape(node: Node, x: list, opset: int) -> tuple[list, Work]:
    v = x[0]
    shape = _const_ints(node, x[1], "shape")
    allowzero = int(node.attr("allowzero", 0)) if opset >= 14 else 0
    if not allowzero:
        shape = [v.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    try:
        y = v.reshape(shape)
    except ValueError:
        raise ConfigError(f"{node.label}: a tensor of shape {v.shape} cannot take shape "
                          f"{tuple(shape)}") from None
    return [y], Work(moved=y.size if _float(y) else 0)


@_op("Flatten")
def _flatten(node: Node, x: list, opset: int) -> tuple[list, Work]:
    v = x[0]
    axis = int(node.attr("axis", 1))
    if not -v.ndim <= axis <= v.ndim:
        raise ConfigError(f"{node.label}: axis {axis} is outside a rank-{v.ndim} tensor")
    axis = axis + v.ndim if axis < 0 else axis
    y = v.reshape(math.prod(v.shape[:axis]), math.prod(v.shape[axis:]))
    return [y], Work(moved=y.size if _float(y) else 0)


@_op("Transpose")
def _transpose(node: Node, x: list, opset: int) -> tuple[list, Work]:
    v = x[0]
    perm = node.attr("perm")
    y = np.transpose(v, None if perm is None else [int(p) for p in perm])
    return [y], Work(moved=y.size if _float(y) else 0)


def _axes(node: Node, x: list, opset: int) -> list[int] | None:
    if opset >= 13:
        return _const_ints(node, x[1], "axes") if len(x) > 1 and x[1] is not None else None
    a = node.attr("axes")
    return None if a is None else [int(v) for v in a]


@_op("Squeeze")
def _squeeze(node: Node, x: list, opset: int) -> tuple[list, Work]:
    v = x[0]
    axes = _axes(node, x, opset)
    if axes is None:
        y = np.squeeze(v)
    else:
        axes = [_axis(node, a, v.ndim) for a in axes]
        if any(v.shape[a] != 1 for a in axes):
            raise ConfigError(f"{node.label}: axes {axes} of shape {v.shape} are not all 1")
        y = np.squeeze(v, axis=tuple(axes))
    return [y], Work(moved=y.size if _float(y) else 0)


@_op("Unsqueeze")
def _unsqueeze(node: Node, x: list, opset: int) -> tuple[list, Work]:
    v = x[0]
    axes = _axes(node, x, opset)
    if axes is None:
        raise ConfigError(f"{node.label}: needs its axes")
    rank = v.ndim + len(axes)
    y = np.expand_dims(v, tuple(sorted(_axis(node, a, rank) for a in axes)))
    return [y], Work(moved=y.size if _float(y) else 0)


@_op("Shape")
def _shape(node: Node, x: list, opset: int) -> tuple[list, Work]:
    shape = np.asarray(np.shape(x[0]), dtype=np.int64)
    if opset >= 15:
        start, end = node.attr("start", 0), node.attr("end")
        shape = shape[slice(int(start), None if end is None else int(end))]
    return [shape], Work()


@_op("MaxPool", "AveragePool")
def _pool(node: Node, x: list, opset: int) -> tuple[list, Work]:
    v = x[0]
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ConfigError(f"{node.label}: the Indices output is not handled")
    kernel = node.attr("kernel_shape")
    if kernel is None:
        raise ConfigError(f"{node.label}: needs kernel_shape")
    dil = node.attr("dilations") if (node.op == "MaxPool" or opset >= 19) else None
    g = window_geometry(v.shape[2:], kernel, strides=node.attr("strides"), dilations=dil,
                        pads=node.attr("pads"), auto_pad=str(node.attr("auto_pad", "NOTSET")),
                        ceil_mode=bool(node.attr("ceil_mode", 0)), what=node.label)
    taps = math.prod(g.kernel)
    n_sp = len(g.kernel)
    red = tuple(range(2 + n_sp, 2 + 2 * n_sp))
    if node.op == "MaxPool":
        y = windows(v.astype(float), g, fill=-np.inf).max(axis=red)
        return [y], Work(adds=y.size * (taps - 1))
    y = windows(v.astype(float), g).sum(axis=red)
    # taps that count: inside the input, or (count_include_pad) inside its padding too,
    # never the end padding ceil_mode adds
    mask = padded(np.zeros(v.shape[2:]), g, 0.0)
    if int(node.attr("count_include_pad", 0)):
        mask[tuple(slice(0, m - c) for m, c in zip(mask.shape, g.pad_ceil, strict=True))] = 1
    else:
        mask[tuple(slice(b, b + n) for b, n in zip(g.pad_begin, v.shape[2:], strict=True))] = 1
    inside = windows(mask, g, pad=False).sum(axis=tuple(range(n_sp, 2 * n_sp)))
    return [y / inside], Work(adds=y.size * (taps - 1), mults=y.size)


@_op("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(node: Node, x: list, opset: int) -> tuple[list, Work]:
    v = x[0]
    axes = tuple(range(2, v.ndim))
    taps = math.prod(v.shape[2:])
    if node.op == "GlobalMaxPool":
        y = v.max(axis=axes, keepdims=True)
        return [y], Work(adds=y.size * (taps - 1))
    y = v.mean(axis=axes, keepdims=True)
    return [y], Work(adds=y.size * (taps - 1), mults=y.size)


def run_op(node: Node, inputs: Sequence[np.ndarray | None], opset: int
           ) -> tuple[list[np.ndarray], Work]:
    """Run one digital operator; a failure names the node.

    Raises:
        ConfigError: the operator cannot run on these inputs (shapes, indices).
    """
    try:
        return DIGITAL_OPS[node.op](node, list(inputs), opset)
    except ConfigError:
        raise
    except (ValueError, IndexError, TypeError) as exc:
        raise ConfigError(f"{node.label} cannot run on inputs of shapes "
                          f"{[np.shape(v) for v in inputs if v is not None]}: {exc}") from None
