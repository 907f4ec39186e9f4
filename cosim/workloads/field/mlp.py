"""The neural field's MLP: a low-rank SIREN, trained with JAX + optax (Adam, MSE).

Network (NF paper, NF code)::

    h_0 = act(w0 * (f @ W_in + b_in))                     f: encoded voxel, (n_features,)
    h_k = act(w0 * ((h_{k-1} @ U_k) @ V_k + b_k))        k = 1 .. n_hidden, U_k: width x rank
    y   = h_n @ W_out + b_out                             one intensity

``act`` is ``sin`` with ``w0 = omega0`` (SIREN, Sitzmann et al. 2020, omega0 = 30)
or ReLU with ``w0 = 1``. ``rank = 0`` makes the hidden layers full ``width x
width`` matrices. The default (131 -> 100, rank 10, one hidden block, -> 1) has
15,200 weights (NF paper: about 15,000). A wider network for volumes this one
cannot fit is a config (:data:`WIDE`), not other code.

Initialisation (SIREN): ``W_in ~ U(+-1/n_in)``; a full hidden matrix
``~ U(+-sqrt(6/n)/w0)``; a low-rank pair ``U ~ U(+-sqrt(6/width))``,
``V ~ U(+-sqrt(3/rank)/w0)``, which gives ``(h U) V`` the variance of the full
SIREN matrix. ReLU layers use He-uniform.

Structured pruning (:func:`prune_width`) removes hidden neurons physically: the
rows and columns of the neurons with the smallest outgoing-weight norm are cut
from every matrix, so the deployed arrays shrink.

Threads: unless ``XLA_FLAGS`` is set before JAX is first imported, this module
limits XLA's CPU backend to one intra-op thread, so that runs side by side do not
oversubscribe the cores.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from circuits.errors import ConfigError, check_choice, check_int, check_range

ACTIVATIONS = ("sine", "relu")
SCHEDULES = ("cosine", "exponential", "constant")
"""Learning-rate schedules of :class:`TrainConfig`."""

Params = dict[str, np.ndarray]


@dataclass(frozen=True, kw_only=True)
class MLPConfig:
    """Shape and activation of the network.

    Attributes:
        width: neurons per hidden layer; NF paper 100.
        rank: rank of each hidden matrix (``U V``); 0 for full matrices; NF paper 10.
        n_hidden: hidden blocks after the first layer; NF paper 1.
        activation: ``"sine"`` (SIREN) or ``"relu"``.
        omega0: SIREN frequency factor; NF code 30.
    """

    width: int = 100
    rank: int = 10
    n_hidden: int = 1
    activation: str = "sine"
    omega0: float = 30.0

    def __post_init__(self) -> None:
        check_int("MLP width", self.width, 1, 4096)
        check_int("MLP rank", self.rank, 0, 4096)
        if self.rank > self.width:
            raise ConfigError(f"MLP rank ({self.rank}) must be <= width ({self.width})")
        check_int("MLP hidden blocks", self.n_hidden, 0, 16)
        check_choice("activation", self.activation, ACTIVATIONS)
        if not np.isfinite(self.omega0):
            raise ConfigError(f"omega0 must be a finite number > 0, got {self.omega0!r}")
        check_range("omega0", self.omega0, 0.0, 1e4, lo_open=True)

    @property
    def w0(self) -> float:
        """The factor before the activation (omega0 for sine, 1 for ReLU)."""
        return self.omega0 if self.activation == "sine" else 1.0


PAPER_MLP = MLPConfig()
"""NF paper: 131 -> 100 SIREN, hidden 100 -> 10 -> 100, -> 1."""

WIDE = MLPConfig(width=128, rank=0, n_hidden=1)
"""A wider network for volumes the paper's cannot fit: SIREN 131 -> 128, a full-rank
hidden 128 x 128, -> 1 (33,280 weights, 2.2 times the paper's).

W_in's rms weight is about 0.1 of its largest, so with one full-scale weight per
matrix a few large weights set HAQ's full scale; deploy it with
``weight_scaling="column"`` (each column against its own largest weight).
Measured figures: ``docs/measurements/field.md``."""


def matrices(params: Params) -> list[str]:
    """Names of the weight matrices in forward order (each one analog layer)."""
    names = ["W_in"]
    k = 1
    while f"U{k}" in params or f"H{k}" in params:
        names += [f"U{k}", f"V{k}"] if f"U{k}" in params else [f"H{k}"]
        k += 1
    return names + ["W_out"]


def n_weights(params: Params) -> int:
    """Weights of all matrices (biases excluded)."""
    return int(sum(params[k].size for k in matrices(params)))


def init_params(cfg: MLPConfig, n_features: int, rng: np.random.Generator) -> Params:
    """Initial parameters (module docstring), float32 numpy arrays."""
    check_int("n_features", n_features, 1, 100_000)
    w = cfg.width

    def u(shape: tuple[int, int], bound: float) -> np.ndarray:
        return rng.uniform(-bound, bound, shape).astype(np.float32)

    sine = cfg.activation == "sine"
    p: Params = {"W_in": u((n_features, w), 1.0 / n_features if sine
                           else np.sqrt(6.0 / n_features)),
                 "b_in": u((w,), 1.0 / np.sqrt(n_features))}
    for k in range(1, cfg.n_hidden + 1):
        if cfg.rank:
            p[f"U{k}"] = u((w, cfg.rank), np.sqrt(6.0 / w))
            p[f"V{k}"] = u((cfg.rank, w), np.sqrt(3.0 / cfg.rank) / cfg.w0)
        else:
            p[f"H{k}"] = u((w, w), np.sqrt(6.0 / w) / cfg.w0)
        p[f"b{k}"] = u((w,), 1.0 / np.sqrt(w))
    p["W_out"] = u((w, 1), np.sqrt(6.0 / w) / cfg.w0)
    p["b_out"] = np.zeros(1, dtype=np.float32)
    return p


def forward(params: Params, f: np.ndarray, cfg: MLPConfig, *,
            matmul: Callable[[str, np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """The network in numpy (float64), ``(N, n_features) -> (N,)``.

    Args:
        params: the parameters.
        f: encoded voxels.
        cfg: activation and ``w0``.
        matmul: ``matmul(name, x) -> x @ params[name]``, e.g. an analog layer's
            forward; default exact numpy.
    """
    mm = matmul or (lambda name, x: x @ np.asarray(params[name], dtype=float))
    act = np.sin if cfg.activation == "sine" else (lambda z: np.maximum(z, 0.0))
    h = act(cfg.w0 * (mm("W_in", np.asarray(f, dtype=float)) + params["b_in"]))
    k = 1
    while f"b{k}" in params:
        z = mm(f"V{k}", mm(f"U{k}", h)) if f"U{k}" in params else mm(f"H{k}", h)
        h = act(cfg.w0 * (z + params[f"b{k}"]))
        k += 1
    return (mm("W_out", h) + params["b_out"])[:, 0]


def prune_width(params: Params, keep: int) -> Params:
    """Physically remove hidden neurons: keep the ``keep`` with the largest outgoing norm.

    A neuron ``j`` of a hidden layer is column ``j`` of the matrix into it (and its
    bias) and row ``j`` of the matrix out of it; every hidden layer is cut to ``keep``.
    """
    names = matrices(params)
    width = params["W_in"].shape[1]
    check_int("neurons kept", keep, 1, width)
    out = {k: np.array(v) for k, v in params.items()}
    # (matrix into the layer, its bias, matrix out of the layer) for each hidden layer
    layers = []
    outs = [n for n in names[1:] if not n.startswith("V")]
    ins = ["W_in"] + [n for n in names[1:-1] if n.startswith(("V", "H"))]
    for i, (m_in, m_out) in enumerate(zip(ins, outs, strict=True)):
        layers.append((m_in, "b_in" if i == 0 else f"b{i}", m_out))
    for m_in, bias, m_out in layers:
        norm = np.linalg.norm(out[m_out], axis=1)
        idx = np.sort(np.argsort(-norm, kind="stable")[:keep])
        out[m_in] = out[m_in][:, idx]
        out[bias] = out[bias][idx]
        out[m_out] = out[m_out][idx, :]
    return out


def truncate_rank(params: Params, rank: int) -> Params:
    """Every hidden matrix cut to ``rank`` by SVD (``U S V^T`` -> ``(U sqrt S)(sqrt S V^T)``).

    A low-rank pair ``U_k V_k`` of a higher rank, or a full ``H_k``, becomes the
    pair of the best rank-``rank`` approximation of its product (Eckart-Young);
    pairs already at or below ``rank`` are kept.
    """
    check_int("rank", rank, 1, 4096)
    out = {k: np.array(v) for k, v in params.items()}
    k = 1
    while f"b{k}" in out:
        if f"U{k}" in out and out[f"U{k}"].shape[1] <= rank:
            k += 1
            continue
        m = (out[f"U{k}"].astype(float) @ out[f"V{k}"].astype(float) if f"U{k}" in out
             else out[f"H{k}"].astype(float))
        u, s, vt = np.linalg.svd(m, full_matrices=False)
        r = min(rank, len(s))
        root = np.sqrt(s[:r])
        dtype = out[f"b{k}"].dtype
        out.pop(f"H{k}", None)
        out[f"U{k}"] = (u[:, :r] * root).astype(dtype)
        out[f"V{k}"] = (root[:, None] * vt[:r]).astype(dtype)
        k += 1
    return out


# -- training (JAX) --------------------------------------------------------------------

def _jax():
    if "jax" not in __import__("sys").modules and "XLA_FLAGS" not in os.environ:
        os.environ["XLA_FLAGS"] = ("--xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")
    import jax
    import jax.numpy as jnp
    import optax

    return jax, jnp, optax


def jax_modules():
    """``(jax, jax.numpy, optax)``, imported with XLA limited to one thread unless
    ``XLA_FLAGS`` is set (module docstring); for the other workloads' training."""
    return _jax()


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Adam on the mean squared error.

    Attributes:
        steps: optimiser steps.
        batch: voxels per step (sampled with replacement); 0 for the whole set.
        learning_rate: Adam's step size at step 0.
        schedule: how the step size falls over ``steps``: ``"cosine"`` (half a
            cosine from ``learning_rate`` to ``final_lr_fraction`` of it),
            ``"exponential"`` (``learning_rate * final_lr_fraction ** (t / steps)``)
            or ``"constant"``.
        final_lr_fraction: the step size at ``steps`` over ``learning_rate``
            (cosine and exponential), in (0, 1].
        seed: seed of the batches.
    """

    steps: int = 2000
    batch: int = 16384
    learning_rate: float = 1e-3
    schedule: str = "cosine"
    final_lr_fraction: float = 0.01
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("training steps", self.steps, 1, 10**7)
        check_int("batch", self.batch, 0, 10**7)
        if not np.isfinite(self.learning_rate):
            raise ConfigError(f"learning rate must be finite, got {self.learning_rate!r}")
        check_range("learning rate", self.learning_rate, 0.0, 1.0, lo_open=True)
        check_choice("learning-rate schedule", self.schedule, SCHEDULES)
        if not np.isfinite(self.final_lr_fraction):
            raise ConfigError(f"final learning-rate fraction must be finite, got "
                              f"{self.final_lr_fraction!r}")
        check_range("final learning-rate fraction", self.final_lr_fraction, 0.0, 1.0,
                    lo_open=True)
        check_int("training seed", self.seed, 0, 2**32 - 1)


@dataclass(frozen=True, kw_only=True, eq=False)
class TrainState:
    """Where training stands: parameters, optimiser state, steps done, loss history."""

    params: Params
    opt_state: object
    step: int
    losses: np.ndarray


def train(params: Params, feats: np.ndarray, target: np.ndarray, mlp: MLPConfig,
          cfg: TrainConfig, *, state: TrainState | None = None,
          progress: Callable[[int, float], None] | None = None,
          log_every: int = 50,
          monitor: Callable[[int, Params], None] | None = None,
          monitor_every: int = 0) -> TrainState:
    """Fit ``params`` to ``target`` (N,) from ``feats`` (N, n_features) with Adam on MSE.

    Args:
        params: initial parameters (ignored when ``state`` resumes a run).
        feats: encoded voxels.
        target: intensities.
        mlp: the network.
        cfg: steps, batch, learning rate.
        state: a previous state to continue from (same ``cfg``).
        progress: called as ``progress(step, loss)`` every ``log_every`` steps.
        monitor: called as ``monitor(step, params)`` (numpy parameters) every
            ``monitor_every`` steps (``monitor_every > 0``) and after the last step,
            e.g. to score the network while it trains.

    Returns:
        The state after ``cfg.steps`` steps in all. ``KeyboardInterrupt`` raised
        inside the loop is re-raised as :class:`Interrupted` carrying the last state.
    """
    jax, jnp, optax = _jax()
    feats = np.asarray(feats, dtype=np.float32)
    target = np.asarray(target, dtype=np.float32)
    if feats.ndim != 2 or target.shape != (feats.shape[0],):
        raise ConfigError(f"features {feats.shape} and targets {target.shape} do not match")
    opt = _optimizer(cfg)

    def loss_fn(p, f, t):
        return jnp.mean((jax_forward(p, f, mlp) - t) ** 2)

    @jax.jit
    def step_fn(p, s, f, t):
        loss, g = jax.value_and_grad(loss_fn)(p, f, t)
        upd, s = opt.update(g, s, p)
        return optax.apply_updates(p, upd), s, loss

    if state is None:
        p = {k: jnp.asarray(v) for k, v in params.items()}
        s, done, losses = opt.init(p), 0, []
    else:
        p = {k: jnp.asarray(v) for k, v in state.params.items()}
        s, done, losses = state.opt_state, state.step, list(state.losses)
    rng = np.random.default_rng([cfg.seed, done])
    n = feats.shape[0]
    full = cfg.batch == 0 or cfg.batch >= n
    f_all, t_all = (jnp.asarray(feats), jnp.asarray(target)) if full else (None, None)
    if monitor_every < 0:
        raise ConfigError(f"monitor interval must be >= 0 steps, got {monitor_every}")
    try:
        while done < cfg.steps:
            if full:
                f, t = f_all, t_all
            else:
                idx = rng.integers(0, n, cfg.batch)
                f, t = feats[idx], target[idx]
            p, s, loss = step_fn(p, s, f, t)
            done += 1
            if done % log_every == 0 or done == cfg.steps:
                losses.append(float(loss))
                if progress is not None:
                    progress(done, float(loss))
            if monitor is not None and ((monitor_every and done % monitor_every == 0)
                                        or done == cfg.steps):
                monitor(done, {k: np.asarray(v) for k, v in p.items()})
    except KeyboardInterrupt:
        raise Interrupted(_state(p, s, done, losses)) from None
    return _state(p, s, done, losses)


def jax_forward(p, f, mlp: MLPConfig):
    """The network in JAX (traceable), ``(N, n_features) -> (N,)``: what training fits
    and what a GPU or CPU runs in software (:mod:`cosim.workloads.field.software`)."""
    jax, jnp, _ = _jax()
    w0 = float(mlp.w0)
    act = jnp.sin if mlp.activation == "sine" else jax.nn.relu
    h = act(w0 * (f @ p["W_in"] + p["b_in"]))
    k = 1
    while f"b{k}" in p:
        z = (h @ p[f"U{k}"]) @ p[f"V{k}"] if f"U{k}" in p else h @ p[f"H{k}"]
        h = act(w0 * (z + p[f"b{k}"]))
        k += 1
    return (h @ p["W_out"] + p["b_out"])[:, 0]


def _optimizer(cfg: TrainConfig):
    _, _, optax = _jax()
    return optax.adam(learning_rate_schedule(cfg))


def learning_rate_schedule(cfg: TrainConfig):
    """Adam's step size as a function of the step (``cfg.schedule``; an optax schedule)."""
    _, _, optax = _jax()
    if cfg.schedule == "cosine":
        return optax.cosine_decay_schedule(cfg.learning_rate, cfg.steps,
                                           alpha=cfg.final_lr_fraction)
    if cfg.schedule == "exponential":
        return optax.exponential_decay(cfg.learning_rate, transition_steps=cfg.steps,
                                       decay_rate=cfg.final_lr_fraction)
    return optax.constant_schedule(cfg.learning_rate)


def opt_state_leaves(state: TrainState) -> list[np.ndarray]:
    """The optimiser state as a flat list of arrays (for a checkpoint)."""
    jax, _, _ = _jax()
    return [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(state.opt_state)]


def restore_state(params: Params, leaves: list[np.ndarray], step: int, losses: np.ndarray,
                  cfg: TrainConfig) -> TrainState:
    """A :class:`TrainState` from a checkpoint's parameters and optimiser leaves.

    Raises:
        ConfigError: the leaves do not fit the optimiser of ``cfg`` for ``params``.
    """
    jax, jnp, _ = _jax()
    p = {k: jnp.asarray(v) for k, v in params.items()}
    template = _optimizer(cfg).init(p)
    ref, treedef = jax.tree_util.tree_flatten(template)
    if len(ref) != len(leaves) or any(np.shape(a) != np.shape(b)
                                      for a, b in zip(ref, leaves, strict=True)):
        raise ConfigError("checkpoint optimiser state does not fit the network")
    s = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(v, dtype=r.dtype)
                                               for v, r in zip(leaves, ref, strict=True)])
    return TrainState(params={k: np.asarray(v) for k, v in params.items()}, opt_state=s,
                      step=int(step), losses=np.asarray(losses, dtype=float))


def _state(p, s, done: int, losses: list[float]) -> TrainState:
    return TrainState(params={k: np.asarray(v) for k, v in p.items()}, opt_state=s,
                      step=done, losses=np.asarray(losses))


class Interrupted(KeyboardInterrupt):
    """Training was interrupted; ``state`` holds the last completed step."""

    def __init__(self, state: TrainState):
        super().__init__(f"training interrupted at step {state.step}")
        self.state = state
