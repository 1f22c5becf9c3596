"""Parametrizations of the denoiser, their conversions, and the training loss.

With ``x_t = sqrt(a) x0 + sqrt(1 - a) eps`` (``a = abar_t``) the network may
predict

- ``x0``:  the clean image (the reference of Cherel et al.);
- ``eps``: the noise (Ho et al. 2020);
- ``v``:   ``sqrt(a) eps - sqrt(1 - a) x0`` (Salimans and Ho 2022).

Each converts to the others exactly given ``x_t``.  Samplers only ever see
an x0 estimate, through :func:`make_denoiser`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .schedule import SCHEDULES, NoiseSchedule, per_sample, q_sample, to_eps

PREDICTIONS = ("x0", "eps", "v")
WEIGHTINGS = ("uniform", "min-snr")
NOISE_LEVELS = ("uniform", "lognormal")

Denoiser = Callable[[Tensor, Tensor], Tensor]
"""A function ``(x_t, t) -> x0 estimate``, both (B, C, H, W), ``t`` of shape (B,)."""


@dataclass(frozen=True)
class DiffusionConfig:
    """How the diffusion path is trained and sampled; saved inside checkpoints.

    Parameters
    ----------
    schedule : {'cosine', 'linear', 'sigmoid'}
    timesteps : int
        T, the length of the forward chain.  The default, cosine with T = 400,
        gave the best fills of the schedule study and reaches a given quality
        in half the training of the reference's linear schedule with T = 1000
        (experiments/README.md, sections 2 and 6).
    prediction : {'eps', 'x0', 'v'}
        What the network outputs.  The default is eps: at an equal training
        budget x0 prediction with uniform weight (the reference recipe) gives
        fills far smoother than the truth (experiments/README.md, section 3).
    weighting : {'uniform', 'min-snr'}
        'uniform' weighs the squared error of the predicted quantity equally at
        every t; 'min-snr' uses min(SNR, gamma) in x0 units (Hang et al. 2023).
    snr_gamma : float
        The gamma of min-SNR weighting.
    noise_levels : {'uniform', 'lognormal'}
        How training draws t: uniformly over 0..T-1, or so that the noise level
        ``sigma_t = sqrt((1 - abar_t) / abar_t)`` is log-normal (Karras et al.
        2022, EDM, section 5), mixed with the uniform draw; see
        :func:`timestep_probabilities`.  Uniform t over a cosine schedule spends
        most draws at high noise, where predicting the noise is easy, and few
        below sigma = 0.1, where fine texture forms.
    level_mean, level_std : float
        Mean and standard deviation of ``log sigma`` for 'lognormal'; EDM's
        -1.2 and 1.2 are for images in [-1, 1], as here.
    uniform_share : float
        Share of the uniform draw in the 'lognormal' mixture, which keeps every
        t trained (the sampler starts at the highest noise levels).
    train_strength : float
        Share of the chain that training draws t from: 0 .. round(train_strength
        (T - 1)).  Below 1 the network learns only the interval that a fill
        started from a guide at that strength samples (Infusion, Cherel et
        al.); such a model fills only from a guide, at a strength no higher.
    """

    schedule: str = "cosine"
    timesteps: int = 400
    prediction: str = "eps"
    weighting: str = "uniform"
    snr_gamma: float = 5.0
    noise_levels: str = "uniform"
    level_mean: float = -1.2
    level_std: float = 1.2
    uniform_share: float = 0.2
    train_strength: float = 1.0

    def __post_init__(self) -> None:
        _check_choice("schedule", self.schedule, SCHEDULES)
        _check_choice("prediction", self.prediction, PREDICTIONS)
        _check_choice("weighting", self.weighting, WEIGHTINGS)
        _check_choice("noise_levels", self.noise_levels, NOISE_LEVELS)
        if self.level_std <= 0:
            raise ValueError(f"level_std must be positive, got {self.level_std}")
        if not 0 <= self.uniform_share <= 1:
            raise ValueError(f"uniform_share must be in [0, 1], got {self.uniform_share}")
        if self.timesteps < 2:
            raise ValueError(f"timesteps must be >= 2, got {self.timesteps}")
        if self.snr_gamma <= 0:
            raise ValueError(f"snr_gamma must be positive, got {self.snr_gamma}")
        if not 0 < self.train_strength <= 1:
            raise ValueError(f"train_strength must be in (0, 1], got {self.train_strength}")

    @property
    def top_timestep(self) -> int:
        """The noisiest timestep training draws: round(train_strength (T - 1))."""
        return round(self.train_strength * (self.timesteps - 1))

    def noise_schedule(self) -> NoiseSchedule:
        return NoiseSchedule.from_name(self.schedule, self.timesteps)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def timestep_probabilities(schedule: NoiseSchedule, config: DiffusionConfig) -> Tensor:
    """Probability (T,) float64 of drawing each training timestep.

    'lognormal': the mass of the log-normal density of sigma over each t's share
    of the log-sigma axis (the cells between midpoints of neighbouring levels),
    mixed with ``uniform_share`` of the uniform draw.  Timesteps above
    ``config.top_timestep`` get none, the rest share their mass.
    """
    T = schedule.T
    uniform = torch.full((T,), 1.0 / T, dtype=torch.float64)
    if config.noise_levels == "uniform":
        return _below(uniform, config.top_timestep)
    abar = schedule.alphas_cumprod.double()
    log_sigma = 0.5 * torch.log((1 - abar) / abar)
    mid = (log_sigma[1:] + log_sigma[:-1]) / 2
    edges = torch.cat([2 * log_sigma[:1] - mid[:1], mid, 2 * log_sigma[-1:] - mid[-1:]])
    normal = torch.distributions.Normal(torch.tensor(config.level_mean, dtype=torch.float64),
                                        torch.tensor(config.level_std, dtype=torch.float64))
    cdf = normal.cdf(edges)
    lognormal = (cdf[1:] - cdf[:-1]).clamp(min=0)
    lognormal = lognormal / lognormal.sum()
    return _below(config.uniform_share * uniform + (1 - config.uniform_share) * lognormal, config.top_timestep)


def _below(probabilities: Tensor, top: int) -> Tensor:
    """``probabilities`` with no mass above timestep ``top``, renormalized."""
    if top == len(probabilities) - 1:
        return probabilities
    kept = torch.cat([probabilities[: top + 1], probabilities.new_zeros(len(probabilities) - top - 1)])
    return kept / kept.sum()


def draw_timesteps(probabilities: Tensor | None, T: int, n: int, generator: torch.Generator) -> Tensor:
    """``n`` training timesteps: uniform (``probabilities`` None, as the first checkpoints drew them) or from
    :func:`timestep_probabilities`."""
    if probabilities is None:
        return torch.randint(0, T, (n,), generator=generator, device=generator.device)
    return torch.multinomial(probabilities.to(generator.device), n, replacement=True, generator=generator)


def target(x0: Tensor, eps: Tensor, abar: Tensor, prediction: str) -> Tensor:
    """The quantity the network learns to predict, for per-sample ``abar`` (B,)."""
    if prediction == "x0":
        return x0
    if prediction == "eps":
        return eps
    a = per_sample(abar, x0)
    return a.sqrt() * eps - (1 - a).sqrt() * x0


def to_x0(out: Tensor, x_t: Tensor, abar: Tensor, prediction: str) -> Tensor:
    """Convert a network output to the x0 estimate given ``x_t``."""
    if prediction == "x0":
        return out
    a = per_sample(abar, x_t)
    if prediction == "eps":
        return (x_t - (1 - a).sqrt() * out) / a.sqrt()
    return a.sqrt() * x_t - (1 - a).sqrt() * out


def loss_weight(snr: Tensor, prediction: str, weighting: str, gamma: float = 5.0) -> Tensor:
    """Per-sample weight of the squared error in the predicted quantity.

    For fixed ``x_t`` the squared errors relate as |eps err|^2 = SNR |x0 err|^2 and
    |v err|^2 = (SNR + 1) |x0 err|^2, so min-SNR-gamma (Hang et al. 2023, eq. 7),
    which weighs the x0 error by min(SNR, gamma), becomes min(SNR, gamma) / SNR for
    eps and min(SNR, gamma) / (SNR + 1) for v.
    """
    if weighting == "uniform":
        return torch.ones_like(snr)
    clipped = snr.clamp(max=gamma)
    if prediction == "x0":
        return clipped
    if prediction == "eps":
        return clipped / snr
    return clipped / (snr + 1)


def network_input(x_t: Tensor | None, *, x_known: Tensor | None = None, known: Tensor | None = None) -> Tensor:
    """Concatenate the image inputs of the U-Net: masked image, noisy image, mask.

    Parameters
    ----------
    x_t : Tensor (B, C, H, W) or None
        The noisy image (None for regression).
    x_known : Tensor (B, C, H, W) or None
        The image whose known pixels condition the model; the hole is zeroed here.
    known : Tensor (B, 1, H, W) bool or None
        True at known pixels; None for the unconditional (RePaint) model.
    """
    parts = []
    if known is not None:
        k = known.to(x_known.dtype)
        parts.append(x_known * k)
    if x_t is not None:
        parts.append(x_t)
    if known is not None:
        parts.append(k)
    return torch.cat(parts, dim=1)


def make_denoiser(
    model: nn.Module,
    schedule: NoiseSchedule,
    prediction: str,
    *,
    x_known: Tensor | None = None,
    known: Tensor | None = None,
) -> Denoiser:
    """Wrap a network as a function ``(x_t, t) -> x0`` for the samplers.

    The conditional model gets ``x_known`` and ``known`` concatenated to its
    input; the unconditional one (``known=None``) sees only ``x_t``.
    """

    def denoise(x_t: Tensor, t: Tensor) -> Tensor:
        out = model(network_input(x_t, x_known=x_known, known=known), t)
        return to_x0(out, x_t, schedule.alpha_bar(t), prediction)

    return denoise


def diffusion_loss(
    model: nn.Module,
    x0: Tensor,
    known: Tensor | None,
    schedule: NoiseSchedule,
    config: DiffusionConfig,
    generator: torch.Generator,
    *,
    valid: Tensor | None = None,
) -> Tensor:
    """Denoising loss on one batch, averaged over the hole (or the whole image).

    Draws t from ``config.noise_levels`` and eps ~ N(0, I) from ``generator``, forms x_t
    (Ho et al. Alg. 1), and takes the weighted squared error of the network's
    output against the target of ``config.prediction``.  For the conditional
    model the error counts on hole pixels only, as in Cherel et al.; for the
    unconditional model (``known=None``) on every pixel.  ``valid`` (B, 1, H, W)
    bool marks pixels that exist: pixels of a damaged training image that are
    not valid are zeroed in the conditioning and never count in the loss.
    """
    B = x0.shape[0]
    every_t = config.noise_levels == "uniform" and config.top_timestep == schedule.T - 1
    probabilities = None if every_t else timestep_probabilities(schedule, config)
    t = draw_timesteps(probabilities, schedule.T, B, generator).to(x0.device)
    eps = torch.randn(x0.shape, generator=generator, device=generator.device, dtype=x0.dtype).to(x0.device)
    x_t = q_sample(schedule, x0, t, eps)
    out = model(network_input(x_t, x_known=x0, known=conditioning(known, valid)), t)
    abar = schedule.alpha_bar(t)
    err = (out - target(x0, eps, abar, config.prediction)) ** 2
    weight = loss_weight(abar / (1 - abar), config.prediction, config.weighting, config.snr_gamma)
    return (weight.to(err.dtype) * masked_mean(err, ignored(known, valid))).mean()


def drop_condition(known: Tensor, probability: float, generator: torch.Generator) -> Tensor:
    """``known`` with each row, with ``probability``, all False: the crop shown without its condition.

    An all-hole mask zeroes the masked image too (:func:`network_input`), and the
    hole loss then counts every pixel: that row trains the unconditional model
    (classifier-free guidance's condition dropout, Ho and Salimans 2022).
    ``probability = 0`` returns ``known`` and draws nothing from ``generator``.
    """
    if probability == 0:
        return known
    drop = torch.rand(known.shape[0], generator=generator, device=generator.device) < probability
    return known & ~drop.to(known.device)[:, None, None, None]


def conditioning(known: Tensor | None, valid: Tensor | None) -> Tensor | None:
    """The pixels a conditional model is shown: known and valid."""
    return known if known is None or valid is None else known & valid


def ignored(known: Tensor | None, valid: Tensor | None) -> Tensor | None:
    """The pixels a loss leaves out: the known ones (given as input) and the invalid ones (no truth)."""
    if valid is None:
        return known
    return ~valid if known is None else known | ~valid


def masked_mean(err: Tensor, known: Tensor | None) -> Tensor:
    """Per-sample mean of ``err`` (B, C, H, W) over hole pixels, or all pixels when ``known`` is None."""
    if known is None:
        return err.flatten(1).mean(1)
    hole = (~known).to(err.dtype)
    count = hole.flatten(1).sum(1).clamp(min=1) * err.shape[1]
    return (err * hole).flatten(1).sum(1) / count
