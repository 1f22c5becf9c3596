"""Filling holes with a trained model: one entry point for every method and sampler."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import TrainConfig
from .dpm_solver import sample_dpmpp_2m
from .guide import GUIDES, make_guide
from .inference import fast_denoiser, guided_denoiser
from .masks import check_known
from .regression import fill_regression
from .sampling import (
    GRIDS, SAMPLERS, VARIANCES, Generators, Progress, SamplingPlan, karras_timesteps, noise_like, sample_ddim,
    sample_ddpm, sample_pc, sample_repaint, sampling_plan, start_timestep, strided_timesteps,
)
from .schedule import NoiseSchedule, q_sample


@dataclass(frozen=True)
class SamplerConfig:
    """How a diffusion model is sampled.

    Parameters
    ----------
    sampler : {'ddpm', 'ddim', 'dpmpp-2m', 'dpmpp-2m-sde', 'pc', 'repaint'} or None
        None is :meth:`default_for` the model's method: :data:`DEFAULT_SAMPLER`
        for the conditional model (with ``steps`` when given; its sampler,
        grid, sigma_max and rho are the default's) and
        :data:`REPAINT_SAMPLER` for the unconditional one.
    steps : int or None
        Number of denoising steps; None = every timestep of the grid (all T
        for the strided grid from T-1), or the default's for ``sampler=None``.
        More steps than the grid has take them all.
    eta : float
        DDIM stochasticity: 0 is deterministic; a small eta (0.1 to 0.3) adds a
        little fresh noise at each step, which washes out part of the starting
        noise that deterministic DDIM carries to the end; 1 is ancestral.
    jump_length, jump_n_sample : int
        RePaint's resampling (the paper uses 10 and 10 over 250 steps).
    paste : bool
        Replace the known pixels of every x0 estimate by the input's (the
        reference's sampler).  The final output keeps known pixels either way.
    grid : {'strided', 'karras'}
        Evenly strided timesteps, or the noise levels of Karras et al. (2022)
        with exponent ``rho`` (:func:`inpaint.sampling.karras_timesteps`).
    rho : float
        Exponent of the Karras grid (7: most steps at low noise).
    sigma_max : float or None
        Start at the noisiest timestep with sqrt((1 - abar) / abar) <= sigma_max
        (:func:`inpaint.sampling.start_timestep`); None starts at T-1.
    variance : {'posterior', 'analytic'}
        Variance of the ancestral ('ddpm') steps: the posterior's, or with the
        uncertainty of the x0 estimate added (Analytic-DPM).
    corrector_steps, snr : int, float
        Langevin steps after each ancestral step of 'pc', and their signal-to-noise ratio.
    guidance : float
        Classifier-free guidance scale w (Ho and Salimans 2022): the x0
        estimate is (1 + w) x0(x_t | condition) - w x0(x_t), two network calls
        a step; 0 is the conditional model alone.  Needs a diffusion model
        trained with ``cond_dropout`` (:attr:`TrainConfig.unconditional`).
    start : {'noise', 'mean', 'telea', 'ns', 'biharmonic', 'patchmatch'} or None
        What the chain starts from (:mod:`inpaint.guide`): pure noise, or a
        guide noised to the first timestep (SDEdit, Meng et al. 2022): the
        known pixels' mean colour in the hole, or a classical method's fill
        ('patchmatch' on images of 1 or 3 channels; other channel counts start
        from 'biharmonic').  :func:`fill` also takes any guide as a tensor.
        None is the default sampler's start for ``sampler=None``, 'noise' for
        a named sampler.
    strength : float or None
        Where a guided chain starts, as a share of the chain: the first
        timestep is round(strength (T - 1)), or the sigma_max start when that
        is lower; ``steps`` steps of the grid run from there.  1 keeps the
        sampler's start (a guide then adds the signal that starting from pure
        noise at sigma_max drops); lower keeps more of the guide.  Below 1
        needs a guide.  None is the default sampler's for ``sampler=None``
        and a guided start, 1 otherwise.
    """

    sampler: str | None = None
    steps: int | None = None
    eta: float = 0.0
    jump_length: int = 10
    jump_n_sample: int = 10
    paste: bool = True
    grid: str = "strided"
    rho: float = 7.0
    sigma_max: float | None = None
    variance: str = "posterior"
    corrector_steps: int = 1
    snr: float = 0.16
    guidance: float = 0.0
    start: str | None = None
    strength: float | None = None

    def __post_init__(self) -> None:
        if self.sampler is not None and self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}; got {self.sampler!r}")
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if self.grid not in GRIDS:
            raise ValueError(f"grid must be one of {', '.join(GRIDS)}; got {self.grid!r}")
        if self.variance not in VARIANCES:
            raise ValueError(f"variance must be one of {', '.join(VARIANCES)}; got {self.variance!r}")
        if self.eta < 0:
            raise ValueError(f"eta must be >= 0, got {self.eta}")
        if self.rho <= 0 or (self.sigma_max is not None and self.sigma_max <= 0):
            raise ValueError("rho and sigma_max must be positive")
        if self.guidance < 0:
            raise ValueError(f"guidance must be >= 0, got {self.guidance}")
        if self.guidance and self.sampler == "repaint":
            raise ValueError("guidance needs a condition; RePaint samples the unconditional model")
        if self.start is not None and self.start not in GUIDES:
            raise ValueError(f"start must be one of {', '.join(GUIDES)}; got {self.start!r}")
        if self.strength is not None and not 0 < self.strength <= 1:
            raise ValueError(f"strength must be in (0, 1], got {self.strength}")

    @staticmethod
    def default_for(method: str, *, quick: bool = False) -> "SamplerConfig":
        """The sampler of a ``method`` model when none is named: the one source of the sampling defaults.

        ``DEFAULT_SAMPLER`` for the conditional models; ``REPAINT_SAMPLER`` (the
        paper's 250 steps of 10 x 10 resampling, or all T when T is smaller) for
        the unconditional one, or with ``quick`` ``QUICK_REPAINT_SAMPLER``, the
        shortened walk that compare and the training previews use on a CPU.
        """
        if method == "repaint":
            return QUICK_REPAINT_SAMPLER if quick else REPAINT_SAMPLER
        return DEFAULT_SAMPLER

    def resolved(self, method: str, *, unconditional: bool = False) -> "SamplerConfig":
        """This config with ``sampler=None`` replaced by :meth:`default_for` ``method``: its ``steps``,
        ``start`` and ``strength`` when none are given, this config's ``paste`` and ``guidance`` (and, for
        RePaint, its jumps); ``start`` and ``strength`` always concrete ('noise' and 1 for a named sampler
        without them; a guided start without a strength takes the default's).

        ``unconditional`` says that a diffusion model also fills without its
        condition (:attr:`TrainConfig.unconditional`): it may then be sampled
        with RePaint and guided; otherwise either raises ValueError.
        """
        if self.guidance and (method != "diffusion" or not unconditional):
            raise ValueError("guidance needs a diffusion model trained with --cond-dropout")
        if self.sampler is None:
            if method == "repaint":
                return replace(self, sampler="repaint", steps=self.steps or REPAINT_SAMPLER.steps).resolved(method)
            default = self.default_for(method)
            return replace(default, steps=self.steps or default.steps, paste=self.paste, guidance=self.guidance,
                           start=default.start if self.start is None else self.start,
                           strength=self.strength).resolved(method, unconditional=unconditional)
        if self.sampler == "repaint" and method != "repaint" and not unconditional:
            raise ValueError("the repaint sampler needs a model trained with --method repaint, "
                             "or a diffusion model trained with --cond-dropout")
        start = self.start or "noise"
        guided = DEFAULT_SAMPLER.strength or 1.0  # a guided start without a strength takes the default's
        return replace(self, start=start, strength=self.strength or (1.0 if start == "noise" else guided))

    @classmethod
    def chosen(cls, sampler: str | None = None, steps: int | None = None, **options) -> "SamplerConfig":
        """The config of a sampler a person names (the command line, the page): as the constructor, except that
        RePaint named without ``steps`` keeps its default length (:data:`REPAINT_SAMPLER`), not all T."""
        if sampler == "repaint" and steps is None:
            steps = REPAINT_SAMPLER.steps
        return cls(sampler, steps, **options)

    def timesteps(self, schedule: NoiseSchedule) -> list[int]:
        """The decreasing timestep list this config samples on (call on a resolved config).

        ``steps`` larger than the timesteps from the start down to 0 takes them all.
        """
        strength = 1.0 if self.strength is None else self.strength
        start = min(start_timestep(schedule, self.sigma_max), round(strength * (schedule.T - 1)))
        steps = None if self.steps is None else min(self.steps, start + 1)  # a short chain has fewer
        if self.grid == "karras":
            return karras_timesteps(schedule, steps, rho=self.rho, start=start)
        return strided_timesteps(schedule.T, steps, start=start)


DEFAULT_SAMPLER = SamplerConfig("dpmpp-2m-sde", steps=25, grid="karras", sigma_max=10.0, start="patchmatch",
                                strength=0.4)
"""The sampler of ``fill`` for conditional models (``sampler=None``): SDE-DPM-Solver++(2M) on 25 steps of the
Karras grid, started from PatchMatch's fill noised to 0.4 of the chain (SDEdit).  The solver keeps the full
ancestral chain's LPIPS and sharpness (experiments/README.md, section 7); the guided start takes the tone and
large structure of the hole from PatchMatch's copies of the image's own patches, where a start from pure noise
drifts in tone (section 9)."""
REPAINT_SAMPLER = SamplerConfig("repaint", steps=250, jump_length=10, jump_n_sample=10, start="noise", strength=1.0)
"""The sampler of ``fill`` for the unconditional model (``sampler=None``): RePaint's paper setting, 250 steps
(all T when T is smaller) with 10 x 10 resampling, 2410 network calls."""
QUICK_REPAINT_SAMPLER = SamplerConfig("repaint", steps=100, jump_length=10, jump_n_sample=3, start="noise",
                                      strength=1.0)
"""RePaint on a CPU in minutes: 100 strided steps with jump_length 10 and jump_n_sample 3, 280 network calls
(:func:`inpaint.sampling.repaint_schedule`), fewer than DDPM's 1000 at T = 1000; compare's and the previews'."""


def sampler_plan(config: TrainConfig, sampler: SamplerConfig = SamplerConfig()) -> SamplingPlan:
    """What one :func:`fill` by a ``config`` model with ``sampler`` does: its timesteps, network calls and
    progress ticks (:class:`inpaint.sampling.SamplingPlan`).  Raises ValueError for a sampler the model cannot
    run, so a caller can check a sampler before any work.

    Examples
    --------
    >>> from inpaint.config import TrainConfig
    >>> plan = sampler_plan(TrainConfig(), SamplerConfig())  # the default sampler: 25 steps from PatchMatch's fill
    >>> plan.calls, plan.timesteps[:3]
    (25, (160, 144, 128))
    """
    if config.method == "regression":
        return SamplingPlan((), 1, 1)
    sampler = sampler.resolved(config.method, unconditional=config.unconditional)
    return sampling_plan(sampler.sampler, sampler.timesteps(config.diffusion.noise_schedule()),
                         jump_length=sampler.jump_length, jump_n_sample=sampler.jump_n_sample,
                         corrector_steps=sampler.corrector_steps, guidance=bool(sampler.guidance))


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
    generator: Generators | None = None,
    progress: Progress | None = None,
    guide: Tensor | None = None,
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
    generator : torch.Generator or sequence of B of them, optional
        The sampling noise; with one generator per image, an image's fills do
        not depend on the other images of the batch (its ``samples`` fills are
        drawn one after the other from its generator).
    guide : Tensor (B, C, H, W) in [-1, 1], optional
        A first fill to start the chain from (SDEdit), noised to the level of
        ``sampler.strength``; its known pixels are taken from ``x_known``.
        Default: ``sampler.start``'s guide (:func:`inpaint.guide.make_guide`),
        none for 'noise'.  Regression ignores it.

    Returns
    -------
    Tensor (samples, B, C, H, W), equal to ``x_known`` at known pixels.
    """
    _check_inputs(x_known, known, config)
    x_known = x_known.masked_fill(~known, 0.0)  # select: NaN * 0 is NaN, so a NaN hole pixel would spread
    B = x_known.shape[0]
    if config.method != "regression":
        given, sampler = sampler, sampler.resolved(config.method, unconditional=config.unconditional)
        guide = _guide(guide, given, sampler, x_known, known)
    x, k, (H, W) = pad_to_multiple(x_known, known, config.model.multiple)
    x, k = x.repeat(samples, 1, 1, 1), k.repeat(samples, 1, 1, 1)
    if guide is not None:
        guide = pad_to_multiple(guide, known, config.model.multiple)[0].repeat(samples, 1, 1, 1)
    if generator is not None and not isinstance(generator, torch.Generator):
        if len(generator) != B:
            raise ValueError(f"{len(generator)} generators for {B} images: give one generator, or one per image")
        generator = list(generator) * samples  # rows are sample-major: row s * B + b is image b
    if config.method == "regression":
        out = fill_regression(model, x, k)
    else:
        out = _sample(model, config, x, k, sampler, generator, progress, guide)
    out = torch.where(k, x, out)[..., :H, :W]
    return out.reshape(samples, B, *out.shape[1:])


def known_variance(x: Tensor, known: Tensor) -> Tensor:
    """Per-sample variance (B,) of the known pixels, per channel and averaged over the channels:
    the texture's variance, which bounds the x0 uncertainty of the analytic variance; 1 (the
    bound for [-1, 1] data) where fewer than two pixels are known."""
    k = known.to(torch.float64)
    n = k.flatten(1).sum(1)
    xd = x.to(torch.float64) * k
    mean = xd.flatten(2).sum(2) / n.clamp(min=1)[:, None]  # (B, C)
    var = ((xd**2).flatten(2).sum(2) / n.clamp(min=1)[:, None] - mean**2).mean(1)
    return torch.where(n >= 2, var.clamp(min=1e-6), torch.ones_like(var)).cpu()


def _guide(guide: Tensor | None, given: SamplerConfig, sampler: SamplerConfig, x_known: Tensor,
           known: Tensor) -> Tensor | None:
    """The guide of a fill: the one given, or the start's of the ``given`` sampler ``sampler`` resolves it
    to, with the known pixels of ``x_known``."""
    if guide is None:
        if sampler.strength < 1 and sampler.start == "noise":
            raise ValueError("a strength below 1 starts from a guide: give start (or a guide tensor)")
        return make_guide(sampler.start, x_known, known)
    if given.start not in (None, "noise"):
        raise ValueError(f"two guides: a guide tensor and start={given.start!r}; give one")
    if guide.shape != x_known.shape:
        raise ValueError(f"the guide is {tuple(guide.shape)}, the image {tuple(x_known.shape)}")
    if not bool(torch.isfinite(guide).logical_or(known).all()):
        raise ValueError("the guide has non-finite values in the hole")
    return torch.where(known, x_known, guide.to(x_known))


def _sample(model, config: TrainConfig, x, known, sampler: SamplerConfig, generator, progress,
            guide: Tensor | None = None) -> Tensor:
    """Sample with a resolved ``sampler`` (:meth:`SamplerConfig.resolved`), from ``guide`` when given."""
    schedule = config.diffusion.noise_schedule()
    denoiser = model_denoiser(model, config, x, known, sampler)
    x_T = noise_like(x, generator, torch.get_default_dtype())
    ts = sampler.timesteps(schedule)
    if ts[0] > config.diffusion.top_timestep:
        raise ValueError(f"this model learned timesteps up to {config.diffusion.top_timestep} of {schedule.T} "
                         f"(train_strength {config.diffusion.train_strength:g}), the fill starts at {ts[0]}: "
                         "fill from a guide (start) at a strength no higher")
    if guide is not None:  # SDEdit: the guide noised to the first timestep, x_t0 = sqrt(abar) guide + sqrt(1 - abar) z
        x_T = q_sample(schedule, guide.to(x_T.dtype), torch.full((len(x),), ts[0], dtype=torch.long), x_T)
    paste = {"known": known, "x_known": x} if sampler.paste else {}
    name = sampler.sampler
    common = dict(timesteps=ts, generator=generator, progress=progress)
    with torch.inference_mode():
        if name == "ddpm":
            var = dict(variance=sampler.variance, data_var=known_variance(x, known))
            return sample_ddpm(denoiser, x_T, schedule, **var, **paste, **common)
        if name == "ddim":
            return sample_ddim(denoiser, x_T, schedule, eta=sampler.eta, **paste, **common)
        if name == "pc":
            pc = dict(corrector_steps=sampler.corrector_steps, snr=sampler.snr)
            return sample_pc(denoiser, x_T, schedule, **pc, **paste, **common)
        if name.startswith("dpmpp"):
            return sample_dpmpp_2m(denoiser, x_T, schedule, eta=1.0 if name == "dpmpp-2m-sde" else 0.0, **paste, **common)
        return sample_repaint(
            denoiser, x_T, schedule, known=known, x_known=x,
            jump_length=sampler.jump_length, jump_n_sample=sampler.jump_n_sample, **common,
        )


def model_denoiser(model, config: TrainConfig, x: Tensor, known: Tensor, sampler: SamplerConfig):
    """The network as ``(x_t, t) -> x0`` for a resolved ``sampler``: conditioned on ``x`` and ``known`` (the
    conditional model), on nothing (RePaint: the unconditional model, or the conditional one shown an
    all-hole mask), or guided (:func:`inpaint.inference.guided_denoiser`)."""
    schedule, prediction = config.diffusion.noise_schedule(), config.diffusion.prediction
    if not config.model.conditional:
        return fast_denoiser(model, schedule, prediction)
    if sampler.sampler != "repaint" and not sampler.guidance:
        return fast_denoiser(model, schedule, prediction, x_known=x, known=known)
    none = torch.zeros_like(known)  # every pixel a hole: the condition dropped, as in training
    unconditional = fast_denoiser(model, schedule, prediction, x_known=torch.zeros_like(x), known=none)
    if sampler.sampler == "repaint":
        return unconditional
    conditional = fast_denoiser(model, schedule, prediction, x_known=x, known=known)
    return guided_denoiser(conditional, unconditional, sampler.guidance)


def _check_inputs(x_known: Tensor, known: Tensor, config: TrainConfig) -> None:
    if x_known.ndim != 4 or known.ndim != 4:
        raise ValueError("x_known must be (B, C, H, W) and known (B, 1, H, W)")
    if x_known.shape[1] != config.model.image_channels:
        raise ValueError(
            f"the image has {x_known.shape[1]} channels but the model was trained on {config.model.image_channels}"
        )
    check_known(known, x_known, same_batch=False)
    if bool(known.all()):
        raise ValueError("the mask has no hole: nothing to fill")
    if not bool(torch.isfinite(x_known).logical_or(~known).all()):
        raise ValueError("x_known has non-finite values at known pixels; mark them as hole (known = False)")
