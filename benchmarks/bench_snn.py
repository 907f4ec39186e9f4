"""Wall time of the SNN workload's phases at full size, on this machine.

- synthesis of the 5,000 bundled MNIST digits into N-MNIST-style events
  (target: <= 60 s);
- pop-up training of the MLP 2312-250-250-10, seconds per epoch over
  ``--train`` samples (T = 10, the config's batch), extrapolated to the
  default budget (the config's epochs on 4,000 samples; target: <= 15 minutes);
- evaluation of ``--test`` samples at T = 10 through the analog layers
  (pruned random pairs) on the ``calibrated`` backend with read noise 0.02
  (target: 1,000 samples <= 60 s).

With ``--net conv`` the same for the conv net 12C5-P2-64C5-P2-FC (its
convolutions as im2col matrices on the tiles).

Prints a markdown table. Usage::

    .venv/bin/python benchmarks/bench_snn.py [--net mlp|conv] [--train N] [--test N] [--epochs N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cosim.engine.options import SimOptions  # noqa: E402
from cosim.hardware.presets import preset  # noqa: E402
from cosim.workloads.snn.conv import ConvConfig  # noqa: E402
from cosim.workloads.snn.data import mnist_digits  # noqa: E402
from cosim.workloads.snn.deployed import deploy, run_timesteps  # noqa: E402
from cosim.workloads.snn.dvs import synthesize  # noqa: E402
from cosim.workloads.snn.network import SNNConfig, train  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=1000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--net", choices=("mlp", "conv"), default="mlp")
    a = ap.parse_args()
    from timing import apply_thread_rule  # the rule of every cosim command
    apply_thread_rule()
    rows = []
    images, labels = mnist_digits()
    t0 = time.perf_counter()
    es = synthesize(images, labels)
    rows.append(("synthesis, 5,000 digits", time.perf_counter() - t0, "<= 60 s"))
    fr = es.frames(10)
    perm = np.random.default_rng(0).permutation(len(labels))
    tr, te = perm[:a.train], perm[a.train:a.train + a.test]
    cfg = ConvConfig(epochs=a.epochs) if a.net == "conv" else SNNConfig(epochs=a.epochs)
    epochs = []
    net = train(fr[tr], labels[tr], cfg, progress=lambda r: epochs.append(r["seconds"]))
    per = float(np.median(epochs[1:] if len(epochs) > 1 else epochs))  # first epoch compiles
    rows.append((f"training, one epoch of {a.train} samples (median)", per, ""))
    full = (ConvConfig() if a.net == "conv" else SNNConfig()).epochs
    rows.append((f"training, {full} epochs of 4,000 (extrapolated)",
                 per * full * 4000 / a.train, "<= 900 s"))
    t0 = time.perf_counter()
    hardware = preset("prime").with_parts(noise={"read": 0.02})  # 0T1R, no wires
    layers = deploy(net, hardware, SimOptions(backend="calibrated"))
    rows.append((f"programming 3 layers (calibrated; {a.net})", time.perf_counter() - t0, ""))
    t0 = time.perf_counter()
    run_timesteps(layers, net, fr[te])
    rows.append((f"evaluation, {a.test} samples, T = 10, calibrated", time.perf_counter() - t0,
                 "<= 60 s (1,000)"))
    print("| phase | seconds | target |\n|---|---:|---|")
    for name, s, target in rows:
        print(f"| {name} | {s:.1f} | {target} |")


if __name__ == "__main__":
    main()
