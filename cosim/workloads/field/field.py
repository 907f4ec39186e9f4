"""The neural-field workload: train, deploy (HAQ and PTQ), evaluate. No file I/O.

One call, :func:`run_field`, does the dense task:

1. the volume (given, or the 3D Shepp-Logan phantom) is normalised to ``[0, 1]``;
2. the encoder is built (the Gaussian one forms its random pairs on an analog
   layer) and the software features of every voxel computed from the ``B``
   the cells hold;
3. the MLP is trained with JAX/optax on all voxels (dense task);
4. every matrix is written with HAQ and, separately, with PTQ onto analog
   layers on the configured tile backend (ideal or calibrated), and every voxel
   run through the hardware: encoder projection on its analog layer, CORDIC
   sin/cos, each matrix on its layer, biases and CORDIC sine activations in
   the digital core;
5. PSNR and SSIM (:mod:`.metrics`) of software, HAQ and PTQ, per slice and
   over the volume, and the events each deployed pass counted.

**Hardware** (a :class:`cosim.hardware.spec.HardwareSpec`; the commands'
default is the ``paper`` preset, the NF paper's setting: 0T1R cells, no wires,
ideal virtual ground, one HAQ pass; ``realistic`` adds 1T1R cells, 1.06 ohm
wire segments, a TIA per column sized to its placed block, IR-aware placement
and three HAQ passes with transfer verify reads): every matrix and the
Gaussian encoder's pairs are placed and read through their own analog layer
(:meth:`cosim.layers.analog.AnalogLayer.place`, as in the HAQ MVM test).
Where the encoder's read is not exact (:func:`encoder_read`), its ``B`` is the
one its layer computes (one-hot inputs, each read ``calibration_reads`` times and
averaged, as a chip calibrates its random projection once), so training sees
the projection the hardware makes; ``encoder.reads`` reads are averaged per
voxel in the deployed pass.

"software" is the trained network in float64 numpy on the exact features;
``software_hw_features`` the same network on the features the hardware
encoder computed (so the encoder's share of the loss is visible).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from circuits.errors import ConfigError, check_int
from cosim.accounting.events import Events
from cosim.accounting.workload import Workload, mlp_workload
from cosim.engine.options import SimOptions
from cosim.hardware.spec import HardwareSpec
from cosim.layers.averaging import MAX_READS, averaged_read
from cosim.layers.record import DEFAULT_VECTORS, LayerRecord, record_layers
from cosim.programming.base import MAX_BITS
from cosim.workloads.field.cordic import CordicConfig, error_bound, sincos_turns
from cosim.workloads.field.deploy import (
    DeployedMLP,
    FoldedLayer,
    WeightMapping,
    deploy_mlp,
    input_scales,
)
from cosim.workloads.field.encoder import (
    ONE_READ_CALIBRATION,
    Encoder,
    EncoderConfig,
    build_encoder,
)
from cosim.workloads.field.metrics import CONVENTION, psnr, psnr_slices, ssim_slices
from cosim.workloads.field.mlp import (
    MLPConfig,
    Params,
    TrainConfig,
    TrainState,
    forward,
    init_params,
    matrices,
    n_weights,
    train,
)
from cosim.workloads.field.phantom import check_angles, shepp_logan_3d
from cosim.workloads.field.volume import NORMALISATION, check_volume, normalise, voxel_coordinates

METHODS = ("software", "software_hw_features", "haq", "ptq")
PAPER = {"psnr_haq": 32.07, "ssim_haq": 0.93, "psnr_ptq": 13.94, "ssim_ptq": 0.10}
"""NF paper Fig. 4g, dense reconstruction of the pancreas 4D-CT."""


@dataclass(frozen=True, kw_only=True)
class FieldConfig:
    """One neural-field run (dense task).

    Attributes:
        phantom_shape: ``(slices, height, width)`` of the phantom when no volume is given.
        phantom_angles: the phantom turned against the grid, ``(phi, theta, psi)``
            degrees (:func:`cosim.workloads.field.phantom.shepp_logan_3d`).
        encoder: the input encoding (Gaussian by default: 64 x 3, sigma 2).
        mlp: the network (NF paper: 131 -> 100 SIREN, rank-10 hidden, -> 1).
        training: Adam steps, batch, learning rate.
        bits: HAQ/PTQ cells per weight of the input, hidden and output matrices.
        amp_ratio: HAQ's ``s``.
        weight_scaling: each matrix's full-scale weight over the ``"matrix"`` (NF
            paper) or per ``"column"`` (:class:`cosim.workloads.field.deploy.WeightMapping`).
        cordic: the digital core's CORDIC (encoder and sine activations).
        layer_reads: reads of every deployed matrix (input, hidden, output) averaged
            per voxel in the digital core, 1 to
            :data:`cosim.layers.averaging.MAX_READS`: the read noise of each layer's
            output falls as ``1 / sqrt(layer_reads)``, and every read is counted
            (:class:`cosim.workloads.field.deploy.DeployedMLP`). The Gaussian
            encoder's reads are ``encoder.reads``.
        eval_chunk: voxels per deployed forward call (memory bound).
        seed: seed of the encoder, initialisation, batches and noise.
    """

    phantom_shape: tuple[int, int, int] = (40, 128, 128)
    phantom_angles: tuple[float, float, float] = (0.0, 0.0, 0.0)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    mlp: MLPConfig = field(default_factory=MLPConfig)
    training: TrainConfig = field(default_factory=TrainConfig)
    bits: tuple[int, int, int] = (14, 14, 12)
    amp_ratio: float = 1.5
    weight_scaling: str = "matrix"
    cordic: CordicConfig = field(default_factory=CordicConfig)
    layer_reads: int = 1
    eval_chunk: int = 8192
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.phantom_shape) != 3:
            raise ConfigError(f"phantom shape must be (slices, height, width), got "
                              f"{self.phantom_shape!r}")
        for n, v in zip(("slices", "height", "width"), self.phantom_shape, strict=True):
            check_int(f"phantom {n}", v, 1 if n == "slices" else 7, 1024)
        check_angles(self.phantom_angles)
        if len(self.bits) != 3:
            raise ConfigError(f"bits must be three widths (input, hidden, output), got "
                              f"{self.bits!r}")
        for role, b in zip(("input", "hidden", "output"), self.bits, strict=True):
            check_int(f"{role} bits", b, 1, MAX_BITS)
        check_int("layer reads", self.layer_reads, 1, MAX_READS)
        check_int("eval chunk", self.eval_chunk, 1, 10**7)
        check_int("seed", self.seed, 0, 2**32 - 1)
        self.mapping("haq")  # bits and s checked by the schemes' own rules

    def mapping(self, scheme: str) -> WeightMapping:
        """How the weights become cells with ``scheme`` (``haq`` or ``ptq``)."""
        return WeightMapping(scheme=scheme, bits=tuple(self.bits), amp_ratio=self.amp_ratio,
                             scaling=self.weight_scaling)


def hardware_text(hardware: HardwareSpec, sim: SimOptions) -> str:
    """The hardware and backend in words (for every figure and table)."""
    return f"{hardware.describe()}; {sim.describe()}"


def config_from_dict(d: dict[str, Any]) -> FieldConfig:
    """The inverse of ``dataclasses.asdict(cfg)`` (a checkpoint's stored config).

    Raises:
        ConfigError: a key that is not a field, or a value the config refuses.
    """
    try:
        d = dict(d)
        enc = {**ONE_READ_CALIBRATION, **d.pop("encoder")}
        enc["cordic"] = CordicConfig(**enc.pop("cordic"))
        return FieldConfig(
            **{k: tuple(v) if k in ("phantom_shape", "phantom_angles", "bits") else v
               for k, v in d.items()
               if k not in ("mlp", "training", "cordic")},
            encoder=EncoderConfig(**enc), mlp=MLPConfig(**d["mlp"]),
            training=TrainConfig(**d["training"]), cordic=CordicConfig(**d["cordic"]))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"stored neural-field config is not valid: {exc}") from None


@dataclass(frozen=True, kw_only=True, eq=False)
class Reconstruction:
    """One way of computing the volume.

    Attributes:
        name: ``software``, ``software_hw_features``, ``haq`` or ``ptq``.
        volume: the predicted intensities, ``(slices, height, width)``.
        psnr, ssim: over the volume (:mod:`.metrics`).
        psnr_slices, ssim_slices: per slice.
        events: events of the deployed pass over every voxel (hardware only).
        cordic_steps: CORDIC iterations of that pass.
        deployed: the network on hardware (HAQ, PTQ).
        forward_path: how the deployed pass ran: ``layer`` (every call through
            the analog layers) or ``folded`` (each layer folded into its affine
            map first, :class:`cosim.workloads.field.deploy.FoldedLayer`: where the
            read path is affine, same outputs to rounding and same events).
    """

    name: str
    volume: np.ndarray
    psnr: float
    ssim: float
    psnr_slices: np.ndarray
    ssim_slices: np.ndarray
    events: Events = field(default_factory=Events)
    cordic_steps: int = 0
    deployed: DeployedMLP | None = None
    forward_path: str = ""


@dataclass(frozen=True, kw_only=True, eq=False)
class FieldResult:
    """Outcome of :func:`run_field` (``layer_records``: every analog layer as it ran, for
    ``cosim verify``)."""

    config: FieldConfig
    hardware: HardwareSpec
    sim: SimOptions
    truth: np.ndarray
    encoder: Encoder
    params: Params
    training: TrainState
    recon: dict[str, Reconstruction]
    cordic_error: float
    timings_s: dict[str, float]
    layer_records: tuple[LayerRecord, ...] = ()

    def summary(self) -> dict[str, Any]:
        """Flat JSON-able figures (the ``--json`` object)."""
        out: dict[str, Any] = {}
        for name, r in self.recon.items():
            out[f"psnr_{name}"] = r.psnr
            out[f"ssim_{name}"] = r.ssim
            if r.forward_path:
                out[f"forward_path_{name}"] = r.forward_path
        haq = self.recon["haq"].deployed
        out.update({
            "volume_shape": list(self.truth.shape), "voxels": int(self.truth.size),
            "weights": n_weights(self.params), "rram_cells_haq": haq.cells if haq else 0,
            "training_steps": self.training.step,
            "final_loss": float(self.training.losses[-1]) if self.training.losses.size else None,
            "cordic_max_error": self.cordic_error,
            "cordic_error_bound": error_bound(self.config.cordic),
            "hardware_text": hardware_text(self.hardware, self.sim),
            "hardware_name": self.hardware.name,
            "weight_scaling": self.config.weight_scaling,
            "hardware": self.hardware.as_dict(), "sim": asdict(self.sim),
            "macros_haq": haq.macros if haq else 0,
            "placements_haq": {k: v.as_dict() for k, v in haq.placements.items()} if haq else {},
            "metrics": CONVENTION,
            "normalisation": NORMALISATION, "paper": PAPER,
            "config": asdict(self.config), "timings_s": dict(self.timings_s),
        })
        return out

    def tables(self) -> dict[str, Any]:
        """``metrics`` (over the volume), ``metrics_slices`` (per slice), ``training`` (loss)."""
        import pandas as pd

        rec = self.recon
        methods = [m for m in METHODS if m in rec]
        losses = self.training.losses
        return {
            "metrics": pd.DataFrame([{"method": m, "psnr_db": rec[m].psnr, "ssim": rec[m].ssim,
                                      "hardware": self.hardware.name,
                                      "backend": self.sim.backend} for m in methods]),
            "metrics_slices": pd.DataFrame([
                {"method": m, "slice": i, "psnr_db": rec[m].psnr_slices[i],
                 "ssim": rec[m].ssim_slices[i]}
                for m in methods for i in range(self.truth.shape[0])]),
            "training": pd.DataFrame({
                "step": np.linspace(0, self.training.step, len(losses) + 1)[1:].round(),
                "loss": losses}),
        }

    def workload(self) -> Workload:
        """The HAQ pass as a workload: the events its layers counted, hardware by the mlp rule.

        One inference is one voxel; a frame (one volume) is ``slices x height x width``
        inferences. Hardware (arrays, periphery) is sized by
        :func:`cosim.accounting.workload.mlp_workload` for the same matrices at the
        largest bit width on the run's cell kind, macro size and aggregation; the
        counted events replace its analytic ones.
        """
        cfg = self.config
        names = matrices(self.params)
        widths = [self.params[names[0]].shape[0]] + [self.params[n].shape[1] for n in names]
        haq = self.recon["haq"]
        voxels = int(self.truth.size)
        sizing = {"name": f"neural field {'-'.join(map(str, widths))}, HAQ "
                          f"{'/'.join(map(str, cfg.bits))} bit, {voxels} voxels per frame",
                  "layers": widths, "bits": max(cfg.bits), "inferences": voxels,
                  "aggregation": self.hardware.aggregation.kind,
                  "macro_rows": self.hardware.array.macro_rows,
                  "macro_cols": self.hardware.array.macro_cols,
                  "cell": self.hardware.cell.kind.name,
                  "activation": "sine" if cfg.mlp.activation == "sine" else "relu",
                  "cordic_iterations": cfg.cordic.iterations,
                  "claim": "neural field CT"}  # the NF paper's ratios shown beside ours
        w = mlp_workload(sizing)
        return replace(w, events=haq.events, extra_counts={"cordic_steps": haq.cordic_steps},
                       programming_events=haq.deployed.programming_events,
                       source="events counted by the analog layers and the digital core of "
                              "cosim field run (HAQ pass, encoder included)")


def _reconstruction(name: str, pred: np.ndarray, truth: np.ndarray, **kw: Any) -> Reconstruction:
    vol = pred.reshape(truth.shape)
    return Reconstruction(name=name, volume=vol, psnr=psnr(vol, truth),
                          ssim=float(np.mean(ssim_slices(vol, truth))),
                          psnr_slices=psnr_slices(vol, truth), ssim_slices=ssim_slices(vol, truth),
                          **kw)


@dataclass(frozen=True, kw_only=True, eq=False)
class Prepared:
    """The volume and its encoding, ready to train on (no training yet).

    Attributes:
        truth: the normalised volume, ``(slices, height, width)``.
        encoder: the encoding (the Gaussian one holds its analog layer).
        x: voxel coordinates, ``(N, 3)``.
        feats: software features of every voxel, ``(N, n_features)``.
        rngs: the run's random streams (``init``: the network's initialisation).
    """

    truth: np.ndarray
    encoder: Encoder
    x: np.ndarray
    feats: np.ndarray
    rngs: dict[str, np.random.Generator]


def prepare(cfg: FieldConfig, hardware: HardwareSpec, sim: SimOptions,
            volume: np.ndarray | None = None) -> Prepared:
    """Normalise ``volume`` (default: the phantom), build the encoder, encode every voxel.

    The encoder's cells are formed from the run's seed, so the same ``cfg`` and
    hardware give the same ``B`` in every command (train, deploy, eval).
    """
    raw = (shepp_logan_3d(*cfg.phantom_shape, angles=cfg.phantom_angles) if volume is None
           else check_volume(volume))
    truth = normalise(raw)
    seq = np.random.SeedSequence(cfg.seed)
    rng_enc, rng_init = (np.random.default_rng(s) for s in seq.spawn(4)[:2])
    encoder = build_encoder(cfg.encoder, hardware, workload_sim(sim), rng=rng_enc,
                            seed=cfg.seed)
    if encoder.layer is not None and encoder_read(cfg, hardware, sim) is not None:
        encoder = replace(encoder, b=measured_projection(encoder))
    x = voxel_coordinates(truth.shape)
    return Prepared(truth=truth, encoder=encoder, x=x, feats=encoder.software(x),
                    rngs={"init": rng_init})


def workload_sim(sim: SimOptions) -> SimOptions:
    """``sim`` for deploying a field: the result cache off (every programmed array is new,
    nothing to reuse), and the ``spice`` backend refused: a deployed pass is millions of
    MVMs, one ngspice run each (``cosim verify`` checks a run's recorded layers against
    ngspice).

    Raises:
        ConfigError: the ``spice`` backend.
    """
    if sim.backend == "spice":
        raise ConfigError("the field deploys on the ideal or calibrated backend; a deployed "
                          "pass is millions of MVMs, each an ngspice run on spice: check a "
                          "run's recorded layers against ngspice with 'cosim verify RUN_DIR'")
    return replace(sim, use_cache=False)


def reads_exactly(hardware: HardwareSpec, sim: SimOptions) -> bool:
    """Whether an analog layer on ``hardware`` computes exactly ``x @ (G+ - G-)``: the ideal
    backend, or linear cells with ideal wires, an ideal virtual ground and no converters."""
    if sim.backend == "ideal":
        return True
    r = hardware.readout
    return (hardware.cell.kind.is_linear(hardware.rram.iv) and hardware.array.r_wire_ohm == 0
            and hardware.array.r_driver_ohm == 0 and hardware.array.r_sense_ohm == 0
            and r.kind == "virtual_ground" and r.dac_bits is None and r.adc_bits is None)


def encoder_read(cfg: FieldConfig, hardware: HardwareSpec, sim: SimOptions
                 ) -> dict[str, Any] | None:
    """What the Gaussian encoder's ``B`` depends on beyond its cells: ``None`` where the
    hardware reads it exactly (:func:`reads_exactly`; ``B`` is the cells' ``G+ - G-``),
    else the hardware and backend it is measured through.

    A model trained with one ``B`` is only valid with the same ``B``: two settings whose
    ``encoder_read`` differ need their own training (``cosim field`` refuses the mix).
    """
    if cfg.encoder.kind != "gaussian" or reads_exactly(hardware, sim):
        return None
    return {"backend": sim.backend, "hardware": hardware.as_dict()}


def measured_projection(encoder: Encoder) -> np.ndarray:
    """``B`` as the encoder's layer computes it, ``(m, 3)``: one-hot reads, offset removed,
    each the mean of ``config.calibration_reads`` reads (a chip's one-time calibration).

    The layer is linear in its inputs (the calibrated backend's transfer), so
    ``scale * (y(e_k) - y(0))`` is exactly the projection its ``forward`` applies,
    up to the read noise left after the averaging.
    """
    eye = np.vstack([np.eye(3), np.zeros((1, 3))])
    y, _ = averaged_read(encoder.layer, eye, encoder.config.calibration_reads)
    return encoder.config.scale * (y[:3] - y[3]).T


def train_field(cfg: FieldConfig, prep: Prepared, *, params: Params | None = None,
                voxels: np.ndarray | None = None,
                progress: Callable[[str, int, int], None] | None = None,
                resume: TrainState | None = None,
                on_interrupt: Callable[[TrainState], None] | None = None,
                psnr_every: int = 0,
                on_psnr: Callable[[CurvePoint], None] | None = None) -> TrainState:
    """Train the MLP on ``prep`` (all voxels, or the ``voxels`` indices).

    Args:
        cfg: the run (network, training).
        prep: volume and features.
        params: initial parameters (fine-tuning); default a fresh initialisation.
        voxels: indices of the voxels to train on; default all (dense task).
        progress: ``progress("train", done, total)``.
        resume: a training state to continue.
        on_interrupt: called with the last training state when training is
            interrupted (Ctrl-C), before the interrupt propagates.
        psnr_every: with ``on_psnr``, score the network every this many steps
            (and after the last): software PSNR over every voxel of ``prep``
            (:func:`software_psnr`), passed to ``on_psnr`` as a :class:`CurvePoint`
            whose times leave the scoring out.
    """
    check_int("PSNR interval (steps)", psnr_every, 0, 10**7)
    params0 = params if params is not None else init_params(cfg.mlp, prep.feats.shape[1],
                                                            prep.rngs["init"])
    feats, target = prep.feats, prep.truth.ravel()
    if voxels is not None:
        feats, target = feats[voxels], target[voxels]
    total = cfg.training.steps

    def tick(step: int, loss: float) -> None:
        if progress is not None:
            progress("train", step, total)

    monitor = None
    if on_psnr is not None:
        clock = {"wall": time.perf_counter(), "cpu": time.process_time(), "wall_eval": 0.0,
                 "cpu_eval": 0.0}

        def monitor(step: int, p: Params) -> None:
            w0, c0 = time.perf_counter(), time.process_time()
            point = CurvePoint(
                step=step, psnr_db=software_psnr(p, prep.feats, prep.truth, cfg.mlp),
                train_s=w0 - clock["wall"] - clock["wall_eval"],
                train_cpu_s=c0 - clock["cpu"] - clock["cpu_eval"])
            clock["wall_eval"] += time.perf_counter() - w0
            clock["cpu_eval"] += time.process_time() - c0
            on_psnr(point)

    try:
        return train(params0, feats, target, cfg.mlp, cfg.training, state=resume,
                     progress=tick, monitor=monitor, monitor_every=psnr_every)
    except KeyboardInterrupt as exc:
        if on_interrupt is not None and hasattr(exc, "state"):
            on_interrupt(exc.state)
        raise


@dataclass(frozen=True, kw_only=True)
class CurvePoint:
    """The network's software PSNR at one step of training.

    Attributes:
        step: optimiser steps done.
        psnr_db: software PSNR over the volume (:func:`software_psnr`).
        train_s, train_cpu_s: wall and CPU seconds of training up to ``step`` in
            this call (the scoring itself and the set-up before training excluded).
    """

    step: int
    psnr_db: float
    train_s: float
    train_cpu_s: float


def software_psnr(params: Params, feats: np.ndarray, truth: np.ndarray, mlp: MLPConfig,
                  chunk: int = 65536) -> float:
    """PSNR over the volume of the network in float64 numpy (``software``), ``chunk``
    voxels at a time (bounded memory)."""
    pred = np.concatenate([forward(params, feats[i:i + chunk], mlp)
                           for i in range(0, len(feats), chunk)])
    return psnr(pred.reshape(truth.shape), truth)


def deploy_field(cfg: FieldConfig, hardware: HardwareSpec, sim: SimOptions,
                 prep: Prepared, params: Params, scheme: str) -> DeployedMLP:
    """Write ``params`` with ``scheme`` (``haq``/``ptq``) onto analog layers (seeded)."""
    scales = input_scales(params, prep.feats, cfg.mlp)
    return deploy_mlp(params, cfg.mlp, cfg.mapping(scheme), hardware, workload_sim(sim),
                      scales, rng=scheme_rng(cfg, scheme), seed=cfg.seed, cordic=cfg.cordic,
                      reads=cfg.layer_reads)


def scheme_rng(cfg: FieldConfig, scheme: str) -> np.random.Generator:
    """The write-noise stream of ``scheme`` for ``cfg.seed`` (fresh each call)."""
    # the same streams as prepare() hands out: (enc, init, haq, ptq)
    seq = np.random.SeedSequence(cfg.seed).spawn(4)
    return np.random.default_rng(seq[2 if scheme == "haq" else 3])


def evaluate_field(cfg: FieldConfig, hardware: HardwareSpec, sim: SimOptions,
                   prep: Prepared, state: TrainState, *,
                   schemes: tuple[str, ...] = ("haq", "ptq"),
                   progress: Callable[[str, int, int], None] | None = None,
                   timings: dict[str, float] | None = None) -> FieldResult:
    """Deploy the trained network with each scheme and evaluate every way of computing it."""
    timings = {} if timings is None else timings
    params, truth, x = state.params, prep.truth, prep.x
    recon: dict[str, Reconstruction] = {}
    recon["software"] = _reconstruction("software", forward(params, prep.feats, cfg.mlp), truth)
    t0 = time.perf_counter()
    hw_feats, enc_events, enc_steps = _chunked_encoder(prep.encoder, x, cfg.eval_chunk)
    timings["encode_hw"] = time.perf_counter() - t0
    recon["software_hw_features"] = _reconstruction(
        "software_hw_features", forward(params, hw_feats, cfg.mlp), truth)
    enc = prep.encoder
    records = [] if enc.layer is None else record_layers(
        {"encoder": enc.layer}, lambda: enc.deployed(x[:DEFAULT_VECTORS]))
    for scheme in schemes:
        t0 = time.perf_counter()
        dep = deploy_field(cfg, hardware, sim, prep, params, scheme)
        timings[f"program_{scheme}"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        run, path = dep, "layer"
        try:  # same outputs to rounding and the same events, faster (FoldedLayer)
            run, path = dep.folded(), "folded"
        except ConfigError:
            pass  # TIA readout, quantisation or read noise: every call through the layers
        pred, ev, steps = np.empty(len(x)), Events(), 0
        for i in range(0, len(x), cfg.eval_chunk):
            y, e, s = run.forward(hw_feats[i:i + cfg.eval_chunk])
            pred[i:i + cfg.eval_chunk] = y
            ev, steps = ev + e, steps + s
            if progress is not None:
                progress(f"deploy {scheme}", min(i + cfg.eval_chunk, len(x)), len(x))
        timings[f"forward_{scheme}"] = time.perf_counter() - t0
        records += record_layers({f"{scheme}/{k}": v for k, v in dep.layers.items()},
                                 lambda dep=dep: dep.forward(hw_feats[:DEFAULT_VECTORS]))
        recon[scheme] = _reconstruction(scheme, pred, truth, events=ev + enc_events,
                                        cordic_steps=steps + enc_steps, deployed=dep,
                                        forward_path=path)
    # CORDIC error against numpy on the encoder's own angles
    b = prep.encoder.b
    proj = x[: min(len(x), 65536)] @ b.T if b is not None else np.zeros((1, 1))
    s, c = sincos_turns(proj, cfg.cordic)
    cordic_err = float(max(np.abs(s - np.sin(2 * np.pi * proj)).max(),
                           np.abs(c - np.cos(2 * np.pi * proj)).max()))
    return FieldResult(config=cfg, hardware=hardware, sim=sim, truth=truth,
                       encoder=prep.encoder, params=params, training=state, recon=recon,
                       cordic_error=cordic_err, timings_s=timings,
                       layer_records=tuple(records))


def run_field(cfg: FieldConfig, hardware: HardwareSpec | None = None,
                     sim: SimOptions | None = None, volume: np.ndarray | None = None, *,
                     progress: Callable[[str, int, int], None] | None = None,
                     resume: TrainState | None = None,
                     on_interrupt: Callable[[TrainState], None] | None = None,
                     psnr_every: int = 0,
                     on_psnr: Callable[[CurvePoint], None] | None = None
                     ) -> FieldResult:
    """Train, deploy and evaluate the neural field on ``volume`` (default: the phantom).

    :func:`prepare`, :func:`train_field` (all voxels: the dense task) and
    :func:`evaluate_field` in one call.

    Args:
        cfg: the run.
        hardware: the hardware (default: the ``paper`` preset).
        sim: how the tiles compute (default ``SimOptions()``).
        volume: a 3D array (checked and normalised); ``None`` for the phantom.
        progress: ``progress(phase, done, total)`` for training steps and
            deployed voxels.
        resume: a training state to continue.
        on_interrupt: called with the last training state when training is
            interrupted (Ctrl-C), before the interrupt propagates.
        psnr_every, on_psnr: the software PSNR while training (:func:`train_field`).
    """
    from cosim.hardware.presets import preset

    hardware = preset("paper") if hardware is None else hardware
    sim = SimOptions() if sim is None else sim
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    prep = prepare(cfg, hardware, sim, volume)
    timings["setup"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    state = train_field(cfg, prep, progress=progress, resume=resume, on_interrupt=on_interrupt,
                        psnr_every=psnr_every, on_psnr=on_psnr)
    timings["train"] = time.perf_counter() - t0
    return evaluate_field(cfg, hardware, sim, prep, state, progress=progress, timings=timings)


def forward_voxels(encoder: Encoder, deployed: DeployedMLP, x: np.ndarray, chunk: int, *,
                   fold: bool = False) -> tuple[np.ndarray, Events, int]:
    """Every voxel of ``x`` through the hardware, ``chunk`` voxels per call.

    The encoder (its analog layer and CORDIC sin/cos) and then the deployed
    network; returns the intensities ``(N,)``, the events and CORDIC steps.
    ``fold``: fold every analog layer into its affine map first
    (:class:`cosim.workloads.field.deploy.FoldedLayer`: calibrated or ideal
    backend, virtual ground, no quantisation or read noise; same outputs to
    rounding, same events).
    """
    if fold:
        deployed = deployed.folded()
        if encoder.layer is not None:
            encoder = replace(encoder, layer=FoldedLayer(encoder.layer))
    pred, ev, steps = np.empty(len(x)), Events(), 0
    for i in range(0, len(x), chunk):
        f, e1, s1 = encoder.deployed(x[i:i + chunk])
        y, e2, s2 = deployed.forward(f)
        pred[i:i + chunk] = y
        ev, steps = ev + e1 + e2, steps + s1 + s2
    return pred, ev, steps


def _chunked_encoder(encoder: Encoder, x: np.ndarray, chunk: int
                     ) -> tuple[np.ndarray, Events, int]:
    feats, ev, steps = [], Events(), 0
    for i in range(0, len(x), chunk):
        f, e, s = encoder.deployed(x[i:i + chunk])
        feats.append(f)
        ev, steps = ev + e, steps + s
    return np.concatenate(feats), ev, steps
