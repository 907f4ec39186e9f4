"""The self-contained ``report.html``: tables and inline SVG figures, no external loads."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from cosim.outputs.report.options import ReportOptions
    from cosim.outputs.report.tables import ReportTables


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;
color:#222;max-width:1200px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.src{max-width:520px;font-size:11px;color:#444}
.o-simulated{background:#e3f4e1}.o-netlist{background:#e6eefb}.o-cited{background:#fff}
.o-derived{background:#fbf6e3}.o-override{background:#fde6e6}
.note{font-size:12px;color:#444}.fig svg{max-width:100%;height:auto}
.small{font-size:11px;color:#666}
"""


def _fmt(v: Any) -> str:
    if isinstance(v, float | np.floating):
        if not np.isfinite(v):
            return "" if np.isnan(v) else str(v)
        if v == 0:
            return "0"
        return f"{v:.4g}"
    return str(v)


def _html_table(df: pd.DataFrame, cols: list[str] | None = None) -> str:
    cols = cols or list(df.columns)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for _, r in df.iterrows():
        cls = f' class="o-{html.escape(str(r["origin"]))}"' if "origin" in df.columns else ""
        cells = []
        for c in cols:
            v = r[c]
            kind = "num" if isinstance(v, int | float | np.number) and not isinstance(v, bool) \
                else ("src" if c in ("source", "note", "count_source", "claim_source",
                                     "flops_source") else "")
            cells.append(f'<td class="{kind}">{html.escape(_fmt(v))}</td>')
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _inline_svg(path: Path) -> str:
    """The SVG element of ``path``, metadata dropped, ids prefixed (unique in one page)."""
    text = path.read_text()
    text = re.sub(r"<metadata>.*?</metadata>", "", text[text.find("<svg"):], flags=re.S)
    pre = re.sub(r"[^A-Za-z0-9]", "", path.stem) + "-"
    text = text.replace('id="', f'id="{pre}').replace("url(#", f"url(#{pre}")
    text = text.replace('href="#', f'href="#{pre}')
    return f'<div class="fig">{text}</div>'


def render_html(t: ReportTables, figures: dict[str, list[Path]], notes: list[str],
                options: ReportOptions, inputs: list[str]) -> str:
    """The self-contained ``report.html`` text (figures inline as SVG)."""
    def fig(name: str) -> str:
        svg = next(p for p in figures[name] if p.suffix == ".svg")
        return _inline_svg(svg)

    summary = t.efficiency[t.efficiency["key"] == "ours"][
        ["workload", "ops_per_inference", "energy_per_inference_j", "fps", "power_w",
         "fps_per_w", "area_mm2", "fps_per_mm2", "origin", "source"]]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>rram-cosim energy and area report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Energy and area report</h1>",
        f"<p class='small'>inputs: {html.escape(', '.join(inputs))}. Baselines at "
        f"{options.gpu.utilisation:g} x datasheet peak {options.gpu.precision.upper()} "
        "(assumed utilisation), at rated board power. Row colours: "
        "<span class='o-simulated'>simulated</span> · <span class='o-netlist'>netlist</span> · "
        "cited · <span class='o-derived'>derived</span> · "
        "<span class='o-override'>override</span>.</p>",
        "<h2>Summary: this toolkit's RRAM compute-in-memory</h2>",
        _html_table(summary),
        "<h2>Ratios vs baselines (ours / baseline), with the seeds' claims</h2>",
        _html_table(t.ratios),
        fig("efficiency"),
        "<h2>Energy per inference by component</h2>",
        fig("energy_breakdown"),
        _html_table(t.energy[t.energy["count"] > 0],
                    ["workload", "component", "counter", "count", "per_unit", "unit",
                     "energy_per_inference_j", "share", "origin", "source"]),
        "<h2>Energy per event (the table used)</h2>",
        _html_table(t.energy_table),
        "<h2>Area by block</h2>",
        fig("area_breakdown"),
        _html_table(t.area[t.area["count"] > 0],
                    ["workload", "block", "count", "area_each_um2", "area_mm2", "share",
                     "origin", "source"]),
        "<h2>Efficiency of ours and each baseline</h2>",
        _html_table(t.efficiency, ["workload", "system", "fps", "power_w",
                                   "energy_per_inference_j", "fps_per_w", "area_mm2",
                                   "fps_per_mm2", "origin", "source"]),
        "<h2>Baselines</h2>",
        _html_table(t.baselines),
        "<h2>The seeds' claimed ratios, ours beside where the workload matches</h2>",
        _html_table(t.claims),
        "<h2>Notes</h2><ul class='note'>",
        *[f"<li>{html.escape(n)}</li>" for n in notes],
        "</ul>",
        "<p class='small'>Not counted in area: row decoders and drivers, control, clocking, "
        "I/O, inter-macro wiring. Tables and figures are also in this folder as CSV, PNG "
        "and SVG.</p>",
        "</body></html>",
    ]
    return "\n".join(parts)
