"""The inpainting workload: data preparation and its checks, the deployed loop against the
JAX network, early stop, the classifier score's formula."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from circuits.errors import ConfigError
from cosim.hardware.presets import preset
from cosim.workloads.inpaint.classifier import Classifier
from cosim.workloads.inpaint.data import inpainting_set, load_images
from cosim.workloads.inpaint.deployed import at_steps, deploy, run_timesteps, stop_steps
from cosim.workloads.inpaint.network import TrainedVAE, VAEConfig
from cosim.workloads.spiking.popup import init_params, random_pair_weights
from tests.hardware_helpers import sim

PRIME = preset("prime").with_parts(noise={"read": 0.0, "write": 0.0})
IDEAL = sim(backend="ideal")


def _digits(n=6, size=28, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, size, size)).astype(np.uint8), np.arange(n) % 10


def test_padding_and_mask_put_the_digit_in_the_centre_and_remove_its_middle():
    img = np.zeros((1, 28, 28), np.uint8)
    img[0, 0, 0] = 255  # top-left pixel of the digit
    img[0, 14, 14] = 255  # inside the central 8 x 8 after padding
    s = inpainting_set(img, np.array([3]))
    assert s.target.shape == (1, 32, 32) and s.masked.shape == (1, 32, 32)
    # 28 -> 32: two pixels of padding on each side, at the background value -1
    assert s.target[0, 2, 2] == 1.0 and s.target[0, 16, 16] == 1.0
    assert s.target[0, 0, 0] == -1.0 and s.target.sum() == -(32 * 32 - 2) + 2
    # central 8 x 8 of 32 x 32: rows and columns 12..19
    assert s.mask.sum() == 64 and s.mask[12:20, 12:20].all()
    assert s.masked[0, 16, 16] == -1.0 and s.masked[0, 2, 2] == 1.0
    assert s.labels.tolist() == [3]


@pytest.mark.parametrize("images, labels, mask, msg", [
    (np.zeros((2, 33, 33)) + np.arange(33), None, 8, "33 x 33 pixels"),
    (np.zeros((2, 28)), None, 8, "(N, H, W)"),
    (np.zeros((0, 28, 28)), None, 8, "non-empty"),
    (np.arange(2 * 8 * 8).reshape(2, 8, 8), None, 8, "not smaller than the 8 x 8"),
    (np.arange(2 * 28 * 28).reshape(2, 28, 28), None, 40, "mask size"),
    (np.arange(2 * 28 * 28).reshape(2, 28, 28), np.arange(3), 8, "3 labels for 2 images"),
    (np.zeros((2, 28, 28)), None, 8, "not all equal"),
])
def test_bad_image_sets_are_refused(images, labels, mask, msg):
    with pytest.raises(ConfigError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        inpainting_set(images, labels, mask_px=mask)


def _idx(a: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, a.ndim]) + b"".join(struct.pack(">I", d) for d in a.shape) + \
        a.astype(np.uint8).tobytes()


def test_data_folders_in_the_snn_formats(tmp_path):
    img, lab = _digits(4)
    npy = tmp_path / "npy"
    npy.mkdir()
    np.save(npy / "images.npy", img)
    np.save(npy / "labels.npy", lab)
    idx = tmp_path / "idx"
    idx.mkdir()
    (idx / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(img)))
    (idx / "t10k-labels-idx1-ubyte").write_bytes(_idx(lab))
    for folder in (npy, idx):
        got, got_lab = load_images(folder)
        np.testing.assert_array_equal(got, img)
        np.testing.assert_array_equal(got_lab, lab)
    got, got_lab = load_images(npy / "images.npy")  # one images file, no labels
    assert got.shape == (4, 28, 28) and got_lab is None


def test_empty_and_missing_data_files_are_refused(tmp_path):
    (tmp_path / "images.npy").write_bytes(b"")
    with pytest.raises(ConfigError, match="is empty"):
        load_images(tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_images(tmp_path / "nothing")
    (tmp_path / "x-images-idx3").write_bytes(b"\x00\x00\x08")
    with pytest.raises(ConfigError, match="not an IDX file"):
        load_images(tmp_path / "x-images-idx3")


@pytest.mark.parametrize("field, value", [("n_frames", 0), ("n_frames", -3), ("channels", 0),
                                          ("keep", 0.0), ("mode", "adam"),
                                          ("out_gain", 0.0), ("weights_out_gain", -1.0),
                                          ("lr", 0.0), ("warmup_epochs", -1.0)])
def test_bad_network_settings_are_refused(field, value):
    with pytest.raises(ConfigError):
        VAEConfig(**{field: value})


def test_stop_steps_find_the_first_small_change():
    # per-image mean change between steps: image 0: 1.0, 0.1, 0.01; image 1: 1, 1, 1
    levels = np.array([[0.0, 0.0], [1.0, 1.0], [1.1, 0.0], [1.11, 1.0]])
    images = np.broadcast_to(levels[:, :, None, None], (4, 2, 3, 3))
    assert stop_steps(images, 0.5).tolist() == [3, 4]  # change 0.1 < 0.5 after step 3
    assert stop_steps(images, 0.05).tolist() == [4, 4]
    assert stop_steps(images, 0.0).tolist() == [4, 4]  # 0: no early stop
    np.testing.assert_array_equal(at_steps(images, np.array([3, 4])), images[[2, 3], [0, 1]])
    with pytest.raises(ConfigError):
        stop_steps(images, -0.1)


def test_classifier_score_is_the_number_of_classes_used_evenly_and_one_for_a_single_class():
    """exp(E KL(p(y|x) || p(y))): confident and even over k classes gives k, all one class 1
    (Salimans et al. 2016). Class i reads pixel i, so an image lit at pixel i is class i."""
    k = 10
    w1 = np.zeros((1024, k))
    w1[np.arange(k), np.arange(k)] = 1.0
    clf = Classifier(params=(w1, np.zeros(k), 60.0 * np.eye(k), np.zeros(k)))
    even = np.zeros((k, 32, 32))
    even.reshape(k, -1)[np.arange(k), np.arange(k)] = 1.0
    assert clf.score(even) == pytest.approx(k, rel=1e-3)
    assert clf.accuracy(even, np.arange(k)) == 1.0
    same = np.zeros((k, 32, 32))
    same.reshape(k, -1)[:, 3] = 1.0
    assert clf.score(same) == pytest.approx(1.0, rel=1e-3)


@pytest.mark.slow
def test_deployed_loop_on_the_ideal_backend_matches_the_jax_network():
    """The crossbar loop (im2col, overlap-add, analog layers, the same latent draws) gives
    the JAX forward pass's images; the cells read per step follow from the layer sizes."""
    # the network config of the CLI tests (32 channels, latent 128, T = 2, one epoch), so a
    # session compiles its forward pass once
    cfg = VAEConfig(n_frames=2, epochs=1)
    fixed = random_pair_weights(cfg)
    net = TrainedVAE(config=cfg, fixed=fixed, params=init_params(cfg, fixed))
    s = inpainting_set(*_digits(5, seed=3))
    hw_imgs, counts = run_timesteps(deploy(net, PRIME, IDEAL), net, s.masked, seed=4,
                                    batch_size=3)
    sw_imgs = net.images(s.masked, seed=4)
    assert hw_imgs.shape == (2, 5, 32, 32)
    np.testing.assert_allclose(hw_imgs, sw_imgs, atol=1e-4)
    assert np.abs(hw_imgs).max() > 0.01  # spikes reached the output
    # 2 cells per weight: convolutions (9 x 32) x 256 positions, (288 x 32) x 64, x 16;
    # linears 512 x 128 and 128 x 512; transposed (32 x 288) x 16, x 64, (32 x 9) x 256
    cells = 2 * (288 * 256 + 9216 * 64 + 9216 * 16 + 2 * 65536 + 9216 * 16 + 9216 * 64
                 + 288 * 256)
    assert [e.cell_reads for e in counts.events] == [5 * cells] * 2
    assert counts.lif_updates == [5 * (32 * (256 + 64 + 16) + 512 + 32 * (64 + 256))] * 2
    # digital adds per image: overlap adds (16 x 288 - 64 x 32) + (64 x 288 - 256 x 32) +
    # (256 x 9 - 1024), the latent's compares (128), the output potential (1024)
    assert counts.events[0].digital_adds == 5 * (2560 + 10240 + 1280 + 128 + 1024)
    # the GPU model's further operations: a scale per product output (36,736), sigmoid and
    # compare per latent unit, the same overlap and output adds
    assert cfg.digital_ops_per_step == 36736 + 2 * 128 + 14080 + 1024
    # the unpruned random pairs compute something else
    rand, _ = run_timesteps(deploy(net, PRIME, IDEAL, keep_all=True), net, s.masked, seed=4)
    assert not np.allclose(rand, hw_imgs, atol=1e-3)


@pytest.mark.slow
def test_weight_trained_vae_inpaints_better_than_the_mean_image():
    """A collapsed VAE (the same image for every input, at best the mean training image)
    fails this: after a short training on real digits, the small weight-trained VAE's
    outputs differ between digits and beat the mean training image on held-out digits,
    over the masked region and over the whole image."""
    from cosim.workloads.inpaint.network import train
    from cosim.workloads.snn.data import mnist_digits

    imgs, labels = mnist_digits()
    s = inpainting_set(imgs[:500], labels[:500])
    tr, te = s.subset(np.arange(400)), s.subset(np.arange(400, 500))
    cfg = VAEConfig(channels=8, latent=32, n_frames=2, mode="weights", epochs=12)
    out = train(tr.masked, tr.target, cfg).images(te.masked)[-1]
    mean = tr.target.mean(axis=0)
    m = te.mask

    def mse(a, region):
        return float(np.mean((a[..., region] - te.target[:, region]) ** 2))

    whole = np.ones_like(m)
    assert mse(out, m) < 0.85 * mse(np.broadcast_to(mean, te.target.shape), m)
    assert mse(out, whole) < 0.85 * mse(np.broadcast_to(mean, te.target.shape), whole)
    # per-pixel spread of the outputs across the test digits (a collapsed VAE: about 0)
    assert out.std(axis=0).mean() > 0.05
