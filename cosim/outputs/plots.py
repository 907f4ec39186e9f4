"""Shared figure helpers: one style, PNG and SVG side by side, no global state.

Figures are built on ``matplotlib.figure.Figure`` directly (not ``pyplot``),
so commands can run in threads and nothing leaks between figures. SVG files
carry no date, so the same data gives the same file.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

FORMATS = ("png", "svg")
DPI = 150
MAX_TRACES = 40
"""Most traces drawn in one panel; more would be unreadable (the rest are named in the title)."""

LINE_WIDTH = 1.2
FONT_SIZE = 8


def new_figure(panels: int = 1, *, width_in: float = 6.4,
               panel_height_in: float = 3.0) -> tuple[Figure, list[Axes]]:
    """A figure with ``panels`` stacked panels sharing the x axis."""
    fig = Figure(figsize=(width_in, panel_height_in * panels + 0.6), layout="constrained")
    axes = list(fig.subplots(panels, 1, sharex=True, squeeze=False)[:, 0])
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=FONT_SIZE)
    return fig, axes


def plot_traces(ax: Axes, x: np.ndarray, traces: dict[str, np.ndarray], *,
                ylabel: str, max_traces: int = MAX_TRACES) -> None:
    """Draw each trace against ``x``; at most ``max_traces``, with a legend when few."""
    names = list(traces)
    for name in names[:max_traces]:
        ax.plot(x, traces[name], label=name, linewidth=LINE_WIDTH)
    ax.set_ylabel(ylabel, fontsize=FONT_SIZE)
    if len(names) > max_traces:
        ax.set_title(f"first {max_traces} of {len(names)} traces", fontsize=FONT_SIZE)
    if 1 < len(names) <= 12:
        ax.legend(fontsize=FONT_SIZE - 1, loc="best")
    elif len(names) == 1:
        ax.set_title(names[0], fontsize=FONT_SIZE)


def wrap_title(text: str, width: int = 110) -> str:
    """``text`` broken into lines of at most ``width`` characters (a figure title that
    would run past the figure's edges)."""
    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False))


def save_figure(fig: Figure, stem: Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Save ``fig`` as ``stem.png`` and ``stem.svg`` (or ``formats``); return the paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        save_as(fig, path)
        paths.append(path)
    return paths


def save_as(fig: Figure, path: Path) -> Path:
    """Save ``fig`` to ``path`` in the format its suffix names (``.png`` or ``.svg``)."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    metadata = {"Date": None} if fmt == "svg" else None
    fig.savefig(path, format=fmt, dpi=DPI, metadata=metadata)
    return path
