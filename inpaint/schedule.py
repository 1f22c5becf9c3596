"""Noise schedules and the closed forms of the forward process.

Timesteps are 0-based indices ``t = 0 .. T-1`` into ``betas``; index ``t``
is the paper's step ``t + 1`` (Ho et al. 2020).  The index ``-1`` stands for
the clean image, with ``alpha_bar = 1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

SCHEDULES = ("linear", "cosine", "sigmoid")
MAX_BETA = 0.999  # Nichol and Dhariwal's cap, which keeps sqrt(1 - beta) away from 0


@dataclass(frozen=True, eq=False)
class NoiseSchedule:
    """Variances of the forward process, in float64.

    Attributes
    ----------
    name : str
    betas : Tensor, shape (T,)
        beta_t of q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I).
    alphas_cumprod : Tensor, shape (T,)
        abar_t = prod_{s <= t} (1 - beta_s).
    """

    name: str
    betas: Tensor
    alphas_cumprod: Tensor

    @classmethod
    def from_betas(cls, betas: Tensor, name: str = "custom") -> "NoiseSchedule":
        betas = torch.as_tensor(betas, dtype=torch.float64)
        if betas.ndim != 1 or len(betas) < 1:
            raise ValueError("betas must be a non-empty 1-D tensor")
        if not bool(((betas > 0) & (betas < 1)).all()):
            raise ValueError("betas must lie in (0, 1)")
        return cls(name, betas, torch.cumprod(1.0 - betas, dim=0))

    @classmethod
    def linear(cls, T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> "NoiseSchedule":
        """Linear betas of Ho et al. (2020), scaled by 1000/T so any T ends near pure noise.

        For T <= 20 the scaled betas would reach 1; they are clipped at ``MAX_BETA`` as the cosine ones are.
        """
        _check_T(T)
        scale = 1000.0 / T
        betas = torch.linspace(beta_start * scale, beta_end * scale, T, dtype=torch.float64)
        return cls.from_betas(betas.clamp(max=MAX_BETA), "linear")

    @classmethod
    def cosine(cls, T: int = 1000, s: float = 0.008, max_beta: float = MAX_BETA) -> "NoiseSchedule":
        """Cosine schedule of Nichol and Dhariwal (2021), eq. 17.

        abar(t) = f(t) / f(0) with f(t) = cos(((t / T + s) / (1 + s)) * pi / 2)^2,
        beta_t = 1 - abar(t) / abar(t - 1), clipped at ``max_beta``.
        """
        _check_T(T)
        steps = torch.arange(T + 1, dtype=torch.float64) / T
        f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
        betas = (1 - f[1:] / f[:-1]).clamp(max=max_beta)
        return cls.from_betas(betas, "cosine")

    @classmethod
    def sigmoid(cls, T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02, span: float = 6.0) -> "NoiseSchedule":
        """Sigmoid betas: beta = start + (end - start) * sigmoid(linspace(-span, span, T)).

        The schedule of the annotated-diffusion notebook that the source
        material's schedule study uses, with the same 1000/T scaling as
        :meth:`linear`.
        """
        _check_T(T)
        scale = 1000.0 / T
        lo, hi = beta_start * scale, beta_end * scale
        z = torch.linspace(-span, span, T, dtype=torch.float64)
        return cls.from_betas((lo + (hi - lo) * torch.sigmoid(z)).clamp(max=MAX_BETA), "sigmoid")

    @classmethod
    def from_name(cls, name: str, T: int = 1000) -> "NoiseSchedule":
        if name not in SCHEDULES:
            raise ValueError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")
        return getattr(cls, name)(T)

    @property
    def T(self) -> int:
        return len(self.betas)

    def alpha_bar(self, t: Tensor) -> Tensor:
        """abar at integer timesteps ``t`` (any shape), with abar(-1) = 1, in float64."""
        t = torch.as_tensor(t, dtype=torch.long)
        abar = self.alphas_cumprod.to(t.device)[t.clamp(min=0)]
        return torch.where(t < 0, torch.ones_like(abar), abar)

    def snr(self, t: Tensor) -> Tensor:
        """Signal-to-noise ratio abar / (1 - abar)."""
        a = self.alpha_bar(t)
        return a / (1 - a)


def _check_T(T: int) -> None:
    if int(T) != T or T < 2:
        raise ValueError(f"the number of timesteps T must be an integer >= 2, got {T}")


def per_sample(v: Tensor, like: Tensor) -> Tensor:
    """A per-sample float64 vector (B,) as (B, 1, 1, 1) in ``like``'s dtype and device."""
    return v.to(device=like.device, dtype=like.dtype).reshape(-1, *([1] * (like.ndim - 1)))


def q_sample(schedule: NoiseSchedule, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
    """Sample q(x_t | x_0) = N(sqrt(abar_t) x0, (1 - abar_t) I) (Ho et al. eq. 4).

    Parameters
    ----------
    x0 : Tensor, shape (B, C, H, W)
    t : Tensor, shape (B,), integer in [-1, T-1]
    noise : Tensor, same shape as ``x0``
    """
    a = schedule.alpha_bar(t)
    return per_sample(a.sqrt(), x0) * x0 + per_sample((1 - a).sqrt(), x0) * noise


def q_jump(schedule: NoiseSchedule, x_s: Tensor, s: Tensor, t: Tensor, noise: Tensor) -> Tensor:
    """Sample q(x_t | x_s) for s < t: the forward chain run from s to t in one go.

    With ``alpha = abar_t / abar_s``: x_t = sqrt(alpha) x_s + sqrt(1 - alpha) z.
    For t = s + 1 this is one forward step, sqrt(1 - beta_t) x_s + sqrt(beta_t) z,
    the resampling jump of RePaint (Lugmayr et al. 2022, Alg. 1 line 13).
    """
    alpha = schedule.alpha_bar(t) / schedule.alpha_bar(s)
    return per_sample(alpha.sqrt(), x_s) * x_s + per_sample((1 - alpha).sqrt(), x_s) * noise


def posterior(schedule: NoiseSchedule, x0: Tensor, x_t: Tensor, t: Tensor, s: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Mean and variance of q(x_s | x_t, x_0) for s < t (default s = t - 1).

    Ho et al. (2020) eq. 6-7, with ``alpha = abar_t / abar_s`` and
    ``beta = 1 - alpha`` for a skipped subsequence:

        mean = sqrt(abar_s) beta / (1 - abar_t) x0 + sqrt(alpha) (1 - abar_s) / (1 - abar_t) x_t
        var  = beta (1 - abar_s) / (1 - abar_t)

    Returns
    -------
    mean : Tensor, like ``x_t``
    variance : Tensor, shape (B, 1, 1, 1)
    """
    t = torch.as_tensor(t, dtype=torch.long)
    s = t - 1 if s is None else torch.as_tensor(s, dtype=torch.long)
    a_t, a_s = schedule.alpha_bar(t), schedule.alpha_bar(s)
    alpha = a_t / a_s
    beta = 1 - alpha
    c0 = a_s.sqrt() * beta / (1 - a_t)
    ct = alpha.sqrt() * (1 - a_s) / (1 - a_t)
    var = beta * (1 - a_s) / (1 - a_t)
    mean = per_sample(c0, x_t) * x0 + per_sample(ct, x_t) * x_t
    return mean, per_sample(var, x_t)


def to_eps(x0: Tensor, x_t: Tensor, abar: Tensor) -> Tensor:
    """The noise implied by an x0 estimate: eps = (x_t - sqrt(a) x0) / sqrt(1 - a)."""
    a = per_sample(abar, x_t)
    return (x_t - a.sqrt() * x0) / (1 - a).sqrt()


def ddim_step(schedule: NoiseSchedule, x0: Tensor, x_t: Tensor, t: int, s: int, eta: float = 0.0,
              noise: Tensor | None = None) -> Tensor:
    """One DDIM step t -> s given the x0 estimate (Song et al. 2021, eq. 12).

        x_s = sqrt(abar_s) x0 + sqrt(1 - abar_s - std^2) eps + std z,
        std = eta sqrt((1 - abar_s) / (1 - abar_t)) sqrt(1 - abar_t / abar_s),

    (the paper's sigma_t; "sigma" here is Karras's ratio, see :mod:`inpaint.sampling`),
    with eps the noise the x0 estimate implies (:func:`to_eps`) and z = ``noise``
    (needed when ``eta > 0``).  ``s = -1`` returns x0.  ``eta = 1`` is the ancestral step of :func:`posterior`; ``eta = 0`` is deterministic.
    """
    if s < 0:
        return x0
    a_t, a_s = schedule.alpha_bar(torch.tensor(t)), schedule.alpha_bar(torch.tensor(s))
    std = eta * ((1 - a_s) / (1 - a_t) * (1 - a_t / a_s)).sqrt()
    eps = to_eps(x0, x_t, a_t.expand(x_t.shape[0]))
    x_s = a_s.sqrt().item() * x0 + (1 - a_s - std**2).clamp(min=0).sqrt().item() * eps
    return x_s + std.item() * noise if eta > 0 else x_s
