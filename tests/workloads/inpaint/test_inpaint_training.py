"""Training the spiking VAE: one optimiser state through the thresholded and the sampled
phase, and kept in the checkpoint so that ``--resume`` goes on as if not interrupted."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import cosim.workloads.inpaint.network as network
from circuits.errors import ConfigError
from cosim.outputs.inpaint import load_checkpoint, save_checkpoint
from cosim.workloads.inpaint.experiment import InpaintRunConfig, Trained
from cosim.workloads.inpaint.network import VAEConfig, train
from cosim.workloads.spiking.popup import init_params, random_pair_weights
from tests.workloads.spiking.resume_checks import assert_trains_on_as_uninterrupted


def _images(n, seed=0):
    rng = np.random.default_rng(seed)
    target = rng.uniform(-1, 1, (n, 32, 32)).astype(np.float32)
    masked = target.copy()
    masked[:, 12:20, 12:20] = -1.0
    return masked, target


def _leaves(state):
    return [np.asarray(v) for v in jax.tree_util.tree_leaves(state)]


# one network config for every test here, so they share its two compiled training steps:
# one batch of four images an epoch, the first two epochs with the latent thresholded
CFG = VAEConfig(channels=2, latent=4, n_frames=1, batch_size=4, warmup_epochs=0.0, epochs=4,
                threshold_fraction=0.5, lr=1e-2)


@pytest.mark.slow
def test_the_sampled_phase_goes_on_with_the_thresholded_phase_optimiser_state(monkeypatch):
    """Adam's moments and step count run through the phase change: the first step of the
    sampled phase receives the state the last thresholded step returned. A fresh state
    there (its count pushed forward to the schedule's step) restarts the moments with their
    bias correction spent, which makes the first updates up to about 3x the schedule's
    rate."""
    calls = []
    trainer = network._trainer

    def recording(cfg, n_batches, sample):
        opt, update = trainer(cfg, n_batches, sample)

        def step(p, s, *args):
            out = update(p, s, *args)
            calls.append((sample, _leaves(s), _leaves(out[1])))
            return out

        return opt, step

    monkeypatch.setattr(network, "_trainer", recording)
    net = train(*_images(4), CFG)
    assert [c[0] for c in calls] == [False, False, True, True]
    _, state_in, _ = calls[2]
    _, _, state_out = calls[1]
    assert len(state_in) == len(state_out)
    for a, b in zip(state_in, state_out, strict=True):
        np.testing.assert_array_equal(a, b)
    # Adam's first moments are not zero where the sampled phase starts
    assert max(float(np.abs(a).max()) for a in state_in if a.ndim > 0) > 0
    # the state the network keeps is the last step's, its count the four steps
    kept = net.opt_state
    for a, b in zip(kept, calls[3][2], strict=True):
        np.testing.assert_array_equal(a, b)
    assert sorted(int(a) for a in kept if a.ndim == 0) == [4, 4]


@pytest.mark.slow
def test_a_run_resumed_from_its_checkpoint_trains_on_as_the_uninterrupted_one(tmp_path):
    """Trained one epoch, saved, loaded and trained on, the network is after its second
    epoch where two epochs in one go leave it (to float rounding: one batch of all images
    an epoch, its order shuffled differently; both epochs with the latent thresholded, so
    no latent draws). With Adam's moments restarted on resume, its bias correction makes
    the second step about a quarter smaller for a steady gradient."""
    masked, target = _images(4, seed=1)
    snaps, again = [], []
    train(masked, target, CFG, checkpoint=snaps.append)
    first, whole = snaps[0], snaps[1]
    assert len(first.history) == 1 and first.opt_state is not None
    run = InpaintRunConfig(net=CFG, n_train=4, n_test=1)
    save_checkpoint(tmp_path, Trained(net=first, baseline=None), run, "", None)
    loaded = load_checkpoint(tmp_path)[0].net
    for a, b in zip(loaded.opt_state, first.opt_state, strict=True):
        np.testing.assert_array_equal(a, b)
    train(masked, target, CFG, init=loaded, checkpoint=again.append)
    resumed = again[0]
    assert_trains_on_as_uninterrupted(first, whole, resumed, min_step=1e-3)


def test_an_optimiser_state_that_does_not_fit_the_network_is_refused():
    masked, target = _images(4, seed=2)
    fixed = random_pair_weights(CFG)
    params = {**init_params(CFG, fixed), "offset": [np.zeros((32, 32), np.float32)]}
    state = _leaves(network.optimizer(CFG, 1).init(params))
    for bad in (state[:-1], [np.zeros(3, np.float32)] + state[1:]):
        net = network.TrainedVAE(config=CFG, fixed=fixed, params=params,
                                 history=[{"epoch": 0}], opt_state=bad)
        with pytest.raises(ConfigError, match="optimiser state does not fit"):
            train(masked, target, CFG, init=net)
