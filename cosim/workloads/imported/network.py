"""Running an imported :class:`~cosim.workloads.imported.ir.Graph`: one pass, float or hardware.

:func:`run_graph` evaluates the nodes in order on one batch: the analog
operators through their :class:`~cosim.workloads.imported.matrices.Matrix`
unrolling with a matrix product the caller gives (exact float, or an analog
layer), the others by :mod:`.ops`. :func:`run_batches` feeds the inputs in
batches (the model's own batch size where its input fixes one) and joins the
outputs.

:class:`Tally` collects what a pass saw of each matrix: the largest input
(a layer's input scale), how many vectors it multiplied, and on hardware its
error against the exact product of the same inputs (max and RMS, and the
largest exact output, its full scale) and the inputs that saturated the DAC.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from circuits.errors import ConfigError
from cosim.workloads.imported.ir import Graph
from cosim.workloads.imported.matrices import MatMulFn, Matrix
from cosim.workloads.imported.ops import Work, run_op


@dataclass
class Tally:
    """What one pass saw of one matrix (all its groups).

    Attributes:
        input_max: largest ``|input|`` per group.
        vectors: input vectors multiplied (all groups).
        out_max: largest ``|exact output|`` (the layer's full scale).
        err_max: largest ``|output - exact output|``.
        err_sq: summed squared error; ``err_n`` the outputs it covers.
        saturated: input values beyond the layer's input scale (clipped).
        inputs: input values seen.
    """

    input_max: dict[int, float] = field(default_factory=dict)
    vectors: int = 0
    out_max: float = 0.0
    err_max: float = 0.0
    err_sq: float = 0.0
    err_n: int = 0
    saturated: int = 0
    inputs: int = 0

    def see(self, group: int, x: np.ndarray) -> None:
        m = float(np.max(np.abs(x))) if x.size else 0.0
        self.input_max[group] = max(self.input_max.get(group, 0.0), m)
        self.vectors += x.shape[0]
        self.inputs += x.size

    def compare(self, y: np.ndarray, exact: np.ndarray) -> None:
        d = np.abs(y - exact)
        if d.size:
            self.out_max = max(self.out_max, float(np.max(np.abs(exact))))
            self.err_max = max(self.err_max, float(np.max(d)))
        self.err_sq += float(np.sum(d * d))
        self.err_n += d.size

    @property
    def max_rel(self) -> float:
        """Largest error, a fraction of the full scale."""
        return self.err_max / self.out_max if self.out_max > 0 else 0.0

    @property
    def rms_rel(self) -> float:
        """RMS error, a fraction of the full scale."""
        if not self.err_n or self.out_max == 0:
            return 0.0
        return float(np.sqrt(self.err_sq / self.err_n)) / self.out_max


def run_graph(graph: Graph, matrices: Mapping[str, Matrix], x: np.ndarray,
              mm: Callable[[str], MatMulFn], work: dict[str, Work]) -> list[np.ndarray]:
    """The outputs of ``graph`` on the batch ``x``; each operator's work is added to ``work``.

    Args:
        graph: the network.
        matrices: the analog operators' matrices, by node name.
        x: the batch for the graph's one input.
        mm: ``mm(node name)`` gives that node's matrix product ``(group, rows) -> outputs``.
        work: digital work per operator type, updated.
    """
    values: dict[str, np.ndarray] = dict(graph.constants)
    values[graph.inputs[0].name] = x
    for node in graph.nodes:
        args = [values[t] if t else None for t in node.inputs]
        if node.name in matrices:
            y, w = matrices[node.name].apply(args, mm(node.name))
            outs = [y]
        else:
            outs, w = run_op(node, args, graph.opset)
        work[node.op] = work.get(node.op, Work()) + w
        for name, v in zip(node.outputs, outs, strict=False):
            if name:
                values[name] = v
    return [np.asarray(values[t.name]) for t in graph.outputs]


def batch_size(graph: Graph, n: int, default: int) -> int:
    """Inputs per pass: the model's fixed batch size, else ``default``.

    Raises:
        ConfigError: a fixed batch size that does not divide the inputs.
    """
    fixed = graph.inputs[0].shape[0] if graph.inputs[0].shape else None
    if fixed is None:
        return max(1, min(default, n))
    if n % fixed:
        raise ConfigError(f"the model's input fixes a batch of {fixed}; {n} inputs are not a "
                          "multiple of it")
    return fixed


def run_batches(graph: Graph, matrices: Mapping[str, Matrix], x: np.ndarray, batch: int,
                mm: Callable[[str], MatMulFn], work: dict[str, Work],
                progress: Callable[[int], None] | None = None) -> list[np.ndarray]:
    """:func:`run_graph` over ``x`` in batches of ``batch``; outputs joined along axis 0.

    Raises:
        ConfigError: an output that does not keep the batch axis.
    """
    parts: list[list[np.ndarray]] = []
    for start in range(0, len(x), batch):
        xb = x[start:start + batch]
        outs = run_graph(graph, matrices, xb, mm, work)
        for spec, o in zip(graph.outputs, outs, strict=True):
            if o.ndim == 0 or o.shape[0] != len(xb):
                raise ConfigError(f"output {spec.name!r} has shape {o.shape} for a batch of "
                                  f"{len(xb)}: it does not keep the batch axis")
        parts.append(outs)
        if progress is not None:
            progress(len(xb))
    return [np.concatenate([p[i] for p in parts]) for i in range(len(graph.outputs))]
