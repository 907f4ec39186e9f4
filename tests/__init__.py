"""The test suite; its folders mirror the package layout (``circuits/``, ``engine/``,
``workloads/field/``, ...)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The project's root folder (the one holding ``pyproject.toml``)."""
