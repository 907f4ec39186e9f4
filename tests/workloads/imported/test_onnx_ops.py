"""Every digital and analog operator the importer runs, against the ONNX reference evaluator.

Each case is a one- or two-node graph written with ``onnx.helper``; the float pass of
the importer (its own numpy operators, exact matrix products) must give the reference
evaluator's outputs (float64) to 1e-12 of full scale, for the attribute forms and
opsets the loader accepts.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from cosim.workloads.imported.network import Tally, run_batches
from cosim.workloads.imported.onnx_model import FloatOracle, graph_from_proto, load_onnx
from cosim.workloads.imported.run import float_product

D = TensorProto.DOUBLE


def _model(nodes, x_shape, inits=(), opset=17, out="y", n_out=1):
    outs = [helper.make_tensor_value_info(out if n_out == 1 else f"{out}{i}", D, None)
            for i in range(n_out)]
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", D, ["N", *x_shape])],
                          outs, initializer=[numpy_helper.from_array(np.asarray(v), k)
                                             for k, v in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    m = onnx.shape_inference.infer_shapes(m)  # the outputs' shapes, which the checker needs
    onnx.checker.check_model(m)
    return m


def _check(model, x, tmp_path, tol=1e-12):
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    loaded = load_onnx(path) if any(n.op_type in ("Gemm", "MatMul", "Conv", "ConvTranspose")
                                    for n in model.graph.node) else None
    if loaded is None:
        graph, _ = graph_from_proto(model, "test")
        mats = {}
    else:
        graph, mats = loaded.graph, dict(loaded.matrices)
    ours = run_batches(graph, mats, x, len(x),
                       float_product(mats, {k: Tally() for k in mats}), {})
    ref = FloatOracle(model)({"x": x})
    for a, b in zip(ours, ref, strict=True):
        assert a.shape == b.shape
        scale = max(float(np.max(np.abs(b))), 1e-300)
        assert np.max(np.abs(a - b)) <= tol * scale


R = np.random.default_rng(3)
X4 = R.normal(size=(2, 3, 7, 6))
X2 = R.normal(size=(4, 10))
W = R.normal(size=(10, 5))
I64 = np.int64

DIGITAL = {
    "add-broadcast": ([helper.make_node("Add", ["x", "c"], ["y"])], X2, [("c", R.normal(size=10))]),
    "sub": ([helper.make_node("Sub", ["c", "x"], ["y"])], X2, [("c", R.normal(size=(1, 10)))]),
    "mul": ([helper.make_node("Mul", ["x", "x"], ["y"])], X2, []),
    "relu-sigmoid-tanh": ([helper.make_node("Relu", ["x"], ["a"]),
                           helper.make_node("Sigmoid", ["a"], ["b"]),
                           helper.make_node("Tanh", ["b"], ["y"])], X2, []),
    "clip-both-and-min-only": ([helper.make_node("Clip", ["x", "lo", "hi"], ["a"]),
                                helper.make_node("Clip", ["a", "lo2"], ["y"])], X2,
                               [("lo", np.array(-0.5)), ("hi", np.array(0.7)),
                                ("lo2", np.array(0.1))]),
    "sin-cos": ([helper.make_node("Sin", ["x"], ["a"]),
                 helper.make_node("Cos", ["a"], ["y"])], X2, []),
    "softmax-axis1-4d": ([helper.make_node("Softmax", ["x"], ["y"], axis=1)], X4, []),
    "concat": ([helper.make_node("Concat", ["x", "x"], ["y"], axis=-1)], X4, []),
    "split-sizes": ([helper.make_node("Split", ["x", "s"], ["y0", "y1"], axis=1)], X2,
                    [("s", np.array([3, 7], I64))]),
    "slice-steps": ([helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])], X4,
                    [("st", np.array([-1, 1], I64)), ("en", np.array([-100, 6], I64)),
                     ("ax", np.array([3, 2], I64)), ("sp", np.array([-2, 2], I64))]),
    "gather-negative": ([helper.make_node("Gather", ["x", "i"], ["y"], axis=1)], X4,
                        [("i", np.array([[0, -1], [2, 1]], I64))]),
    "reshape-zero-minus1": ([helper.make_node("Reshape", ["x", "s"], ["y"])], X4,
                            [("s", np.array([0, -1, 6], I64))]),
    "flatten-negative-axis": ([helper.make_node("Flatten", ["x"], ["y"], axis=-3)], X4, []),
    "transpose": ([helper.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 3, 1])], X4, []),
    "squeeze-unsqueeze": ([helper.make_node("Unsqueeze", ["x", "a"], ["u"]),
                           helper.make_node("Squeeze", ["u", "a"], ["y"])], X2,
                          [("a", np.array([1, -1], I64))]),
    "maxpool-ceil-dilated": ([helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2],
                                               strides=[2, 2], dilations=[1, 2],
                                               ceil_mode=1)], X4, []),
    "maxpool-same-upper": ([helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 2],
                                             strides=[2, 2], auto_pad="SAME_UPPER")], X4, []),
    "avgpool-include-pad": ([helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3],
                                              pads=[1, 1, 1, 1], count_include_pad=1)], X4, []),
    "avgpool-exclude-pad": ([helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 3],
                                              strides=[2, 1], pads=[0, 1, 1, 1])], X4, []),
    "global-pools": ([helper.make_node("GlobalAveragePool", ["x"], ["a"]),
                      helper.make_node("GlobalMaxPool", ["x"], ["b"]),
                      helper.make_node("Add", ["a", "b"], ["y"])], X4, []),
    "batchnorm": ([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"],
                                    epsilon=1e-3)], X4,
                  [("s", R.uniform(0.5, 2, 3)), ("b", R.normal(size=3)),
                   ("m", R.normal(size=3)), ("v", R.uniform(0.5, 2, 3))]),
    "shape-arithmetic": ([helper.make_node("Shape", ["x"], ["s"]),
                          helper.make_node("Slice", ["s", "z", "o"], ["n"]),
                          helper.make_node("Concat", ["n", "m1"], ["t"], axis=0),
                          helper.make_node("Reshape", ["x", "t"], ["y"])], X4,
                         [("z", np.array([0], I64)), ("o", np.array([1], I64)),
                          ("m1", np.array([-1], I64))]),
    "identity-dropout": ([helper.make_node("Identity", ["x"], ["a"]),
                          helper.make_node("Dropout", ["a"], ["y"])], X2, []),
    # a LIF step's spike and a Bernoulli sample: compare, then cast
    "greater-less-cast": ([helper.make_node("Greater", ["x", "th"], ["g"]),
                           helper.make_node("Cast", ["g"], ["a32"], to=TensorProto.FLOAT),
                           helper.make_node("Cast", ["a32"], ["a"], to=D),
                           helper.make_node("Less", ["c", "x"], ["l"]),
                           helper.make_node("Cast", ["l"], ["b"], to=D),
                           helper.make_node("Sub", ["a", "b"], ["d"]),
                           helper.make_node("Mul", ["d", "x"], ["y"])], X2,
                          [("th", np.array(0.3)), ("c", R.normal(size=10))]),
    "div": ([helper.make_node("Div", ["x", "c"], ["y"])], X2, [("c", R.uniform(1, 2, 10))]),
    # integer division truncates toward zero: 6 / -4 = -1 (floor: -2, not a shape of x)
    "div-integer-shape": ([helper.make_node("Shape", ["x"], ["s"]),
                           helper.make_node("Div", ["s", "q"], ["t"]),
                           helper.make_node("Reshape", ["x", "t"], ["y"])], X4,
                          [("q", np.array([1, 1, 1, -4], I64))]),
    "cast-to-int-and-back": ([helper.make_node("Cast", ["x"], ["i"], to=TensorProto.INT64),
                              helper.make_node("Cast", ["i"], ["y"], to=D)], X2 * 3, []),
}


@pytest.mark.parametrize("case", list(DIGITAL))
def test_digital_operator_equals_reference(case, tmp_path):
    nodes, x, inits = DIGITAL[case]
    n_out = len(nodes[-1].output)
    _check(_model(nodes, x.shape[1:], inits, n_out=n_out), x, tmp_path)


OPSET11 = {
    "squeeze-attr": ([helper.make_node("Unsqueeze", ["x"], ["u"], axes=[0, 3]),
                      helper.make_node("Squeeze", ["u"], ["y"], axes=[0])], X2, []),
    "split-attr": ([helper.make_node("Split", ["x"], ["y0", "y1"], axis=1, split=[4, 6])], X2,
                   []),
}


@pytest.mark.parametrize("case", list(OPSET11))
def test_opset11_forms_equal_reference(case, tmp_path):
    nodes, x, inits = OPSET11[case]
    _check(_model(nodes, x.shape[1:], inits, opset=11, n_out=len(nodes[-1].output)), x,
           tmp_path)


XC = R.normal(size=(2, 4, 9, 8))
ANALOG = {
    "gemm-transA-alpha-beta": ([helper.make_node("Transpose", ["x"], ["xt"]),
                                helper.make_node("Gemm", ["xt", "w", "c"], ["y"], transA=1,
                                                 alpha=0.7, beta=-2.0)], X2,
                               [("w", W), ("c", R.normal(size=(1, 5)))]),
    "matmul-3d-input": ([helper.make_node("MatMul", ["x", "w"], ["y"])],
                        R.normal(size=(4, 3, 10)), [("w", W)]),
    "matmul-vector-weight": ([helper.make_node("MatMul", ["x", "w"], ["y"])], X2,
                             [("w", R.normal(size=10))]),
    "conv-strided-dilated": ([helper.make_node("Conv", ["x", "k", "b"], ["y"], strides=[2, 1],
                                               dilations=[1, 2], pads=[1, 0, 2, 1])], XC,
                             [("k", R.normal(size=(5, 4, 3, 2))), ("b", R.normal(size=5))]),
    "conv-groups-same-lower": ([helper.make_node("Conv", ["x", "k"], ["y"], group=2,
                                                 auto_pad="SAME_LOWER", strides=[2, 2])], XC,
                               [("k", R.normal(size=(6, 2, 2, 3)))]),
    "conv-1d": ([helper.make_node("Reshape", ["x", "s"], ["x1"]),
                 helper.make_node("Conv", ["x1", "k"], ["y"], pads=[1, 1])], XC,
                [("s", np.array([2, 4, 72], I64)), ("k", R.normal(size=(3, 4, 3)))]),
    "convtranspose-pads-outpad": ([helper.make_node("ConvTranspose", ["x", "k", "b"], ["y"],
                                                    strides=[2, 3], pads=[1, 0, 0, 1],
                                                    output_padding=[1, 2],
                                                    dilations=[2, 1])], XC,
                                  [("k", R.normal(size=(4, 3, 3, 2))),
                                   ("b", R.normal(size=3))]),

    "convtranspose-same-upper": ([helper.make_node("ConvTranspose", ["x", "k"], ["y"],
                                                   strides=[2, 2], auto_pad="SAME_UPPER")], XC,
                                 [("k", R.normal(size=(4, 1, 3, 2)))]),
}


def test_opset11_softmax_coerces_to_2d(tmp_path):
    """Softmax before opset 13 works on the input coerced to 2-D at ``axis`` (the ONNX
    operator definition; the reference evaluator applies the opset-13 rule to every
    opset), so the oracle is an opset-13 Reshape -> Softmax(axis=1) -> Reshape."""
    node = helper.make_node("Softmax", ["x"], ["y"], axis=2)
    path = tmp_path / "s11.onnx"
    onnx.save(_model([node], X4.shape[1:], opset=11), path)
    graph, _ = graph_from_proto(onnx.load(path), "test")
    ours = run_batches(graph, {}, X4, len(X4), float_product({}, {}), {})[0]
    shape2 = np.array([2 * 3, -1], I64)
    back = np.array(X4.shape, I64)
    oracle = _model([helper.make_node("Reshape", ["x", "s2"], ["f"]),
                     helper.make_node("Softmax", ["f"], ["g"], axis=1),
                     helper.make_node("Reshape", ["g", "back"], ["y"])], X4.shape[1:],
                    [("s2", shape2), ("back", back)], opset=13)
    ref = FloatOracle(oracle)({"x": X4})[0]
    assert np.max(np.abs(ours - ref)) < 1e-14


@pytest.mark.parametrize("case", list(ANALOG))
def test_analog_operator_unrolling_equals_reference(case, tmp_path):
    nodes, x, inits = ANALOG[case]
    _check(_model(nodes, x.shape[1:], inits), x, tmp_path)


def test_batchnorm_after_conv_is_folded_and_equal(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "k"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["y"])]
    inits = [("k", R.normal(size=(3, 4, 3, 3))), ("s", R.uniform(0.5, 2, 3)),
             ("b", R.normal(size=3)), ("m", R.normal(size=3)), ("v", R.uniform(0.5, 2, 3))]
    model = _model(nodes, XC.shape[1:], inits)
    onnx.save(model, tmp_path / "bn.onnx")
    loaded = load_onnx(tmp_path / "bn.onnx")
    assert [n.op for n in loaded.graph.nodes] == ["Conv"]
    assert any("folded" in note for note in loaded.notes)
    _check(model, XC, tmp_path)


def _ours(model, x, tmp_path):
    onnx.save(model, tmp_path / "m.onnx")
    loaded = load_onnx(tmp_path / "m.onnx")
    mats = dict(loaded.matrices)
    return run_batches(loaded.graph, mats, x, len(x),
                       float_product(mats, {k: Tally() for k in mats}), {})[0]


def test_grouped_convtranspose_is_its_groups_side_by_side(tmp_path):
    """The reference evaluator cannot run a grouped ConvTranspose; by the operator's
    definition it is one ungrouped ConvTranspose per group, outputs concatenated."""
    k = R.normal(size=(4, 2, 3, 3))
    node = helper.make_node("ConvTranspose", ["x", "k"], ["y"], group=2, strides=[2, 1])
    ours = _ours(_model([node], XC.shape[1:], [("k", k)]), XC, tmp_path)
    parts = []
    for g in range(2):
        single = helper.make_node("ConvTranspose", ["x", "k"], ["y"], strides=[2, 1])
        m = _model([single], (2, *XC.shape[2:]), [("k", k[2 * g:2 * g + 2])])
        parts.append(FloatOracle(m)({"x": XC[:, 2 * g:2 * g + 2]})[0])
    ref = np.concatenate(parts, axis=1)
    assert ours.shape == ref.shape
    assert np.max(np.abs(ours - ref)) < 1e-12 * np.max(np.abs(ref))


def test_convtranspose_output_shape_sets_the_pads(tmp_path):
    """``output_shape`` [17, 16] of a stride-2, 3x3 ConvTranspose of a 9 x 8 input (full
    output 19 x 17): total padding (2, 1), split as the ONNX definition says for
    auto_pad NOTSET (the odd one at the beginning): pads [1, 1, 1, 0]. The reference
    evaluator cannot run output_shape; it runs those pads."""
    k = R.normal(size=(4, 2, 3, 3))
    node = helper.make_node("ConvTranspose", ["x", "k"], ["y"], strides=[2, 2],
                            output_shape=[17, 16])
    ours = _ours(_model([node], XC.shape[1:], [("k", k)]), XC, tmp_path)
    padded = helper.make_node("ConvTranspose", ["x", "k"], ["y"], strides=[2, 2],
                              pads=[1, 1, 1, 0])
    ref = FloatOracle(_model([padded], XC.shape[1:], [("k", k)]))({"x": XC})[0]
    assert ours.shape == ref.shape == (2, 2, 17, 16)
    assert np.max(np.abs(ours - ref)) < 1e-12 * np.max(np.abs(ref))


BN = [("s", R.uniform(0.5, 2, 3)), ("b", R.normal(size=3)), ("m", R.normal(size=3)),
      ("v", R.uniform(0.5, 2, 3))]
FOLDS = {
    "gemm-transB-alpha-beta": ([helper.make_node("Gemm", ["x", "w", "c"], ["g"], transB=1,
                                                 alpha=0.5, beta=2.0)], X2,
                               [("w", R.normal(size=(3, 10))), ("c", R.normal(size=3))]),
    "matmul": ([helper.make_node("MatMul", ["x", "w"], ["g"])], X2,
               [("w", R.normal(size=(10, 3)))]),
    "convtranspose": ([helper.make_node("ConvTranspose", ["x", "w", "c"], ["g"],
                                        strides=[2, 2])], XC,
                      [("w", R.normal(size=(4, 3, 2, 2))), ("c", R.normal(size=3))]),
}


@pytest.mark.parametrize("case", list(FOLDS))
def test_batchnorm_folds_into_every_analog_operator(case, tmp_path):
    nodes, x, inits = FOLDS[case]
    nodes = nodes + [helper.make_node("BatchNormalization", ["g", "s", "b", "m", "v"], ["y"],
                                      epsilon=1e-4)]
    model = _model(nodes, x.shape[1:], inits + BN)
    onnx.save(model, tmp_path / "bn.onnx")
    assert "BatchNormalization" not in [n.op for n in load_onnx(tmp_path / "bn.onnx")
                                        .graph.nodes]
    _check(model, x, tmp_path)
