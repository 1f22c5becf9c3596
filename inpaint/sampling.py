"""Samplers, as plain functions over a denoiser ``(x_t, t) -> x0``.

A sampler knows only its denoiser: what the denoiser is conditioned on, and
what is done to its x0 estimate, is the denoiser's business.  The reference's
clipping of the estimate to [-1, 1] and its known-region pasting are the
wrapper :func:`known_region`; ``known``, ``x_known`` and ``clip`` given to a
sampler wrap its denoiser so, and the returned image's known pixels equal
``x_known``'s exactly.  RePaint alone uses ``known`` in its own step: its
merge of the noised known part with the model's draw is the algorithm.

Every sampler takes a ``torch.Generator`` for its noise (or a sequence of
them, one per batch row, so that a row's noise does not depend on the rest of
the batch) and an optional ``progress(done, total)`` callback.

Timestep lists come from pure functions (:func:`strided_timesteps`,
:func:`karras_timesteps`, :func:`repaint_schedule`) so tests can check them,
and what a fill costs (its network calls and progress ticks) from one,
:func:`sampling_plan`.
A timestep list is descending, starts at T-1 (pure noise) or at
:func:`start_timestep` (the noisiest step whose x0 estimate means something)
and leaves out the final -1 (the clean image), which every sampler appends.

Samplers for few steps: ancestral steps with the x0-uncertainty variance of
Analytic-DPM (``sample_ddpm(..., variance="analytic")``), DDIM with a small
``eta``, predictor-corrector with a Langevin corrector (:func:`sample_pc`), and
DPM-Solver++(2M) and its SDE variant (:mod:`inpaint.dpm_solver`).

Noise levels have two names in this package.  **sigma** is the noise-to-signal
ratio sqrt((1 - abar) / abar) of Karras et al. (2022), the unit of
``sigma_max`` and of the Karras grid (:func:`sigmas`); **std** is the standard
deviation sqrt(1 - abar) of the noise in x_t = sqrt(abar) x0 + std eps, which
DPM-Solver writes sigma_t.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .diffusion import Denoiser
from .masks import check_known
from .schedule import NoiseSchedule, per_sample, ddim_step, posterior, q_jump, q_sample

SAMPLERS = ("ddpm", "ddim", "dpmpp-2m", "dpmpp-2m-sde", "pc", "repaint")
GRIDS = ("strided", "karras")
VARIANCES = ("posterior", "analytic")
Progress = Callable[[int, int], None]
Generators = torch.Generator | Sequence[torch.Generator]
"""One generator for the whole batch, or one per row (each row's noise then comes from its own)."""


def strided_timesteps(T: int, steps: int | None = None, *, start: int | None = None) -> list[int]:
    """``steps`` evenly spaced timesteps from ``start`` (default T-1) down to 0 (all when None).

    Examples
    --------
    >>> strided_timesteps(1000, 4)
    [999, 666, 333, 0]
    >>> strided_timesteps(1000, 3, start=500)
    [500, 250, 0]
    """
    start = T - 1 if start is None else start
    if not 0 <= start <= T - 1:
        raise ValueError(f"start must be between 0 and T-1={T - 1}, got {start}")
    steps = start + 1 if steps is None else steps
    if not 1 <= steps <= start + 1:
        raise ValueError(f"steps must be between 1 and {start + 1} (the timesteps from {start} to 0), got {steps}")
    if steps == 1:
        return [start]
    return [round(i * start / (steps - 1)) for i in range(steps - 1, -1, -1)]


def sigmas(schedule: NoiseSchedule) -> Tensor:
    """Noise-to-signal ratio sqrt((1 - abar_t) / abar_t) of every timestep, float64 (T,), increasing.

    It is the noise level of Karras et al. (2022): x_t / sqrt(abar_t) = x0 + sigma_t eps.
    """
    a = schedule.alphas_cumprod
    return ((1 - a) / a).sqrt()


def start_timestep(schedule: NoiseSchedule, sigma_max: float | None = None) -> int:
    """The noisiest timestep whose noise level is at most ``sigma_max`` (None: T-1).

    An eps model's x0 estimate is (x_t - sqrt(1 - abar) eps_hat) / sqrt(abar): its
    error is the error of eps_hat times sigma_t.  At the zero-SNR end of the cosine
    schedule (abar_{T-1} = 1.5e-8, sigma = 8100) that estimate is noise, so a short
    chain started there returns it, clipped.  Starting at a moderate sigma_max and
    treating x_T ~ N(0, I) as x at that step neglects a signal of relative size
    sqrt(abar) = 1 / sqrt(1 + sigma_max^2).

    Examples
    --------
    >>> start_timestep(NoiseSchedule.cosine(400), 10.0)
    373
    """
    if sigma_max is None:
        return schedule.T - 1
    if not sigma_max > 0:
        raise ValueError(f"sigma_max must be positive, got {sigma_max}")
    below = torch.nonzero(sigmas(schedule) <= sigma_max)
    return int(below.max()) if len(below) else 0


def karras_timesteps(
    schedule: NoiseSchedule, steps: int | None = None, *, rho: float = 7.0, sigma_max: float | None = None,
    start: int | None = None,
) -> list[int]:
    """``steps`` timesteps whose noise levels follow Karras et al. (2022), eq. 5.

    sigma_i = (sigma_max^(1/rho) + i / (steps - 1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho,
    i = 0 .. steps - 1, with sigma_max the level of :func:`start_timestep` (or of
    the timestep ``start``, when given, which wins over ``sigma_max``) and
    sigma_min that of t = 0, each mapped to the discrete timestep nearest in
    log sigma.  rho = 7 puts most steps at low noise, where the fine detail is
    drawn; rho = 1 spaces sigma evenly.  Where two levels round to one
    timestep, the lower one moves up, so the list always has ``steps``
    distinct entries, from the start down to 0.

    Examples
    --------
    >>> karras_timesteps(NoiseSchedule.cosine(400), 5, sigma_max=10.0)
    [373, 317, 156, 27, 0]
    """
    if rho <= 0:
        raise ValueError(f"rho must be positive, got {rho}")
    if start is None:
        start = start_timestep(schedule, sigma_max)
    elif not 0 <= start <= schedule.T - 1:
        raise ValueError(f"start must be between 0 and T-1={schedule.T - 1}, got {start}")
    steps = start + 1 if steps is None else steps
    if not 1 <= steps <= start + 1:
        raise ValueError(f"steps must be between 1 and {start + 1} (the timesteps from {start} to 0), got {steps}")
    if steps == 1:
        return [start]
    log_sig = sigmas(schedule).log()
    hi, lo = log_sig[start].exp() ** (1 / rho), log_sig[0].exp() ** (1 / rho)
    ramp = torch.linspace(0, 1, steps, dtype=torch.float64)
    target = (hi + ramp * (lo - hi)) ** rho
    ts = (log_sig[None, : start + 1] - target.log()[:, None]).abs().argmin(1).tolist()
    ts[-1] = 0
    for i in range(steps - 2, -1, -1):  # collisions at the low end: move up
        ts[i] = max(ts[i], ts[i + 1] + 1)
    ts[0] = start
    for i in range(1, steps):  # and never above the start
        ts[i] = min(ts[i], ts[i - 1] - 1)
    return ts


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


@dataclass(frozen=True)
class SamplingPlan:
    """What one fill by a sampler does: the one count of its cost, which progress bars, benchmarks and
    checks all read.

    Attributes
    ----------
    timesteps : tuple of int
        The decreasing timestep list the chain runs on (empty for a one-pass model).
    calls : int
        Network evaluations (each needs a forward pass of the U-Net; guidance makes each two).
    ticks : int
        ``progress(done, total)`` reports of one fill: ``total`` is this.  A tick per network
        call, and for RePaint one per forward re-noising move too.
    """

    timesteps: tuple[int, ...]
    calls: int
    ticks: int


def sampling_plan(sampler: str, timesteps: Sequence[int], *, jump_length: int = 10, jump_n_sample: int = 10,
                  corrector_steps: int = 1, guidance: bool = False) -> SamplingPlan:
    """The :class:`SamplingPlan` of ``sampler`` (one of :data:`SAMPLERS`) on ``timesteps``.

    Examples
    --------
    >>> sampling_plan("ddim", [300, 200, 100, 0]).calls
    4
    >>> sampling_plan("pc", [300, 200, 100, 0], corrector_steps=1).calls  # no corrector after the last step
    7
    >>> plan = sampling_plan("repaint", range(99, -1, -1), jump_n_sample=3)
    >>> plan.calls, plan.ticks
    (280, 460)
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}; got {sampler!r}")
    ts = tuple(timesteps)
    n = len(ts)
    if sampler == "repaint":
        walk = repaint_schedule(n, jump_length, jump_n_sample)
        calls, ticks = sum(b < a for a, b in zip(walk, walk[1:])), len(walk) - 1
    elif sampler == "pc":
        calls = ticks = n + corrector_steps * (n - 1)
    else:
        calls = ticks = n
    return SamplingPlan(ts, calls * (2 if guidance else 1), ticks)


def paste_known(x: Tensor, known: Tensor | None, x_known: Tensor | None) -> Tensor:
    """Known pixels from ``x_known``, the hole from ``x``: known * x_known + (1 - known) * x."""
    if known is None:
        return x
    return torch.where(known, x_known, x)


def known_region(denoiser: Denoiser, known: Tensor | None = None, x_known: Tensor | None = None, *,
                 clip: bool = True) -> Denoiser:
    """``denoiser`` whose x0 estimate is clipped to [-1, 1] (``clip``) and whose known pixels are
    ``x_known``'s: the reference's sampler (Cherel et al. 2024) applies both before every posterior step.

    Parameters
    ----------
    known : Tensor (B, 1, H, W) bool, optional
        True at known pixels; None pastes nothing.
    x_known : Tensor (B, C, H, W), optional
        The values of the known pixels.
    """
    if known is not None:
        check_known(known, x_known)
    if known is None and not clip:
        return denoiser

    def denoise(x_t: Tensor, t: Tensor) -> Tensor:
        x0 = denoiser(x_t, t)
        return paste_known(x0.clamp(-1, 1) if clip else x0, known, x_known)

    return denoise


def noise_like(like: Tensor, generator: Generators | None, dtype: torch.dtype | None = None) -> Tensor:
    """Standard normal noise of ``like``'s shape; with a sequence of generators, row i comes from the i-th
    alone, so a row's noise does not depend on the other rows of the batch."""
    dtype = like.dtype if dtype is None else dtype
    if generator is None or isinstance(generator, torch.Generator):
        device = generator.device if generator is not None else like.device
        return torch.randn(like.shape, generator=generator, device=device, dtype=dtype).to(like.device)
    if len(generator) != like.shape[0]:
        raise ValueError(f"{len(generator)} generators for a batch of {like.shape[0]}: give one per row")
    rows = [torch.randn(like.shape[1:], generator=g, device=g.device, dtype=dtype).to(like.device) for g in generator]
    return torch.stack(rows)


def x0_at(denoiser: Denoiser, x: Tensor, t: int) -> Tensor:
    """The denoiser's x0 estimate at the integer timestep ``t`` for every row of ``x``."""
    return denoiser(x, torch.full((x.shape[0],), t, device=x.device, dtype=torch.long))


def tick_progress(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def timestep_pairs(timesteps: Sequence[int] | None, T: int) -> list[tuple[int, int]]:
    """Consecutive (t, s) of a decreasing timestep list (default all T) ending at -1, the clean image."""
    ts = list(range(T - 1, -1, -1) if timesteps is None else timesteps) + [-1]
    if any(b >= a for a, b in zip(ts, ts[1:])):
        raise ValueError("timesteps must be strictly decreasing and >= 0")
    return list(zip(ts, ts[1:]))


def timestep_batch(t: int, x: Tensor) -> Tensor:
    return torch.full((x.shape[0],), t, dtype=torch.long)


def x0_variance(schedule: NoiseSchedule, x0: Tensor, x_t: Tensor, t: int, *, hole: Tensor | None = None,
                data_var: float | Tensor = 1.0) -> Tensor:
    """Per-sample estimate of the mean per-pixel variance of x0 given x_t (Bao et al. 2022).

    Analytic-DPM, eq. 7 and Theorem 1: E[Var(x0 | x_t)] = (1 - abar) / abar (1 - E|eps_hat|^2 / d),
    with eps_hat the noise that the x0 estimate implies.  The expectation over
    the data is taken here over the pixels of the current sample (its hole,
    when ``hole`` is given), so no pass over training data is needed.  The
    estimate is clipped to [0, v_max] with v_max = data_var (1 - abar) /
    (abar data_var + 1 - abar), the variance of x0 given x_t for Gaussian data
    of variance ``data_var``: with data_var = 1, the bound of Bao et al.'s
    Theorem 2 for data in [-1, 1], the step's variance lies between DDPM's two
    choices, beta-tilde (x0 certain) and beta (x0 ~ N(0, 1)).

    Returns
    -------
    Tensor (B,), float64.
    """
    a = float(schedule.alpha_bar(torch.tensor(t)))
    eps2 = ((x_t - a**0.5 * x0) ** 2 / (1 - a)).double()
    if hole is None:
        gamma = eps2.flatten(1).mean(1)
    else:
        h = hole.expand_as(eps2).double()
        gamma = (eps2 * h).flatten(1).sum(1) / h.flatten(1).sum(1).clamp(min=1)
    data_var = torch.as_tensor(data_var, dtype=torch.float64, device=gamma.device)
    v_max = data_var * (1 - a) / (a * data_var + 1 - a)
    return torch.minimum(((1 - a) / a * (1 - gamma)).clamp(min=0), v_max)


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
    variance: str = "posterior",
    data_var: float | Tensor = 1.0,
    generator: Generators | None = None,
    progress: Progress | None = None,
) -> Tensor:
    """Ancestral sampling (Ho et al. 2020, Alg. 2) on any decreasing timestep list.

    At each step t -> s the x0 estimate is clipped to [-1, 1], its known pixels
    are replaced by ``x_known``'s (the reference's known-region pasting), and
    x_s is drawn from the posterior q(x_s | x_t, x0) (:func:`posterior`).

    With ``variance="posterior"`` the step's variance is the posterior's,
    beta-tilde, as if the x0 estimate were exact.  On a strided list the x0
    estimate is uncertain, more so the longer the stride, and beta-tilde is too
    small: the fills come out smoother than the truth.  ``variance="analytic"``
    adds that uncertainty, c0^2 Var(x0 | x_t), with c0 the weight of x0 in the
    posterior mean (Bao et al. 2022, Analytic-DPM, Theorem 1; the variance from
    :func:`x0_variance`, bounded with ``data_var``), on the hole only when
    ``known`` is given: known pixels of x0 are exact.  For Gaussian data and the
    exact denoiser this step is the exact reverse transition, on any grid.

    Parameters
    ----------
    denoiser : callable (x_t, t) -> x0
    x_T : Tensor (B, C, H, W)
        Starting noise, usually ``randn`` from the same generator.
    timesteps : sequence of int, optional
        Decreasing, from T-1; default all T steps.
    known, x_known : Tensor (B, 1, H, W) bool and (B, C, H, W), optional
        The known region and its values; None for unconditional sampling.
    variance : {'posterior', 'analytic'}
    data_var : float or Tensor (B,)
        Per-pixel variance of the data, the bound of the analytic variance.
    """
    if variance not in VARIANCES:
        raise ValueError(f"variance must be one of {', '.join(VARIANCES)}; got {variance!r}")
    pairs = timestep_pairs(timesteps, schedule.T)
    denoiser = known_region(denoiser, known, x_known, clip=clip)
    hole = None if known is None else ~known
    x = x_T
    for i, (t, s) in enumerate(pairs):
        x0 = x0_at(denoiser, x, t)
        mean, var = posterior(schedule, x0, x, timestep_batch(t, x), timestep_batch(s, x))
        if variance == "analytic" and s >= 0:
            var = var + _x0_uncertainty(schedule, x0, x, t, s, hole, data_var)
        x = mean + var.sqrt() * noise_like(x, generator) if s >= 0 else mean
        tick_progress(progress, i + 1, len(pairs))
    return paste_known(x, known, x_known)


def _x0_uncertainty(schedule: NoiseSchedule, x0: Tensor, x: Tensor, t: int, s: int, hole: Tensor | None,
                    data_var: float | Tensor) -> Tensor:
    """Analytic-DPM's addition to the step's variance: c0^2 Var(x0 | x_t), on the hole only when there is one."""
    a_t, a_s = schedule.alpha_bar(torch.tensor(t)), schedule.alpha_bar(torch.tensor(s))
    c0 = a_s.sqrt() * (1 - a_t / a_s) / (1 - a_t)  # the weight of x0 in the posterior mean
    extra = per_sample(c0**2 * x0_variance(schedule, x0, x, t, hole=hole, data_var=data_var), x)
    return extra if hole is None else extra * hole


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
    generator: Generators | None = None,
    progress: Progress | None = None,
) -> Tensor:
    """DDIM (Song et al. 2021, eq. 12) with stochasticity ``eta``.

    Each step is :func:`inpaint.schedule.ddim_step` from the (clipped, pasted)
    x0 estimate.  ``eta = 0`` is deterministic; ``eta = 1`` on the full schedule
    is ancestral DDPM.  Other parameters as in :func:`sample_ddpm`.
    """
    if eta < 0:
        raise ValueError(f"eta must be >= 0, got {eta}")
    pairs = timestep_pairs(timesteps, schedule.T)
    denoiser = known_region(denoiser, known, x_known, clip=clip)
    x = x_T
    for i, (t, s) in enumerate(pairs):
        x0 = x0_at(denoiser, x, t)
        noise = noise_like(x, generator) if eta > 0 and s >= 0 else None
        x = ddim_step(schedule, x0, x, t, s, eta, noise)
        tick_progress(progress, i + 1, len(pairs))
    return paste_known(x, known, x_known)


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
    generator: Generators | None = None,
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
    ts = [t for t, _ in timestep_pairs(timesteps, schedule.T)]  # validated, descending
    ascending = ts[::-1]  # position p of the walk -> timestep; position -1 -> the clean image
    walk = [ascending[p] if p >= 0 else -1 for p in repaint_schedule(len(ts), jump_length, jump_n_sample)]
    check_known(known, x_known)
    denoiser = known_region(denoiser, clip=clip)  # no pasting: the merge below is RePaint's own
    x = x_T
    for i, (t, s) in enumerate(zip(walk, walk[1:])):
        if s < t:  # reverse step t -> s (Alg. 1, lines 4-8)
            mean, var = posterior(schedule, x0_at(denoiser, x, t), x, timestep_batch(t, x), timestep_batch(s, x))
            if s >= 0:
                unknown = mean + var.sqrt() * noise_like(x, generator)
                known_part = q_sample(schedule, x_known, timestep_batch(s, x), noise_like(x, generator))
            else:
                unknown, known_part = mean, x_known
            x = torch.where(known, known_part, unknown)
        else:  # forward re-noising t -> s, s > t (line 13)
            x = q_jump(schedule, x, timestep_batch(t, x), timestep_batch(s, x), noise_like(x, generator))
        tick_progress(progress, i + 1, len(walk) - 1)
    return paste_known(x, known, x_known)


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
    Other parameters as in :func:`sample_ddpm`.
    """
    if corrector_steps < 0 or snr <= 0:
        raise ValueError("corrector_steps must be >= 0 and snr positive")
    pairs = timestep_pairs(timesteps, schedule.T)
    denoiser = known_region(denoiser, known, x_known, clip=clip)
    total = sampling_plan("pc", [t for t, _ in pairs], corrector_steps=corrector_steps).ticks
    done, x = 0, x_T
    for t, s in pairs:
        x0 = x0_at(denoiser, x, t)
        mean, var = posterior(schedule, x0, x, timestep_batch(t, x), timestep_batch(s, x))
        x = mean + var.sqrt() * noise_like(x, generator) if s >= 0 else mean
        done += 1
        tick_progress(progress, done, total)
        for _ in range(corrector_steps if s >= 0 else 0):
            a = float(schedule.alpha_bar(torch.tensor(s)))
            x0 = x0_at(denoiser, x, s)
            score = -(x - a**0.5 * x0) / (1 - a)
            z = noise_like(x, generator)
            ratio = z.flatten(1).norm(dim=1) / score.flatten(1).norm(dim=1).clamp(min=1e-12)
            e = (2 * (snr * ratio) ** 2).reshape(-1, *([1] * (x.ndim - 1)))
            x = x + e * score + (2 * e).sqrt() * z
            done += 1
            tick_progress(progress, done, total)
    return paste_known(x, known, x_known)
