"""HAPO: rank cuts by SVD, a quick grid (cells, bits, pruning), the optimum of the objective."""

from __future__ import annotations

import numpy as np
import pytest

from circuits.errors import ConfigError
from cosim.hardware.presets import preset
from cosim.workloads.field.encoder import EncoderConfig
from cosim.workloads.field.field import FieldConfig, prepare, train_field
from cosim.workloads.field.hapo import HapoConfig, choose, run_hapo
from cosim.workloads.field.mlp import MLPConfig, TrainConfig, forward, init_params, truncate_rank
from tests.hardware_helpers import sim

PAPER = (preset("paper"), sim(backend="ideal"))
"""The field's default hardware, read by the ideal backend (the old default)."""


def test_rank_cut_is_the_best_low_rank_approximation():
    cfg = MLPConfig(width=12, rank=6)
    p = init_params(cfg, 5, np.random.default_rng(0))
    m = p["U1"].astype(float) @ p["V1"].astype(float)
    s = np.linalg.svd(m, compute_uv=False)
    q = truncate_rank(p, 2)
    assert q["U1"].shape == (12, 2) and q["V1"].shape == (2, 12)
    err = np.linalg.norm(q["U1"].astype(float) @ q["V1"].astype(float) - m)
    assert err == pytest.approx(np.sqrt(np.sum(s[2:] ** 2)), rel=1e-5)  # Eckart-Young
    same = truncate_rank(p, 6)  # already at rank 6: kept
    np.testing.assert_array_equal(same["U1"], p["U1"])
    full = init_params(MLPConfig(width=8, rank=0), 5, np.random.default_rng(1))
    cut = truncate_rank(full, 8)  # a full matrix becomes an exact pair
    f = np.random.default_rng(2).uniform(-1, 1, (20, 5))
    np.testing.assert_allclose(forward(cut, f, MLPConfig(width=8, rank=8)),
                               forward(full, f, MLPConfig(width=8, rank=0)), atol=1e-5)


@pytest.mark.slow
def test_quick_grid():
    cfg = FieldConfig(phantom_shape=(3, 16, 16),
                            encoder=EncoderConfig(n_frequencies=8, sigma=2.0),
                            mlp=MLPConfig(width=16, rank=4),
                            training=TrainConfig(steps=60, batch=0, learning_rate=3e-3))
    prep = prepare(cfg, *PAPER)
    params = train_field(cfg, prep).params
    h = HapoConfig(bits_input=(3, 14), bits_hidden=(14,), bits_output=(3, 12),
                   amp_ratios=(1.5,), keep=(1.0, 0.5), finetune_steps=10, eval_voxels=500)
    res = run_hapo(cfg, *PAPER, prep, params, h)
    assert len(res.rows) == h.points == 8
    rows = {(r["bits_input"], r["bits_output"], r["keep"]): r for r in res.rows}
    n_in = 3 + 2 * 8
    for (bi, bo, keep), r in rows.items():
        w = 16 if keep == 1.0 else 8
        assert r["width"] == w and r["rank"] == 4
        # HAQ: one cell per bit of every weight (inputs, U/V pair, output)
        assert r["cells"] == n_in * w * bi + 2 * w * 4 * 14 + w * bo
    full = rows[(14, 12, 1.0)]
    assert full["psnr_haq"] > rows[(3, 12, 1.0)]["psnr_haq"] + 3
    assert full["psnr_haq"] > rows[(14, 3, 1.0)]["psnr_haq"] + 3
    assert abs(full["psnr_haq"] - full["psnr_software"]) < 1.5
    # the objective: no penalty picks the best PSNR, a steep one the fewest cells
    assert res.rows[choose(res.rows, 0.0)]["psnr_haq"] == max(r["psnr_haq"] for r in res.rows)
    assert res.rows[choose(res.rows, 100.0)]["cells"] == min(r["cells"] for r in res.rows)
    assert "objective" in res.summary()["hapo_optimum"]


@pytest.mark.parametrize("kw, match", [
    ({"bits_hidden": (20,)}, "hidden bits must be"),
    ({"bits_input": ()}, "empty"),
    ({"amp_ratios": (0.5,)}, "amplification ratio"),
    ({"keep": (0.0,)}, "kept fraction"),
    ({"penalty_db": float("nan")}, "penalty"),
    ({"ranks": (4, 4)}, "repeat"),
])
def test_bad_grids(kw, match):
    with pytest.raises(ConfigError, match=match):
        HapoConfig(**kw)
