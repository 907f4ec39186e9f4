"""The NeRF / D-NeRF networks: shapes, the deformation's zero at t = 0, pruning, rank cuts,
parameter counts, and one forward pass shared by numpy and JAX."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cosim.workloads.field.encoder import EncoderConfig
from cosim.workloads.nerf.model import (
    Encodings,
    ModelConfig,
    NetConfig,
    SoftwareOps,
    compress,
    cut_rank,
    dense_equivalent,
    init_params,
    layer_names,
    n_params,
    prune,
    radiance,
    structure,
    time_frequencies,
)

SMALL = ModelConfig(position=EncoderConfig(kind="gaussian", n_frequencies=4, sigma=1.0),
                    direction=EncoderConfig(kind="gaussian", n_frequencies=2, sigma=0.5),
                    warp=EncoderConfig(kind="gaussian", n_frequencies=3, sigma=0.5),
                    canonical=NetConfig(depth=6, width=12, rank=4, skip=3), view_width=6,
                    deform=NetConfig(depth=3, width=10, rank=3, skip=0), time_frequencies=2)


def _encodings(cfg: ModelConfig, seed: int = 0) -> Encodings:
    rng = np.random.default_rng(seed)
    return Encodings(matrices={k: rng.normal(size=(e.n_frequencies, 3))
                               for k, e in replace(cfg, dynamic=True).encoders.items()},
                     time_frequencies=time_frequencies(cfg.time_frequencies))


def _inputs(n: int = 40, seed: int = 1):
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n, 3))
    return (rng.uniform(-1, 1, (n, 3)), d / np.linalg.norm(d, axis=1, keepdims=True),
            rng.uniform(0, 1, n))


def _randomised(p):
    """Nonzero biases and heads, so no output is trivially zero."""
    rng = np.random.default_rng(5)
    return {k: (v + rng.normal(0, 0.3, v.shape)).astype(np.float32) for k, v in p.items()}


def test_shapes_follow_the_paper_layout():
    p = init_params(SMALL, np.random.default_rng(0))
    f = SMALL.position.n_features  # 3 + 2 * 4
    assert p["canonical/W_0"].shape == (f, 12)
    assert p["canonical/U_3"].shape == (12 + f, 4)  # the skip: input joins layer 3's input
    assert p["canonical/U_2"].shape == (12, 4) and p["canonical/V_2"].shape == (4, 12)
    assert p["canonical/W_v"].shape == (12 + SMALL.direction.n_features, 6)
    assert p["canonical/W_c"].shape == (6, 3) and p["canonical/W_s"].shape == (12, 1)
    names = layer_names(SMALL)
    assert names[0] == "canonical/W_0" and names[-1] == "canonical/W_c"
    assert "deform/W_x" not in names
    dyn = replace(SMALL, dynamic=True)
    pd = init_params(dyn, np.random.default_rng(0))
    assert pd["deform/W_0"].shape == (3 + 2 * 3 + 1 + 2 * 2, 10)  # warp and time encodings
    assert pd["deform/W_x"].shape == (10, 3)
    assert layer_names(dyn)[0] == "deform/W_0"
    assert set(layer_names(dyn, pd)) == {k for k, v in pd.items() if v.ndim == 2}


def test_deformation_vanishes_at_time_zero():
    dyn = replace(SMALL, dynamic=True)
    p = _randomised(init_params(dyn, np.random.default_rng(0)))
    enc = _encodings(dyn)
    x, d, t = _inputs()
    canonical = {k: v for k, v in p.items() if k.startswith("canonical/")}
    s0, c0 = radiance(SoftwareOps(canonical, enc), SMALL, x, d, None)
    s, c = radiance(SoftwareOps(p, enc), dyn, x, d, np.zeros(len(x)))
    assert np.array_equal(s, s0) and np.array_equal(c, c0)
    s1, _ = radiance(SoftwareOps(p, enc), dyn, x, d, np.full(len(x), 0.7))
    assert np.abs(s1 - s0).max() > 1e-3  # it moves the scene at other times


def test_pruning_dead_neurons_keeps_the_function():
    p = _randomised(init_params(SMALL, np.random.default_rng(0)))
    dead = [1, 4, 7, 10]  # neurons of layer 2 with no outgoing weights
    p["canonical/U_3"][dead, :] = 0.0
    enc = _encodings(SMALL)
    x, d, _ = _inputs()
    s0, c0 = radiance(SoftwareOps(p, enc), SMALL, x, d, None)
    cut = prune(SMALL, p, 12, view_width=6)  # nothing to cut: the same parameters
    assert all(np.array_equal(cut[k], p[k]) for k in p)
    # with 4 dead neurons in every layer, pruning to 8 removes exactly those
    q = {k: v.copy() for k, v in p.items()}
    for nxt in ("canonical/U_1", "canonical/U_2", "canonical/U_4", "canonical/U_5",
                "canonical/U_f", "canonical/W_s"):  # out of layers 0, 1, 3, 4 and 5
        q[nxt][[0, 3, 5, 9], :] = 0.0
    q["canonical/U_3"][dead, :] = 0.0
    q["canonical/W_v"][[0, 3, 5, 9], :] = 0.0  # feature neurons
    sq, cq = radiance(SoftwareOps(q, enc), SMALL, x, d, None)
    cutq = prune(SMALL, q, 8, view_width=6)
    assert structure(cutq) == {"width": 8, "rank": 4, "view_width": 6}
    s1, c1 = radiance(SoftwareOps(cutq, enc), SMALL, x, d, None)
    assert np.abs(s1 - sq).max() < 1e-5 and np.abs(c1 - cq).max() < 1e-6
    assert np.abs(s0 - sq).max() > 1e-3  # the zeroed neurons did matter before


def test_rank_cut_is_exact_at_the_product_rank_and_counts_parameters():
    p = init_params(SMALL, np.random.default_rng(0))
    same = cut_rank(p, 4)
    assert all(np.array_equal(same[k], p[k]) for k in p)
    full = init_params(replace(SMALL, canonical=replace(SMALL.canonical, rank=0)),
                       np.random.default_rng(0))
    low = cut_rank(full, 12)  # full rank of a 12 x 12 matrix: exact factorisation
    prod = low["canonical/U_2"].astype(float) @ low["canonical/V_2"].astype(float)
    assert np.abs(prod - full["canonical/H_2"]).max() < 1e-5
    # parameters: dense = every matrix full, counted by hand for SMALL
    f, fd, w, v = 11, 7, 12, 6
    dense = (f * w + w) + 4 * (w * w + w) + ((w + f) * w + w) + (w + 1) + (w * w + w) \
        + ((w + fd) * v + v) + (v * 3 + 3)
    assert dense_equivalent(SMALL, p) == dense
    lowrank = dense - 4 * (w * w - 2 * w * 4) - ((w + f) * w - ((w + f) * 4 + 4 * w)) \
        - (w * w - 2 * w * 4)
    assert n_params(p) == lowrank
    small = compress(SMALL, p, 5, 2)
    assert structure(small) == {"width": 5, "rank": 2, "view_width": 2}
    assert n_params(small) < n_params(p) / 3


def test_compress_keeps_the_function_of_dead_neurons_and_low_rank_products():
    # 4 dead neurons in every layer of 12 and every U V product of rank 2: cutting to
    # width 8, rank 2 removes only what computes nothing (the re-factored products are
    # the same matrices), so the cut network computes what the full one did
    p = _randomised(init_params(SMALL, np.random.default_rng(0)))
    dead = [0, 3, 5, 9]
    for nxt in ("canonical/U_1", "canonical/U_2", "canonical/U_3", "canonical/U_4",
                "canonical/U_5", "canonical/U_f", "canonical/W_s", "canonical/W_v"):
        p[nxt][dead, :] = 0.0  # no weight out of the dead neurons (feature: into W_v)
    for u in ("canonical/U_1", "canonical/U_2", "canonical/U_3", "canonical/U_4",
              "canonical/U_5", "canonical/U_f"):
        p[u][:, 2:] = 0.0  # rank 2 of the product
    enc = _encodings(SMALL)
    x, d, _ = _inputs()
    s0, c0 = radiance(SoftwareOps(p, enc), SMALL, x, d, None)
    cut = compress(SMALL, p, 8, 2, view_width=6)
    assert structure(cut) == {"width": 8, "rank": 2, "view_width": 6}
    assert cut["canonical/U_3"].shape == (8 + SMALL.position.n_features, 2)  # the skip
    assert n_params(cut) < n_params(p)
    s1, c1 = radiance(SoftwareOps(cut, enc), SMALL, x, d, None)
    assert np.abs(s1 - s0).max() < 1e-5 * max(1.0, np.abs(s0).max())
    assert np.abs(c1 - c0).max() < 1e-6
    # a live neuron or a third singular value cut instead changes the output
    q = {k: v.copy() for k, v in p.items()}
    q["canonical/U_2"][:, 2] = 1.0
    s2, c2 = radiance(SoftwareOps(q, enc), SMALL, x, d, None)
    s3, c3 = radiance(SoftwareOps(compress(SMALL, q, 8, 2, view_width=6), enc), SMALL, x, d,
                      None)
    assert max(np.abs(s3 - s2).max(), np.abs(c3 - c2).max()) > 1e-3


@pytest.mark.slow
def test_jax_and_numpy_compute_the_same_network():
    import jax

    from cosim.workloads.nerf.train import JaxOps

    dyn = replace(SMALL, dynamic=True)
    p = _randomised(init_params(dyn, np.random.default_rng(0)))
    enc = _encodings(dyn)
    x, d, t = _inputs()
    s, c = radiance(SoftwareOps(p, enc), dyn, x, d, t)
    run = jax.jit(lambda q, x, d, t: radiance(JaxOps(q, enc), dyn, x, d, t))
    sj, cj = run(p, x.astype(np.float32), d.astype(np.float32), t.astype(np.float32))
    assert np.abs(np.asarray(sj) - s).max() < 1e-3 * max(1.0, np.abs(s).max())
    assert np.abs(np.asarray(cj) - c).max() < 1e-4
