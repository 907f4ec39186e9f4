"""The self-contained ``report.html``: cards first, then each workload, then the ledger.

Layout (readable at 1280 px and in print, no script, no external load):

1. one card per workload (:mod:`.cards`): headline metric for software / HAQ /
   PTQ with the paper's, the hardware in one line, energy per inference and per
   frame, efficiency against each baseline beside the paper's claim;
2. a section per workload: its run folder's figures (PNG, embedded) and its
   summary's numbers and tables;
3. the claims reconciled (:mod:`.claims`);
4. the ledger tables (3-4 significant digits, units in the headers, each row's
   origin as its colour and its source as a numbered footnote);
5. notes and the numbered sources.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from cosim.outputs.report.cards import COLUMNS, Card
from cosim.outputs.report.fmt import column_scale, num, pct, si, times

if TYPE_CHECKING:
    from cosim.outputs.report.options import ReportOptions
    from cosim.outputs.report.tables import ReportTables

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0 auto;
padding:16px 20px 40px;color:#1d1d1f;max-width:1240px;line-height:1.4;font-size:14px}
h1{font-size:22px;margin:4px 0}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #ccc}
h3{font-size:15px;margin:0}h4{font-size:13px;margin:14px 0 4px}
p{margin:6px 0}.lead{color:#444;font-size:13px}code{overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(350px,1fr));gap:12px;
margin-top:10px}
.card{border:1px solid #d0d0d5;border-radius:8px;padding:10px 12px;background:#fafafb;
min-width:0}
.card .wl{color:#555;font-size:12px;margin:2px 0 6px;overflow-wrap:anywhere}
.card p{font-size:12.5px;overflow-wrap:anywhere}
.card .more{font-size:12px}
.card table{width:100%}
table{border-collapse:collapse;font-size:12px;margin:6px 0;max-width:100%}
th,td{border:1px solid #ddd;padding:2px 5px;text-align:left;vertical-align:top;
overflow-wrap:anywhere}
th{background:#f0f0f3;font-weight:600;overflow-wrap:normal}
td.o{white-space:nowrap}table.kv{max-width:900px}table.kv td{text-align:left}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.num{white-space:nowrap}
table.wide{width:100%}
.fn{font-size:10px;vertical-align:super;text-decoration:none;white-space:nowrap}
.o-simulated{background:#e3f4e1}.o-netlist{background:#e6eefb}.o-cited{background:#fff}
.o-derived{background:#fbf6e3}.o-override{background:#fde6e6}.o-measured{background:#efe6fb}
.legend span{padding:0 5px;border:1px solid #ddd;margin-right:4px;font-size:11px}
.figs{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:10px}
.figs figure.wide{grid-column:1/-1}figure.wide img{max-height:380px;width:auto}
figure{margin:0;min-width:0}figure img{max-width:100%;height:auto;display:block;
border:1px solid #eee}figcaption{font-size:11.5px;color:#444}
.note,.small{font-size:12px;color:#444}ol.sources{font-size:11px;color:#333;
padding-left:28px}ol.sources li{overflow-wrap:anywhere;margin:2px 0}
ul.claims li{margin:4px 0;font-size:12.5px}
nav{font-size:12px}nav a{margin-right:10px}
@page{size:A4;margin:12mm}
@media print{body{max-width:none;padding:0;font-size:11px}
.card,figure,tr,li{break-inside:avoid}h2{break-after:avoid}
.cards{grid-template-columns:1fr 1fr}.figs{grid-template-columns:1fr 1fr}
a{color:inherit;text-decoration:none}nav{display:none}}
"""

CAPTIONS = {
    "scatter_weights": "programmed against target weights, PTQ and HAQ (NF Fig. 2f)",
    "scatter_mvm": "computed against exact MVM outputs, PTQ and HAQ (NF Fig. 2g)",
    "rmse_cycles": "RMSE over repeated read cycles (NF Fig. 2h,i)",
    "attenuation_map": "IR-drop attenuation of the placement against a full-width one",
    "budget": "error budget: variance added by each read-path stage",
    "slices": "slices: ground truth, software, HAQ, PTQ and their errors",
    "conductance": "conductance histograms (NF Fig. 4c,d)",
    "accuracy_vs_timesteps": "accuracy against average timesteps, one point per early-stop "
                             "threshold (PRIME Fig. 3b)",
    "conductance_histogram": "G+ - G- of the random pairs before and after pruning "
                             "(PRIME Fig. 2b,d)",
    "throughput": "measured throughput against batch size",
}
"""Captions of the figures this toolkit's workloads write; any other shows its file name."""

SKIP_KEYS = {"command", "git_revision", "versions", "seeds", "config", "hardware", "sim",
             "hardware_text", "files", "tables", "figures", "paper", "headline", "title"}


@dataclass
class Footnotes:
    """Sources numbered in order of first use; a repeated text keeps its number."""

    texts: list[str] = field(default_factory=list)

    def mark(self, text: Any) -> str:
        """The footnote link of ``text`` (``""`` for an empty one)."""
        text = str(text or "").strip()
        if not text or text == "nan":
            return ""
        if text not in self.texts:
            self.texts.append(text)
        n = self.texts.index(text) + 1
        return f'<a class="fn" href="#src-{n}">[{n}]</a>'

    def html(self) -> str:
        items = "".join(f'<li id="src-{i}">{html.escape(t)}</li>'
                        for i, t in enumerate(self.texts, 1))
        return f'<ol class="sources">{items}</ol>'


@dataclass(frozen=True)
class Col:
    """One column of a ledger table: ``kind`` is ``text``, ``num``, ``count``, ``pct``,
    ``si`` (per cell, ``unit``), ``scaled`` (one prefix for the column, ``unit`` in the
    header), ``times`` or ``source`` (a footnote)."""

    name: str
    header: str
    kind: str = "text"
    unit: str = ""


def _cell(v: Any, col: Col, scale: float, row: pd.Series, notes: Footnotes) -> str:
    if col.kind == "source":
        return f"<td>{notes.mark(v)}</td>"
    if col.kind == "text":
        cls = ' class="o"' if col.name == "origin" else ""
        return f"<td{cls}>{html.escape('' if pd.isna(v) else str(v))}</td>"
    if isinstance(v, float) and pd.isna(v):
        return '<td class="num">–</td>'
    text = {"num": lambda: num(v), "count": lambda: num(v, 4),
            "pct": lambda: pct(v), "times": lambda: times(v),
            "si": lambda: si(v, str(row.get("unit", col.unit)) if col.unit == "@unit"
                             else col.unit),
            "scaled": lambda: num(float(v) * scale)}[col.kind]()
    return f'<td class="num">{html.escape(text)}</td>'


def table(df: pd.DataFrame, cols: list[Col], notes: Footnotes, *, wide: bool = True) -> str:
    """A ledger table: only ``cols``, numbers formatted, sources as footnotes, rows coloured
    by their ``origin``."""
    scales = {}
    head = []
    for c in cols:
        header = html.escape(c.header)
        if c.kind == "scaled" and c.name in df.columns:
            factor, prefix = column_scale(pd.to_numeric(df[c.name], errors="coerce").tolist())
            scales[c.name] = factor
            header += f" ({html.escape(prefix + c.unit)})"
        elif c.kind == "si" and c.unit not in ("", "@unit"):
            header += f" ({html.escape(c.unit)})"
        cls = ' class="num"' if c.kind not in ("text", "source") else ""
        head.append(f"<th{cls}>{header}</th>")
    body = []
    for _, r in df.iterrows():
        cls = f' class="o-{html.escape(str(r["origin"]))}"' if "origin" in df.columns else ""
        cells = "".join(_cell(r.get(c.name), c, scales.get(c.name, 1.0), r, notes)
                        for c in cols)
        body.append(f"<tr{cls}>{cells}</tr>")
    cls = ' class="wide"' if wide else ""
    return (f"<table{cls}><thead><tr>{''.join(head)}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def data_uri(path: Path) -> str:
    """``path`` (PNG or SVG) as a ``data:`` URI."""
    mime = "image/svg+xml" if path.suffix.lower() == ".svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def png_size(path: Path) -> tuple[int, int] | None:
    """``(width, height)`` in pixels of a PNG file (from its header), else ``None``."""
    head = path.read_bytes()[:24] if path.suffix.lower() == ".png" else b""
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def figure(path: Path, caption: str = "") -> str:
    """An embedded figure with its caption (the file's stem when none is known); a figure
    more than twice as wide as high takes the whole row of a figure grid."""
    cap = caption or CAPTIONS.get(path.stem, path.stem.replace("_", " "))
    size = png_size(path)
    wide = ' class="wide"' if size and size[0] > 2.2 * size[1] else ""
    dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
    return (f'<figure{wide}><img src="{data_uri(path)}" alt="{html.escape(cap)}"{dims}>'
            f"<figcaption>{html.escape(cap)} <span class='small'>({html.escape(path.name)})"
            f"</span></figcaption></figure>")


# -- the cards ---------------------------------------------------------------------------

def _metric_rows(card: Card) -> str:
    if not card.metrics:
        return "<p class='small'>no headline metric recorded in the run folder</p>"
    cols = [c for c in COLUMNS if any(c in m.values or c in m.paper for m in card.metrics)]
    head = "".join(f'<th class="num">{c}</th>' for c in cols)
    rows = []
    for m in card.metrics[:2]:
        unit = f" ({m.unit})" if m.unit else ""
        best = "↑" if m.better == "higher" else "↓"
        cells = "".join(f'<td class="num">{num(m.shown(m.values[c]))}</td>' if c in m.values
                        else '<td class="num">–</td>' for c in cols)
        rows.append(f"<tr><th>{html.escape(m.label + unit)} {best}</th>{cells}</tr>")
        if m.paper:
            cells = "".join(f'<td class="num">{num(m.shown(m.paper[c]))}</td>' if c in m.paper
                            else "<td></td>" for c in cols)
            rows.append(f"<tr class='small'><td>paper</td>{cells}</tr>")
    return f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _ratio_rows(card: Card, notes: Footnotes) -> str:
    if card.ratios.empty:
        return ""
    rows = []
    for _, r in card.ratios.iterrows():
        name = str(r["baseline_name"]).replace("NVIDIA ", "")
        claim = r["claimed_energy_ratio"]
        claim_text = (f"{times(claim)}{notes.mark(r['claim_source'])}"
                      if pd.notna(claim) else "")
        area = "" if pd.isna(r["area_efficiency_ratio"]) else times(r["area_efficiency_ratio"])
        rows.append(f"<tr class='o-{html.escape(str(r['origin']))}'><td>{html.escape(name)}</td>"
                    f"<td class='num'>{times(r['energy_efficiency_ratio'])}</td>"
                    f"<td class='num'>{area}</td><td class='num'>{claim_text}</td></tr>")
    return ("<table><thead><tr><th>ours against</th><th class='num'>energy eff.</th>"
            "<th class='num'>area eff.</th><th class='num'>paper</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def card_html(card: Card, notes: Footnotes) -> str:
    """One workload's card."""
    energy = f"{si(card.energy_per_inference_j, 'J')} per inference"
    if card.inferences > 1:
        total = si(card.energy_per_inference_j * card.inferences, "J")
        energy += (f" · {total} per frame ({num(card.inferences)} inferences)"
                   if "frame" in card.workload else
                   f" · {total} for the run's {num(card.inferences)} inferences")
    parts = [f'<article class="card" id="card-{card.anchor}">',
             f"<h3>{html.escape(card.title)}</h3>",
             f'<p class="wl">{html.escape(card.workload)}</p>', _metric_rows(card)]
    parts += [f"<p>{html.escape(n)}</p>" for n in card.notes]
    if card.hardware:
        parts.append(f"<p><b>hardware</b> {html.escape(card.hardware)}</p>")
    parts.append(f"<p><b>energy</b> {energy}</p>")
    parts.append(_ratio_rows(card, notes))
    parts.append(f'<p class="more"><a href="#{card.anchor}">pictures and numbers</a> · '
                 '<a href="#claims">claims reconciled</a></p></article>')
    return "\n".join(parts)


# -- a workload's section ----------------------------------------------------------------

def _scalar_table(summary: dict[str, Any]) -> str:
    rows = []
    for k, v in summary.items():
        if k in SKIP_KEYS or isinstance(v, dict | list):
            continue
        if isinstance(v, str) and len(v) > 160:
            continue
        rows.append(f"<tr><th>{html.escape(k.replace('_', ' '))}</th>"
                    f"<td class='num'>{html.escape(num(v) if not isinstance(v, str) else v)}"
                    "</td></tr>")
    return f"<table class='kv'><tbody>{''.join(rows)}</tbody></table>" if rows else ""


def _list_tables(summary: dict[str, Any]) -> str:
    out = []
    for k, v in summary.items():
        if k in SKIP_KEYS or not isinstance(v, list) or not v or len(v) > 30:
            continue
        if not all(isinstance(r, dict) for r in v):
            continue
        cols = list(dict.fromkeys(c for r in v for c in r))
        if len(cols) > 8 or any(isinstance(r.get(c), dict | list) for r in v for c in cols):
            continue
        head = "".join(f"<th class='num'>{html.escape(c.replace('_', ' '))}</th>" for c in cols)
        body = "".join("<tr>" + "".join(
            f"<td class='num'>{html.escape(num(r.get(c)) if r.get(c) is not None else '')}</td>"
            for c in cols) + "</tr>" for r in v)
        out.append(f"<h4>{html.escape(k.replace('_', ' '))}</h4><table><thead><tr>{head}"
                   f"</tr></thead><tbody>{body}</tbody></table>")
    return "".join(out)


def section_html(card: Card, source: str) -> str:
    """A workload's section: its figures, its summary's numbers and tables."""
    figs = "".join(figure(p) for p in card.figures)
    return "\n".join([
        f'<section id="{card.anchor}"><h2>{html.escape(card.title)}</h2>',
        f"<p class='lead'>{html.escape(card.workload)} · run folder "
        f"<code>{html.escape(source)}</code></p>",
        f'<div class="figs">{figs}</div>' if figs else
        "<p class='small'>no figures in the run folder</p>",
        "<h4>numbers the run recorded</h4>", _scalar_table(card.summary),
        _list_tables(card.summary), "</section>"])


# -- the whole page ----------------------------------------------------------------------

_ENERGY = [Col("workload", "workload"), Col("component", "component"),
           Col("count", "events", "count"), Col("per_unit", "per event (or per s active)",
                                                 "si", "@unit"),
           Col("energy_per_inference_j", "per inference", "scaled", "J"),
           Col("share", "share", "pct"), Col("origin", "origin"),
           Col("source", "source", "source")]
_EVENTS = [Col("component", "component"), Col("counter", "counter"),
           Col("per_unit", "energy", "si", "@unit"), Col("origin", "origin"),
           Col("source", "source", "source"), Col("note", "note", "source")]
_AREA = [Col("workload", "workload"), Col("block", "block"), Col("count", "count", "count"),
         Col("area_each_um2", "each (µm²)", "num"),
         Col("area_mm2", "area", "num", ""), Col("share", "share", "pct"),
         Col("origin", "origin"), Col("source", "source", "source")]
_EFF = [Col("workload", "workload"), Col("system", "system"),
        Col("fps", "inferences/s", "scaled", ""), Col("power_w", "power", "si", "W"),
        Col("energy_per_inference_j", "energy per inference", "si", "J"),
        Col("fps_per_w", "inferences/J", "scaled", ""), Col("area_mm2", "area (mm²)", "num"),
        Col("origin", "origin"), Col("source", "source", "source")]
_BASE = [Col("name", "device"), Col("power_w", "power", "si", "W"),
         Col("die_area_mm2", "die (mm²)", "num"), Col("process", "process"),
         Col("peak_fp32_flops", "FP32 peak", "si", "FLOP/s"),
         Col("peak_fp16_flops", "FP16 peak", "si", "FLOP/s"),
         Col("achievable_flops", "taken", "si", "FLOP/s"), Col("origin", "origin"),
         Col("source", "source", "source")]
_MEASURED = [Col("workload", "workload"), Col("system", "device"), Col("batch", "batch", "count"),
             Col("inferences_per_s", "inferences/s", "num"),
             Col("utilisation", "of matrix rate", "pct"), Col("power_w", "power", "si", "W"),
             Col("power_origin", "power from"),
             Col("energy_per_inference_j", "energy per inference", "si", "J"),
             Col("origin", "origin"), Col("source", "source", "source")]


def render_html(t: ReportTables, figures: dict[str, list[Path]], notes: list[str],
                options: ReportOptions, inputs: list[str], *, cards: list[Card] | None = None,
                claims: pd.DataFrame | None = None, measured: pd.DataFrame | None = None,
                sources: dict[str, str] | None = None) -> str:
    """The self-contained ``report.html`` text.

    Args:
        cards: one per workload (:func:`cosim.outputs.report.cards.build_cards`).
        claims: the claims reconciled (:func:`cosim.outputs.report.claims.reconcile`).
        measured: every measured baseline row (``cosim baseline`` runs given as inputs).
        sources: each card's run folder, by anchor.
    """
    cards = cards or []
    fn = Footnotes()
    fig = {name: next(p for p in paths if p.suffix == ".svg") for name, paths in figures.items()}
    nav = " ".join(f'<a href="#{c.anchor}">{html.escape(c.title)}</a>' for c in cards)
    legend = "".join(f'<span class="o-{o}">{o}</span>' for o in
                     ("simulated", "netlist", "cited", "derived", "measured", "override"))
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>rram-cosim report</title>", f"<style>{_CSS}</style></head><body>",
        "<header><h1>RRAM compute-in-memory: what each workload did</h1>",
        f"<p class='lead'>{len(cards)} workload(s) · GPU baselines at "
        f"{options.gpu.utilisation:g} x datasheet {options.gpu.precision.upper()} peak, rated "
        "power (assumed utilisation) · measured baselines where a <code>cosim baseline</code> "
        "run was given · energies per inference from the events each run counted</p>",
        f"<nav>{nav} <a href='#claims'>claims</a> <a href='#ledger'>ledger</a> "
        "<a href='#sources'>sources</a></nav></header>",
        '<section class="cards" id="cards">', *[card_html(c, fn) for c in cards], "</section>",
    ]
    for c in cards:
        parts.append(section_html(c, (sources or {}).get(c.anchor, "")))
    parts.append('<section id="claims"><h2>The papers\' ratios beside ours, reconciled</h2>')
    if claims is not None and not claims.empty:
        items, others = [], []
        names = dict(zip(t.baselines["key"], t.baselines["name"], strict=True))
        for _, c in claims.iterrows():
            what = str(c["metric"]).replace("_", " ")
            against = names.get(c["baseline"], c["baseline"])
            if not c["reconciliation"]:
                others.append(f"{c['workload']} {what} against {against} "
                              f"{times(c['claimed_ratio'])}{fn.mark(c['source'])}")
                continue
            head = f"{c['workload']}, {what} against {against}: paper {times(c['claimed_ratio'])}"
            items.append(f"<li><b>{html.escape(head)}</b>{fn.mark(c['source'])}: "
                         f"{html.escape(c['reconciliation'])} <i>What the paper's figure "
                         f"covers:</i> {html.escape(str(c['conditions']))}</li>")
        parts.append(f"<ul class='claims'>{''.join(items)}</ul>")
        if others:
            parts.append("<p class='small'>Claims no workload of this report compares with: "
                         + "; ".join(others) + ".</p>")
    parts.append("</section>")
    parts += [
        '<section id="ledger"><h2>Ledger</h2>',
        f"<p class='legend small'>row colours (origin): {legend}</p>",
        "<h4>efficiency of ours and each baseline</h4>",
        figure(fig["efficiency"], "ours against each baseline: energy and area efficiency "
               "(labels: ours / baseline)") if "efficiency" in fig else "",
        table(t.efficiency, _EFF, fn),
        "<h4>energy per inference by component</h4>",
        figure(fig["energy_breakdown"], "energy per inference by component")
        if "energy_breakdown" in fig else "",
        table(t.energy[t.energy["count"] > 0], _ENERGY, fn),
        "<h4>energy per event (the table used)</h4>", table(t.energy_table, _EVENTS, fn),
        "<h4>area by block</h4>",
        figure(fig["area_breakdown"], "area by block") if "area_breakdown" in fig else "",
        table(t.area[t.area["count"] > 0], _AREA, fn),
        "<h4>GPU baselines (datasheets)</h4>", table(t.baselines, _BASE, fn)]
    if measured is not None and not measured.empty:
        parts += ["<h4>measured baselines (cosim baseline)</h4>", table(measured, _MEASURED, fn)]
    parts += ["</section>", "<section id='notes'><h2>Notes</h2><ul class='note'>",
              *[f"<li>{html.escape(n)}</li>" for n in notes],
              "<li>Not counted in area: row decoders and drivers, control, clocking, I/O, "
              "inter-macro wiring. Tables and figures are also in this folder as CSV, PNG "
              "and SVG.</li>", "</ul></section>",
              f"<section id='sources'><h2>Sources</h2><p class='small'>inputs: "
              f"{html.escape(', '.join(inputs))}</p>{fn.html()}</section>",
              "</body></html>"]
    return "\n".join(p for p in parts if p)

