"""Edge-popup on fixed random pairs (PRIME eq. 3-4), for any spiking network in JAX.

**Weights** are fixed: layer ``l``'s ``w`` is what :class:`RandomPairs` seeded
``seed + l`` draws from the forming distribution (``(G+ - G-) / g_unit``, about
``N(0, 1)``), times a digital per-layer scale. Only **scores** ``s`` (one per
weight) are trained: the mask keeps the ``keep`` fraction of each layer's
weights with the largest ``|s|`` (PRIME code: ``percentile(|s|)``, 50 %), and
the gradient goes straight through the mask to ``|s|``. ``mode="weights"``
trains the weights themselves instead (no mask): the software baselines.

A network config used here has the fields ``shapes`` (``(rows, cols)`` of each
matrix), ``layer_scales``, ``keep``, ``mode``, ``seed``, ``epochs``,
``batch_size``, ``lr``, ``weight_decay`` and ``warmup_epochs``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from circuits.devices import TAOX_40NM
from circuits.errors import ConfigError
from cosim.programming.base import BinaryCellWriter
from cosim.programming.pairs import RandomPairs

MODES = ("popup", "weights")
"""Training modes: pop-up scores on the fixed pairs, or the weights themselves."""


def pair_scheme(cfg, layer: int) -> RandomPairs:
    """The forming draw of layer ``layer`` (the same cells in training and deployment)."""
    return RandomPairs(rng=np.random.default_rng(cfg.seed + layer))


def random_pair_weights(cfg) -> list[np.ndarray]:
    """Each layer's fixed weights ``(in, out)``: what its random pairs encode, ~ ``N(0, 1)``."""
    rram = TAOX_40NM
    return [pair_scheme(cfg, i).program(None, shape, rram=rram, write=BinaryCellWriter(rram=rram),
                                        read_back=None).w_target
            for i, shape in enumerate(cfg.shapes)]


def kth_largest(a: jax.Array, k: int) -> jax.Array:
    """The ``k``-th largest value of the non-negative float32 array ``a`` (``1 <= k <=
    a.size``), exactly ``jnp.sort(a.ravel())[a.size - k]``.

    Found by bisection on the values' bit patterns (for non-negative IEEE floats the
    order of the patterns as integers is the order of the values): 32 counting passes
    over ``a`` instead of a sort, which made the sort the most of a training step.
    """
    bits = jax.lax.bitcast_convert_type(a.reshape(-1).astype(jnp.float32), jnp.int32)

    def halve(_, bounds):  # invariant: count(bits >= lo) >= k > count(bits >= hi)
        lo, hi = bounds
        mid = lo + (hi - lo) // 2
        ok = jnp.sum(bits >= mid) >= k
        return jnp.where(ok, mid, lo), jnp.where(ok, hi, mid)

    lo, _ = jax.lax.fori_loop(0, 32, halve, (jnp.int32(0), jnp.max(bits) + 1))
    return jax.lax.bitcast_convert_type(lo, jnp.float32)


def topk_mask(scores: jax.Array, keep: float) -> jax.Array:
    """1 for the ``keep`` fraction of largest ``|scores|``, else 0; gradient straight through
    to ``|scores|`` (PRIME eq. 4)."""
    a = jnp.abs(scores)
    k = max(1, int(round(keep * a.size)))
    kth = kth_largest(jax.lax.stop_gradient(a), k).astype(a.dtype)
    hard = (a >= kth).astype(a.dtype)
    return hard + a - jax.lax.stop_gradient(a)


def effective_weights(params: dict, fixed: list[jax.Array], cfg) -> list[jax.Array]:
    """The weights the network computes with (scaled; masked in popup mode)."""
    if cfg.mode == "weights":
        return [w * k for w, k in zip(params["w"], cfg.layer_scales, strict=True)]
    return [w * k * topk_mask(s, cfg.keep)
            for w, s, k in zip(fixed, params["scores"], cfg.layer_scales, strict=True)]


def init_params(cfg, fixed: list[np.ndarray]) -> dict:
    """Scores (popup) or weights (weights mode) before training."""
    key = jax.random.PRNGKey(cfg.seed)
    keys = jax.random.split(key, len(fixed))
    if cfg.mode == "weights":  # start from the random weights themselves
        return {"w": [jnp.asarray(w, jnp.float32) for w in fixed]}
    # kaiming_uniform(a = sqrt(5)) as the PRIME code: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    return {"scores": [jax.random.uniform(k, w.shape, jnp.float32, -1.0, 1.0) / np.sqrt(w.shape[0])
                       for k, w in zip(keys, fixed, strict=True)]}


def masks(cfg, params: dict) -> list[np.ndarray]:
    """Kept pairs per layer (booleans ``(in, out)``); all true in weights mode."""
    if cfg.mode == "weights":
        return [np.ones(np.shape(w), bool) for w in params["w"]]
    return [np.asarray(topk_mask(jnp.asarray(s), cfg.keep)) > 0.5 for s in params["scores"]]


def masked_weights(cfg, params: dict, fixed: list[np.ndarray]) -> list[np.ndarray]:
    """Weights in ``N(0, 1)`` units (before the layer scales), masked; the trained weights
    in weights mode."""
    if cfg.mode == "weights":
        return [np.asarray(w) for w in params["w"]]
    return [w * m for w, m in zip(fixed, masks(cfg, params), strict=True)]


def optimizer(cfg, n_batches: int) -> optax.GradientTransformation:
    """AdamW with a cosine decay of the learning rate to 0 over the whole training (after a
    linear warm-up of ``warmup_epochs``, when that is above 0 and below ``epochs``)."""
    total = max(1, cfg.epochs * n_batches)
    warm = int(round(cfg.warmup_epochs * n_batches))
    sched = (optax.warmup_cosine_decay_schedule(0.0, cfg.lr, warm, total) if 0 < warm < total
             else optax.cosine_decay_schedule(cfg.lr, total))
    return optax.adamw(sched, weight_decay=cfg.weight_decay)


def bump(state):
    """Advance the step counters of an optax state by one (resume)."""
    return jax.tree_util.tree_map(
        lambda v: v + 1 if isinstance(v, jax.Array) and v.dtype == jnp.int32 and v.ndim == 0
        else v, state)


def flat_opt_state(state: Any) -> list[np.ndarray] | None:
    """The flat leaves of an optimiser state as numpy arrays (what a checkpoint keeps;
    ``None`` for none)."""
    return None if state is None else [np.asarray(v) for v in jax.tree_util.tree_leaves(state)]


def restore_opt_state(opt: optax.GradientTransformation, params: dict,
                      leaves: list[np.ndarray]):
    """The optimiser state of ``opt`` for ``params`` from its flat leaves
    (what :func:`flat_opt_state` keeps).

    Raises:
        ConfigError: the leaves do not fit that optimiser and network.
    """
    ref, treedef = jax.tree_util.tree_flatten(opt.init(params))
    if len(ref) != len(leaves) or any(np.shape(a) != np.shape(b)
                                      for a, b in zip(ref, leaves, strict=True)):
        raise ConfigError("the checkpoint's optimiser state does not fit the network")
    return jax.tree_util.tree_unflatten(
        treedef, [jnp.asarray(v, dtype=r.dtype) for v, r in zip(leaves, ref, strict=True)])


Update = Callable[..., tuple[Any, Any, jax.Array, jax.Array]]


def train_epochs(cfg, *, n_samples: int, opt: optax.GradientTransformation, update: Update,
                 params: dict, history: list[dict], batch: Callable[[np.ndarray], tuple],
                 metric: str, state: Any = None,
                 snapshot: Callable[[dict, list[dict], Any], Any] | None = None,
                 progress: Callable[[dict], None] | None = None,
                 checkpoint: Callable[[Any], None] | None = None
                 ) -> tuple[dict, list[dict], Any]:
    """The epoch loop: shuffled mini-batches, one ``update`` each, a history row per epoch.

    Args:
        cfg: the network config (``epochs``, ``batch_size``, ``seed``).
        n_samples: training samples; ``n_samples // batch_size`` batches an epoch
            (at least one), the rest of the shuffled order left out that epoch.
        opt: the optimiser ``update`` steps (its state starts here).
        update: ``update(params, opt_state, *batch(idx)) -> (params, opt_state, loss,
            metric)``.
        params: the parameters to start from.
        history: the epochs already trained (``--resume``): the loop starts after them,
            the optimiser's schedule where they left it.
        state: the optimiser state to go on from (the one a previous call returned, or a
            checkpoint's): its moment estimates and step count continue. ``None``: a fresh
            state, its step counters advanced past the ``history`` epochs so the schedule
            continues. Adam's moments then restart with their bias correction already
            spent: its first step moves every parameter with a gradient by ``(1 - b1) /
            sqrt(1 - b2)`` (about 3.2) times the rate once the count is large, whatever
            the gradient's size or noise, and the steps stay larger than with the kept
            moments for hundreds of steps; a caller that trains on should pass its state.
        batch: the arguments of ``update`` for the sample indices of one batch.
        metric: the name of ``update``'s second figure in the history rows.
        snapshot: ``snapshot(params, history, state)`` -> what ``checkpoint`` receives.
        progress: called after each epoch with its history row.
        checkpoint: called after each epoch (the caller saves, so an interrupt keeps the
            last finished epoch).

    Returns:
        ``(params, history, state)``: the JAX parameters, the full history and the
        optimiser state after the last step.

    Raises:
        ConfigError: the loss of an epoch is not finite (diverged).
    """
    history = list(history)
    n_batches = max(1, n_samples // cfg.batch_size)
    if state is None:
        state = opt.init(params)
        # skip the steps already done when resuming, so the schedule continues
        for _ in range(len(history) * n_batches):
            state = bump(state)
    rng = np.random.default_rng(cfg.seed + 1000 + len(history))
    for epoch in range(len(history), cfg.epochs):
        t0 = time.perf_counter()
        order = rng.permutation(n_samples)
        losses, figures = [], []
        for b in range(n_batches):
            idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            params, state, loss, fig = update(params, state, *batch(idx))
            losses.append(float(loss))
            figures.append(float(fig))
        row = {"epoch": epoch, "loss": float(np.mean(losses)),
               metric: float(np.mean(figures)), "seconds": time.perf_counter() - t0}
        history.append(row)
        if not np.isfinite(row["loss"]):
            raise ConfigError(f"training diverged at epoch {epoch} (loss {row['loss']}); "
                              "lower the learning rate")
        if checkpoint is not None and snapshot is not None:
            checkpoint(snapshot(params, list(history), state))
        if progress is not None:
            progress(row)
    return params, history, state
