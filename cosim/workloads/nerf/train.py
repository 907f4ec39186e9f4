"""Training NeRF and D-NeRF with JAX + optax: random rays, stratified samples, MSE on colour.

Each step draws ``rays`` pixels of the training views at random, samples each ray
(stratified, :func:`cosim.workloads.nerf.render.sample_along`), runs the network
(:func:`cosim.workloads.nerf.model.radiance`, the forward pass the hardware runs
too) and composites on the white background; the loss is the mean squared error
of the colours. Adam with the NF paper's schedule shape: the learning rate decays
exponentially by the factor ``final_learning_rate / learning_rate`` over the
steps (paper: 5e-4 to 5e-5 over about 200k iterations).

Structured pruning (a config, ``prune_width``/``prune_rank``) runs in three phases
over the steps: the full network trains alone up to ``prune_start`` (a fraction of
the steps); in ``prune_stages`` cuts evenly spread between ``prune_start`` and
``prune_end`` every layer loses its least important neurons and every ``U V`` pair
its smallest singular values (:func:`cosim.workloads.nerf.model.compress`: neuron
importance from the 2-norms of its weights in and out, rank by truncated SVD of each
product, re-factored), the widths and ranks falling geometrically to the targets
(NF paper: width 26, rank 3); the cut network is then fine-tuned for the rest of the
steps. Adam's moments start afresh after each cut. A network at rank 3 learns slowly
(the product of two thin matrices), so the fine-tuning phase is the longest: by
default the cuts fall between 20 % and 35 % of the steps.

Batches and jitter are drawn from ``default_rng([seed, step])``, so a run
resumed from a checkpoint continues exactly as one that was not interrupted.
XLA runs on one thread unless ``XLA_FLAGS`` says otherwise
(:func:`cosim.workloads.field.mlp.jax_modules`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from circuits.errors import ConfigError, check_int, check_range
from cosim.workloads.field.mlp import Interrupted, TrainState, jax_modules
from cosim.workloads.nerf.model import (
    Encodings,
    Geometry,
    ModelConfig,
    Ops,
    Params,
    compress,
    render_rays,
)


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Adam on the colour MSE, with optional structured pruning.

    Attributes:
        steps: optimiser steps.
        rays: rays per step (NF paper: 4096).
        samples: samples per ray, in training and evaluation (NF paper: 64).
        learning_rate: Adam's step size at the start.
        final_learning_rate: at the end (exponential decay between them).
        deform_step_scale: the deformation network's (D-NeRF) step size as a fraction of
            the canonical network's. Adam moves every parameter by about the step size
            whatever its gradient's scale, so the deformation's output layer, though
            initialised near zero, moves every sample by up to ``lr`` times the sum of
            its ``width`` activations per step; at the canonical network's step size
            that exceeds the scenes' motion from the first steps, and samples pushed
            out of the box are clamped and get no gradient back.
        seed: seed of the batches and the jitter.
        prune_width: neurons every layer keeps after pruning (NF paper: 26); 0: no pruning.
        prune_rank: rank every ``U V`` pair keeps (NF paper: 3); 0: ranks kept.
        prune_start, prune_end: first and last cut, as fractions of ``steps`` (the full
            network trains before the first, the cut one is fine-tuned after the last).
        prune_stages: cuts, widths and ranks falling geometrically to the targets.
    """

    steps: int = 2000
    rays: int = 512
    samples: int = 48
    learning_rate: float = 5e-3
    final_learning_rate: float = 5e-4
    deform_step_scale: float = 0.1
    seed: int = 0
    prune_width: int = 0
    prune_rank: int = 0
    prune_start: float = 0.2
    prune_end: float = 0.35
    prune_stages: int = 4

    def __post_init__(self) -> None:
        check_int("training steps", self.steps, 1, 10**7)
        check_int("rays per step", self.rays, 1, 1 << 20)
        check_int("samples per ray", self.samples, 2, 1024)
        for name in ("learning_rate", "final_learning_rate"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and np.isfinite(v)):
                raise ConfigError(f"{name.replace('_', ' ')} must be finite, got {v!r}")
            check_range(name.replace("_", " "), v, 0.0, 1.0, lo_open=True)
        v = self.deform_step_scale
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
            raise ConfigError(f"deformation step scale must be a finite number, got {v!r}")
        check_range("deformation step scale", v, 0.0, 1.0, lo_open=True)
        check_int("training seed", self.seed, 0, 2**32 - 1)
        check_int("pruned width", self.prune_width, 0, 4096)
        check_int("pruned rank", self.prune_rank, 0, 4096)
        check_range("prune start", self.prune_start, 0.0, 1.0)
        check_range("prune end", self.prune_end, self.prune_start, 1.0)
        check_int("prune stages", self.prune_stages, 1, 100)
        if self.prune_rank and not self.prune_width:
            raise ConfigError("a pruned rank needs a pruned width too (prune_width > 0)")

    def learning_rate_at(self, step: int) -> float:
        """The exponentially decaying learning rate at ``step``."""
        frac = min(step / self.steps, 1.0)
        return float(self.learning_rate
                     * (self.final_learning_rate / self.learning_rate) ** frac)

    def prune_plan(self, width: int, rank: int, view_width: int
                   ) -> dict[int, tuple[int, int, int]]:
        """``{step: (width, rank, view width)}`` of every cut (empty without pruning).

        Every cut falls before the last step, so the network ends at the targets
        (``prune_width``, ``prune_rank``, view width ``prune_width // 2``); cuts that
        round to one step keep the later (smaller) one."""
        if not self.prune_width:
            return {}
        n = self.prune_stages
        fracs = [self.prune_start] if n == 1 else np.linspace(self.prune_start,
                                                              self.prune_end, n)
        target_view = max(1, self.prune_width // 2)
        plan = {}
        def geo(a: int, b: int, s: int) -> int:
            return max(b, int(round(a * (b / a) ** (s / n)))) if a > b else a

        for s, frac in enumerate(fracs, start=1):
            plan[min(self.steps - 1, int(round(frac * self.steps)))] = (
                geo(width, self.prune_width, s),
                geo(rank, self.prune_rank, s) if self.prune_rank and rank else rank,
                geo(view_width, target_view, s))
        return plan


@dataclass(frozen=True, kw_only=True, eq=False)
class TrainingRays:
    """Every training pixel's ray: origins, directions, times, segment ends, colours."""

    o: np.ndarray
    d: np.ndarray
    t: np.ndarray
    t0: np.ndarray
    t1: np.ndarray
    target: np.ndarray

    def __len__(self) -> int:
        return len(self.o)

    def batch(self, idx: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(a[idx].astype(np.float32) for a in
                     (self.o, self.d, self.t, self.t0, self.t1, self.target))


class JaxOps(Ops):
    """The network's steps in ``jax.numpy`` (training)."""

    def __init__(self, params: Any, encodings: Encodings):
        jax, jnp, _ = jax_modules()
        super().__init__(params, encodings)
        self.xp = jnp
        self._sigmoid = jax.nn.sigmoid

    def sigmoid(self, z: Any) -> Any:
        return self._sigmoid(z)


def _adam():
    _, _, optax = jax_modules()
    return optax.scale_by_adam()


def make_step(cfg: ModelConfig, geom: Geometry, enc: Encodings, samples: int,
              deform_step_scale: float = 1.0) -> Callable:
    """The jitted training step ``(params, opt_state, batch, jitter, lr) -> (params,
    opt_state, loss)``; the deformation network's parameters step ``deform_step_scale``
    times ``lr`` (:class:`TrainConfig`)."""
    jax, jnp, _ = jax_modules()
    adam = _adam()

    def loss_fn(p, o, d, t, t0, t1, target, jitter):
        colour = render_rays(JaxOps(p, enc), cfg, geom, o, d, t, t0, t1, samples, jitter)
        return jnp.mean((colour - target) ** 2)

    @jax.jit
    def step(p, s, o, d, t, t0, t1, target, jitter, lr):
        loss, g = jax.value_and_grad(loss_fn)(p, o, d, t, t0, t1, target, jitter)
        upd, s = adam.update(g, s, p)
        p = {k: p[k] - (lr * deform_step_scale if k.startswith("deform/") else lr) * upd[k]
             for k in p}
        return p, s, loss

    return step


def train_nerf(cfg: ModelConfig, tcfg: TrainConfig, geom: Geometry, enc: Encodings,
               rays: TrainingRays, params: Params, *, state: TrainState | None = None,
               progress: Callable[[int, float], None] | None = None,
               log_every: int = 25) -> TrainState:
    """Train (module docstring) from ``params``, or continue ``state``.

    Returns:
        The state after ``tcfg.steps`` steps in all; ``KeyboardInterrupt`` inside the
        loop is re-raised as :class:`cosim.workloads.field.mlp.Interrupted` carrying
        the last completed step.
    """
    jax, jnp, _ = jax_modules()
    adam = _adam()
    if state is None:
        p = {k: jnp.asarray(v) for k, v in params.items()}
        s, done, losses = adam.init(p), 0, []
    else:
        p = {k: jnp.asarray(v) for k, v in state.params.items()}
        s, done, losses = state.opt_state, state.step, list(state.losses)
        if s is None:
            s = adam.init(p)
    plan = tcfg.prune_plan(cfg.canonical.width, cfg.canonical.rank, cfg.view_width)
    step_fn = make_step(cfg, geom, enc, tcfg.samples, tcfg.deform_step_scale)
    n = len(rays)
    try:
        while done < tcfg.steps:
            if done in plan:
                w, r, vw = plan[done]
                cut = compress(cfg, {k: np.asarray(v) for k, v in p.items()}, w, r, vw)
                p = {k: jnp.asarray(v) for k, v in cut.items()}
                s = adam.init(p)
            rng = np.random.default_rng([tcfg.seed, done])
            idx = rng.integers(0, n, tcfg.rays)
            jitter = rng.random((tcfg.rays, tcfg.samples), dtype=np.float32)
            p, s, loss = step_fn(p, s, *rays.batch(idx), jitter,
                                 np.float32(tcfg.learning_rate_at(done)))
            done += 1
            if done % log_every == 0 or done == tcfg.steps:
                losses.append(float(loss))
                if progress is not None:
                    progress(done, float(loss))
    except KeyboardInterrupt:
        raise Interrupted(_state(p, s, done, losses)) from None
    return _state(p, s, done, losses)


def _state(p, s, done: int, losses: list[float]) -> TrainState:
    return TrainState(params={k: np.asarray(v) for k, v in p.items()}, opt_state=s,
                      step=done, losses=np.asarray(losses))


def opt_leaves(state: TrainState) -> list[np.ndarray]:
    """The optimiser state as a flat list of arrays (for a checkpoint)."""
    jax, _, _ = jax_modules()
    return [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(state.opt_state)]


def restore(params: Params, leaves: list[np.ndarray], step: int, losses: np.ndarray
            ) -> TrainState:
    """A :class:`TrainState` from a checkpoint's parameters and optimiser leaves.

    Raises:
        ConfigError: the leaves do not fit Adam's state for ``params``.
    """
    jax, jnp, _ = jax_modules()
    p = {k: jnp.asarray(v) for k, v in params.items()}
    ref, treedef = jax.tree_util.tree_flatten(_adam().init(p))
    if len(ref) != len(leaves) or any(np.shape(a) != np.shape(b)
                                      for a, b in zip(ref, leaves, strict=True)):
        raise ConfigError("checkpoint optimiser state does not fit the network")
    s = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(v, dtype=r.dtype)
                                               for v, r in zip(leaves, ref, strict=True)])
    return TrainState(params={k: np.asarray(v) for k, v in params.items()}, opt_state=s,
                      step=int(step), losses=np.asarray(losses, dtype=float))
