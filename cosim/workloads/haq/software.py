"""The HAQ MVM test in software: ``y = x @ w`` in float32, the product the test computes.

Operations per vector: ``2 x rows x cols``, the rule of the test's ``workload.json``.
"""

from __future__ import annotations

import numpy as np

from cosim.workloads.haq.mvm import HaqExperimentConfig
from cosim.workloads.software import SoftwareNet


def haq_software_net(cfg: HaqExperimentConfig | None = None, *, seed: int = 0) -> SoftwareNet:
    """The MVM test's product (uniform weights in ``[-1, 1]``)."""
    cfg = cfg or HaqExperimentConfig()
    rows, cols = cfg.vector_length, cfg.n_outputs
    w = np.random.default_rng(seed).uniform(-1.0, 1.0, (rows, cols)).astype(np.float32)
    return SoftwareNet(
        key="haq", name=f"MVM {rows}x{cols}", unit="vector", ops_per_inference=2.0 * rows * cols,
        batches=((1, "one vector"),
                 (cfg.n_vectors, "the NF MVM test's vectors per call "
                                 "(HaqExperimentConfig.n_vectors)"),
                 (65536, "a large batch (the device's best case)")),
        params=w, apply=lambda p, x: x @ p,
        make_input=lambda n, r: r.uniform(-1.0, 1.0, (n, rows)).astype(np.float32),
        source="cosim.workloads.haq.software: x @ w")
