"""Samplers, as plain functions over a denoiser ``(x_t, t) -> x0``.

Every sampler takes a ``torch.Generator`` for its noise and an optional
``progress(done, total)`` callback, and when given ``known`` and ``x_known``
returns an image whose known pixels equal ``x_known``'s exactly.

Timestep lists come from pure functions (:func:`strided_timesteps`,
:func:`repaint_schedule`) so tests can check them.  A timestep list is
descending, starts at T-1 (pure noise) and leaves out the final -1 (the clean
image), which every sampler appends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from .diffusion import Denoiser, to_eps
from .schedule import NoiseSchedule, posterior, q_jump, q_sample

SAMPLERS = ("ddpm", "ddim", "repaint")
Progress = Callable[[int, int], None]


def strided_timesteps(T: int, steps: int | None = None) -> list[int]:
    """``steps`` evenly spaced timesteps from T-1 down to 0 (all T when None).

    Examples
    --------
    >>> strided_timesteps(1000, 4)
    [999, 666, 333, 0]
    """
    steps = T if steps is None else steps
    if not 1 <= steps <= T:
        raise ValueError(f"steps must be between 1 and T={T}, got {steps}")
    if steps == 1:
        return [T - 1]
    return [round(i * (T - 1) / (steps - 1)) for i in range(steps - 1, -1, -1)]


def repaint_schedule(steps: int, jump_length: int = 10, jump_n_sample: int = 10) -> list[int]:
    """RePaint's walk over the positions of a timestep list (Lugmayr et al. 2022, Sec. 4.2).

    Positions run from ``steps - 1`` (the noisiest timestep) to -1 (the clean
    image).  Going down by one is a reverse (denoising) step; going up by one is
    a forward re-noising step.  Every ``jump_length`` positions the walk goes back
    up ``jump_length`` positions, ``jump_n_sample - 1`` times, so that each of
    those stretches is traversed ``jump_n_sample`` times.

    Returns
    -------
    list of int, starting at ``steps - 1`` and ending at -1, consecutive entries
    differing by exactly 1.
    """
    if steps < 1 or jump_length < 1 or jump_n_sample < 1:
        raise ValueError("steps, jump_length and jump_n_sample must all be >= 1")
    jumps = {j: jump_n_sample - 1 for j in range(0, steps - jump_length, jump_length)}
    t = steps
    walk = []
    while t >= 1:
        t -= 1
        walk.append(t)
        if jumps.get(t, 0) > 0:
            jumps[t] -= 1
            for _ in range(jump_length):
                t += 1
                walk.append(t)
    walk.append(-1)
    return walk


def _paste(x: Tensor, known: Tensor | None, x_known: Tensor | None) -> Tensor:
    """Known pixels from ``x_known``, the hole from ``x``: known * x_known + (1 - known) * x."""
    if known is None:
        return x
    return torch.where(known, x_known, x)


def _randn(like: Tensor, generator: torch.Generator | None) -> Tensor:
    device = generator.device if generator is not None else like.device
    return torch.randn(like.shape, generator=generator, device=device, dtype=like.dtype).to(like.device)


def _x0_estimate(denoiser: Denoiser, x: Tensor, t: int, known, x_known, clip: bool) -> Tensor:
    x0 = denoiser(x, torch.full((x.shape[0],), t, device=x.device, dtype=torch.long))
    if clip:
        x0 = x0.clamp(-1, 1)
    return _paste(x0, known, x_known)


def _pairs(timesteps: Sequence[int]) -> list[tuple[int, int]]:
    ts = list(timesteps) + [-1]
    if any(b >= a for a, b in zip(ts, ts[1:])):
        raise ValueError("timesteps must be strictly decreasing and >= 0")
    return list(zip(ts, ts[1:]))


def _long(t: int, x: Tensor) -> Tensor:
    return torch.full((x.shape[0],), t, dtype=torch.long)


@torch.no_grad()
def sample_ddpm(
    denoiser: Denoiser,
    x_T: Tensor,
    schedule: NoiseSchedule,
    *,
    timesteps: Sequence[int] | None = None,
    known: Tensor | None = None,
    x_known: Tensor | None = None,
    clip: bool = True,
    generator: torch.Generator | None = None,
    progress: Progress | None = None,
) -> Tensor:
    """Ancestral sampling (Ho et al. 2020, Alg. 2) on any decreasing timestep list.

    At each step t -> s the x0 estimate is clipped to [-1, 1], its known pixels
    are replaced by ``x_known``'s (the reference's known-region pasting), and
    x_s is drawn from the posterior q(x_s | x_t, x0) (:func:`posterior`).

    Parameters
    ----------
    denoiser : callable (x_t, t) -> x0
    x_T : Tensor (B, C, H, W)
        Starting noise, usually ``randn`` from the same generator.
    timesteps : sequence of int, optional
        Decreasing, from T-1; default all T steps.
    known, x_known : Tensor (B, 1, H, W) bool and (B, C, H, W), optional
        The known region and its values; None for unconditional sampling.
    """
    pairs = _pairs(range(schedule.T - 1, -1, -1) if timesteps is None else timesteps)
    x = x_T
    for i, (t, s) in enumerate(pairs):
        x0 = _x0_estimate(denoiser, x, t, known, x_known, clip)
        mean, var = posterior(schedule, x0, x, _long(t, x), _long(s, x))
        x = mean + var.sqrt() * _randn(x, generator) if s >= 0 else mean
        if progress is not None:
            progress(i + 1, len(pairs))
    return _paste(x, known, x_known)


@torch.no_grad()
def sample_ddim(
    denoiser: Denoiser,
    x_T: Tensor,
    schedule: NoiseSchedule,
    *,
    timesteps: Sequence[int] | None = None,
    eta: float = 0.0,
    known: Tensor | None = None,
    x_known: Tensor | None = None,
    clip: bool = True,
    generator: torch.Generator | None = None,
    progress: Progress | None = None,
) -> Tensor:
    """DDIM (Song et al. 2021, eq. 12) with stochasticity ``eta``.

    x_s = sqrt(abar_s) x0 + sqrt(1 - abar_s - sigma^2) eps + sigma z, with
    sigma = eta sqrt((1 - abar_s) / (1 - abar_t)) sqrt(1 - abar_t / abar_s) and eps
    recomputed from the (clipped, pasted) x0.  ``eta = 0`` is deterministic;
    ``eta = 1`` on the full schedule is ancestral DDPM.  Other parameters as in
    :func:`sample_ddpm`.
    """
    if eta < 0:
        raise ValueError(f"eta must be >= 0, got {eta}")
    pairs = _pairs(range(schedule.T - 1, -1, -1) if timesteps is None else timesteps)
    x = x_T
    for i, (t, s) in enumerate(pairs):
        x0 = _x0_estimate(denoiser, x, t, known, x_known, clip)
        a_t, a_s = schedule.alpha_bar(torch.tensor(t)), schedule.alpha_bar(torch.tensor(s))
        if s < 0:
            x = x0
        else:
            sigma = eta * ((1 - a_s) / (1 - a_t) * (1 - a_t / a_s)).sqrt()
            eps = to_eps(x0, x, a_t.expand(x.shape[0]))
            x = a_s.sqrt().item() * x0 + (1 - a_s - sigma**2).clamp(min=0).sqrt().item() * eps
            if eta > 0:
                x = x + sigma.item() * _randn(x, generator)
        if progress is not None:
            progress(i + 1, len(pairs))
    return _paste(x, known, x_known)


@torch.no_grad()
def sample_repaint(
    denoiser: Denoiser,
    x_T: Tensor,
    schedule: NoiseSchedule,
    *,
    known: Tensor,
    x_known: Tensor,
    timesteps: Sequence[int] | None = None,
    jump_length: int = 10,
    jump_n_sample: int = 10,
    clip: bool = True,
    generator: torch.Generator | None = None,
    progress: Progress | None = None,
) -> Tensor:
    """RePaint (Lugmayr et al. 2022, Alg. 1) for an unconditional denoiser.

    On a reverse step t -> s, the known part of x_s is ``x_known`` noised to
    level s (q_sample), the unknown part is a posterior draw given the model's
    x0 estimate, and the two merge by the mask.  On a forward step s -> t the
    whole image is re-noised with q(x_t | x_s) (:func:`q_jump`).  The walk over
    ``timesteps`` (default: all T) is :func:`repaint_schedule`; with
    ``jump_n_sample = 1`` this is plain replacement sampling.
    """
    ts = list(range(schedule.T - 1, -1, -1) if timesteps is None else timesteps)
    _pairs(ts)  # validates
    ascending = ts[::-1]  # position p -> timestep; position -1 -> clean image

    def timestep(p: int) -> int:
        return ascending[p] if p >= 0 else -1

    walk = repaint_schedule(len(ts), jump_length, jump_n_sample)
    x = x_T
    for i, (p, q) in enumerate(zip(walk, walk[1:])):
        t, s = _long(timestep(p), x), _long(timestep(q), x)
        if q < p:  # reverse step t -> s
            x0 = _x0_estimate(denoiser, x, timestep(p), None, None, clip)
            mean, var = posterior(schedule, x0, x, t, s)
            if q >= 0:
                unknown = mean + var.sqrt() * _randn(x, generator)
                known_part = q_sample(schedule, x_known, s, _randn(x, generator))
            else:
                unknown, known_part = mean, x_known
            x = torch.where(known, known_part, unknown)
        else:  # forward re-noising t -> s, s > t
            x = q_jump(schedule, x, t, s, _randn(x, generator))
        if progress is not None:
            progress(i + 1, len(walk) - 1)
    return _paste(x, known, x_known)
