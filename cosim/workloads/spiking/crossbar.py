"""Convolutions and transposed convolutions as crossbar matrices.

**Convolution** (the usual im2col): a ``k x k`` kernel with ``c_in`` input and
``c_out`` output channels is the matrix ``(c_in k k, c_out)``: each kernel one
column, each row one (channel, dy, dx) tap, rows channel-major. At every
timestep the input is unrolled into one patch per output position
(:func:`im2col`) and each patch is one matrix-vector product on the array.

**Transposed convolution** (stride ``s``, padding ``p``, output padding
``s - 1``, as PyTorch's ``ConvTranspose2d(k, s, p, s - 1)``): the matrix is
``(c_in, k k c_out)``, columns ordered (dy, dx, channel): every *input*
position's channel vector is one matrix-vector product, giving its ``k x k``
footprint of output contributions, which are added where footprints overlap
(:func:`overlap_add`, digital adds). No zero is ever driven onto a row, which
a transposed convolution written as a convolution of a zero-stuffed input would
do for three rows in four at stride 2.

Both come twice: numpy on ``(B, C, H, W)`` maps (the deployed loop, where the
products come from analog layers) and JAX on channels-last ``(B, H, W, C)``
maps (training), the latter written as shifted slices, concatenations and
reshapes around one matmul, whose gradients are cheap on a CPU, unlike those
of strided slices and scatters. The tests compare both with
``jax.lax.conv_general_dilated`` and ``jax.lax.conv_transpose``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def im2col(v: np.ndarray, k: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """Patches ``(B * H' * W', C * k * k)`` of ``v (B, C, H, W)``, rows in ``(b, y, x)``
    order, features channel-major then ``dy``, ``dx``; ``pad`` zeros on every side, then
    the windows every ``stride`` pixels (``H' = (H + 2 pad - k) // stride + 1``)."""
    if pad:
        v = np.pad(v, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(v, (k, k), axis=(2, 3))  # B C H' W' k k
    if stride > 1:
        win = win[:, :, ::stride, ::stride]
    b, c, h, w = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(b * h * w, c * k * k)


def max_pool(v: np.ndarray, p: int) -> np.ndarray:
    """``p x p`` max pooling, stride ``p``, valid (``v (B, C, H, W)``): the elementwise
    maximum of the ``p * p`` strided views (the maxima a reduction over each window gives,
    without its copy of the windows)."""
    _, _, h, w = v.shape
    h2, w2 = h // p, w // p
    out = v[:, :, 0:h2 * p:p, 0:w2 * p:p].copy()
    for dy in range(p):
        for dx in range(p):
            if dy or dx:
                np.maximum(out, v[:, :, dy:h2 * p:p, dx:w2 * p:p], out=out)
    return out


def overlap_add(y: np.ndarray, k: int, stride: int, pad: int) -> np.ndarray:
    """The output ``(B, C, H_out, W_out)`` of a transposed convolution from its footprints.

    Input position ``i`` adds its tap ``dy`` to output row ``stride * i + dy - pad``
    (columns alike), with output padding ``stride - 1``:
    ``H_out = (H - 1) stride - 2 pad + k + stride - 1`` (``2 H`` for ``k = 3``,
    ``stride = 2``, ``pad = 1``).

    Args:
        y: ``(B, H, W, k * k * C)``: each input position's products, columns ordered
            (dy, dx, channel) as the matrix of the module docstring.
        k, stride, pad: kernel, stride and padding.
    """
    b, h, w, n = y.shape
    c = n // (k * k)
    y = y.reshape(b, h, w, k, k, c)
    out_h = (h - 1) * stride - 2 * pad + k + stride - 1
    out_w = (w - 1) * stride - 2 * pad + k + stride - 1
    canvas = np.zeros((b, c, stride * h + k, stride * w + k), dtype=y.dtype)
    for dy in range(k):
        for dx in range(k):
            canvas[:, :, dy:dy + stride * h:stride, dx:dx + stride * w:stride] += \
                y[:, :, :, dy, dx].transpose(0, 3, 1, 2)
    return canvas[:, :, pad:pad + out_h, pad:pad + out_w]


def conv_s2_jax(v: jax.Array, w: jax.Array) -> jax.Array:
    """3 x 3 convolution, stride 2, padding 1, of channels-last ``v (B, H, W, C)`` (``H``,
    ``W`` even) with the crossbar matrix ``w (C * 9, C_out)`` (rows channel-major):
    ``(B, H / 2, W / 2, C_out)``, the products :func:`im2col` ``(v, 3, 2, 1) @ w`` gives."""
    b, h, wd, c = v.shape
    ho, wo = h // 2, wd // 2
    vp = jnp.pad(v, ((0, 0), (1, 1), (1, 1), (0, 0))).reshape(b, ho + 1, 2, wo + 1, 2, c)
    taps = [vp[:, dy // 2:dy // 2 + ho, dy % 2, dx // 2:dx // 2 + wo, dx % 2, :]
            for dy in range(3) for dx in range(3)]
    # the taps come (dy, dx, channel); the matrix's rows are channel-major
    wp = w.reshape(c, 9, -1).transpose(1, 0, 2).reshape(9 * c, -1)
    return jnp.concatenate(taps, axis=-1) @ wp


def _next(a: jax.Array, axis: int) -> jax.Array:
    """``a[m + 1]`` along ``axis``, zero past the end."""
    zero = jnp.zeros_like(jax.lax.slice_in_dim(a, 0, 1, axis=axis))
    return jnp.concatenate([jax.lax.slice_in_dim(a, 1, a.shape[axis], axis=axis), zero],
                           axis=axis)


def tconv_s2_jax(v: jax.Array, w: jax.Array) -> jax.Array:
    """3 x 3 transposed convolution, stride 2, padding 1, output padding 1, of channels-last
    ``v (B, H, W, C)`` with the crossbar matrix ``w (C, 9 * C_out)`` (columns (dy, dx,
    channel)): ``(B, 2 H, 2 W, C_out)``, what :func:`overlap_add` makes of ``v @ w``.

    Output pixel ``2 m + a`` (rows; columns alike) gets tap ``dy = 1`` of input ``m``
    when ``a = 0``, and taps ``dy = 2`` of input ``m`` and ``dy = 0`` of input ``m + 1``
    when ``a = 1``.
    """
    b, h, wd, _ = v.shape
    taps = jnp.split(v @ w, 9, axis=-1)
    tap = [[taps[3 * dy + dx] for dx in range(3)] for dy in range(3)]
    rows = []
    for a in (0, 1):
        r = [tap[1][dx] if a == 0 else tap[2][dx] + _next(tap[0][dx], 1) for dx in range(3)]
        rows.append(jnp.stack([r[1], r[2] + _next(r[0], 2)], axis=3))  # (B, H, W, 2, C)
    return jnp.stack(rows, axis=2).reshape(b, 2 * h, 2 * wd, -1)
