"""The report in a real browser: headless Chromium (Debian package ``chromium``, installed by
``bash tools/setup.sh --tests``) renders ``report.html`` and a probe reads the layout.

The probe is a script added to a copy of the page (the report itself has none and
must read without one): after the page has loaded it records the viewport width,
every element whose right edge passes it, every image that did not decode, and the
cards, into the DOM that ``chromium --dump-dom`` prints.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from cosim.accounting.workload import make_workload, write_workload_json
from cosim.outputs.manifest import write_manifest
from cosim.outputs.plots import save_figure
from cosim.outputs.report import ReportOptions, build_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (bash tools/setup.sh --tests installs "
                             "the Debian package chromium; it could not be installed here)")]

PROBE = """<script>
window.addEventListener('load', () => {
  const de = document.documentElement, w = de.clientWidth;
  const over = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > w + 0.5)
    .map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 40));
  const imgs = [...document.images];
  const probe = {width: w, scroll_width: de.scrollWidth, images: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
    overflow: over.slice(0, 10), cards: [...document.querySelectorAll('article.card h3')]
      .map(h => h.textContent), sections: [...document.querySelectorAll('section[id^=wl-]')]
      .map(s => s.id)};
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(probe);
  document.body.appendChild(pre);
});
</script>"""


def _chromium(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def _run_folder(folder: Path, command: str, summary: dict, workload: dict) -> Path:
    """A run folder as a workload's writer leaves it: workload.json, a figure, manifest."""
    folder.mkdir(parents=True)
    write_workload_json(folder, make_workload(workload))
    fig = Figure(figsize=(6.0, 2.0 if command == "field run" else 3.0))
    ax = fig.subplots()
    ax.plot(np.arange(10), np.arange(10) ** 2)
    paths = save_figure(fig, folder / "curve")
    write_manifest(folder, {"command": command, **summary,
                            "figures": sorted(p.name for p in paths)})
    return folder


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    haq = _run_folder(root / "haq", "haq", {
        "rmse_ptq": 0.91, "rmse_haq": 0.068, "hardware_text": "realistic: 1T1R cells, a very "
        "long hardware description " * 4, "paper": {"rmse_ptq": 0.789, "rmse_haq": 0.049}},
        {"kind": "mvm", "name": "HAQ MVM 100x100", "rows": 100, "cols": 100, "bits": 12,
         "inferences": 100})
    field = _run_folder(root / "field", "field run", {
        "psnr_software": 39.3, "psnr_haq": 38.5, "psnr_ptq": 13.8, "ssim_haq": 0.92,
        "paper": {"psnr_haq": 32.07}, "note": "x" * 300},
        {"kind": "mlp", "name": "neural field CT, 18432 voxels per frame",
         "layers": [131, 100, 10, 100, 1], "bits": 14, "inferences": 18432,
         "claim": "neural field CT"})
    snn = _run_folder(root / "snn", "snn run", {
        "accuracy": 0.92, "software_accuracy": 0.925,
        "points": [{"threshold": 0.3, "accuracy": 0.918, "avg_timesteps": 4.4,
                    "timesteps_saved": 0.56}]},
        {"kind": "mlp", "name": "SNN mlp 2312-250-250-10", "layers": [2312, 250, 250, 10],
         "bits": 2, "claim": "SNN N-MNIST"})
    base = root / "baseline"
    base.mkdir()
    (base / "measured_baselines.csv").write_text(
        "workload,device,system,batch,inferences_per_s,power_w,energy_per_inference_j,"
        "utilisation,source\nsnn,cpu,A CPU with a name long enough to wrap somewhere,64,"
        "3200,20,0.00625,0.75,test\n")
    out = root / "report"
    build_report([haq, field, snn, base], out, ReportOptions(simulate=False))
    return out / "report.html"


def _probe(page: Path, width: int, tmp_path: Path) -> dict:
    probed = tmp_path / f"probe-{width}.html"
    text = page.read_text()
    probed.write_text(text.replace("</body>", PROBE + "</body>"))
    out = _chromium(f"--window-size={width},900", "--virtual-time-budget=10000", "--dump-dom",
                    probed.as_uri())
    hit = re.search(r'<pre id="probe">(.*?)</pre>', out.stdout, re.S)
    assert hit, f"no probe in Chromium's DOM (exit {out.returncode}): {out.stderr[-500:]}"
    return json.loads(html.unescape(hit.group(1)))


def test_report_has_no_script_and_loads_nothing_from_outside(report):
    """Without a script the page is what JavaScript-off readers see; nothing loads from
    outside it."""
    page = report.read_text()
    for remote in ("<script", 'src="http', 'href="http', "url(http", "@import", "<link"):
        assert remote not in page, remote


@pytest.mark.parametrize("width", [1280, 800])
def test_no_horizontal_overflow_every_figure_loads_and_the_cards_are_there(report, tmp_path,
                                                                           width):
    p = _probe(report, width, tmp_path)
    assert p["width"] == width
    assert p["scroll_width"] <= width and p["overflow"] == [], p["overflow"]
    assert p["broken"] == []
    # three run-folder figures and the report's three charts
    assert p["images"] >= 6
    assert len(p["cards"]) == 3 and p["cards"][0].startswith("HAQ matrix-vector test")
    assert p["sections"] == ["wl-haq", "wl-field", "wl-snn"]


def test_print_to_pdf(report, tmp_path):
    """Print media (the page's @media print rules) gives a PDF of several A4 pages."""
    pdf = tmp_path / "report.pdf"
    out = _chromium(f"--print-to-pdf={pdf}", "--no-pdf-header-footer", report.as_uri())
    assert pdf.exists() and pdf.stat().st_size > 10_000, out.stderr[-500:]
    assert pdf.read_bytes().count(b"/Type /Page") >= 2
