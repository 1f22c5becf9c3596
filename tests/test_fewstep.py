"""Tests of the few-step samplers: the Karras grid and the start of a chain, the analytic
variance of ancestral steps, DPM-Solver++(2M) and its SDE variant, each against the exact
denoiser of Gaussian data; RePaint on the new grids; robust ends of ``fill``.
"""

import math

import pytest
import torch

from inpaint.config import TrainConfig
from inpaint.diffusion import DiffusionConfig
from inpaint.dpm_solver import sample_dpmpp_2m
from inpaint.fill import DEFAULT_SAMPLER, SamplerConfig, fill
from inpaint.sampling import (
    karras_timesteps, sample_ddim, sample_ddpm, sample_repaint, sigmas, start_timestep, strided_timesteps, x0_variance,
)
from inpaint.schedule import NoiseSchedule
from inpaint.unet import ModelConfig, UNet
from test_sampling import Recorder, _abar, _gen, _image_batch, _point, gaussian_denoiser, mixing_denoiser

F64 = torch.float64
pytestmark = pytest.mark.usefixtures("one_thread")
SCHEDULES = [NoiseSchedule.cosine(400), NoiseSchedule.linear(1000)]


# --- grids ------------------------------------------------------------------------------


@pytest.mark.parametrize("sch", SCHEDULES, ids=lambda s: s.name)
@pytest.mark.parametrize("sigma_max", [None, 80.0, 10.0, 1.0])
def test_start_timestep_is_the_noisiest_step_below_sigma_max(sch, sigma_max):
    t = start_timestep(sch, sigma_max)
    sig = sigmas(sch)
    assert bool((sig[1:] > sig[:-1]).all())  # sigma increases with t
    if sigma_max is None:
        assert t == sch.T - 1
    else:
        assert sig[t] <= sigma_max and (t == sch.T - 1 or sig[t + 1] > sigma_max)


def test_start_timestep_skips_the_zero_snr_end_of_the_cosine_schedule():
    sch = NoiseSchedule.cosine(400)
    assert sigmas(sch)[-1] > 8000  # abar(T-1) = 1.5e-8 after the 0.999 clip
    assert start_timestep(sch, 10.0) < 399
    assert start_timestep(sch, 1e-6) == 0
    with pytest.raises(ValueError):
        start_timestep(sch, 0.0)


@pytest.mark.parametrize("sch", SCHEDULES, ids=lambda s: s.name)
@pytest.mark.parametrize("steps", [1, 2, 3, 5, 10, 25, 50, 100, 374])
@pytest.mark.parametrize("rho", [1.0, 7.0])
def test_karras_timesteps(sch, steps, rho):
    ts = karras_timesteps(sch, steps, rho=rho, sigma_max=10.0)
    start = start_timestep(sch, 10.0)
    assert len(ts) == steps and ts[0] == start and all(isinstance(t, int) for t in ts)
    assert all(a > b for a, b in zip(ts, ts[1:])) and ts[-1] == (0 if steps > 1 else start)
    if steps < 10:
        # no collisions here: each timestep is the nearest, in log sigma, to Karras et al.'s eq. 5
        log_sig = sigmas(sch).log()
        hi, lo = log_sig[start].exp() ** (1 / rho), log_sig[0].exp() ** (1 / rho)
        for i, t in enumerate(ts):
            target = math.log((hi + i / max(steps - 1, 1) * (lo - hi)) ** rho)
            nearest = (log_sig[: start + 1] - target).abs()
            assert nearest[t] <= nearest.min() + 1e-12


def test_karras_rho7_puts_more_steps_at_low_noise_than_the_strided_grid():
    sch = NoiseSchedule.cosine(400)
    k, s = karras_timesteps(sch, 25, sigma_max=10.0), strided_timesteps(400, 25, start=start_timestep(sch, 10.0))
    low = lambda ts: sum(sigmas(sch)[t] < 0.1 for t in ts)  # noqa: E731
    assert low(k) >= 3 * low(s) >= 6


def test_karras_timesteps_edges():
    sch = NoiseSchedule.cosine(400)
    assert karras_timesteps(sch, sigma_max=10.0) == list(range(start_timestep(sch, 10.0), -1, -1))
    assert len(karras_timesteps(sch, 25)) == 25  # from the zero-SNR end too, crowded at its top
    for bad in (dict(steps=0), dict(steps=375, sigma_max=10.0), dict(steps=5, rho=0.0)):
        with pytest.raises(ValueError):
            karras_timesteps(sch, **bad)


def test_strided_timesteps_from_a_start():
    assert strided_timesteps(400, 3, start=200) == [200, 100, 0]
    assert strided_timesteps(400, None, start=3) == [3, 2, 1, 0]
    for bad in (dict(steps=5, start=3), dict(steps=2, start=400), dict(steps=2, start=-1)):
        with pytest.raises(ValueError):
            strided_timesteps(400, **bad)


# --- samplers on Gaussian data ----------------------------------------------------------

MU, S = 0.2, 0.5


def _gaussian_run(sampler, sch, ts, n=16, **kwargs):
    """Sample data x0 ~ N(MU, S^2) per pixel with its exact denoiser, starting from the exact
    marginal q(x_t) at the grid's first step; returns the output and its standard errors."""
    a = _abar(sch, ts[0])
    g = _gen(30)
    z = torch.randn((n, 1, 100, 100), generator=g, dtype=F64)
    x_T = math.sqrt(a) * MU + math.sqrt(a * S**2 + 1 - a) * z
    x = sampler(gaussian_denoiser(sch, MU, S), x_T, sch, timesteps=ts, clip=False, generator=g, **kwargs)
    N = x.numel()
    return x, S / math.sqrt(N), math.sqrt(2 / N)


def _check_moments(x, se_m, se_v, bias):
    """Mean within 5 standard errors of MU; variance within ``bias`` (relative) + 5 SE of S^2."""
    assert abs(x.mean().item() - MU) < 5 * se_m
    assert abs(x.var().item() / S**2 - 1) < bias + 5 * se_v, x.var().item() / S**2 - 1


@pytest.mark.parametrize("sch", SCHEDULES, ids=lambda s: s.name)
@pytest.mark.parametrize("steps", [10, 25])
def test_analytic_variance_samples_gaussian_data_exactly_on_few_steps(sch, steps):
    """For Gaussian data the reverse transition is Gaussian with variance beta-tilde +
    c0^2 Var(x0 | x_t): with the analytic variance, ancestral sampling is exact on any grid,
    up to the Monte Carlo error of its variance estimate (N = 160 000 pixels, 5 SE).  The
    posterior variance alone (beta-tilde) loses a quarter to a half of the variance here."""
    ts = karras_timesteps(sch, steps, sigma_max=10.0)
    x, se_m, se_v = _gaussian_run(sample_ddpm, sch, ts, variance="analytic")
    _check_moments(x, se_m, se_v, bias=0.0)
    y, _, _ = _gaussian_run(sample_ddpm, sch, ts, variance="posterior")
    assert y.var().item() / S**2 < 0.8


def test_analytic_variance_with_the_data_variance_is_exact_on_five_steps():
    """With very few steps the variance estimate at high noise is too noisy; bounding it by
    the Gaussian posterior variance for the data's variance (which is exact here) fixes it."""
    sch = NoiseSchedule.cosine(400)
    x, se_m, se_v = _gaussian_run(sample_ddpm, sch, karras_timesteps(sch, 5, sigma_max=10.0), variance="analytic",
                                  data_var=S**2)
    _check_moments(x, se_m, se_v, bias=0.02)


def test_x0_variance_of_gaussian_data():
    """Var(x0 | x_t) = S^2 (1 - a) / (a S^2 + 1 - a) for Gaussian data, from the noise norm alone."""
    sch = NoiseSchedule.cosine(400)
    den = gaussian_denoiser(sch, MU, S)
    for t in (20, 100, 200):
        a = _abar(sch, t)
        x_t = math.sqrt(a) * MU + math.sqrt(a * S**2 + 1 - a) * torch.randn((4, 1, 200, 200), generator=_gen(t), dtype=F64)
        v = x0_variance(sch, den(x_t, torch.full((4,), t)), x_t, t)
        exact = S**2 * (1 - a) / (a * S**2 + 1 - a)
        assert (v / exact - 1).abs().max() < 5 * math.sqrt(2 / 40000) * (1 - a) / a / exact + 1e-9
        hole = torch.zeros(4, 1, 200, 200, dtype=torch.bool)
        hole[..., :100] = True
        vh = x0_variance(sch, den(x_t, torch.full((4,), t)), x_t, t, hole=hole, data_var=0.01)
        assert bool((vh <= 0.01 * (1 - a) / (a * 0.01 + 1 - a) + 1e-12).all())


@pytest.mark.parametrize("eta, steps, bias", [(0.0, 25, 0.05), (0.0, 50, 0.02), (1.0, 25, 0.07), (1.0, 50, 0.03)])
def test_dpmpp_2m_samples_gaussian_data(eta, steps, bias):
    """DPM-Solver++(2M) (eta 0) and 2M SDE (eta 1) on the Karras grid: the variance's
    discretization error, measured at 0.022 / 0.007 (2M) and 0.047 / 0.012 (2M SDE) for 25 /
    50 steps, stays below ``bias``; N = 160 000 pixels, 5 SE."""
    sch = NoiseSchedule.cosine(400)
    ts = karras_timesteps(sch, steps, sigma_max=10.0)
    x, se_m, se_v = _gaussian_run(sample_dpmpp_2m, sch, ts, eta=eta)
    _check_moments(x, se_m, se_v, bias)


@pytest.mark.parametrize("eta", [0.1, 0.3])
def test_ddim_with_small_eta_samples_gaussian_data(eta):
    """DDIM with a small eta on 250 strided steps: within 3 % of the variance, like eta = 0."""
    sch = NoiseSchedule.linear(1000)
    x, se_m, se_v = _gaussian_run(sample_ddim, sch, strided_timesteps(1000, 250), n=4, eta=eta)
    _check_moments(x, se_m, se_v, bias=0.03)


@pytest.mark.parametrize("steps", [None, 9])
def test_dpmpp_2m_on_one_point_dataset_is_ddim_and_its_sde_is_ddpm(steps):
    """For the data set {p} the data estimate never changes, the second-order term vanishes,
    and the first-order steps are DDIM(eta=0) and the ancestral step (Lu et al. 2022)."""
    sch = NoiseSchedule.cosine(40)
    ts = karras_timesteps(sch, steps, sigma_max=20.0)
    x_T = torch.randn((3, 1, 2, 2), generator=_gen(31), dtype=F64)
    den = lambda x, t: _point().expand_as(x)  # noqa: E731
    a = sample_dpmpp_2m(den, x_T, sch, timesteps=ts, eta=0.0)
    b = sample_ddim(den, x_T, sch, timesteps=ts, eta=0.0)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    c = sample_dpmpp_2m(den, x_T, sch, timesteps=ts, eta=1.0, generator=_gen(32))
    rec = Recorder(den)
    d = sample_ddpm(rec, x_T, sch, timesteps=ts, generator=_gen(32))
    torch.testing.assert_close(c, d, rtol=0, atol=1e-12)
    assert [t for t, _ in rec.calls] == ts


def test_dpmpp_2m_keeps_known_pixels_and_reproduces():
    sch = NoiseSchedule.cosine(30)
    den = mixing_denoiser(sch)
    x_T, x_known, known = _image_batch(seed=33)
    ts = karras_timesteps(sch, 8)
    for eta in (0.0, 1.0):
        out = sample_dpmpp_2m(den, x_T, sch, timesteps=ts, eta=eta, known=known, x_known=x_known, generator=_gen(34))
        again = sample_dpmpp_2m(den, x_T, sch, timesteps=ts, eta=eta, known=known, x_known=x_known, generator=_gen(34))
        k = known.expand_as(out)
        assert torch.equal(out[k], x_known[k]) and torch.equal(out, again) and torch.isfinite(out).all()
    with pytest.raises(ValueError):
        sample_dpmpp_2m(den, x_T, sch, eta=1.5)


def test_analytic_variance_keeps_known_pixels_and_rejects_unknown_variance():
    sch = NoiseSchedule.cosine(30)
    x_T, x_known, known = _image_batch(seed=35)
    out = sample_ddpm(mixing_denoiser(sch), x_T, sch, timesteps=karras_timesteps(sch, 6), known=known,
                      x_known=x_known, variance="analytic", generator=_gen(36))
    k = known.expand_as(out)
    assert torch.equal(out[k], x_known[k]) and torch.isfinite(out).all()
    with pytest.raises(ValueError):
        sample_ddpm(mixing_denoiser(sch), x_T, sch, variance="beta")


@pytest.mark.parametrize("steps", [12, 6])
def test_repaint_walks_the_forward_marginals_on_the_karras_grid(steps):
    """RePaint's reverse steps, known-region noising and re-noising jumps are exact for the
    data set {p} on any grid: every x_t the denoiser sees is distributed as q(x_t | p)."""
    T, N = 50, 8000
    sch = NoiseSchedule.cosine(T)
    ts = karras_timesteps(sch, steps, sigma_max=20.0)
    p = _point()
    g = _gen(37)
    a = _abar(sch, ts[0])
    x_T = math.sqrt(a) * p + math.sqrt(1 - a) * torch.randn((N, 1, 2, 2), generator=g, dtype=F64)
    known = torch.tensor([[[[True, False], [False, False]]]]).expand(N, -1, -1, -1)
    rec = Recorder(lambda x, t: p.expand_as(x))
    out = sample_repaint(rec, x_T, sch, known=known, x_known=p.expand_as(x_T), timesteps=ts, jump_length=3,
                         jump_n_sample=3, generator=g)
    torch.testing.assert_close(out, p.expand_as(out), rtol=0, atol=1e-12)
    assert len(rec.calls) > len(ts)
    for t, x in rec.calls:
        a = _abar(sch, t)
        assert (x.mean(0) - math.sqrt(a) * p[0]).abs().max() < 5 * math.sqrt((1 - a) / N), t
        assert (x.var(0) / (1 - a) - 1).abs().max() < 5 * math.sqrt(2 / N), t


# --- fill: the default sampler and robust ends ------------------------------------------


def _fill_setup(method="diffusion", T=400):
    config = TrainConfig(model=ModelConfig(method=method, image_channels=3, width=8), diffusion=DiffusionConfig(timesteps=T))
    model = UNet(config.model, generator=_gen(40)).eval()
    g = _gen(41)
    x_known = torch.rand(2, 3, 16, 24, generator=g) * 2 - 1
    known = torch.ones(2, 1, 16, 24, dtype=torch.bool)
    known[..., 4:12, 6:18] = False
    return config, model, x_known, known


NEW_SAMPLERS = [
    SamplerConfig(steps=3),
    SamplerConfig("ddpm", 5, grid="karras", sigma_max=10.0, variance="analytic"),
    SamplerConfig("ddim", 5, eta=0.2, grid="karras", sigma_max=10.0),
    SamplerConfig("dpmpp-2m", 5, grid="karras", sigma_max=10.0),
    SamplerConfig("dpmpp-2m-sde", 5, grid="karras", sigma_max=10.0),
    SamplerConfig("ddpm", 5, sigma_max=10.0),
    SamplerConfig("pc", 5, grid="karras", sigma_max=10.0, corrector_steps=1),
]


@pytest.mark.parametrize("sampler", NEW_SAMPLERS)
def test_fill_with_the_new_samplers_keeps_known_pixels(sampler):
    config, model, x_known, known = _fill_setup()
    calls = []
    out = fill(model, config, x_known, known, sampler=sampler, samples=2, generator=_gen(42),
               progress=lambda d, n: calls.append((d, n)))
    k = known.expand_as(x_known)
    assert all(torch.equal(o[k], x_known[k]) for o in out) and torch.isfinite(out).all()
    assert (out[0] - out[1]).abs().max() > 1e-4 or sampler.sampler == "dpmpp-2m"
    calls_per_fill = 2 * sampler.steps - 1 if sampler.sampler == "pc" else sampler.resolved("diffusion").steps
    assert calls[-1] == (calls_per_fill,) * 2


def test_fill_ignores_non_finite_hole_pixels():
    config, model, x_known, known = _fill_setup()
    clean = fill(model, config, x_known, known, sampler=SamplerConfig(steps=3), generator=_gen(43))
    dirty = x_known.clone()
    dirty[:, 0, 5, 7], dirty[:, 1, 8, 10], dirty[:, 2, 11, 17] = float("nan"), float("inf"), -float("inf")
    assert not known[0, 0, 5, 7]
    out = fill(model, config, dirty, known, sampler=SamplerConfig(steps=3), generator=_gen(43))
    assert torch.equal(out, clean)
    dirty[:, 0, 0, 0] = float("nan")  # at a known pixel: an error, not a guess
    with pytest.raises(ValueError, match="non-finite"):
        fill(model, config, dirty, known)


def test_default_sampler_resolves_per_method():
    assert SamplerConfig().resolved("diffusion") == DEFAULT_SAMPLER
    assert SamplerConfig(steps=7).resolved("diffusion").steps == 7
    assert SamplerConfig().resolved("repaint").sampler == "repaint"
    assert SamplerConfig("ddpm").resolved("diffusion") == SamplerConfig("ddpm", start="noise", strength=1.0)
    for bad in (dict(grid="log"), dict(variance="beta"), dict(rho=0.0), dict(sigma_max=-1.0), dict(eta=-0.1)):
        with pytest.raises(ValueError):
            SamplerConfig(**bad)


@pytest.mark.parametrize("steps", [1, 2])
def test_one_or_two_steps_from_a_meaningful_start(steps):
    """With the zero-SNR end skipped, one step returns the x0 estimate at sigma_max, not the
    eps error times 8000 clipped to +-1."""
    sch = NoiseSchedule.cosine(400)
    ts = SamplerConfig(steps=steps, start="noise").resolved("diffusion").timesteps(sch)
    assert ts[0] == start_timestep(sch, DEFAULT_SAMPLER.sigma_max) and sigmas(sch)[ts[0]] <= 10
    guided = SamplerConfig(steps=steps).resolved("diffusion").timesteps(sch)  # the default: lower, from a guide
    assert guided[0] == round(DEFAULT_SAMPLER.strength * 399) < ts[0]
    # an eps model off by 1 % of the noise: the one-step x0 error is sigma times that
    eps_err = 0.01
    assert sigmas(sch)[ts[0]] * eps_err < 0.1 < sigmas(sch)[-1] * eps_err


def test_known_variance_is_the_per_channel_variance_of_the_known_pixels():
    from inpaint.fill import known_variance

    g = _gen(44)
    x = torch.randn(2, 3, 16, 16, generator=g) * torch.tensor([0.1, 0.2, 0.3])[:, None, None] + torch.tensor([1.0, -1.0, 0.0])[:, None, None]
    known = torch.rand(2, 1, 16, 16, generator=g) < 0.5
    known[1] = False
    known[1, 0, 0, 0] = True  # one known pixel: no estimate, the [-1, 1] bound
    v = known_variance(x, known)
    k = known[0, 0]
    expected = torch.stack([x[0, c][k].double().var(unbiased=False) for c in range(3)]).mean()
    torch.testing.assert_close(v[0], expected)
    assert v[1] == 1.0


def test_langevin_corrector_restores_the_variance_that_strided_ancestral_steps_lose():
    """Predictor-corrector on Gaussian data: the posterior variance alone loses 40 % of S^2 on
    10 strided steps; one Langevin step per level (exact score, snr 0.16) brings back about a
    third of that (measured: variance 0.59 -> 0.72 S^2; 0.94 with snr 0.3)."""
    from inpaint.sampling import sample_pc

    sch = NoiseSchedule.cosine(400)
    ts = strided_timesteps(400, 10, start=start_timestep(sch, 10.0))
    plain, _, _ = _gaussian_run(sample_ddpm, sch, ts, n=4)
    pc, se_m, _ = _gaussian_run(sample_pc, sch, ts, n=4, corrector_steps=1)
    assert abs(pc.mean().item() - MU) < 5 * se_m
    assert abs(pc.var().item() / S**2 - 1) < 0.8 * abs(plain.var().item() / S**2 - 1)
    assert pc.var().item() < S**2  # toward the truth, not past it


def test_pc_keeps_known_pixels_and_reports_every_call():
    from inpaint.sampling import sample_pc

    sch = NoiseSchedule.cosine(30)
    x_T, x_known, known = _image_batch(seed=45)
    calls = []
    out = sample_pc(mixing_denoiser(sch), x_T, sch, timesteps=karras_timesteps(sch, 6), corrector_steps=2, known=known,
                    x_known=x_known, generator=_gen(46), progress=lambda d, n: calls.append((d, n)))
    k = known.expand_as(out)
    assert torch.equal(out[k], x_known[k]) and torch.isfinite(out).all()
    assert calls == [(i, 6 + 2 * 5) for i in range(1, 17)]


def test_a_short_chain_takes_every_timestep_from_the_start():
    """The default's 25 steps on a model with T = 20: every timestep from the start down to 0."""
    sch = NoiseSchedule.cosine(20)
    start = start_timestep(sch, DEFAULT_SAMPLER.sigma_max)
    assert SamplerConfig(start="noise").resolved("diffusion").timesteps(sch) == list(range(start, -1, -1))
    guided = round(DEFAULT_SAMPLER.strength * 19)  # the default starts lower, from PatchMatch's fill
    assert SamplerConfig().resolved("diffusion").timesteps(sch) == list(range(guided, -1, -1))
    assert SamplerConfig("ddpm", 50, sigma_max=10.0).timesteps(sch) == list(range(start, -1, -1))
    assert SamplerConfig("ddpm").timesteps(sch) == list(range(19, -1, -1))
