"""Encodings compared (Fig. 4b): same network and budget, each encoding at its own scale."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from circuits.errors import ConfigError
from cosim.cli import main
from cosim.hardware.presets import preset
from cosim.workloads.field.encoder import DEFAULT_SCALES, EncoderConfig
from cosim.workloads.field.encodings import compare_encodings
from cosim.workloads.field.field import FieldConfig
from cosim.workloads.field.mlp import MLPConfig, TrainConfig
from tests.hardware_helpers import sim

PAPER = (preset("paper"), sim(backend="ideal"))
"""The field's default hardware, read by the ideal backend (the old default)."""


@pytest.mark.slow
def test_encodings_share_network_and_budget_each_at_its_own_scale():
    cfg = FieldConfig(phantom_shape=(4, 16, 16),
                            encoder=EncoderConfig(n_frequencies=16),
                            mlp=MLPConfig(width=32, rank=8),
                            training=TrainConfig(steps=80, batch=0, learning_rate=3e-3))
    res = compare_encodings(cfg, *PAPER, kinds=("none", "positional", "gaussian"))
    rows = {r["encoding"]: r for r in res.rows}
    assert [r["features"] for r in res.rows] == [3, 35, 35]
    assert {r["steps"] for r in res.rows} == {80}  # one budget
    # same hidden network: the weights differ only by the input matrix
    assert rows["gaussian"]["weights"] - rows["none"]["weights"] == (35 - 3) * 32
    # each Fourier encoding at its own default scale, and the summary says so
    assert rows["gaussian"]["scale"] == DEFAULT_SCALES["gaussian"]
    assert rows["positional"]["scale"] == DEFAULT_SCALES["positional"]
    assert rows["none"]["scale"] is None
    assert res.summary()["scales"] == "each encoding's own default scale"
    # both Fourier encodings fit far better than the coordinates alone
    for kind in ("positional", "gaussian"):
        assert rows[kind]["psnr_software"] > rows["none"]["psnr_software"] + 3, kind
    assert res.summary()["best_encoding"] in ("positional", "gaussian")
    # one --sigma sets both scales
    one = compare_encodings(FieldConfig(
        phantom_shape=(4, 16, 16), encoder=EncoderConfig(n_frequencies=16, sigma=2.0),
        mlp=MLPConfig(width=32, rank=8), training=TrainConfig(steps=2, batch=0)), *PAPER,
        kinds=("positional", "gaussian"))
    assert [r["scale"] for r in one.rows] == [2.0, 2.0]
    assert one.summary()["scales"] == "one scale, sigma 2, for both"
    with pytest.raises(ConfigError, match="distinct"):
        compare_encodings(cfg, *PAPER, kinds=("none", "none"))


@pytest.mark.slow
def test_encodings_command(tmp_path):
    res = CliRunner().invoke(main, ["field", "encodings", "--phantom", "3x16x16", "--steps", "20",
                                    "--batch", "0", "--kinds", "none,basic", "--json", "-o",
                                    str(tmp_path / "e")])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert [r["encoding"] for r in out["encodings"]] == ["none", "basic"]
    for name in ("encodings.csv", "encodings.png", "encodings.svg", "manifest.json"):
        assert (tmp_path / "e" / name).is_file(), name
    for kinds, match in (("gauss", "unknown encoding 'gauss'"), ("none,none", "distinct")):
        res = CliRunner().invoke(main, ["field", "encodings", "--kinds", kinds, "-o",
                                        str(tmp_path / "r")])
        assert res.exit_code == 2, res.output
        lines = [line for line in res.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:") and match in lines[0]
    assert not (tmp_path / "r").exists()
    # text output names each Fourier encoding's scale and says they are its own defaults
    res = CliRunner().invoke(main, ["field", "encodings", "--phantom", "3x16x16", "--steps", "2",
                                    "--batch", "0", "--kinds", "positional,gaussian", "-o",
                                    str(tmp_path / "t")])
    assert res.exit_code == 0, res.output
    assert f"scale {DEFAULT_SCALES['positional']:g})" in res.output
    assert f"scale {DEFAULT_SCALES['gaussian']:g})" in res.output
    assert "each encoding's own default scale" in res.output
    assert (f"gaussian {DEFAULT_SCALES['gaussian']:g}, positional "
            f"{DEFAULT_SCALES['positional']:g}") in " ".join(
        CliRunner().invoke(main, ["field", "encodings", "--help"]).output.split())
