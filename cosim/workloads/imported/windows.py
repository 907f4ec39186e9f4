"""Sliding windows over the spatial axes of ``(N, C, *spatial)`` tensors, as ONNX defines them.

One geometry (:func:`window_geometry`) serves convolution (im2col, :func:`im2col`),
pooling (:func:`windows`) and transposed convolution (:func:`col2im`): kernel
size, strides, dilations, explicit ``pads`` (``[x1_begin, x2_begin, ...,
x1_end, x2_end, ...]``) or ``auto_pad`` (``SAME_UPPER``, ``SAME_LOWER``, ``VALID``)
and ``ceil_mode`` (pooling), following the ONNX operator definitions of Conv,
ConvTranspose, MaxPool and AveragePool.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from circuits.errors import ConfigError

AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


@dataclass(frozen=True, kw_only=True)
class Geometry:
    """Where the windows of one operator lie.

    Attributes:
        kernel: window size per spatial axis.
        strides: step per spatial axis.
        dilations: spacing of a window's taps per spatial axis.
        pad_begin, pad_end: padding before and after each spatial axis; ``pad_end``
            includes what ``ceil_mode`` adds.
        pad_ceil: the part of ``pad_end`` that ``ceil_mode`` adds (an average
            window never counts it).
        out: output size per spatial axis.
    """

    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    pad_begin: tuple[int, ...]
    pad_end: tuple[int, ...]
    pad_ceil: tuple[int, ...]
    out: tuple[int, ...]

    @property
    def span(self) -> tuple[int, ...]:
        """Extent of one window (taps and the gaps between them)."""
        return tuple((k - 1) * d + 1 for k, d in zip(self.kernel, self.dilations, strict=True))


def ints(value, n: int, default: int, what: str) -> tuple[int, ...]:
    """An attribute of ``n`` integers (``default`` each when absent)."""
    if value is None:
        return (default,) * n
    out = tuple(int(v) for v in value)
    if len(out) != n:
        raise ConfigError(f"{what} has {len(out)} values for {n} spatial axes")
    return out


def window_geometry(spatial: tuple[int, ...], kernel: tuple[int, ...], *, strides=None,
                    dilations=None, pads=None, auto_pad: str = "NOTSET",
                    ceil_mode: bool = False, what: str = "window") -> Geometry:
    """The windows of ``kernel`` over an input of spatial size ``spatial`` (ONNX rules).

    ``SAME_UPPER``/``SAME_LOWER``: ``out = ceil(in / stride)``, the padding that
    needs split evenly, the odd one at the end (``UPPER``) or the beginning
    (``LOWER``). ``VALID``: no padding. ``NOTSET``: ``pads``. ``ceil_mode``
    rounds the output size up, a window that would start in the end padding
    dropped (as the ONNX reference implementation and PyTorch do).

    Raises:
        ConfigError: an unknown ``auto_pad``, a non-positive size, or windows that
            do not fit.
    """
    n = len(spatial)
    kernel = tuple(int(k) for k in kernel)
    strides = ints(strides, n, 1, f"{what} strides")
    dilations = ints(dilations, n, 1, f"{what} dilations")
    if auto_pad not in AUTO_PADS:
        raise ConfigError(f"{what}: auto_pad {auto_pad!r} is not one of {', '.join(AUTO_PADS)}")
    if min(kernel + strides + dilations) < 1:
        raise ConfigError(f"{what}: kernel, strides and dilations must be >= 1")
    span = tuple((k - 1) * d + 1 for k, d in zip(kernel, dilations, strict=True))
    begin, end, out, extra_pad = [], [], [], []
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        for i in range(n):
            o = -(-spatial[i] // strides[i])
            total = max((o - 1) * strides[i] + span[i] - spatial[i], 0)
            small, large = total // 2, total - total // 2
            begin.append(small if auto_pad == "SAME_UPPER" else large)
            end.append(large if auto_pad == "SAME_UPPER" else small)
            out.append(o)
            extra_pad.append(0)
    else:
        p = [0] * (2 * n) if auto_pad == "VALID" else list(ints(pads, 2 * n, 0, f"{what} pads"))
        if min(p) < 0:
            raise ConfigError(f"{what}: negative pads are not handled")
        for i in range(n):
            room = spatial[i] + p[i] + p[n + i] - span[i]
            if room < 0:
                raise ConfigError(f"{what}: a window of {span[i]} does not fit an input of "
                                  f"{spatial[i]} (padded {spatial[i] + p[i] + p[n + i]})")
            o = (-(-room // strides[i]) if ceil_mode else room // strides[i]) + 1
            if ceil_mode and (o - 1) * strides[i] >= spatial[i] + p[i]:
                o -= 1  # the last window would start in the end padding
            extra = max((o - 1) * strides[i] + span[i] - (spatial[i] + p[i] + p[n + i]), 0)
            begin.append(p[i])
            end.append(p[n + i] + extra)
            out.append(o)
            extra_pad.append(extra)
    if min(out) < 1:
        raise ConfigError(f"{what}: the output would be empty")
    return Geometry(kernel=kernel, strides=strides, dilations=dilations,
                    pad_begin=tuple(begin), pad_end=tuple(end), pad_ceil=tuple(extra_pad),
                    out=tuple(out))


def padded(x: np.ndarray, g: Geometry, fill: float = 0.0) -> np.ndarray:
    """``x (N, C, *spatial)`` with the geometry's padding (holding ``fill``) around it."""
    if not (any(g.pad_begin) or any(g.pad_end)):
        return x
    pad = [(0, 0)] * (x.ndim - len(g.kernel)) + list(zip(g.pad_begin, g.pad_end, strict=True))
    return np.pad(x, pad, constant_values=fill)


def windows(x: np.ndarray, g: Geometry, fill: float = 0.0, *, pad: bool = True
            ) -> np.ndarray:
    """Every window of ``x (N, C, *spatial)``: ``(N, C, *out, *kernel)`` (a view where possible).

    Padding holds ``fill``; ``pad=False``: ``x`` is padded already (:func:`padded`).
    """
    n_sp = len(g.kernel)
    if pad:
        x = padded(x, g, fill)
    axes = tuple(range(x.ndim - n_sp, x.ndim))
    win = np.lib.stride_tricks.sliding_window_view(x, g.span, axis=axes)
    index = ((slice(None),) * (x.ndim - n_sp)
             + tuple(slice(None, (o - 1) * s + 1, s) for o, s in zip(g.out, g.strides,
                                                                    strict=True))
             + tuple(slice(None, None, d) for d in g.dilations))
    return win[index]


def im2col(x: np.ndarray, g: Geometry) -> np.ndarray:
    """Patches ``(N * prod(out), C * prod(kernel))`` of ``x (N, C, *spatial)``: rows in
    ``(n, *out)`` order, features channel-major then kernel position (the layout of an
    ONNX Conv weight ``(M, C, *kernel)`` flattened)."""
    w = windows(x, g)
    n, c = x.shape[:2]
    n_sp = len(g.kernel)
    order = (0, *range(2, 2 + n_sp), 1, *range(2 + n_sp, 2 + 2 * n_sp))
    return w.transpose(order).reshape(n * math.prod(g.out), c * math.prod(g.kernel))


def col2im(cols: np.ndarray, n: int, spatial_in: tuple[int, ...], m: int,
           kernel: tuple[int, ...], strides: tuple[int, ...], dilations: tuple[int, ...],
           full: tuple[int, ...]) -> np.ndarray:
    """Scatter-add of a transposed convolution.

    Args:
        cols: ``(n * prod(spatial_in), m * prod(kernel))``: for every input
            position, its contribution to each output channel and kernel tap.
        n, spatial_in: batch and input spatial size.
        m: output channels.
        kernel, strides, dilations: of the operator.
        full: the uncropped output size per axis,
            ``stride * (in - 1) + (k - 1) * dilation + 1 + output_padding``.

    Returns:
        ``(n, m, *full)``: input position ``p`` adds tap ``k`` at ``p * stride + k * dilation``.
    """
    n_sp = len(kernel)
    c = cols.reshape(n, *spatial_in, m, *kernel)
    # move to (n, m, *kernel, *spatial_in)
    c = c.transpose(0, 1 + n_sp, *range(2 + n_sp, 2 + 2 * n_sp), *range(1, 1 + n_sp))
    y = np.zeros((n, m, *full), dtype=cols.dtype)
    for tap in np.ndindex(*kernel):
        index = (slice(None), slice(None)) + tuple(
            slice(t * d, t * d + (i - 1) * s + 1, s)
            for t, d, s, i in zip(tap, dilations, strides, spatial_in, strict=True))
        y[index] += c[(slice(None), slice(None), *tap)]
    return y
