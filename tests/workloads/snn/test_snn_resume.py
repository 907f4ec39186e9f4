"""``--resume`` of SNN training goes on with the optimiser state its checkpoint kept, as if
the run had not been interrupted."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from circuits.errors import ConfigError
from cosim.outputs.snn import load_checkpoint, save_checkpoint
from cosim.workloads.snn.experiment import SNNRunConfig
from cosim.workloads.snn.network import SNNConfig, TrainedSNN, optimizer, train
from cosim.workloads.spiking.popup import init_params, random_pair_weights
from tests.workloads.spiking.resume_checks import assert_trains_on_as_uninterrupted

# one batch of all samples an epoch, so the two runs differ only in their shuffled order
CFG = SNNConfig(sizes=(2312, 6, 3), n_frames=2, epochs=2, batch_size=12, seed=5, lr=1e-2,
                warmup_epochs=0.0)


def _frames(n=12, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    fr = (rng.random((n, 2, 2, 34, 34)) < 0.05).astype(np.float32)
    for i, c in enumerate(labels):
        fr[i, :, 0, 10 * c:10 * c + 8, 5:25] += rng.random((2, 8, 20)) < 0.4
    return fr, labels


@pytest.mark.slow
def test_a_run_resumed_from_its_checkpoint_trains_on_as_the_uninterrupted_one(tmp_path):
    """Trained one epoch, saved, loaded and trained on, the network is after its second
    epoch where two epochs in one go leave it (to float rounding). With Adam's moments
    restarted on resume, its bias correction makes the second step about 3x the
    schedule's rate for a steady gradient, far outside this bound."""
    fr, lab = _frames()
    snaps, again = [], []
    train(fr, lab, CFG, checkpoint=snaps.append)
    first, whole = snaps
    assert len(first.history) == 1 and first.opt_state is not None
    save_checkpoint(tmp_path, first, SNNRunConfig(net=CFG, n_train=12, n_test=1), "")
    loaded = load_checkpoint(tmp_path)[0]
    assert len(loaded.opt_state) == len(first.opt_state)
    for a, b in zip(loaded.opt_state, first.opt_state, strict=True):
        np.testing.assert_array_equal(a, b)
    train(fr, lab, CFG, init=loaded, checkpoint=again.append)
    (resumed,) = again
    assert_trains_on_as_uninterrupted(first, whole, resumed, min_step=1e-4)


def test_an_optimiser_state_that_does_not_fit_the_network_is_refused():
    fr, lab = _frames(seed=2)
    fixed = random_pair_weights(CFG)
    params = init_params(CFG, fixed)
    state = [np.asarray(v) for v in jax.tree_util.tree_leaves(optimizer(CFG, 1).init(params))]
    for bad in (state[:-1], [np.zeros(3, np.float32)] + state[1:]):
        net = TrainedSNN(config=CFG, fixed=fixed, params=params, history=[{"epoch": 0}],
                         opt_state=bad)
        with pytest.raises(ConfigError, match="optimiser state does not fit"):
            train(fr, lab, CFG, init=net)
