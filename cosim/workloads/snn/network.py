"""PRIME's MLP with fixed random weights and trained pop-up scores (edge-popup), in JAX.

**Weights** are fixed (edge-popup, :mod:`cosim.workloads.spiking.popup`): each
layer's ``w`` is what :class:`RandomPairs` draws from the forming distribution
(``(G+ - G-) / g_unit``, about ``N(0, 1)``), times a digital ``weight_scale``
(PRIME code: ``6.352 * 0.01``, its ``std`` times its ``software_scale``). Only
**scores** ``s`` (one per weight) are trained (PRIME eq. 3-4): the mask keeps
the ``keep`` fraction of each layer's weights with the largest ``|s|`` (PRIME
code: ``percentile(|s|)``, 50 %), and the gradient goes straight through the
mask to ``|s|``.

**Network** (PRIME code ``LinearNet``): frames ``(T, 2312)`` feed hidden LIF
layers (:mod:`cosim.workloads.spiking.lif`, eq. 1-2) and an output layer that integrates its input
without leak or spike (``U_t = U_{t-1} + I_t``); the logits are the mean of
``U_t`` over the ``T`` steps. (The PRIME code also applies a LeakyReLU(0.1)
to the membrane potential; eq. 1-2 do not, and neither do we.)

**Training**: Adam (optax) on the cross-entropy of the logits, cosine decay of
the learning rate (after an optional linear warm-up), the frames' counts clipped
at ``max_count`` (the DAC full scale of the deployed first layer).
``mode="weights"`` trains the weights themselves instead (no mask): the
software baseline of PRIME Fig. 3e.
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

PRIME_WEIGHT_SCALE = 6.352 * 0.01



def check_lif_training(cfg) -> None:
    """Check the LIF and training fields every SNN config has (MLP and conv).

    Raises:
        ConfigError: naming the first field out of range.
    """
    check_int("n_frames (T)", cfg.n_frames, 1, 1000)
    check_range("tau", cfg.tau, 0.0, 1.0)
    check_range("v_th", cfg.v_th, 0.0, 1e3, lo_open=True)
    check_range("surrogate_width", cfg.surrogate_width, 0.0, 100.0, lo_open=True)
    check_range("keep", cfg.keep, 0.0, 1.0, lo_open=True)
    check_range("max_count", cfg.max_count, 0.0, 1e4, lo_open=True)
    check_choice("training mode", cfg.mode, MODES)
    check_int("epochs", cfg.epochs, 1, 10_000)  # 0 would write an untrained network
    check_range("warmup_epochs", cfg.warmup_epochs, 0.0, 10_000.0)
    check_int("batch_size", cfg.batch_size, 1, 100_000)
    check_range("lr", cfg.lr, 0.0, 10.0, lo_open=True)
    check_range("weight_decay", cfg.weight_decay, 0.0, 1.0)
    check_int("seed", cfg.seed, 0, 2**31 - 1)


@dataclass(frozen=True, kw_only=True)
class SNNConfig:
    """The network and its training.

    Attributes:
        sizes: layer widths, input first; PRIME MLP ``(2312, 250, 250, 10)``.
        n_frames: timesteps ``T``.
        tau: leak factor of eq. 1 (PRIME code ``1 - decay`` = 0.2).
        v_th: firing threshold (PRIME code 0.5 for linear layers).
        surrogate_width: ``a`` of the rectangular surrogate (PRIME: 1).
        weight_scale: digital scale of the ``N(0, 1)`` pair weights.
        keep: fraction of weights kept per layer (PRIME: 0.5).
        max_count: events per pixel and frame are clipped here (DAC full scale).
        mode: ``"popup"`` (scores) or ``"weights"`` (weight training).
        epochs, batch_size, lr, weight_decay: training budget and Adam settings.
        warmup_epochs: the learning rate rises linearly from 0 over this many epochs,
            then decays by a cosine to 0 at the end (0, or not less than ``epochs``:
            cosine decay from the start).
        seed: seed of the forming draws (layer ``l`` uses ``seed + l``) and scores.
    """

    sizes: tuple[int, ...] = (2312, 250, 250, 10)
    n_frames: int = 10
    tau: float = 0.2
    v_th: float = 0.5
    surrogate_width: float = 1.0
    weight_scale: float = PRIME_WEIGHT_SCALE
    keep: float = 0.5
    max_count: float = 4.0
    mode: str = "popup"
    epochs: int = 15
    batch_size: int = 64
    lr: float = 5e-3
    weight_decay: float = 5e-4
    warmup_epochs: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.sizes) < 2:
            raise ConfigError(f"sizes needs an input and an output width, got {self.sizes}")
        for n in self.sizes:
            check_int("layer width", n, 1, 100_000)
        if self.sizes[-1] < 2:
            raise ConfigError(f"the output layer needs >= 2 classes, got {self.sizes[-1]}")
        check_range("weight_scale", self.weight_scale, 0.0, 1e3, lo_open=True)
        check_lif_training(self)

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """``(rows, cols)`` of each weight matrix."""
        return list(zip(self.sizes[:-1], self.sizes[1:], strict=True))

    @property
    def layer_scales(self) -> tuple[float, ...]:
        """Digital scale of each layer's ``N(0, 1)`` pair weights."""
        return (self.weight_scale,) * len(self.shapes)

    @property
    def classes(self) -> int:
        return self.sizes[-1]

    @property
    def vectors_per_step(self) -> list[int]:
        """Matrix-vector products of each matrix per sample and step."""
        return [1] * len(self.shapes)

    @property
    def lif_per_step(self) -> int:
        """LIF neurons updated per sample and step."""
        return sum(self.sizes[1:-1])

    @property
    def label(self) -> str:
        return "mlp " + "-".join(map(str, self.sizes))

    def prepare(self, frames: np.ndarray) -> np.ndarray:
        """Network inputs from frames (:func:`prepare_inputs`)."""
        return prepare_inputs(frames, self)

    def forward(self, ws: list[jax.Array], x: jax.Array) -> jax.Array:
        """Per-step logits (:func:`snn_forward`)."""
        return snn_forward(ws, x, self)


def snn_forward(ws: list[jax.Array], x: jax.Array, cfg: SNNConfig) -> jax.Array:
    """Per-timestep logits ``(T, B, classes)`` (running mean of the output potential).

    Args:
        ws: effective weights ``(in, out)`` per layer.
        x: frames ``(B, T, in)``, already clipped.
    """
    xt = jnp.swapaxes(x, 0, 1)  # (T, B, in)
    b = x.shape[0]
    inp = xt @ ws[0]  # input layer: one matmul for all steps
    hidden = ws[1:-1] if len(ws) > 1 else []
    out_w = ws[-1] if len(ws) > 1 else None

    def step(carry, i0):
        states, u_out = carry
        cur, new_states = i0, []
        if out_w is None:
            u_out = u_out + cur
            return (states, u_out), u_out
        for (u, o), w in zip(states, [None, *hidden], strict=True):
            if w is not None:
                cur = cur @ w
            u, o = lif_step(u, o, cur, tau=cfg.tau, v_th=cfg.v_th, width=cfg.surrogate_width)
            new_states.append((u, o))
            cur = o
        u_out = u_out + cur @ out_w
        return (new_states, u_out), u_out

    widths = cfg.sizes[1:-1]
    states = [(jnp.zeros((b, n)), jnp.zeros((b, n))) for n in widths]
    _, us = jax.lax.scan(step, (states, jnp.zeros((b, cfg.sizes[-1]))), inp)
    steps = jnp.arange(1, us.shape[0] + 1, dtype=us.dtype)[:, None, None]
    return jnp.cumsum(us, axis=0) / steps


def prepare_inputs(frames: np.ndarray, cfg: SNNConfig) -> np.ndarray:
    """Frames ``(N, T, 2, 34, 34)`` -> clipped, flattened ``(N, T, 2312)`` float32."""
    f = np.asarray(frames, dtype=np.float32)
    if f.ndim < 3 or f.shape[1] != cfg.n_frames:
        raise ConfigError(f"frames must be (N, {cfg.n_frames}, ...), got {f.shape}")
    f = np.minimum(f.reshape(f.shape[0], f.shape[1], -1), cfg.max_count)
    if f.shape[2] != cfg.sizes[0]:
        raise ConfigError(f"frames have {f.shape[2]} inputs per step, the network "
                          f"{cfg.sizes[0]}")
    return f


@dataclass(frozen=True, kw_only=True, eq=False)
class TrainedSNN:
    """A trained network.

    Attributes:
        config: the network and training settings.
        fixed: the random pair weights per layer ``(in, out)`` (unscaled).
        params: ``{"scores": [...]}`` (popup) or ``{"w": [...]}`` (weights), numpy.
        history: per-epoch ``loss``, ``train_accuracy``, ``seconds``.
        opt_state: the optimiser's state after the last epoch, its flat leaves
            (:func:`flat_opt_state`), so ``--resume`` goes on with Adam's moments and step
            count; ``None`` for a network not trained here.
    """

    config: SNNConfig
    fixed: list[np.ndarray]
    params: dict
    history: list[dict] = field(default_factory=list)
    opt_state: list[np.ndarray] | None = None

    def masks(self) -> list[np.ndarray]:
        """Kept pairs per layer (booleans ``(in, out)``); all true in weights mode."""
        return masks(self.config, self.params)

    def weights(self) -> list[np.ndarray]:
        """Weights in ``N(0,1)`` units (before ``weight_scale``), masked."""
        return masked_weights(self.config, self.params, self.fixed)

    def logits(self, frames: np.ndarray) -> np.ndarray:
        """Software forward pass: per-step logits ``(T, N, classes)``."""
        ws = [jnp.asarray(w * k, jnp.float32)
              for w, k in zip(self.weights(), self.config.layer_scales, strict=True)]
        x = jnp.asarray(self.config.prepare(frames))
        return np.asarray(_forward_jit(ws, x, self.config))


def train(frames: np.ndarray, labels: np.ndarray, cfg: SNNConfig, *,
          progress: Callable[[dict], None] | None = None,
          init: TrainedSNN | None = None,
          checkpoint: Callable[[TrainedSNN], None] | None = None) -> TrainedSNN:
    """Train the scores (or weights) on ``frames (N, T, 2, 34, 34)`` and ``labels (N,)``.

    Args:
        progress: called after each epoch with its history row.
        init: continue from this network (``--resume``); its history is kept, and its
            optimiser state when it has one (else a fresh one, its schedule where the
            history left it).
        checkpoint: called after each epoch with the network as it stands (the
            caller saves it, so an interrupt keeps the last finished epoch).

    Raises:
        ConfigError: labels do not match the frames or lie outside the classes.
    """
    x = cfg.prepare(frames)
    y = np.asarray(labels)
    if y.shape != (x.shape[0],):
        raise ConfigError(f"labels do not match the frames: {y.shape} for {x.shape[0]} samples")
    if y.size and (y.min() < 0 or y.max() >= cfg.classes):
        raise ConfigError(f"labels must lie in 0..{cfg.classes - 1}")
    fixed = init.fixed if init else random_pair_weights(cfg)
    fixed_j = [jnp.asarray(w, jnp.float32) for w in fixed]
    params = jax.tree_util.tree_map(jnp.asarray, init.params) if init else init_params(cfg, fixed)
    history = list(init.history) if init else []
    n_batches = max(1, x.shape[0] // cfg.batch_size)
    opt, update = _trainer(cfg, n_batches)

    def snapshot(p, hist, state):
        return TrainedSNN(config=cfg, fixed=fixed, history=hist,
                          params=jax.tree_util.tree_map(np.asarray, p),
                          opt_state=flat_opt_state(state))

    if init is not None and len(history) >= cfg.epochs:
        # nothing left to train: the network keeps the state it came with
        return replace(init, config=cfg)
    state = (restore_opt_state(opt, params, init.opt_state)
             if init is not None and init.opt_state is not None else None)
    params, history, state = train_epochs(
        cfg, n_samples=x.shape[0], opt=opt, update=update, params=params, history=history,
        batch=lambda idx: (fixed_j, jnp.asarray(x[idx]), jnp.asarray(y[idx])),
        metric="train_accuracy", state=state, snapshot=snapshot, progress=progress,
        checkpoint=checkpoint)
    return snapshot(params, history, state)


_forward_jit = jax.jit(lambda ws, x, cfg: cfg.forward(ws, x), static_argnums=2)
"""The compiled forward pass, shared by every call with the same config and shapes."""


@functools.cache
def _trainer(cfg: SNNConfig, n_batches: int):
    """The optimiser and the compiled training step of ``cfg`` (a pure function of the
    frozen config, cached so a second training of the same network does not compile
    again)."""
    opt = optimizer(cfg, n_batches)

    def loss_fn(p, fixed, xb, yb):
        logits = cfg.forward(effective_weights(p, fixed, cfg), xb)[-1]
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()
        return loss, jnp.mean(jnp.argmax(logits, -1) == yb)

    @jax.jit
    def update(p, s, fixed, xb, yb):
        (loss, acc), g = jax.value_and_grad(loss_fn, has_aux=True)(p, fixed, xb, yb)
        upd, s = opt.update(g, s, p)
        return optax.apply_updates(p, upd), s, loss, acc

    return opt, update
