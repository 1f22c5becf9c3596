"""Tests for inpaint.diffusion: parametrization round trips, min-SNR weights in x0
units, and the training loss on a network that knows the answer.
"""

import math

import pytest
import torch
from torch import nn

from inpaint.diffusion import (
    PREDICTIONS,
    DiffusionConfig,
    loss_weight,
    diffusion_loss,
    masked_mean,
    to_eps,
    to_x0,
    target,
)
from inpaint.schedule import NoiseSchedule

F64 = torch.float64


def _batch(T=1000, seed=0, name="linear"):
    """x0, eps, abar and x_t for timesteps spread over the whole schedule, ends included."""
    sch = NoiseSchedule.from_name(name, T)
    g = torch.Generator().manual_seed(seed)
    t = torch.tensor([0, 1, 10, T // 4, T // 2, 3 * T // 4, T - 2, T - 1])
    x0 = torch.rand(len(t), 3, 5, 6, generator=g, dtype=F64) * 2 - 1
    eps = torch.randn(x0.shape, generator=g, dtype=F64)
    abar = sch.alphas_cumprod[t]
    a = abar[:, None, None, None]
    x_t = a.sqrt() * x0 + (1 - a).sqrt() * eps
    return sch, t, x0, eps, abar, x_t


# --- parametrizations --------------------------------------------------------------------


def test_targets_are_the_named_quantities():
    _, _, x0, eps, abar, _ = _batch()
    a = abar[:, None, None, None]
    assert torch.equal(target(x0, eps, abar, "x0"), x0)
    assert torch.equal(target(x0, eps, abar, "eps"), eps)
    # Salimans and Ho (2022): v = sqrt(abar) eps - sqrt(1 - abar) x0
    torch.testing.assert_close(target(x0, eps, abar, "v"), a.sqrt() * eps - (1 - a).sqrt() * x0, rtol=0, atol=1e-15)


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_round_trip_to_x0_and_eps(prediction, name):
    _, _, x0, eps, abar, x_t = _batch(name=name)
    out = target(x0, eps, abar, prediction)
    x0_hat = to_x0(out, x_t, abar, prediction)
    assert x0_hat.dtype == F64
    torch.testing.assert_close(x0_hat, x0, rtol=0, atol=1e-10)
    torch.testing.assert_close(to_eps(x0_hat, x_t, abar), eps, rtol=0, atol=1e-10)
    # and back to the network's quantity
    torch.testing.assert_close(target(x0_hat, to_eps(x0_hat, x_t, abar), abar, prediction), out, rtol=0, atol=1e-10)


def test_to_x0_is_affine_in_the_output_with_the_right_slope():
    """A unit error in the network's output moves x0 by -sqrt((1 - a) / a) (eps), -sqrt(1 - a) (v), 1 (x0)."""
    _, _, x0, eps, abar, x_t = _batch()
    a = abar[:, None, None, None]
    slopes = {"x0": torch.ones_like(a), "eps": -((1 - a) / a).sqrt(), "v": -(1 - a).sqrt()}
    for p, slope in slopes.items():
        out = target(x0, eps, abar, p)
        moved = to_x0(out + 1e-3, x_t, abar, p) - to_x0(out, x_t, abar, p)
        torch.testing.assert_close(moved, (1e-3 * slope).expand_as(moved), rtol=1e-6, atol=1e-12)


# --- min-SNR weighting -------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [1.0, 5.0, 20.0])
def test_min_snr_weight_is_min_snr_gamma_in_x0_units(gamma):
    sch = NoiseSchedule.linear(1000)
    snr = sch.snr(torch.arange(1000))
    assert snr.max() > 20 and snr.min() < 1  # both sides of every gamma are exercised
    expected = torch.minimum(snr, torch.full_like(snr, gamma))
    w = {p: loss_weight(snr, p, "min-snr", gamma) for p in PREDICTIONS}
    torch.testing.assert_close(w["x0"], expected, rtol=1e-12, atol=0)
    torch.testing.assert_close(w["eps"] * snr, expected, rtol=1e-12, atol=0)
    torch.testing.assert_close(w["v"] * (snr + 1), expected, rtol=1e-12, atol=0)


def test_min_snr_weights_equalize_the_squared_errors():
    """For one wrong x0 estimate the weighted squared errors of x0, eps and v agree,
    each equal to min(SNR, gamma) |x0 error|^2."""
    gamma = 5.0
    _, _, x0, eps, abar, x_t = _batch()
    x0_bad = x0 + 0.1 * torch.randn(x0.shape, generator=torch.Generator().manual_seed(9), dtype=F64)
    snr = abar / (1 - abar)
    sq = {}
    for p in PREDICTIONS:
        good = target(x0, eps, abar, p)
        bad = target(x0_bad, to_eps(x0_bad, x_t, abar), abar, p)
        sq[p] = loss_weight(snr, p, "min-snr", gamma) * ((bad - good) ** 2).flatten(1).mean(1)
    ref = snr.clamp(max=gamma) * ((x0_bad - x0) ** 2).flatten(1).mean(1)
    for p in PREDICTIONS:
        torch.testing.assert_close(sq[p], ref, rtol=1e-8, atol=0)


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_uniform_weight_is_one(prediction):
    snr = NoiseSchedule.cosine(100).snr(torch.arange(100))
    assert torch.equal(loss_weight(snr, prediction, "uniform"), torch.ones_like(snr))


@pytest.mark.parametrize(
    "kwargs",
    [dict(schedule="quad"), dict(prediction="score"), dict(weighting="snr"), dict(timesteps=1), dict(snr_gamma=0.0)],
)
def test_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        DiffusionConfig(**kwargs)


# --- the loss ---------------------------------------------------------------------------


class ExactModel(nn.Module):
    """A stand-in network that reads x_t from its input and returns target + offset.

    It knows the clean batch x0, so it can recover eps = (x_t - sqrt(a) x0) / sqrt(1 - a)
    exactly; ``offset`` (a tensor like x0) is added to the target; the timesteps it was
    called with are recorded.
    """

    def __init__(self, x0, schedule, prediction, conditional, offset=None):
        super().__init__()
        self.x0, self.schedule, self.prediction, self.conditional = x0, schedule, prediction, conditional
        self.offset = torch.zeros_like(x0) if offset is None else offset
        self.t = None

    def forward(self, inp, t):
        C = self.x0.shape[1]
        assert inp.shape[1] == (2 * C + 1 if self.conditional else C)
        x_t = inp[:, C : 2 * C] if self.conditional else inp
        self.t = t.clone()
        a = self.schedule.alphas_cumprod[t][:, None, None, None]
        eps = (x_t - a.sqrt() * self.x0) / (1 - a).sqrt()
        exact = {"x0": self.x0, "eps": eps, "v": a.sqrt() * eps - (1 - a).sqrt() * self.x0}[self.prediction]
        return exact + self.offset


def _loss_setup(prediction, weighting="uniform", T=200):
    sch = NoiseSchedule.linear(T)
    g = torch.Generator().manual_seed(10)
    x0 = torch.rand(6, 2, 8, 8, generator=g, dtype=F64) * 2 - 1
    known = torch.rand(6, 1, 8, 8, generator=g) < 0.6
    known[0] = False  # one all-hole sample
    cfg = DiffusionConfig(timesteps=T, prediction=prediction, weighting=weighting)
    offset = torch.randn(x0.shape, generator=g, dtype=F64)
    return sch, x0, known, cfg, offset


@pytest.mark.parametrize("weighting", ["uniform", "min-snr"])
@pytest.mark.parametrize("prediction", PREDICTIONS)
@pytest.mark.parametrize("conditional", [False, True])
def test_loss_is_zero_for_the_exact_target(prediction, weighting, conditional):
    sch, x0, known, cfg, _ = _loss_setup(prediction, weighting)
    model = ExactModel(x0, sch, prediction, conditional)
    loss = diffusion_loss(model, x0, known if conditional else None, sch, cfg, torch.Generator().manual_seed(0))
    assert loss.ndim == 0
    assert loss.item() < 1e-20


@pytest.mark.parametrize("weighting", ["uniform", "min-snr"])
@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_loss_without_mask_averages_every_pixel(prediction, weighting):
    sch, x0, _, cfg, offset = _loss_setup(prediction, weighting)
    model = ExactModel(x0, sch, prediction, False, offset)
    loss = diffusion_loss(model, x0, None, sch, cfg, torch.Generator().manual_seed(1))
    abar = sch.alphas_cumprod[model.t]
    snr = abar / (1 - abar)
    if weighting == "uniform":
        w = torch.ones_like(snr)
    else:
        w = snr.clamp(max=cfg.snr_gamma) / {"x0": 1, "eps": snr, "v": snr + 1}[prediction]
    expected = (w * (offset**2).mean(dim=(1, 2, 3))).mean()
    torch.testing.assert_close(loss, expected, rtol=1e-9, atol=0)


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_loss_with_mask_counts_only_the_hole(prediction):
    sch, x0, known, cfg, offset = _loss_setup(prediction)
    model = ExactModel(x0, sch, prediction, True, offset)
    loss = diffusion_loss(model, x0, known, sch, cfg, torch.Generator().manual_seed(2))
    hole = (~known).expand_as(x0)
    expected = torch.stack([(offset[b][hole[b]] ** 2).mean() for b in range(len(x0))]).mean()
    torch.testing.assert_close(loss, expected, rtol=1e-9, atol=0)
    # a wildly wrong output on known pixels changes nothing
    model.offset = torch.where(known, offset + 1e3, offset)
    again = diffusion_loss(model, x0, known, sch, cfg, torch.Generator().manual_seed(2))
    torch.testing.assert_close(again, loss, rtol=1e-12, atol=0)
    # while the same change without the mask does
    model.conditional = False
    assert diffusion_loss(model, x0, None, sch, cfg, torch.Generator().manual_seed(2)) > 1e3


def test_loss_sees_the_masked_image_and_the_mask():
    """The conditional input is (x0 with the hole zeroed, x_t, mask)."""
    sch, x0, known, cfg, _ = _loss_setup("x0")
    seen = {}

    def model(inp, t):
        seen["inp"] = inp
        return torch.zeros_like(x0)

    diffusion_loss(model, x0, known, sch, cfg, torch.Generator().manual_seed(3))
    inp = seen["inp"]
    k = known.to(F64)
    assert inp.shape == (6, 5, 8, 8)
    assert torch.equal(inp[:, :2], x0 * k)
    assert torch.equal(inp[:, 4:], k)


def test_loss_draws_t_over_the_whole_schedule():
    """t is uniform on 0..T-1: with many draws both ends appear and the mean is (T - 1) / 2."""
    T = 10
    sch = NoiseSchedule.cosine(T)
    x0 = torch.zeros(4000, 1, 1, 1, dtype=F64)
    model = ExactModel(x0, sch, "x0", False)
    diffusion_loss(model, x0, None, sch, DiffusionConfig(timesteps=T), torch.Generator().manual_seed(4))
    t = model.t
    assert int(t.min()) == 0 and int(t.max()) == T - 1
    sd = math.sqrt((T**2 - 1) / 12 / len(t))
    assert abs(t.double().mean().item() - (T - 1) / 2) < 5 * sd


def test_loss_reproducible_from_the_generator():
    sch, x0, known, cfg, offset = _loss_setup("eps", "min-snr")
    model = ExactModel(x0, sch, "eps", True, offset)
    a = diffusion_loss(model, x0, known, sch, cfg, torch.Generator().manual_seed(5))
    b = diffusion_loss(model, x0, known, sch, cfg, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_masked_mean():
    err = torch.arange(2 * 3 * 2 * 2, dtype=F64).reshape(2, 3, 2, 2)
    known = torch.tensor([[[[True, False], [True, True]]], [[[True, True], [True, True]]]])
    out = masked_mean(err, known)
    assert out[0] == err[0, :, 0, 1].mean()
    assert out[1] == 0  # no hole: nothing counts
    torch.testing.assert_close(masked_mean(err, None), err.flatten(1).mean(1))


def test_lognormal_noise_levels_follow_the_log_normal_law_and_keep_every_t():
    from inpaint.diffusion import timestep_probabilities

    config = DiffusionConfig(schedule="cosine", timesteps=1000, noise_levels="lognormal", uniform_share=0.0)
    sched = config.noise_schedule()
    p = timestep_probabilities(sched, config)
    assert p.shape == (1000,) and p.sum().item() == pytest.approx(1.0)
    abar = sched.alphas_cumprod.double()
    log_sigma = 0.5 * torch.log((1 - abar) / abar)
    mean = (p * log_sigma).sum()
    std = ((p * (log_sigma - mean) ** 2).sum()).sqrt()
    assert mean.item() == pytest.approx(-1.2, abs=0.02) and std.item() == pytest.approx(1.2, abs=0.02)
    mixed = timestep_probabilities(sched, DiffusionConfig(timesteps=1000, noise_levels="lognormal", uniform_share=0.2))
    assert (mixed >= 0.2 / 1000 - 1e-12).all()
    uniform = timestep_probabilities(sched, DiffusionConfig(timesteps=1000))
    assert torch.equal(uniform, torch.full((1000,), 1e-3, dtype=torch.float64))


def test_drawn_timesteps_follow_their_probabilities():
    from inpaint.diffusion import draw_timesteps, timestep_probabilities

    config = DiffusionConfig(timesteps=20, noise_levels="lognormal")
    p = timestep_probabilities(config.noise_schedule(), config)
    n = 200_000
    t = draw_timesteps(p, 20, n, torch.Generator().manual_seed(0))
    freq = torch.bincount(t, minlength=20).double() / n
    assert (freq - p).abs().max() < 5 * (p * (1 - p) / n).sqrt().max()
    first = draw_timesteps(None, 20, 5, torch.Generator().manual_seed(1))
    assert torch.equal(first, torch.randint(0, 20, (5,), generator=torch.Generator().manual_seed(1)))
