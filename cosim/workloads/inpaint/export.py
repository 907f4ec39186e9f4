"""The trained spiking VAE as an exchange graph (ONNX semantics), for ``--export onnx``.

The exported network is the run's pop-up VAE as the hardware rows deploy it:
each matrix is its effective weights (:meth:`TrainedVAE.scaled_weights`: the
random pairs' ``N(0, 1)`` weights times the layer's digital scale, pruned
pairs zero), the weights the software row computes with. The weight-trained
baseline is a software comparison and is not exported.

ONNX has no spiking neuron, timestep loop or random sampling, so the graph
writes the ``T`` steps of :func:`cosim.workloads.inpaint.network.vae_forward`
out one after the other, every step's operators reading the same weight
initializers (an importer that shares them, as ``cosim deploy`` does, places
each matrix once):

- input ``x`` ``(N, 1024 + T * latent)`` float32: the masked image (row-major,
  in ``[-1, 1]``) followed by the latent's uniform draws of steps ``1 .. T``
  (:func:`exported_inputs`). The draws are an input, so the sampling is part
  of the data and the graph is deterministic: ``z_t = Less(u_t, p_t)``, the
  workload's own ``z = u < p``.
- convolutions: ``Conv`` 3 x 3, stride 2, padding 1; transposed convolutions:
  ``ConvTranspose`` 3 x 3, stride 2, padding 1, output padding 1
  (:mod:`cosim.workloads.spiking.crossbar`); the latent linears ``MatMul``
  (the encoder's map flattened (y, x, channel), as the workload does).
- LIF (PRIME eq. 1-2): ``u_t = tau u_{t-1} (1 - o_{t-1}) + I_t`` as ``Sub``,
  ``Mul``, ``Mul``, ``Add`` (at step 1 the state is zero: ``u_1 = I_1``), the
  spike ``o_t = Cast(Greater(u_t, v_th))``; the latent probability
  ``Sigmoid``.
- output ``images`` ``(N, T, 32, 32)``: the image after every step,
  ``Tanh(Div(U_t, t) + b)`` (``U_t`` the output potential, ``b`` the fixed offset),
  so early stop can be applied to the imported network's output.
"""

from __future__ import annotations

import numpy as np

from cosim.workloads.imported.ir import Graph, Node, TensorSpec
from cosim.workloads.inpaint.network import IMAGE, TrainedVAE, VAEConfig, latent_uniforms

OPSET = 17
"""The default-domain opset the graph is written for."""
ONNX_FLOAT = 1
"""``onnx.TensorProto.FLOAT``: the type a spike is cast to (a float64 evaluator promotes it)."""
EXPORT_FORMATS = {"onnx": None,
                  "nir": "NIR has no transposed convolution, sigmoid or Bernoulli sampling; "
                         "export the VAE as onnx"}
"""Formats ``cosim inpaint --export`` writes (``None``) or refuses (the reason)."""
LAYERS = ("conv1", "conv2", "conv3", "enc", "dec", "tconv1", "tconv2", "tconv3")
"""Names of the eight matrices (:attr:`VAEConfig.shapes`), their weights ``W_<name>``."""


def onnx_weights(ws: list[np.ndarray], cfg: VAEConfig) -> dict[str, np.ndarray]:
    """The eight crossbar matrices in ONNX layouts: ``Conv`` ``(C_out, C_in, 3, 3)`` from
    rows channel-major; ``MatMul`` as is; ``ConvTranspose`` ``(C_in, C_out, 3, 3)`` from
    columns (dy, dx, channel)."""
    out = {}
    for i, (name, w) in enumerate(zip(LAYERS, ws, strict=True)):
        w = np.asarray(w)
        rows, cols = cfg.shapes[i]
        if name.startswith("conv"):
            w = w.T.reshape(cols, rows // 9, 3, 3)
        elif name.startswith("tconv"):
            w = w.reshape(rows, 3, 3, cols // 9).transpose(0, 3, 1, 2)
        out[f"W_{name}"] = np.ascontiguousarray(w)
    return out


def vae_graph(net: TrainedVAE, *, name: str = "spiking_vae") -> Graph:
    """The trained pop-up VAE (or a weight-trained one: its own weights) as a
    :class:`Graph` (module docstring)."""
    cfg = net.config
    c, lat, t_n = cfg.channels, cfg.latent, cfg.n_frames
    consts: dict[str, np.ndarray] = dict(onnx_weights(net.scaled_weights(), cfg))
    nodes: list[Node] = []

    def const(key: str, value, dtype=np.float32) -> str:
        consts[key] = np.asarray(value, dtype=dtype)
        return key

    def node(op: str, inputs: list[str], out: str, **attrs) -> str:
        nodes.append(Node(name=out, op=op, inputs=tuple(inputs), outputs=(out,), attrs=attrs))
        return out

    one, tau, v_th = const("one", 1.0), const("tau", cfg.tau), const("v_th", cfg.v_th)
    offset = const("offset", net.offset.reshape(1, 1, IMAGE, IMAGE))
    n_px = IMAGE * IMAGE
    img = node("Slice", ["x", const("img_start", [0], np.int64),
                         const("img_end", [n_px], np.int64), const("axis1", [1], np.int64)],
               "img_flat")
    img = node("Reshape", [img, const("img_shape", [-1, 1, IMAGE, IMAGE], np.int64)], "img")
    conv = dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    tconv = dict(conv, output_padding=[1, 1])

    def lif(tag: str, x: str, state: tuple[str, str] | None) -> tuple[str, str]:
        if state is None:  # zero state: u_1 = I_1
            u = x
        else:
            u_prev, o_prev = state
            keep = node("Sub", [one, o_prev], f"{tag}_keep")
            leak = node("Mul", [u_prev, tau], f"{tag}_leak")
            u = node("Add", [node("Mul", [leak, keep], f"{tag}_reset"), x], f"{tag}_u")
        o = node("Cast", [node("Greater", [u, v_th], f"{tag}_fire")], f"{tag}_o", to=ONNX_FLOAT)
        return u, o

    states: dict[str, tuple[str, str] | None] = dict.fromkeys(
        ("lif1", "lif2", "lif3", "lif_dec", "lif4", "lif5"))

    def mm(layer: str, op: str, x: str, s: str, **attrs) -> str:
        """A matrix of step suffix ``s``: every step reads the one initializer ``W_<layer>``."""
        return node(op, [x, f"W_{layer}"], f"{layer}{s}", **attrs)

    def step(key: str, x: str, s: str) -> str:
        states[key] = lif(f"{key}{s}", x, states[key])
        return states[key][1]

    images, u_out = [], None
    for t in range(t_n):
        s = "" if t == 0 else f"_t{t + 1}"
        cur = img
        for i in (1, 2, 3):
            cur = step(f"lif{i}", mm(f"conv{i}", "Conv", cur, s, **conv), s)
        flat = node("Transpose", [cur], f"enc_in_yxc{s}", perm=[0, 2, 3, 1])
        flat = node("Reshape", [flat, const("flat_shape", [-1, 16 * c], np.int64)],
                    f"enc_in{s}")
        p = node("Sigmoid", [mm("enc", "MatMul", flat, s)], f"p{s}")
        # the step's draws follow the image and the earlier steps' draws
        u = node("Slice", ["x", const(f"u_start{s}", [n_px + t * lat], np.int64),
                           const(f"u_end{s}", [n_px + (t + 1) * lat], np.int64), "axis1"],
                 f"u{s}")
        z = node("Cast", [node("Less", [u, p], f"sample{s}")], f"z{s}", to=ONNX_FLOAT)
        h = step("lif_dec", mm("dec", "MatMul", z, s), s)
        h = node("Reshape", [h, const("dec_shape", [-1, 4, 4, c], np.int64)], f"dec_yxc{s}")
        cur = node("Transpose", [h], f"dec_map{s}", perm=[0, 3, 1, 2])
        for i, key in ((1, "lif4"), (2, "lif5")):
            cur = step(key, mm(f"tconv{i}", "ConvTranspose", cur, s, **tconv), s)
        out = mm("tconv3", "ConvTranspose", cur, s, **tconv)
        u_out = out if u_out is None else node("Add", [u_out, out], f"U{s}")
        mean = node("Div", [u_out, const(f"t{s}", t + 1.0)], f"U_mean{s}")
        images.append(node("Tanh", [node("Add", [mean, offset], f"pre_image{s}")],
                           f"image{s}"))
    node("Concat", images, "images", axis=1)
    return Graph(name=name,
                 inputs=(TensorSpec(name="x", shape=(None, n_px + t_n * lat)),),
                 outputs=(TensorSpec(name="images", shape=(None, t_n, IMAGE, IMAGE)),),
                 nodes=tuple(nodes), constants=consts, opset=OPSET)


def exported_inputs(masked: np.ndarray, cfg: VAEConfig, seed: int) -> np.ndarray:
    """The graph's input for masked images ``(N, 32, 32)``: each image's pixels and the
    latent draws the workload uses with ``seed`` (:func:`latent_uniforms`), ``(N, 1024 + T
    * latent)`` float32."""
    masked = np.asarray(masked, np.float32)
    n = masked.shape[0]
    u = latent_uniforms(seed, n, cfg).transpose(1, 0, 2).reshape(n, -1)
    return np.concatenate([masked.reshape(n, -1), u], axis=1)
