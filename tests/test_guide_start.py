"""Starting a fill from a guide (SDEdit): the guides, where the chain starts, and the start in closed form."""

from dataclasses import replace

import pytest
import torch
from click.testing import CliRunner

from inpaint.baselines import telea
from inpaint.cli import cli
from inpaint.config import TrainConfig
from inpaint.diffusion import DiffusionConfig
from inpaint.fill import DEFAULT_SAMPLER, SamplerConfig, fill
from inpaint.guide import GUIDES, known_mean, make_guide
from inpaint.sampling import karras_timesteps, sigmas
from inpaint.schedule import NoiseSchedule
from inpaint.unet import ModelConfig, UNet

pytestmark = pytest.mark.usefixtures("one_thread")


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _image():
    x = torch.rand(2, 3, 16, 24, generator=_gen(1)) * 2 - 1
    known = torch.ones(2, 1, 16, 24, dtype=torch.bool)
    known[..., 4:12, 6:18] = False
    return x, known


def _zero_eps_model(T=50):
    """A network that predicts eps = 0: its x0 estimate is x_t / sqrt(abar_t), so a deterministic chain
    returns its start divided by sqrt(abar) of the first timestep, whatever the steps between."""
    config = TrainConfig(model=ModelConfig(method="diffusion", image_channels=3, width=8),
                         diffusion=DiffusionConfig(timesteps=T), crop=16, batch=4)
    model = UNet(config.model, generator=_gen(0)).eval()
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    return config, model


def test_known_mean_fills_the_hole_with_the_mean_colour_of_the_known_pixels():
    x, known = _image()
    guide = known_mean(x, known)
    assert torch.equal(guide[known.expand_as(x)], x[known.expand_as(x)])
    for b in range(2):
        mean = x[b][:, known[b, 0]].mean(dim=1)
        assert torch.allclose(guide[b][:, ~known[b, 0]], mean[:, None].expand(3, 96), atol=1e-6)
    with pytest.raises(ValueError, match="no known pixel"):
        known_mean(x, torch.zeros_like(known))


def test_make_guide_is_none_for_noise_and_a_classical_fill_with_the_known_pixels_otherwise():
    x, known = _image()
    assert make_guide("noise", x, known) is None
    guide = make_guide("telea", x, known)
    assert torch.equal(guide, torch.where(known, x, telea(x, known)))
    assert set(GUIDES) >= {"noise", "mean", "patchmatch"}
    with pytest.raises(ValueError, match="start must be one of"):
        make_guide("lama", x, known)


def test_strength_sets_the_first_timestep_and_one_keeps_the_samplers_start():
    schedule = NoiseSchedule.cosine(400)
    assert SamplerConfig(start="mean", strength=1.0).resolved("diffusion").timesteps(schedule) == \
        SamplerConfig(start="noise").resolved("diffusion").timesteps(schedule)
    assert SamplerConfig(start="mean").resolved("diffusion").strength == DEFAULT_SAMPLER.strength
    half = SamplerConfig(start="patchmatch", strength=0.5).resolved("diffusion")
    ts = half.timesteps(schedule)
    assert ts[0] == round(0.5 * 399) and len(ts) == DEFAULT_SAMPLER.steps and ts[-1] == 0
    assert ts == karras_timesteps(schedule, DEFAULT_SAMPLER.steps, start=200)
    # the Karras grid from that start: its first level is the start's, its spacing the usual rho
    assert float(sigmas(schedule)[ts[0]]) < 10
    strided = SamplerConfig("ddim", 10, strength=0.25).timesteps(schedule)
    assert strided[0] == round(0.25 * 399) and len(strided) == 10
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="strength"):
            SamplerConfig(strength=bad)
    with pytest.raises(ValueError, match="start must be one of"):
        SamplerConfig(start="regression")


def test_a_guided_chain_starts_from_the_guide_noised_to_its_first_timestep():
    """With eps = 0 and DDIM at eta = 0 the fill is x_t0 / sqrt(abar_t0) = guide + sigma_t0 z, in closed form."""
    config, model = _zero_eps_model()
    schedule = config.diffusion.noise_schedule()
    x, known = _image()
    guide = torch.rand(x.shape, generator=_gen(5)) * 1.6 - 0.8
    sampler = SamplerConfig("ddim", 5, strength=0.3)
    out = fill(model, config, x, known, sampler=sampler, guide=guide, generator=_gen(7))[0]
    t0 = sampler.timesteps(schedule)[0]
    assert t0 == round(0.3 * 49)
    z = torch.randn(x.shape, generator=_gen(7))  # the noise that the sampler draws first
    expected = torch.where(known, x, (guide + float(sigmas(schedule)[t0]) * z).clamp(-1, 1))
    assert torch.allclose(out, expected, atol=1e-4)
    # a smaller strength keeps more of the guide; the known pixels are exact either way
    far = fill(model, config, x, known, sampler=SamplerConfig("ddim", 5, strength=0.9), guide=guide,
               generator=_gen(7))[0]
    hole = ~known.expand_as(x)
    assert (out - guide)[hole].abs().mean() < (far - guide)[hole].abs().mean()
    assert torch.equal(far[~hole], x[~hole])


def test_a_named_start_builds_its_guide_and_noise_is_the_fill_of_before():
    config, model = _zero_eps_model()
    x, known = _image()
    plain = fill(model, config, x, known, sampler=SamplerConfig("ddim", 5), generator=_gen(3))
    named = fill(model, config, x, known, sampler=SamplerConfig("ddim", 5, start="mean", strength=0.3),
                 generator=_gen(3))
    given = fill(model, config, x, known, sampler=SamplerConfig("ddim", 5, strength=0.3),
                 guide=known_mean(x, known), generator=_gen(3))
    assert torch.equal(named, given) and not torch.equal(named, plain)
    # the default starts from PatchMatch; start='noise' alone is the default sampler from pure noise
    default = fill(model, config, x, known, generator=_gen(3))
    explicit = replace(DEFAULT_SAMPLER, start="patchmatch", strength=0.4)
    assert torch.equal(default, fill(model, config, x, known, sampler=explicit, generator=_gen(3)))
    noise = fill(model, config, x, known, sampler=SamplerConfig(start="noise"), generator=_gen(3))
    assert torch.equal(noise, fill(model, config, x, known, sampler=replace(DEFAULT_SAMPLER, start="noise", strength=1.0),
                                   generator=_gen(3)))
    assert not torch.equal(noise, default)
    assert SamplerConfig(start="noise").resolved("diffusion").timesteps(config.diffusion.noise_schedule())[0] > \
        SamplerConfig().resolved("diffusion").timesteps(config.diffusion.noise_schedule())[0]


def test_guide_errors_say_what_to_give():
    config, model = _zero_eps_model()
    x, known = _image()
    with pytest.raises(ValueError, match="give start"):
        fill(model, config, x, known, sampler=SamplerConfig(start="noise", strength=0.5))
    with pytest.raises(ValueError, match="give start"):
        fill(model, config, x, known, sampler=SamplerConfig("ddim", 5, strength=0.5))  # a named sampler: noise
    with pytest.raises(ValueError, match="two guides"):
        fill(model, config, x, known, sampler=SamplerConfig(start="mean"), guide=x)
    with pytest.raises(ValueError, match="the guide is"):
        fill(model, config, x, known, guide=x[:, :, :8])
    bad = x.clone()
    bad[~known.expand_as(x)] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        fill(model, config, x, known, guide=bad)


def test_cli_start_names_match_the_library_and_strength_needs_a_start(tmp_path):
    from inpaint.cli.sampler_options import DEFAULT_START, DEFAULT_STEPS, DEFAULT_STRENGTH, REPAINT_STEPS, START_NAMES
    from inpaint.fill import REPAINT_SAMPLER

    assert START_NAMES == GUIDES and (DEFAULT_START, DEFAULT_STRENGTH, DEFAULT_STEPS) == (
        DEFAULT_SAMPLER.start, DEFAULT_SAMPLER.strength, DEFAULT_SAMPLER.steps)
    assert REPAINT_STEPS == REPAINT_SAMPLER.steps
    from inpaint.cli.sampler_options import DEFAULT_ETA, DEFAULT_JUMP_LENGTH, DEFAULT_JUMP_N_SAMPLE, DEFAULT_MARGIN
    from inpaint.windows import MARGIN

    assert DEFAULT_MARGIN == MARGIN
    assert (DEFAULT_ETA, DEFAULT_JUMP_LENGTH, DEFAULT_JUMP_N_SAMPLE) == (
        SamplerConfig.eta, SamplerConfig.jump_length, SamplerConfig.jump_n_sample)
    result = CliRunner().invoke(cli, ["fill", "x.png", "--checkpoint", "cork", "--out", str(tmp_path / "o.png"),
                                      "--start", "noise", "--strength", "0.5"])
    assert result.exit_code == 2 and "--start" in result.output
    result = CliRunner().invoke(cli, ["fill", "x.png", "--checkpoint", "cork", "--out", str(tmp_path / "o.png"),
                                      "--sampler", "ddim", "--strength", "0.5"])
    assert result.exit_code == 2 and "--start" in result.output
    result = CliRunner().invoke(cli, ["restore", "x.png", "--mask", "m.png", "--out", str(tmp_path / "o.png"),
                                      "--start", "noise", "--strength", "0.5"])
    assert result.exit_code == 2 and "--start" in result.output


def test_train_strength_draws_only_the_interval_and_its_model_fills_only_from_a_guide():
    from inpaint.diffusion import diffusion_loss, timestep_probabilities

    schedule = NoiseSchedule.cosine(50)
    for levels in ("uniform", "lognormal"):
        p = timestep_probabilities(schedule, DiffusionConfig(timesteps=50, noise_levels=levels, train_strength=0.4))
        top = round(0.4 * 49)
        assert p[top + 1:].sum() == 0 and torch.all(p[: top + 1] > 0) and float(p.sum()) == pytest.approx(1.0)
    assert DiffusionConfig(timesteps=50).top_timestep == 49
    with pytest.raises(ValueError, match="train_strength"):
        DiffusionConfig(train_strength=0)
    # the loss draws its timesteps from the interval: a network that records what it is shown
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, inputs, t):
            seen.append(t.clone())
            return inputs[:, :3] * 0

    x = torch.rand(64, 3, 8, 8, generator=_gen(0)) * 2 - 1
    config = DiffusionConfig(timesteps=50, train_strength=0.4)
    diffusion_loss(Spy(), x, None, schedule, config, _gen(1))
    assert int(seen[0].max()) <= config.top_timestep and int(seen[0].max()) > 5
    # its fills start from a guide at a strength no higher than the trained one
    model_config, model = _zero_eps_model()
    model_config = TrainConfig(model=model_config.model, diffusion=replace(model_config.diffusion, train_strength=0.4),
                               crop=16, batch=4)
    image, known = _image()
    with pytest.raises(ValueError, match="learned timesteps up to 20"):
        fill(model, model_config, image, known, sampler=SamplerConfig(start="noise"), generator=_gen(0))
    with pytest.raises(ValueError, match="learned timesteps up to 20"):
        fill(model, model_config, image, known, sampler=SamplerConfig(strength=0.6), generator=_gen(0))
    out = fill(model, model_config, image, known, sampler=SamplerConfig(start="mean", strength=0.4), generator=_gen(0))
    assert torch.equal(out[0][known.expand_as(image)], image[known.expand_as(image)])
