"""The NeRF and D-NeRF networks (NF paper, Methods): low-rank ReLU MLPs on Gaussian encodings.

NeRF (one *canonical* network)::

    f   = GE(x / bound)                       Gaussian encoding, the analog encoder of the CT task
    h_0 = relu(f W_0 + b_0)
    h_k = relu(in_k U_k V_k + b_k)            k = 1 .. depth-1; in_k = [h_{k-1}, f] after the
                                              skip layer, else h_{k-1}; U_k: in x rank
    sigma = relu(h W_s + b_s)                 density head (per scene unit)
    g   = h U_f V_f + b_f                     feature vector (no activation)
    h_v = relu([g, GE_d(d)] W_v + b_v)        with the view direction's encoding
    rgb = sigmoid(h_v W_c + b_c)

``rank = 0`` makes every ``U V`` pair one full matrix ``H``. The paper's network
(:data:`PAPER_NERF`): depth 8, width 256, rank 32, skip after the fifth layer (its
activation concatenated with ``f``, as in NeRF), view layer of width 128.

D-NeRF adds a *deformation* network of the same trunk form (NF paper eq. 8;
Pumarola et al. 2021)::

    [GE_w(x / bound), E(t)] -> trunk -> u = h W_x + b_x,   dx = t * u,   x' = x / bound + dx

(``GE_w``: a Gaussian encoding of lower frequency than ``GE``, so the deformation is
smooth in space), and evaluates the canonical network at ``x'``: the density and
colour of the scene at ``t = 0``. ``x'`` is clamped to ``[-1, 1]^3``, the box the
encodings take, and so are the sample points (in the box but for rounding, and for
rays that miss it, whose samples have zero length). The factor ``t`` makes ``dx = 0``
at ``t = 0`` exactly (D-NeRF sets it there by case).
``E(t) = [t, sin(2 pi f_j t), cos(2 pi f_j t)]`` with ``f_j = 2^j / 2`` turns per unit
of time, ``j < time_frequencies``. Both networks have depth 4 in the paper
(:data:`PAPER_DNERF`).

The forward pass is written once, over an *ops* object that does each step
(matrix product, bias, activation, concatenation, encoding): numpy float64
(:class:`SoftwareOps`), JAX for training (:mod:`.train`), and the hardware, every
matrix on its analog layer (:mod:`.deploy`).

Parameters are one flat mapping, ``"canonical/W_0"``, ``"deform/U_2"`` ...;
initialisation He-uniform for the ReLU layers (the low-rank pair ``U ~
U(+-sqrt(6/n_in))``, ``V ~ U(+-sqrt(6/rank))/sqrt(rank)``... see
:func:`init_params`), biases zero but the density head's (0.1, so every ray starts
with some density to learn from).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from circuits.errors import ConfigError, check_int
from cosim.workloads.field.encoder import EncoderConfig

Params = dict[str, np.ndarray]
NETS = ("canonical", "deform")


@dataclass(frozen=True, kw_only=True)
class NetConfig:
    """One trunk: ``depth`` ReLU layers of ``width`` neurons.

    Attributes:
        depth: layers of the trunk (the first a full matrix, the others low-rank pairs).
        width: neurons per layer.
        rank: rank of the ``U V`` pairs; 0 for full matrices.
        skip: the input encoding is concatenated to the activation of this layer
            (1-based; NeRF: 5, after the fifth); 0 for none.
    """

    depth: int = 8
    width: int = 256
    rank: int = 32
    skip: int = 5

    def __post_init__(self) -> None:
        check_int("network depth", self.depth, 1, 32)
        check_int("network width", self.width, 1, 4096)
        check_int("network rank", self.rank, 0, 4096)
        if self.rank > self.width:
            raise ConfigError(f"network rank ({self.rank}) must be <= width ({self.width})")
        check_int("skip layer", self.skip, 0, 32)
        if self.skip >= self.depth and self.skip != 0:
            raise ConfigError(f"skip layer ({self.skip}) must be below the depth "
                              f"({self.depth}), or 0 for none")


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """The network: encodings, canonical trunk, view branch, deformation (D-NeRF).

    Attributes:
        position: encoding of ``x / bound`` (Gaussian on RRAM random pairs by default).
        direction: encoding of the unit view direction.
        warp: the deformation network's encoding of ``x / bound`` (D-NeRF); of lower
            frequency than ``position``, so the deformation it learns is smooth.
        canonical: the canonical (NeRF) trunk.
        view_width: neurons of the view layer.
        dynamic: add the deformation network (D-NeRF).
        deform: the deformation trunk.
        time_frequencies: sin/cos pairs of the time encoding (D-NeRF).
    """

    position: EncoderConfig = field(default_factory=lambda: EncoderConfig(
        kind="gaussian", n_frequencies=64, sigma=2.0))
    direction: EncoderConfig = field(default_factory=lambda: EncoderConfig(
        kind="gaussian", n_frequencies=8, sigma=0.5))
    warp: EncoderConfig = field(default_factory=lambda: EncoderConfig(
        kind="gaussian", n_frequencies=8, sigma=0.5))
    canonical: NetConfig = field(default_factory=NetConfig)
    view_width: int = 128
    dynamic: bool = False
    deform: NetConfig = field(default_factory=lambda: NetConfig(depth=4, skip=0))
    time_frequencies: int = 4

    def __post_init__(self) -> None:
        check_int("view width", self.view_width, 1, 4096)
        check_int("time frequencies", self.time_frequencies, 0, 16)
        if not isinstance(self.dynamic, bool):
            raise ConfigError(f"dynamic must be true or false, got {self.dynamic!r}")

    @property
    def nets(self) -> tuple[str, ...]:
        return ("deform", "canonical") if self.dynamic else ("canonical",)

    def net(self, name: str) -> NetConfig:
        return self.canonical if name == "canonical" else self.deform

    @property
    def encoders(self) -> dict[str, EncoderConfig]:
        """The encodings the network uses, by name."""
        out = {"position": self.position, "direction": self.direction}
        if self.dynamic:
            out["warp"] = self.warp
        return out

    @property
    def time_features(self) -> int:
        return 1 + 2 * self.time_frequencies

    def input_features(self, name: str) -> int:
        """Width of net ``name``'s input encoding."""
        if name == "deform":
            return self.warp.n_features + self.time_features
        return self.position.n_features


PAPER_NERF = ModelConfig()
"""NF paper's NeRF: depth 8, width 256, rank 32, skip after layer 5, view layer 128."""
PAPER_DNERF = ModelConfig(canonical=NetConfig(depth=4, skip=0), dynamic=True,
                          deform=NetConfig(depth=4, skip=0))
"""NF paper's D-NeRF: 4-layer deformation and canonical networks (width 256, rank 32)."""


def layer_names(cfg: ModelConfig, params: Params | None = None) -> list[str]:
    """Every weight matrix in forward order (each one analog layer).

    With ``params``, low-rank or full is read from them (a cut network may mix).
    """
    names: list[str] = []
    for net in cfg.nets:
        n = cfg.net(net)
        names.append(f"{net}/W_0")
        for k in range(1, n.depth):
            lowrank = (f"{net}/U_{k}" in params) if params is not None else n.rank > 0
            names += [f"{net}/U_{k}", f"{net}/V_{k}"] if lowrank else [f"{net}/H_{k}"]
        if net == "deform":
            names.append("deform/W_x")
        else:
            lowrank = ("canonical/U_f" in params) if params is not None else n.rank > 0
            names += (["canonical/W_s"] + (["canonical/U_f", "canonical/V_f"] if lowrank
                                           else ["canonical/H_f"])
                      + ["canonical/W_v", "canonical/W_c"])
    return names


def role(name: str) -> str:
    """``input``, ``hidden`` or ``output``: which bit width a matrix gets on hardware."""
    last = name.rsplit("/", 1)[-1]
    if last == "W_0":
        return "input"
    if last in ("W_s", "W_c", "W_x"):
        return "output"
    return "hidden"


def init_params(cfg: ModelConfig, rng: np.random.Generator) -> Params:
    """Initial parameters (module docstring), float32."""
    def u(shape: tuple[int, int], bound: float) -> np.ndarray:
        return rng.uniform(-bound, bound, shape).astype(np.float32)

    p: Params = {}
    for net in cfg.nets:
        n = cfg.net(net)
        f_in = cfg.input_features(net)
        w = n.width
        p[f"{net}/W_0"] = u((f_in, w), np.sqrt(6.0 / f_in))
        p[f"{net}/b_0"] = np.zeros(w, np.float32)
        for k in range(1, n.depth):
            n_in = w + f_in if k == n.skip else w
            if n.rank:
                p[f"{net}/U_{k}"] = u((n_in, n.rank), np.sqrt(6.0 / n_in))
                p[f"{net}/V_{k}"] = u((n.rank, w), np.sqrt(3.0 / n.rank))
            else:
                p[f"{net}/H_{k}"] = u((n_in, w), np.sqrt(6.0 / n_in))
            p[f"{net}/b_{k}"] = np.zeros(w, np.float32)
        if net == "deform":
            p["deform/W_x"] = u((w, 3), 1e-3 * np.sqrt(6.0 / w))  # start near no motion
            p["deform/b_x"] = np.zeros(3, np.float32)
            continue
        p["canonical/W_s"] = u((w, 1), np.sqrt(6.0 / w))
        p["canonical/b_s"] = np.full(1, 0.1, np.float32)
        if n.rank:
            p["canonical/U_f"] = u((w, n.rank), np.sqrt(6.0 / w))
            p["canonical/V_f"] = u((n.rank, w), np.sqrt(3.0 / n.rank))
        else:
            p["canonical/H_f"] = u((w, w), np.sqrt(6.0 / w))
        p["canonical/b_f"] = np.zeros(w, np.float32)
        n_v = w + cfg.direction.n_features
        p["canonical/W_v"] = u((n_v, cfg.view_width), np.sqrt(6.0 / n_v))
        p["canonical/b_v"] = np.zeros(cfg.view_width, np.float32)
        p["canonical/W_c"] = u((cfg.view_width, 3), np.sqrt(6.0 / cfg.view_width))
        p["canonical/b_c"] = np.zeros(3, np.float32)
    return p


def n_weights(params: Params) -> int:
    """Entries of the weight matrices (biases excluded)."""
    return int(sum(v.size for k, v in params.items() if v.ndim == 2))


def n_params(params: Params) -> int:
    """Weights and biases."""
    return int(sum(v.size for v in params.values()))


def structure(params: Params) -> dict[str, int]:
    """Width, rank and view width a set of parameters has (of the canonical network)."""
    rank = params["canonical/U_1"].shape[1] if "canonical/U_1" in params else 0
    return {"width": int(params["canonical/b_0"].shape[0]), "rank": int(rank),
            "view_width": int(params["canonical/b_v"].shape[0])}


# -- the forward pass, once ----------------------------------------------------------------

class Ops:
    """One way of computing the network: numpy (this class), JAX, or the hardware.

    Subclasses override the steps; every step takes and returns arrays of the
    ops' own array module ``xp``.
    """

    xp: Any = np

    def __init__(self, params: Params, encodings: Encodings):
        self.params = params
        self.encodings = encodings

    def has(self, name: str) -> bool:
        return name in self.params

    def mm(self, name: str, x: Any) -> Any:
        return x @ self.params[name]

    def bias(self, z: Any, name: str) -> Any:
        return z + self.params[name]

    def relu(self, z: Any) -> Any:
        return self.xp.maximum(z, 0.0)

    def sigmoid(self, z: Any) -> Any:
        return 1.0 / (1.0 + self.xp.exp(-z))

    def concat(self, parts: Sequence[Any]) -> Any:
        return self.xp.concatenate(list(parts), axis=-1)

    def mul(self, a: Any, b: Any) -> Any:
        return a * b

    def add(self, a: Any, b: Any) -> Any:
        return a + b

    def clip_unit(self, x: Any) -> Any:
        """``x`` clamped to ``[-1, 1]`` (the box the encodings take)."""
        return self.xp.clip(x, -1.0, 1.0)

    def rendered(self, rays: int, samples: int) -> None:
        """Told after compositing ``rays`` rays of ``samples`` samples (the hardware counts)."""

    def encode(self, kind: str, x: Any) -> Any:
        """``position`` or ``warp`` (points in ``[-1, 1]^3``), ``direction`` (unit vectors)
        or ``time`` (``(M,)``)."""
        return self.encodings.features(kind, x, self.xp)


@dataclass(frozen=True, kw_only=True, eq=False)
class Encodings:
    """The encodings' matrices as the software computes with them.

    Attributes:
        matrices: ``B`` of each Fourier encoding by name (``position``, ``direction``,
            ``warp``), ``(m, 3)``; ``None`` for the raw input.
        time_frequencies: ``f_j`` of the time encoding (turns per unit of time).
    """

    matrices: dict[str, np.ndarray | None]
    time_frequencies: np.ndarray

    def features(self, kind: str, x: Any, xp: Any) -> Any:
        if kind == "time":
            p = x[:, None] * xp.asarray(self.time_frequencies)[None, :]
            return xp.concatenate([x[:, None], xp.sin(2 * np.pi * p), xp.cos(2 * np.pi * p)],
                                  axis=-1)
        b = self.matrices[kind]
        if b is None:
            return x
        p = x @ xp.asarray(b).T
        return xp.concatenate([x, xp.sin(2 * np.pi * p), xp.cos(2 * np.pi * p)], axis=-1)


def time_frequencies(n: int) -> np.ndarray:
    """``f_j = 2^j / 2``, ``j < n`` (module docstring)."""
    return 0.5 * 2.0 ** np.arange(n)


def trunk(ops: Ops, net: str, cfg: NetConfig, f: Any) -> Any:
    """The ReLU trunk of net ``net`` on its input encoding ``f``."""
    h = ops.relu(ops.bias(ops.mm(f"{net}/W_0", f), f"{net}/b_0"))
    for k in range(1, cfg.depth):
        x = ops.concat([h, f]) if k == cfg.skip else h
        z = (ops.mm(f"{net}/V_{k}", ops.mm(f"{net}/U_{k}", x)) if ops.has(f"{net}/U_{k}")
             else ops.mm(f"{net}/H_{k}", x))
        h = ops.relu(ops.bias(z, f"{net}/b_{k}"))
    return h


def radiance(ops: Ops, cfg: ModelConfig, x: Any, d: Any, t: Any | None) -> tuple[Any, Any]:
    """Density ``(M,)`` and colour ``(M, 3)`` at normalised points ``x`` (``x / bound``),
    unit directions ``d`` ``(M, 3)`` and times ``t`` ``(M,)`` (D-NeRF; else ``None``)."""
    if cfg.dynamic:
        h = trunk(ops, "deform", cfg.deform, ops.concat([ops.encode("warp", x),
                                                         ops.encode("time", t)]))
        u = ops.bias(ops.mm("deform/W_x", h), "deform/b_x")
        x = ops.clip_unit(ops.add(x, ops.mul(u, t[:, None])))
    f = ops.encode("position", x)
    h = trunk(ops, "canonical", cfg.canonical, f)
    sigma = ops.relu(ops.bias(ops.mm("canonical/W_s", h), "canonical/b_s"))[:, 0]
    g = (ops.mm("canonical/V_f", ops.mm("canonical/U_f", h)) if ops.has("canonical/U_f")
         else ops.mm("canonical/H_f", h))
    g = ops.bias(g, "canonical/b_f")
    hv = ops.relu(ops.bias(ops.mm("canonical/W_v", ops.concat([g, ops.encode("direction", d)])),
                           "canonical/b_v"))
    rgb = ops.sigmoid(ops.bias(ops.mm("canonical/W_c", hv), "canonical/b_c"))
    return sigma, rgb


class SoftwareOps(Ops):
    """The network in numpy float64 (the "software" result)."""

    def __init__(self, params: Params, encodings: Encodings):
        super().__init__({k: np.asarray(v, dtype=float) for k, v in params.items()}, encodings)


class RecordingOps(SoftwareOps):
    """:class:`SoftwareOps` that keeps the largest ``|input|`` of every matrix."""

    def __init__(self, params: Params, encodings: Encodings):
        super().__init__(params, encodings)
        self.largest: dict[str, float] = {}

    def mm(self, name: str, x: Any) -> Any:
        self.largest[name] = max(self.largest.get(name, 0.0), float(np.max(np.abs(x))))
        return super().mm(name, x)


# -- structured pruning and rank cuts ------------------------------------------------------

def _neuron_groups(cfg: ModelConfig, p: Params) -> list[tuple[list[tuple[str, int]], list[str],
                                                              list[tuple[str, slice]]]]:
    """Every group of neurons: (matrices into it with the axis of its neurons, biases,
    matrices out of it with the rows its neurons are)."""
    groups = []
    for net in cfg.nets:
        n = cfg.net(net)
        for k in range(n.depth):
            if k == 0:
                into = [(f"{net}/W_0", 1)]
            elif f"{net}/U_{k}" in p:
                into = [(f"{net}/V_{k}", 1)]
            else:
                into = [(f"{net}/H_{k}", 1)]
            if k + 1 < n.depth:
                nxt = f"{net}/U_{k + 1}" if f"{net}/U_{k + 1}" in p else f"{net}/H_{k + 1}"
                width = p[f"{net}/b_{k}"].shape[0]
                out = [(nxt, slice(0, width))]
            elif net == "deform":
                out = [("deform/W_x", slice(None))]
            else:
                f_name = "canonical/U_f" if "canonical/U_f" in p else "canonical/H_f"
                out = [("canonical/W_s", slice(None)), (f_name, slice(None))]
            groups.append((into, [f"{net}/b_{k}"], out))
        if net == "canonical":
            f_in = "canonical/V_f" if "canonical/U_f" in p else "canonical/H_f"
            width = p["canonical/b_f"].shape[0]
            groups.append(([(f_in, 1)], ["canonical/b_f"],
                           [("canonical/W_v", slice(0, width))]))
            groups.append(([("canonical/W_v", 1)], ["canonical/b_v"],
                           [("canonical/W_c", slice(None))]))
    return groups


def prune(cfg: ModelConfig, params: Params, width: int, view_width: int | None = None
          ) -> Params:
    """Remove neurons physically: every layer keeps its ``width`` most important neurons
    (the view layer ``view_width``, default ``width // 2``).

    A neuron's importance is ``|incoming weights| * |outgoing weights|`` (2-norms of
    its column into the layer and its row out of it); the neurons kept keep their
    order. Layers already at or below the target are left alone.
    """
    check_int("pruned width", width, 1, 4096)
    view_width = max(1, width // 2) if view_width is None else view_width
    p = {k: np.array(v) for k, v in params.items()}
    for into, biases, out in _neuron_groups(cfg, p):
        n = p[biases[0]].shape[0]
        keep = view_width if biases[0] == "canonical/b_v" else width
        if n <= keep:
            continue
        m_in, axis = into[0]
        score = np.linalg.norm(p[m_in], axis=0 if axis == 1 else 1)
        score = score * np.sqrt(sum(np.sum(p[m][rows] ** 2, axis=1)
                                    for m, rows in out))
        idx = np.sort(np.argsort(-score, kind="stable")[:keep])
        p[m_in] = np.take(p[m_in], idx, axis=axis)
        for b in biases:
            p[b] = p[b][idx]
        for m, rows in out:
            start = rows.start or 0
            block = p[m][rows][idx]
            rest = [p[m][:start], block] + ([p[m][rows.stop:]] if rows.stop is not None else [])
            p[m] = np.concatenate(rest, axis=0)
    return p


def cut_rank(params: Params, rank: int) -> Params:
    """Every ``U V`` pair (and full hidden matrix) cut to ``rank`` by SVD
    (:func:`cosim.workloads.field.mlp.truncate_rank`, pair by pair)."""
    import re

    from cosim.workloads.field.mlp import truncate_rank

    out = dict(params)
    for key in params:
        m = re.fullmatch(r"(\w+)/(U|H)_(\w+)", key)
        if m is None:
            continue
        net, _, idx = m.groups()
        one: Params = {"b1": params[f"{net}/b_{idx}"]}
        if f"{net}/U_{idx}" in params:
            one["U1"], one["V1"] = params[f"{net}/U_{idx}"], params[f"{net}/V_{idx}"]
        else:
            one["H1"] = params[f"{net}/H_{idx}"]
        cut = truncate_rank(one, rank)
        out.pop(f"{net}/H_{idx}", None)
        out[f"{net}/U_{idx}"], out[f"{net}/V_{idx}"] = cut["U1"], cut["V1"]
    return out


def compress(cfg: ModelConfig, params: Params, width: int, rank: int,
             view_width: int | None = None) -> Params:
    """:func:`prune` to ``width`` then :func:`cut_rank` to ``rank`` (0: ranks kept)."""
    p = prune(cfg, params, width, view_width)
    return cut_rank(p, rank) if rank else p


def dense_equivalent(cfg: ModelConfig, params: Params) -> int:
    """Parameters of the same network with full-rank matrices (Fig. 5d's baseline)."""
    total = 0
    names = set(layer_names(cfg, params))
    for k, v in params.items():
        if k not in names or v.ndim == 1:
            total += v.size
    for name in names:
        last = name.rsplit("/", 1)[-1]
        if last.startswith("U_"):
            total += params[name].shape[0] * params[name.replace("/U_", "/V_")].shape[1]
        elif not last.startswith("V_"):
            total += params[name].size
    return int(total)


def shapes_config(cfg: ModelConfig, params: Params) -> ModelConfig:
    """``cfg`` with the width, rank and view width ``params`` have (after pruning)."""
    s = structure(params)
    def net_of(name: str, n: NetConfig) -> NetConfig:
        w = int(params[f"{name}/b_0"].shape[0])
        r = params[f"{name}/U_1"].shape[1] if f"{name}/U_1" in params else 0
        return replace(n, width=w, rank=int(min(r, w)))
    return replace(cfg, canonical=net_of("canonical", cfg.canonical),
                   view_width=s["view_width"],
                   deform=net_of("deform", cfg.deform) if cfg.dynamic else cfg.deform)



# -- rays through the network ------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Geometry:
    """Where samples are taken along rays (:mod:`.render`).

    Attributes:
        bound: the scene lies in ``[-bound, bound]^3``; positions are encoded as
            ``x / bound``. Blender scenes: 1.5.
        near, far: range of distances along each ray; Blender scenes 2 and 6.
    """

    bound: float = 1.5
    near: float = 2.0
    far: float = 6.0

    def __post_init__(self) -> None:
        for name in ("bound", "near", "far"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
                raise ConfigError(f"{name} must be a finite number, got {v!r}")
        if self.bound <= 0:
            raise ConfigError(f"bound must be > 0, got {self.bound!r}")
        if not 0 <= self.near < self.far:
            raise ConfigError(f"near and far must satisfy 0 <= near < far, got {self.near!r}, "
                              f"{self.far!r}")


def render_rays(ops: Ops, cfg: ModelConfig, geom: Geometry, o: Any, d: Any, t: Any | None,
                t0: Any, t1: Any, samples: int, jitter: Any = None) -> Any:
    """Colour ``(N, 3)`` of rays ``o + s d`` (``s`` in ``[t0, t1]``) at times ``t`` through
    the network of ``ops``: samples (:func:`.render.sample_along`), :func:`radiance`,
    compositing on the white background (:func:`.render.composite`)."""
    from cosim.workloads.nerf.render import composite, sample_along

    xp = ops.xp
    s, delta = sample_along(t0, t1, samples, jitter, xp)
    x, ds, ts = ray_samples(ops, cfg, geom, o, d, t, s)
    sigma, rgb = radiance(ops, cfg, x, ds, ts)
    colour, _, _ = composite(sigma.reshape(s.shape), rgb.reshape(s.shape + (3,)), delta,
                             xp.ones(3), xp)
    ops.rendered(s.shape[0], samples)
    return colour


def ray_samples(ops: Ops, cfg: ModelConfig, geom: Geometry, o: Any, d: Any, t: Any | None,
                s: Any) -> tuple[Any, Any, Any | None]:
    """What :func:`radiance` takes for rays ``o + s d`` at distances ``s`` ``(N, n)``:
    normalised points (clamped to the box), directions and times (``None`` when static),
    ``(N n, 3), (N n, 3), (N n,)``."""
    xp = ops.xp
    x = ops.clip_unit(ops.mul((o[:, None, :] + s[..., None] * d[:, None, :]).reshape(-1, 3),
                              1.0 / geom.bound))
    ds = xp.broadcast_to(d[:, None, :], s.shape + (3,)).reshape(-1, 3)
    ts = xp.broadcast_to(t[:, None], s.shape).reshape(-1) if cfg.dynamic else None
    return x, ds, ts
