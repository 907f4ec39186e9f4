"""Every user mistake is one line ``error: ...`` on stderr and exit code 2, before any long work.

At least eight bad inputs per command, run in process through click's
``CliRunner`` (fast), and a sample through the installed ``cosim`` script in a
real process. None of them may start a simulation: each is refused while the
command checks its options, config, inputs and output path, and none leaves a
file or folder behind (in the working folder or beside its inputs). Named
pipes stand in for every input path (a reader would wait on one for ever); a
test that hangs fails on its timeout. Physical memory is pinned at 24 GiB in
process, so the size refusals do not depend on the machine.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cosim.cli import main
from cosim.outputs.jsonout import json_text
from tests import PROJECT_ROOT

MEMORY_BYTES = 24 * 2**30
"""Physical memory the in-process tests pretend to have."""

WORKLOAD = {
    "schema": "rram-cosim.workload/1", "kind": "events", "name": "bad-input test workload",
    "events": {"cell_reads": 12000000, "dac_conversions": 30000, "adc_conversions": 120000,
               "tia_active_s": 0.012, "vcmac_active_s": 0.0, "cell_writes": 0,
               "digital_adds": 110000, "digital_mults": 120000},
    "ops_per_inference": 20000.0, "inferences": 100.0, "read_steps": 100.0,
    "hardware": {"arrays": 3, "rows_per_array": 512, "cols_per_array": 512, "cell": "1T1R",
                 "dacs": 1536, "tias": 1512, "vcmac_columns": 0, "adcs": 189, "adders": 189,
                 "multipliers": 3, "sram_kib": 0.5859375},
    "timing": {"read_pulse_s": 1e-08, "amplifier_active_s": 1e-07, "adc_rate_hz": 1.2e9},
    "claim": "", "source": "test",
}


def _workload(**changes: object) -> str:
    data = json.loads(json.dumps(WORKLOAD))
    for dotted, value in changes.items():
        section, _, key = dotted.partition("__")
        if key:
            data[section][key] = value
        else:
            data[section] = value
    return json.dumps(data)  # inf and NaN as the JSON extensions Python reads back


MEASURED_HEADER = ("workload,workload_name,unit,device,system,batch,batch_note,seconds_per_batch,"
                   "repeats,inferences_per_s,ops_per_inference,flops_per_s,matmul_flops_per_s,"
                   "utilisation,power_w,power_origin,energy_per_inference_j,origin,source\n")
MEASURED_ROW = ("snn,SNN,sample,cpu,CPU,64,b,0.02,10,3200,1.288e7,4.1e10,5.5e10,0.75,20,assumed,"
                "0.006,measured,test\n")

FILES = {
    "file": "a regular file\n",
    "rc.cir": "* rc divider\nV1 in 0 1\nR1 in out 1k\nR2 out 0 1k\n.end\n",
    "title.cir": "* title only\n",
    "empty.cir": "",
    "good.csv": "time [s],v(out) [V]\n0,1\n1e-9,2\n2e-9,3\n",
    "onecol.csv": "x\n1\n2\n3\n",
    "nonnum.csv": "x,y\na,b\nc,d\n",
    "header.csv": "x,y\n",
    "blank.csv": "",
    "list.json": "[1, 2]\n",
    "string.json": "\"haq\"\n",
    "number.json": "{\"config\": 3}\n",
    "bad.toml": "x = [\n",
    "override.csv": "a,b\n1,2\n",
    "workload.json": _workload(),
    "w_ops_text.json": _workload(ops_per_inference="abc"),
    "w_ops_inf.json": _workload(ops_per_inference=math.inf),
    "w_events_inf.json": _workload(events__cell_reads=math.inf),
    "w_steps_nan.json": _workload(read_steps=math.nan),
    "w_null.json": _workload(ops_per_inference=None),
    "w_timing_text.json": _workload(timing__adc_rate_hz="fast"),
    "empty_object.json": "{}\n",
    "empty_manifest.json": '{"command": "run", "config": {}}\n',
    "stages_string.toml": "[run]\nstages = 'tia'\n",
    "layout/device_models": "R9 a 0 1\n",
    "bl_cols/measured_baselines.csv": "workload,device\nsnn,cpu\n",
    "bl_neg/measured_baselines.csv": MEASURED_HEADER + MEASURED_ROW.replace(",20,", ",-20,"),
    "bl_ok/measured_baselines.csv": MEASURED_HEADER + MEASURED_ROW,
}
FIFOS = ("fifo", "fifo.npy", "fifo.nii.gz", "fifo.csv", "fifomodel/checkpoint.npz",
         "fifodata/images.npy", "fifodata/labels.npy", "fifosweep/points.jsonl",
         "fifodeck/sub.lib", "fifoscene/transforms_train.json")
"""Named pipes: a reader that opens one without checking blocks until someone writes."""
PROJECT_MODEL = PROJECT_ROOT / "device_models" / "opamp.lib"
HUGE = (4096, 4096, 4096)
"""The shape a 1 KB file's header announces (256 GiB of float32)."""

# Each case: (command line with {d} for the data folder, fragments the message must hold).
BAD: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "run": [
        ("run {d}/list.json", ("table of config sections", "a list")),
        ("run {d}/string.json", ("a string",)),
        ("run {d}/number.json", ("a number",)),
        ("run {d}/bad.toml", ("not valid TOML",)),
        ("run {d}/missing.toml", ("cannot read config",)),
        ("run --set tia.tolerance=nan", ("tia.tolerance", "nan")),
        ("run --set tia.tolerance=-1", ("tia.tolerance",)),
        ("run --stages ''", ("run.stages is empty",)),
        ("run --stages tia,bogus", ("unknown stage 'bogus'",)),
        ("run --set sim.backend=foo", ("sim.backend", "'foo'")),
        ("run --set haq.n_vectors=1000000 --set haq.vector_length=4096",
         ("GiB", "this machine has 24 GiB")),
        ("run --workers 0", ("run.workers",)),
        ("run --seed -1", ("run.seed",)),
        ("run --set haq.n_bit=8", ("haq.n_bit", "did you mean")),
        ("run --set haq", ("section.key=value",)),
        ("run --set report.baselines=a101", ("a101",)),
        ("run -o {d}/file/run", ("which is a file",)),
        ("run --bogus", ("no such option",)),
        ("run {d}/fifo", ("not a regular file",)),
        ("run {d}/empty_object.json", ("empty JSON object",)),
        ("run {d}/empty_manifest.json", ("\"config\"", "an empty one")),
        ("run {d}/stages_string.toml", ("run.stages must be a list", "'tia'")),
        ("run --stages tia,,vcmac", ("empty item", "tia,,vcmac")),
        ("run --stages tia,", ("empty item",)),
        ("run --threads -1", ("--threads",)),
    ],
    "netlist": [
        ("netlist crossbar --seed -1 -o {d}/x.cir", ("seed", "-1")),
        ("netlist crossbar -o /proc/x/y.cir", ("netlist file",)),
        ("netlist crossbar -o {d}/file/x.cir", ("which is a file",)),
        ("netlist crossbar -o ''", ("empty path",)),
        ("netlist crossbar --rows 4096 --cols 4096 -o {d}/big.cir", ("GiB", "4096 x 4096")),
        ("netlist crossbar --set rram.g_lrs_siemens=0.5u -o {d}/x.cir",
         ("g_lrs_siemens", ">= g_hrs_siemens")),
        ("netlist crossbar --rows 0 -o {d}/x.cir", ("rows", "got 0")),
        ("netlist crossbar --set cell=2T2R -o {d}/x.cir", ("2T2R",)),
        ("netlist crossbar --set nosuch=1 -o {d}/x.cir", ("nosuch",)),
        ("netlist crossbar --v-in abc -o {d}/x.cir", ("abc",)),
        ("netlist tia --set r_f_ohm=-1 -o {d}/t.cir", ("r_f_ohm",)),
        ("netlist tia -o /proc/x/t.cir", ("netlist file",)),
        ("netlist vcmac --set code=16 -o {d}/v.cir", ("switch code 16",)),
        ("netlist vcmac -o {d}/file/v.cir", ("which is a file",)),
        ("netlist golden --check --dir {d}/MISSING", ("does not exist",)),
        ("netlist golden --dir {d}/file", ("is a file",)),
        ("netlist nosuchkind", ("no such command",)),
    ],
    "simulate": [
        ("simulate {d}/rc.cir --op --timeout inf", ("--timeout", "inf")),
        ("simulate {d}/rc.cir --op --timeout 0", ("--timeout",)),
        ("simulate {d}/rc.cir --tran 1e-15 1", ("--tran", "1e+15 points")),
        ("simulate {d}/rc.cir --tran 1 1n", ("step < stop",)),
        ("simulate {d}/rc.cir --dc V1 0 1 1e-9", ("--dc", "points")),
        ("simulate {d}/rc.cir --dc V1 0 1 0", ("never ends",)),
        ("simulate {d}/rc.cir --dc Vx 0 1 0.1", ("'Vx'",)),
        ("simulate {d}/rc.cir --op --tran 1n 1u", ("exactly one analysis",)),
        ("simulate {d}/rc.cir", ("exactly one analysis",)),
        ("simulate {d}/missing.cir --op", ("missing.cir",)),
        ("simulate {d}/title.cir --op", ("title.cir",)),
        ("simulate {d}/empty.cir --op", ("empty.cir",)),
        ("simulate {d}/rc.cir --op -o /proc/x", ("/proc/x",)),
        ("simulate {d}/rc.cir --op -o {d}/file/run", ("which is a file",)),
        ("simulate {d}/rc.cir --op -o ''", ("empty path",)),
        ("simulate", ("missing argument 'FILE'",)),
        ("simulate {d}/fifo --op", ("not a regular file",)),
        ("simulate {d}/fifodeck/deck.cir --op", ("sub.lib", "not a regular file")),
        ("simulate {d}/layout/deck.cir --op", ("deck layout conflict", "device_models")),
        ("simulate {d}/layout/data.cir --op", ("data file 'device_models' refused",)),
    ],
    "waves": [
        ("waves {d}/onecol.csv -s x -o {d}/p.png", ("1 column",)),
        ("waves {d}/nonnum.csv -s y -o {d}/p.png", ("not numbers", "'a'")),
        ("waves {d}/good.csv -s v(out) -o /proc/x/p.png", ("plot file",)),
        ("waves {d}/good.csv -s v(out) -o {d}/file/p.png", ("which is a file",)),
        ("waves {d}/good.csv -s v(out) -o {d}/p.pdf", (".png or .svg",)),
        ("waves {d}/good.csv -s v(in) -o {d}/p.png", ("unknown signal",)),
        ("waves {d}/nothing -s v -o {d}/p.png", ("no results table",)),
        ("waves {d}/blank.csv -s v -o {d}/p.png", ("not a results table",)),
        ("waves {d}/header.csv -s y -o {d}/p.png", ("0 point",)),
        ("waves {d}/good.csv -s v(out) -o ''", ("empty path",)),
        ("waves {d}/good.csv -o {d}/p.png", ("--signal",)),
        ("waves {d}/fifo.csv -s v -o {d}/p.png", ("not a regular file",)),
    ],
    "vcmac-characterise": [
        ("vcmac-characterise -o /proc/x", ("/proc/x",)),
        ("vcmac-characterise -o {d}/file/x", ("which is a file",)),
        ("vcmac-characterise -o ''", ("empty path",)),
        ("vcmac-characterise --points 1", ("--points",)),
        ("vcmac-characterise --points 10000000", ("--points",)),
        ("vcmac-characterise --workers 0", ("--workers",)),
        ("vcmac-characterise --a-vt nan", ("--a-vt", "nan")),
        ("vcmac-characterise --a-vt -1", ("--a-vt",)),
        ("vcmac-characterise --mismatch-seed -1", ("--mismatch-seed",)),
        ("vcmac-characterise --points x", ("'x' is not a valid integer",)),
    ],
    "characterise": [
        ("characterise", ("missing argument", "amp, tia, vcmac")),
        ("characterise opamp", ("'opamp' is not one of 'amp', 'tia', 'vcmac'",)),
        ("characterise amp -o /proc/x", ("/proc/x",)),
        ("characterise tia -o {d}/file/x", ("which is a file",)),
        ("characterise vcmac -o ''", ("empty path",)),
        ("characterise vcmac --mismatch-seeds -1", ("--mismatch-seeds",)),
        ("characterise tia --mismatch-seeds 100000", ("--mismatch-seeds",)),
        ("characterise vcmac --mismatch-seeds x", ("'x' is not a valid integer",)),
        ("characterise tia --a-vt 0", ("--a-vt",)),
        ("characterise vcmac --a-vt nan", ("--a-vt", "nan")),
        ("characterise amp --workers 0", ("--workers",)),
        ("characterise vcmac --points 1", ("--points",)),
        ("characterise amp --amplifier macro", ("--amplifier macro applies to tia and vcmac",)),
        ("characterise tia --amplifier macro --mismatch-seeds 5",
         ("--mismatch-seeds needs --amplifier transistor",)),
        ("characterise vcmac --amplifier mosfet", ("'mosfet' is not one of",)),
    ],
    "mvm": [
        ("mvm --rows 65536 --cols 65536", ("GiB", "this machine has 24 GiB")),
        ("mvm --rows 4096 --cols 4096 --batch 10000000", ("TiB",)),
        ("mvm --rows 0", ("--rows",)),
        ("mvm --batch 100000000", ("--batch",)),
        ("mvm --seed -1", ("--seed",)),
        ("mvm --backend spcie", ("did you mean 'spice'",)),
        ("mvm --cell 2T2R", ("2T2R",)),
        ("mvm --reference foo", ("--reference",)),
        ("mvm --r-wire nan", ("r_wire_ohm", "nan")),
        ("mvm --repeats 0", ("--repeats",)),
        ("mvm --rows x", ("'x' is not a valid integer",)),
        ("mvm --backend spice --rows 5000 --cols 5000", ("ngspice", "hours")),
        ("mvm --backend spice --rows 512 --cols 512", ("ngspice", "hours")),
        ("mvm --threads 2000", ("--threads", "2000")),
    ],
    "haq": [
        ("haq -o /proc/x", ("/proc/x",)),
        ("haq -o {d}/file/x", ("which is a file",)),
        ("haq -o ''", ("empty path",)),
        ("haq --seed -1", ("seed",)),
        ("haq --bits 0", ("bits",)),
        ("haq --write-noise nan", ("nan",)),
        ("haq --amp-ratio inf", ("inf",)),
        ("haq --read-cycles -1", ("read_cycles",)),
        ("haq --backend spcie", ("did you mean 'spice'",)),
        ("haq --r-wire -1", ("r_wire_ohm",)),
        ("haq --aggregation foo", ("'foo'",)),
        ("haq --threads -1", ("--threads",)),
    ],
    "sweep haq": [
        ("sweep haq --scheduler garbage -o {d}/s", ("--scheduler", "tcp://")),
        ("sweep haq --workers 0 -o {d}/s", ("--workers",)),
        ("sweep haq --seeds 1000000000 -o {d}/s", ("--seeds",)),
        ("sweep haq --seeds 0 -o {d}/s", ("--seeds",)),
        ("sweep haq --seeds 1000 --amp-ratio 1.1:2.5:0.01 -o {d}/s", ("points",)),
        ("sweep haq --amp-ratio 2:1:0.1 -o {d}/s", ("--amp-ratio",)),
        ("sweep haq --write-noise nan -o {d}/s", ("--write-noise",)),
        ("sweep haq --bits 3.5 -o {d}/s", ("--bits",)),
        ("sweep haq --retries -1 -o {d}/s", ("--retries",)),
        ("sweep haq --read-noise nan -o {d}/s", ("nan",)),
        ("sweep haq --backend foo -o {d}/s", ("'foo'",)),
        ("sweep haq -o /proc/x", ("/proc/x",)),
        ("sweep haq -o {d}/file/s", ("which is a file",)),
        ("sweep haq -o ''", ("empty path",)),
        ("sweep haq", ("missing option",)),
        ("sweep nosuch", ("no such command",)),
        ("sweep haq --bits 4,,8 -o {d}/s", ("--bits", "empty item")),
        ("sweep haq --write-noise 0.1, -o {d}/s", ("--write-noise", "empty item")),
        ("sweep haq --resume -o {d}/emptydir", ("--resume", "not a sweep to resume")),
        ("sweep haq --resume -o {d}/nosuchdir", ("--resume", "does not exist")),
        ("sweep haq --resume -o {d}/fifosweep", ("points.jsonl", "not a regular file")),
    ],
    "report": [
        ("report --no-simulate -o /proc/x {d}/workload.json", ("/proc/x",)),
        ("report --no-simulate -o {d}/file/r {d}/workload.json", ("which is a file",)),
        ("report --no-simulate -o '' {d}/workload.json", ("empty path",)),
        ("report --gpu-utilisation nan {d}/workload.json", ("utilisation",)),
        ("report --gpu-utilisation 0 {d}/workload.json", ("utilisation",)),
        ("report --precision fp8 {d}/workload.json", ("fp8",)),
        ("report --baseline a101 {d}/workload.json", ("did you mean 'a100'",)),
        ("report --energy-override {d}/missing.csv {d}/workload.json", ("missing.csv",)),
        ("report --energy-override {d}/override.csv {d}/workload.json", ("component",)),
        ("report {d}/w_ops_text.json", ("ops_per_inference", "'abc'")),
        ("report {d}/w_ops_inf.json", ("ops_per_inference", "finite")),
        ("report {d}/w_events_inf.json", ("events.cell_reads", "finite")),
        ("report {d}/w_steps_nan.json", ("read_steps", "finite")),
        ("report {d}/w_null.json", ("ops_per_inference", "None")),
        ("report {d}/w_timing_text.json", ("timing.adc_rate_hz",)),
        ("report {d}/nothing", ("no run folder or config",)),
        ("report {d}/list.json", ("one JSON object",)),
        ("report {d}/bad.toml", ("bad.toml",)),
        ("report", ("missing argument",)),
        ("report {d}/fifo", ("not a regular file",)),
        ("report --energy-override {d}/fifo.csv {d}/workload.json", ("not a regular file",)),
        ("report {d}/workload.json {d}/bl_cols", ("lacks the columns", "power_w")),
        ("report {d}/workload.json {d}/bl_neg", ("power_w must hold positive numbers",)),
        ("report {d}/bl_ok", ("at least one workload",)),
    ],
    "baseline": [
        ("baseline --device tpu", ("'tpu'",)),
        ("baseline --workload bogus", ("unknown workload 'bogus'",)),
        ("baseline --workload ''", ("--workload is empty",)),
        ("baseline --workload snn,,field", ("--workload", "empty item")),
        ("baseline --batch 0", ("--batch",)),
        ("baseline --batch 64,x", ("--batch takes whole numbers", "'x'")),
        ("baseline --power-w -5", ("--power-w",)),
        ("baseline --power-w nan", ("--power-w",)),
        ("baseline --min-time -1", ("--min-time",)),
        ("baseline -o /proc/x", ("/proc/x",)),
        ("baseline -o {d}/file/r", ("which is a file",)),
    ],
    "field": [
        ("field run --volume {d}/fifo.npy", ("not a regular file",)),
        ("field run --volume {d}/fifo.nii.gz", ("not a regular file",)),
        ("field run --volume {d}/huge.npy", ("needs about", "this machine has 24 GiB")),
        ("field run --volume {d}/huge.nii", ("needs about", "this machine has 24 GiB")),
        ("field run --volume {d}/huge.nii.gz", ("needs about", "this machine has 24 GiB")),
        ("field run --volume {d}/short.npy", ("header announces shape (40, 128, 128)",
                                              "truncated or corrupt")),
        ("field run --volume {d}/short.nii", ("header announces shape", "truncated")),
        ("field eval --model {d}/fifomodel", ("checkpoint.npz", "not a regular file")),
        ("field train --steps 0 -o {d}/t", ("steps",)),
        ("field run --threads x", ("'x' is not a valid integer",)),
    ],
    "snn": [
        ("snn run --epochs 0", ("epochs", "got 0")),
        ("snn train --epochs 0 -o {d}/t", ("epochs", "got 0")),
        ("snn run --data {d}/fifodata", ("images.npy", "not a regular file")),
        ("snn eval {d}/fifomodel", ("not a regular file",)),
        ("snn train --resume -o {d}/fifomodel", ("not a regular file",)),
        ("snn sweep-noise {d}/fifomodel --read-noise 0.1,,0.2", ("--read-noise", "empty item")),
        ("snn run --frames 0", ("n_frames",)),
        ("snn run --threads -2", ("--threads",)),
    ],
    "nerf": [
        ("nerf run --scene {d}/fifoscene", ("transforms_train.json", "not a regular file")),
        ("nerf run --scene {d}/fifo", ("not a folder",)),
        ("nerf run --scene {d}/missing", ("no such folder",)),
        ("nerf eval --model {d}/fifomodel", ("checkpoint.npz", "not a regular file")),
        ("nerf deploy --model {d}/emptydir", ("holds no checkpoint.npz",)),
        ("nerf train --resume -o {d}/fifomodel", ("not a regular file",)),
        ("nerf train --steps 0 -o {d}/t", ("training steps",)),
        ("nerf run --width 4 --rank 8", ("rank (8) must be <=",)),
        ("nerf run --bits 14,14", ("--bits",)),
        ("nerf run -o {d}/file/run", ("which is a file",)),
        ("nerf run --dynamic --scene {d}/fifoscene", ("not a regular file",)),
        ("nerf run --threads x", ("'x' is not a valid integer",)),
    ],
    "inpaint": [
        ("inpaint run --epochs 0", ("epochs", "got 0")),
        ("inpaint run --frames 0", ("T",)),
        ("inpaint train --mask 40 -o {d}/t", ("mask size",)),
        ("inpaint run --data {d}/fifodata", ("images.npy", "not a regular file")),
        ("inpaint run --data {d}/nothing", ("does not exist",)),
        ("inpaint eval {d}/fifomodel", ("not a regular file",)),
        ("inpaint train --resume -o {d}/fifomodel", ("not a regular file",)),
        ("inpaint sweep-noise {d}/fifomodel --read-noise 0.1,,0.2",
         ("--read-noise", "empty item")),
        ("inpaint run --train 4000 --test 2000", ("more than the 5000 images",)),
    ],
    "cosim": [
        ("--bogus", ("no such option",)),
        ("nosuch", ("no such command",)),
    ],
}

CASES = [pytest.param(cmd, args, frags, id=f"{cmd}: {args}")
         for cmd, cases in BAD.items() for args, frags in cases]

SUBPROCESS = [  # the same checks through the installed script, in a real process
    "--bogus",
    "netlist crossbar --seed -1 -o {d}/x.cir",
    "simulate {d}/rc.cir --op --timeout inf",
    "run {d}/list.json",
    "waves {d}/nonnum.csv -s y -o {d}/p.png",
    "sweep haq --scheduler garbage -o {d}/s",
    "report {d}/w_ops_inf.json",
]


def _huge_and_short_arrays(folder: Path) -> None:
    """Files whose headers announce more data than they hold (1 KB or less each)."""
    import nibabel as nib
    import numpy as np

    for name, shape in (("huge.npy", HUGE), ("short.npy", (40, 128, 128))):
        with (folder / name).open("wb") as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f4", "fortran_order": False, "shape": shape})
            f.write(b"\0" * 64)
    nib.save(nib.Nifti1Image(np.zeros((2, 2, 2), np.float32), np.eye(4)), folder / "tiny.nii")
    blob = bytearray((folder / "tiny.nii").read_bytes())
    (folder / "tiny.nii").unlink()
    struct.pack_into("<8h", blob, 40, 3, 64, 64, 64, 1, 1, 1, 1)  # dim[]: 64^3 in 32 bytes
    (folder / "short.nii").write_bytes(bytes(blob))
    struct.pack_into("<8h", blob, 40, 3, *HUGE, 1, 1, 1, 1)
    (folder / "huge.nii").write_bytes(bytes(blob))
    (folder / "huge.nii.gz").write_bytes(gzip.compress(bytes(blob)))


def _decks(folder: Path) -> None:
    """Decks that are refused for their layout or an included pipe."""
    (folder / "layout" / "deck.cir").write_text(
        f'* layout\n.include "{PROJECT_MODEL}"\n.include device_models\nR1 a 0 1\n')
    (folder / "layout" / "data.cir").write_text(
        f'* layout\n.include "{PROJECT_MODEL}"\nR1 a 0 1\n'
        ".model fs filesource(file=device_models)\n")
    (folder / "fifodeck" / "deck.cir").write_text("* deck\n.include sub.lib\nR1 a 0 1\n")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad_inputs")
    for name, text in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    for name in FIFOS:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(folder / name)
    (folder / "emptydir").mkdir()
    _huge_and_short_arrays(folder)
    _decks(folder)
    return folder


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture(autouse=True)
def _pinned_memory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("circuits.errors.physical_memory_bytes", lambda: MEMORY_BYTES)
    monkeypatch.chdir(tmp_path)  # anything written by mistake lands here


def _argv(args: str, data_dir: Path) -> list[str]:
    import shlex

    return shlex.split(args.replace("{d}", str(data_dir)))


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()  # click >= 8.2 keeps stderr apart


def assert_one_line_error(code: int, stdout: str, stderr: str, fragments: tuple[str, ...]
                          ) -> str:
    assert "Traceback" not in stdout + stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert code == 2, (code, stderr)
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def test_every_command_has_eight_bad_inputs() -> None:
    commands = [c for c in BAD if c != "cosim"]
    assert set(commands) >= {"run", "netlist", "simulate", "waves", "vcmac-characterise",
                             "characterise", "mvm", "haq", "sweep haq", "report", "baseline"}
    assert all(len(BAD[c]) >= 8 for c in commands), {c: len(BAD[c]) for c in commands}


@pytest.mark.slow
@pytest.mark.timeout(120)  # a reader blocked on a named pipe fails here instead of hanging
@pytest.mark.parametrize(("command", "args", "fragments"), CASES)
def test_bad_input_is_one_line_error(command: str, args: str, fragments: tuple[str, ...],
                                     data_dir: Path, tmp_path: Path) -> None:
    inputs = _tree(data_dir)
    result = _runner().invoke(main, _argv(args, data_dir))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, fragments)
    assert _tree(tmp_path) == [], "a refused command left files in the working folder"
    assert _tree(data_dir) == inputs, "a refused command left files beside its inputs"


@pytest.mark.slow
@pytest.mark.parametrize("args", SUBPROCESS)
def test_bad_input_in_a_real_process(args: str, data_dir: Path, tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("cosim")
    if not script.exists():
        pytest.skip("the cosim script is not installed beside this Python")
    out = subprocess.run([str(script), *_argv(args, data_dir)], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path, check=False)
    assert_one_line_error(out.returncode, out.stdout, out.stderr, ())


def test_help_still_exits_zero() -> None:
    for argv in (["--help"], ["netlist", "crossbar", "--help"], ["sweep", "haq", "-h"]):
        result = _runner().invoke(main, argv)
        assert result.exit_code == 0, result.stderr
        assert "Usage:" in result.stdout


def test_refused_netlist_writes_nothing(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "big.cir"
    result = _runner().invoke(main, ["netlist", "crossbar", "--rows", "4096", "--cols", "4096",
                                     "-o", str(out)])
    assert result.exit_code == 2
    assert not out.exists()


def test_json_output_is_strict() -> None:
    import numpy as np

    text = json_text({"std": float("nan"), "x": np.float32("inf"), "v": np.array([1.0, np.nan]),
                      "n": np.int64(3), "path": Path("a/b")})
    assert json.loads(text) == {"std": None, "x": None, "v": [1.0, None], "n": 3,
                                "path": "a/b"}
    assert "NaN" not in text and "Infinity" not in text


def test_toolkit_warning_is_one_line():
    # A result outside a validated range still comes out, with one line saying so.
    import warnings

    import click
    from click.testing import CliRunner

    from circuits.errors import CosimWarning
    from cosim.cli import main
    from cosim.engine.backends.calibrated import OutsideValidatedRange

    assert issubclass(OutsideValidatedRange, CosimWarning)

    @click.command("warns-twice")
    def warns():
        warnings.warn(OutsideValidatedRange("read voltage 1 V;\n validated <= 0.2 V"),
                      stacklevel=1)
        click.echo("done")

    main.add_command(warns)
    try:
        try:
            runner = CliRunner(mix_stderr=False)
        except TypeError:  # click >= 8.2 keeps stderr apart by default
            runner = CliRunner()
        res = runner.invoke(main, ["warns-twice"])
    finally:
        main.commands.pop("warns-twice")
    assert res.exit_code == 0 and res.stdout == "done\n"
    assert res.stderr.splitlines() == ["warning: read voltage 1 V; validated <= 0.2 V"]
