"""``manifest.json``: the one record every command leaves in its run folder.

Every manifest holds what is needed to trust and repeat the run: the command,
its config or parameters, the seeds, the versions of this package, Python,
the numerical libraries and ngspice, the git revision of the source (``-dirty``
when it had uncommitted changes), and the command's own summary (per-stage
status for ``cosim run``). It is written atomically (a temporary file, then a
rename), so an interrupted run leaves the previous complete manifest or none,
never half of one; values are strict JSON (NaN and infinities become null).
"""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from circuits.files import atomic_write
from cosim.outputs.jsonout import json_text

MANIFEST = "manifest.json"
PACKAGES = ("rram-cosim", "numpy", "scipy", "pandas", "matplotlib", "click", "PySpice")


def new_manifest(command: str, *, config: Mapping[str, Any] | None = None,
                 seeds: Mapping[str, int] | None = None, simulator: bool = True,
                 **fields: Any) -> dict[str, Any]:
    """The common fields of a manifest, plus the command's own ``fields``.

    Args:
        command: the ``cosim`` command that wrote the run folder.
        config: the full config or parameters of the run.
        seeds: every seed the run drew from, by name.
        simulator: record the ngspice version (asks ngspice once per process).
    """
    return {"command": command, "config": dict(config or {}), "seeds": dict(seeds or {}),
            "versions": versions(simulator=simulator), "git_revision": git_revision(),
            **fields}


def write_manifest(run_dir: Path, manifest: Mapping[str, Any]) -> Path:
    """Write ``RUN_DIR/manifest.json`` atomically; returns its path."""
    return atomic_write(Path(run_dir) / MANIFEST, json_text(manifest) + "\n")


def versions(*, simulator: bool = True) -> dict[str, str]:
    """Versions of this package, its numerical dependencies, Python and ngspice; where the
    run used JAX (training, software forward passes), its version and the device it ran
    on (``jax_backend``: ``cpu``, or ``gpu`` with JAX with CUDA on an NVIDIA GPU)."""
    out = {p: _version(p) for p in PACKAGES}
    out["python"] = platform.python_version()
    if "jax" in sys.modules:  # never import JAX only to name it
        jax = sys.modules["jax"]
        out["jax"] = getattr(jax, "__version__", "unknown")
        try:
            out["jax_backend"] = jax.default_backend()
        except RuntimeError:
            out["jax_backend"] = "unknown"
    if simulator:
        from circuits.runner import ngspice_version

        out["ngspice"] = ngspice_version()
    return out


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


@functools.cache
def git_revision() -> str:
    """``HEAD`` of the source tree this package runs from, ``-dirty`` with local edits."""
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10, check=False)
        rev = out.stdout.strip()
        if not rev:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10,
                               check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return rev + ("-dirty" if dirty.strip() else "")
