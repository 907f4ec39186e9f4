"""The neural field in software: the Gaussian encoding and the low-rank SIREN in JAX.

What a GPU or CPU runs for one voxel: ``[x, sin(2 pi B x), cos(2 pi B x)]`` with ``B``
``(m, 3)`` Gaussian of std ``sigma`` (:mod:`.encoder`), then
:func:`cosim.workloads.field.mlp.jax_forward`, the forward its training fits.
Operations per voxel: ``2 x`` the network's weights, the rule of the field's
``workload.json`` (the encoding's ``3 m`` multiply-adds and sin/cos are not
counted there either).
"""

from __future__ import annotations

import numpy as np

from cosim.workloads.field.encoder import EncoderConfig
from cosim.workloads.field.mlp import PAPER_MLP, MLPConfig, init_params, jax_forward, n_weights
from cosim.workloads.field.stage import QUICK_BATCH, QUICK_SHAPE, FieldStage
from cosim.workloads.software import SoftwareNet

PAPER_FRAME_VOXELS = 40 * 128 * 128
"""Voxels of one frame of the NF paper's CT volume (40 slices x 128 x 128)."""


def field_software_net(stage: FieldStage | None = None, *, mlp: MLPConfig = PAPER_MLP,
                       encoder: EncoderConfig | None = None, seed: int = 0) -> SoftwareNet:
    """The neural field's software network (random parameters: timing does not depend on
    their values); ``stage`` (the main job's ``[field]``) sets the network and encoding."""
    import jax.numpy as jnp

    if stage is not None:
        cfg = stage.field_config()
        mlp, encoder = cfg.mlp, cfg.encoder
    enc = encoder or EncoderConfig()
    rng = np.random.default_rng(seed)
    b = (enc.scale * rng.standard_normal((enc.n_frequencies, 3))).astype(np.float32)
    params = {"B": b, **init_params(mlp, enc.n_features, rng)}

    def apply(p, x):
        proj = 2.0 * jnp.pi * (x @ p["B"].T)
        feats = jnp.concatenate([x, jnp.sin(proj), jnp.cos(proj)], axis=1)
        return jax_forward({k: v for k, v in p.items() if k != "B"}, feats, mlp)

    quick = int(np.prod(QUICK_SHAPE))
    return SoftwareNet(
        key="field", name=f"neural field {enc.n_features}-{mlp.width} (rank {mlp.rank})",
        unit="voxel", ops_per_inference=2.0 * n_weights(params),
        batches=((QUICK_BATCH, "the quick setting's training batch (FieldStage.batch)"),
                 (quick, "one frame of the main job's quick volume "
                         f"({' x '.join(map(str, QUICK_SHAPE))})"),
                 (PAPER_FRAME_VOXELS, "one frame of the NF paper's CT volume "
                                      "(40 x 128 x 128)")),
        params=params, apply=apply,
        make_input=lambda n, r: r.uniform(-1.0, 1.0, (n, 3)).astype(np.float32),
        source="cosim.workloads.field.software: Gaussian encoding + mlp.jax_forward")
