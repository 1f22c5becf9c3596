"""What ``train-texture`` leaves beside its checkpoints: loss curves and fills of held-out crops."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
from torch import Tensor

from ..checkpoint import Checkpoint, load_checkpoint
from ..evaluate import held_out_eval_set
from ..fill import SamplerConfig, fill
from ..report import plot_losses, save_grid
from ..unet import LEARNED_METHODS

PREVIEW_CROPS = 6


def trained_checkpoints(folder: Path) -> dict[str, Checkpoint]:
    """The checkpoints ``<method>.pt`` present in ``folder``, in method order."""
    return {m: load_checkpoint(folder / f"{m}.pt") for m in LEARNED_METHODS if (folder / f"{m}.pt").exists()}


def preview_fills(image: Tensor, checkpoints: dict[str, Checkpoint], *, count: int = PREVIEW_CROPS,
                  device: str | torch.device = "cpu", seed: int = 0) -> tuple[dict[str, Tensor], Tensor]:
    """Fills of held-out crops by every checkpoint: columns for :func:`inpaint.report.save_grid`."""
    config = next(iter(checkpoints.values())).config
    data = held_out_eval_set(image, crop=config.crop, count=count, held_out=config.held_out, seed=seed)
    columns = {"masked input": data.masked}
    for name, ckpt in checkpoints.items():
        generator = torch.Generator(device).manual_seed(seed)
        sampler = SamplerConfig.default_for(name, quick=True)  # the preview must stay quick on a CPU
        top = ckpt.config.diffusion.train_strength
        if name == "diffusion" and top < (sampler.strength or 1.0):  # it fills from a guide, no higher than it learned
            sampler = replace(sampler, start="patchmatch" if sampler.start == "noise" else sampler.start, strength=top)
        out = fill(ckpt.network(device=device), ckpt.config, data.masked.to(device), data.known.to(device),
                   sampler=sampler, generator=generator)
        columns[f"{name} ({ckpt.step} steps)"] = out[0].cpu()
    columns["truth"] = data.truth
    return columns, data.known


def write_training_report(image: Tensor, folder: str | Path, *, device: str | torch.device = "cpu") -> None:
    """Write ``loss.png`` and ``fills.png`` for the checkpoints in ``folder``."""
    folder = Path(folder)
    checkpoints = trained_checkpoints(folder)
    if not checkpoints:
        return
    plot_losses({name: c.losses for name, c in checkpoints.items()}, folder / "loss.png")
    columns, known = preview_fills(image, checkpoints, device=device)
    save_grid(columns, known, folder / "fills.png", title="held-out crops, never seen in training")
