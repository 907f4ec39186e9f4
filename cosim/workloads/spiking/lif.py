"""The iterative leaky integrate-and-fire neuron (PRIME paper eq. 1-2).

::

    u_t = tau * u_{t-1} * (1 - o_{t-1}) + x_t          (eq. 1: leak, hard reset, input)
    o_t = H(u_t - V_th)                                 (eq. 2: spike)

``H`` is the step function with ``H(0) = 0`` (a spike needs ``u_t > V_th``,
as the PRIME code's ``torch.gt``). Training differentiates through ``H`` with
a rectangular surrogate of width ``a``: ``dH/dv = 1/a`` for ``|v| < a/2``,
else 0 (PRIME: ``a = 1``; the code's ``lens = 0.5`` half-width).

Two implementations of the same step: :func:`lif_step` in JAX (training),
and :func:`lif_step_numpy` for the deployed timestep loop, where the
synaptic input comes from analog layers.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

SURROGATE_WIDTH = 1.0
"""PRIME paper: rectangular surrogate of width a = 1."""


@partial(jax.custom_vjp, nondiff_argnums=(1,))
def spike(v: jax.Array, width: float = SURROGATE_WIDTH) -> jax.Array:
    """``H(v)`` (1.0 where ``v > 0``) with the rectangular surrogate gradient."""
    return (v > 0).astype(v.dtype)


def _spike_fwd(v, width):
    return spike(v, width), v


def _spike_bwd(width, v, g):
    return (g * (jnp.abs(v) < 0.5 * width).astype(v.dtype) / width,)


spike.defvjp(_spike_fwd, _spike_bwd)


def lif_step(u_prev: jax.Array, o_prev: jax.Array, x: jax.Array, *, tau: float,
             v_th: float, width: float = SURROGATE_WIDTH) -> tuple[jax.Array, jax.Array]:
    """One timestep of eq. 1-2 in JAX; arrays of one shape. Returns ``(u_t, o_t)``."""
    u = tau * u_prev * (1.0 - o_prev) + x
    return u, spike(u - v_th, width)


def lif_step_numpy(u_prev: np.ndarray, o_prev: np.ndarray, x: np.ndarray, *, tau: float,
                   v_th: float) -> tuple[np.ndarray, np.ndarray]:
    """One timestep of eq. 1-2 in numpy (inference). Returns ``(u_t, o_t)``, ``u_t``
    computed as ``tau * u_prev * (1 - o_prev) + x`` in that order, in one new array."""
    u = np.multiply(u_prev, tau)
    u *= np.subtract(1.0, o_prev)
    u += x
    return u, (u > v_th).astype(u.dtype)

