"""Saving and loading checkpoints: weights with their config, safely.

Two formats, chosen by the file's extension:

- ``.pt``, what training writes: a plain dict of tensors, numbers and strings,
  loaded with ``torch.load(weights_only=True)``, so no pickled code runs when
  a file is opened; it keeps the optimizer's state, for an exact resume.
- ``.safetensors``, how models are distributed (the shipped ones): the tensors
  (raw and EMA weights, loss history, generator state) in a safetensors file,
  a format with no code at all, and the rest (config, step, training image,
  timing) in a JSON file beside it, ``<name>.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from .atomic import write_atomic
from .config import TrainConfig
from .unet import UNet

FORMAT = "inpaint-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a usable checkpoint of this toolkit."""


@dataclass
class Checkpoint:
    """A training state.

    Attributes
    ----------
    config : TrainConfig
    step : int
        Optimizer steps done.
    model : dict
        The raw weights' state dict.
    ema : dict or None
        The EMA weights' state dict (what sampling uses by default).
    optimizer : dict or None
    generator : Tensor or None
        State of the training generator, for an exact resume.
    losses : Tensor
        Training loss of every step so far, float32.
    texture : dict
        Name, sha256 and size of the training image.
    timing : dict
        Wall-clock seconds of the training call that wrote it (``seconds``) and,
        for a run trained to a time budget, ``budget_minutes``, the latest measured
        ``seconds_per_step``, the ``calibration_steps`` that measured the first,
        and ``plan``: the [step, step count] of every change of the count
        (:class:`inpaint.budget.BudgetClock`).
    """

    config: TrainConfig
    step: int
    model: dict
    ema: dict | None = None
    optimizer: dict | None = None
    generator: Tensor | None = None
    losses: Tensor = field(default_factory=lambda: torch.zeros(0))
    texture: dict = field(default_factory=dict)
    timing: dict = field(default_factory=dict)

    def network(self, *, use_ema: bool = True, device: str | torch.device = "cpu") -> UNet:
        """The U-Net with the EMA weights (default) or the raw ones, in eval mode."""
        net = UNet(self.config.model)
        weights = self.ema if use_ema and self.ema is not None else self.model
        net.load_state_dict(weights)
        return net.to(device).eval()

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "config": self.config.to_dict(),
            "step": self.step,
            "model": self.model,
            "ema": self.ema,
            "optimizer": self.optimizer,
            "generator": self.generator,
            "losses": self.losses,
            "texture": self.texture,
            "timing": self.timing,
        }


def save_checkpoint(ckpt: Checkpoint, path: str | os.PathLike) -> None:
    """Write atomically (:func:`inpaint.atomic.write_atomic`): a crash mid-write never leaves a truncated
    checkpoint.  A ``.safetensors`` path writes the code-free pair (no optimizer state), anything else a
    ``.pt`` dict."""
    path = Path(path)
    if path.suffix == SAFETENSORS:
        return _save_code_free(ckpt, path)
    write_atomic(path, lambda f: torch.save(ckpt.to_dict(), f))


SAFETENSORS = ".safetensors"
"""The extension of the code-free format; its JSON half is the same name with ``.json``."""
_TENSORS = ("model", "ema")


def _save_code_free(ckpt: Checkpoint, path: Path) -> None:
    from safetensors.torch import save

    tensors = {f"{part}/{k}": v.contiguous() for part in _TENSORS if getattr(ckpt, part) is not None
               for k, v in getattr(ckpt, part).items()}
    tensors["losses"] = ckpt.losses.contiguous()
    if ckpt.generator is not None:
        tensors["generator"] = ckpt.generator.contiguous()
    record = {k: v for k, v in ckpt.to_dict().items() if k not in (*_TENSORS, "optimizer", "losses", "generator")}
    write_atomic(path, lambda f: f.write(save(tensors)))
    write_atomic(path.with_suffix(".json"), lambda f: f.write((json.dumps(record, indent=1) + "\n").encode()))


def _load_code_free(path: Path, map_location) -> dict:
    """The dict a ``.pt`` file holds, from the code-free pair."""
    from safetensors.torch import load_file

    meta = path.with_suffix(".json")
    if not meta.is_file():
        raise CheckpointError(f"{path}: its JSON half {meta.name} is missing")
    try:
        raw = json.loads(meta.read_text())
        tensors = load_file(str(path), device=str(map_location))
    except Exception as exc:  # safetensors and json raise their own types for damaged files
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
    for part in _TENSORS:
        prefix = f"{part}/"
        raw[part] = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)} or None
    raw["losses"], raw["generator"], raw["optimizer"] = tensors.get("losses"), tensors.get("generator"), None
    return raw


def load_checkpoint(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read a checkpoint: a ``.pt`` file with ``weights_only=True``, or a ``.safetensors`` file and its JSON.

    Raises
    ------
    CheckpointError
        Missing, unreadable or corrupted file, or a file that is not a checkpoint of this toolkit.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.suffix == SAFETENSORS:
        raw = _load_code_free(path, map_location)
    else:
        try:
            raw = torch.load(path, map_location=map_location, weights_only=True)
        except Exception as exc:  # torch raises many types for damaged files
            raise CheckpointError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an inpaint checkpoint (made by another program?)")
    if raw.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {raw.get('version')} is not supported (expected {VERSION})")
    try:
        config = TrainConfig.from_dict(raw["config"])
        ckpt = Checkpoint(
            config=config,
            step=int(raw["step"]),
            model=raw["model"],
            ema=raw.get("ema"),
            optimizer=raw.get("optimizer"),
            generator=raw.get("generator"),
            losses=raw.get("losses") if raw.get("losses") is not None else torch.zeros(0),
            texture=raw.get("texture", {}),
            timing=raw.get("timing", {}),
        )
        ckpt.network()  # the weights must fit the config
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: damaged checkpoint ({exc})") from None
    return ckpt
