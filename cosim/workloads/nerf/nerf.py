"""Novel-view synthesis (NF paper's second and third tasks): train, deploy, evaluate. No file I/O.

1. :func:`prepare`: the scene's training rays, the encoders (the Gaussian ones form
   their random pairs on analog layers of the hardware; where the hardware does
   not read them exactly their ``B`` is measured through it, as the CT task does),
   the initial network;
2. :func:`train`: JAX/optax (:mod:`.train`), with optional structured pruning;
3. :func:`evaluate`: every test view rendered in software (numpy float64 on the
   encodings as the cells hold them) and on hardware with HAQ and with PTQ (every
   matrix on its analog layer, :mod:`.deploy`), PSNR and SSIM per view.

Metrics (:data:`CONVENTION`): PSNR ``10 log10(1 / MSE)`` of each view's RGB on the
white background (data range 1, predictions not clipped), averaged over views as
NeRF reports; SSIM with scikit-image on the RGB image (``channel_axis``), data
range 1, its default 7 x 7 window, averaged over views. LPIPS needs a network's
pretrained weights, which this toolkit cannot download; it is left out
(:data:`LPIPS_NOTE`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from circuits.errors import ConfigError, check_int
from cosim.accounting.area import Hardware
from cosim.accounting.events import Events
from cosim.accounting.workload import Workload, mvm_workload
from cosim.engine.options import SimOptions
from cosim.hardware.spec import HardwareSpec
from cosim.programming.base import MAX_BITS
from cosim.workloads.field.cordic import CordicConfig
from cosim.workloads.field.encoder import Encoder, build_encoder
from cosim.workloads.field.field import measured_projection, reads_exactly, workload_sim
from cosim.workloads.field.metrics import psnr
from cosim.workloads.field.mlp import TrainState
from cosim.workloads.nerf.data import Scene
from cosim.workloads.nerf.deploy import DeployedNerf, HardwareOps, Mapping, deploy
from cosim.workloads.nerf.model import (
    Encodings,
    Geometry,
    ModelConfig,
    Params,
    RecordingOps,
    SoftwareOps,
    dense_equivalent,
    init_params,
    layer_names,
    n_params,
    render_rays,
    role,
    structure,
    time_frequencies,
)
from cosim.workloads.nerf.render import ray_segments
from cosim.workloads.nerf.train import TrainConfig, TrainingRays, train_nerf

METHODS = ("software", "haq", "ptq")
CONVENTION = ("PSNR = 10 log10(1 / MSE) per view, RGB on the white background, data range 1, "
              "predictions unclipped, mean over views; SSIM: scikit-image "
              "structural_similarity on the RGB view (channel_axis), data_range 1, uniform "
              "7x7 window, K1 0.01, K2 0.03, mean over views")
LPIPS_NOTE = ("LPIPS is left out: it needs a pretrained network's weights (AlexNet or VGG), "
              "which are downloaded from the internet and ship with no package this toolkit "
              "installs")
PAPER = {"nerf": {"psnr_haq": 26.66, "energy_vs_a100": 35.5, "energy_vs_jetson_nano": 24.4,
                  "area_vs_a100": 38.8, "area_vs_jetson_nano": 228.8,
                  "low_rank_reduction": 0.4241, "pruning_reduction": 0.9038},
         "dnerf": {"psnr_haq": 29.19, "energy_vs_a100": 47.2, "energy_vs_jetson_nano": 32.5,
                   "area_vs_a100": 6.16, "area_vs_jetson_nano": 36.32}}
"""NF paper: average PSNR over the Blender (Fig. 5f) and D-NeRF (Fig. 6c) scenes at
400 x 400, efficiency against A100 and Jetson Nano, parameter reductions (Fig. 5d)."""
CLAIMS = {False: "NeRF", True: "D-NeRF"}
"""Workload names of the NF paper's claims (``claimed_ratios.csv``)."""


@dataclass(frozen=True, kw_only=True)
class NerfConfig:
    """One NeRF or D-NeRF run.

    Attributes:
        model: the network (its ``dynamic`` must match the scene's).
        training: steps, rays, samples, learning rate, pruning.
        geometry: scene box, near and far.
        bits: HAQ/PTQ cells per weight of the input, hidden and output matrices
            (NF paper's HAPO optimum for the CT task: 14/14/12).
        amp_ratio: HAQ's ``s``.
        weight_scaling: full-scale weight per ``"matrix"`` or ``"column"``.
        cordic: the digital core's CORDIC.
        eval_views: test views evaluated (evenly spread over the test split).
        chunk: rays per call of the deployed network (memory bound).
        seed: seed of the encoders, the initialisation and the write noise.
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainConfig = field(default_factory=TrainConfig)
    geometry: Geometry = field(default_factory=Geometry)
    bits: tuple[int, int, int] = (14, 14, 12)
    amp_ratio: float = 1.5
    weight_scaling: str = "matrix"
    cordic: CordicConfig = field(default_factory=CordicConfig)
    eval_views: int = 8
    chunk: int = 256
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.bits) != 3:
            raise ConfigError(f"bits must be three widths (input, hidden, output), got "
                              f"{self.bits!r}")
        for r, b in zip(("input", "hidden", "output"), self.bits, strict=True):
            check_int(f"{r} bits", b, 1, MAX_BITS)
        check_int("evaluated views", self.eval_views, 1, 10_000)
        check_int("rays per deployed call", self.chunk, 1, 1 << 20)
        check_int("seed", self.seed, 0, 2**32 - 1)
        for scheme in ("haq", "ptq"):
            self.mapping(scheme).make_scheme("canonical/W_0")  # s and bits by the schemes' rules

    def mapping(self, scheme: str) -> Mapping:
        return Mapping(scheme=scheme, bits=tuple(self.bits), amp_ratio=self.amp_ratio,
                       scaling=self.weight_scaling)


def config_from_dict(d: dict[str, Any]) -> NerfConfig:
    """The inverse of ``dataclasses.asdict(cfg)`` (a checkpoint's stored config).

    Raises:
        ConfigError: a key that is not a field, or a value the config refuses.
    """
    from cosim.workloads.field.encoder import ONE_READ_CALIBRATION, EncoderConfig
    from cosim.workloads.nerf.model import NetConfig

    def enc(e: dict[str, Any]) -> EncoderConfig:
        return EncoderConfig(**{**ONE_READ_CALIBRATION,
                                **{k: v for k, v in e.items() if k != "cordic"}},
                             cordic=CordicConfig(**e["cordic"]))

    try:
        m = dict(d["model"])
        model = ModelConfig(position=enc(m.pop("position")), direction=enc(m.pop("direction")),
                            warp=enc(m.pop("warp")),
                            canonical=NetConfig(**m.pop("canonical")),
                            deform=NetConfig(**m.pop("deform")), **m)
        rest = {k: v for k, v in d.items()
                if k not in ("model", "training", "geometry", "cordic", "bits")}
        return NerfConfig(model=model, training=TrainConfig(**d["training"]),
                          geometry=Geometry(**d["geometry"]), cordic=CordicConfig(**d["cordic"]),
                          bits=tuple(d["bits"]), **rest)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"stored NeRF config is not valid: {exc}") from None


def hardware_text(hardware: HardwareSpec, sim: SimOptions) -> str:
    """The hardware and backend in words (for every figure and table)."""
    return f"{hardware.describe()}; {sim.describe()}"


@dataclass(frozen=True, kw_only=True, eq=False)
class Prepared:
    """A scene ready to train on.

    Attributes:
        scene: the views.
        encoders: the encoders by name (their pairs on the hardware).
        encodings: the encodings' matrices as the software uses them.
        rays: every training ray.
        views: indices of the test views evaluated.
    """

    scene: Scene
    encoders: dict[str, Encoder]
    encodings: Encodings
    rays: TrainingRays
    views: list[int]


def _streams(seed: int) -> list[np.random.SeedSequence]:
    """(position encoder, direction encoder, initialisation, HAQ writes, PTQ writes, warp
    encoder)."""
    return np.random.SeedSequence(seed).spawn(6)


def check_scene(cfg: NerfConfig, scene: Scene) -> None:
    """Refuse a network whose ``dynamic`` differs from the scene's."""
    if cfg.model.dynamic != scene.dynamic:
        kind = "dynamic (frames carry time)" if scene.dynamic else "static"
        raise ConfigError(
            f"scene {scene.source} is {kind} but the network is "
            f"{'D-NeRF' if cfg.model.dynamic else 'NeRF'}: "
            f"{'add' if scene.dynamic else 'drop'} --dynamic")


def prepare(cfg: NerfConfig, hardware: HardwareSpec, sim: SimOptions, scene: Scene) -> Prepared:
    """The training rays and encoders of ``scene`` on ``hardware`` (module docstring).

    The encoders' cells are formed from the run's seed, so the same config and
    hardware give the same ``B`` in every command (train, deploy, eval).
    """
    check_scene(cfg, scene)
    wsim = workload_sim(sim)
    s = _streams(cfg.seed)
    streams = {"position": (s[0], 0), "direction": (s[1], 1), "warp": (s[5], 2)}
    encoders = {}
    for name, enc_cfg in cfg.model.encoders.items():
        stream, offset = streams[name]
        enc = build_encoder(enc_cfg, hardware, wsim, rng=np.random.default_rng(stream),
                            seed=cfg.seed + offset)
        if enc.layer is not None and not reads_exactly(hardware, sim):
            enc = replace(enc, b=measured_projection(enc))
        encoders[name] = enc
    encodings = Encodings(matrices={k: e.b for k, e in encoders.items()},
                          time_frequencies=time_frequencies(cfg.model.time_frequencies))
    o, d, t, c = scene.rays("train")
    g = cfg.geometry
    t0, t1 = ray_segments(o, d, g.bound, g.near, g.far)
    rays = TrainingRays(o=o.astype(np.float32), d=d.astype(np.float32),
                        t=t.astype(np.float32), t0=t0.astype(np.float32),
                        t1=t1.astype(np.float32), target=c.astype(np.float32))
    n_test = len(scene.splits["test"])
    views = sorted({int(round(v)) for v in np.linspace(0, n_test - 1,
                                                       min(cfg.eval_views, n_test))})
    return Prepared(scene=scene, encoders=encoders, encodings=encodings, rays=rays,
                    views=views)


def initial_params(cfg: NerfConfig) -> Params:
    """The network's initialisation for the run's seed."""
    return init_params(cfg.model, np.random.default_rng(_streams(cfg.seed)[2]))


def train(cfg: NerfConfig, prep: Prepared, *, resume: TrainState | None = None,
          progress: Callable[[str, int, int], None] | None = None,
          on_interrupt: Callable[[TrainState], None] | None = None) -> TrainState:
    """Train the network on ``prep`` (or continue ``resume``).

    Args:
        progress: ``progress("train", step, steps)``.
        on_interrupt: called with the last training state on Ctrl-C, before the
            interrupt goes on.
    """
    def tick(step: int, loss: float) -> None:
        if progress is not None:
            progress("train", step, cfg.training.steps)

    try:
        return train_nerf(cfg.model, cfg.training, cfg.geometry, prep.encodings, prep.rays,
                          initial_params(cfg), state=resume, progress=tick)
    except KeyboardInterrupt as exc:
        if on_interrupt is not None and hasattr(exc, "state"):
            on_interrupt(exc.state)
        raise


def input_scales(cfg: NerfConfig, prep: Prepared, params: Params, rays: int = 1024
                 ) -> dict[str, float]:
    """Largest ``|input|`` of every matrix over ``rays`` training rays (seeded sample,
    bin centres) in the software network."""
    ops = RecordingOps(params, prep.encodings)
    idx = np.random.default_rng([cfg.seed, 7]).integers(0, len(prep.rays), rays)
    r = prep.rays
    for i in range(0, len(idx), cfg.chunk):
        sl = idx[i:i + cfg.chunk]
        render_rays(ops, cfg.model, cfg.geometry, r.o[sl].astype(float), r.d[sl].astype(float),
                    r.t[sl].astype(float), r.t0[sl].astype(float), r.t1[sl].astype(float),
                    cfg.training.samples)
    return {k: (v if v > 0 else 1.0) for k, v in ops.largest.items()}


def deploy_nerf(cfg: NerfConfig, hardware: HardwareSpec, sim: SimOptions, prep: Prepared,
                params: Params, scheme: str) -> DeployedNerf:
    """Write ``params`` with ``scheme`` (``haq``/``ptq``) onto analog layers (seeded)."""
    s = _streams(cfg.seed)
    return deploy(params, cfg.model, cfg.mapping(scheme), hardware, workload_sim(sim),
                  input_scales(cfg, prep, params), prep.encoders,
                  rng=np.random.default_rng(s[3 if scheme == "haq" else 4]), seed=cfg.seed,
                  cordic=cfg.cordic, time_frequencies=prep.encodings.time_frequencies)


def render_view(ops, cfg: NerfConfig, scene: Scene, split: str, index: int, chunk: int,
                tick: Callable[[int], None] | None = None) -> np.ndarray:
    """Every pixel of one view through ``ops``, ``(H, W, 3)`` (bin-centre samples)."""
    o, d, t, _ = scene.rays(split, index)
    g = cfg.geometry
    t0, t1 = ray_segments(o, d, g.bound, g.near, g.far)
    out = np.empty((len(o), 3))
    for i in range(0, len(o), chunk):
        sl = slice(i, i + chunk)
        out[sl] = render_rays(ops, cfg.model, g, o[sl], d[sl], t[sl], t0[sl], t1[sl],
                              cfg.training.samples)
        if tick is not None:
            tick(min(i + chunk, len(o)))
    return out.reshape(scene.height, scene.width, 3)


def ssim_rgb(pred: np.ndarray, truth: np.ndarray) -> float:
    """SSIM of an RGB view (:data:`CONVENTION`); views smaller than 7 x 7 use the largest
    odd window that fits (NaN below 3 x 3)."""
    from skimage.metrics import structural_similarity

    side = min(truth.shape[:2])
    win = min(7, side if side % 2 else side - 1)
    if win < 3:
        return float("nan")
    return float(structural_similarity(np.asarray(truth, float), np.asarray(pred, float),
                                       data_range=1.0, channel_axis=2, win_size=win))


@dataclass(frozen=True, kw_only=True, eq=False)
class Rendering:
    """One way of computing the test views.

    Attributes:
        name: ``software``, ``haq`` or ``ptq``.
        images: ``(views, H, W, 3)``.
        psnr_views, ssim_views: per view.
        events: of the deployed pass over every view (hardware only).
        extra_counts: CORDIC steps and SRAM accesses of that pass.
        deployed: the network on hardware.
        forward_path: ``folded`` (every layer folded to its affine map) or ``layer``.
    """

    name: str
    images: np.ndarray
    psnr_views: np.ndarray
    ssim_views: np.ndarray
    events: Events = field(default_factory=Events)
    extra_counts: dict[str, float] = field(default_factory=dict)
    deployed: DeployedNerf | None = None
    forward_path: str = ""

    @property
    def psnr(self) -> float:
        return float(np.mean(self.psnr_views))

    @property
    def ssim(self) -> float:
        return float(np.mean(self.ssim_views))


@dataclass(frozen=True, kw_only=True, eq=False)
class NerfResult:
    """Outcome of :func:`evaluate`."""

    config: NerfConfig
    hardware: HardwareSpec
    sim: SimOptions
    prep: Prepared
    training: TrainState
    renders: dict[str, Rendering]
    truth: np.ndarray
    timings_s: dict[str, float]

    @property
    def dynamic(self) -> bool:
        return self.config.model.dynamic

    def parameter_counts(self) -> list[dict[str, Any]]:
        """Fig. 5d: parameters of the dense network of the trained widths, of the
        low-rank network as configured, and of the trained (pruned) one."""
        cfg = self.config.model
        init = initial_params(self.config)
        trained = self.training.params
        dense0 = dense_equivalent(cfg, init)
        rows = [{"network": "dense (full-rank) at the configured width", "parameters": dense0,
                 **structure(init), "rank": 0},
                {"network": "low-rank, as configured", "parameters": n_params(init),
                 **structure(init)}]
        if n_params(trained) != n_params(init):
            rows.append({"network": "pruned (trained)", "parameters": n_params(trained),
                         **structure(trained)})
        for r in rows:
            r["reduction_vs_dense"] = 1.0 - r["parameters"] / dense0
        return rows

    def summary(self) -> dict[str, Any]:
        """Flat JSON-able figures (the ``--json`` object)."""
        out: dict[str, Any] = {"task": "D-NeRF" if self.dynamic else "NeRF"}
        for name, r in self.renders.items():
            out[f"psnr_{name}"] = r.psnr
            out[f"ssim_{name}"] = r.ssim
            if r.forward_path:
                out[f"forward_path_{name}"] = r.forward_path
        haq = self.renders.get("haq")
        dep = haq.deployed if haq else None
        counts = self.parameter_counts()
        scene = self.prep.scene
        out.update({
            "lpips": None, "lpips_note": LPIPS_NOTE,
            "scene": scene.source, "image_size": [scene.height, scene.width],
            "views_evaluated": list(self.prep.views),
            "train_views": len(scene.splits["train"]),
            "parameters": counts[-1]["parameters"],
            "parameter_counts": counts,
            "weights_per_layer": {n: list(np.shape(self.training.params[n]))
                                  for n in layer_names(self.config.model,
                                                       self.training.params)},
            "rram_cells_haq": dep.cells if dep else 0,
            "macros_haq": dep.macros if dep else 0,
            "training_steps": self.training.step,
            "final_loss": (float(self.training.losses[-1]) if self.training.losses.size
                           else None),
            "hardware_text": hardware_text(self.hardware, self.sim),
            "hardware_name": self.hardware.name,
            "hardware": self.hardware.as_dict(), "sim": asdict(self.sim),
            "metrics": CONVENTION, "paper": PAPER["dnerf" if self.dynamic else "nerf"],
            "config": asdict(self.config), "timings_s": dict(self.timings_s)})
        return out

    def tables(self) -> dict[str, Any]:
        """``metrics`` (means), ``metrics_views`` (per view), ``training``, ``parameters``."""
        import pandas as pd

        views = self.prep.views
        test = self.prep.scene.splits["test"]
        rows = [{"method": m, "psnr_db": r.psnr, "ssim": r.ssim, "lpips": np.nan,
                 "hardware": self.hardware.name, "backend": self.sim.backend}
                for m, r in self.renders.items()]
        per_view = [{"method": m, "view": v, "file": test.files[v],
                     "time": None if test.times is None else float(test.times[v]),
                     "psnr_db": r.psnr_views[i], "ssim": r.ssim_views[i]}
                    for m, r in self.renders.items() for i, v in enumerate(views)]
        losses = self.training.losses
        return {"metrics": pd.DataFrame(rows), "metrics_views": pd.DataFrame(per_view),
                "training": pd.DataFrame({
                    "step": np.linspace(0, self.training.step, len(losses) + 1)[1:].round(),
                    "loss": losses}),
                "parameters": pd.DataFrame(self.parameter_counts())}

    def workload(self) -> Workload:
        """The HAQ pass as a workload: one inference is one rendered frame.

        Events: those the HAQ pass counted over the evaluated views (analog layers,
        encoders, digital core, renderer). Operations a GPU does per frame: two per
        multiply-accumulate of every matrix and encoder projection, per sample,
        plus the digital work the core counted (an add or multiply one operation, a
        CORDIC evaluation one operation). Hardware: each matrix (and each
        encoder's pairs) sized as :func:`cosim.accounting.workload.mvm_workload`
        sizes one matrix at its bit width, on the run's cell kind, macro size and
        aggregation. Read steps: one per analog layer per sample, in sequence.
        """
        haq = self.renders["haq"]
        dep = haq.deployed
        hw = self.hardware
        frames = len(self.prep.views)
        scene = self.prep.scene
        samples = self.config.training.samples
        points = scene.height * scene.width * samples
        params = self.training.params
        names = layer_names(self.config.model, params)
        common = {"aggregation": hw.aggregation.kind, "macro_rows": hw.array.macro_rows,
                  "macro_cols": hw.array.macro_cols, "cell": hw.cell.kind.name}
        bits = dict(zip(("input", "hidden", "output"), self.config.bits, strict=True))
        passes = 2 if self.dynamic else 1  # D-NeRF encodes positions twice
        matrices = [(params[n].shape, bits[role(n)]) for n in names]
        macs = sum(int(np.prod(params[n].shape)) for n in names)
        analog_steps = len(names)
        for name, enc in dep.encoders.items():
            uses = passes if name == "position" else 1
            if enc.b is not None:
                macs += 3 * enc.b.shape[0] * uses
            if enc.layer is not None:
                matrices.append(((3, enc.config.n_frequencies), 2))  # a pair per weight
                analog_steps += uses
        hardware: Hardware | None = None
        for shape, b in matrices:
            w = mvm_workload({"rows": int(shape[0]), "cols": int(shape[1]), "bits": int(b),
                              **common})
            hardware = w.hardware if hardware is None else hardware + w.hardware
        ev = haq.events
        digital = (ev.digital_adds + ev.digital_mults) / frames
        extra = haq.extra_counts
        ops = (2.0 * macs * points + digital
               + extra.get("cordic_steps", 0.0) / self.config.cordic.iterations / frames)
        label = "D-NeRF" if self.dynamic else "NeRF"
        s = structure(params)
        assert hardware is not None
        return Workload(
            name=f"{label} width {s['width']} rank {s['rank']}, HAQ "
                 f"{'/'.join(map(str, self.config.bits))} bit, {scene.height}x{scene.width}x"
                 f"{samples} samples per frame",
            events=ev, extra_counts=extra, ops_per_inference=ops, inferences=float(frames),
            read_steps=float(frames * points * analog_steps), hardware=hardware,
            programming_events=dep.programming_events, claim=CLAIMS[self.dynamic],
            source=f"events counted by the analog layers, encoders, digital core and "
                   f"renderer of cosim nerf ({label}, HAQ pass over {frames} test views)")


def evaluate(cfg: NerfConfig, hardware: HardwareSpec, sim: SimOptions, prep: Prepared,
             state: TrainState, *, schemes: tuple[str, ...] = ("haq", "ptq"),
             progress: Callable[[str, int, int], None] | None = None,
             timings: dict[str, float] | None = None) -> NerfResult:
    """Render the test views in software and on hardware with each scheme; metrics."""
    timings = {} if timings is None else timings
    scene, views = prep.scene, prep.views
    test = scene.splits["test"]
    truth = test.rgb[views].astype(float)
    pixels = scene.height * scene.width * len(views)

    def run(name: str, ops) -> np.ndarray:
        imgs = []
        for k, v in enumerate(views):
            base = k * scene.height * scene.width

            def tick(done: int, base: int = base) -> None:
                if progress is not None:
                    progress(f"render {name}", base + done, pixels)

            imgs.append(render_view(ops, cfg, scene, "test", v, cfg.chunk, tick))
        return np.stack(imgs)

    def rendering(name: str, imgs: np.ndarray, **kw: Any) -> Rendering:
        return Rendering(name=name, images=imgs,
                         psnr_views=np.array([psnr(p, t) for p, t in zip(imgs, truth,
                                                                          strict=True)]),
                         ssim_views=np.array([ssim_rgb(p, t) for p, t in zip(imgs, truth,
                                                                             strict=True)]),
                         **kw)

    renders: dict[str, Rendering] = {}
    t0 = time.perf_counter()
    renders["software"] = rendering("software", run("software", SoftwareOps(state.params,
                                                                            prep.encodings)))
    timings["render_software"] = time.perf_counter() - t0
    for scheme in schemes:
        t0 = time.perf_counter()
        dep = deploy_nerf(cfg, hardware, sim, prep, state.params, scheme)
        timings[f"program_{scheme}"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        ops = HardwareOps(dep)
        imgs = run(scheme, ops)
        timings[f"render_{scheme}"] = time.perf_counter() - t0
        renders[scheme] = rendering(scheme, imgs, events=ops.events,
                                    extra_counts=ops.extra_counts(), deployed=dep,
                                    forward_path="folded" if ops.folded else "layer")
    return NerfResult(config=cfg, hardware=hardware, sim=sim, prep=prep, training=state,
                      renders=renders, truth=truth, timings_s=timings)


def run_nerf(cfg: NerfConfig, scene: Scene, hardware: HardwareSpec | None = None,
             sim: SimOptions | None = None, *,
             progress: Callable[[str, int, int], None] | None = None,
             resume: TrainState | None = None,
             on_interrupt: Callable[[TrainState], None] | None = None) -> NerfResult:
    """:func:`prepare`, :func:`train` and :func:`evaluate` in one call (default hardware:
    the ``paper`` preset)."""
    from cosim.hardware.presets import preset

    hardware = preset("paper") if hardware is None else hardware
    sim = SimOptions() if sim is None else sim
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    prep = prepare(cfg, hardware, sim, scene)
    timings["setup"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    state = train(cfg, prep, resume=resume, progress=progress, on_interrupt=on_interrupt)
    timings["train"] = time.perf_counter() - t0
    return evaluate(cfg, hardware, sim, prep, state, progress=progress, timings=timings)
