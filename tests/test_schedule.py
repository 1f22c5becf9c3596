"""Tests for inpaint.schedule: the schedules against their published formulas, the
closed-form forward process against the iterated Markov chain (Monte Carlo in
float64), and the posterior against an independent product-of-Gaussians derivation.
"""

import dataclasses
import math

import pytest
import torch

from inpaint.schedule import SCHEDULES, NoiseSchedule, posterior, q_jump, q_sample

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")


# --- the published formulas, written out independently --------------------------------


def linear_betas(T):
    """Ho et al. (2020): betas linear from 1e-4 to 0.02 at T = 1000, scaled by 1000/T."""
    scale = 1000.0 / T
    lo, hi = 1e-4 * scale, 0.02 * scale
    return [lo + (hi - lo) * i / (T - 1) for i in range(T)]


def cosine_betas(T, s=0.008, max_beta=0.999):
    """Nichol and Dhariwal (2021), eq. 17: abar(t) = f(t) / f(0), beta_t = 1 - abar(t) / abar(t-1)."""

    def f(t):
        return math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2

    abar = [f(t) / f(0) for t in range(T + 1)]
    return [min(1 - abar[t] / abar[t - 1], max_beta) for t in range(1, T + 1)]


def sigmoid_betas(T, span=6.0):
    scale = 1000.0 / T
    lo, hi = 1e-4 * scale, 0.02 * scale
    z = [-span + 2 * span * i / (T - 1) for i in range(T)]
    return [lo + (hi - lo) / (1 + math.exp(-v)) for v in z]


FORMULAS = {"linear": linear_betas, "cosine": cosine_betas, "sigmoid": sigmoid_betas}


def cumprod(betas):
    out, p = [], 1.0
    for b in betas:
        p *= 1 - b
        out.append(p)
    return out


# --- schedules ------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCHEDULES)
@pytest.mark.parametrize("T", [50, 100, 1000])
def test_schedule_matches_published_formula(name, T):
    sch = getattr(NoiseSchedule, name)(T)
    betas = torch.tensor(FORMULAS[name](T), dtype=F64)
    assert sch.betas.dtype == F64 and sch.alphas_cumprod.dtype == F64
    assert sch.betas.shape == (T,) and sch.alphas_cumprod.shape == (T,)
    assert sch.T == T
    torch.testing.assert_close(sch.betas, betas, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(sch.alphas_cumprod, torch.tensor(cumprod(betas.tolist()), dtype=F64), rtol=1e-11, atol=1e-300)


@pytest.mark.parametrize("name", SCHEDULES)
@pytest.mark.parametrize("T", [50, 100, 1000])
def test_from_name_builds_the_named_schedule(name, T):
    a, b = NoiseSchedule.from_name(name, T), getattr(NoiseSchedule, name)(T)
    assert a.name == name
    assert torch.equal(a.betas, b.betas) and torch.equal(a.alphas_cumprod, b.alphas_cumprod)


@pytest.mark.parametrize("bad", ["quadratic", "Linear", "", "cos"])
def test_from_name_rejects_unknown_names(bad):
    with pytest.raises(ValueError, match="unknown schedule"):
        NoiseSchedule.from_name(bad, 100)


@pytest.mark.parametrize("name", SCHEDULES)
@pytest.mark.parametrize("T", [50, 1000])
def test_alphas_cumprod_strictly_decreasing_in_unit_interval(name, T):
    sch = NoiseSchedule.from_name(name, T)
    abar = sch.alphas_cumprod
    assert bool((abar[1:] < abar[:-1]).all())
    assert bool(((abar > 0) & (abar < 1)).all())
    assert bool(((sch.betas > 0) & (sch.betas < 1)).all())


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_ends_near_pure_noise(name):
    sch = NoiseSchedule.from_name(name, 1000)
    assert sch.alphas_cumprod[-1] < 1e-3
    # ... and starts near the clean image
    assert sch.alphas_cumprod[0] > 0.999


def test_cosine_betas_clipped():
    sch = NoiseSchedule.cosine(1000)
    assert sch.betas.max() == pytest.approx(0.999, abs=1e-15)  # the last beta is ~1 before clipping
    assert sch.betas[-1] == pytest.approx(0.999, abs=1e-15)


def test_schedule_is_frozen():
    sch = NoiseSchedule.linear(50)
    assert dataclasses.is_dataclass(sch)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sch.betas = torch.zeros(50, dtype=F64)


@pytest.mark.parametrize("T", [1, 0, 2.5])
def test_rejects_bad_T(T):
    with pytest.raises(ValueError):
        NoiseSchedule.linear(T)


@pytest.mark.parametrize("name", SCHEDULES)
@pytest.mark.parametrize("T", [2, 10, 20])
def test_every_accepted_T_builds_a_valid_schedule(name, T):
    """A T that DiffusionConfig (and the CLI's --timesteps, IntRange(min=2)) accepts must
    build a schedule with betas in (0, 1); rejecting it is fine, but at the config, with a
    message that names T."""
    from inpaint.diffusion import DiffusionConfig

    try:
        config = DiffusionConfig(schedule=name, timesteps=T)
    except ValueError as e:
        assert str(T) in str(e)
        return
    sch = config.noise_schedule()
    assert sch.T == T
    assert bool(((sch.betas > 0) & (sch.betas < 1)).all())
    assert bool((sch.alphas_cumprod[1:] < sch.alphas_cumprod[:-1]).all())


def test_alpha_bar_and_snr():
    sch = NoiseSchedule.cosine(100)
    t = torch.tensor([-1, 0, 1, 57, 99])
    a = sch.alpha_bar(t)
    assert a.dtype == F64
    assert a[0] == 1.0
    assert torch.equal(a[1:], sch.alphas_cumprod[t[1:]])
    assert sch.alpha_bar(torch.tensor(-1)) == 1.0
    assert sch.alpha_bar(torch.tensor([[-1, -1]])).shape == (1, 2)
    torch.testing.assert_close(sch.snr(t[1:]), a[1:] / (1 - a[1:]), rtol=1e-14, atol=0)


# --- forward process --------------------------------------------------------------------


def _x0_image():
    g = torch.Generator().manual_seed(1)
    return (torch.rand(1, 2, 3, 3, generator=g, dtype=F64) * 2 - 1)


def _moments_from_library(fn, x):
    """Mean and standard deviation of a Gaussian sampler x -> a x + b noise, read off at noise 0 and 1."""
    zero = fn(x, torch.zeros_like(x))
    one = fn(x, torch.ones_like(x))
    return zero, one - zero


def test_q_sample_closed_form():
    sch = NoiseSchedule.linear(50)
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(5, 3, 4, 4, generator=g, dtype=F64)
    noise = torch.randn(5, 3, 4, 4, generator=g, dtype=F64)
    t = torch.tensor([-1, 0, 7, 30, 49])
    out = q_sample(sch, x0, t, noise)
    abar = torch.tensor([1.0] + [cumprod(linear_betas(50))[i] for i in (0, 7, 30, 49)], dtype=F64)
    expected = abar.sqrt()[:, None, None, None] * x0 + (1 - abar).sqrt()[:, None, None, None] * noise
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-14)
    assert torch.equal(out[0], x0[0])  # t = -1 is the clean image
    assert out.dtype == F64


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_q_sample_matches_iterated_chain(name):
    """Run x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) z for T steps on N copies of one
    image; at every t the per-pixel mean and variance over the copies must match
    q(x_t | x0) = N(sqrt(abar_t) x0, 1 - abar_t) as q_sample computes it.

    Tolerance: 5 standard errors (mean: sqrt(var / N); variance: var sqrt(2 / N)) plus
    a float64 floor.
    """
    T, N = 40, 20000
    sch = NoiseSchedule.from_name(name, T)
    g = torch.Generator().manual_seed(2)
    x0 = _x0_image()
    x = x0.expand(N, -1, -1, -1).clone()
    betas = torch.tensor(FORMULAS[name](T), dtype=F64)
    for t in range(T):
        x = (1 - betas[t]).sqrt() * x + betas[t].sqrt() * torch.randn(x.shape, generator=g, dtype=F64)
        tt = torch.full((1,), t)
        mean, std = _moments_from_library(lambda a, n: q_sample(sch, a, tt, n), x0)
        var = std**2
        assert torch.allclose(std, std.flatten()[0])  # isotropic
        emp_mean, emp_var = x.mean(0, keepdim=True), x.var(0, keepdim=True)
        assert (emp_mean - mean).abs().max() < 5 * (var / N).sqrt().max() + 1e-12, t
        assert ((emp_var - var).abs() / var).max() < 5 * math.sqrt(2 / N), t


@pytest.mark.parametrize("s, t", [(-1, 0), (-1, 29), (0, 1), (3, 4), (5, 17), (10, 29)])
def test_q_jump_matches_iterated_chain(s, t):
    """q_jump(s -> t) has the moments of the chain iterated over steps s+1 .. t."""
    T, N = 30, 20000
    sch = NoiseSchedule.linear(T)
    g = torch.Generator().manual_seed(3)
    x_s = _x0_image()
    x = x_s.expand(N, -1, -1, -1).clone()
    betas = torch.tensor(linear_betas(T), dtype=F64)
    for k in range(s + 1, t + 1):
        x = (1 - betas[k]).sqrt() * x + betas[k].sqrt() * torch.randn(x.shape, generator=g, dtype=F64)
    ss, tt = torch.full((1,), s), torch.full((1,), t)
    mean, std = _moments_from_library(lambda a, n: q_jump(sch, a, ss, tt, n), x_s)
    var = std**2
    # the closed form: alpha = abar_t / abar_s
    alpha = math.prod(1 - b for b in linear_betas(T)[s + 1 : t + 1])
    torch.testing.assert_close(mean, math.sqrt(alpha) * x_s, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(var, torch.full_like(var, 1 - alpha), rtol=1e-10, atol=1e-15)
    emp_mean, emp_var = x.mean(0, keepdim=True), x.var(0, keepdim=True)
    assert (emp_mean - mean).abs().max() < 5 * math.sqrt((1 - alpha) / N)
    assert ((emp_var - var).abs() / var).max() < 5 * math.sqrt(2 / N)


def test_q_jump_one_step_is_forward_step():
    sch = NoiseSchedule.cosine(50)
    g = torch.Generator().manual_seed(4)
    x = torch.randn(50, 1, 2, 2, generator=g, dtype=F64)
    z = torch.randn(50, 1, 2, 2, generator=g, dtype=F64)
    s = torch.arange(-1, 49)
    out = q_jump(sch, x, s, s + 1, z)
    b = sch.betas[s + 1][:, None, None, None]
    torch.testing.assert_close(out, (1 - b).sqrt() * x + b.sqrt() * z, rtol=1e-10, atol=1e-12)


def test_q_jump_composes_with_q_sample():
    """q(x_t | x0) = q(x_t | x_s) o q(x_s | x0): sqrt(ab_t/ab_s) (sqrt(ab_s) x0 + sqrt(1-ab_s) z1) + sqrt(1 - ab_t/ab_s) z2."""
    sch = NoiseSchedule.linear(100)
    x0 = _x0_image()
    s, t = torch.tensor([20]), torch.tensor([70])
    z1 = torch.full_like(x0, 0.3)
    z2 = torch.full_like(x0, -0.8)
    x_t = q_jump(sch, q_sample(sch, x0, s, z1), s, t, z2)
    a_s, a_t = sch.alphas_cumprod[20], sch.alphas_cumprod[70]
    # the combined noise has variance (a_t/a_s)(1 - a_s) + (1 - a_t/a_s) = 1 - a_t
    z = ((a_t / a_s * (1 - a_s)).sqrt() * z1 + (1 - a_t / a_s).sqrt() * z2) / (1 - a_t).sqrt()
    torch.testing.assert_close(x_t, q_sample(sch, x0, t, z), rtol=1e-12, atol=1e-14)


# --- posterior ---------------------------------------------------------------------------


def gaussian_posterior(abar_t, abar_s, x0, x_t):
    """q(x_s | x_t, x0) proportional to q(x_t | x_s) q(x_s | x0), by precision weighting.

    Prior:      x_s ~ N(sqrt(abar_s) x0, 1 - abar_s).
    Likelihood: x_t | x_s ~ N(sqrt(alpha) x_s, 1 - alpha), alpha = abar_t / abar_s; as a
                function of x_s a Gaussian with mean x_t / sqrt(alpha), precision alpha / (1 - alpha).
    """
    alpha = abar_t / abar_s
    prec_prior = 1 / (1 - abar_s)
    prec_lik = alpha / (1 - alpha)
    var = 1 / (prec_prior + prec_lik)
    mean = var * (prec_prior * abar_s.sqrt() * x0 + prec_lik * x_t / alpha.sqrt())
    return mean, var


def _bc(v):
    return v[:, None, None, None]


@pytest.mark.parametrize("name, T", [("linear", 50), ("cosine", 50), ("linear", 1000), ("sigmoid", 100)])
def test_posterior_one_step_matches_product_of_gaussians(name, T):
    sch = NoiseSchedule.from_name(name, T)
    g = torch.Generator().manual_seed(5)
    t = torch.cat([torch.arange(1, T), torch.tensor([1, T - 1])])
    B = len(t)
    x0 = torch.rand(B, 2, 3, 3, generator=g, dtype=F64) * 2 - 1
    x_t = torch.randn(B, 2, 3, 3, generator=g, dtype=F64)
    a = torch.tensor([1.0] + cumprod(FORMULAS[name](T)), dtype=F64)  # a[t + 1] = abar_t
    exp_mean, exp_var = gaussian_posterior(_bc(a[t + 1]), _bc(a[t]), x0, x_t)
    for s in (None, t - 1):
        mean, var = posterior(sch, x0, x_t, t, s)
        assert var.shape == (B, 1, 1, 1)
        torch.testing.assert_close(mean, exp_mean, rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(var, exp_var, rtol=1e-9, atol=1e-15)
    # the DDPM form: variance beta_t (1 - abar_{t-1}) / (1 - abar_t)
    b = torch.tensor(FORMULAS[name](T), dtype=F64)[t]
    torch.testing.assert_close(var, _bc(b * (1 - a[t]) / (1 - a[t + 1])), rtol=1e-9, atol=1e-15)


def test_posterior_skipped_steps_match_product_of_gaussians():
    T = 100
    sch = NoiseSchedule.linear(T)
    g = torch.Generator().manual_seed(6)
    t = torch.tensor([99, 99, 99, 50, 50, 10, 3, 2])
    s = torch.tensor([0, 49, 97, 0, 25, 1, 0, 0])
    x0 = torch.rand(len(t), 1, 4, 5, generator=g, dtype=F64) * 2 - 1
    x_t = torch.randn(len(t), 1, 4, 5, generator=g, dtype=F64)
    a = torch.tensor(cumprod(linear_betas(T)), dtype=F64)
    exp_mean, exp_var = gaussian_posterior(_bc(a[t]), _bc(a[s]), x0, x_t)
    mean, var = posterior(sch, x0, x_t, t, s)
    torch.testing.assert_close(mean, exp_mean, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(var, exp_var, rtol=1e-9, atol=1e-15)


def test_posterior_is_the_conditional_of_the_joint():
    """Monte Carlo: draw x_s ~ q(x_s | x0), x_t ~ q(x_t | x_s); regress x_s on x_t.

    For jointly Gaussian (x_s, x_t) the conditional mean is linear in x_t with slope
    Cov / Var(x_t) and the residual variance is the posterior variance.  Tolerances
    are 5 standard errors of those estimates with N = 200000.
    """
    T, N = 50, 200_000
    sch = NoiseSchedule.cosine(T)
    g = torch.Generator().manual_seed(7)
    x0 = torch.full((N, 1, 1, 1), 0.4, dtype=F64)
    s, t = torch.full((N,), 12), torch.full((N,), 31)
    x_s = q_sample(sch, x0, s, torch.randn(x0.shape, generator=g, dtype=F64))
    x_t = q_jump(sch, x_s, s, t, torch.randn(x0.shape, generator=g, dtype=F64))
    mean, var = posterior(sch, x0, x_t, t, s)
    resid = (x_s - mean).flatten()
    v = var.flatten()[0].item()
    assert abs(resid.mean().item()) < 5 * math.sqrt(v / N)
    assert abs(resid.var().item() / v - 1) < 5 * math.sqrt(2 / N)
    # the residual is uncorrelated with x_t (the mean is the regression of x_s on x_t)
    xt = x_t.flatten() - x_t.mean()
    corr = (resid - resid.mean()) @ xt / (resid.std() * xt.std() * N)
    assert abs(corr.item()) < 5 / math.sqrt(N)


@pytest.mark.parametrize("t", [0, 1, 25, 49])
def test_posterior_to_clean_image_is_x0(t):
    sch = NoiseSchedule.linear(50)
    g = torch.Generator().manual_seed(8)
    x0 = torch.rand(3, 2, 3, 3, generator=g, dtype=F64) * 2 - 1
    x_t = torch.randn(3, 2, 3, 3, generator=g, dtype=F64)
    tt = torch.full((3,), t)
    mean, var = posterior(sch, x0, x_t, tt, torch.full((3,), -1))
    torch.testing.assert_close(mean, x0, rtol=0, atol=1e-14)
    assert torch.all(var == 0)
    if t == 0:  # the default s = t - 1 is -1 at t = 0
        mean, var = posterior(sch, x0, x_t, tt)
        torch.testing.assert_close(mean, x0, rtol=0, atol=1e-14)
        assert torch.all(var == 0)


def test_posterior_dtype_follows_input():
    sch = NoiseSchedule.linear(50)
    x = torch.zeros(2, 1, 2, 2)
    mean, var = posterior(sch, x, x, torch.tensor([3, 4]))
    assert mean.dtype == torch.float32 and var.dtype == torch.float32
