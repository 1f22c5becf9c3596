"""Filling holes with a trained model: one entry point for every method and sampler."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import TrainConfig
from .diffusion import make_denoiser
from .regression import fill_regression
from .sampling import SAMPLERS, Progress, sample_ddim, sample_ddpm, sample_repaint, strided_timesteps


@dataclass(frozen=True)
class SamplerConfig:
    """How a diffusion model is sampled.

    Parameters
    ----------
    sampler : {'ddpm', 'ddim', 'repaint'} or None
        None picks 'ddpm' for the conditional model and 'repaint' for the
        unconditional one.
    steps : int or None
        Number of denoising steps, evenly strided over T; None = all T.
    eta : float
        DDIM stochasticity.
    jump_length, jump_n_sample : int
        RePaint's resampling (the paper uses 10 and 10 over 250 steps).
    paste : bool
        Replace the known pixels of every x0 estimate by the input's (the
        reference's sampler).  The final output keeps known pixels either way.
    """

    sampler: str | None = None
    steps: int | None = None
    eta: float = 0.0
    jump_length: int = 10
    jump_n_sample: int = 10
    paste: bool = True

    def __post_init__(self) -> None:
        if self.sampler is not None and self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}; got {self.sampler!r}")
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")

    def resolve(self, method: str) -> str:
        if self.sampler is None:
            return "repaint" if method == "repaint" else "ddpm"
        if self.sampler == "repaint" and method != "repaint":
            raise ValueError("the repaint sampler needs a model trained with --method repaint")
        return self.sampler


def pad_to_multiple(x: Tensor, known: Tensor, multiple: int) -> tuple[Tensor, Tensor, tuple[int, int]]:
    """Pad bottom and right to a multiple of ``multiple``; padded pixels count as known.

    Reflection keeps the texture statistics at the border (replication where the
    image is too small to reflect).
    """
    H, W = x.shape[-2:]
    ph, pw = -H % multiple, -W % multiple
    if ph == 0 and pw == 0:
        return x, known, (H, W)
    mode = "reflect" if ph < H and pw < W else "replicate"
    x = F.pad(x, (0, pw, 0, ph), mode=mode)
    known = F.pad(known, (0, pw, 0, ph), value=True)
    return x, known, (H, W)


def fill(
    model: nn.Module,
    config: TrainConfig,
    x_known: Tensor,
    known: Tensor,
    *,
    sampler: SamplerConfig = SamplerConfig(),
    samples: int = 1,
    generator: torch.Generator | None = None,
    progress: Progress | None = None,
) -> Tensor:
    """Fill the holes of ``x_known`` with a trained network.

    Parameters
    ----------
    model : UNet
        Trained for ``config.method``.
    x_known : Tensor (B, C, H, W) in [-1, 1]
        Any H and W: sizes that are not a multiple of 8 are padded.
    known : Tensor (B, 1, H, W) bool
        True at known pixels.
    samples : int
        Independent fills per image (regression always gives the same one).

    Returns
    -------
    Tensor (samples, B, C, H, W), equal to ``x_known`` at known pixels.
    """
    _check_inputs(x_known, known, config)
    B = x_known.shape[0]
    x, k, (H, W) = pad_to_multiple(x_known, known, config.model.multiple)
    x, k = x.repeat(samples, 1, 1, 1), k.repeat(samples, 1, 1, 1)
    if config.method == "regression":
        out = fill_regression(model, x, k)
    else:
        out = _sample(model, config, x, k, sampler, generator, progress)
    out = torch.where(k, x, out)[..., :H, :W]
    return out.reshape(samples, B, *out.shape[1:])


def _sample(model, config: TrainConfig, x, known, sampler: SamplerConfig, generator, progress) -> Tensor:
    schedule = config.diffusion.noise_schedule()
    cond = {"x_known": x, "known": known} if config.model.conditional else {}
    denoiser = make_denoiser(model, schedule, config.diffusion.prediction, **cond)
    device = generator.device if generator is not None else x.device
    x_T = torch.randn(x.shape, generator=generator, device=device).to(x.device)
    ts = strided_timesteps(schedule.T, sampler.steps)
    paste = {"known": known, "x_known": x} if sampler.paste else {}
    name = sampler.resolve(config.method)
    common = dict(timesteps=ts, generator=generator, progress=progress)
    with torch.inference_mode():
        if name == "ddpm":
            return sample_ddpm(denoiser, x_T, schedule, **paste, **common)
        if name == "ddim":
            return sample_ddim(denoiser, x_T, schedule, eta=sampler.eta, **paste, **common)
        return sample_repaint(
            denoiser, x_T, schedule, known=known, x_known=x,
            jump_length=sampler.jump_length, jump_n_sample=sampler.jump_n_sample, **common,
        )


def _check_inputs(x_known: Tensor, known: Tensor, config: TrainConfig) -> None:
    if x_known.ndim != 4 or known.ndim != 4:
        raise ValueError("x_known must be (B, C, H, W) and known (B, 1, H, W)")
    if x_known.shape[1] != config.model.image_channels:
        raise ValueError(
            f"the image has {x_known.shape[1]} channels but the model was trained on {config.model.image_channels}"
        )
    if known.dtype != torch.bool or known.shape[1] != 1 or known.shape[-2:] != x_known.shape[-2:]:
        raise ValueError(f"known must be a bool tensor (B, 1, H, W) matching the image, got {tuple(known.shape)} {known.dtype}")
    if bool(known.all()):
        raise ValueError("the mask has no hole: nothing to fill")
