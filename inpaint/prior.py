"""A texture prior: the conditional diffusion U-Net pre-trained on many textures, to fine-tune from.

Trained from scratch on one texture for a few minutes, the network spends most
of its budget learning what every texture shares: noise statistics, edges,
grain, how a hole's border continues.  The shipped prior
(``data/checkpoints/prior/diffusion.safetensors``) has learnt those on a corpus of free
textures (``experiments/prior_corpus.md``; none of the unseen-texture
benchmark's images, none of its packages), so fine-tuning spends the budget on
what is particular to the user's texture.  ``train(..., init=load_init("prior"))``,
``inpaint train-texture --init prior`` and ``inpaint restore --init prior`` start
from it; the checkpoint's ``config.init`` records it.

It is the library's default conditional diffusion network, so it fine-tunes
into any run with the default ``ModelConfig`` and the default schedule, T and
prediction; :func:`inpaint.train.check_init` refuses anything else.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from .checkpoint import Checkpoint, load_checkpoint
from .config import TrainConfig
from .shipped import PRIOR, checkpoint
from .train import check_init
from .unet import ModelConfig

__all__ = ["PRIOR", "INITS", "prior_path", "load_init", "fits_prior", "init_for", "prior_config"]

AUTO = "auto"
INITS = (AUTO, "scratch", PRIOR)
"""Names :func:`init_for` knows besides a checkpoint file (:func:`load_init`: all but 'auto')."""


def prior_path() -> Path:
    """The shipped prior's checkpoint file."""
    return checkpoint(PRIOR)


def load_init(value: str | os.PathLike | None) -> Checkpoint | None:
    """The weights a run starts from: None for ``'scratch'`` (or None), the shipped prior for
    ``'prior'``, else the checkpoint file ``value``."""
    if value is None or value == "scratch":
        return None
    path = prior_path() if value == PRIOR else Path(value)
    if value == PRIOR and not path.is_file():
        raise FileNotFoundError(f"the shipped prior is missing ({path}); reinstall inpaint")
    return load_checkpoint(path)


def fits_prior(config: TrainConfig, prior: Checkpoint) -> bool:
    """Whether a run of ``config`` can fine-tune ``prior``: the same network, schedule, T and prediction."""
    try:
        check_init(config, prior)
    except ValueError:
        return False
    return True


def init_for(value: str | os.PathLike | None, config: TrainConfig) -> Checkpoint | None:
    """The weights a run of ``config`` starts from.

    ``'auto'`` (the default of ``train-texture``): the shipped prior where it fits
    (:func:`fits_prior`: a conditional diffusion run of the default network and
    schedule on an RGB image), scratch otherwise, e.g. for regression, RePaint,
    a grey image or another T.  It is the recipe the unseen-texture benchmark
    measured best at short budgets.  Anything else: :func:`load_init`, whose
    checkpoint :func:`inpaint.train.train` then checks against ``config``.
    """
    if value != AUTO:
        return load_init(value)
    if config.method != "diffusion" or not prior_path().is_file():
        return None
    prior = load_init(PRIOR)
    return prior if fits_prior(config, prior) else None


def prior_config(steps: int, *, channels: int = 3, seed: int = 0) -> TrainConfig:
    """The pre-training recipe: the library's default diffusion run, all eight symmetries, and a
    learning rate warmed up over 100 steps and decayed linearly to 0 at the last step."""
    base = TrainConfig()
    return replace(base, model=ModelConfig("diffusion", image_channels=channels), steps=steps, seed=seed,
                   augment="dihedral", lr_warmup=100, lr_decay="linear")
