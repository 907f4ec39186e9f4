"""The trained spiking VAE on analog layers: the timestep loop and early stop by the
decoder's confidence.

**Deployment**: the eight matrices of :attr:`VAEConfig.shapes` are placed and
programmed as pruned random pairs (or tuned pairs of a weight-trained VAE) by
:func:`cosim.workloads.spiking.pairs.deploy_pairs`; the first layer's full-scale
row input is a pixel of magnitude 1.

**Timestep loop** (numpy; the products from each layer's ``forward``): a
convolution sends one im2col patch per output position
(:func:`cosim.workloads.spiking.crossbar.im2col`), a transposed convolution one
channel vector per input position, whose ``3 x 3`` footprints are added
digitally (:func:`cosim.workloads.spiking.crossbar.overlap_add`). Each product
is multiplied by its layer's digital scale, then the LIF update; the latent is
sampled digitally (``z ~ B(sigmoid(x))``, one uniform draw and compare per
unit); the output potential accumulates the last layer's currents. Counted per
step: the layers' events, one multiply per product (scale), the overlap adds,
the latent's sigmoid (counted as one multiply) and compare (one add) per unit,
the output potential's adds and the LIF updates. The readout of the image
(``tanh(U_t / t + b)``, :mod:`cosim.workloads.inpaint.network`) is not counted.

**Early stop** (PRIME: the decoder's confidence): after step ``t >= 2`` the
change of the output image is ``mean |y_t - y_{t-1}|`` over the pixels, per
image; an image stops at the first step where the change is below the
threshold (else at ``T``). The rule is causal, so one pass over all ``T``
steps gives every threshold's result.
"""

from __future__ import annotations

import numpy as np

from circuits.errors import ConfigError, check_range
from cosim.accounting.events import Events
from cosim.engine.options import SimOptions
from cosim.hardware.spec import HardwareSpec
from cosim.layers.analog import AnalogLayer
from cosim.workloads.inpaint.network import IMAGE, TrainedVAE, latent_uniforms
from cosim.workloads.spiking.crossbar import im2col, overlap_add
from cosim.workloads.spiking.lif import lif_step_numpy
from cosim.workloads.spiking.pairs import StepCounts, deploy_pairs
from cosim.workloads.spiking.popup import pair_scheme


def deploy(net: TrainedVAE, hardware: HardwareSpec, sim: SimOptions, *, seed: int = 0,
           keep_all: bool = False) -> list[AnalogLayer]:
    """Place and program the VAE's eight matrices on ``hardware``.

    Args:
        seed: layer ``l``'s read noise uses ``seed + l``, its writes ``seed + 1000 + l``.
        keep_all: a pop-up VAE only: keep every formed pair (the random, unpruned VAE).
    """
    cfg = net.config
    if keep_all and cfg.mode != "popup":
        raise ConfigError("keep_all keeps the random pairs of a pop-up VAE; this one is "
                          "weight-trained")
    shapes = cfg.shapes
    keep = [np.ones(s, bool) for s in shapes] if keep_all else net.masks()
    return deploy_pairs(shapes, hardware, sim,
                        bases=[pair_scheme(cfg, i) for i in range(len(shapes))], keep=keep,
                        weights=net.weights() if cfg.mode == "weights" else None,
                        input_scales=[1.0] * len(shapes), seed=seed)


def _conv(layer: AnalogLayer, v: np.ndarray, scale: float) -> tuple[np.ndarray, Events]:
    """Stride-2 3 x 3 convolution of ``v (B, C, H, W)`` on ``layer``: ``(B, C', H/2, W/2)``."""
    b, _, h, w = v.shape
    y, ev = layer.forward(im2col(v, 3, 2, 1))
    return (scale * y).reshape(b, h // 2, w // 2, -1).transpose(0, 3, 1, 2), \
        ev + Events(digital_mults=y.size)


def _tconv(layer: AnalogLayer, v: np.ndarray, scale: float) -> tuple[np.ndarray, Events]:
    """Stride-2 3 x 3 transposed convolution of ``v (B, C, H, W)``: ``(B, C', 2H, 2W)``."""
    b, c, h, w = v.shape
    y, ev = layer.forward(v.transpose(0, 2, 3, 1).reshape(b * h * w, c))
    out = overlap_add((scale * y).reshape(b, h, w, -1), 3, 2, 1)
    return out, ev + Events(digital_mults=y.size, digital_adds=max(0, y.size - out.size))


def run_timesteps(layers: list[AnalogLayer], net: TrainedVAE, masked: np.ndarray, *,
                  seed: int = 0, batch_size: int = 200, progress=None
                  ) -> tuple[np.ndarray, StepCounts]:
    """Per-step output images ``(T, N, 32, 32)`` through the analog layers, and what each
    step counted (module docstring).

    Args:
        masked: masked images ``(N, 32, 32)`` in ``[-1, 1]``.
        seed: the latent draws (:func:`cosim.workloads.inpaint.network.latent_uniforms`,
            the same as the software forward pass of that seed).
    """
    cfg = net.config
    if masked.ndim != 3 or masked.shape[1:] != (IMAGE, IMAGE):
        raise ConfigError(f"images must be (N, {IMAGE}, {IMAGE}), got {masked.shape}")
    if len(layers) != len(cfg.shapes):
        raise ConfigError(f"{len(layers)} analog layers for a VAE of {len(cfg.shapes)}")
    sc = cfg.layer_scales
    n, t_n, c = masked.shape[0], cfg.n_frames, cfg.channels
    draws = latent_uniforms(seed, n, cfg)
    out = np.zeros((t_n, n, IMAGE, IMAGE))
    step_events = [Events() for _ in range(t_n)]
    step_lif = [0] * t_n
    lif = dict(tau=cfg.tau, v_th=cfg.v_th)
    for start in range(0, n, batch_size):
        x = masked[start:start + batch_size, None].astype(float)
        b = x.shape[0]
        shapes = [(b, c, 16, 16), (b, c, 8, 8), (b, c, 4, 4), (b, 16 * c), (b, c, 8, 8),
                  (b, c, 16, 16)]
        states = [(np.zeros(s), np.zeros(s)) for s in shapes]
        u_out = np.zeros((b, IMAGE, IMAGE))
        for t in range(t_n):
            ev = Events()
            cur = x
            for i in range(3):
                syn, e = _conv(layers[i], cur, sc[i])
                states[i] = lif_step_numpy(*states[i], syn, **lif)
                cur, ev = states[i][1], ev + e
            flat = cur.transpose(0, 2, 3, 1).reshape(b, -1)  # (y, x, channel), as in training
            y, e = layers[3].forward(flat)
            p = 1.0 / (1.0 + np.exp(-sc[3] * y))
            z = (draws[t, start:start + b] < p).astype(float)
            ev += e + Events(digital_mults=2 * y.size, digital_adds=y.size)
            y, e = layers[4].forward(z)
            states[3] = lif_step_numpy(*states[3], sc[4] * y, **lif)
            ev += e + Events(digital_mults=y.size)
            cur = states[3][1].reshape(b, 4, 4, c).transpose(0, 3, 1, 2)
            for j, i in ((4, 5), (5, 6)):
                syn, e = _tconv(layers[i], cur, sc[i])
                states[j] = lif_step_numpy(*states[j], syn, **lif)
                cur, ev = states[j][1], ev + e
            syn, e = _tconv(layers[7], cur, sc[7])
            u_out = u_out + syn[:, 0]
            ev += e + Events(digital_adds=u_out.size)
            out[t, start:start + b] = u_out
            step_events[t] += ev
            step_lif[t] += sum(s[0].size for s in states)
        if progress is not None:
            progress(b)
    steps = np.arange(1, t_n + 1)[:, None, None, None]
    return np.tanh(out / steps + net.offset), StepCounts(samples=n, events=step_events,
                                            lif_updates=step_lif)


def stop_steps(images: np.ndarray, threshold: float) -> np.ndarray:
    """The step (1-based) each image stops at: the first ``t >= 2`` with ``mean |y_t -
    y_{t-1}| < threshold``, else ``T`` (module docstring).

    Args:
        images: per-step images ``(T, N, H, W)``.
        threshold: change per pixel (image units, range 2); 0: never stop early.
    """
    check_range("threshold", threshold, 0.0, 2.0)
    t_n = images.shape[0]
    if t_n < 2 or threshold == 0.0:
        return np.full(images.shape[1], t_n)
    change = np.abs(np.diff(images, axis=0)).mean(axis=(2, 3))  # (T-1, N), step t+2
    hit = change < threshold
    return np.where(hit.any(axis=0), hit.argmax(axis=0) + 2, t_n)


def at_steps(images: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Each image's output at its stop step: ``(N, H, W)``."""
    return images[steps - 1, np.arange(images.shape[1])]
