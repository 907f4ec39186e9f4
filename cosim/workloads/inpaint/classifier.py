"""A small MNIST classifier for the "classifier score" of inpainted digits.

PRIME reports the Inception Score, which needs Inception-v3 weights trained on
ImageNet (a download); this project trains its own small classifier instead
and computes the same formula with it (Salimans et al., 2016):
``exp(E_x KL(p(y|x) || p(y)))``, ``p(y)`` the mean of ``p(y|x)`` over the set.
It lies in ``[1, classes]``: high when each image is confidently one class and
the classes are evenly used. It is not comparable with an Inception Score's
value, only between rows computed with the same classifier.

The classifier: an MLP ``1024 -> hidden -> 10`` with ReLU on the 32 x 32 images
in ``[-1, 1]``, trained by Adam on softmax cross-entropy.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax

from circuits.errors import ConfigError, check_int


@dataclass(frozen=True, kw_only=True, eq=False)
class Classifier:
    """A trained classifier: ``(w1, b1, w2, b2)`` of the MLP."""

    params: tuple[np.ndarray, ...]

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """``p(y | x)``: ``(N, classes)`` for images ``(N, 32, 32)``."""
        w1, b1, w2, b2 = self.params
        h = np.maximum(images.reshape(images.shape[0], -1) @ w1 + b1, 0.0)
        z = h @ w2 + b2
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def accuracy(self, images: np.ndarray, labels: np.ndarray) -> float:
        return float(np.mean(self.probabilities(images).argmax(1) == labels))

    def score(self, images: np.ndarray) -> float:
        """The classifier score ``exp(E_x KL(p(y|x) || p(y)))`` (module docstring)."""
        p = self.probabilities(images)
        py = p.mean(axis=0, keepdims=True)
        eps = 1e-12
        return float(np.exp(np.mean(np.sum(p * (np.log(p + eps) - np.log(py + eps)), axis=1))))


def train_classifier(images: np.ndarray, labels: np.ndarray, *, classes: int = 10,
                     hidden: int = 128, epochs: int = 8, batch_size: int = 64, lr: float = 2e-3,
                     seed: int = 0) -> Classifier:
    """Train the MLP on ``images (N, 32, 32)`` and ``labels (N,)`` in ``0..classes-1``.

    Raises:
        ConfigError: labels that do not match the images or lie outside the classes.
    """
    check_int("classifier epochs", epochs, 1, 10_000)
    x = np.asarray(images, np.float32).reshape(len(images), -1)
    y = np.asarray(labels)
    if y.shape != (x.shape[0],) or x.shape[0] == 0:
        raise ConfigError(f"{y.size} labels for {x.shape[0]} images")
    if y.min() < 0 or y.max() >= classes:
        raise ConfigError(f"labels must lie in 0..{classes - 1} for the classifier score")
    key = jax.random.PRNGKey(seed)
    k1, k2 = jax.random.split(key)
    d = x.shape[1]
    params = (jax.random.normal(k1, (d, hidden)) * np.sqrt(2.0 / d), jnp.zeros(hidden),
              jax.random.normal(k2, (hidden, classes)) * np.sqrt(1.0 / hidden),
              jnp.zeros(classes))
    opt = optax.adam(lr)
    state = opt.init(params)

    def loss_fn(p, xb, yb):
        h = jax.nn.relu(xb @ p[0] + p[1])
        return optax.softmax_cross_entropy_with_integer_labels(h @ p[2] + p[3], yb).mean()

    @jax.jit
    def update(p, s, xb, yb):
        g = jax.grad(loss_fn)(p, xb, yb)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s

    rng = np.random.default_rng(seed)
    n_batches = max(1, x.shape[0] // batch_size)
    for _ in range(epochs):
        order = rng.permutation(x.shape[0])
        for b in range(n_batches):
            idx = order[b * batch_size:(b + 1) * batch_size]
            params, state = update(params, state, jnp.asarray(x[idx]), jnp.asarray(y[idx]))
    return Classifier(params=tuple(np.asarray(a, np.float64) for a in params))
