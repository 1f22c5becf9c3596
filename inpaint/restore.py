"""Restoring a damaged image from its own pixels: train on it, then fill its holes window by window.

Internal learning (Cherel et al., EUSIPCO 2024) needs no other image: the model
is trained on random crops of the damaged image itself, then fills its holes.

- The conditional methods (regression, diffusion) train on crops anywhere in the
  image, holes included: hole pixels are zeroed in every input and left out of
  the loss (``train(..., exclude=all False, valid=~hole)``), so the model learns
  only from pixels that exist.
- The unconditional RePaint model cannot be told which pixels are missing: it
  would learn the zeros of the hole as texture.  Its crops must avoid the hole
  entirely (``exclude=hole``), so it needs hole-free ``crop x crop`` squares.

The fill runs on windows around the holes (:mod:`inpaint.windows`).
"""

from __future__ import annotations


import torch
from torch import Tensor

from .checkpoint import Checkpoint
from .config import TrainConfig
from .diffusion import DiffusionConfig
from .fill import SamplerConfig, sampler_plan
from .patches import valid_offsets
from .sampling import Progress
from .train import StepCallback, train
from .unet import LEARNED_METHODS, ModelConfig
from .windows import MARGIN, fill_windows, hole_map

__all__ = ["DEFAULT_TRAIN_STEPS", "check_restore", "restore", "restore_config", "train_on_texture", "train_restorer"]

DEFAULT_TRAIN_STEPS = 2000
"""Optimizer steps of a restore's training (batch 16 of 64x64 crops); what they cost and give is measured in
``experiments/results/restore_quality/results.md``."""


def restore_config(
    channels: int,
    *,
    method: str = "diffusion",
    steps: int = DEFAULT_TRAIN_STEPS,
    crop: int = TrainConfig.crop,
    batch: int = TrainConfig.batch,
    seed: int = TrainConfig.seed,
    prediction: str = DiffusionConfig.prediction,
    width: int = ModelConfig.width,
    timesteps: int = DiffusionConfig.timesteps,
) -> TrainConfig:
    """The training config of :func:`restore`: the default diffusion recipe (eps, cosine, T = 400).

    Parameters
    ----------
    channels : int
        Channels of the image (or of the whole stack).
    method : {'regression', 'diffusion', 'repaint'}
    width : int
        Channels of the U-Net levels (32 as in the reference; small values for tests).
    """
    if method not in LEARNED_METHODS:
        raise ValueError(f"method must be one of {', '.join(LEARNED_METHODS)}; got {method!r}")
    return TrainConfig(
        model=ModelConfig(method=method, image_channels=channels, width=width),
        diffusion=DiffusionConfig(prediction=prediction, timesteps=timesteps),
        crop=crop, batch=batch, steps=steps, seed=seed,
    )


def check_restore(image: Tensor, known: Tensor, config: TrainConfig) -> None:
    """Raise ``ValueError`` with an actionable message unless :func:`restore` can run.

    Everything is checked before any training: sizes, a hole that is neither empty
    nor everything, an image at least one crop large, and for RePaint a crop that
    avoids the hole.
    """
    hole = _check_fill_inputs(image, known, config)
    H, W = image.shape[-2:]
    m, crop = config.model.multiple, config.crop
    if min(H, W) < crop:
        largest = min(H, W) // m * m
        hint = f"pass a crop of at most {largest} (a multiple of {m})" if largest else f"it must be at least {m}x{m}"
        raise ValueError(f"the image is {H}x{W}, smaller than the {crop}x{crop} training crop; {hint}")
    if config.method == "repaint" and not valid_offsets(H, W, crop, hole).any():
        raise ValueError(
            f"no {crop}x{crop} crop of this {H}x{W} image avoids the hole, and the unconditional repaint "
            "model can only learn from hole-free crops; pass a smaller crop or use the diffusion method")


def _check_fill_inputs(image: Tensor, known: Tensor, config: TrainConfig) -> Tensor:
    """Shapes, a hole that is neither empty nor everything, channels; returns the (H, W) hole map."""
    if image.ndim != 4 or image.shape[0] != 1:
        raise ValueError(f"image must have shape (1, C, H, W), got {tuple(image.shape)}")
    hole = hole_map(known)
    H, W = image.shape[-2:]
    if hole.shape != (H, W):
        raise ValueError(f"the mask is {tuple(hole.shape)} (height, width) but the image is {(H, W)}")
    if not hole.any():
        raise ValueError("the mask has no hole: nothing to restore (white marks the hole)")
    if hole.all():
        raise ValueError("the mask is all hole: nothing is known to learn from (black marks known pixels)")
    if image.shape[1] != config.model.image_channels:
        raise ValueError(f"the image has {image.shape[1]} channels, the model {config.model.image_channels}")
    return hole


def train_restorer(
    image: Tensor,
    known: Tensor,
    config: TrainConfig,
    *,
    device: str | torch.device = "cpu",
    on_step: StepCallback | None = None,
    out=None,
    name: str = "image",
    minutes: float | None = None,
    init: Checkpoint | None = None,
) -> Checkpoint:
    """Train ``config.method`` on crops of the damaged ``image`` itself.

    Conditional methods: crops go anywhere; hole pixels are zeroed in the inputs
    and x_t and left out of the loss (``valid = ~hole``).  RePaint: crops avoid the
    hole (``exclude = hole``), since an unconditional model cannot be told which
    pixels are missing.

    Parameters
    ----------
    image : Tensor (1, C, H, W) in [-1, 1]
    known : Tensor (1, 1, H, W) bool, True at known pixels
    out : path, optional
        Where :func:`inpaint.train.train` saves the checkpoint (every 500 steps,
        at the end, and on interrupt).
    minutes : float, optional
        A wall-clock budget instead of ``config.steps`` (see :func:`inpaint.train.train`).
    init : Checkpoint, optional
        Fine-tune these weights, e.g. the shipped prior (:func:`inpaint.prior.load_init`).
    """
    check_restore(image, known, config)
    hole = hole_map(known)
    if config.model.conditional:
        exclude, valid = torch.zeros_like(hole), ~hole
    else:
        exclude, valid = hole, None
    return train(image, config, device=device, on_step=on_step, out=out, name=name, exclude=exclude, valid=valid,
                 minutes=minutes, init=init)


def train_on_texture(image: Tensor, config: TrainConfig, *, device: str | torch.device = "cpu",
                     on_step: StepCallback | None = None, name: str = "image", minutes: float | None = None,
                     init: Checkpoint | None = None) -> Checkpoint:
    """Train ``config.method`` on crops of all of ``image``, an undamaged texture (no hole, nothing held out):
    the model of the texture itself that ``tile`` and ``extend`` synthesize with.  ``minutes`` and ``init`` as
    in :func:`train_restorer`."""
    return train(image, config, device=device, on_step=on_step, name=name, minutes=minutes, init=init,
                 exclude=torch.zeros(image.shape[-2:], dtype=torch.bool))


def restore(
    image: Tensor,
    known: Tensor,
    config: TrainConfig,
    *,
    sampler: SamplerConfig = SamplerConfig(),
    samples: int = 1,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
    margin: int = MARGIN,
    on_step: StepCallback | None = None,
    progress: Progress | None = None,
    checkpoint_path=None,
    name: str = "image",
    minutes: float | None = None,
    trained: Checkpoint | None = None,
    init: Checkpoint | None = None,
) -> tuple[Tensor, Checkpoint]:
    """Restore a damaged image from its own pixels: :func:`train_restorer`, then :func:`fill_windows`.

    Parameters
    ----------
    image : Tensor (1, C, H, W) in [-1, 1]
        The damaged image (any values in the hole, NaN included).
    known : Tensor (1, 1, H, W) bool
        True at known pixels, False in the hole.
    config : TrainConfig
        Usually :func:`restore_config`.
    sampler : SamplerConfig
        Default: :func:`inpaint.fill.fill`'s, so that a restore and a fill of the same model agree
        (:data:`inpaint.fill.DEFAULT_SAMPLER`, or :data:`inpaint.fill.REPAINT_SAMPLER` for a repaint model).
    generator : torch.Generator, optional
        Noise of the fill (on ``device``); training draws from ``config.seed``.
    checkpoint_path : path, optional
        Keep the trained model there.
    minutes : float, optional
        Train for this many minutes of wall time instead of ``config.steps``
        (see :func:`inpaint.train.train`).
    trained : Checkpoint, optional
        A model trained before (e.g. by an earlier restore of the same image):
        no training, ``config`` is ignored and the fill uses ``trained``.
    init : Checkpoint, optional
        Training fine-tunes these weights (the shipped prior:
        ``inpaint.prior.load_init("prior")``) instead of starting from scratch.

    Returns
    -------
    restored : Tensor (samples, 1, C, H, W), equal to ``image`` at known pixels.
    checkpoint : Checkpoint

    Examples
    --------
    >>> image = torch.rand(1, 3, 48, 64) * 2 - 1
    >>> known = torch.ones(1, 1, 48, 64, dtype=torch.bool); known[..., 20:28, 30:40] = False
    >>> config = restore_config(3, steps=2, crop=32, batch=2, width=8, timesteps=10)
    >>> out, _ = restore(image, known, config, sampler=SamplerConfig(steps=2))
    >>> out.shape, bool((out[0][known.expand_as(image)] == image[known.expand_as(image)]).all())
    (torch.Size([1, 1, 3, 48, 64]), True)
    """
    if trained is not None:
        config = trained.config
        _check_fill_inputs(image, known, config)
    else:
        check_restore(image, known, config)
    sampler_plan(config, sampler)  # a bad sampler fails now, not after training
    image = image.masked_fill(~known.to(image.device), 0.0)  # NaN in the hole would survive the zeroing x * 0
    if trained is not None:
        ckpt = trained
    else:
        ckpt = train_restorer(image, known, config, device=device, on_step=on_step, out=checkpoint_path, name=name,
                              minutes=minutes, init=init)
    model = ckpt.network(device=device)
    restored = fill_windows(model, ckpt.config, image, known, margin=margin, sampler=sampler, samples=samples,
                            generator=generator, progress=progress)
    return restored, ckpt
