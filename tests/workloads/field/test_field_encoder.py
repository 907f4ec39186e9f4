"""Neural-field encoder: CORDIC against numpy within its bound; Gaussian encoder on RRAM pairs."""

from __future__ import annotations

import numpy as np
import pytest

from circuits.errors import ConfigError
from cosim.layers.averaging import averaged_read
from cosim.workloads.field.cordic import CordicConfig, error_bound, rotate, sincos_turns
from cosim.workloads.field.encoder import (
    DEFAULT_SCALES,
    EncoderConfig,
    build_encoder,
    positional_matrix,
)
from cosim.workloads.field.field import FieldConfig
from tests.hardware_helpers import hw, sim


@pytest.mark.parametrize("iters, frac", [(6, 12), (12, 16), (16, 20), (24, 30)])
def test_cordic_within_its_bound(iters, frac):
    cfg = CordicConfig(iterations=iters, frac_bits=frac)
    t = np.concatenate([np.random.default_rng(0).uniform(-6, 6, 50_000),
                        np.arange(-8, 9) / 8.0])  # exact quadrant edges too
    s, c = sincos_turns(t, cfg)
    err = max(np.abs(s - np.sin(2 * np.pi * t)).max(), np.abs(c - np.cos(2 * np.pi * t)).max())
    bound = error_bound(cfg)
    assert err <= bound
    # the bound is not loose by orders of magnitude: the angle term dominates it
    assert err > bound / 10


@pytest.mark.parametrize("iters, frac", [(6, 12), (16, 20)])
def test_cordic_table_is_the_iteration_bit_for_bit(iters, frac):
    """The tabulated path returns exactly what the steps compute on each folded angle,
    every one of them (the table's whole domain) and the quadrant edges."""
    quarter = (1 << frac) >> 2
    z = np.arange(-quarter, quarter + 1, dtype=np.int64)
    x, y = rotate(z, frac, iters)
    t = z / (1 << frac)  # these angles fold onto themselves
    s, c = sincos_turns(t, CordicConfig(iterations=iters, frac_bits=frac))
    np.testing.assert_array_equal(s, y / (1 << frac))
    np.testing.assert_array_equal(c, x / (1 << frac))
    edges = np.arange(-8, 9) / 8.0  # folded: sin(pi - a) = sin a, cos(pi - a) = -cos a
    s, c = sincos_turns(edges + 0.1, CordicConfig(iterations=iters, frac_bits=frac))
    assert np.abs(s - np.sin(2 * np.pi * (edges + 0.1))).max() <= error_bound(
        CordicConfig(iterations=iters, frac_bits=frac))


def test_cordic_more_iterations_is_better():
    t = np.random.default_rng(1).uniform(-1, 1, 10_000)
    errs = [np.abs(sincos_turns(t, CordicConfig(iterations=n, frac_bits=30))[0]
                   - np.sin(2 * np.pi * t)).max() for n in (4, 8, 16)]
    assert errs[0] > errs[1] > errs[2]


def test_cordic_bad_inputs():
    with pytest.raises(ConfigError, match="iterations"):
        CordicConfig(iterations=0)
    with pytest.raises(ConfigError, match="fractional bits"):
        CordicConfig(frac_bits=60)
    with pytest.raises(ConfigError, match="NaN"):
        sincos_turns(np.array([np.nan]))


def test_gaussian_encoder_from_random_pairs():
    enc = build_encoder(EncoderConfig(n_frequencies=64, sigma=4.0), hw(r_wire_ohm=0.0),
                        sim(backend="ideal"), rng=np.random.default_rng(0))
    pw = enc.layer.programmed
    assert pw.differential and pw.scheme == "random_pairs"
    # B is sigma times the pair differences in units of sqrt(2) forming std
    g_unit = pw.g_unit_siemens
    w = (pw.g_actual_siemens - pw.g_actual_neg_siemens) / g_unit
    np.testing.assert_allclose(enc.b, 4.0 * w.T)
    assert enc.b.shape == (64, 3)
    assert 3.0 < enc.b.std() < 5.0  # Gaussian with std sigma = 4 (192 draws)
    x = np.random.default_rng(1).uniform(-1, 1, (500, 3))
    f_sw = enc.software(x)
    f_hw, ev, steps = enc.deployed(x)
    assert f_sw.shape == f_hw.shape == (500, 131)
    # ideal tile, no read noise: the only difference is CORDIC's
    assert np.abs(f_sw - f_hw).max() <= error_bound(enc.config.cordic)
    assert ev.cell_reads == 500 * 3 * 64 * 2  # every pair: two cells read per voxel
    assert steps == 500 * 64 * 16


def test_encoder_read_noise_moves_the_projection():
    enc = build_encoder(EncoderConfig(), hw(r_wire_ohm=0.0, read_noise=0.02),
                        sim(backend="ideal"), rng=np.random.default_rng(0))
    x = np.random.default_rng(1).uniform(-1, 1, (200, 3))
    y, _ = enc.layer.forward(x)
    scale = enc.config.scale
    err = scale * y - x @ enc.b.T
    # PRIME eq. 7 on both cells of each pair: std = sigma * 0.02 * sqrt(sum x^2 (G+^2 + G-^2))
    pw = enc.layer.programmed
    g2 = pw.g_actual_siemens ** 2 + pw.g_actual_neg_siemens ** 2
    std = scale * 0.02 * np.sqrt(x ** 2 @ g2) / pw.g_unit_siemens
    assert np.std(err / std) == pytest.approx(1.0, rel=0.1)


def _read_noise_std(enc, x):
    """PRIME eq. 7 on both cells of each pair, in units of ``B x`` (one read)."""
    pw = enc.layer.programmed
    g2 = pw.g_actual_siemens ** 2 + pw.g_actual_neg_siemens ** 2
    s = enc.layer.tile.hardware.noise.read
    return enc.config.scale * s * np.sqrt(x ** 2 @ g2) / pw.g_unit_siemens


@pytest.mark.parametrize("reads", [4, 16])
def test_averaged_encoder_reads_cut_the_read_noise_by_sqrt_reads(reads):
    """Each read draws its own noise: the mean of N reads has 1/sqrt(N) of one read's
    std (against PRIME eq. 7's analytic std), and every read is counted."""
    hardware = hw(r_wire_ohm=0.0, read_noise=0.02)
    enc = build_encoder(EncoderConfig(reads=reads), hardware, sim(backend="ideal"),
                        rng=np.random.default_rng(0))
    x = np.random.default_rng(1).uniform(-1, 1, (400, 3))
    proj = x @ enc.b.T
    one, ev1 = enc.layer.forward(x)
    mean, ev = averaged_read(enc.layer, x, reads)
    std = _read_noise_std(enc, x)
    k = enc.config.scale
    assert np.std((k * one - proj) / std) == pytest.approx(1.0, rel=0.1)
    assert np.std((k * mean - proj) / std) * np.sqrt(reads) == pytest.approx(1.0, rel=0.1)
    assert ev.cell_reads == reads * ev1.cell_reads == reads * 400 * 3 * 64 * 2
    assert ev.digital_adds == ev1.digital_adds * reads + (reads - 1) * 400 * 64
    # the deployed features use the averaged projection: their error shrinks too (at the
    # realistic preset's read noise, where the phases do not yet wrap)
    quiet = hw(r_wire_ohm=0.0, read_noise=0.002)
    f_sw = None
    err = []
    for n in (1, reads):
        e = build_encoder(EncoderConfig(reads=n), quiet, sim(backend="ideal"),
                          rng=np.random.default_rng(0))
        f_sw = e.software(x)
        err.append(np.sqrt(np.mean((e.deployed(x)[0] - f_sw)[:, 3:] ** 2)))
    assert err[1] * np.sqrt(reads) == pytest.approx(err[0], rel=0.25)
    f_avg, ev_dep, _ = enc.deployed(x)
    assert ev_dep.cell_reads == ev.cell_reads


def test_the_calibration_averages_its_reads():
    """The B a chip measures (one-hot reads) is off by the read noise over
    sqrt(calibration_reads); one read is what a stored config without the key used."""
    from cosim.workloads.field.field import config_from_dict, measured_projection

    hardware = hw(r_wire_ohm=0.0, read_noise=0.02)
    errs = {}
    for n in (1, 64):
        enc = build_encoder(EncoderConfig(calibration_reads=n), hardware, sim(backend="ideal"),
                            rng=np.random.default_rng(0))
        eye = np.eye(3)
        errs[n] = (measured_projection(enc) - enc.b) / _read_noise_std(enc, eye).T
    # y(e_k) - y(0): y(0) has no noise (no row driven), so the error is one read's
    assert np.std(errs[1]) == pytest.approx(1.0, rel=0.15)
    assert np.std(errs[64]) * 8 == pytest.approx(1.0, rel=0.15)
    assert EncoderConfig().calibration_reads == 256
    stored = asdict_without(FieldConfig(), "calibration_reads")
    assert config_from_dict(stored).encoder.calibration_reads == 1


def asdict_without(cfg, key):
    import json
    from dataclasses import asdict
    d = json.loads(json.dumps(asdict(cfg)))
    del d["encoder"][key]
    return d


def test_other_encodings():
    x = np.random.default_rng(1).uniform(-1, 1, (10, 3))
    sizes = {"none": 3, "basic": 9, "positional": 131}
    for kind, n in sizes.items():
        enc = build_encoder(EncoderConfig(kind=kind), hw(), sim(backend="ideal"),
                            rng=np.random.default_rng(0))
        assert enc.layer is None
        f = enc.software(x)
        assert f.shape == (10, n) == (10, enc.config.n_features)
        np.testing.assert_array_equal(f[:, :3], x)
    b = positional_matrix(64, 4.0)
    assert b.shape == (64, 3) and np.all((b != 0).sum(axis=1) == 1)
    assert b.max() < 4.0 and b.min() == 0.0 and b[0, 0] == 1.0


def test_each_fourier_encoding_has_its_own_default_scale():
    tile = (hw(r_wire_ohm=0.0), sim(backend="ideal"))
    pos = build_encoder(EncoderConfig(kind="positional"), *tile, rng=np.random.default_rng(0))
    top = DEFAULT_SCALES["positional"]
    np.testing.assert_allclose(pos.b, positional_matrix(64, top))
    assert top ** (20 / 22) < pos.b.max() < top  # frequencies up to just below the base
    gau = build_encoder(EncoderConfig(), *tile, rng=np.random.default_rng(0))
    assert EncoderConfig().scale == DEFAULT_SCALES["gaussian"] != top
    w = gau.b / DEFAULT_SCALES["gaussian"]  # the pairs' N(0, 1) weights
    one = build_encoder(EncoderConfig(sigma=1.0), *tile, rng=np.random.default_rng(0))
    np.testing.assert_allclose(one.b, w)
    # an explicit sigma is the scale of either encoding
    assert EncoderConfig(kind="positional", sigma=2.5).scale == 2.5
    assert EncoderConfig(kind="none").scale == EncoderConfig(kind="basic").scale == 1.0


def test_encoder_bad_config():
    with pytest.raises(ConfigError, match="unknown encoding"):
        EncoderConfig(kind="gauss")
    with pytest.raises(ConfigError, match="sigma"):
        EncoderConfig(sigma=float("nan"))
    with pytest.raises(ConfigError, match="frequencies"):
        EncoderConfig(n_frequencies=0)
    with pytest.raises(ConfigError, match="encoder reads"):
        EncoderConfig(reads=0)
    with pytest.raises(ConfigError, match="calibration reads"):
        EncoderConfig(calibration_reads=5000)
