"""The training configuration, a frozen dataclass saved inside every checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from .diffusion import DiffusionConfig
from .unet import ModelConfig


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
        Adam learning rate.
    seed : int
        Seed of the one generator that draws the initial weights, crops, masks,
        timesteps and noise.
    ema : float
        Decay of the exponential moving average of the weights (0 disables it).
    held_out : float
        Width fraction of the right-hand strip that training never sees.
    augment : bool
        Random flips and quarter turns of the crops.
    train_masks : str
        Mask families for training holes, as ``inpaint.masks.parse_families`` reads them.
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    crop: int = 64
    batch: int = 16
    steps: int = 4000
    lr: float = 1e-3
    seed: int = 0
    ema: float = 0.999
    held_out: float = 0.25
    augment: bool = True
    train_masks: str = "default"

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
        if not 0 < self.held_out < 1:
            raise ValueError(f"held_out must be in (0, 1), got {self.held_out}")

    @property
    def method(self) -> str:
        return self.model.method

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Rebuild from :meth:`to_dict`; unknown keys are an error, missing ones take defaults."""
        d = dict(d)
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        model = ModelConfig(**d.pop("model", {}))
        diffusion = DiffusionConfig(**d.pop("diffusion", {}))
        return cls(model=model, diffusion=diffusion, **d)
