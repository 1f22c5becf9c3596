"""Tests for inpaint.sampling and inpaint.fill: timestep lists and RePaint's walk,
samplers against exact denoisers (a one-point data set, Gaussian data), DDIM(eta=1)
against DDPM, RePaint against plain replacement sampling, and the known-pixel
contract of every sampler.
"""

import math

import pytest
import torch

from inpaint.config import TrainConfig
from inpaint.diffusion import DiffusionConfig
from inpaint.fill import SamplerConfig, fill
from inpaint.dpm_solver import sample_dpmpp_2m
from inpaint.sampling import (
    repaint_schedule, sample_ddim, sample_ddpm, sample_pc, sample_repaint, sampling_plan, strided_timesteps,
)
from inpaint.schedule import NoiseSchedule
from inpaint.unet import ModelConfig, UNet

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")


def _abar(sch, t):
    return 1.0 if t < 0 else sch.alphas_cumprod[t].item()


def gaussian_denoiser(sch, mu, s):
    """E[x0 | x_t] for x0 ~ N(mu, s^2) per pixel:
    mu + sqrt(a) s^2 / (a s^2 + 1 - a) (x_t - sqrt(a) mu), a = abar_t."""

    def denoise(x_t, t):
        a = sch.alphas_cumprod[t].to(x_t.dtype)[:, None, None, None]
        return mu + a.sqrt() * s**2 / (a * s**2 + 1 - a) * (x_t - a.sqrt() * mu)

    return denoise


def mixing_denoiser(sch):
    """A nonlinear denoiser that mixes neighbouring pixels, so that what the sampler
    holds at known pixels reaches the hole's x0 estimates."""
    base = gaussian_denoiser(sch, 0.3, 0.6)

    def denoise(x_t, t):
        a = sch.alphas_cumprod[t].to(x_t.dtype)[:, None, None, None]
        return base(x_t, t) + 0.3 * a.sqrt() * torch.tanh(x_t.roll(1, dims=-1) + x_t.roll(-1, dims=-2))

    return denoise


class Recorder:
    """Wraps a denoiser and keeps every (t, x_t) it is called with."""

    def __init__(self, denoiser):
        self.denoiser, self.calls = denoiser, []

    def __call__(self, x_t, t):
        assert t.dtype == torch.long and bool((t == t[0]).all())
        self.calls.append((int(t[0]), x_t.clone()))
        return self.denoiser(x_t, t)


def _gen(seed):
    return torch.Generator().manual_seed(seed)


# --- timestep lists -------------------------------------------------------------------


@pytest.mark.parametrize("T, steps", [(1000, 4), (1000, 250), (1000, 999), (1000, 1000), (50, 7), (10, 2), (7, 6), (100, 3)])
def test_strided_timesteps(T, steps):
    ts = strided_timesteps(T, steps)
    assert len(ts) == steps and len(set(ts)) == steps
    assert ts[0] == T - 1 and ts[-1] == 0
    assert all(a > b for a, b in zip(ts, ts[1:]))
    assert all(isinstance(t, int) for t in ts)
    # evenly spaced: every gap is floor or ceil of (T - 1) / (steps - 1)
    d = (T - 1) / (steps - 1)
    assert {a - b for a, b in zip(ts, ts[1:])} <= {math.floor(d), math.ceil(d)}


def test_strided_timesteps_defaults_and_edges():
    assert strided_timesteps(1000, 4) == [999, 666, 333, 0]
    assert strided_timesteps(20) == list(range(19, -1, -1))
    assert strided_timesteps(20, 20) == list(range(19, -1, -1))
    assert strided_timesteps(20, 1) == [19]


@pytest.mark.parametrize("steps", [0, -1, 21, 1000])
def test_strided_timesteps_rejects_steps_outside_1_T(steps):
    with pytest.raises(ValueError):
        strided_timesteps(20, steps)


def _jump_points(steps, jump_length):
    return list(range(0, steps - jump_length, jump_length))


@pytest.mark.parametrize(
    "steps, jump_length, jump_n_sample",
    [(250, 10, 10), (10, 2, 2), (7, 3, 2), (20, 1, 3), (13, 4, 5), (5, 5, 3), (5, 10, 4), (1, 1, 1), (30, 3, 1)],
)
def test_repaint_schedule_is_a_valid_walk(steps, jump_length, jump_n_sample):
    walk = repaint_schedule(steps, jump_length, jump_n_sample)
    assert walk[0] == steps - 1 and walk[-1] == -1
    assert min(walk) == -1 and max(walk) == steps - 1
    moves = [b - a for a, b in zip(walk, walk[1:])]
    assert set(moves) <= {-1, 1}
    assert -1 not in walk[:-1]  # the clean image is reached once, at the end

    # length: every up-move is undone by a down-move, and the net descent is `steps`
    jumps = _jump_points(steps, jump_length)
    ups = moves.count(1)
    assert ups == jump_length * (jump_n_sample - 1) * len(jumps)
    assert moves.count(-1) == steps + ups
    assert len(walk) == steps + 1 + 2 * jump_length * (jump_n_sample - 1) * len(jumps)

    # structure: every run of up-moves starts at a jump point and climbs jump_length;
    # each jump point starts jump_n_sample - 1 runs
    runs, i = [], 0
    while i < len(moves):
        if moves[i] == 1:
            j = i
            while j < len(moves) and moves[j] == 1:
                j += 1
            runs.append((walk[i], j - i))
            i = j
        else:
            i += 1
    assert all(length == jump_length for _, length in runs)
    assert sorted(start for start, _ in runs) == sorted(j for j in jumps for _ in range(jump_n_sample - 1))

    # each reverse move p -> p-1 inside a resampled stretch is made jump_n_sample times
    for p in range(steps):
        n = sum(1 for a, b in zip(walk, walk[1:]) if a == p and b == p - 1)
        covered = sum(1 for j in jumps if j < p <= j + jump_length)
        assert n == 1 + (jump_n_sample - 1) * covered, p


def test_repaint_schedule_without_jumps_is_plain_descent():
    assert repaint_schedule(6, 2, 1) == [5, 4, 3, 2, 1, 0, -1]
    assert repaint_schedule(4, 2, 2) == [3, 2, 1, 0, 1, 2, 1, 0, -1]


@pytest.mark.parametrize("args", [(0, 1, 1), (5, 0, 1), (5, 1, 0)])
def test_repaint_schedule_rejects_bad_parameters(args):
    with pytest.raises(ValueError):
        repaint_schedule(*args)


# --- DDPM and DDIM ---------------------------------------------------------------------


def _image_batch(shape=(3, 2, 5, 7), seed=0, dtype=F64):
    g = _gen(seed)
    x_T = torch.randn(shape, generator=g, dtype=dtype)
    x_known = (torch.rand(shape, generator=g, dtype=dtype) * 2 - 1) * 0.9
    known = torch.rand((shape[0], 1, *shape[2:]), generator=g) < 0.5
    return x_T, x_known, known


@pytest.mark.parametrize("steps", [None, 12])
@pytest.mark.parametrize("with_known", [False, True])
@pytest.mark.parametrize("clip", [False, True])
def test_ddim_eta1_is_ddpm(steps, with_known, clip):
    """Song et al. (2021): with eta = 1 DDIM's step is the posterior q(x_s | x_t, x0),
    so given the same noise it reproduces ancestral sampling (here also on strided steps)."""
    T = 50
    sch = NoiseSchedule.linear(T)
    den = mixing_denoiser(sch)  # its x0 estimate exceeds 1 often enough for the clip to act
    x_T, x_known, known = _image_batch()
    ts = strided_timesteps(T, steps)
    cond = dict(known=known, x_known=x_known) if with_known else {}
    a = sample_ddpm(den, x_T, sch, timesteps=ts, clip=clip, generator=_gen(1), **cond)
    b = sample_ddim(den, x_T, sch, timesteps=ts, eta=1.0, clip=clip, generator=_gen(1), **cond)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    # the noise matters: another seed gives another sample
    c = sample_ddpm(den, x_T, sch, timesteps=ts, clip=clip, generator=_gen(2), **cond)
    assert (a - c).abs().max() > 1e-3


def test_ddpm_defaults_to_the_full_schedule():
    sch = NoiseSchedule.cosine(30)
    den = gaussian_denoiser(sch, 0.3, 0.6)
    x_T, _, _ = _image_batch()
    a = sample_ddpm(den, x_T, sch, generator=_gen(3))
    b = sample_ddpm(den, x_T, sch, timesteps=list(range(29, -1, -1)), generator=_gen(3))
    assert torch.equal(a, b)


@pytest.mark.parametrize("steps", [None, 10])
def test_ddim_eta0_is_deterministic(steps):
    sch = NoiseSchedule.linear(50)
    den = gaussian_denoiser(sch, 0.3, 0.6)
    x_T, x_known, known = _image_batch()
    ts = strided_timesteps(50, steps)
    a = sample_ddim(den, x_T, sch, timesteps=ts, eta=0.0, generator=_gen(1))
    b = sample_ddim(den, x_T, sch, timesteps=ts, eta=0.0, generator=_gen(2))
    c = sample_ddim(den, x_T, sch, timesteps=ts, eta=0.0)
    assert torch.equal(a, b) and torch.equal(a, c)
    # but depends on the starting noise
    d = sample_ddim(den, x_T + 0.5, sch, timesteps=ts, eta=0.0)
    assert (a - d).abs().max() > 1e-3


def test_ddim_rejects_negative_eta_and_bad_timesteps():
    sch = NoiseSchedule.linear(50)
    x = torch.zeros(1, 1, 2, 2, dtype=F64)
    with pytest.raises(ValueError):
        sample_ddim(lambda x, t: x, x, sch, eta=-0.1)
    for ts in ([10, 10, 0], [5, 8, 0], [3, 2, -1]):
        with pytest.raises(ValueError):
            sample_ddpm(lambda x, t: x, x, sch, timesteps=ts)


def reference_sampler(denoiser, x_T, sch, known, x_known, timesteps, generator, eta=None, clip=True):
    """Ho et al. (2020) Alg. 2 (``eta=None``) or DDIM (Song et al. 2021, eq. 12) with the
    reference's known-region pasting: at each step t -> s the x0 estimate is clipped to
    [-1, 1] and its known pixels replaced by x_known's before the step; the output's
    known pixels are x_known's."""
    ts = list(timesteps) + [-1]
    x = x_T
    for t, s in zip(ts, ts[1:]):
        x0 = denoiser(x, torch.full((x.shape[0],), t))
        if clip:
            x0 = x0.clamp(-1, 1)
        x0 = torch.where(known, x_known, x0)
        a_t, a_s = _abar(sch, t), _abar(sch, s)
        if eta is None:
            alpha = a_t / a_s
            x = math.sqrt(a_s) * (1 - alpha) / (1 - a_t) * x0 + math.sqrt(alpha) * (1 - a_s) / (1 - a_t) * x
            if s >= 0:
                var = (1 - alpha) * (1 - a_s) / (1 - a_t)
                x = x + math.sqrt(var) * torch.randn(x.shape, generator=generator, dtype=x.dtype)
        else:
            eps = (x - math.sqrt(a_t) * x0) / math.sqrt(1 - a_t)
            sigma = eta * math.sqrt((1 - a_s) / (1 - a_t) * (1 - a_t / a_s))
            x = math.sqrt(a_s) * x0 + math.sqrt(max(1 - a_s - sigma**2, 0.0)) * eps
            if s >= 0 and eta > 0:
                x = x + sigma * torch.randn(x.shape, generator=generator, dtype=x.dtype)
    return torch.where(known, x_known, x)


@pytest.mark.parametrize("eta", [None, 0.0, 0.5, 1.0])
@pytest.mark.parametrize("steps", [None, 9])
def test_samplers_with_known_region_match_the_reference(eta, steps):
    """sample_ddpm / sample_ddim against the algorithms written out, with pasting."""
    T = 40
    sch = NoiseSchedule.cosine(T)
    den = mixing_denoiser(sch)
    x_T, x_known, known = _image_batch(seed=21)
    ts = strided_timesteps(T, steps)
    if eta is None:
        out = sample_ddpm(den, x_T, sch, timesteps=ts, known=known, x_known=x_known, generator=_gen(22))
    else:
        out = sample_ddim(den, x_T, sch, timesteps=ts, eta=eta, known=known, x_known=x_known, generator=_gen(22))
    ref = reference_sampler(den, x_T, sch, known, x_known, ts, _gen(22), eta=eta)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)


def _point():
    return torch.tensor([[[[0.5, -0.3], [0.9, 0.0]]]], dtype=F64)


@pytest.mark.parametrize("steps", [None, 9])
@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_ddpm_one_point_dataset_walks_the_forward_marginals(name, steps):
    """With a perfect denoiser for the data set {p} the posterior step is exact, so starting
    from q(x_{T-1} | p) every x_t the denoiser sees is distributed as q(x_t | p) =
    N(sqrt(abar_t) p, 1 - abar_t), and the output is p.  Monte Carlo over N = 10000 copies,
    5 standard errors."""
    T, N = 40, 10000
    sch = NoiseSchedule.from_name(name, T)
    p = _point()
    g = _gen(4)
    a = _abar(sch, T - 1)
    x_T = math.sqrt(a) * p + math.sqrt(1 - a) * torch.randn((N, 1, 2, 2), generator=g, dtype=F64)
    rec = Recorder(lambda x, t: p.expand_as(x))
    ts = strided_timesteps(T, steps)
    out = sample_ddpm(rec, x_T, sch, timesteps=ts, generator=g)
    torch.testing.assert_close(out, p.expand_as(out), rtol=0, atol=1e-12)
    assert [t for t, _ in rec.calls] == ts
    for t, x in rec.calls:
        a = _abar(sch, t)
        assert (x.mean(0) - math.sqrt(a) * p[0]).abs().max() < 5 * math.sqrt((1 - a) / N), t
        assert (x.var(0) / (1 - a) - 1).abs().max() < 5 * math.sqrt(2 / N), t


@pytest.mark.parametrize("steps", [None, 9, 2])
def test_ddim_eta0_one_point_dataset_keeps_the_noise(steps):
    """For the data set {p}, DDIM(eta=0) maps x_t = sqrt(a_t) p + sqrt(1 - a_t) e to
    x_s = sqrt(a_s) p + sqrt(1 - a_s) e with the same e, exactly, on any steps."""
    T = 40
    sch = NoiseSchedule.linear(T)
    p = _point().expand(3, -1, -1, -1)
    e = torch.randn(p.shape, generator=_gen(5), dtype=F64)
    a = _abar(sch, T - 1)
    rec = Recorder(lambda x, t: p)
    ts = strided_timesteps(T, steps)
    out = sample_ddim(rec, math.sqrt(a) * p + math.sqrt(1 - a) * e, sch, timesteps=ts, eta=0.0)
    torch.testing.assert_close(out, p, rtol=0, atol=1e-12)
    assert [t for t, _ in rec.calls] == ts
    for t, x in rec.calls:
        a = _abar(sch, t)
        torch.testing.assert_close((x - math.sqrt(a) * p) / math.sqrt(1 - a), e, rtol=0, atol=1e-10)


def _gaussian_sampler_moments(sch, ts, kind, mu, s):
    """Exact mean and variance of the sampler's output for x0 ~ N(mu, s^2) and x_T ~ N(0, 1).

    Every step is affine in x_t plus independent Gaussian noise, x_s = A x_t + b + c z, so
    (m, v) -> (A m + b, A^2 v + c^2).  The x0 estimate is E[x0 | x_t] = k x_t + mu (1 - k sqrt(a_t)).
    """
    m, v = 0.0, 1.0
    tl = list(ts) + [-1]
    for t, u in zip(tl, tl[1:]):
        at, au = _abar(sch, t), _abar(sch, u)
        k = math.sqrt(at) * s**2 / (at * s**2 + 1 - at)
        A0, b0 = k, mu * (1 - k * math.sqrt(at))
        if kind == "ddpm":  # posterior q(x_u | x_t, x0) with alpha = at / au
            alpha = at / au
            c0 = math.sqrt(au) * (1 - alpha) / (1 - at)
            ct = math.sqrt(alpha) * (1 - au) / (1 - at)
            A, b, c2 = c0 * A0 + ct, c0 * b0, (1 - alpha) * (1 - au) / (1 - at)
        else:  # DDIM eta = 0: x_u = sqrt(au) x0 + sqrt(1 - au) (x_t - sqrt(at) x0) / sqrt(1 - at)
            r = math.sqrt((1 - au) / (1 - at))
            A = math.sqrt(au) * A0 + r * (1 - math.sqrt(at) * A0)
            b, c2 = (math.sqrt(au) - r * math.sqrt(at)) * b0, 0.0
        m, v = A * m + b, A * A * v + c2
    return m, v


@pytest.mark.parametrize(
    "kind, steps, bias",
    [("ddpm", None, 0.02), ("ddpm", 250, 0.06), ("ddim", None, 0.01), ("ddim", 250, 0.03)],
)
def test_gaussian_data_is_sampled_with_the_right_moments(kind, steps, bias):
    """Data x0 ~ N(mu, s^2) per pixel with its exact denoiser; N = 40000 pixels.

    Two checks.  (1) The sample mean and variance match the exact moments of the
    discrete sampler (propagated in closed form) within 5 standard errors.  (2) Those
    moments, hence the samples, are mu and s^2 up to the time-discretization error,
    which is below ``bias`` (relative, on the variance) for T = 1000.
    """
    T, mu, s = 1000, 0.2, 0.5
    sch = NoiseSchedule.linear(T)
    g = _gen(6)
    x_T = torch.randn((4, 1, 100, 100), generator=g, dtype=F64)
    N = x_T.numel()
    ts = strided_timesteps(T, steps)
    den = gaussian_denoiser(sch, mu, s)
    if kind == "ddpm":
        x = sample_ddpm(den, x_T, sch, timesteps=ts, clip=False, generator=g)
    else:
        x = sample_ddim(den, x_T, sch, timesteps=ts, eta=0.0, clip=False, generator=g)
    m, v = _gaussian_sampler_moments(sch, ts, kind, mu, s)
    emp_m, emp_v = x.mean().item(), x.var().item()
    se_m, se_v = math.sqrt(v / N), v * math.sqrt(2 / N)
    assert abs(emp_m - m) < 5 * se_m
    assert abs(emp_v - v) < 5 * se_v
    assert abs(m - mu) < 1e-3 and abs(v / s**2 - 1) < bias
    assert abs(emp_m - mu) < 5 * se_m + 1e-3
    assert abs(emp_v / s**2 - 1) < 5 * math.sqrt(2 / N) + bias


# --- RePaint -----------------------------------------------------------------------------


def replacement_sampler(denoiser, x_T, sch, known, x_known, timesteps, generator, clip=True):
    """Replacement sampling, RePaint (Lugmayr et al. 2022) Alg. 1 without resampling.

    Per step t -> s: x0 from the model (clipped); unknown part from the posterior
    q(x_s | x_t, x0); known part x_known noised to level s; merged by the mask.  The last
    step takes the posterior mean and x_known.  Noise order: posterior, then known part.
    """
    ts = list(timesteps) + [-1]
    x = x_T
    for t, s in zip(ts, ts[1:]):
        x0 = denoiser(x, torch.full((x.shape[0],), t))
        if clip:
            x0 = x0.clamp(-1, 1)
        a_t, a_s = _abar(sch, t), _abar(sch, s)
        alpha = a_t / a_s
        mean = math.sqrt(a_s) * (1 - alpha) / (1 - a_t) * x0 + math.sqrt(alpha) * (1 - a_s) / (1 - a_t) * x
        var = (1 - alpha) * (1 - a_s) / (1 - a_t)
        if s >= 0:
            unknown = mean + math.sqrt(var) * torch.randn(x.shape, generator=generator, dtype=x.dtype)
            known_part = math.sqrt(a_s) * x_known + math.sqrt(1 - a_s) * torch.randn(
                x.shape, generator=generator, dtype=x.dtype
            )
        else:
            unknown, known_part = mean, x_known
        x = torch.where(known, known_part, unknown)
    return x


@pytest.mark.parametrize("steps", [None, 11])
def test_repaint_without_resampling_is_replacement_sampling(steps):
    T = 50
    sch = NoiseSchedule.linear(T)
    den = mixing_denoiser(sch)
    x_T, x_known, known = _image_batch(seed=7)
    ts = strided_timesteps(T, steps)
    a = sample_repaint(den, x_T, sch, known=known, x_known=x_known, timesteps=ts, jump_length=3, jump_n_sample=1, generator=_gen(8))
    b = replacement_sampler(den, x_T, sch, known, x_known, ts, _gen(8))
    torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("steps, jump_length, jump_n_sample", [(None, 5, 3), (12, 3, 4)])
def test_repaint_one_point_dataset_walks_the_forward_marginals(steps, jump_length, jump_n_sample):
    """For the data set {p} with x_known = p, the reverse steps, the known-region noising
    and the re-noising jumps are all exact, so every x_t the denoiser sees (hole and known
    region alike) is distributed as q(x_t | p).  The denoiser also sees exactly the
    timesteps of the walk's reverse moves.  Monte Carlo over N = 8000 copies, 5 SE."""
    T, N = 50, 8000
    sch = NoiseSchedule.cosine(T)
    p = _point()
    g = _gen(9)
    a = _abar(sch, T - 1)
    x_T = math.sqrt(a) * p + math.sqrt(1 - a) * torch.randn((N, 1, 2, 2), generator=g, dtype=F64)
    known = torch.tensor([[[[True, False], [False, False]]]]).expand(N, -1, -1, -1)
    rec = Recorder(lambda x, t: p.expand_as(x))
    ts = strided_timesteps(T, steps)
    out = sample_repaint(rec, x_T, sch, known=known, x_known=p.expand_as(x_T), timesteps=ts,
                         jump_length=jump_length, jump_n_sample=jump_n_sample, generator=g)
    torch.testing.assert_close(out, p.expand_as(out), rtol=0, atol=1e-12)
    walk = repaint_schedule(len(ts), jump_length, jump_n_sample)
    expected_t = [ts[len(ts) - 1 - q] for q, r in zip(walk, walk[1:]) if r < q]
    assert [t for t, _ in rec.calls] == expected_t
    assert len(expected_t) > len(ts)  # resampling happened
    for t, x in rec.calls:
        a = _abar(sch, t)
        assert (x.mean(0) - math.sqrt(a) * p[0]).abs().max() < 5 * math.sqrt((1 - a) / N), t
        assert (x.var(0) / (1 - a) - 1).abs().max() < 5 * math.sqrt(2 / N), t


# --- contracts common to all samplers ------------------------------------------------------


def _run(kind, den, x_T, sch, ts, known, x_known, generator, progress=None):
    common = dict(timesteps=ts, known=known, x_known=x_known, generator=generator, progress=progress)
    if kind == "ddpm":
        return sample_ddpm(den, x_T, sch, **common)
    if kind.startswith("ddim"):
        return sample_ddim(den, x_T, sch, eta=float(kind[4:]), **common)
    if kind.startswith("dpmpp"):
        return sample_dpmpp_2m(den, x_T, sch, eta=1.0 if kind == "dpmpp-2m-sde" else 0.0, **common)
    if kind == "pc":
        return sample_pc(den, x_T, sch, corrector_steps=2, **common)
    return sample_repaint(den, x_T, sch, jump_length=2, jump_n_sample=3, **common)


KINDS = ["ddpm", "ddim0", "ddim1", "dpmpp-2m", "dpmpp-2m-sde", "pc", "repaint"]
"""Every sampler of :data:`inpaint.sampling.SAMPLERS` (DDIM twice: deterministic and ancestral)."""
PLAN_OPTIONS = {"pc": dict(corrector_steps=2), "repaint": dict(jump_length=2, jump_n_sample=3)}


def test_the_contracts_cover_every_sampler():
    from inpaint.sampling import SAMPLERS

    assert {k.rstrip("01") for k in KINDS} == set(SAMPLERS)


@pytest.mark.parametrize("kind", KINDS)
def test_the_exact_denoiser_of_one_point_gives_that_point(kind):
    """Data set {p}: the exact denoiser answers p at every step, and every sampler must end on p, in the
    hole as at the known pixels, whatever its noise."""
    sch = NoiseSchedule.cosine(40)
    x_T, _, known = _image_batch(seed=20)
    p = torch.linspace(-0.9, 0.9, x_T[0].numel(), dtype=F64).reshape(x_T[0].shape).expand_as(x_T)
    out = _run(kind, lambda x, t: p, x_T, sch, strided_timesteps(40, 7), known, p, _gen(21))
    torch.testing.assert_close(out, p, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("kind", KINDS)
def test_samplers_keep_known_pixels_exactly(kind, dtype):
    sch = NoiseSchedule.linear(30)
    den = gaussian_denoiser(sch, 0.3, 0.6)
    x_T, x_known, known = _image_batch(dtype=dtype, seed=10)
    out = _run(kind, den, x_T, sch, strided_timesteps(30, 10), known, x_known, _gen(11))
    assert out.shape == x_T.shape and out.dtype == dtype
    k = known.expand_as(out)
    assert torch.equal(out[k], x_known[k])
    assert (out[~k] - x_known[~k]).abs().max() > 1e-2  # the hole is filled, not copied
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("kind", KINDS)
def test_samplers_report_progress_and_call_the_network_as_their_plan_says(kind):
    sch = NoiseSchedule.linear(30)
    ts = strided_timesteps(30, 8)
    x_T, x_known, known = _image_batch(seed=12)
    ticks, den = [], Recorder(gaussian_denoiser(sch, 0.3, 0.6))
    _run(kind, den, x_T, sch, ts, known, x_known, _gen(13), lambda d, n: ticks.append((d, n)))
    plan = sampling_plan(kind.rstrip("01"), ts, **PLAN_OPTIONS.get(kind, {}))
    assert ticks == [(i, plan.ticks) for i in range(1, plan.ticks + 1)]
    assert len(den.calls) == plan.calls


@pytest.mark.parametrize("kind", KINDS)
def test_samplers_reproduce_from_the_generator(kind):
    sch = NoiseSchedule.cosine(30)
    den = gaussian_denoiser(sch, 0.3, 0.6)
    x_T, x_known, known = _image_batch(seed=14)
    ts = strided_timesteps(30, 10)
    a = _run(kind, den, x_T, sch, ts, known, x_known, _gen(15))
    b = _run(kind, den, x_T, sch, ts, known, x_known, _gen(15))
    assert torch.equal(a, b)


# --- fill ---------------------------------------------------------------------------------

FILL_CASES = [
    ("regression", 1, SamplerConfig()),
    ("regression", 3, SamplerConfig()),
    ("diffusion", 3, SamplerConfig(sampler="ddpm", steps=4)),
    ("diffusion", 1, SamplerConfig(sampler="ddim", steps=4, eta=0.0)),
    ("diffusion", 1, SamplerConfig(sampler="ddim", steps=4, eta=1.0, paste=False)),
    ("repaint", 3, SamplerConfig(steps=10, jump_length=2, jump_n_sample=2)),
    ("repaint", 1, SamplerConfig(sampler="ddim", steps=4)),
]


def _fill_setup(method, channels):
    config = TrainConfig(model=ModelConfig(method=method, image_channels=channels, width=8), diffusion=DiffusionConfig(timesteps=100))
    model = UNet(config.model, generator=_gen(16)).eval()
    g = _gen(17)
    x_known = torch.rand(2, channels, 13, 21, generator=g) * 2 - 1
    known = torch.rand(2, 1, 13, 21, generator=g) < 0.7
    known[:, :, 9:, 15:] = False  # a hole in the corner that padding extends
    return config, model, x_known, known


@pytest.mark.parametrize("method, channels, sampler", FILL_CASES)
def test_fill_contract(method, channels, sampler):
    config, model, x_known, known = _fill_setup(method, channels)
    out = fill(model, config, x_known, known, sampler=sampler, samples=2, generator=_gen(18))
    assert out.shape == (2, 2, channels, 13, 21) and out.dtype == x_known.dtype
    k = known.expand_as(x_known)
    for i in range(2):
        assert torch.equal(out[i][k], x_known[k])
    assert out.min() >= -1 and out.max() <= 1
    again = fill(model, config, x_known, known, sampler=sampler, samples=2, generator=_gen(18))
    assert torch.equal(out, again)
    if method != "regression":
        # independent samples differ in the hole; another seed gives another fill
        assert (out[0] - out[1]).abs().max() > 1e-4
        other = fill(model, config, x_known, known, sampler=sampler, samples=2, generator=_gen(19))
        assert (out - other).abs().max() > 1e-4


def test_fill_reports_progress():
    config, model, x_known, known = _fill_setup("diffusion", 1)
    calls = []
    fill(model, config, x_known, known, sampler=SamplerConfig(steps=5), generator=_gen(20), progress=lambda d, n: calls.append((d, n)))
    assert calls == [(i, 5) for i in range(1, 6)]


def test_fill_rejects_bad_inputs():
    config, model, x_known, known = _fill_setup("diffusion", 3)
    with pytest.raises(ValueError):
        fill(model, config, x_known[:, :1], known)  # wrong channel count
    with pytest.raises(ValueError):
        fill(model, config, x_known, known.float())  # mask must be bool
    with pytest.raises(ValueError):
        fill(model, config, x_known, torch.ones_like(known))  # no hole
    with pytest.raises(ValueError):
        fill(model, config, x_known, known, sampler=SamplerConfig(sampler="repaint"))  # needs an unconditional model


@pytest.mark.parametrize("sampler", [SamplerConfig(sampler="ddpm", steps=4), SamplerConfig(sampler="dpmpp-2m-sde", steps=4),
                                     SamplerConfig(sampler="repaint", steps=6, jump_length=2, jump_n_sample=2)])
def test_one_generator_per_image_makes_its_fills_independent_of_the_batch(sampler):
    method = "repaint" if sampler.sampler == "repaint" else "diffusion"
    config, model, x_known, known = _fill_setup(method, 3)
    both = fill(model, config, x_known, known, sampler=sampler, samples=2, generator=[_gen(30), _gen(31)])
    alone = fill(model, config, x_known[1:], known[1:], sampler=sampler, samples=2, generator=[_gen(31)])
    torch.testing.assert_close(both[:, 1:], alone, atol=1e-5, rtol=0)
    swapped = fill(model, config, x_known, known, sampler=sampler, samples=2, generator=[_gen(31), _gen(30)])
    assert (swapped[:, 1] - both[:, 1]).abs().max() > 1e-3  # the image's own generator decides its noise
    with pytest.raises(ValueError, match="3 generators for 2 images"):
        fill(model, config, x_known, known, sampler=sampler, generator=[_gen(0)] * 3)


def test_ddim_step_with_eta_one_is_the_posterior_draw():
    from inpaint.schedule import ddim_step, posterior

    sch = NoiseSchedule.linear(50)
    g = torch.Generator().manual_seed(5)
    x0, x_t, z = (torch.randn(2, 3, 4, 4, generator=g, dtype=torch.float64) for _ in range(3))
    for t in (49, 20, 1):
        mean, var = posterior(sch, x0, x_t, torch.full((2,), t))
        torch.testing.assert_close(ddim_step(sch, x0, x_t, t, t - 1, 1.0, z), mean + var.sqrt() * z)
    assert ddim_step(sch, x0, x_t, 0, -1) is x0


def test_known_region_clips_and_pastes_the_estimate():
    from inpaint.sampling import known_region

    x_known = torch.full((1, 1, 2, 2), 0.5)
    known = torch.tensor([[[[True, False], [False, True]]]])
    den = known_region(lambda x, t: 3 * x, known, x_known)
    out = den(torch.ones(1, 1, 2, 2), torch.zeros(1, dtype=torch.long))
    assert out.tolist() == [[[[0.5, 1.0], [1.0, 0.5]]]]
    raw = lambda x, t: x  # noqa: E731
    assert known_region(raw, clip=False) is raw
    with pytest.raises(ValueError, match="bool tensor"):
        known_region(raw, known.float(), x_known)


def test_one_default_sampler_per_method():
    from inpaint.fill import DEFAULT_SAMPLER, QUICK_REPAINT_SAMPLER, REPAINT_SAMPLER

    assert SamplerConfig().resolved("diffusion") == DEFAULT_SAMPLER
    assert SamplerConfig().resolved("repaint") == REPAINT_SAMPLER == SamplerConfig.default_for("repaint")
    assert SamplerConfig.default_for("repaint", quick=True) == QUICK_REPAINT_SAMPLER
    assert (REPAINT_SAMPLER.steps, REPAINT_SAMPLER.jump_length, REPAINT_SAMPLER.jump_n_sample) == (250, 10, 10)
    assert SamplerConfig(steps=40).resolved("diffusion").steps == 40
