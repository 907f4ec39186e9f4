"""A fully spiking VAE on fixed random pairs with pop-up scores, in JAX (PRIME's inpainting
network, after Kamata et al., AAAI 2022, as the PRIME code sizes it).

**Network** (``C`` channels, latent ``L``; every matrix a crossbar,
:mod:`cosim.workloads.spiking.crossbar`): the masked image ``(1, 32, 32)`` in
``[-1, 1]`` is the input current of every timestep (direct coding) ->
conv 3x3 stride 2 (``C`` x 16 x 16) -> LIF -> conv (``C`` x 8 x 8) -> LIF ->
conv (``C`` x 4 x 4) -> LIF -> linear ``16 C -> L`` -> Bernoulli latent
``z_t ~ B(sigmoid(x_t))`` -> linear ``L -> 16 C`` -> LIF -> transposed conv
(``C`` x 8 x 8) -> LIF -> transposed conv (``C`` x 16 x 16) -> LIF -> transposed
conv (1 x 32 x 32) into a membrane potential without leak or spike; the image
after step ``t`` is ``tanh`` of the potential's running mean (``U_t / t``)
plus a fixed offset per pixel (below). LIF: PRIME eq. 1-2 (:mod:`cosim.workloads.spiking.lif`).

**Weights**: random differential pairs from the forming distribution, fixed;
pop-up scores keep ``keep`` of each layer
(:mod:`cosim.workloads.spiking.popup`); ``mode="weights"`` trains the weights
(the software baseline). Each layer's digital scale is ``gain / sqrt(keep *
fan_in)``, so a layer's input current has about the same spread whatever its
fan-in, of the order of the threshold, so every LIF layer fires at
initialisation; the latent linear's scale is ``latent_gain`` times that, so that
the latent probabilities ``p`` start spread towards 0 and 1 by the input rather
than all near 0.5, where a Bernoulli sample carries almost no information about
the image. The output layer's scale is ``out_gain`` (pop-up) or
``weights_out_gain`` (weight-trained) times its ``gain`` scale. A pruned
network cannot grow a weight, only drop it, so this scale bounds how far its
output potential can move from the offset: at a quarter of the ``gain`` scale
the pop-up network's digits stay faint and blurred (a lower classifier score),
at the full scale they come out sharper, with the same masked-region error. The
weight-trained network starts from a small random output (a random output adds
its own spread to the loss) and grows its output weights as it needs.

**Output offset**: the image after step ``t`` is ``tanh(U_t / t + b)``, ``b``
a fixed digital offset per pixel, ``atanh`` of the mean training image
(clipped to ``[-0.98, 0.98]``), set from the training set and not trained.
Without it the network can only draw the mean digit (mostly background at
-1, which ``tanh`` reaches only at large potentials) from saturated, constant
neurons, and both VAEs reach that state in the first epochs and stay in it;
with it, the mean image costs nothing and every further drop of the loss must
come from the input.

**Training** (:func:`train`): AdamW on mini-batches (``batch_size`` 16: the
budget is counted in optimiser steps, and the network needs several hundred
of them before its output depends on the input). The weights are in
``N(0, 1)`` pair units, about ``sqrt(fan_in)`` times larger than usual
software weights, so the weight-trained baseline learns at its own rate
``weights_lr`` (an Adam step moves a weight by about the rate, in these
units); the pop-up scores learn at ``lr``. Both rates rise linearly from 0
over the first ``warmup_epochs`` (1; none when not below ``epochs``) and then
decay (cosine). The pop-up scores at ``lr`` 2e-3 after the warm-up fit the
training set closer than at 1e-3 without one; at 3e-3 the pop-up network can
collapse to the mean image for every input (an output that no longer depends
on the input), warm-up or not. The weight-trained VAE is no worse with the
warm-up, so both use it. For the first
``threshold_fraction`` of the epochs the latent is thresholded (``z = p >
0.5``) instead of sampled: with the sampled latent from the start, the
decoder learns to ignore the sampling noise (the output becomes the mean
image for every input) before the encoder has made ``p`` depend on the image,
and the pop-up network never leaves that state. After it, and in every
evaluation and deployment, the latent is sampled. The two phases are one
training: one optimiser state (Adam's moments and step count) and one schedule
run through both. The LIF spikes are
differentiated with a rectangular surrogate of width ``surrogate_width`` 2
(PRIME: 1, :mod:`cosim.workloads.spiking.lif`); it changes the training only,
not the forward pass: the wider window passes gradient to neurons further
from the threshold, and both VAEs reach a lower inpainting error with it.

**Loss**: MSE of the last step's image against the unmasked image (whole
image) plus ``beta`` times the KL divergence of the latent's Bernoulli
posterior from ``B(0.5)``, averaged over steps and units. (The PRIME code uses
an MMD term in place of the KL; both pull the posterior toward the prior.)
The latent sample's gradient is straight-through (``z = p + sg(b - p)``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import jax
import jax.numpy as jnp
import numpy as np
import optax

from circuits.errors import ConfigError, check_choice, check_int, check_range
from cosim.workloads.spiking.crossbar import conv_s2_jax, tconv_s2_jax
from cosim.workloads.spiking.lif import lif_step
from cosim.workloads.spiking.popup import (
    MODES,
    effective_weights,
    flat_opt_state,
    init_params,
    masked_weights,
    masks,
    optimizer,
    random_pair_weights,
    restore_opt_state,
    train_epochs,
)

IMAGE = 32
"""Side of the (padded) images, pixels; three stride-2 convolutions bring it to 4."""


@dataclass(frozen=True, kw_only=True)
class VAEConfig:
    """The spiking VAE and its training.

    Attributes:
        channels: channels of every conv layer (PRIME: 32).
        latent: Bernoulli latent units (PRIME code: 128).
        n_frames: timesteps ``T`` (PRIME code: 16).
        tau: leak factor of eq. 1.
        v_th: firing threshold.
        surrogate_width: ``a`` of the rectangular surrogate (training only; module
            docstring).
        gain: each layer's scale is ``gain / sqrt(keep * fan_in)`` (module docstring).
        latent_gain: the latent linear's scale is this times its ``gain`` scale.
        out_gain: the pop-up network's output layer's scale is this times its ``gain``
            scale (module docstring).
        weights_out_gain: the same for ``mode="weights"``.
        keep: fraction of pairs kept per layer (PRIME: 0.5).
        beta: weight of the latent's KL term.
        mode: ``"popup"`` (scores) or ``"weights"`` (weight training).
        epochs, batch_size, lr, weight_decay, warmup_epochs: training (AdamW, linear
            warm-up over ``warmup_epochs``, then cosine; module docstring); ``lr`` is the
            pop-up scores' learning rate.
        weights_lr: the learning rate of ``mode="weights"`` (module docstring).
        threshold_fraction: fraction of the epochs trained with the latent thresholded
            instead of sampled (module docstring).
        seed: seed of the forming draws (layer ``l`` uses ``seed + l``), scores, samples.
    """

    channels: int = 32
    latent: int = 128
    n_frames: int = 16
    tau: float = 0.5
    v_th: float = 0.5
    surrogate_width: float = 2.0
    gain: float = 1.5
    latent_gain: float = 4.0
    out_gain: float = 1.0
    weights_out_gain: float = 0.25
    keep: float = 0.5
    beta: float = 1e-3
    mode: str = "popup"
    epochs: int = 10
    batch_size: int = 16
    lr: float = 2e-3
    weights_lr: float = 2e-2
    threshold_fraction: float = 0.5
    weight_decay: float = 0.0
    warmup_epochs: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("channels", self.channels, 1, 1024)
        check_int("latent", self.latent, 1, 100_000)
        check_int("n_frames (T)", self.n_frames, 1, 1000)
        check_range("tau", self.tau, 0.0, 1.0)
        check_range("v_th", self.v_th, 0.0, 1e3, lo_open=True)
        check_range("surrogate_width", self.surrogate_width, 0.0, 100.0, lo_open=True)
        check_range("gain", self.gain, 0.0, 1e3, lo_open=True)
        check_range("latent_gain", self.latent_gain, 0.0, 1e3, lo_open=True)
        check_range("out_gain", self.out_gain, 0.0, 1e3, lo_open=True)
        check_range("weights_out_gain", self.weights_out_gain, 0.0, 1e3, lo_open=True)
        check_range("keep", self.keep, 0.0, 1.0, lo_open=True)
        check_range("beta", self.beta, 0.0, 1e3)
        check_choice("training mode", self.mode, MODES)
        check_int("epochs", self.epochs, 1, 10_000)
        check_range("warmup_epochs", self.warmup_epochs, 0.0, 10_000.0)
        check_int("batch_size", self.batch_size, 1, 100_000)
        check_range("lr", self.lr, 0.0, 10.0, lo_open=True)
        check_range("weights_lr", self.weights_lr, 0.0, 10.0, lo_open=True)
        check_range("threshold_fraction", self.threshold_fraction, 0.0, 1.0)
        check_range("weight_decay", self.weight_decay, 0.0, 1.0)
        check_int("seed", self.seed, 0, 2**31 - 1)

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """``(rows, cols)`` of each crossbar matrix: three convolutions (im2col, rows
        channel-major), the two linears, three transposed convolutions (columns (dy, dx,
        channel))."""
        c, lat = self.channels, self.latent
        return [(9, c), (9 * c, c), (9 * c, c), (16 * c, lat), (lat, 16 * c),
                (c, 9 * c), (c, 9 * c), (c, 9)]

    @property
    def layer_scales(self) -> tuple[float, ...]:
        """Digital scale of each layer's ``N(0, 1)`` pair weights (module docstring); a
        transposed convolution's fan-in is the taps that reach one output, ``C * 9 / 4``;
        the latent linear's is ``latent_gain`` and the output layer's ``out_gain`` (pop-up)
        or ``weights_out_gain`` (weights mode) times that."""
        fan = [9, 9 * self.channels, 9 * self.channels, 16 * self.channels, self.latent,
               2.25 * self.channels, 2.25 * self.channels, 2.25 * self.channels]
        keep = self.keep if self.mode == "popup" else 1.0
        gains = [self.gain] * 8
        gains[3] *= self.latent_gain
        gains[7] *= self.out_gain if self.mode == "popup" else self.weights_out_gain
        return tuple(g / float(np.sqrt(keep * f)) for g, f in zip(gains, fan, strict=True))

    @property
    def threshold_epochs(self) -> int:
        """Epochs trained with the latent thresholded (module docstring)."""
        return int(round(self.threshold_fraction * self.epochs))

    @property
    def vectors_per_step(self) -> list[int]:
        """Matrix-vector products of each matrix per image and step (output positions of a
        convolution, input positions of a transposed one)."""
        return [256, 64, 16, 1, 1, 16, 64, 256]

    @property
    def lif_per_step(self) -> int:
        """LIF neurons updated per image and step (the output potential not counted)."""
        c = self.channels
        return c * (256 + 64 + 16) + 16 * c + c * (64 + 256)

    @property
    def digital_ops_per_step(self) -> int:
        """Digital operations per image and step besides the LIF updates: one scale
        multiply per product output, the latent's sigmoid and compare (2 per unit), the
        transposed convolutions' overlap adds (footprint outputs less the outputs), and the
        output potential's adds (1,024)."""
        c = self.channels
        scales = sum(cols * v for (_, cols), v in zip(self.shapes, self.vectors_per_step,
                                                      strict=True))
        overlap = (16 * 9 * c - 64 * c) + (64 * 9 * c - 256 * c) + (256 * 9 - IMAGE * IMAGE)
        return scales + 2 * self.latent + overlap + IMAGE * IMAGE

    @property
    def label(self) -> str:
        return f"spiking VAE {self.channels} ch, latent {self.latent}"


def latent_uniforms(seed: int, n: int, cfg: VAEConfig) -> np.ndarray:
    """The uniform draws ``(T, n, latent)`` of the latent samples of ``n`` images (``z =
    u < p``): the same draws in the software and the deployed loop."""
    return np.random.default_rng(seed).random((cfg.n_frames, n, cfg.latent), dtype=np.float32)


def vae_forward(ws: list[jax.Array], x: jax.Array, u: jax.Array, cfg: VAEConfig, *,
                offset: jax.Array | float = 0.0, sample: bool = True
                ) -> tuple[jax.Array, jax.Array]:
    """Per-step images ``(T, B, 32, 32)`` and the latent's mean KL from ``B(0.5)``.

    Args:
        ws: the effective weights of the eight matrices (:attr:`VAEConfig.shapes`).
        x: masked images ``(B, 32, 32)`` in ``[-1, 1]``.
        u: uniform draws ``(T, B, latent)`` of the latent samples (``z_t = u_t < p_t``).
        offset: the output offset ``b`` (``(32, 32)``, module docstring).
        sample: false: the latent thresholded, ``z_t = p_t > 0.5`` (``u`` not used; the
            first training epochs, module docstring).
    """
    b = x.shape[0]
    c = cfg.channels
    lif = functools.partial(lif_step, tau=cfg.tau, v_th=cfg.v_th, width=cfg.surrogate_width)
    sizes = [(b, 16, 16, c), (b, 8, 8, c), (b, 4, 4, c), (b, 16 * c), (b, 8, 8, c),
             (b, 16, 16, c)]
    state0 = [(jnp.zeros(s), jnp.zeros(s)) for s in sizes]
    img = x[..., None]

    def step(carry, uk):
        states, u_out = carry
        new = []
        cur = img
        for i in range(3):
            u, o = lif(*states[i], conv_s2_jax(cur, ws[i]))
            new.append((u, o))
            cur = o
        p = jax.nn.sigmoid(cur.reshape(b, -1) @ ws[3])
        bern = ((uk < p) if sample else (p > 0.5)).astype(p.dtype)
        z = p + jax.lax.stop_gradient(bern - p)
        eps = 1e-6
        kl = jnp.mean(p * jnp.log(2 * p + eps) + (1 - p) * jnp.log(2 * (1 - p) + eps))
        u, o = lif(*states[3], z @ ws[4])
        new.append((u, o))
        cur = o.reshape(b, 4, 4, c)
        for i in (4, 5):
            u, o = lif(*states[i], tconv_s2_jax(cur, ws[i + 1]))
            new.append((u, o))
            cur = o
        u_out = u_out + tconv_s2_jax(cur, ws[7])[..., 0]
        return (new, u_out), (u_out, kl)

    _, (us, kls) = jax.lax.scan(step, (state0, jnp.zeros((b, IMAGE, IMAGE))), u)
    steps = jnp.arange(1, cfg.n_frames + 1, dtype=us.dtype)[:, None, None, None]
    return jnp.tanh(us / steps + offset), jnp.mean(kls)


def output_offset(target: np.ndarray) -> np.ndarray:
    """The output offset ``b`` of a training set ``target (N, 32, 32)`` in ``[-1, 1]``:
    ``atanh`` of its mean image clipped to ``[-0.98, 0.98]`` (module docstring)."""
    return np.arctanh(np.clip(np.asarray(target, np.float64).mean(axis=0), -0.98, 0.98)
                      ).astype(np.float32)


@dataclass(frozen=True, kw_only=True, eq=False)
class TrainedVAE:
    """A trained VAE: config, fixed random weights, trained parameters (with the fixed
    output offset under ``"offset"``), history, and the optimiser state after the last
    epoch (``opt_state``: its flat leaves, so ``--resume`` goes on with Adam's moments and
    step count; ``None`` when not kept)."""

    config: VAEConfig
    fixed: list[np.ndarray]
    params: dict
    history: list[dict] = field(default_factory=list)
    opt_state: list[np.ndarray] | None = None

    @property
    def offset(self) -> np.ndarray:
        """The output offset ``b`` ``(32, 32)`` (module docstring; zero when absent)."""
        off = self.params.get("offset")
        return (np.zeros((IMAGE, IMAGE), np.float32) if off is None
                else np.asarray(off[0], np.float32))

    def masks(self) -> list[np.ndarray]:
        """Kept pairs per layer (booleans ``(in, out)``); all true in weights mode."""
        return masks(self.config, self.params)

    def weights(self) -> list[np.ndarray]:
        """Weights in ``N(0, 1)`` units (before the layer scales), masked."""
        return masked_weights(self.config, self.params, self.fixed)

    def scaled_weights(self, *, keep_all: bool = False) -> list[np.ndarray]:
        """The eight matrices the forward pass computes with (:attr:`VAEConfig.shapes`),
        float32: the weights times their layer scales, pruned pairs zero.

        Args:
            keep_all: every random pair kept (the unpruned random network).
        """
        cfg = self.config
        if keep_all:
            ws = [jnp.asarray(w * k, jnp.float32) for w, k in zip(self.fixed, cfg.layer_scales,
                                                                   strict=True)]
        else:
            ws = _effective_jit(jax.tree_util.tree_map(jnp.asarray, self.params),
                                [jnp.asarray(w, jnp.float32) for w in self.fixed], cfg)
        return [np.asarray(w, np.float32) for w in ws]

    def images(self, masked: np.ndarray, *, seed: int = 0, keep_all: bool = False,
               batch_size: int = 250) -> np.ndarray:
        """Software forward pass: per-step images ``(T, N, 32, 32)``.

        Args:
            seed: the latent draws (:func:`latent_uniforms`).
            keep_all: every random pair kept (the unpruned random network).
        """
        cfg = self.config
        ws = [jnp.asarray(w) for w in self.scaled_weights(keep_all=keep_all)]
        out = []
        u = latent_uniforms(seed, masked.shape[0], cfg)
        for start in range(0, masked.shape[0], batch_size):
            xb = jnp.asarray(masked[start:start + batch_size], jnp.float32)
            ub = jnp.asarray(u[:, start:start + batch_size])
            out.append(np.asarray(_forward_jit(ws, xb, ub, jnp.asarray(self.offset),
                                               replace(cfg, mode="popup"))[0]))
        return np.concatenate(out, axis=1)


_effective_jit = jax.jit(effective_weights, static_argnums=2)
""":func:`effective_weights` compiled (the top-k search of every layer as one program)."""
_forward_jit = jax.jit(lambda ws, x, u, offset, cfg: vae_forward(ws, x, u, cfg, offset=offset),
                       static_argnums=4)
"""The compiled forward pass; called with the pop-up mode's config for both modes (the
forward pass does not depend on the mode), so they share one compilation."""


def train(masked: np.ndarray, target: np.ndarray, cfg: VAEConfig, *,
          progress: Callable[[dict], None] | None = None, init: TrainedVAE | None = None,
          checkpoint: Callable[[TrainedVAE], None] | None = None) -> TrainedVAE:
    """Train the scores (or weights) to inpaint ``masked (N, 32, 32)`` into ``target``.

    Args:
        masked, target: images in ``[-1, 1]``, the masked pixels at -1 in ``masked``.
        progress: called after each epoch with its history row (``loss``, ``train_mse``).
        init: continue from this network (``--resume``); its history is kept, and its
            optimiser state when it has one (else a fresh one, its schedule where the
            history left it).
        checkpoint: called after each epoch with the network as it stands.

    Raises:
        ConfigError: the two image sets differ in shape or are not ``(N, 32, 32)``.
    """
    masked, target = np.asarray(masked, np.float32), np.asarray(target, np.float32)
    if masked.shape != target.shape or masked.ndim != 3 or masked.shape[1:] != (IMAGE, IMAGE):
        raise ConfigError(f"training images must be (N, {IMAGE}, {IMAGE}) twice, got "
                          f"{masked.shape} and {target.shape}")
    fixed = init.fixed if init else random_pair_weights(cfg)
    fixed_j = [jnp.asarray(w, jnp.float32) for w in fixed]
    if init:
        params = jax.tree_util.tree_map(jnp.asarray, init.params)
    else:
        params = {**init_params(cfg, fixed), "offset": [jnp.asarray(output_offset(target))]}
    history = list(init.history) if init else []
    n_batches = max(1, masked.shape[0] // cfg.batch_size)
    counter = iter(range(10**9))

    def snapshot(p, hist, state):
        return TrainedVAE(config=cfg, fixed=fixed, history=hist,
                          params=jax.tree_util.tree_map(np.asarray, p),
                          opt_state=flat_opt_state(state))

    def batch(idx):
        key = jax.random.PRNGKey(cfg.seed * 7919 + len(history) * 100_003 + next(counter))
        return fixed_j, jnp.asarray(masked[idx]), jnp.asarray(target[idx]), key

    # the thresholded-latent epochs, then the sampled ones (module docstring), with one
    # optimiser state throughout; a resumed network starts in the phase its history
    # reached, with the state its checkpoint kept
    state = None
    for sample, last in ((False, cfg.threshold_epochs), (True, cfg.epochs)):
        if len(history) >= last:
            continue
        opt, update = _trainer(cfg, n_batches, sample)
        if state is None and init is not None and init.opt_state is not None:
            state = restore_opt_state(opt, params, init.opt_state)
        params, history, state = train_epochs(
            replace(cfg, epochs=last), n_samples=masked.shape[0], opt=opt, update=update,
            params=params, history=history, batch=batch, metric="train_mse", state=state,
            snapshot=snapshot, progress=progress, checkpoint=checkpoint)
    out = snapshot(params, history, state)
    # nothing left to train: the network keeps the state it came with
    return out if state is not None or init is None else replace(out, opt_state=init.opt_state)


@functools.cache
def _trainer(cfg: VAEConfig, n_batches: int, sample: bool):
    """The optimiser (``lr``, or ``weights_lr`` in weights mode, over all ``cfg.epochs``)
    and compiled training step of ``cfg``, the latent sampled or thresholded (cached)."""
    opt = optimizer(replace(cfg, lr=cfg.weights_lr) if cfg.mode == "weights" else cfg, n_batches)

    def loss_fn(p, fixed, xb, yb, key):
        u = jax.random.uniform(key, (cfg.n_frames, xb.shape[0], cfg.latent))
        imgs, kl = vae_forward(effective_weights(p, fixed, cfg), xb, u, cfg,
                               offset=p["offset"][0] if "offset" in p else 0.0, sample=sample)
        mse = jnp.mean((imgs[-1] - yb) ** 2)
        return mse + cfg.beta * kl, mse

    @jax.jit
    def update(p, s, fixed, xb, yb, key):
        (loss, mse), g = jax.value_and_grad(loss_fn, has_aux=True)(p, fixed, xb, yb, key)
        upd, s = opt.update(g, s, p)
        new = optax.apply_updates(p, upd)
        if "offset" in p:  # fixed, not trained (module docstring)
            new = {**new, "offset": p["offset"]}
        return new, s, loss, mse

    return opt, update
