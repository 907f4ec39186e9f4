"""Small ONNX models written with ``onnx.helper`` for the import tests (not by our exporter)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _init(name: str, a: np.ndarray, dtype) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(a).astype(dtype), name)


def mlp3(*, seed: int = 0, sizes=(16, 24, 12, 5), double: bool = False, opset: int = 13,
         batch: int | str = "N") -> onnx.ModelProto:
    """A 3-layer MLP: Gemm (transB) + Relu, MatMul + Add + Sigmoid, Gemm; and its Softmax.

    Outputs ``logits`` ``(N, classes)`` and ``probs``.
    """
    rng = np.random.default_rng(seed)
    dt = np.float64 if double else np.float32
    et = TensorProto.DOUBLE if double else TensorProto.FLOAT
    a, b, c, d = sizes
    inits = [
        _init("W1", rng.normal(0, 1 / np.sqrt(a), (b, a)), dt),  # (out, in): transB
        _init("B1", rng.normal(0, 0.1, b), dt),
        _init("W2", rng.normal(0, 1 / np.sqrt(b), (b, c)), dt),
        _init("B2", rng.normal(0, 0.1, c), dt),
        _init("W3", rng.normal(0, 1 / np.sqrt(c), (c, d)), dt),
        _init("B3", rng.normal(0, 0.1, (1, d)), dt),
    ]
    nodes = [
        helper.make_node("Gemm", ["x", "W1", "B1"], ["h1"], name="fc1", transB=1),
        helper.make_node("Relu", ["h1"], ["a1"], name="relu1"),
        helper.make_node("MatMul", ["a1", "W2"], ["h2"], name="fc2"),
        helper.make_node("Add", ["h2", "B2"], ["z2"], name="bias2"),
        helper.make_node("Sigmoid", ["z2"], ["a2"], name="sig2"),
        helper.make_node("Gemm", ["a2", "W3", "B3"], ["logits"], name="fc3", alpha=1.5,
                         beta=0.5),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "mlp3", [helper.make_tensor_value_info("x", et, [batch, a])],
        [helper.make_tensor_value_info("logits", et, [batch, d]),
         helper.make_tensor_value_info("probs", et, [batch, d])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def cnn(*, seed: int = 0, opset: int = 17) -> onnx.ModelProto:
    """A small CNN on ``(N, 2, 10, 10)``: Conv (pads) + BatchNorm + Relu, MaxPool, a grouped
    strided Conv + Relu, ConvTranspose (stride 2), AveragePool, a dynamic-batch Reshape
    through Shape/Gather/Unsqueeze/Concat, Gemm, Softmax; a Constant, a Transpose'd weight.
    """
    rng = np.random.default_rng(seed)
    f = np.float32

    def t(name, a):
        return _init(name, a, f)

    inits = [
        t("K1", rng.normal(0, 0.3, (6, 2, 3, 3))), t("C1", rng.normal(0, 0.1, 6)),
        t("bn_s", rng.uniform(0.5, 1.5, 6)), t("bn_b", rng.normal(0, 0.1, 6)),
        t("bn_m", rng.normal(0, 0.1, 6)), t("bn_v", rng.uniform(0.5, 2.0, 6)),
        t("K2", rng.normal(0, 0.3, (8, 3, 3, 3))), t("C2", rng.normal(0, 0.1, 8)),
        t("KT", rng.normal(0, 0.3, (8, 4, 2, 2))), t("CT", rng.normal(0, 0.1, 4)),
        t("WfT", rng.normal(0, 0.2, (3, 100))),  # transposed in the graph before the Gemm
        t("Bf", rng.normal(0, 0.1, 3)),
        numpy_helper.from_array(np.array([0], np.int64), "zero"),
        numpy_helper.from_array(np.array([-1], np.int64), "minus1"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "K1", "C1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn_s", "bn_b", "bn_m", "bn_v"], ["n1"],
                         name="bn1", epsilon=1e-3),
        helper.make_node("Relu", ["n1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Conv", ["p1", "K2", "C2"], ["c2"], name="conv2", group=2,
                         strides=[1, 1], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("ConvTranspose", ["r2", "KT", "CT"], ["u"], name="up",
                         strides=[2, 2]),
        helper.make_node("AveragePool", ["u"], ["p2"], name="pool2", kernel_shape=[3, 3],
                         strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=0),
        helper.make_node("Shape", ["p2"], ["shp"], name="shape"),
        helper.make_node("Gather", ["shp", "zero"], ["n"], name="batch", axis=0),
        helper.make_node("Concat", ["n", "minus1"], ["flat_shape"], name="cat", axis=0),
        helper.make_node("Reshape", ["p2", "flat_shape"], ["flat"], name="flatten"),
        helper.make_node("Constant", [], ["perm_dummy"], name="const",
                         value=numpy_helper.from_array(np.array([1.0], f))),
        helper.make_node("Transpose", ["WfT"], ["Wf"], name="wT", perm=[1, 0]),
        helper.make_node("Gemm", ["flat", "Wf", "Bf"], ["z"], name="fc"),
        helper.make_node("Mul", ["z", "perm_dummy"], ["logits"], name="scale"),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 10, 10])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3]),
         helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 3])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
