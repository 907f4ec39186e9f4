"""The one-screen summary that ends ``cosim run``: a row per stage.

Columns: stage, headline metric, software / HAQ (or on hardware) / PTQ, the hardware
the stage ran on, its time. A stage with a headline metric in its summary (found
the way the report's cards find it, :func:`cosim.outputs.report.cards.headline_metrics`)
gets its values in the columns and its readings (HAQ against PTQ, the early stop)
on the lines below; any other stage its one-line headline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cosim.outputs.report.cards import headline_metrics, metric_notes
from cosim.outputs.report.fmt import num

HEADER = ("stage", "metric", "software", "HAQ / on hw", "PTQ", "hardware", "time")
WIDTHS = (8, 15, 9, 11, 9, 10, 8)


def _row(cells: tuple[str, ...]) -> str:
    left = [f"{c:<{w}}" if i < 2 or i == 5 else f"{c:>{w}}"
            for i, (c, w) in enumerate(zip(cells, WIDTHS, strict=True))]
    return "  ".join(left).rstrip()


def summary_lines(stages: Mapping[str, Mapping[str, Any]],
                  headlines: Mapping[str, str], wall_s: float | None = None) -> list[str]:
    """The summary table of a run's stages.

    Args:
        stages: the manifest's ``stages``: name -> ``{"status", "elapsed_s", "summary"}``.
        headlines: name -> the stage's one-line headline.
        wall_s: the job's wall time (s), the total row's figure when given (stages run
            side by side make it less than the sum of their times, which is then shown
            below it); else the sum.
    """
    lines = [_row(HEADER), "  ".join("-" * w for w in WIDTHS)]
    total = 0.0
    for name, rec in stages.items():
        summary = rec.get("summary") or {}
        secs = float(rec.get("elapsed_s") or 0.0)
        total += secs
        time = f"{secs:.1f} s" if rec.get("status") == "done" else str(rec.get("status", ""))
        hw = str(summary.get("hardware_name", ""))
        metrics = headline_metrics(summary)
        if not metrics:
            text = headlines.get(name, "")
            lines.append(f"{name:<{WIDTHS[0]}}  {text}"[:200].rstrip()
                         + f"  ({time})" if text else _row((name, "", "", "", "", hw, time)))
            continue
        m = metrics[0]
        unit = f" ({m.unit})" if m.unit else ""
        hw_value = m.values.get("HAQ", m.values.get("on hardware"))

        def cell(v: float | None, m=m) -> str:
            return "–" if v is None else num(m.shown(v))

        lines.append(_row((name, f"{m.label}{unit}", cell(m.values.get("software")),
                           cell(hw_value), cell(m.values.get("PTQ")), hw, time)))
        for note in metric_notes(metrics, summary):
            lines.append(f"{'':<{WIDTHS[0]}}  {note}")
    if wall_s is None:
        lines.append(_row(("total", "", "", "", "", "", f"{total:.0f} s")))
        return lines
    lines.append(_row(("total", "wall time", "", "", "", "", f"{wall_s:.0f} s")))
    if total > wall_s + 1.0:
        lines.append(f"{'':<{WIDTHS[0]}}  the stages' own times add to {total:.0f} s "
                     "(some ran side by side)")
    return lines
