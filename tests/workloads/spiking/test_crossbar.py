"""Convolutions as crossbar matrices against JAX's own convolutions (an independent path)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cosim.workloads.spiking.crossbar import (
    conv_s2_jax,
    im2col,
    max_pool,
    overlap_add,
    tconv_s2_jax,
)


def _kernel(rng, c_out, c_in):
    return rng.normal(size=(c_out, c_in, 3, 3)).astype(np.float32)  # OIHW


def _lax_conv(x_nchw, k_oihw, stride, pad):
    return np.asarray(jax.lax.conv_general_dilated(
        jnp.asarray(x_nchw), jnp.asarray(k_oihw), (stride, stride), [(pad, pad), (pad, pad)],
        dimension_numbers=("NCHW", "OIHW", "NCHW")))


def _lax_tconv(x_nchw, k_oihw):
    """PyTorch ConvTranspose2d(k=3, stride=2, padding=1, output_padding=1), written as the
    gradient-style dilated convolution: dilate the input by 2, pad (k-1-p, k-1-p+op) =
    (1, 2), convolve with the flipped kernel whose in/out channels are swapped."""
    k = jnp.asarray(k_oihw)[:, :, ::-1, ::-1]  # torch weight (C_in, C_out, kh, kw) -> flipped
    return np.asarray(jax.lax.conv_general_dilated(
        jnp.asarray(x_nchw), k.transpose(1, 0, 2, 3), (1, 1), [(1, 2), (1, 2)],
        lhs_dilation=(2, 2), dimension_numbers=("NCHW", "OIHW", "NCHW")))


@pytest.mark.slow  # JAX compiles
def test_im2col_stride2_matches_lax_convolution():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 8, 8)).astype(np.float32)
    k = _kernel(rng, 4, 3)
    w = k.reshape(4, -1).T  # rows (channel, dy, dx), one column per kernel
    got = (im2col(x, 3, stride=2, pad=1) @ w).reshape(2, 4, 4, 4).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got, _lax_conv(x, k, 2, 1), rtol=1e-4, atol=1e-4)
    got_jax = np.asarray(conv_s2_jax(jnp.asarray(x.transpose(0, 2, 3, 1)), jnp.asarray(w)))
    np.testing.assert_allclose(got_jax.transpose(0, 3, 1, 2), _lax_conv(x, k, 2, 1),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.slow  # JAX compiles
def test_transposed_convolution_matches_lax_and_doubles_the_size():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 4, 4)).astype(np.float32)
    kt = rng.normal(size=(3, 5, 3, 3)).astype(np.float32)  # torch layout (C_in, C_out, kh, kw)
    w = kt.transpose(0, 2, 3, 1).reshape(3, -1)  # columns (dy, dx, channel)
    ref = _lax_tconv(x, kt)
    assert ref.shape == (2, 5, 8, 8)
    got = overlap_add((x.transpose(0, 2, 3, 1) @ w), 3, 2, 1)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
    got_jax = np.asarray(tconv_s2_jax(jnp.asarray(x.transpose(0, 2, 3, 1)), jnp.asarray(w)))
    np.testing.assert_allclose(got_jax.transpose(0, 3, 1, 2), ref, rtol=1e-4, atol=1e-4)


def test_transposed_convolution_is_the_adjoint_of_the_convolution():
    """<conv(x), y> = <x, conv^T(y)>: a relation independent of either implementation."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1, 3, 8, 8)).astype(np.float32)
    y = rng.normal(size=(1, 4, 4, 4)).astype(np.float32)
    k = _kernel(rng, 4, 3)
    wc = k.reshape(4, -1).T  # (3*9, 4)
    conv = (im2col(x, 3, 2, 1) @ wc).reshape(1, 4, 4, 4).transpose(0, 3, 1, 2)
    # the transposed matrix (4, (dy, dx, channel)) of the same kernel
    wt = k.transpose(0, 2, 3, 1).reshape(4, -1)
    tconv = overlap_add(y.transpose(0, 2, 3, 1) @ wt, 3, 2, 1)
    assert tconv.shape == x.shape
    assert np.isclose(float((conv * y).sum()), float((x * tconv).sum()), rtol=1e-4)


@pytest.mark.parametrize("p", [2, 3])
def test_max_pool_is_the_maximum_of_each_window(p):
    """Against the window maxima one by one; odd sides drop their last row and column."""
    v = np.random.default_rng(1).normal(size=(2, 3, 11, 9))
    got = max_pool(v, p)
    h2, w2 = 11 // p, 9 // p
    want = np.array([[[[v[b, c, p * i:p * i + p, p * j:p * j + p].max() for j in range(w2)]
                       for i in range(h2)] for c in range(3)] for b in range(2)])
    np.testing.assert_array_equal(got, want)
