"""The main job, ``cosim run``: characterise the circuits, run HAQ vs PTQ, report.

The stages come from the registry in :mod:`cosim.stages` and run in its order,
each writing its own sub-folder of the run folder as soon as it ends:

1. ``tia``: the TIA's DC gain, linearity and settling time in ngspice.
2. ``vcmac``: every VCMAC switch code's measured ratio in ngspice (NF Fig. 3d).
3. ``haq``: the NF paper's MVM test (PTQ vs HAQ) on the job's hardware.
4. ``field``: the neural field (quick setting), software vs HAQ vs PTQ.
5. ``nerf``: NeRF on the procedural scene (quick setting), software vs HAQ vs PTQ.
6. ``snn``: the PRIME SNN (quick setting), the LIF loop on analog layers.
7. ``baseline``: the workloads' software networks timed on this machine.
8. ``report``: energy and area of the workloads run, against GPU baselines (and the
   measured ones).

Every workload stage runs on the job's hardware (the realistic preset unless
``[hardware]`` says otherwise) unless its own ``hardware`` key names another.

``inpaint`` (PRIME's inpainting spiking VAE, quick setting) is a stage too, outside
the default list: its quick budget checks the machinery only; the VAEs need
several hundred steps to inpaint (``docs/measurements/inpaint.md``).

At the end a one-screen table (:func:`cosim.outputs.jobsummary.summary_lines`) shows
each stage's headline metric, hardware and time.

The whole config is validated before the first stage.

``manifest.json`` (config, package and ngspice versions, git revision, seeds,
BLAS threads and each stage's status) is rewritten after every stage, so an
interrupted run leaves a consistent record of what finished.

Threads: the numerical stages (tile MVM, nodal solves, HAQ programming) run
with their BLAS/OpenMP thread pools capped at ``threads`` by the rule of
every command (:mod:`cosim.threads`: ``--threads``, or the environment
variable ``COSIM_THREADS``; default 1; ``docs/measurements/threads.md``).
ngspice runs in its own processes
(``run.workers`` at a time).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cosim.config import resolve
from cosim.outputs.jobsummary import summary_lines
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.stages import STAGES, Context
from cosim.threads import resolve_threads, thread_cap

Echo = Callable[[str], None]

def run_main(config: dict[str, dict[str, Any]], run_dir: Path, *, echo: Echo = print,
             progress: bool = True, threads: int | None = None) -> dict[str, Any]:
    """Run the stages named in ``config["run"]["stages"]`` into ``run_dir``.

    Args:
        config: the full config (see :mod:`cosim.config`).
        run_dir: the run folder (created); the caller checks and locks it
            (:func:`cosim.outputs.rundir.prepare_run_dir`).
        echo: where progress lines go.
        progress: draw progress bars.
        threads: BLAS/OpenMP threads of this process (see :func:`resolve_threads`).

    Returns:
        The final manifest.
    """
    limit = resolve_threads(threads)
    with thread_cap(limit):
        return _run_stages(config, Path(run_dir), echo, progress, limit)


def _run_stages(config: dict[str, dict[str, Any]], run_dir: Path, echo: Echo, progress: bool,
                threads: int | None) -> dict[str, Any]:
    sections = resolve(config)  # every value checked before the first stage
    run_dir.mkdir(parents=True, exist_ok=True)
    manifest = new_manifest("run", config=config, seeds={"run": sections["run"].seed},
                            threads=threads if threads is not None else "no cap", stages={})
    names = [n for n in STAGES if n in sections["run"].stages]
    echo(f"hardware: {sections['hardware'].describe()}; {sections['sim'].describe()}")
    results: dict[str, Any] = {}
    for i, name in enumerate(names, 1):
        stage = STAGES[name]
        echo(f"[{i}/{len(names)}] {name}: {stage.description}")
        t0 = time.perf_counter()
        manifest["stages"][name] = {"status": "running"}
        write_manifest(run_dir, manifest)
        ctx = Context(config=sections, run_dir=run_dir, results=results, progress=progress,
                      name=name)
        summary = stage.run(ctx, sections[name])
        results[name] = summary
        manifest["stages"][name] = {"status": "done", "elapsed_s": time.perf_counter() - t0,
                                    "summary": summary}
        write_manifest(run_dir, manifest)
        on = f" on {summary['hardware_name']} hardware" if "hardware_name" in summary else ""
        echo(f"      done in {time.perf_counter() - t0:.1f} s{on}: {stage.headline(summary)}")
    manifest["elapsed_s"] = sum(s.get("elapsed_s", 0.0) for s in manifest["stages"].values())
    headlines = {n: STAGES[n].headline(r["summary"]) for n, r in manifest["stages"].items()}
    manifest["headlines"] = headlines
    write_manifest(run_dir, manifest)
    echo("")
    for line in summary_lines(manifest["stages"], headlines):
        echo(line)
    return manifest
