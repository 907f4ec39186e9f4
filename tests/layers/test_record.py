"""Recording layers as they run, and the run folder's record files (``cosim verify``'s input)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from circuits.errors import ConfigError
from cosim.layers.analog import AnalogLayer
from cosim.layers.record import record_layers, recording
from cosim.outputs.layer_records import read_layer_records, write_layer_records
from cosim.programming.binary import HAQ, PTQ
from tests.hardware_helpers import hw, sim


def _layers(macro_rows=8):
    rng = np.random.default_rng(3)
    w = rng.uniform(-1, 1, (20, 3))
    hardware = hw(cell="1T1R", readout="tia", macro_rows=macro_rows, macro_cols=64,
                  write_noise=0.05)
    return {name: AnalogLayer.place(scheme, hardware, sim(), w=w, seed=k)
            for k, (name, scheme) in enumerate((("ptq", PTQ(n_bits=4)),
                                                ("haq", HAQ(n_bits=4, amp_ratio=1.5))))}, rng


@pytest.mark.slow
def test_recording_keeps_arrays_and_nonzero_inputs_and_changes_nothing():
    layers, rng = _layers()
    x = rng.uniform(-1, 1, (5, 20))
    x[1] = 0.0  # an all-zero input reads only offsets: not kept
    plain = {k: ly.forward(x)[0] for k, ly in layers.items()}
    layers2, _ = _layers()
    with recording(max_vectors=3) as rec:
        rec.name(layers2["haq"], "the haq one")
        seen = {k: ly.forward(x)[0] for k, ly in layers2.items()}
        layers2["ptq"].forward(x)  # a second call adds nothing past max_vectors
    for k in plain:
        np.testing.assert_array_equal(seen[k], plain[k])
    assert [r.name for r in rec.records] == ["layer0", "the haq one"]
    ptq = rec.records[0]
    np.testing.assert_array_equal(ptq.inputs, x[[0, 2, 3]])
    assert ptq.array is layers2["ptq"].tile.holds
    assert len(ptq.array.blocks) == 3  # 20 rows in macros of 8
    layers["ptq"].forward(x)  # outside a block: nothing recorded anywhere
    assert len(rec.records) == 2


@pytest.mark.slow
def test_records_round_trip_through_a_run_folder(tmp_path):
    layers, rng = _layers()
    x = rng.uniform(-1, 1, (4, 20))
    records = record_layers(layers, lambda: [ly.forward(x) for ly in layers.values()])
    files = write_layer_records(tmp_path, records)
    assert files[0] == "layers/index.json" and len(files) == 3
    back = read_layer_records(tmp_path)
    for a, b in zip(records, back, strict=True):
        assert (a.name, a.hardware, a.sim, a.seed) == (b.name, b.hardware, b.sim, b.seed)
        np.testing.assert_array_equal(a.inputs, b.inputs)
        np.testing.assert_array_equal(a.array.actual_siemens, b.array.actual_siemens)
        assert a.array.blocks == b.array.blocks
        # the rebuilt tile reads what the layer's tile read
        y_a = layers[a.name].tile.macro_reads(x)
        y_b = b.tile().macro_reads(x)
        for (_, va, ya, sa), (_, vb, yb, sb) in zip(y_a, y_b, strict=True):
            np.testing.assert_array_equal(va, vb)
            np.testing.assert_allclose(ya, yb, rtol=0, atol=1e-18)
            np.testing.assert_array_equal(sa, sb)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A run folder's records, written once (a copy per test)."""
    folder = tmp_path_factory.mktemp("records")
    layers, rng = _layers()
    x = rng.uniform(-1, 1, (4, 20))
    write_layer_records(folder, record_layers(layers, lambda: layers["ptq"].forward(x)))
    return folder


def _corrupt(written, tmp_path, edit_index=None, edit_npz=None):
    shutil.copytree(written / "layers", tmp_path / "layers", dirs_exist_ok=True)
    index = tmp_path / "layers" / "index.json"
    data = json.loads(index.read_text())
    if edit_index:
        edit_index(data)
        index.write_text(json.dumps(data))
    if edit_npz:
        path = tmp_path / "layers" / "000.npz"
        arrays = dict(np.load(path))
        edit_npz(arrays)
        np.savez(path, **arrays)


def _set(key, value):
    return lambda d: d["layers"][0].__setitem__(key, value)


@pytest.mark.parametrize("edit_index, edit_npz, match", [
    (lambda d: d.__setitem__("schema", "x"), None, "schema"),
    (lambda d: d.__setitem__("layers", []), None, "layers must be"),
    (_set("file", "../../etc/passwd.npz"), None, "inside layers"),
    (_set("rows", "20"), None, "rows must be"),
    (_set("extra", 1), None, "unknown keys"),
    (lambda d: d["layers"][0]["hardware"].__setitem__("cell", {"kind": "2T2R"}), None,
     "unknown cell"),
    (lambda d: d["layers"][0]["sim"].__setitem__("backend", "ngspice"), None, "backend"),
    (_set("macros", 2), None, "blocks must be"),
    (None, lambda a: a.__setitem__("actual_siemens", a["actual_siemens"] * np.nan),
     "finite conductances"),
    (None, lambda a: a.__setitem__("inputs", a["inputs"] * 3), "inputs must be"),
    (None, lambda a: a.__setitem__("blocks", a["blocks"] + 1), "outside"),
    (None, lambda a: a.__setitem__("blocks", np.array([[0, 8, 0, 12]] * 3)), "cover"),
    (None, lambda a: a.pop("inputs"), "lacks inputs"),
])
def test_bad_records_are_refused(written, tmp_path, edit_index, edit_npz, match):
    _corrupt(written, tmp_path, edit_index, edit_npz)
    with pytest.raises(ConfigError, match=match):
        read_layer_records(tmp_path)


def test_missing_and_unreadable_records(written, tmp_path):
    with pytest.raises(ConfigError, match="no recorded layers"):
        read_layer_records(tmp_path)
    (tmp_path / "layers").mkdir()
    (tmp_path / "layers" / "index.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        read_layer_records(tmp_path)
    _corrupt(written, tmp_path)
    (tmp_path / "layers" / "000.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ConfigError):
        read_layer_records(tmp_path)
