"""The PRIME SNN in software: :func:`cosim.workloads.snn.network.snn_forward` on frames.

What a GPU or CPU runs for one sample: ``T`` steps of the MLP with LIF hidden
layers, dense (every weight multiplied, as a GPU's matrix product does; the
pruned half are zeros). Operations per sample: the rule of the SNN's
``workload.json`` (:mod:`.ledger`): per step ``2 x rows x cols`` per matrix and
4 per LIF update.
"""

from __future__ import annotations

import numpy as np

from cosim.workloads.snn.experiment import SNNRunConfig
from cosim.workloads.snn.network import SNNConfig, snn_forward
from cosim.workloads.snn.stage import SnnStage
from cosim.workloads.software import SoftwareNet
from cosim.workloads.spiking.pairs import GPU_OPS_PER_LIF_UPDATE

INPUT_DENSITY = 0.05
"""Fraction of pixels with an event in a frame of the made-up inputs (timing of a dense
forward does not depend on it)."""


def snn_software_net(stage: SnnStage | None = None, *, cfg: SNNConfig | None = None,
                     seed: int = 0) -> SoftwareNet:
    """The SNN's software network (random masked weights of the configured scale);
    ``stage`` (the main job's ``[snn]``) sets the network."""
    cfg = stage.run_config().net if stage is not None else (cfg or SNNConfig())
    rng = np.random.default_rng(seed)
    ws = [(cfg.weight_scale * rng.standard_normal(s) * (rng.random(s) < cfg.keep))
          .astype(np.float32) for s in cfg.shapes]
    ops = cfg.n_frames * (sum(2.0 * r * c for r, c in cfg.shapes)
                          + GPU_OPS_PER_LIF_UPDATE * cfg.lif_per_step)

    def make_input(n: int, r: np.random.Generator) -> np.ndarray:
        return (r.random((n, cfg.n_frames, cfg.sizes[0])) < INPUT_DENSITY).astype(np.float32)

    return SoftwareNet(
        key="snn", name=f"SNN {cfg.label}, T = {cfg.n_frames}", unit="sample",
        ops_per_inference=ops,
        batches=((1, "one sample: what an edge device answering each input sees"),
                 (cfg.batch_size, "the training batch (SNNConfig.batch_size)"),
                 (SNNRunConfig().eval_batch, "the evaluation batch (SNNRunConfig.eval_batch)")),
        params=ws, apply=lambda w, x: snn_forward(w, x, cfg)[-1], make_input=make_input,
        source="cosim.workloads.snn.network.snn_forward")
