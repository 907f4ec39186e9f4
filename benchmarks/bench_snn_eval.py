"""Deployed SNN evaluation: wall and CPU time of the timestep loop on a preset.

Times what ``cosim snn eval RUN --hardware PRESET`` spends in its timestep loop
(:func:`cosim.workloads.snn.deployed.run_timesteps`) on the first ``--test``
samples of a trained run's test split: programming, then the loop's wall time and
this process's CPU time (user + system), the accuracy at ``T`` and the events.
``--save FILE`` keeps the per-step logits, events and programmed conductances, so
two checkouts' results can be compared to the bit (``--compare A B``).

    python benchmarks/bench_snn_eval.py RUN --hardware realistic --test 1000 --save new.pkl
    python benchmarks/bench_snn_eval.py --compare old.pkl new.pkl

Figures: ``docs/measurements/snn.md``.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np


def _compare(a_path: Path, b_path: Path) -> int:
    a, b = (pickle.loads(Path(p).read_bytes()) for p in (a_path, b_path))
    same = {
        "logits": np.array_equal(a["logits"], b["logits"]),
        "events": a["events"] == b["events"],
        "lif_updates": a["lif_updates"] == b["lif_updates"],
        "conductances": all(np.array_equal(x, y) for x, y in zip(a["g"], b["g"], strict=True)),
    }
    for k, v in same.items():
        print(f"{k}: {'identical' if v else 'DIFFERENT'}")
    print(f"max |logit difference|: {np.abs(a['logits'] - b['logits']).max():.3g}")
    return 0 if all(same.values()) else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", nargs="?", type=Path, help="a trained SNN run or train folder")
    ap.add_argument("--hardware", default="realistic", help="preset, TOML file or run folder")
    ap.add_argument("--test", type=int, default=1000, help="test samples evaluated")
    ap.add_argument("--save", type=Path, help="keep logits, events and conductances here")
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"),
                    help="compare two --save files to the bit, and exit")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.compare:
        return _compare(*args.compare)
    if args.run is None:
        ap.error("give a run folder (or --compare A B)")

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from timing import apply_thread_rule  # the rule of every cosim command

    apply_thread_rule(args.threads)
    from cosim.commands.snn import load_data
    from cosim.engine.options import SimOptions
    from cosim.hardware.presets import load_hardware
    from cosim.outputs.snn import load_checkpoint
    from cosim.workloads.snn.deployed import deploy, run_timesteps
    from cosim.workloads.snn.experiment import split_frames

    net, cfg, source, _ = load_checkpoint(args.run)
    split = split_frames(cfg, load_data(Path(source) if source else None, True))
    hw = load_hardware(args.hardware)
    t0 = time.perf_counter()
    layers = deploy(net, hw, SimOptions(), seed=cfg.seed)
    t_prog = time.perf_counter() - t0
    frames, labels = split.test_frames[:args.test], split.test_labels[:args.test]
    load = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    logits, counts = run_timesteps(layers, net, frames, cfg.eval_batch)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    acc = float(np.mean(logits[-1].argmax(-1) == labels))
    print(f"{net.config.label} on {hw.name}: programming {t_prog:.1f} s; evaluation of "
          f"{len(labels)} samples {wall:.1f} s wall, {cpu:.1f} s CPU; accuracy at T "
          f"{100 * acc:.1f} %; load {load:.1f} -> {os.getloadavg()[0]:.1f}")
    if args.save:
        args.save.write_bytes(pickle.dumps({
            "logits": logits, "events": list(counts.events), "lif_updates": counts.lif_updates,
            "g": [ly.programmed.g_actual_siemens for ly in layers]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
