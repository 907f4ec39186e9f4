"""The report's numbers, cards, reconciled claims and the main job's summary table."""

from __future__ import annotations

import re

import pytest

from cosim.accounting.baselines import get_baselines
from cosim.outputs.jobsummary import summary_lines
from cosim.outputs.report.cards import early_stop_line, headline_metrics, metric_notes
from cosim.outputs.report.claims import energy_line
from cosim.outputs.report.fmt import column_scale, num, pct, si, times
from cosim.outputs.report.options import ReportOptions

PREFIX = {"a": 1e-18, "f": 1e-15, "p": 1e-12, "n": 1e-9, "µ": 1e-6, "m": 1e-3, "": 1.0,
          "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def _read_back(text: str, unit: str = "") -> float:
    """An independent parser of what :func:`si` writes."""
    hit = re.fullmatch(rf"(-?[\d,]+(?:\.\d+)?) ?([afpnµmkMGT]?){re.escape(unit)}", text)
    assert hit, text
    return float(hit.group(1).replace(",", "")) * PREFIX[hit.group(2)]


@pytest.mark.parametrize("exponent", range(-17, 14))
def test_si_has_three_significant_digits_and_no_exponent(exponent):
    for mantissa in (1.0, 2.345, 9.9951, 5.547):
        x = mantissa * 10.0**exponent
        text = si(x, "J")
        assert "e" not in text.replace("µ", "")
        assert _read_back(text, "J") == pytest.approx(x, rel=5e-3)


def test_numbers_as_printed():
    assert si(3.41e-15, "J") == "3.41 fJ"
    assert si(999.96e-12, "J") == "1 nJ"
    assert num(12_880_000) == "12.88 M" and num(18432) == "18,432"
    assert num(0.06774324) == "0.06774" and num(0.0001292) == "0.0001292"
    assert num(5.547e-08) == "55.47 n" and num(2e4) == "20,000"
    assert pct(0.9183) == "91.8 %" and times(351.2) == "351x" and times(1321.2) == "1,321x"
    factor, prefix = column_scale([3.4e-15, 2.27e-13, 2.58e-12])
    assert prefix == "f" and factor == pytest.approx(1e15)


FIELD = {"psnr_software": 39.25, "psnr_haq": 38.49, "psnr_ptq": 13.79, "ssim_haq": 0.92,
         "ssim_software_hw_features": 0.9, "weight_rmse_ptq": 0.18, "forward_path_haq": "x",
         "paper": {"psnr_haq": 32.07, "psnr_ptq": 13.94}}
SNN = {"accuracy": 0.922, "software_accuracy": 0.925, "random_untrained_accuracy": 0.08,
       "points": [{"threshold": 0.3, "accuracy": 0.918, "timesteps_saved": 0.56},
                  {"threshold": 0.5, "accuracy": 0.922, "timesteps_saved": 0.25}],
       "paper": {"threshold_0.3": {"accuracy": 0.949, "timesteps_saved": 0.77}}}


def test_headline_metrics_are_found_by_name_in_any_summary():
    psnr, ssim = headline_metrics(FIELD)
    assert (psnr.label, psnr.unit, psnr.better) == ("PSNR", "dB", "higher")
    assert psnr.values == {"software": 39.25, "HAQ": 38.49, "PTQ": 13.79}
    assert psnr.paper == {"HAQ": 32.07, "PTQ": 13.94}
    assert ssim.values == {"HAQ": 0.92}  # weight_rmse_ptq and *_hw_features are no metric
    (acc,) = headline_metrics(SNN)
    assert acc.values == {"software": 0.925, "on hardware": 0.922}
    assert acc.shown(acc.values["on hardware"]) == pytest.approx(92.2)
    (rmse,) = headline_metrics({"rmse_ptq": 0.91, "rmse_haq": 0.068})
    assert rmse.better == "lower"
    given = headline_metrics({**FIELD, "headline": {"metric": "masked MSE", "better": "lower",
                                                    "software": 0.01, "haq": 0.02}})
    assert [m.label for m in given] == ["masked MSE"]
    assert headline_metrics({"gain_ohm": 800.0}) == []


def test_notes_read_the_headline():
    notes = metric_notes(headline_metrics({"rmse_ptq": 0.91, "rmse_haq": 0.0677,
                                           "paper": {"rmse_ptq": 0.789, "rmse_haq": 0.049}}),
                         {})
    assert notes == ["HAQ 13.4x lower RMSE than PTQ (paper 16.1x)"]
    assert metric_notes(headline_metrics(FIELD), FIELD) == [
        "HAQ 0.76 dB below software, PTQ 25.46 dB below software"]
    assert early_stop_line(SNN) == ("early stop at 0.3: 91.8 % with 56 % fewer timesteps "
                                    "(paper 94.9 %, 77 % fewer)")
    assert early_stop_line({"points": "none"}) == ""


def test_reconciliation_numbers_of_the_snn_claim():
    (rtx,) = get_baselines(["rtx4090"])
    e_chip, ops, claimed = 400e-9, 12.88e6, 37.83
    e_gpu = 450.0 * ops / (0.5 * 82.6e12)          # 140.3 uJ at 0.5 x FP32 peak, 450 W
    line = energy_line(claimed, e_gpu / e_chip, e_chip=e_chip, ops=ops, baseline=rtx,
                       options=ReportOptions(simulate=False), top="tia 60 %", measured="")
    need = e_chip * claimed                          # 15.13 uJ asked of the GPU
    assert f"{si(e_gpu, 'J')} per inference" in line and si(need, "J") in line
    assert pct(450.0 * ops / (82.6e12 * need), 3) in line          # 464 % of FP32 peak
    assert pct(450.0 * ops / (165.2e12 * need), 3) in line         # 232 % of FP16 peak
    assert "the gap is not the GPU's utilisation" in line
    assert f"{times(e_gpu / claimed / e_chip)} ours" in line


def test_summary_table_of_a_run():
    stages = {
        "tia": {"status": "done", "elapsed_s": 2.4, "summary": {"gain_ohm": -799.0}},
        "haq": {"status": "done", "elapsed_s": 132.1,
                "summary": {"rmse_ptq": 0.9131, "rmse_haq": 0.06774,
                            "hardware_name": "realistic"}},
        "snn": {"status": "done", "elapsed_s": 61.0,
                "summary": {**SNN, "hardware_name": "prime"}},
    }
    lines = summary_lines(stages, {"tia": "gain -799 ohm", "haq": "", "snn": ""})
    text = "\n".join(lines)
    assert lines[0].split() == ["stage", "metric", "software", "HAQ", "/", "on", "hw", "PTQ",
                                "hardware", "time"]
    assert re.search(r"haq\s+RMSE\s+–\s+0\.06774\s+0\.9131\s+realistic\s+132\.1 s", text)
    assert re.search(r"snn\s+accuracy \(%\)\s+92\.5\s+92\.2\s+–\s+prime\s+61\.0 s", text)
    assert "gain -799 ohm  (2.4 s)" in text and "early stop at 0.3: 91.8 %" in text
    assert lines[-1].split() == ["total", "196", "s"]
    assert max(len(line) for line in lines if not line.startswith("tia")) <= 100
