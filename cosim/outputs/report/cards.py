"""The report's first screen: one card per workload, built from what its run folder records.

A card needs nothing workload-specific: it reads the run folder's
``manifest.json`` (:class:`cosim.outputs.report.load.ReportInput.summary`) and
the report's tables. Headline metrics come from

1. a ``headline`` entry, if the workload writes one (a new workload's way to
   choose)::

       "headline": [{"metric": "masked MSE", "unit": "", "better": "lower",
                     "software": 0.012, "haq": 0.015, "ptq": 0.09}]

2. else the summary's numbers named ``<metric>_<variant>`` or
   ``<variant>_<metric>`` for a metric of :data:`METRICS` and a variant of
   :data:`VARIANTS` (``psnr_haq``, ``rmse_ptq``, ``software_accuracy``); a bare
   ``<metric>`` beside such a variant is the value on hardware (``accuracy``).
   The paper's figure of the same name comes from the summary's ``paper``.

The hardware line is the summary's ``hardware_text`` (with the backend); an
early-stop line comes from a summary's ``points`` (threshold, accuracy,
timesteps saved) at the stage's headline threshold.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cosim.outputs.report.load import ReportInput

METRICS: dict[str, tuple[str, str, str]] = {
    "psnr": ("PSNR", "dB", "higher"),
    "ssim": ("SSIM", "", "higher"),
    "accuracy": ("accuracy", "%", "higher"),
    "rmse": ("RMSE", "", "lower"),
    "masked_mse": ("masked MSE", "", "lower"),
    "mse": ("MSE", "", "lower"),
    "loss": ("loss", "", "lower"),
    "inception_score": ("inception score", "", "higher"),
}
"""Metric name in a summary -> (label, unit, which way is better)."""

VARIANTS = {"software": "software", "sw": "software", "haq": "HAQ", "ptq": "PTQ",
            "hardware": "on hardware", "hw": "on hardware"}
"""Variant name in a summary -> column of the card."""

COLUMNS = ("software", "HAQ", "PTQ", "on hardware")

TITLES = {"haq": "HAQ matrix-vector test (NF paper)", "field": "Neural field, CT (NF paper)",
          "snn": "Spiking network, N-MNIST (PRIME)", "nerf": "Neural field, NeRF (NF paper)",
          "inpaint": "Spiking VAE inpainting (PRIME)"}
"""Titles of the workloads this toolkit knows; any other takes its workload's name."""

EARLY_STOP_THRESHOLD = 0.3
"""The early-stop point a card shows (PRIME Fig. 3b's 0.3)."""


@dataclass(frozen=True, kw_only=True)
class Metric:
    """One headline metric: its values per column and the paper's, where known."""

    label: str
    unit: str
    better: str
    values: dict[str, float]
    paper: dict[str, float] = field(default_factory=dict)

    def shown(self, value: float) -> float:
        """The value as printed (accuracy in percent when given as a fraction)."""
        return 100.0 * value if self.unit == "%" and abs(value) <= 1.0 else value


@dataclass(frozen=True, kw_only=True)
class Card:
    """What the first screen shows of one workload."""

    key: str
    anchor: str
    title: str
    workload: str
    metrics: list[Metric]
    notes: list[str]
    hardware: str
    energy_per_inference_j: float
    inferences: float
    ratios: pd.DataFrame
    figures: tuple[Path, ...]
    summary: dict[str, Any]


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v) if math.isfinite(v) else None


def headline_metrics(summary: dict[str, Any]) -> list[Metric]:
    """The headline metrics of a run's summary (module docstring), best known first."""
    given = summary.get("headline")
    if isinstance(given, dict):
        given = [given]
    if isinstance(given, list) and given:
        out = []
        for h in given:
            if not isinstance(h, dict) or "metric" not in h:
                continue
            vals = {VARIANTS[k]: float(v) for k, v in h.items()
                    if k in VARIANTS and _number(v) is not None}
            paper = {VARIANTS[k]: float(v) for k, v in (h.get("paper") or {}).items()
                     if k in VARIANTS and _number(v) is not None}
            if vals:
                out.append(Metric(label=str(h["metric"]), unit=str(h.get("unit", "")),
                                  better=str(h.get("better", "higher")), values=vals,
                                  paper=paper))
        if out:
            return out
    names = "|".join(sorted(METRICS, key=len, reverse=True))
    variants = "|".join(VARIANTS)
    pattern = re.compile(rf"^(?:(?P<m1>{names})_(?P<v1>{variants})|(?P<v2>{variants})_"
                         rf"(?P<m2>{names}))$")
    found: dict[str, dict[str, float]] = {}
    for k, v in summary.items():
        hit = pattern.match(str(k))
        if hit and _number(v) is not None:
            m = hit.group("m1") or hit.group("m2")
            found.setdefault(m, {})[VARIANTS[hit.group("v1") or hit.group("v2")]] = float(v)
    for m in list(found):
        bare = _number(summary.get(m))
        if bare is not None and "on hardware" not in found[m]:
            found[m]["on hardware"] = bare
    paper_src = summary.get("paper") if isinstance(summary.get("paper"), dict) else {}
    out = []
    for m, (label, unit, better) in METRICS.items():
        if m not in found:
            continue
        paper = {}
        for k, v in paper_src.items():
            hit = pattern.match(str(k))
            if hit and (hit.group("m1") or hit.group("m2")) == m and _number(v) is not None:
                paper[VARIANTS[hit.group("v1") or hit.group("v2")]] = float(v)
        out.append(Metric(label=label, unit=unit, better=better, values=found[m], paper=paper))
    return out


def metric_notes(metrics: list[Metric], summary: dict[str, Any]) -> list[str]:
    """One-line readings of the headline: HAQ against PTQ and software, the early stop."""
    notes = []
    if metrics:
        m = metrics[0]
        v = m.values
        if "HAQ" in v and "PTQ" in v and m.unit != "dB" and v["HAQ"] > 0 and v["PTQ"] > 0:
            r = v["PTQ"] / v["HAQ"] if m.better == "lower" else v["HAQ"] / v["PTQ"]
            paper = m.paper
            extra = ""
            if "HAQ" in paper and "PTQ" in paper and paper["HAQ"] > 0 and paper["PTQ"] > 0:
                pr = (paper["PTQ"] / paper["HAQ"] if m.better == "lower"
                      else paper["HAQ"] / paper["PTQ"])
                extra = f" (paper {pr:.3g}x)"
            notes.append(f"HAQ {r:.3g}x {'lower' if m.better == 'lower' else 'higher'} "
                         f"{m.label} than PTQ{extra}")
        if m.unit == "dB" and "HAQ" in v and "software" in v:
            def below(x: float) -> str:
                d = v["software"] - x
                return f"{abs(d):.2f} dB {'below' if d >= 0 else 'above'} software"
            notes.append(f"HAQ {below(v['HAQ'])}"
                         + (f", PTQ {below(v['PTQ'])}" if "PTQ" in v else ""))
    es = early_stop_line(summary)
    if es:
        notes.append(es)
    return notes


def early_stop_line(summary: dict[str, Any], threshold: float = EARLY_STOP_THRESHOLD) -> str:
    """``early stop 0.3: 91.8 % with 56 % fewer timesteps (PRIME 94.9 %, 77 % fewer)`` from
    a summary's ``points``, or ``""``."""
    points = summary.get("points")
    if not isinstance(points, list):
        return ""
    rows = [p for p in points if isinstance(p, dict)
            and all(_number(p.get(k)) is not None
                    for k in ("threshold", "accuracy", "timesteps_saved"))]
    if not rows:
        return ""
    p = min(rows, key=lambda r: abs(r["threshold"] - threshold))
    line = (f"early stop at {p['threshold']:g}: {100 * p['accuracy']:.1f} % with "
            f"{100 * p['timesteps_saved']:.0f} % fewer timesteps")
    paper = (summary.get("paper") or {}).get(f"threshold_{p['threshold']:g}")
    if isinstance(paper, dict) and {"accuracy", "timesteps_saved"} <= set(paper):
        line += (f" (paper {100 * paper['accuracy']:.1f} %, "
                 f"{100 * paper['timesteps_saved']:.0f} % fewer)")
    return line


def hardware_line(summary: dict[str, Any]) -> str:
    """The hardware the run simulated, one line, with the backend."""
    text = str(summary.get("hardware_text", "")).strip()
    sim = summary.get("sim") if isinstance(summary.get("sim"), dict) else {}
    backend = sim.get("backend")
    if backend and "backend" not in text:
        text = f"{text}; {backend} backend" if text else f"{backend} backend"
    return text


def build_cards(inputs: list[ReportInput], names: list[str], efficiency: pd.DataFrame,
                ratios: pd.DataFrame) -> list[Card]:
    """One card per input; ``names`` are the workloads' names as the tables carry them."""
    cards = []
    used: dict[str, int] = {}
    for inp, name in zip(inputs, names, strict=True):
        n = used[inp.key] = used.get(inp.key, 0) + 1
        anchor = re.sub(r"[^a-z0-9-]", "-", f"wl-{inp.key}".lower()) + (f"-{n}" if n > 1 else "")
        ours = efficiency[(efficiency["workload"] == name) & (efficiency["key"] == "ours")]
        metrics = headline_metrics(inp.summary)
        cards.append(Card(
            key=inp.key, anchor=anchor,
            title=str(inp.summary.get("title") or TITLES.get(inp.key, inp.workload.name)),
            workload=name, metrics=metrics, notes=metric_notes(metrics, inp.summary),
            hardware=hardware_line(inp.summary),
            energy_per_inference_j=float(ours["energy_per_inference_j"].iloc[0]),
            inferences=float(inp.workload.inferences),
            ratios=ratios[ratios["workload"] == name].reset_index(drop=True),
            figures=inp.figures, summary=inp.summary))
    return cards
