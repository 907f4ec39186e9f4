"""PRIME's N-MNIST conv net 12C5-P2-64C5-P2-FC, with every convolution an im2col matrix.

**Mapping onto crossbars** (the usual im2col,
:mod:`cosim.workloads.spiking.crossbar`): a ``k x k`` convolution with ``c_in`` input
and ``c_out`` output channels is the matrix ``(c_in k k, c_out)``: each kernel one
column, each row one (channel, dy, dx) tap. At every timestep the layer's input is
unrolled into one patch per output position (rows ordered channel-major, then dy, dx),
and each patch is one matrix-vector product on the array. With differential pairs (two
columns per weight) on 512 x 512 macros: conv1 ``(50, 12)`` and conv2 ``(300, 64)``
take one macro each, the classifier ``(1600, 10)`` four (1600 rows), six in all.

**Network**: frames ``(2, 34, 34)`` -> conv 12C5 (30 x 30) -> LIF -> max pool 2
(15 x 15) -> conv 64C5 (11 x 11) -> LIF -> max pool 2 (5 x 5, the last row and
column dropped) -> FC 1600 -> 10 integrating output (no leak, no spike; logits
the mean over the steps, as the MLP in :mod:`.network`). Max pooling of spikes
is a spike (OR), so every crossbar after the first sees binary inputs.

**Weights and training**: as the MLP (:mod:`.network`): fixed random pairs
per matrix, pop-up scores with the top-``keep`` mask per layer, Adam; the
training loop is :func:`cosim.workloads.snn.network.train`, which calls this
config's :meth:`ConvConfig.forward`. Each layer has its own digital scale
(``layer_scales``), since fan-ins differ (50, 300, 1600). The default scales,
learning rate, warm-up, batch and epochs were chosen by training runs on
synthesised N-MNIST (T = 10). Measured figures: ``docs/measurements/snn.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from circuits.errors import ConfigError, check_int, check_range
from cosim.workloads.snn.network import check_lif_training
from cosim.workloads.spiking.crossbar import im2col, max_pool
from cosim.workloads.spiking.lif import lif_step, lif_step_numpy

INPUT_SHAPE = (2, 34, 34)


@dataclass(frozen=True, kw_only=True)
class ConvConfig:
    """The conv net and its training (fields as :class:`.network.SNNConfig` where shared).

    Attributes:
        channels: output channels of the two convolutions (PRIME: 12, 64).
        kernel: kernel size (PRIME: 5).
        pool: max-pool size and stride (PRIME: 2).
        n_classes: outputs of the classifier.
        n_frames, tau, v_th, surrogate_width, keep, max_count, mode, epochs,
            batch_size, lr, weight_decay, warmup_epochs, seed: as the MLP.
        layer_scales: digital scale of each matrix's ``N(0, 1)`` pair weights.
    """

    channels: tuple[int, int] = (12, 64)
    kernel: int = 5
    pool: int = 2
    n_classes: int = 10
    n_frames: int = 10
    tau: float = 0.2
    v_th: float = 0.5
    surrogate_width: float = 1.0
    layer_scales: tuple[float, float, float] = (0.2, 0.1, 0.03)
    keep: float = 0.5
    max_count: float = 4.0
    mode: str = "popup"
    epochs: int = 12
    batch_size: int = 64
    lr: float = 4e-3
    weight_decay: float = 5e-4
    warmup_epochs: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.channels) != 2:
            raise ConfigError(f"channels names the two convolutions, got {self.channels}")
        for c in self.channels:
            check_int("channels", c, 1, 4096)
        check_int("kernel", self.kernel, 1, 15)
        check_int("pool", self.pool, 1, 8)
        check_int("n_classes", self.n_classes, 2, 10_000)
        if len(self.layer_scales) != 3:
            raise ConfigError(f"layer_scales needs one scale per matrix (3), got "
                              f"{self.layer_scales}")
        for k in self.layer_scales:
            check_range("layer scale", k, 0.0, 1e3, lo_open=True)
        check_lif_training(self)
        if self.feature_maps()[-1][1] < 1:
            raise ConfigError("the input is too small for two convolutions and pools")

    def feature_maps(self) -> list[tuple[int, int]]:
        """``(conv output side, pooled side)`` of each convolution."""
        side, out = INPUT_SHAPE[1], []
        for _ in self.channels:
            conv = side - self.kernel + 1
            side = conv // self.pool
            out.append((conv, side))
        return out

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """``(rows, cols)`` of the three matrices: two im2col kernels and the classifier."""
        c1, c2 = self.channels
        k2 = self.kernel ** 2
        pooled = self.feature_maps()[-1][1]
        return [(INPUT_SHAPE[0] * k2, c1), (c1 * k2, c2), (c2 * pooled ** 2, self.n_classes)]

    @property
    def sizes(self) -> tuple[int, ...]:
        return (math.prod(INPUT_SHAPE), *self.channels, self.n_classes)

    @property
    def classes(self) -> int:
        return self.n_classes

    @property
    def vectors_per_step(self) -> list[int]:
        """Patches (matrix-vector products) of each matrix per sample and step."""
        (a, _), (b, _) = self.feature_maps()
        return [a * a, b * b, 1]

    @property
    def lif_per_step(self) -> int:
        (a, _), (b, _) = self.feature_maps()
        return self.channels[0] * a * a + self.channels[1] * b * b

    @property
    def label(self) -> str:
        c1, c2 = self.channels
        k, p = self.kernel, self.pool
        return f"conv {c1}C{k}-P{p}-{c2}C{k}-P{p}-FC{self.n_classes}"

    def macros(self, macro_rows: int = 512, macro_cols: int = 512) -> int:
        """Arrays the three matrices take as differential pairs (two columns a weight)."""
        return sum(math.ceil(r / macro_rows) * math.ceil(2 * c / macro_cols)
                   for r, c in self.shapes)

    def prepare(self, frames: np.ndarray) -> np.ndarray:
        """Frames ``(N, T, 2, 34, 34)``, counts clipped at ``max_count``, float32."""
        f = np.asarray(frames, dtype=np.float32)
        if f.ndim != 5 or f.shape[1] != self.n_frames or f.shape[2:] != INPUT_SHAPE:
            raise ConfigError(f"frames must be (N, {self.n_frames}, 2, 34, 34), got {f.shape}")
        return np.minimum(f, self.max_count)

    def forward(self, ws: list[jax.Array], x: jax.Array) -> jax.Array:
        """Per-step logits ``(T, B, classes)``; ``ws`` the scaled matrices, ``x`` prepared.

        The same products as the deployed loop (:func:`conv_step`), laid out for speed on
        a CPU: feature maps channels-last ``(B, H, W, C)``, im2col by ``k * k`` shifted
        slices (feature order channel-major, then ``dy``, ``dx``, as :func:`im2col`) and
        one matmul per layer, max pooling by a reshape: faster per training step than
        ``conv_general_dilated`` or ``conv_general_dilated_patches`` with
        ``reduce_window`` pooling in ``(B, C, H, W)`` (``docs/measurements/snn.md``).
        """
        k, p = self.kernel, self.pool
        b = x.shape[0]
        (a1, _), (a2, _) = self.feature_maps()

        def conv(v, w, side):  # v (B, H, W, C) -> (B, side, side, C_out)
            taps = [v[:, dy:dy + side, dx:dx + side, :] for dy in range(k) for dx in range(k)]
            return jnp.stack(taps, axis=-1).reshape(b, side, side, -1) @ w

        def pool(v):  # (B, H, W, C) -> (B, H // p, W // p, C), the rest dropped
            h2, w2 = v.shape[1] // p, v.shape[2] // p
            v = v[:, :h2 * p, :w2 * p, :]
            return v.reshape(b, h2, p, w2, p, v.shape[3]).max(axis=(2, 4))

        def step(carry, xin):
            (u1, o1), (u2, o2), uo = carry
            u1, o1 = lif_step(u1, o1, conv(xin, ws[0], a1), tau=self.tau, v_th=self.v_th,
                              width=self.surrogate_width)
            u2, o2 = lif_step(u2, o2, conv(pool(o1), ws[1], a2), tau=self.tau, v_th=self.v_th,
                              width=self.surrogate_width)
            # the classifier's rows are channel-major, as the deployed (B, C, H, W) maps
            uo = uo + pool(o2).transpose(0, 3, 1, 2).reshape(b, -1) @ ws[2]
            return ((u1, o1), (u2, o2), uo), uo

        c1, c2 = self.channels
        z1 = jnp.zeros((b, a1, a1, c1), x.dtype)
        z2 = jnp.zeros((b, a2, a2, c2), x.dtype)
        init = ((z1, z1), (z2, z2), jnp.zeros((b, self.n_classes), x.dtype))
        _, us = jax.lax.scan(step, init, jnp.transpose(x, (1, 0, 3, 4, 2)))  # (T, B, H, W, C)
        steps = jnp.arange(1, us.shape[0] + 1, dtype=us.dtype)[:, None, None]
        return jnp.cumsum(us, axis=0) / steps


def conv_step(layers, cfg: ConvConfig, states, xin: np.ndarray):
    """One deployed timestep of the conv net: ``(output increment, new states, events,
    lif updates)``; ``layers`` the three analog layers, ``xin (B, 2, 34, 34)``."""
    from cosim.accounting.events import Events

    b = xin.shape[0]
    (a1, _), (a2, _) = cfg.feature_maps()
    ev, lif = Events(), 0
    new = []
    cur = xin
    for i, side in enumerate((a1, a2)):
        y, e = layers[i].forward(im2col(cur, cfg.kernel), overwrite_x=True)  # a new array
        ev += e + Events(digital_mults=y.size)
        syn = cfg.layer_scales[i] * y.reshape(b, side, side, -1).transpose(0, 3, 1, 2)
        u, o = lif_step_numpy(*states[i], syn, tau=cfg.tau, v_th=cfg.v_th)
        new.append((u, o))
        lif += u.size
        cur = max_pool(o, cfg.pool)
    y, e = layers[2].forward(cur.reshape(b, -1))
    ev += e + Events(digital_mults=y.size, digital_adds=y.size)
    return cfg.layer_scales[2] * y, new, ev, lif


def conv_states(cfg: ConvConfig, b: int) -> list[tuple[np.ndarray, np.ndarray]]:
    (a1, _), (a2, _) = cfg.feature_maps()
    return [(np.zeros((b, c, a, a)), np.zeros((b, c, a, a)))
            for c, a in zip(cfg.channels, (a1, a2), strict=True)]
