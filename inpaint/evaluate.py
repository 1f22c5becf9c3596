"""The evaluation protocol: held-out crops, the same holes for every method, metrics on the hole.

A texture's held-out strip (see :func:`inpaint.patches.held_out_box`) is cut
into non-overlapping crops; every method fills the same masked crops, and
metrics are computed where the mask says the hole is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from .masks import training_masks
from .metrics import hole_metrics
from .patches import grid_crops, held_out_box

Filler = Callable[[Tensor, Tensor], Tensor]
"""A method: (x_known (B, C, H, W), known (B, 1, H, W)) -> filled (B, C, H, W)."""

METRICS = ("psnr", "ssim", "lpips", "sharpness", "blur_effect")


@dataclass(frozen=True)
class EvalSet:
    """Ground-truth crops and their holes, shared by every method."""

    truth: Tensor  # (N, C, h, w)
    known: Tensor  # (N, 1, h, w) bool

    @property
    def masked(self) -> Tensor:
        """The input every method receives: the truth with the hole zeroed."""
        return self.truth * self.known


def held_out_eval_set(
    image: Tensor, *, crop: int, count: int, held_out: float = 0.25, masks: str = "box", seed: int = 0
) -> EvalSet:
    """Crops of the held-out strip with holes of the ``masks`` families drawn from ``seed``."""
    box = held_out_box(image.shape[-2], image.shape[-1], held_out)
    truth = grid_crops(image, box, crop, count)
    known = training_masks(len(truth), crop, crop, generator=torch.Generator().manual_seed(seed), families=masks)
    return EvalSet(truth, known)


def run_method(fill: Filler, data: EvalSet, *, batch: int = 16) -> tuple[Tensor, float]:
    """Fill every crop; returns the fills and the wall time per fill in seconds."""
    outs = []
    t0 = time.perf_counter()
    for i in range(0, len(data.truth), batch):
        outs.append(fill(data.masked[i : i + batch], data.known[i : i + batch]))
    seconds = (time.perf_counter() - t0) / len(data.truth)
    return torch.cat(outs), seconds


def score(outputs: Tensor, data: EvalSet) -> dict[str, Tensor]:
    """Per-crop metrics of the fills against the truth, restricted to the hole."""
    return hole_metrics(outputs, data.truth, data.known)


def summary_row(name: str, metrics: dict[str, Tensor], seconds: float) -> dict:
    """Mean and standard error of each metric over crops."""
    row: dict = {"method": name, "seconds_per_fill": seconds}
    for key in METRICS:
        v = metrics[key].double()
        row[key] = v.mean().item()
        row[key + "_se"] = (v.std() / len(v) ** 0.5).item() if len(v) > 1 else 0.0
    return row
