"""``cosim deploy`` end to end (ONNX and NIR), ``--export`` of the field and the SNN, and
every bad input as one line ``error: ...`` (exit 2) that leaves no file behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nir
import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

from cosim.cli import main
from tests.commands.test_bad_inputs import _runner, _tree, assert_one_line_error
from tests.workloads.imported.onnx_models import mlp3


def _invoke(args: list[str]):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """Models, inputs and broken files for the tests (written once)."""
    d = tmp_path_factory.mktemp("deploy")
    rng = np.random.default_rng(0)
    good = mlp3()
    onnx.save(good, d / "mlp.onnx")
    np.savez(d / "data.npz", inputs=rng.normal(size=(30, 16)), labels=np.arange(30) % 5)
    np.save(d / "x.npy", rng.normal(size=(30, 16)))
    np.save(d / "x17.npy", rng.normal(size=(30, 17)))
    np.save(d / "xnan.npy", np.full((3, 16), np.nan))
    np.save(d / "y.npy", np.arange(30) % 5)
    np.save(d / "y_big.npy", np.arange(30) % 7)
    np.save(d / "y_short.npy", np.arange(29) % 5)
    np.save(d / "y_frac.npy", np.full(30, 0.5))
    with (d / "short.npy").open("wb") as f:  # a header announcing more than the file holds
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False,
                                                 "shape": (1000, 16)})
        f.write(b"\0" * 64)
    np.savez(d / "two.npz", a=np.zeros((3, 16)), b=np.zeros((3, 16)))
    blob = good.SerializeToString()
    (d / "truncated.onnx").write_bytes(blob[: len(blob) // 2])
    (d / "text.onnx").write_text("this is not a model\n")
    (d / "image.onnx").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (d / "model.pt").write_bytes(blob)
    os.mkfifo(d / "fifo.onnx")
    _bad_models(d)
    _nir_files(d, rng)
    return d


def _save(nodes, inits, d: Path, name: str, *, opset=13, inputs=None, check=True):
    f = TensorProto.FLOAT
    g = helper.make_graph(nodes, "bad", inputs or [helper.make_tensor_value_info("x", f, ["N", 4])],
                          [helper.make_tensor_value_info("y", f, ["N", 3])],
                          initializer=[numpy_helper.from_array(np.asarray(v, np.float32), k)
                                       for k, v in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7
    if check:
        onnx.checker.check_model(m)
    onnx.save(m, d / name)


def _bad_models(d: Path) -> None:
    w = np.ones((4, 3))
    _save([helper.make_node("MatMul", ["x", "w"], ["h"], name="fc"),
           helper.make_node("LeakyRelu", ["h"], ["y"], name="act")], [("w", w)], d,
          "unsupported.onnx")
    # the weight of the second MatMul is computed from the input: a dynamic weight
    _save([helper.make_node("MatMul", ["x", "w"], ["h"], name="fc"),
           helper.make_node("Transpose", ["x"], ["xt"], name="t"),
           helper.make_node("MatMul", ["xt", "h"], ["g"], name="gram"),
           helper.make_node("MatMul", ["h", "g"], ["y"], name="use")], [("w", w)], d,
          "dynamic.onnx")
    _save([helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")], [("w", w)], d,
          "opset10.onnx", opset=10)
    _save([helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")], [("w", w)], d,
          "opset99.onnx", opset=99, check=False)
    _save([helper.make_node("Relu", ["x"], ["y"], name="r")], [], d, "no_matrix.onnx")
    two = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4]),
           helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 4])]
    _save([helper.make_node("Add", ["x", "z"], ["s"], name="add"),
           helper.make_node("MatMul", ["s", "w"], ["y"], name="fc")], [("w", w)], d,
          "two_inputs.onnx", inputs=two)
    # the weights in an external data file
    m = onnx.load(d / "unsupported.onnx")
    m.graph.node[1].domain = "com.example"
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    onnx.save(m, d / "domain.onnx")
    onnx.save_model(onnx.load(d / "opset10.onnx"), d / "external.onnx",
                    save_as_external_data=True, all_tensors_to_one_file=True,
                    location="external.bin", size_threshold=0)


def _nir_files(d: Path, rng) -> None:
    def lif(n):
        return nir.LIF(tau=np.full(n, 2.0), r=np.full(n, 2.0), v_leak=np.zeros(n),
                       v_threshold=np.full(n, 0.5))

    g = nir.NIRGraph.from_list(nir.Input(input_type=np.array([12])),
                               nir.Linear(weight=rng.normal(0, 0.6, (16, 12))), lif(16),
                               nir.Linear(weight=rng.normal(0, 0.6, (4, 16))), lif(4),
                               nir.Output(output_type=np.array([4])))
    nir.write(d / "snn.nir", g)
    np.save(d / "spikes.npy", (rng.random((20, 6, 12)) < 0.4).astype(np.float32))
    np.save(d / "static.npy", rng.random((20, 12)))
    np.save(d / "spikes_bad.npy", np.zeros((20, 6, 13)))
    np.save(d / "y4.npy", np.arange(20) % 4)
    blob = (d / "snn.nir").read_bytes()
    (d / "truncated.nir").write_bytes(blob[: len(blob) // 3])
    (d / "text.nir").write_text("not hdf5\n")
    delay = nir.NIRGraph.from_list(nir.Input(input_type=np.array([4])),
                                   nir.Delay(delay=np.ones(4)),
                                   nir.Output(output_type=np.array([4])))
    nir.write(d / "delay.nir", delay)


@pytest.mark.slow
def test_onnx_deploy_writes_its_run_folder_and_report_reads_it(files, tmp_path):
    out = tmp_path / "run"
    r = _invoke(["deploy", files / "mlp.onnx", "--data", files / "data.npz", "--hardware",
                 "paper", "--backend", "ideal", "--json", "-o", out])
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert s["kind"] == "onnx" and s["inputs"] == 30 and s["software_vs_reference"] < 1e-12
    assert s["accuracy_software"] is not None and s["accuracy_haq"] is not None
    assert [ly["name"] for ly in s["layers_haq"]] == ["fc1", "fc2", "fc3"]
    assert all(ly["max_error"] > 0 for ly in s["layers_ptq"])
    assert s["hardware_name"] == "paper" and s["workload_scheme"] == "haq"
    for name in ("layers.csv", "outputs.csv", "digital_ops.csv", "accuracy.csv",
                 "outputs.npz", "layer_error.png", "layer_error.svg", "workload.json",
                 "workload_ptq.json", "manifest.json"):
        assert (out / name).is_file(), name
    wl = json.loads((out / "workload.json").read_text())
    assert wl["inferences"] == 1 and wl["events"]["cell_reads"] > 0
    assert wl["events"]["cordic_steps"] > 0  # sigmoid and softmax in the digital core
    rep = _invoke(["report", out, "--no-simulate", "-o", tmp_path / "report"])
    assert rep.exit_code == 0, rep.output
    assert (tmp_path / "report" / "report.html").is_file()
    text = _invoke(["deploy", files / "mlp.onnx", "--data", files / "x.npy", "--labels",
                    files / "y.npy", "--scheme", "ptq", "--hardware", "paper", "--backend",
                    "ideal", "-o", tmp_path / "run2"])
    assert text.exit_code == 0, text.output
    assert "fc2" in text.output and "accuracy: software" in text.output


@pytest.mark.slow
def test_nir_deploy_runs_the_timestep_loop(files, tmp_path):
    for data in ("spikes.npy", "static.npy"):
        r = _invoke(["deploy", files / "snn.nir", "--data", files / data, "--labels",
                     files / "y4.npy", "--hardware", "prime", "--scheme", "pairs,haq",
                     "--timesteps", "5", "--json", "-o", tmp_path / data])
        assert r.exit_code == 0, r.output
        s = json.loads(r.output)
        assert s["kind"] == "nir"
        assert s["input_shape"] == ([6, 12] if data == "spikes.npy" else [5, 12])
        assert s["accuracy_pairs"] == s["accuracy_software"]  # exact writes on prime
        assert len(s["early_stop_pairs"]) == len(s["early_stop_software"]) > 0
        wl = json.loads((tmp_path / data / "workload.json").read_text())
        assert wl["events"]["lif_updates"] == 20 * s["input_shape"][0]


BAD = [
    ("deploy {d}/unsupported.onnx --data {d}/x.npy",
     ("node 'act' (LeakyRelu) is not handled",)),
    ("deploy {d}/dynamic.onnx --data {d}/x.npy", ("node 'gram' (MatMul)", "dynamic weight")),
    ("deploy {d}/opset10.onnx --data {d}/x.npy", ("opset 10 is not handled",)),
    ("deploy {d}/opset99.onnx --data {d}/x.npy", ("opset 99 is not handled",)),
    ("deploy {d}/domain.onnx --data {d}/x.npy", ("'com.example'", "LeakyRelu")),
    ("deploy {d}/external.onnx --data {d}/x.npy", ("external data file",)),
    ("deploy {d}/two_inputs.onnx --data {d}/x.npy", ("2 data inputs (x, z)",)),
    ("deploy {d}/no_matrix.onnx --data {d}/x.npy", ("nothing to put on crossbars",)),
    ("deploy {d}/truncated.onnx --data {d}/x.npy", ("truncated.onnx",)),
    ("deploy {d}/text.onnx --data {d}/x.npy", ("text.onnx", "not an ONNX model")),
    ("deploy {d}/image.onnx --data {d}/x.npy", ("image.onnx",)),
    ("deploy {d}/model.pt --data {d}/x.npy", ("give an .onnx or a .nir file",)),
    ("deploy {d}/missing.onnx --data {d}/x.npy", ("no such file",)),
    ("deploy {d}/fifo.onnx --data {d}/x.npy", ("not a regular file",)),
    ("deploy {d}/mlp.onnx --data {d}/x17.npy", ("shape (30, 17)", "takes (N, 16)")),
    ("deploy {d}/mlp.onnx --data {d}/short.npy", ("truncated or corrupt",)),
    ("deploy {d}/mlp.onnx --data {d}/xnan.npy", ("NaN",)),
    ("deploy {d}/mlp.onnx --data {d}/two.npz", ("holds a, b", "'inputs'")),
    ("deploy {d}/mlp.onnx --data {d}/mlp.onnx", ("give a .npy or .npz file",)),
    ("deploy {d}/mlp.onnx --data {d}/x.npy --labels {d}/y_big.npy", ("0..4",)),
    ("deploy {d}/mlp.onnx --data {d}/x.npy --labels {d}/y_short.npy", ("(29,)", "(30,)")),
    ("deploy {d}/mlp.onnx --data {d}/x.npy --labels {d}/y_frac.npy", ("whole numbers",)),
    ("deploy {d}/mlp.onnx --data {d}/x.npy --scheme haq,bogus", ("bogus",)),
    ("deploy {d}/mlp.onnx --data {d}/x.npy --scheme haq,,ptq", ("empty item",)),
    ("deploy {d}/mlp.onnx --data {d}/x.npy --bits 0", ("bits",)),
    ("deploy {d}/mlp.onnx --data {d}/x.npy --headroom 0.5", ("input headroom",)),
    ("deploy {d}/mlp.onnx --data {d}/x.npy --backend spice", ("ideal or calibrated",)),
    ("deploy {d}/mlp.onnx --data {d}/x.npy -o {d}/x.npy/run", ("which is a file",)),
    ("deploy {d}/mlp.onnx", ("--data",)),
    ("deploy {d}/text.nir --data {d}/spikes.npy", ("not a NIR file",)),
    ("deploy {d}/truncated.nir --data {d}/spikes.npy", ("cannot be read as NIR",)),
    ("deploy {d}/delay.nir --data {d}/spikes.npy", ("NIR node 'delay' (Delay)",)),
    ("deploy {d}/snn.nir --data {d}/spikes_bad.npy", ("(20, 6, 13)", "(N, T, 12)")),
    ("deploy {d}/snn.nir --data {d}/spikes.npy --dt 5", ("dt 5 exceeds",)),
    ("deploy {d}/snn.nir --data {d}/spikes.npy --timesteps 0", ("timesteps",)),
    ("field run --export nir", ("--export nir", "export the field as onnx")),
    ("field train --export nir -o {d}/t", ("--export nir",)),
    ("snn run --export onnx", ("--export onnx", "export the SNN as nir")),
    ("snn run --net conv --export nir", ("max pooling has no NIR primitive",)),
    ("snn train --export bogus", ("'bogus' is not one of 'onnx', 'nir'",)),
    ("nerf run --export nir", ("--export nir", "export NeRF as onnx")),
    ("nerf train --dynamic --export nir -o {d}/t", ("--export nir",)),
]


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize(("args", "fragments"), BAD, ids=[a for a, _ in BAD])
def test_bad_input_is_one_line_error(args, fragments, files, tmp_path, monkeypatch):
    import shlex

    monkeypatch.chdir(tmp_path)
    before = _tree(files)
    result = _runner().invoke(main, shlex.split(args.replace("{d}", str(files))))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, fragments)
    assert _tree(tmp_path) == [] and _tree(files) == before


@pytest.mark.slow
def test_field_export_comes_back_through_deploy(tmp_path):
    out = tmp_path / "field"
    r = _invoke(["field", "train", "--phantom", "3x12x12", "--steps", "5", "--batch", "0",
                 "--export", "onnx", "--json", "-o", out])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["export"]["model"] == "model.onnx"
    assert json.loads((out / "manifest.json").read_text())["export"]["format"] == "onnx"
    r = _invoke(["deploy", out / "model.onnx", "--data", out / "model_inputs.npz",
                 "--hardware", "paper", "--backend", "ideal", "--scheme", "haq", "--json",
                 "-o", tmp_path / "back"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert s["inputs"] == 3 * 12 * 12 and s["outputs"] == ["intensity"]
    assert s["software_vs_reference"] < 1e-12


@pytest.mark.slow
def test_nerf_export_comes_back_through_deploy(tmp_path):
    out = tmp_path / "nerf"
    r = _invoke(["nerf", "train", "--dynamic", "--quick", "--size", "10", "--train-views", "4",
                 "--test-views", "1", "--rays", "32", "--samples", "8", "--width", "8",
                 "--rank", "2", "--steps", "3", "--export", "onnx", "--json", "-o", out])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["export"]["model"] == "model.onnx"
    r = _invoke(["deploy", out / "model.onnx", "--data", out / "model_inputs.npz",
                 "--hardware", "paper", "--backend", "ideal", "--scheme", "haq", "--json",
                 "-o", tmp_path / "back"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert s["inputs"] == 10 * 10 * 8 and s["outputs"] == ["radiance"]  # every ray's samples
    assert s["software_vs_reference"] < 1e-12


@pytest.mark.slow
def test_snn_export_comes_back_through_deploy(tmp_path):
    data = _nmnist(tmp_path / "nmnist")
    out = tmp_path / "snn"
    r = _invoke(["snn", "run", "--data", data, "--frames", "3", "--epochs", "1", "--train",
                 "20", "--test", "10", "--export", "nir", "--json", "-o", out])
    assert r.exit_code == 0, r.output
    run = json.loads(r.output)
    assert run["export"]["format"] == "nir"
    back = _invoke(["deploy", out / "model.nir", "--data", out / "model_inputs.npz",
                    "--hardware", "prime", "--scheme", "pairs", "--seed", "0", "--json",
                    "-o", tmp_path / "back"])
    assert back.exit_code == 0, back.output
    s = json.loads(back.output)
    assert s["inputs"] == 10 and s["input_shape"] == [3, 2312]
    assert s["accuracy_pairs"] == run["accuracy"]  # same hardware (prime), same seed


def _nmnist(root: Path) -> Path:
    """A tiny N-MNIST folder: 30 synthesised recordings, 3 per digit."""
    from cosim.workloads.snn.dvs import DVSConfig, synthesize
    from cosim.workloads.snn.nmnist import encode_events

    rng = np.random.default_rng(0)
    img = np.zeros((30, 28, 28), np.uint8)
    labels = np.arange(30) % 10
    for i, c in enumerate(labels):
        img[i, 2 + 2 * c:8 + 2 * c, 4:24] = 255
        img[i] = np.where(rng.random((28, 28)) < 0.02, 255, img[i])
    es = synthesize(img, labels, DVSConfig(saccade_us=20_000))
    for i, c in enumerate(labels):
        (root / str(c)).mkdir(parents=True, exist_ok=True)
        (root / str(c) / f"{i:05d}.bin").write_bytes(encode_events(es.sample(i)))
    return root


@pytest.mark.slow
def test_nir_deploy_reads_the_snn_data_folders(tmp_path):
    """An N-MNIST folder (the SNN's own format) as --data: binned into --timesteps frames,
    its labels used for accuracy."""
    rng = np.random.default_rng(0)
    g = nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([2, 34, 34])),
        nir.Flatten(input_type={"input": np.array([2, 34, 34])}, start_dim=0, end_dim=-1),
        nir.Linear(weight=rng.normal(0, 0.05, (16, 2312))),
        nir.LIF(tau=np.full(16, 2.0), r=np.full(16, 2.0), v_leak=np.zeros(16),
                v_threshold=np.full(16, 0.5)),
        nir.Linear(weight=rng.normal(0, 0.5, (10, 16))),
        nir.I(r=np.ones(10)), nir.Output(output_type=np.array([10])))
    nir.write(tmp_path / "net.nir", g)
    data = _nmnist(tmp_path / "nmnist")
    r = _invoke(["deploy", tmp_path / "net.nir", "--data", data, "--timesteps", "4",
                 "--hardware", "prime", "--scheme", "pairs", "--json", "-o", tmp_path / "run"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert s["inputs"] == 30 and s["input_shape"] == [4, 2, 34, 34]
    assert s["accuracy_pairs"] == s["accuracy_software"] is not None
