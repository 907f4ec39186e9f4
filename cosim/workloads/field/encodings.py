"""The encodings compared (NF paper Fig. 4b): none, basic, positional, Gaussian.

Every encoding trains the *same* network (``cfg.mlp``: only its input width
follows the encoding) with the *same* budget (``cfg.training``: steps, batch,
learning rate, seed) on the same volume; the table gives the software PSNR
and SSIM over the volume. Positional and Gaussian use ``cfg.encoder``'s
``n_frequencies`` (64: 131 features); each its own default scale
(:data:`cosim.workloads.field.encoder.DEFAULT_SCALES`) unless ``cfg.encoder.sigma``
sets one scale for both. No file I/O.

The default scales come from a sweep of each encoding's scale on the
40 x 128 x 128 phantom, in its published orientation and turned against the
grid (``--phantom-angles``). Measured figures: ``docs/measurements/field.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from circuits.errors import ConfigError
from cosim.engine.options import SimOptions
from cosim.hardware.spec import HardwareSpec
from cosim.workloads.field.encoder import ENCODINGS
from cosim.workloads.field.field import FieldConfig, prepare, train_field
from cosim.workloads.field.metrics import psnr, ssim_slices
from cosim.workloads.field.mlp import forward, n_weights

ORDER = ("none", "basic", "positional", "gaussian")
"""Fig. 4b's order."""


@dataclass(frozen=True, kw_only=True, eq=False)
class EncodingsResult:
    """Outcome of :func:`compare_encodings`: one row per encoding, and the volumes."""

    config: FieldConfig
    rows: list[dict[str, Any]]
    volumes: dict[str, np.ndarray]
    truth: np.ndarray

    def summary(self) -> dict[str, Any]:
        best = max(self.rows, key=lambda r: r["psnr_software"])
        enc = self.config.encoder
        scales = ("each encoding's own default scale" if enc.sigma is None
                  else f"one scale, sigma {enc.sigma:g}, for both")
        return {"encodings": self.rows, "best_encoding": best["encoding"], "scales": scales,
                "network": f"{self.config.mlp}", "budget": f"{self.config.training}"}


def check_kinds(kinds: tuple[str, ...]) -> tuple[str, ...]:
    """``kinds`` if they are distinct known encodings, else ``ConfigError``."""
    if not kinds or len(set(kinds)) != len(kinds):
        raise ConfigError(f"encodings must be distinct names from {', '.join(ENCODINGS)}, "
                          f"got {','.join(kinds)!r}")
    for k in kinds:
        if k not in ENCODINGS:
            raise ConfigError(f"unknown encoding {k!r}; choose from {', '.join(ENCODINGS)}")
    return kinds


def compare_encodings(cfg: FieldConfig, hardware: HardwareSpec, sim: SimOptions,
                      volume: np.ndarray | None = None, *,
                      kinds: tuple[str, ...] = ORDER,
                      progress: Callable[[str, int, int], None] | None = None
                      ) -> EncodingsResult:
    """Train ``cfg``'s network once per encoding in ``kinds``; software PSNR/SSIM of each.

    Raises:
        ConfigError: an unknown or repeated encoding.
    """
    check_kinds(kinds)
    rows, volumes, truth = [], {}, None
    for kind in kinds:
        c = replace(cfg, encoder=replace(cfg.encoder, kind=kind))
        prep = prepare(c, hardware, sim, volume)
        truth = prep.truth

        def tick(phase: str, done: int, total: int, kind: str = kind) -> None:
            if progress is not None:
                progress(f"{phase} {kind}", done, total)

        state = train_field(c, prep, progress=tick)
        vol = forward(state.params, prep.feats, c.mlp).reshape(truth.shape)
        rows.append({"encoding": kind, "features": int(prep.feats.shape[1]),
                     "scale": c.encoder.scale if kind in ("gaussian", "positional") else None,
                     "weights": n_weights(state.params), "steps": state.step,
                     "final_loss": float(state.losses[-1]) if state.losses.size else None,
                     "psnr_software": psnr(vol, truth),
                     "ssim_software": float(np.mean(ssim_slices(vol, truth)))})
        volumes[kind] = vol
    return EncodingsResult(config=cfg, rows=rows, volumes=volumes, truth=truth)
