"""Helpers shared by the benchmark scripts: timing, and the thread rule.

Every benchmark calls :func:`apply_thread_rule` first, so it computes under the
same rule as every ``cosim`` command (:mod:`cosim.threads`): ``COSIM_THREADS``
(or the benchmark's own thread option), else one BLAS/OpenMP thread; ``0`` no
cap. Child processes it starts inherit the cap.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

from cosim.threads import apply_thread_rule as _apply


def apply_thread_rule(threads: int | None = None) -> int | None:
    """Cap this benchmark's BLAS/OpenMP threads by the rule; says so on stderr, returns it."""
    limit = _apply(threads)
    print(f"# threads: {limit if limit is not None else 'no cap'} (cosim.threads rule)",
          file=sys.stderr)
    return limit


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time of ``fn`` (repeats only while one run takes < 5 s), last result."""
    times, out = [], None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        if times[-1] > 5.0:
            break
    return statistics.median(times), out
