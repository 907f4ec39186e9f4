"""``cosim mvm``: time one tile backend on a random array, optionally against a reference.

Programs a random ``rows x cols`` array (conductances uniform between the HRS
and LRS levels), runs one batch of random inputs in ``[-1, 1]`` and prints
the throughput, the set-up time (programming plus, for ``calibrated``, the
transfer extraction), the peak memory and, with ``--reference``, the error
against that backend on the same array and inputs. The work is
``cosim.engine.measure.measure_mvm``; this module only parses and prints.
"""

from __future__ import annotations

import click

from circuits.cells import cell_kind
from circuits.errors import ConfigError, check_int, check_memory
from cosim.commands.options import hardware_options, sim_options
from cosim.engine.backends.spice import check_run_time, run_estimate
from cosim.engine.measure import measure_mvm
from cosim.engine.options import SimOptions
from cosim.hardware.spec import HardwareSpec
from cosim.outputs.jsonout import emit_json


def mvm_memory_bytes(rows: int, cols: int, batch: int, cell: str, backends: set[str],
                     spice_workers: int = 1) -> float:
    """Up-front estimate of ``measure_mvm``'s peak memory (bytes).

    The array and its programmed copies (about six ``rows x cols`` float arrays),
    inputs and outputs of the batch (three times over for temporaries), for
    the calibrated backend the sparse solve of one 512 x 512 macro, and for
    the spice backend ``spice_workers`` ngspice processes on one macro each
    (:func:`cosim.engine.backends.spice.run_estimate`).
    """
    total = 8 * 6 * rows * cols + 8 * 3 * batch * (rows + cols)
    if "calibrated" in backends:
        total += cell_kind(cell).solve_bytes * min(rows, 512) * min(cols, 512)
    if "spice" in backends:
        total += spice_workers * run_estimate(min(rows, 512), min(cols, 512))[0]
    return total


@click.command("mvm")
@click.option("--rows", type=int, default=64, show_default=True, help="Rows (inputs).")
@click.option("--cols", type=int, default=64, show_default=True, help="Columns (outputs).")
@click.option("--batch", type=int, default=1000, show_default=True,
              help="Input vectors in the timed batch.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of array and inputs.")
@click.option("--reference", default=None, help="Backend to compare with (e.g. spice).")
@click.option("--repeats", type=int, default=1, show_default=True,
              help="Timed repetitions of the batch (the median is reported).")
@hardware_options("realistic")
@sim_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def mvm_command(rows: int, cols: int, batch: int, seed: int, reference: str | None,
                repeats: int, hardware: HardwareSpec, sim: SimOptions, as_json: bool) -> None:
    """Time MVMs of one tile backend on the hardware (no read noise); with --reference,
    its error too."""
    for name, value, hi in (("--rows", rows, 65536), ("--cols", cols, 65536),
                            ("--batch", batch, 10**7), ("--repeats", repeats, 1000)):
        check_int(name, value, 1, hi)
    if seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {seed}")
    if reference is not None:
        try:
            SimOptions(backend=reference)
        except ConfigError as exc:
            raise ConfigError(f"--reference: {exc}") from None
    cell = hardware.cell.kind.name
    backends = {sim.backend, reference or sim.backend}
    check_memory(f"mvm of a {rows} x {cols} {cell} array with a batch of {batch}",
                 mvm_memory_bytes(rows, cols, batch, cell, backends, sim.spice_workers),
                 hint="use fewer --rows, --cols or a smaller --batch")
    if "spice" in backends:
        check_run_time(min(rows, hardware.array.macro_rows),
                       min(cols, hardware.array.macro_cols), sim.spice_timeout_s)
    out = measure_mvm(rows=rows, cols=cols, hardware=hardware, sim=sim, batch=batch, seed=seed,
                      reference=reference, repeats=repeats)
    if as_json:
        emit_json(out)
        return
    click.echo(f"{sim.backend} {rows} x {cols}, batch {batch}, on {hardware.describe()}")
    click.echo(f"  set-up        {out['setup_s']:.3f} s")
    click.echo(f"  throughput    {out['mvm_per_s']:.4g} MVM/s")
    click.echo(f"  peak RSS      {out['peak_rss_mib']:.1f} MiB")
    if reference is not None:
        click.echo(f"  vs {reference}: max rel error {out['max_rel_error']:.3g} "
                   f"(max|y - y_ref| / max|y_ref|), max abs error {out['max_abs_error']:.3g} A")
