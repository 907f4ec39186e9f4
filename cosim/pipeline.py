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
ngspice runs in its own processes (``run.workers`` at a time).

Processes: the workload stages the registry marks side by side (haq, field, nerf,
snn, inpaint; :attr:`cosim.stages.Stage.side_by_side`) run in ``run.workers``
worker processes at once (the sweeps' local pool,
:class:`cosim.sweep.executors.LocalBackend`, each worker under the same thread
cap), longest first (:attr:`cosim.stages.Stage.cost_s`), so the default job uses
two cores; the others run here, in registry order, after the stages before them.
A stage computes the same numbers either way (each draws from its own seeds).
Side-by-side stages draw no bars of their own (one bar counts them), their
folders and manifest entries are written as each ends, and an error in one stops
the job with its message once the stages already running have ended
(``--workers 1`` runs them here, with the full traceback).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tqdm import tqdm

from circuits.errors import CosimError
from cosim.config import resolve
from cosim.outputs.jobsummary import summary_lines
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.stages import STAGES, Context
from cosim.sweep.executors import ERROR, LocalBackend
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
    job = _Job(sections=sections, run_dir=run_dir, manifest=manifest, results=results,
               echo=echo, count=len(names))
    t_job = time.perf_counter()
    workers = sections["run"].workers
    for group in _groups(names):
        if workers > 1 and len(group) > 1:
            _side_by_side(job, group, names, workers, threads, progress)
        else:
            for name in group:
                _in_turn(job, name, names.index(name) + 1, progress)
    manifest["elapsed_s"] = time.perf_counter() - t_job
    manifest["stages_elapsed_s"] = sum(s.get("elapsed_s", 0.0)
                                       for s in manifest["stages"].values())
    headlines = {n: STAGES[n].headline(r["summary"]) for n, r in manifest["stages"].items()}
    manifest["headlines"] = headlines
    write_manifest(run_dir, manifest)
    echo("")
    for line in summary_lines(manifest["stages"], headlines, wall_s=manifest["elapsed_s"]):
        echo(line)
    return manifest


def _groups(names: list[str]) -> list[list[str]]:
    """``names`` cut into runs of side-by-side stages and single other stages, in order."""
    groups: list[list[str]] = []
    for name in names:
        if groups and STAGES[name].side_by_side and STAGES[groups[-1][-1]].side_by_side:
            groups[-1].append(name)
        else:
            groups.append([name])
    return groups


class _Job:
    """The run's record as its stages end: the manifest (rewritten after each change),
    the summaries later stages read, and the console lines."""

    def __init__(self, *, sections, run_dir: Path, manifest: dict, results: dict, echo: Echo,
                 count: int):
        self.sections, self.run_dir, self.manifest = sections, run_dir, manifest
        self.results, self.echo, self.count = results, echo, count

    def start(self, names: list[str]) -> None:
        for name in names:
            self.manifest["stages"][name] = {"status": "running"}
        write_manifest(self.run_dir, self.manifest)

    def done(self, name: str, summary: dict[str, Any], elapsed: float) -> str:
        self.results[name] = summary
        self.manifest["stages"][name] = {"status": "done", "elapsed_s": elapsed,
                                         "summary": summary}
        write_manifest(self.run_dir, self.manifest)
        on = f" on {summary['hardware_name']} hardware" if "hardware_name" in summary else ""
        return f"done in {elapsed:.1f} s{on}: {STAGES[name].headline(summary)}"


def _in_turn(job: _Job, name: str, index: int, progress: bool) -> None:
    stage = STAGES[name]
    job.echo(f"[{index}/{job.count}] {name}: {stage.description}")
    t0 = time.perf_counter()
    job.start([name])
    ctx = Context(config=job.sections, run_dir=job.run_dir, results=job.results,
                  progress=progress, name=name)
    summary = stage.run(ctx, job.sections[name])
    job.echo(f"      {job.done(name, summary, time.perf_counter() - t0)}")


def _side_by_side(job: _Job, group: list[str], names: list[str], workers: int,
                  threads: int | None, progress: bool) -> None:
    """Run ``group`` in ``workers`` worker processes at once (module docstring)."""
    first, last = names.index(group[0]) + 1, names.index(group[-1]) + 1
    n = min(workers, len(group))
    job.echo(f"[{first}-{last}/{job.count}] {', '.join(group)}: side by side in {n} "
             f"processes")
    for name in group:
        job.echo(f"      {name}: {STAGES[name].description}")
    job.start(group)
    per_worker = threads if threads is not None else max(1, (os.cpu_count() or 1) // n)
    backend = LocalBackend(workers=n, threads_per_worker=per_worker, retries=0)
    fn = functools.partial(_stage_in_worker, sections=job.sections, run_dir=job.run_dir,
                           results=dict(job.results))
    with tqdm(total=len(group), desc="stages side by side", unit="stage", leave=False,
              disable=not progress) as bar:
        longest_first = sorted(group, key=lambda name: -STAGES[name].cost_s)
        for point, row in backend.submit(fn, [{"stage": name} for name in longest_first]):
            name = point["stage"]
            if ERROR in row:
                raise CosimError(f"stage {name} failed: {row[ERROR]} (run it with "
                                 "--workers 1 for the full traceback)")
            line = job.done(name, row["summary"], row["elapsed_s"])
            with tqdm.external_write_mode():
                job.echo(f"      {name} {line}")
            bar.update(1)
    for name in group:  # later stages see the summaries in registry order (the report's)
        job.results[name] = job.results.pop(name)


def _stage_in_worker(point: Mapping[str, Any], *, sections: Mapping[str, Any], run_dir: Path,
                     results: Mapping[str, Any]) -> dict[str, Any]:
    """One side-by-side stage in a worker process (its threads capped by the pool):
    ``{"summary", "elapsed_s"}``."""
    name = point["stage"]
    t0 = time.perf_counter()
    ctx = Context(config=sections, run_dir=run_dir, results=results, progress=False, name=name)
    summary = STAGES[name].run(ctx, sections[name])
    return {"summary": summary, "elapsed_s": time.perf_counter() - t0}
