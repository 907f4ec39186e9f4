"""The one description of the hardware: presets as files, overrides, tables, CLI options."""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import replace

import pytest
from click.testing import CliRunner

from circuits.cells import ONE_T_ONE_R, ZERO_T_ONE_R
from circuits.devices import SinhIV
from circuits.errors import ConfigError
from cosim.cli import main
from cosim.commands.options import HARDWARE_FIELDS
from cosim.hardware.presets import (
    PRESETS,
    hardware_from_mapping,
    hardware_toml,
    load_hardware,
    override,
    preset,
)
from cosim.hardware.spec import HardwareSpec
from cosim.outputs.layer_records import read_layer_records


def test_the_realistic_preset_file_is_the_spec_defaults():
    assert preset("realistic") == HardwareSpec()


def test_presets_differ_where_their_files_say():
    paper, real, prime = (preset(n) for n in ("paper", "realistic", "prime"))
    assert (paper.cell.kind, real.cell.kind, prime.cell.kind) == (ZERO_T_ONE_R, ONE_T_ONE_R,
                                                                  ZERO_T_ONE_R)
    assert (paper.array.r_wire_ohm, real.array.r_wire_ohm) == (0.0, 1.06)
    assert (paper.readout.kind, real.readout.kind) == ("virtual_ground", "tia")
    assert (paper.noise.write, real.noise.write, prime.noise.write) == (0.15, 0.187, 0.0)
    assert (paper.programming.haq_passes, real.programming.haq_passes) == (1, 16)


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_reads_back_from_its_table_and_its_toml(name):
    hw = preset(name)
    assert hardware_from_mapping(json.loads(json.dumps(hw.as_dict()))) == hw
    assert hardware_from_mapping(tomllib.loads(hardware_toml(hw))) == hw


def test_a_file_over_a_preset(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('preset = "paper"\n[array]\nr_wire_ohm = 2.5\n[cell.rram]\niv = "sinh"\n')
    hw = load_hardware(f)
    assert hw.name == "paper" and hw.array.r_wire_ohm == 2.5
    assert isinstance(hw.rram.iv, SinhIV) and hw.cell.kind is ZERO_T_ONE_R
    g = tmp_path / "bare.toml"
    g.write_text("[noise]\nread = 0.01\n")  # no preset: over the spec defaults
    bare = load_hardware(g)
    assert bare.name == "custom (bare.toml)"
    assert replace(bare, name="realistic") == HardwareSpec().with_parts(noise={"read": 0.01})


def test_overrides_rename_and_set_nested_objects():
    hw = override(preset("paper"), ["array.r_wire_ohm=2.5", "cell.kind=1T1R",
                                    "cell.rram.iv.law=sinh", "cell.rram.iv.v0_volt=0.3"])
    assert hw.name == "paper (modified)" and hw.cell.kind is ONE_T_ONE_R
    assert hw.rram.iv == SinhIV(v0_volt=0.3)
    assert override(hw, []) is hw


@pytest.mark.parametrize("settings, match", [
    (["array.r_wire=1"], "did you mean 'r_wire_ohm'"),
    (["cell.kind=2T2R"], "unknown cell '2T2R'"),
    (["noise.read=2"], "hardware.noise.read must be in [0, 1], got 2.0"),
    (["array.r_wire_ohm=abc"], "hardware.array.r_wire_ohm takes a float"),
    (["cell.rram.iv=cubic"], "unknown RRAM I-V law 'cubic'"),
    (["readout.adc_bits=1"], "adc_bits must be"),
    (["wires.r=1"], "unknown HardwareSpec parameter 'hardware.wires'"),
    (["array.r_wire_ohm"], "NAME=VALUE"),
])
def test_bad_overrides_are_one_line_errors(settings, match):
    with pytest.raises(ConfigError, match=match.replace("[", r"\[").replace("]", r"\]")
                       .replace("(", r"\(").replace(")", r"\)")):
        override(preset("realistic"), settings)


def test_bad_hardware_files(tmp_path):
    (tmp_path / "bad.toml").write_text("[array\n")
    (tmp_path / "key.toml").write_text("[array]\nwire = 1\n")
    (tmp_path / "part.toml").write_text("[wiring]\nr = 1\n")
    (tmp_path / "type.toml").write_text('[array]\nr_wire_ohm = "one"\n')
    os.mkfifo(tmp_path / "fifo.toml")
    for name, match in (("bad.toml", "not valid TOML"), ("key.toml", "unknown ArraySpec"),
                        ("part.toml", "unknown HardwareSpec parameter 'wiring'"),
                        ("type.toml", "array.r_wire_ohm takes a number"),
                        ("fifo.toml", "not a regular file"), ("none.toml", "no such file")):
        with pytest.raises(ConfigError, match=match):
            load_hardware(tmp_path / name)
    with pytest.raises(ConfigError, match="did you mean 'paper'"):
        load_hardware("papr")


def test_every_generated_option_sets_its_field():
    hw = preset("realistic")
    values = {"cell.kind": "0T1R", "cell.rram.iv": "sinh", "array.placement": "full",
              "readout.kind": "virtual_ground", "readout.v_read_volt": "0.2",
              "noise.read": "0.5", "noise.write": "0.5", "noise.write_hrs": "0.5",
              "programming.verify_read": "exact", "aggregation.kind": "analog"}
    for f in HARDWARE_FIELDS:
        text = values.get(f.path, "5")
        new = override(hw, [f"{f.path}={text}"])
        assert new != hw, f.flag


def test_cli_show_list_and_refusals(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["hardware", "list", "--json"])
    assert res.exit_code == 0 and set(json.loads(res.stdout)) == set(PRESETS)
    out = tmp_path / "mine.toml"
    res = runner.invoke(main, ["hardware", "show", "paper", "--hw", "array.r_wire_ohm=2",
                               "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert load_hardware(out).array.r_wire_ohm == 2.0
    res = runner.invoke(main, ["hardware", "show", "paper", "-o", str(out)])
    assert res.exit_code == 2 and "exists" in res.output
    res = runner.invoke(main, ["haq", "--help"])
    assert "--r-wire" in res.output and "realistic: 1.06" in res.output


@pytest.mark.slow
def test_one_hardware_file_gives_one_hardware_block_in_every_workload(tmp_path):
    """The same --hardware FILE in haq, field run and snn run: identical resolved specs."""
    hw_file = tmp_path / "hw.toml"
    hw_file.write_text('preset = "paper"\nname = "mine"\n[array]\nr_wire_ohm = 2.0\n'
                       '[readout]\nkind = "tia"\n')
    runner = CliRunner()
    blocks = {}
    for name, args in (
            ("haq", ["haq", "--vector-length", "8", "--outputs", "2", "--bits", "4",
                     "--read-cycles", "0"]),
            ("field", ["field", "run", "--phantom", "4x16x16", "--steps", "2", "--batch", "0"]),
            ("snn", ["snn", "run", "--train", "20", "--test", "10", "--epochs", "1",
                     "--frames", "2"])):
        res = runner.invoke(main, [*args, "--hardware", str(hw_file), "--json",
                                   "-o", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
        blocks[name] = json.loads((tmp_path / name / "manifest.json").read_text())["hardware"]
    assert blocks["haq"] == blocks["field"] == blocks["snn"]
    assert blocks["snn"]["name"] == "mine" and blocks["snn"]["array"]["r_wire_ohm"] == 2.0
    assert blocks["snn"]["cell"]["kind"] == "0T1R" and blocks["snn"]["readout"]["kind"] == "tia"
    assert load_hardware(str(tmp_path / "snn")).as_dict() == blocks["snn"]
    # each run recorded its analog layers on that hardware (cosim verify's input)
    for name in blocks:
        records = read_layer_records(tmp_path / name)
        assert records and all(r.hardware.array.r_wire_ohm == 2.0 for r in records)
    names = [r.name for r in read_layer_records(tmp_path / "field")]
    assert names[0] == "encoder" and any(n.startswith("haq/") for n in names) \
        and any(n.startswith("ptq/") for n in names)


def test_a_run_folder_gives_back_the_hardware_it_recorded(tmp_path):
    """A manifest's hardware block (as a run writes it) reads back into the same spec,
    from the run folder or its manifest.json; a manifest without one is refused."""
    spec = override(preset("paper"), ["array.r_wire_ohm=2.5", "readout.kind=tia"])
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"command": "x", "hardware": spec.as_dict()}))
    assert load_hardware(str(run)) == spec
    assert load_hardware(str(run / "manifest.json")) == spec
    (run / "manifest.json").write_text(json.dumps({"command": "x"}))
    with pytest.raises(ConfigError, match="no hardware block"):
        load_hardware(str(run))
    (run / "manifest.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_hardware(str(run / "manifest.json"))
