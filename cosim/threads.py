"""One rule for the BLAS/OpenMP threads of everything that computes.

Every ``cosim`` command (and every benchmark) runs with its BLAS/OpenMP thread
pools capped at one count, resolved the same way everywhere
(:func:`resolve_threads`): the command's ``--threads N``, else the environment
variable ``COSIM_THREADS``, else 1; ``0`` means no cap (the libraries' own
default, one thread per core). The matrices of this toolkit are small (tiles
of at most 512 x 512), so one thread is as fast as several for one process,
and processes side by side (two runs, sweep workers, ngspice beside Python) do
not oversubscribe the cores.

The cap (:func:`thread_cap`) is set with ``threadpoolctl`` on the libraries
already loaded and with the ``*_NUM_THREADS`` variables for those loaded later
in the block and for child processes (sweep workers start with it). The CLI
applies it to every command once, in :mod:`cosim.cli`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

from circuits.errors import ConfigError

THREADS_ENV = "COSIM_THREADS"
"""Environment variable with the thread count when ``--threads`` is not given."""
DEFAULT_THREADS = 1
MAX_THREADS = 1024
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""Environment variables that cap the BLAS/OpenMP threads of a process."""
THREADS_HELP = (f"BLAS/OpenMP threads of this command [default: ${THREADS_ENV} or "
                f"{DEFAULT_THREADS}; 0: no cap].")


def resolve_threads(threads: int | None = None) -> int | None:
    """BLAS threads per process: ``threads``, else ``$COSIM_THREADS``, else 1.

    ``0`` (or ``COSIM_THREADS=0``) means no cap, returned as ``None``.

    Raises:
        ConfigError: a count outside 0..1024, or ``COSIM_THREADS`` not a whole number.
    """
    where = "--threads"
    if threads is None:
        text = os.environ.get(THREADS_ENV, "").strip()
        if not text:
            return DEFAULT_THREADS
        where = THREADS_ENV
        try:
            threads = int(text)
        except ValueError:
            raise ConfigError(f"{THREADS_ENV} must be a whole number of threads, "
                              f"got {text!r}") from None
    if isinstance(threads, bool) or not isinstance(threads, int) \
            or not 0 <= threads <= MAX_THREADS:
        raise ConfigError(f"{where} must be a whole number from 0 (no cap) to {MAX_THREADS}, "
                          f"got {threads!r}")
    return threads or None


@contextmanager
def thread_env(threads: int) -> Iterator[None]:
    """Set the ``*_NUM_THREADS`` caps for the block (processes started in it,
    libraries loaded in it), then restore them."""
    saved = {k: os.environ.get(k) for k in THREAD_VARS}
    os.environ.update({k: str(threads) for k in THREAD_VARS})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def thread_cap(threads: int | None) -> Iterator[None]:
    """Cap the BLAS/OpenMP threads of this process for the block (``None``: no cap)."""
    if threads is None:
        yield
        return
    with thread_env(threads), threadpool_limits(limits=threads):
        yield


def apply_thread_rule(threads: int | None = None) -> int | None:
    """Cap this process's threads by the rule for the rest of its life (scripts, benchmarks).

    Returns:
        the cap (``None``: no cap).
    """
    limit = resolve_threads(threads)
    if limit is not None:
        os.environ.update({k: str(limit) for k in THREAD_VARS})
        threadpool_limits(limits=limit)
    return limit
