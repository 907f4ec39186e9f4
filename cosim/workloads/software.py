"""A workload's network run in software, timed on the local device: measured baselines.

A :class:`SoftwareNet` is what a GPU or CPU runs for one workload: the JAX forward
pass its training uses (no analog layers), a maker of input batches, the operations
of one inference counted by the same rule as the workload's ``workload.json``
(``ops_per_inference``), and the batch sizes to time, each with where it comes
from. :func:`measure_net` times it on a JAX device (:func:`jax_device`): the
forward is compiled once, then called until ``min_time_s`` has passed; the
figure is the median call. :func:`matmul_rate` times a dense square float32
matrix product on the same device: the device's achievable arithmetic rate,
against which a network's rate is a utilisation.

The builders live beside each workload (``cosim.workloads.<name>.software``); the
registry is :data:`cosim.workloads.baselines.SOFTWARE_NETS`.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from circuits.errors import ConfigError, check_choice, check_int, check_range

DEVICES = ("cpu", "gpu")


@dataclass(frozen=True, kw_only=True, eq=False)
class SoftwareNet:
    """One workload's network in software.

    Attributes:
        key: the workload's key (the first word of its run folder's command:
            ``haq``, ``field``, ``snn``).
        name: label in tables.
        unit: what one inference is (``vector``, ``voxel``, ``sample``), the same
            unit as the workload's ``workload.json``.
        ops_per_inference: arithmetic operations of one inference (a multiply-add
            is 2), by the rule of the workload's ``workload.json``.
        batches: ``(batch size, where it comes from)`` pairs to time.
        params: the network's parameters (a pytree of arrays), passed to ``apply``.
        apply: ``apply(params, x) -> y``, traceable by JAX.
        make_input: ``make_input(batch, rng) -> x``, a float32 numpy array.
        source: what the forward is (module and function).
    """

    key: str
    name: str
    unit: str
    ops_per_inference: float
    batches: tuple[tuple[int, str], ...]
    params: Any
    apply: Callable[[Any, Any], Any]
    make_input: Callable[[int, np.random.Generator], np.ndarray]
    source: str

    def __post_init__(self) -> None:
        check_range(f"{self.key} ops_per_inference", float(self.ops_per_inference), 0.0,
                    lo_open=True)
        if not self.batches:
            raise ConfigError(f"{self.key}: give at least one batch size to time")
        for b, _ in self.batches:
            check_int(f"{self.key} batch", b, 1, 10**8)


def jax_device(kind: str):
    """The first JAX device of ``kind`` (``cpu`` or ``gpu``).

    Raises:
        ConfigError: an unknown kind, or no GPU visible to JAX (a CPU-only
            install: ``pip install -e .[gpu]`` adds JAX with CUDA).
    """
    check_choice("device", kind, DEVICES)
    import jax

    try:
        devices = jax.devices(kind)
    except RuntimeError:
        devices = []
    if not devices:
        raise ConfigError(f"JAX sees no {kind.upper()} (its backend is "
                          f"{jax.default_backend()!r}); install JAX with CUDA "
                          "(pip install -e '.[gpu]') on a machine with an NVIDIA GPU")
    return devices[0]


def device_name(device) -> str:
    """A readable name of a JAX device: the GPU's product name, or the CPU's model."""
    if device.platform == "cpu":
        model = _cpu_model()
        return f"{model} ({cpu_cores()} cores)" if model else f"CPU ({cpu_cores()} cores)"
    return str(getattr(device, "device_kind", "") or device)


def cpu_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


@dataclass(frozen=True, kw_only=True)
class CallTiming:
    """Seconds per call of a compiled function (median of ``repeats`` calls)."""

    seconds: float
    repeats: int
    fastest_s: float
    slowest_s: float


def time_call(fn: Callable[[], Any], *, min_time_s: float = 0.5, max_repeats: int = 200,
              min_repeats: int = 3) -> CallTiming:
    """Call ``fn`` (which must block until its result is ready) once to compile and warm
    up, then until ``min_time_s`` has passed (at least ``min_repeats``, at most
    ``max_repeats`` calls)."""
    check_range("min_time_s", min_time_s, 0.0)
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_repeats and (len(times) < min_repeats
                                        or time.perf_counter() - start < min_time_s):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return CallTiming(seconds=statistics.median(times), repeats=len(times),
                      fastest_s=min(times), slowest_s=max(times))


def matmul_rate(device, n: int = 1024, *, min_time_s: float = 0.5) -> float:
    """Measured FLOP/s of an ``n x n`` float32 matrix product on ``device``: its fastest call
    (on a machine shared with other jobs the fastest is the least disturbed; a product
    of 2 GFLOP takes tens of milliseconds on a CPU core, so many calls fit).

    A network whose matrices stay in cache can run faster than this reference, so
    a utilisation against it may pass 100 %."""
    import jax

    check_int("n", n, 1, 65536)
    a = jax.device_put(np.random.default_rng(0).standard_normal((n, n)).astype(np.float32),
                       device)
    f = jax.jit(lambda m: m @ m)
    t = time_call(lambda: jax.block_until_ready(f(a)), min_time_s=min_time_s)
    return 2.0 * n**3 / t.fastest_s


def measure_net(net: SoftwareNet, device, *, batches: tuple[int, ...] | None = None,
                min_time_s: float = 0.5, seed: int = 0,
                power_meter: Callable[[], Any] | None = None) -> list[dict[str, Any]]:
    """Time ``net``'s forward on ``device`` at each batch size.

    Args:
        batches: batch sizes (default: the net's own).
        power_meter: makes a context manager with ``mean_w`` (:class:`NvidiaSmiPower`)
            that runs around each batch's timing; its mean goes to ``power_w``.

    Returns:
        One row per batch: ``batch``, ``batch_note``, ``seconds_per_batch`` (median),
        ``repeats``, ``inferences_per_s``, ``flops_per_s`` (``ops_per_inference`` x
        inferences/s), ``best_flops_per_s`` (the same of the fastest call, to set
        against :func:`matmul_rate`), and ``power_w`` with a ``power_meter``.
    """
    import jax

    notes = dict(net.batches)
    todo = batches if batches is not None else tuple(b for b, _ in net.batches)
    params = jax.device_put(net.params, device)
    f = jax.jit(net.apply)
    rng = np.random.default_rng(seed)
    rows = []
    for b in todo:
        check_int(f"{net.key} batch", b, 1, 10**8)
        x = jax.device_put(net.make_input(b, rng), device)
        meter = power_meter() if power_meter is not None else contextlib.nullcontext()
        with meter:
            t = time_call(lambda x=x: jax.block_until_ready(f(params, x)),
                          min_time_s=min_time_s)
        row = {"batch": b, "batch_note": notes.get(b, "given on the command line"),
               "seconds_per_batch": t.seconds, "repeats": t.repeats,
               "inferences_per_s": b / t.seconds,
               "flops_per_s": b * net.ops_per_inference / t.seconds,
               "best_flops_per_s": b * net.ops_per_inference / t.fastest_s}
        if power_meter is not None:
            row["power_w"] = meter.mean_w
        rows.append(row)
    return rows


ASSUMED_CPU_W_PER_CORE = 10.0
"""Power per core taken for a CPU whose rated power is not given (``--power-w``): an
assumption, labelled so. For scale: Intel's Xeon Platinum 8480+ is rated 350 W for
56 cores (6.25 W per core; Intel ARK); desktop parts run 10-20 W per core."""


@dataclass(frozen=True, kw_only=True)
class PowerFigure:
    """The power a measurement is priced at.

    Attributes:
        watts: power (W).
        origin: ``rated`` (the user's rated figure), ``assumed`` (per core, no
            rated figure given) or ``nvidia-smi`` (sampled during the timing).
        source: how the figure was had, in words.
    """

    watts: float
    origin: str
    source: str


def cpu_power(power_w: float | None = None, cores: int | None = None) -> PowerFigure:
    """The CPU's power: ``power_w`` as rated by the user, else the assumed per-core figure
    times the cores this process may use."""
    cores = cores or cpu_cores()
    if power_w is not None:
        check_range("--power-w", power_w, 0.0, 1e5, lo_open=True)
        return PowerFigure(watts=float(power_w), origin="rated",
                           source=f"rated power given by the user ({power_w:g} W)")
    return PowerFigure(watts=ASSUMED_CPU_W_PER_CORE * cores, origin="assumed",
                       source=f"assumed {ASSUMED_CPU_W_PER_CORE:g} W per core x {cores} cores "
                              "(no rated power given: --power-w)")


class NvidiaSmiPower:
    """Board power of one GPU sampled with ``nvidia-smi`` while a measurement runs.

    Use as a context manager: samples ``power.draw`` every ``period_s`` on a
    background thread; :attr:`mean_w` is the mean of the samples taken (at least
    one, read on exit when the block was shorter than one period).
    """

    def __init__(self, index: int = 0, *, period_s: float = 0.1, command: str = "nvidia-smi"):
        check_int("GPU index", index, 0, 1024)
        check_range("period_s", period_s, 0.0, 10.0, lo_open=True)
        self.index, self.period_s, self.command = index, period_s, command
        self.samples: list[float] = []
        self._stop = None
        self._thread = None

    def read(self) -> float:
        """One sample of the board power (W).

        Raises:
            ConfigError: ``nvidia-smi`` missing, failing, or printing no number.
        """
        import subprocess

        try:
            out = subprocess.run([self.command, "--query-gpu=power.draw",
                                  "--format=csv,noheader,nounits", "-i", str(self.index)],
                                 capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(f"cannot run {self.command} to read the GPU's power: {exc}; "
                              "give the board's rated power with --power-w") from None
        try:
            watts = float(out.stdout.strip().splitlines()[0])
        except (ValueError, IndexError):
            raise ConfigError(f"{self.command} gave no power reading (exit {out.returncode}: "
                              f"{(out.stdout + out.stderr).strip()[:200]!r}); give the "
                              "board's rated power with --power-w") from None
        return watts

    def __enter__(self) -> NvidiaSmiPower:
        import threading

        self.samples = [self.read()]
        self._stop = threading.Event()

        def loop() -> None:
            while not self._stop.wait(self.period_s):
                try:
                    self.samples.append(self.read())
                except ConfigError:
                    return

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(self.read())

    @property
    def mean_w(self) -> float:
        return float(np.mean(self.samples))
