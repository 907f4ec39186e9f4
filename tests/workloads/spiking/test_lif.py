"""LIF neuron (PRIME eq. 1-2) against a hand-computed sequence; surrogate gradient."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cosim.workloads.spiking.lif import lif_step, lif_step_numpy, spike

X = [0.6, 0.6, 0.6, 1.2, 0.0, 2.0]
# tau = 0.5, V_th = 1, by hand:
# u1 = 0.6            o1 = 0
# u2 = 0.5*0.6 + 0.6 = 0.9              o2 = 0
# u3 = 0.5*0.9 + 0.6 = 1.05             o3 = 1
# u4 = 0.5*1.05*(1-1) + 1.2 = 1.2       o4 = 1
# u5 = 0.5*1.2*(1-1) + 0 = 0            o5 = 0
# u6 = 0.5*0 + 2.0 = 2.0                o6 = 1
U = [0.6, 0.9, 1.05, 1.2, 0.0, 2.0]
SPIKES = [0, 0, 1, 1, 0, 1]


def _run(step):
    u, o, us, os_ = 0.0, 0.0, [], []
    for x in X:
        u, o = step(np.float64(u), np.float64(o), np.float64(x), tau=0.5, v_th=1.0)
        us.append(float(u))
        os_.append(int(o))
    return us, os_


def test_numpy_lif_matches_hand_sequence():
    us, os_ = _run(lif_step_numpy)
    np.testing.assert_allclose(us, U, atol=1e-12)
    assert os_ == SPIKES


def test_jax_lif_matches_hand_sequence():
    us, os_ = _run(lambda *a, **k: lif_step(*(jnp.asarray(v, jnp.float32) for v in a), **k))
    np.testing.assert_allclose(us, U, atol=1e-6)
    assert os_ == SPIKES


def test_threshold_is_strict():
    _, o = lif_step_numpy(np.zeros(1), np.zeros(1), np.ones(1), tau=0.5, v_th=1.0)
    assert o[0] == 0.0


@pytest.mark.slow
def test_rectangular_surrogate_width_one():
    v = jnp.array([-0.7, -0.49, 0.0, 0.3, 0.49, 0.51, 2.0])
    g = jax.grad(lambda v: spike(v).sum())(v)
    np.testing.assert_array_equal(np.asarray(g), [0, 1, 1, 1, 1, 0, 0])
    g2 = jax.grad(lambda v: spike(v, 2.0).sum())(v)
    np.testing.assert_allclose(np.asarray(g2), [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0])
    np.testing.assert_array_equal(np.asarray(spike(v)), [0, 0, 0, 1, 1, 1, 1])


@pytest.mark.slow
def test_gradient_flows_through_time_and_the_reset():
    # d u2 / d x1 = tau * (1 - o1) - tau * u1 * d o1/d u1 (reset path, surrogate 1 near V_th)
    def u2(x1):
        u1, o1 = lif_step(0.0, 0.0, x1, tau=0.5, v_th=1.0)
        u, _ = lif_step(u1, o1, 0.0, tau=0.5, v_th=1.0)
        return u
    assert float(jax.grad(u2)(0.4)) == 0.5  # u1 - V_th = -0.6: outside the surrogate
    np.testing.assert_allclose(float(jax.grad(u2)(1.2)), -0.6, atol=1e-6)  # 0 - 0.5*1.2
    np.testing.assert_allclose(float(jax.grad(u2)(0.8)), 0.1, atol=1e-6)  # 0.5 - 0.5*0.8*1
