"""Where the toolkit keeps files by default, relative to the working directory."""

from __future__ import annotations

from pathlib import Path

RESULTS_ROOT = Path("results")
"""Default output root: one folder per run."""

SNN_CACHE_DIR = RESULTS_ROOT / ".cache" / "snn"
"""Where synthesised N-MNIST events are kept between runs."""
