"""The training configuration, a frozen dataclass saved inside every checkpoint."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from .diffusion import DiffusionConfig
from .orientation import AUGMENTATIONS, augmentation_name
from .unet import ModelConfig


LR_DECAYS = ("none", "linear", "cosine")
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run, so that ``load_checkpoint`` needs no flags.

    Parameters
    ----------
    model, diffusion : ModelConfig, DiffusionConfig
    crop, batch : int
        Side of the square training crops, and crops per step.
    steps : int
        Total optimizer steps.
    lr : float
        Adam's peak learning rate.
    lr_warmup : int
        Steps of linear warm-up from 0 to ``lr``.
    lr_decay : {'none', 'linear', 'cosine'}
        After the warm-up, keep ``lr`` ('none') or decay it to 0 at the last step
        (Li et al., "Budget-aware training", ICLR 2020: a schedule that ends with
        the budget beats a constant rate stopped early).  See :func:`lr_factor`.
    seed : int
        Seed of the one generator that draws the initial weights, crops, masks,
        timesteps and noise.
    ema : float
        Decay of the exponential moving average of the weights (0 disables it).
    held_out : float
        Width fraction of the right-hand strip that training never sees.
    augment : {'auto', 'none', 'flips', 'dihedral'}
        Random symmetries of the crops (see :mod:`inpaint.orientation`); 'auto'
        is resolved from the image by :func:`inpaint.train.train`, which records
        the concrete choice in the checkpoint.

    train_masks : str
        Mask families for training holes, as ``inpaint.masks.parse_families`` reads them.
    precision : {'auto', 'fp32', 'bf16'}
        Arithmetic of the forward and backward passes: 'bf16' runs them under
        bfloat16 autocast (weights, Adam and EMA stay float32), about twice as
        many steps a minute on a CPU with bfloat16 instructions; 'auto' picks
        'bf16' where the device has them (:func:`inpaint.precision.choose_precision`)
        and is resolved and recorded by :func:`inpaint.train.train`.
    cond_dropout : float
        Probability that a training crop of the conditional model is shown
        without its condition (masked image and mask zero: every pixel a hole,
        the loss on all of them), as in classifier-free guidance (Ho and
        Salimans 2022).  With it, one network also fills unconditionally
        (RePaint) and with guidance (:class:`inpaint.fill.SamplerConfig`'s
        ``guidance``).  0 draws nothing, so runs without it are unchanged.

    Notes
    -----
    The defaults of ``lr_warmup``, ``lr_decay`` and ``augment`` (100 steps of
    warm-up, a linear decay to 0, symmetries only for isotropic textures) are
    the recipe the unseen-texture benchmark measured best at a short budget
    (``experiments/results/unseen/ablation*.md``); checkpoints written before
    them load with what they were trained with (:data:`LEGACY`).
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    crop: int = 64
    batch: int = 16
    steps: int = 4000
    lr: float = 1e-3
    lr_warmup: int = 100
    lr_decay: str = "linear"
    seed: int = 0
    ema: float = 0.999
    held_out: float = 0.25
    augment: str = "auto"
    train_masks: str = "default"
    precision: str = "auto"
    init: str = "scratch"
    cond_dropout: float = 0.0

    def __post_init__(self) -> None:
        m = self.model.multiple
        if self.crop < m or self.crop % m:
            raise ValueError(f"crop must be a positive multiple of {m}, got {self.crop}")
        for name in ("batch", "steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema decay must be in [0, 1), got {self.ema}")
        if self.lr_warmup < 0:
            raise ValueError(f"lr_warmup must be >= 0, got {self.lr_warmup}")
        if self.lr_decay not in LR_DECAYS:
            raise ValueError(f"lr_decay must be one of {', '.join(LR_DECAYS)}; got {self.lr_decay!r}")
        object.__setattr__(self, "augment", augmentation_name(self.augment))
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"augment must be one of {', '.join(AUGMENTATIONS)}; got {self.augment!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {self.precision!r}")
        if not 0 < self.held_out < 1:
            raise ValueError(f"held_out must be in (0, 1), got {self.held_out}")
        if not 0 <= self.cond_dropout < 1:
            raise ValueError(f"cond_dropout must be in [0, 1), got {self.cond_dropout}")
        if self.cond_dropout and self.method != "diffusion":
            raise ValueError(f"cond_dropout is for the conditional diffusion model, not {self.method}")

    @property
    def method(self) -> str:
        return self.model.method

    @property
    def unconditional(self) -> bool:
        """Whether the network can fill without a condition: the RePaint model, or the conditional
        diffusion model trained with ``cond_dropout`` (shown an all-hole mask)."""
        return self.method == "repaint" or self.cond_dropout > 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Rebuild from :meth:`to_dict`; unknown keys are an error.

        Keys missing from files written before they existed take the value that
        reproduces how those files were trained (:data:`LEGACY`), not today's default.
        """
        d = {**LEGACY, **d}
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        model = ModelConfig(**d.pop("model", {}))
        diffusion = DiffusionConfig(**{**DIFFUSION_LEGACY, **d.pop("diffusion", {})})
        return cls(model=model, diffusion=diffusion, **d)


LEGACY = {"lr_warmup": 0, "lr_decay": "none", "augment": "dihedral", "precision": "fp32", "init": "scratch"}
"""Training fields added after the first checkpoints, with the behaviour those checkpoints had."""
DIFFUSION_LEGACY = {"noise_levels": "uniform"}
"""Likewise for :class:`inpaint.diffusion.DiffusionConfig`."""


def lr_factor(step: int, steps: int, warmup: int, decay: str) -> float:
    """The learning rate of optimizer step ``step`` (0-based) as a fraction of the peak.

    Linear warm-up over the first ``warmup`` steps, ``(step + 1) / warmup``; then
    ``decay`` over the remaining ``steps - warmup`` steps: 'none' stays at 1,
    'linear' falls as ``1 - p`` and 'cosine' as ``(1 + cos(pi p)) / 2``, with
    ``p = (step - warmup + 1) / (steps - warmup + 1)``, so the last step still
    moves and the rate would reach 0 one step after the end.  The warm-up does
    not depend on ``steps``, which lets a time budget fix ``steps`` during it.
    """
    if step < warmup:
        return (step + 1) / warmup
    if decay == "none":
        return 1.0
    p = (step - warmup + 1) / (max(steps, warmup) - warmup + 1)
    p = min(p, 1.0)
    return 1.0 - p if decay == "linear" else 0.5 * (1.0 + math.cos(math.pi * p))
