"""The operators that go onto crossbars: Gemm, MatMul, Conv, ConvTranspose as weight matrices.

Each analog operator with a constant weight becomes one matrix ``(in, out)``
per group (:class:`Matrix`), and its inputs are unrolled into rows of that
matrix's inputs:

- ``Gemm``: ``Y = alpha * A' B' + beta * C`` (``A'``, ``B'`` transposed where
  ``transA``/``transB`` say): the matrix is ``B'`` ``(K, N)``, each row of ``A'``
  one input vector; ``alpha`` (one multiply per output, when not 1) and
  ``beta * C`` (one add per output) run digitally.
- ``MatMul`` ``A @ B`` with ``B`` constant, 1-D or 2-D: the matrix is ``B``; every
  vector along ``A``'s last axis one input.
- ``Conv`` (1 to 3 spatial axes, groups): im2col
  (:func:`cosim.workloads.imported.windows.im2col`): group ``g``'s matrix is its
  kernels ``(C/group * prod(kernel), M/group)``, each output position one
  input patch; the bias is one add per output.
- ``ConvTranspose``: group ``g``'s matrix ``(C/group, M/group * prod(kernel))``
  takes each input position's channels and gives its contribution to every
  output channel and kernel tap, scattered and added into the output
  (:func:`cosim.workloads.imported.windows.col2im`; one add per contribution).

The matrix products go through a function ``mm(group, rows) -> outputs`` the
caller gives (exact float, or an analog layer), so one unrolling serves the
float model and the hardware.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from circuits.errors import ConfigError
from cosim.workloads.imported.ir import Node
from cosim.workloads.imported.ops import Work
from cosim.workloads.imported.windows import col2im, im2col, ints, window_geometry

ANALOG_OPS = ("Gemm", "MatMul", "Conv", "ConvTranspose")
"""ONNX operators whose constant weight goes onto crossbars."""

MatMulFn = Callable[[int, np.ndarray], np.ndarray]
"""``mm(group, rows (B, in)) -> (B, out)``: one group's matrix product."""


@dataclass(frozen=True, kw_only=True, eq=False)
class Matrix:
    """One analog operator: its weight matrices (one per group) and how inputs unroll.

    Attributes:
        node: the operator.
        weights: ``(in, out)`` per group, float64.
    """

    node: Node
    weights: tuple[np.ndarray, ...]

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def groups(self) -> int:
        return len(self.weights)

    @property
    def n_weights(self) -> int:
        return int(sum(w.size for w in self.weights))

    def apply(self, args: list, mm: MatMulFn) -> tuple[np.ndarray, Work]:
        """The operator's output from its runtime inputs ``args`` (weight included)."""
        op = self.node.op
        if op == "Gemm":
            return self._gemm(args, mm)
        if op == "MatMul":
            return self._matmul(args, mm)
        if op == "Conv":
            return self._conv(args, mm)
        return self._conv_transpose(args, mm)

    def onnx_weight(self, mats: list[np.ndarray]) -> np.ndarray:
        """Matrices ``(in, out)`` per group back in the ONNX layout of the weight input."""
        node = self.node
        if node.op == "Gemm":
            w = mats[0]
            return w.T if int(node.attr("transB", 0)) else w
        if node.op == "MatMul":
            return mats[0][:, 0] if self._vector_b else mats[0]
        kernel = self._kernel
        if node.op == "Conv":
            return np.concatenate([m.T.reshape(m.shape[1], -1, *kernel) for m in mats])
        return np.concatenate([m.reshape(m.shape[0], -1, *kernel) for m in mats])

    # -- the operators -------------------------------------------------------------------

    @property
    def _vector_b(self) -> bool:
        return bool(self.node.attr("_vector_b", False))

    @property
    def _kernel(self) -> tuple[int, ...]:
        return tuple(self.node.attr("_kernel"))

    def _gemm(self, args: list, mm: MatMulFn) -> tuple[np.ndarray, Work]:
        node = self.node
        a = np.asarray(args[0], dtype=float)
        if a.ndim != 2:
            raise ConfigError(f"{node.label}: input A must be 2-D, got shape {a.shape}")
        if int(node.attr("transA", 0)):
            a = a.T
        if a.shape[1] != self.weights[0].shape[0]:
            raise ConfigError(f"{node.label}: input A has {a.shape[1]} columns, the weight "
                              f"{self.weights[0].shape[0]} rows")
        y = mm(0, a)
        work = Work()
        alpha, beta = float(node.attr("alpha", 1.0)), float(node.attr("beta", 1.0))
        if alpha != 1.0:
            y = alpha * y
            work += Work(mults=y.size)
        c = args[2] if len(args) > 2 else None
        if c is not None:
            c = np.asarray(c, dtype=float)
            if beta != 1.0:
                c = beta * c
                work += Work(mults=c.size)
            y = y + c
            work += Work(adds=y.size)
        return y, work

    def _matmul(self, args: list, mm: MatMulFn) -> tuple[np.ndarray, Work]:
        a = np.asarray(args[0], dtype=float)
        k = self.weights[0].shape[0]
        if a.shape[-1] != k:
            raise ConfigError(f"{self.node.label}: input has {a.shape[-1]} values along its "
                              f"last axis, the weight {k} rows")
        y = mm(0, a.reshape(-1, k))
        lead = a.shape[:-1]
        if self._vector_b:
            return y.reshape(lead), Work()
        return y.reshape(*lead, y.shape[1]), Work()

    def _conv(self, args: list, mm: MatMulFn) -> tuple[np.ndarray, Work]:
        node = self.node
        x = np.asarray(args[0], dtype=float)
        kernel = self._kernel
        n_sp = len(kernel)
        groups = self.groups
        if x.ndim != 2 + n_sp:
            raise ConfigError(f"{node.label}: input must be (N, C, {n_sp} spatial axes), got "
                              f"shape {x.shape}")
        cg = self.weights[0].shape[0] // math.prod(kernel)
        if x.shape[1] != cg * groups:
            raise ConfigError(f"{node.label}: input has {x.shape[1]} channels, the weight "
                              f"{cg * groups}")
        geo = window_geometry(x.shape[2:], kernel, strides=node.attr("strides"),
                              dilations=node.attr("dilations"), pads=node.attr("pads"),
                              auto_pad=str(node.attr("auto_pad", "NOTSET")), what=node.label)
        n = x.shape[0]
        outs = []
        for g in range(groups):
            cols = im2col(x[:, g * cg:(g + 1) * cg], geo)
            y = mm(g, cols).reshape(n, *geo.out, -1)
            outs.append(np.moveaxis(y, -1, 1))
        y = outs[0] if groups == 1 else np.concatenate(outs, axis=1)
        return self._bias(y, args)

    def _conv_transpose(self, args: list, mm: MatMulFn) -> tuple[np.ndarray, Work]:
        node = self.node
        x = np.asarray(args[0], dtype=float)
        kernel = self._kernel
        n_sp = len(kernel)
        if x.ndim != 2 + n_sp:
            raise ConfigError(f"{node.label}: input must be (N, C, {n_sp} spatial axes), got "
                              f"shape {x.shape}")
        groups = self.groups
        cg = self.weights[0].shape[0]
        if x.shape[1] != cg * groups:
            raise ConfigError(f"{node.label}: input has {x.shape[1]} channels, the weight "
                              f"{cg * groups}")
        spatial = x.shape[2:]
        strides = ints(node.attr("strides"), n_sp, 1, f"{node.label} strides")
        dil = ints(node.attr("dilations"), n_sp, 1, f"{node.label} dilations")
        out_pad = ints(node.attr("output_padding"), n_sp, 0, f"{node.label} output_padding")
        span = [(k - 1) * d + 1 for k, d in zip(kernel, dil, strict=True)]
        full = tuple(s * (i - 1) + sp + op for s, i, sp, op
                     in zip(strides, spatial, span, out_pad, strict=True))
        begin, end = _transpose_pads(node, spatial, strides, full, n_sp)
        n = x.shape[0]
        outs = []
        work = Work()
        for g in range(groups):
            rows = np.moveaxis(x[:, g * cg:(g + 1) * cg], 1, -1).reshape(-1, cg)
            contrib = mm(g, rows)
            mg = contrib.shape[1] // math.prod(kernel)
            y = col2im(contrib, n, spatial, mg, kernel, strides, dil, full)
            work += Work(adds=contrib.size)
            outs.append(y[(slice(None), slice(None))
                          + tuple(slice(b, f - e) for b, e, f in zip(begin, end, full,
                                                                     strict=True))])
        y = outs[0] if groups == 1 else np.concatenate(outs, axis=1)
        y, w2 = self._bias(y, args)
        return y, work + w2

    def _bias(self, y: np.ndarray, args: list) -> tuple[np.ndarray, Work]:
        b = args[2] if len(args) > 2 else None
        if b is None:
            return y, Work()
        b = np.asarray(b, dtype=float).reshape(-1)
        if b.size != y.shape[1]:
            raise ConfigError(f"{self.node.label}: bias has {b.size} values for {y.shape[1]} "
                              "output channels")
        return y + b.reshape((1, -1) + (1,) * (y.ndim - 2)), Work(adds=y.size)


def _transpose_pads(node: Node, spatial, strides, full, n_sp: int
                    ) -> tuple[list[int], list[int]]:
    """Begin and end padding of a ConvTranspose (ONNX: ``pads``, or from ``output_shape``
    / ``auto_pad``: the total padding split, the odd one at the end for ``SAME_UPPER``)."""
    auto = str(node.attr("auto_pad", "NOTSET"))
    shape = node.attr("output_shape")
    if shape is not None or auto in ("SAME_UPPER", "SAME_LOWER"):
        if shape is None:
            shape = [i * s for i, s in zip(spatial, strides, strict=True)]
        shape = [int(v) for v in shape][-n_sp:]
        total = [f - o for f, o in zip(full, shape, strict=True)]
        if min(total) < 0:
            raise ConfigError(f"{node.label}: output_shape {shape} is larger than the "
                              f"transposed convolution gives ({list(full)})")
        if auto == "SAME_UPPER":
            return [t // 2 for t in total], [t - t // 2 for t in total]
        return [t - t // 2 for t in total], [t // 2 for t in total]
    if auto == "VALID":
        return [0] * n_sp, [0] * n_sp
    p = ints(node.attr("pads"), 2 * n_sp, 0, f"{node.label} pads")
    if min(p) < 0 or any(p[i] + p[n_sp + i] >= full[i] for i in range(n_sp)):
        raise ConfigError(f"{node.label}: pads {list(p)} leave no output")
    return list(p[:n_sp]), list(p[n_sp:])


def matrix_of(node: Node, constants: Mapping[str, np.ndarray]) -> Matrix:
    """The matrices of analog operator ``node``, its weight taken from ``constants``.

    Raises:
        ConfigError: the weight is not a constant (a dynamic weight), or has a
            shape the operator cannot take, naming the node.
    """
    idx = 1
    if len(node.inputs) <= idx or node.inputs[idx] not in constants:
        what = node.inputs[idx] if len(node.inputs) > idx else "(missing)"
        raise ConfigError(f"{node.label}: its weight {what!r} is computed at run time (a "
                          "dynamic weight); only constant weights go onto crossbars")
    w = np.asarray(constants[node.inputs[idx]], dtype=float)
    attrs = dict(node.attrs)
    if node.op == "Gemm":
        if w.ndim != 2:
            raise ConfigError(f"{node.label}: weight B must be 2-D, got shape {w.shape}")
        mats = (w.T if int(node.attr("transB", 0)) else w,)
    elif node.op == "MatMul":
        if w.ndim == 1:
            attrs["_vector_b"] = True
            w = w[:, None]
        if w.ndim != 2:
            raise ConfigError(f"{node.label}: a weight of shape {w.shape} (a batched MatMul) "
                              "is not handled; 1-D and 2-D weights are")
        mats = (w,)
    else:
        n_sp = w.ndim - 2
        if not 1 <= n_sp <= 3:
            raise ConfigError(f"{node.label}: a weight of shape {w.shape}; 1 to 3 spatial "
                              "axes are handled")
        kernel = tuple(w.shape[2:])
        given = node.attr("kernel_shape")
        if given is not None and tuple(int(v) for v in given) != kernel:
            raise ConfigError(f"{node.label}: kernel_shape {list(given)} does not match the "
                              f"weight's {list(kernel)}")
        groups = int(node.attr("group", 1))
        attrs["_kernel"] = kernel
        if node.op == "Conv":
            m = w.shape[0]
            if groups < 1 or m % groups:
                raise ConfigError(f"{node.label}: {m} output channels do not split into "
                                  f"{groups} groups")
            mg = m // groups
            mats = tuple(w[g * mg:(g + 1) * mg].reshape(mg, -1).T for g in range(groups))
        else:
            c = w.shape[0]
            if groups < 1 or c % groups:
                raise ConfigError(f"{node.label}: {c} input channels do not split into "
                                  f"{groups} groups")
            cg = c // groups
            mats = tuple(w[g * cg:(g + 1) * cg].reshape(cg, -1) for g in range(groups))
    if not all(np.all(np.isfinite(m)) for m in mats):
        raise ConfigError(f"{node.label}: its weight holds NaN or infinite values")
    node = Node(name=node.name, op=node.op, inputs=node.inputs, outputs=node.outputs,
                attrs=attrs)
    return Matrix(node=node, weights=tuple(np.ascontiguousarray(m) for m in mats))
