"""HAQ on the realistic preset: the main job's stage and a 512 x 512 matrix at 16 bits.

Each case is one ``cosim haq --hardware realistic`` run in a child process with one
BLAS thread (the preset, ``cosim/hardware/presets/realistic.toml``: 1T1R cells,
1.06 ohm segments, TIA readout, IR-aware placement in 512 x 512 macros, three HAQ
passes; the calibrated backend):

- ``main``: the command's defaults (the main job's ``haq`` stage: 100 x 100 weights,
  12 bits, 1,000 read cycles);
- ``512``: ``--vector-length 512 --outputs 512 --bits 16`` with ``--read-cycles``
  ``--big-cycles`` (default 1: the subject is programming; the read cycles cost
  ``cycles x vectors`` MVMs of every macro).

Reported: wall and CPU seconds of the whole command, its own stage timings,
PTQ and HAQ RMSE and their ratio, the placement, the load average, and the largest
resident memory of a case so far (MB). Run from the
project root::

    python benchmarks/bench_haq_scale.py [--cases main 512] [--big-cycles 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CASES = {
    "main": [],
    "512": ["--vector-length", "512", "--outputs", "512", "--bits", "16"],
}


def run_case(name: str, extra: list[str]) -> dict:
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-c", "from cosim.cli import main; main()", "haq",
               "--hardware", "realistic", "--json",
               "-o", str(Path(tmp) / "run"), *CASES[name], *extra]
        load = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        return {"case": name, "failed": out.stderr[-2000:]}
    d = json.loads(out.stdout)
    return {"case": name, "args": " ".join(CASES[name] + extra), "wall_s": round(wall, 1),
            "cpu_s": round((after.ru_utime - before.ru_utime)
                           + (after.ru_stime - before.ru_stime), 1),
            "load_before": round(load, 1), "load_after": round(os.getloadavg()[0], 1),
            "max_rss_mb": round(after.ru_maxrss / 1024),  # the largest child so far (KiB)
            "timings_s": {k: round(v, 1) for k, v in d["timings_s"].items()},
            "rmse_ptq": d["rmse_ptq"], "rmse_haq": d["rmse_haq"],
            "ratio": d["rmse_ptq"] / d["rmse_haq"], "placement": d["placement"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--big-cycles", type=int, default=1,
                    help="read cycles of the 512 x 512 case")
    args = ap.parse_args()
    from timing import apply_thread_rule  # the rule of every cosim command
    apply_thread_rule()
    for name in args.cases:
        extra = ["--read-cycles", str(args.big_cycles)] if name == "512" else []
        print(json.dumps(run_case(name, extra)), flush=True)


if __name__ == "__main__":
    main()
