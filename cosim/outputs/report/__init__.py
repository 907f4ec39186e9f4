"""Energy / area / efficiency report of one or more workloads against GPU baselines.

Inputs (each one a workload; several give one comparison report), and optionally
``cosim baseline`` run folders (their ``measured_baselines.csv`` rows, origin
"measured", price each workload whose network they timed):

- a run folder holding ``workload.json`` (schema ``rram-cosim.workload/1``,
  written by any workload run; keys in :func:`cosim.accounting.workload.events_workload`)::

      {"schema": "rram-cosim.workload/1", "name": "HAQ MVM 100x100",
       "events": {"cell_reads": 1200000, "dac_conversions": 300, ...},
       "ops_per_inference": 20000, "inferences": 100, "read_steps": 100,
       "hardware": {"arrays": 3, "rows_per_array": 512, ...},
       "source": "cosim haq ..."}

- a ``workload.json``-style JSON file, or a TOML config naming an adapter::

      kind = "mvm"          # or "mlp", "events"
      name = "HAQ MVM 100x100"
      rows = 100
      cols = 100
      bits = 12
      inferences = 100

Run folder written (:func:`build_report`)::

    RUN_DIR/report.html             self-contained (figures embedded, no script, no network):
                                    one card per workload, its section (the run folder's
                                    figures and numbers), the claims reconciled, the ledger
    RUN_DIR/energy_table.csv        energy per event, origin and source of each
    RUN_DIR/energy_breakdown.csv    energy per component per workload
    RUN_DIR/area_table.csv          area per block, origin and source of each
    RUN_DIR/area_breakdown.csv      area per block per workload
    RUN_DIR/baselines.csv           GPU figures with sources and achievable throughput
    RUN_DIR/efficiency.csv          fps, power, fps/W, fps/mm^2 of ours and each baseline
    RUN_DIR/ratios.csv              ours / baseline, with the seeds' claims beside
    RUN_DIR/claimed_ratios.csv      the NF and PRIME papers' claims and ours where comparable
    RUN_DIR/claims_reconciled.csv   each claim with what differs from ours, in numbers
    RUN_DIR/measured_baselines.csv  the measured rows given (with cosim baseline folders)
    RUN_DIR/energy_breakdown.png/.svg, area_breakdown.png/.svg, efficiency.png/.svg
    RUN_DIR/sim/                    ngspice decks, logs and raw files of simulated figures
    RUN_DIR/manifest.json           inputs, options, notes, files

Every row of every table has an ``origin`` (simulated, netlist, cited,
derived, measured, override) and a ``source``.

The package: :mod:`.load` (inputs), :mod:`.tables`, :mod:`.cards` (the first screen),
:mod:`.claims` (the papers' ratios reconciled), :mod:`.figures`, :mod:`.fmt` (numbers),
:mod:`.html`, and
:func:`build_report` here, which writes the run folder.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from circuits.errors import ConfigError
from cosim.accounting.baselines import get_baselines
from cosim.outputs.baseline import is_baseline_dir, read_measured
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.outputs.report.cards import build_cards
from cosim.outputs.report.claims import reconcile
from cosim.outputs.report.figures import write_figures
from cosim.outputs.report.html import render_html
from cosim.outputs.report.load import ReportInput, load_input, load_workload
from cosim.outputs.report.options import DEFAULT_BASELINES, TABLE_ORIGINS, ReportOptions
from cosim.outputs.report.tables import ReportTables, build_tables, energy_table

__all__ = ["DEFAULT_BASELINES", "TABLE_ORIGINS", "ReportOptions", "ReportTables",
           "build_report", "load_input", "load_workload", "split_inputs"]

_DEFAULT_OPTIONS = ReportOptions()


def split_inputs(inputs: list[Path]) -> tuple[list[ReportInput], pd.DataFrame | None]:
    """The workload inputs (:func:`load_input`) and the measured baselines of the
    ``cosim baseline`` run folders among ``inputs`` (``None`` when there is none).

    Raises:
        ConfigError: an input that is neither, or no workload at all.
    """
    runs, measured = [], []
    for p in inputs:
        p = Path(p)
        if is_baseline_dir(p):
            measured.append(read_measured(p))
        else:
            runs.append(load_input(p))
    if not runs:
        raise ConfigError("give at least one workload run folder or config to report on "
                          "(cosim baseline folders only add measured baselines)")
    return runs, (pd.concat(measured, ignore_index=True) if measured else None)


def build_report(inputs: list[Path], out_dir: Path, options: ReportOptions = _DEFAULT_OPTIONS
                 ) -> dict[str, Any]:
    """Write the report of ``inputs`` (run folders or configs) into ``out_dir``.

    Returns:
        The manifest (also written as ``manifest.json``).

    Raises:
        ConfigError: no inputs, an input that cannot be read, an unknown baseline,
            a bad override file.
    """
    if not inputs:
        raise ConfigError("give at least one run folder or config to report on")
    get_baselines(list(options.baselines))  # refuse unknown names before any work
    runs, measured = split_inputs(inputs)
    workloads = [r.workload for r in runs]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    table, timing = energy_table(options, out_dir / "sim" if options.simulate else None)
    retime_notes = []
    if timing is not None and timing.source:
        from cosim.accounting.circuit_energy import retimed

        before = [w.timing.amplifier_active_s for w in workloads]
        workloads = [retimed(w, timing) for w in workloads]
        retime_notes = [f"{timing.source}; it replaces each workload's assumed amplifier time "
                        "per conversion (" + ", ".join(
                            f"{w.name}: {b * 1e9:.4g} -> {w.timing.amplifier_active_s * 1e9:.4g} ns"
                            for w, b in zip(workloads, before, strict=True)) + ")"]
    keys = [r.key for r in runs]
    tables = build_tables(workloads, table, options, measured=measured, keys=keys)
    names = list(dict.fromkeys(tables.energy["workload"]))
    claims = reconcile(tables.claims, tables.ratios, tables.efficiency, tables.energy, options,
                       dict(zip(names, keys, strict=True)), measured)
    files = []
    named = {**tables.named(), "claims_reconciled": claims}
    if measured is not None:
        named["measured_baselines"] = measured
    for name, df in named.items():
        df.to_csv(out_dir / f"{name}.csv", index=False, float_format="%.10g")
        files.append(f"{name}.csv")
    figures = write_figures(tables, out_dir)
    cards = build_cards(runs, names, tables.efficiency, tables.ratios)
    notes = list(table.notes) + retime_notes + [
        f"GPU throughput: {options.gpu.utilisation:g} x datasheet peak "
        f"{options.gpu.precision.upper()} (utilisation assumed); GPU energy per inference = "
        "rated board power / fps.",
        "Our fps: inferences / latency, latency = read steps x step time + ADC conversions / "
        "(ADCs x ADC rate); no pipelining across inferences assumed.",
        "Programming energy (cell writes) is not part of inference energy.",
    ]
    notes += [f"{w.name}: programming events {w.programming_events.as_dict()}"
              for w in workloads if any(w.programming_events.as_dict().values())]
    (out_dir / "report.html").write_text(
        render_html(tables, figures, notes, options, [str(p) for p in inputs], cards=cards,
                    claims=claims, measured=measured,
                    sources={c.anchor: str(r.path) for c, r in zip(cards, runs, strict=True)}))
    options_json = {"baselines": list(options.baselines), "gpu": asdict(options.gpu),
                    "simulate": options.simulate,
                    "transistor_amplifiers": options.transistor_amplifiers,
                    "energy_override": str(options.energy_override or ""),
                    "layout": asdict(options.layout)}
    manifest = new_manifest(
        "report", config={"inputs": [str(p) for p in inputs], "options": options_json},
        simulator=options.simulate, inputs=[str(p) for p in inputs],
        workloads=[w.name for w in workloads], options=options_json, notes=notes,
        tables=files, figures=sorted(p.name for ps in figures.values() for p in ps),
        report="report.html", elapsed_s=time.perf_counter() - t0,
        summary=tables.ratios[["workload", "baseline", "energy_efficiency_ratio",
                               "area_efficiency_ratio"]].to_dict(orient="records"),
        cards=[{"workload": c.workload, "key": c.key, "title": c.title,
                "energy_per_inference_j": c.energy_per_inference_j,
                "metrics": [{"metric": m.label, "unit": m.unit, **m.values} for m in c.metrics],
                "notes": c.notes} for c in cards])
    write_manifest(out_dir, manifest)
    return manifest
