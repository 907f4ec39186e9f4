"""Energy / area / efficiency report of one or more workloads against GPU baselines.

Inputs (each one a workload; several give one comparison report):

- a run folder holding ``workload.json`` (schema ``rram-cosim.workload/1``,
  written by any workload run; keys in :func:`cosim.accounting.workload.events_workload`)::

      {"schema": "rram-cosim.workload/1", "name": "HAQ MVM 100x100",
       "events": {"cell_reads": 1200000, "dac_conversions": 300, ...},
       "ops_per_inference": 20000, "inferences": 100, "read_steps": 100,
       "hardware": {"arrays": 3, "rows_per_array": 512, ...},
       "source": "cosim haq ..."}

- a ``workload.json``-style JSON file, or a TOML config naming an adapter::

      kind = "mvm"          # or "mlp", "events"
      name = "HAQ MVM 100x100"
      rows = 100
      cols = 100
      bits = 12
      inferences = 100

Run folder written (:func:`build_report`)::

    RUN_DIR/report.html             self-contained (inline SVG figures, no network)
    RUN_DIR/energy_table.csv        energy per event, origin and source of each
    RUN_DIR/energy_breakdown.csv    energy per component per workload
    RUN_DIR/area_table.csv          area per block, origin and source of each
    RUN_DIR/area_breakdown.csv      area per block per workload
    RUN_DIR/baselines.csv           GPU figures with sources and achievable throughput
    RUN_DIR/efficiency.csv          fps, power, fps/W, fps/mm^2 of ours and each baseline
    RUN_DIR/ratios.csv              ours / baseline, with the seeds' claims beside
    RUN_DIR/claimed_ratios.csv      the NF and PRIME papers' claims and ours where comparable
    RUN_DIR/energy_breakdown.png/.svg, area_breakdown.png/.svg, efficiency.png/.svg
    RUN_DIR/sim/                    ngspice decks, logs and raw files of simulated figures
    RUN_DIR/manifest.json           inputs, options, notes, files

Every row of every table has an ``origin`` (simulated, netlist, cited,
derived, override) and a ``source``.
"""

from __future__ import annotations

import html
import json
import math
import re
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from circuits.errors import ConfigError
from circuits.files import regular_file
from cosim.accounting.area import LAYOUT, AreaTable, LayoutAssumptions, area_breakdown
from cosim.accounting.baselines import (
    GpuAssumptions,
    baseline_fps,
    claimed_ratios,
    get_baselines,
)
from cosim.accounting.energy import EnergyTable
from cosim.accounting.workload import Workload, events_workload, make_workload

if TYPE_CHECKING:
    from cosim.accounting.circuit_energy import AmplifierTiming
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.outputs.plots import save_figure

DEFAULT_BASELINES = ("a100", "jetson_nano", "rtx4090", "h100")
TABLE_ORIGINS = ("simulated", "netlist", "cited", "derived", "override")
"""Every table row's ``origin`` is one of these."""


@dataclass(frozen=True, kw_only=True)
class ReportOptions:
    """How a report is made.

    Attributes:
        baselines: baseline keys to compare with (``cosim.accounting.baselines``).
        gpu: precision and utilisation of the baselines' throughput.
        simulate: take the cell-read, VCMAC and TIA figures from ngspice
            (``cosim.accounting.circuit_energy``), and the amplifiers' time per
            conversion from their simulated settling; off uses the cited table
            and the workloads' own timing only.
        transistor_amplifiers: simulate the TIA's op-amp and the VCMAC's
            regulation amplifiers at transistor level (default); False uses
            the op-amp macro-model and the behavioural VCMAC amplifiers (the
            fast option). The energy table's sources say which was used.
        energy_override: a user's override file (CSV or TOML), or ``None``.
        layout: layout assumptions of the netlist-derived areas.
    """

    baselines: tuple[str, ...] = DEFAULT_BASELINES
    gpu: GpuAssumptions = field(default_factory=GpuAssumptions)
    simulate: bool = True
    transistor_amplifiers: bool = True
    energy_override: Path | None = None
    layout: LayoutAssumptions = LAYOUT


# --------------------------------------------------------------------------- inputs


def load_workload(path: Path) -> Workload:
    """The workload of a run folder, ``workload.json``-style file or TOML config.

    Raises:
        ConfigError: nothing at ``path``, a folder with neither ``workload.json``
            nor a ``cosim haq`` manifest, or an unreadable file.
    """
    path = Path(path)
    if path.is_dir():
        wj = path / "workload.json"
        if wj.exists():
            data = _check_values(_read_json(regular_file(wj, "workload")),
                                 f"{path.name}/workload.json")
            return _with_source(events_workload(data), f"{path.name}/workload.json")
        raise ConfigError(f"run folder {str(path)!r} has no workload.json to report on "
                          "(workload runs such as cosim haq write one)")
    if not path.exists():
        raise ConfigError(f"no run folder or config file at {str(path)!r}")
    regular_file(path, "workload or config")
    suffix = path.suffix.lower()
    if suffix == ".json":
        data = _check_values(_read_json(path), path.name)
        w = make_workload({"kind": "events", **data})
    elif suffix == ".toml":
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path.name}: {exc}") from None
        w = make_workload(_check_values(data, path.name))
    else:
        raise ConfigError(f"cannot read {path.name!r}: give a run folder, a .json or a .toml")
    return _with_source(w, path.name)


_NUMBER_KEYS = ("ops_per_inference", "inferences", "read_steps")
_NUMBER_SECTIONS = ("events", "programming_events", "hardware", "timing")
_TEXT_KEYS = ("schema", "kind", "name", "claim", "source", "hardware.cell")


def _check_values(data: dict[str, Any], where: str) -> dict[str, Any]:
    """Refuse a workload whose numbers are not finite numbers, before any adapter reads it.

    Every number anywhere in ``data`` must be finite; the counts, hardware and
    timing figures of an events workload must be numbers; its names, text.
    """
    for name, value in _leaves(data, ""):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{where}: {name} must be a finite number, got {value}")
    numeric = [k for k in _NUMBER_KEYS if k in data]
    for section in _NUMBER_SECTIONS:
        if isinstance(data.get(section), dict):
            numeric += [f"{section}.{k}" for k in data[section]
                        if f"{section}.{k}" not in _TEXT_KEYS]
    for name in numeric:
        value = _lookup(data, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: {name} must be a number, got {value!r}")
    for name in _TEXT_KEYS:
        value = _lookup(data, name)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: {name} must be text, got {value!r}")
    return data


def _leaves(obj: Any, prefix: str):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, f"{prefix}[{i}]")
    else:
        yield prefix, obj


def _lookup(data: dict[str, Any], dotted: str) -> Any:
    head, _, rest = dotted.partition(".")
    value = data.get(head)
    if rest:
        return value.get(rest) if isinstance(value, dict) else None
    return value


def _with_source(w: Workload, where: str) -> Workload:
    from dataclasses import replace

    src = f"{where}: {w.source}" if w.source else where
    return replace(w, source=src)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{Path(path).name} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{Path(path).name} must hold one JSON object")
    return data


# --------------------------------------------------------------------------- tables


def energy_table(options: ReportOptions, sim_dir: Path | None
                 ) -> tuple[EnergyTable, AmplifierTiming | None]:
    """The energy table of a report (cited, then simulated, then the user's overrides)
    and, when simulating, the amplifiers' simulated conversion times."""
    table, timing = EnergyTable.cited(), None
    if options.simulate:
        from circuits.opamp import DEFAULT_OPAMP
        from cosim.accounting.circuit_energy import TiaBench, VcmacBench, simulate_amplifiers

        tr = options.transistor_amplifiers
        table, timing = simulate_amplifiers(
            table, workdir=sim_dir, tia_bench=TiaBench(opamp=DEFAULT_OPAMP if tr else None),
            vcmac_bench=VcmacBench(transistor_level=tr))
        table = table.with_notes(
            "amplifiers simulated " + ("at transistor level (TIA: two-stage Miller op-amp; "
                                       "VCMAC: OTAs)" if tr else
                                       "with the op-amp macro-model and behavioural VCMAC "
                                       "amplifiers (--amplifiers macro)"))
    else:
        table = table.with_notes("simulation off (--no-simulate): cited figures only")
    if options.energy_override is not None:
        table = table.with_overrides(options.energy_override)
    return table, timing


@dataclass(frozen=True)
class ReportTables:
    """All tables of a report (each row with ``origin`` and ``source``)."""

    energy_table: pd.DataFrame
    energy: pd.DataFrame
    area_table: pd.DataFrame
    area: pd.DataFrame
    baselines: pd.DataFrame
    efficiency: pd.DataFrame
    ratios: pd.DataFrame
    claims: pd.DataFrame

    def named(self) -> dict[str, pd.DataFrame]:
        return {"energy_table": self.energy_table, "energy_breakdown": self.energy,
                "area_table": self.area_table, "area_breakdown": self.area,
                "baselines": self.baselines, "efficiency": self.efficiency,
                "ratios": self.ratios, "claimed_ratios": self.claims}


def _unique_names(workloads: list[Workload]) -> list[str]:
    names, seen = [], {}
    for w in workloads:
        n = w.name
        seen[n] = seen.get(n, 0) + 1
        names.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return names


def build_tables(workloads: list[Workload], table: EnergyTable, options: ReportOptions
                 ) -> ReportTables:
    """Energy, area, efficiency and ratio tables of ``workloads``."""
    baselines = get_baselines(list(options.baselines))
    gpu = options.gpu
    area_tab = AreaTable.default(options.layout)
    names = _unique_names(workloads)
    energy_rows, area_rows, eff_rows, ratio_rows = [], [], [], []
    claims = claimed_ratios()
    for name, w in zip(names, workloads, strict=True):
        led = w.ledger(table)
        led.insert(0, "workload", name)
        led["count_source"] = w.source
        energy_rows.append(led)
        ar = area_breakdown(w.hardware, area_tab)
        ar.insert(0, "workload", name)
        area_rows.append(ar)
        e_inf = float(led["energy_per_inference_j"].sum())
        area_mm2 = float(ar["area_mm2"].sum())
        latency = w.latency_s()
        fps = w.inferences / latency
        origins = ", ".join(f"{o} {n}" for o, n in
                            led.loc[led["energy_j"] > 0, "origin"].value_counts().items())
        ours = {"workload": name, "system": "RRAM CIM (this toolkit)", "key": "ours",
                "ops_per_inference": w.ops_per_inference, "fps": fps,
                "power_w": e_inf * fps, "energy_per_inference_j": e_inf,
                "fps_per_w": 1.0 / e_inf if e_inf > 0 else math.inf,
                "area_mm2": area_mm2, "fps_per_mm2": fps / area_mm2,
                "origin": "derived",
                "source": (f"energy_breakdown.csv ({origins}) and area_breakdown.csv of this "
                           f"workload; fps = {w.inferences:g} inferences / latency "
                           f"{latency:.4g} s ({w.read_steps:g} read steps of "
                           f"{w.timing.read_pulse_s * 1e9:g} ns read / "
                           f"{w.timing.amplifier_active_s * 1e9:g} ns amplifier, ADCs at "
                           f"{w.timing.adc_rate_hz / 1e9:g} GHz x {w.hardware.adcs:g}); "
                           f"counts from {w.source}")}
        eff_rows.append(ours)
        for b in baselines:
            bfps = baseline_fps(b, w.ops_per_inference, gpu)
            row = {"workload": name, "system": b.name, "key": b.key,
                   "ops_per_inference": w.ops_per_inference, "fps": bfps,
                   "power_w": b.power_w, "energy_per_inference_j": b.power_w / bfps,
                   "fps_per_w": bfps / b.power_w, "area_mm2": b.die_area_mm2,
                   "fps_per_mm2": bfps / b.die_area_mm2, "origin": "derived",
                   "source": f"{gpu.describe(b)}; power and die area: {b.source}"}
            eff_rows.append(row)
            r_e = ours["fps_per_w"] / row["fps_per_w"]
            r_a = ours["fps_per_mm2"] / row["fps_per_mm2"]
            rr = {"workload": name, "baseline": b.key, "baseline_name": b.name,
                  "energy_efficiency_ratio": r_e, "area_efficiency_ratio": r_a,
                  "claimed_energy_ratio": np.nan, "claimed_area_ratio": np.nan,
                  "claim_source": "", "origin": "derived",
                  "source": f"efficiency.csv: fps/W and fps/mm^2 of ours over {b.key}"}
            if w.claim:
                match = claims[(claims["workload"] == w.claim)
                               & (claims["baseline"].isin([b.key, "gpu"]))]
                for _, c in match.iterrows():
                    col = ("claimed_energy_ratio" if c["metric"] == "energy_efficiency"
                           else "claimed_area_ratio")
                    rr[col] = float(c["ratio"])
                    rr["claim_source"] = (rr["claim_source"] + "; " if rr["claim_source"]
                                          else "") + str(c["source"])
            ratio_rows.append(rr)
    ratios = pd.DataFrame(ratio_rows)
    claims_out = claims.copy()
    ours_col, ours_wl = [], []
    for _, c in claims.iterrows():
        hit = ratios[(ratios["baseline"] == c["baseline"])
                     & ratios["workload"].isin([n for n, w in zip(names, workloads, strict=True)
                                                if w.claim == c["workload"]])]
        metric = ("energy_efficiency_ratio" if c["metric"] == "energy_efficiency"
                  else "area_efficiency_ratio")
        ours_col.append(float(hit[metric].iloc[0]) if len(hit) else np.nan)
        ours_wl.append(str(hit["workload"].iloc[0]) if len(hit) else "")
    claims_out["source"] = [
        f"{src}; ours: ratios.csv ({metric} of {wl}, derived)" if wl else src
        for src, wl, metric in zip(claims_out["source"], ours_wl, claims_out["metric"],
                                   strict=True)]
    claims_out = claims_out.rename(columns={"ratio": "claimed_ratio"})
    claims_out.insert(claims_out.columns.get_loc("claimed_ratio") + 1, "ours", ours_col)
    claims_out.insert(claims_out.columns.get_loc("ours") + 1, "our_workload", ours_wl)
    bl = pd.DataFrame([{
        "key": b.key, "name": b.name, "power_w": b.power_w, "die_area_mm2": b.die_area_mm2,
        "process": b.process, "peak_fp32_flops": b.peak_fp32_flops,
        "peak_fp16_flops": b.peak_fp16_flops,
        "achievable_flops": gpu.utilisation * b.peak_flops(gpu.precision),
        "origin": "cited", "source": f"{b.source}; {b.flops_source}; achievable = "
                                     f"{gpu.utilisation:g} x peak {gpu.precision} (assumed)"}
        for b in baselines])
    return ReportTables(energy_table=table.frame(), energy=pd.concat(energy_rows,
                        ignore_index=True), area_table=area_tab.frame(),
                        area=pd.concat(area_rows, ignore_index=True), baselines=bl,
                        efficiency=pd.DataFrame(eff_rows), ratios=ratios, claims=claims_out)


# --------------------------------------------------------------------------- figures

_COLORS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac", "#86bcb6", "#d37295", "#a0cbe8", "#8cd17d")


def _stacked(df: pd.DataFrame, part: str, value: str, *, xlabel: str, title: str) -> Figure:
    piv = df.pivot_table(index="workload", columns=part, values=value, aggfunc="sum",
                         sort=False).fillna(0.0)
    piv = piv.loc[:, (piv > 0).any(axis=0)]
    piv = piv[piv.sum(axis=0).sort_values(ascending=False).index]
    n = len(piv.index)
    fig = Figure(figsize=(7.0, 1.2 + 0.55 * n + 0.15 * len(piv.columns)), layout="constrained")
    ax = fig.subplots()
    left = np.zeros(n)
    y = np.arange(n)
    for i, col in enumerate(piv.columns):
        vals = piv[col].to_numpy()
        ax.barh(y, vals, left=left, color=_COLORS[i % len(_COLORS)], label=col, height=0.6)
        left += vals
    for yi, tot in zip(y, left, strict=True):
        ax.text(tot, yi, f"  {_eng(tot)}", va="center", fontsize=8)
    ax.set_yticks(y, [_wrap(s) for s in piv.index], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_xlim(0, left.max() * 1.25 if left.max() > 0 else 1)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.25 - 0.05 * (n > 2)),
              ncol=4, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def _efficiency_figure(eff: pd.DataFrame, ratios: pd.DataFrame) -> Figure:
    workloads = list(dict.fromkeys(eff["workload"]))
    systems = list(dict.fromkeys(eff["key"]))
    labels = {k: s for k, s in zip(eff["key"], eff["system"], strict=True)}
    fig = Figure(figsize=(9.0, 5.0), layout="constrained")
    axes = fig.subplots(1, 2)
    width = 0.8 / max(len(workloads), 1)
    for ax, metric, rcol, title in (
            (axes[0], "fps_per_w", "energy_efficiency_ratio", "energy efficiency (inferences/J)"),
            (axes[1], "fps_per_mm2", "area_efficiency_ratio", "area efficiency (fps/mm$^2$)")):
        x = np.arange(len(systems))
        for j, wl in enumerate(workloads):
            sub = eff[eff["workload"] == wl].set_index("key").reindex(systems)
            vals = sub[metric].to_numpy(dtype=float)
            xs = x - 0.4 + width * (j + 0.5)
            ax.bar(xs, vals, width=width * 0.95, color=_COLORS[j % len(_COLORS)],
                   label=_wrap(wl, 40))
            rs = ratios[ratios["workload"] == wl].set_index("baseline")[rcol]
            for xi, key, v in zip(xs, systems, vals, strict=True):
                if key in rs.index and np.isfinite(v):
                    ax.text(xi, v, f"{rs[key]:.3g}x", ha="center", va="bottom", fontsize=6,
                            rotation=90)
        ax.set_yscale("log")
        ax.set_xticks(x, [_wrap(labels[k].replace("NVIDIA ", ""), 16) for k in systems],
                      fontsize=7, rotation=30, ha="right", rotation_mode="anchor")
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(True, axis="y", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=7, loc="outside lower center",
               ncol=min(len(workloads), 3), frameon=False)
    fig.suptitle("ours vs GPU baselines (labels: ours / baseline)", fontsize=9)
    return fig


def _wrap(s: str, width: int = 28) -> str:
    words, lines, cur = str(s).split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    lines.append(cur)
    return "\n".join(lines)


def _eng(x: float, unit: str = "") -> str:
    if not np.isfinite(x) or x == 0:
        return f"{x:g}{unit}"
    exp = int(math.floor(math.log10(abs(x)) / 3) * 3)
    exp = max(min(exp, 12), -18)
    prefix = {-18: "a", -15: "f", -12: "p", -9: "n", -6: "u", -3: "m", 0: "", 3: "k",
              6: "M", 9: "G", 12: "T"}[exp]
    return f"{x / 10**exp:.3g} {prefix}{unit}".strip()


def write_figures(t: ReportTables, out_dir: Path) -> dict[str, list[Path]]:
    """Energy breakdown, area breakdown and efficiency figures (PNG + SVG)."""
    figs = {
        "energy_breakdown": _stacked(t.energy, "component", "energy_per_inference_j",
                                     xlabel="energy per inference (J)",
                                     title="energy per inference by component"),
        "area_breakdown": _stacked(t.area, "block", "area_mm2", xlabel="area (mm$^2$)",
                                   title="area by block"),
        "efficiency": _efficiency_figure(t.efficiency, t.ratios),
    }
    return {name: save_figure(fig, out_dir / name) for name, fig in figs.items()}


# --------------------------------------------------------------------------- html

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


# --------------------------------------------------------------------------- entry


def build_report(inputs: list[Path], out_dir: Path, options: ReportOptions = ReportOptions()
                 ) -> dict[str, Any]:
    """Write the report of ``inputs`` (run folders or configs) into ``out_dir``.

    Returns:
        The manifest (also written as ``manifest.json``).

    Raises:
        ConfigError: no inputs, an input that cannot be read, an unknown baseline,
            a bad override file.
    """
    if not inputs:
        raise ConfigError("give at least one run folder or config to report on")
    get_baselines(list(options.baselines))  # refuse unknown names before any work
    workloads = [load_workload(Path(p)) for p in inputs]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    table, timing = energy_table(options, out_dir / "sim" if options.simulate else None)
    retime_notes = []
    if timing is not None and timing.source:
        from cosim.accounting.circuit_energy import retimed

        before = [w.timing.amplifier_active_s for w in workloads]
        workloads = [retimed(w, timing) for w in workloads]
        retime_notes = [f"{timing.source}; it replaces each workload's assumed amplifier time "
                        "per conversion (" + ", ".join(
                            f"{w.name}: {b * 1e9:.4g} -> {w.timing.amplifier_active_s * 1e9:.4g} ns"
                            for w, b in zip(workloads, before, strict=True)) + ")"]
    tables = build_tables(workloads, table, options)
    files = []
    for name, df in tables.named().items():
        df.to_csv(out_dir / f"{name}.csv", index=False, float_format="%.10g")
        files.append(f"{name}.csv")
    figures = write_figures(tables, out_dir)
    notes = list(table.notes) + retime_notes + [
        f"GPU throughput: {options.gpu.utilisation:g} x datasheet peak "
        f"{options.gpu.precision.upper()} (utilisation assumed); GPU energy per inference = "
        "rated board power / fps.",
        "Our fps: inferences / latency, latency = read steps x step time + ADC conversions / "
        "(ADCs x ADC rate); no pipelining across inferences assumed.",
        "Programming energy (cell writes) is not part of inference energy.",
    ]
    notes += [f"{w.name}: programming events {w.programming_events.as_dict()}"
              for w in workloads if any(w.programming_events.as_dict().values())]
    (out_dir / "report.html").write_text(
        render_html(tables, figures, notes, options, [str(p) for p in inputs]))
    options_json = {"baselines": list(options.baselines), "gpu": asdict(options.gpu),
                    "simulate": options.simulate,
                    "transistor_amplifiers": options.transistor_amplifiers,
                    "energy_override": str(options.energy_override or ""),
                    "layout": asdict(options.layout)}
    manifest = new_manifest(
        "report", config={"inputs": [str(p) for p in inputs], "options": options_json},
        simulator=options.simulate, inputs=[str(p) for p in inputs],
        workloads=[w.name for w in workloads], options=options_json, notes=notes,
        tables=files, figures=sorted(p.name for ps in figures.values() for p in ps),
        report="report.html", elapsed_s=time.perf_counter() - t0,
        summary=tables.ratios[["workload", "baseline", "energy_efficiency_ratio",
                               "area_efficiency_ratio"]].to_dict(orient="records"))
    write_manifest(out_dir, manifest)
    return manifest
