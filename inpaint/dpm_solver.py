"""Samplers beyond the ancestral chain: DPM-Solver++(2M), its SDE variant, and predictor-corrector.

Lu et al., "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion
Probabilistic Models" (2022), Alg. 2 (2M) and Sec. 5 / Appendix (SDE-DPM-Solver++2M);
the same updates as k-diffusion's ``sample_dpmpp_2m`` and ``sample_dpmpp_2m_sde``
(midpoint), written for the variance-preserving x_t of :mod:`inpaint.schedule`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from .diffusion import Denoiser
from .sampling import Generators, Progress, _long, _pairs, _paste, _tick, known_region, noise_like, x0_at
from .schedule import NoiseSchedule, posterior


def _alpha_sigma_lambda(schedule: NoiseSchedule, t: int) -> tuple[float, float, float]:
    a = float(schedule.alpha_bar(torch.tensor(t)))
    alpha, sigma = math.sqrt(a), math.sqrt(1 - a)
    return alpha, sigma, math.log(alpha / sigma)


@torch.no_grad()
def sample_dpmpp_2m(
    denoiser: Denoiser,
    x_T: Tensor,
    schedule: NoiseSchedule,
    *,
    timesteps: Sequence[int] | None = None,
    eta: float = 0.0,
    known: Tensor | None = None,
    x_known: Tensor | None = None,
    clip: bool = True,
    generator: Generators | None = None,
    progress: Progress | None = None,
) -> Tensor:
    """DPM-Solver++(2M) (``eta = 0``) or SDE-DPM-Solver++(2M) (``eta = 1``).

    With alpha_t = sqrt(abar_t), sigma_t = sqrt(1 - abar_t), lambda_t = log(alpha_t / sigma_t),
    h = lambda_s - lambda_t and D the data estimate, a step t -> s is

        x_s = sigma_s / sigma_t e^(-eta h) x_t + alpha_s (1 - e^(-(1 + eta) h)) D
              + sigma_s sqrt(1 - e^(-2 eta h)) z,

    with D = x0_t on the first step and, after it, the second-order
    D = x0_t + (x0_t - x0_prev) / (2 r), r = h_prev / h.  The last step, to the
    clean image, returns the x0 estimate.  ``eta = 0`` is an ODE solver (the
    starting noise is carried to the end); with ``eta = 1`` the first-order step
    is exactly the ancestral DDPM step, and the second order corrects its mean.
    The x0 estimates are clipped and pasted as in :func:`inpaint.sampling.sample_ddpm`,
    whose other parameters these are.
    """
    if not 0 <= eta <= 1:
        raise ValueError(f"eta must be in [0, 1], got {eta}")
    pairs = _pairs(timesteps, schedule.T)
    denoiser = known_region(denoiser, known, x_known, clip=clip)
    x, x0_prev, h_prev = x_T, None, None
    for i, (t, s) in enumerate(pairs):
        x0 = x0_at(denoiser, x, t)
        if s < 0:
            x = x0
        else:
            alpha_t, sigma_t, lam_t = _alpha_sigma_lambda(schedule, t)
            alpha_s, sigma_s, lam_s = _alpha_sigma_lambda(schedule, s)
            h = lam_s - lam_t
            d = x0 if x0_prev is None else x0 + (x0 - x0_prev) * (h / (2 * h_prev))
            x = sigma_s / sigma_t * math.exp(-eta * h) * x + alpha_s * -math.expm1(-(1 + eta) * h) * d
            if eta > 0:
                x = x + sigma_s * math.sqrt(-math.expm1(-2 * eta * h)) * noise_like(x, generator)
            x0_prev, h_prev = x0, h
        _tick(progress, i + 1, len(pairs))
    return _paste(x, known, x_known)


@torch.no_grad()
def sample_pc(
    denoiser: Denoiser,
    x_T: Tensor,
    schedule: NoiseSchedule,
    *,
    timesteps: Sequence[int] | None = None,
    corrector_steps: int = 1,
    snr: float = 0.16,
    known: Tensor | None = None,
    x_known: Tensor | None = None,
    clip: bool = True,
    generator: Generators | None = None,
    progress: Progress | None = None,
) -> Tensor:
    """Predictor-corrector sampling (Song et al. 2021, "Score-Based Generative Modeling through
    SDEs", Alg. 2): an ancestral step, then ``corrector_steps`` Langevin steps at the new level.

    The score at level s is -eps_hat / sqrt(1 - abar_s), with eps_hat implied by the (clipped,
    pasted) x0 estimate; each Langevin step is x <- x + e score + sqrt(2 e) z with
    e = 2 (snr |z| / |score|)^2 per sample (the step size rule of the paper's code, with
    alpha = 1).  Each corrector step costs one more network call; none follows the last step.
    Other parameters as in :func:`inpaint.sampling.sample_ddpm`.
    """
    if corrector_steps < 0 or snr <= 0:
        raise ValueError("corrector_steps must be >= 0 and snr positive")
    pairs = _pairs(timesteps, schedule.T)
    denoiser = known_region(denoiser, known, x_known, clip=clip)
    total = len(pairs) + corrector_steps * (len(pairs) - 1)
    done, x = 0, x_T
    for t, s in pairs:
        x0 = x0_at(denoiser, x, t)
        mean, var = posterior(schedule, x0, x, _long(t, x), _long(s, x))
        x = mean + var.sqrt() * noise_like(x, generator) if s >= 0 else mean
        done += 1
        _tick(progress, done, total)
        for _ in range(corrector_steps if s >= 0 else 0):
            a = float(schedule.alpha_bar(torch.tensor(s)))
            x0 = x0_at(denoiser, x, s)
            score = -(x - a**0.5 * x0) / (1 - a)
            z = noise_like(x, generator)
            ratio = z.flatten(1).norm(dim=1) / score.flatten(1).norm(dim=1).clamp(min=1e-12)
            e = (2 * (snr * ratio) ** 2).reshape(-1, *([1] * (x.ndim - 1)))
            x = x + e * score + (2 * e).sqrt() * z
            done += 1
            _tick(progress, done, total)
    return _paste(x, known, x_known)
