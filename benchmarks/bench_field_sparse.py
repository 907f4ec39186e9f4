"""Benchmark of the sparse task (NF paper Fig. 4e) at full size, through the CLI.

Usage::

    .venv/bin/python benchmarks/bench_field_sparse.py [--phantom 40x128x128] [--steps 2000]
        [--sigma S] [--slices 20,10,5] [--finetune-steps 500] [--lr 1e-4] [--anchor-weight 4]
        [--motion 0.05] [-o ROOT]

Runs ``cosim field train`` (dense) into ``ROOT/train`` (reused when its
checkpoint is there) and ``cosim field sparse`` into ``ROOT/sparse``; prints
the wall time of each and the sparse table. ``--sigma`` is the dense model's
Gaussian scale (default: the encoding's own; the documented rows used 4).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
       "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}


def _cosim(*args: str) -> tuple[dict, float]:
    t0 = time.perf_counter()
    out = subprocess.run([str(Path(sys.executable).with_name("cosim")), *args, "--json"], env=ENV,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--phantom", default="40x128x128")
    ap.add_argument("--steps", default="2000")
    ap.add_argument("--sigma", default=None)
    ap.add_argument("--slices", default="20,10,5")
    ap.add_argument("--finetune-steps", default="500")
    ap.add_argument("--lr", default="1e-4")
    ap.add_argument("--anchor-weight", default="4")
    ap.add_argument("--motion", default="0.05")
    ap.add_argument("-o", "--out", default="results/bench-nf-sparse")
    a = ap.parse_args()
    from timing import apply_thread_rule  # the rule of every cosim command
    apply_thread_rule()
    root = Path(a.out)
    report: dict = {"phantom": a.phantom}
    if not (root / "train" / "checkpoint.npz").is_file():
        train, report["train_s"] = _cosim("field", "train", "--phantom", a.phantom, "--steps",
                                          a.steps, "--backend", "ideal",
                                          *(["--sigma", a.sigma] if a.sigma else []), "-o",
                                          str(root / "train"))
        report["psnr_software_dense"] = train["psnr_software"]
    sparse, report["sparse_s"] = _cosim("field", "sparse", "--model", str(root / "train"),
                                        "--slices", a.slices, "--finetune-steps",
                                        a.finetune_steps, "--lr", a.lr,
                                        "--anchor-weight", a.anchor_weight,
                                        "--motion", a.motion, "-o",
                                        str(root / "sparse"))
    report["rows"] = [{k: v for k, v in r.items() if k.startswith(("slices", "psnr", "ssim"))}
                      for r in sparse["sparse"]]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
