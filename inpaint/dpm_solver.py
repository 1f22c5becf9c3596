"""DPM-Solver++(2M) and its SDE variant: second-order multistep solvers of the diffusion ODE and SDE.

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
from .sampling import Generators, Progress, known_region, noise_like, paste_known, tick_progress, timestep_pairs, x0_at
from .schedule import NoiseSchedule


def _alpha_std_lambda(schedule: NoiseSchedule, t: int) -> tuple[float, float, float]:
    """sqrt(abar_t), the noise's std sqrt(1 - abar_t) (the paper's sigma_t), and their log ratio lambda_t."""
    a = float(schedule.alpha_bar(torch.tensor(t)))
    alpha, std = math.sqrt(a), math.sqrt(1 - a)
    return alpha, std, math.log(alpha / std)


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

    With alpha_t = sqrt(abar_t), std_t = sqrt(1 - abar_t) (the paper's sigma_t; this
    package keeps "sigma" for Karras's noise-to-signal ratio), lambda_t = log(alpha_t / std_t),
    h = lambda_s - lambda_t and D the data estimate, a step t -> s is

        x_s = std_s / std_t e^(-eta h) x_t + alpha_s (1 - e^(-(1 + eta) h)) D
              + std_s sqrt(1 - e^(-2 eta h)) z,

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
    pairs = timestep_pairs(timesteps, schedule.T)
    denoiser = known_region(denoiser, known, x_known, clip=clip)
    x, x0_prev, h_prev = x_T, None, None
    for i, (t, s) in enumerate(pairs):
        x0 = x0_at(denoiser, x, t)
        if s < 0:
            x = x0
        else:
            alpha_t, std_t, lam_t = _alpha_std_lambda(schedule, t)
            alpha_s, std_s, lam_s = _alpha_std_lambda(schedule, s)
            h = lam_s - lam_t
            d = x0 if x0_prev is None else x0 + (x0 - x0_prev) * (h / (2 * h_prev))
            x = std_s / std_t * math.exp(-eta * h) * x + alpha_s * -math.expm1(-(1 + eta) * h) * d
            if eta > 0:
                x = x + std_s * math.sqrt(-math.expm1(-2 * eta * h)) * noise_like(x, generator)
            x0_prev, h_prev = x0, h
        tick_progress(progress, i + 1, len(pairs))
    return paste_known(x, known, x_known)
