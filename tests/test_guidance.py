"""Condition dropout and what it buys: one conditional network that also fills unconditionally (RePaint)
and with classifier-free guidance."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from inpaint.checkpoint import load_checkpoint
from inpaint.cli import cli
from inpaint.config import TrainConfig
from inpaint.diffusion import DiffusionConfig, drop_condition, make_denoiser, masked_mean
from inpaint.fill import SamplerConfig, fill, model_denoiser
from inpaint.train import train
from inpaint.unet import ModelConfig, UNet

pytestmark = pytest.mark.usefixtures("one_thread")


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _config(cond_dropout=0.0, method="diffusion", **kw):
    return TrainConfig(model=ModelConfig(method=method, image_channels=3, width=8),
                       diffusion=DiffusionConfig(timesteps=50), crop=16, batch=4, cond_dropout=cond_dropout, **kw)


def _setup(cond_dropout=0.3):
    config = _config(cond_dropout)
    model = UNet(config.model, generator=_gen(0)).eval()
    x = torch.rand(2, 3, 16, 24, generator=_gen(1)) * 2 - 1
    known = torch.ones(2, 1, 16, 24, dtype=torch.bool)
    known[..., 4:12, 6:18] = False
    return config, model, x, known


def test_drop_condition_drops_whole_rows_with_the_given_probability():
    known = torch.rand(4000, 1, 2, 3, generator=_gen(2)) < 0.6
    g = _gen(3)
    assert drop_condition(known, 0.0, g) is known
    assert torch.equal(g.get_state(), _gen(3).get_state())  # nothing drawn: runs without dropout are unchanged
    out = drop_condition(known, 0.3, _gen(4))
    dropped = ~out.flatten(1).any(1)
    kept = ~dropped
    assert torch.equal(out[kept], known[kept])  # a kept row is untouched
    rate = dropped.float().mean().item() - (~known.flatten(1).any(1)).float().mean().item()
    assert abs(rate - 0.3) < 4 * (0.3 * 0.7 / 4000) ** 0.5, rate
    assert torch.equal(out, drop_condition(known, 0.3, _gen(4)))


def test_a_dropped_row_is_trained_on_every_pixel():
    err = torch.rand(3, 2, 4, 5, generator=_gen(5))
    torch.testing.assert_close(masked_mean(err, torch.zeros(3, 1, 4, 5, dtype=torch.bool)), err.flatten(1).mean(1))


def test_cond_dropout_is_checked_recorded_and_absent_from_older_files():
    for bad in (dict(cond_dropout=1.0), dict(cond_dropout=-0.1), dict(cond_dropout=0.1, method="regression"),
                dict(cond_dropout=0.1, method="repaint")):
        with pytest.raises(ValueError, match="cond_dropout"):
            _config(**bad)
    old = TrainConfig().to_dict()
    old.pop("cond_dropout")
    assert TrainConfig.from_dict(old).cond_dropout == 0.0
    assert not TrainConfig().unconditional and TrainConfig(cond_dropout=0.1).unconditional
    assert _config(method="repaint").unconditional


def test_training_with_dropout_differs_and_keeps_its_setting(tmp_path):
    image = torch.rand(1, 3, 32, 48, generator=_gen(6)) * 2 - 1
    plain = train(image, _config(0.0, steps=3, augment="none"))
    dropped = train(image, _config(0.5, steps=3, augment="none"), out=tmp_path / "d.pt")
    assert any(not torch.equal(a, b) for a, b in zip(plain.model.values(), dropped.model.values()))
    assert load_checkpoint(tmp_path / "d.pt").config.cond_dropout == 0.5


def test_the_unconditional_branch_is_the_network_shown_an_all_hole_mask():
    config, model, x, known = _setup()
    schedule = config.diffusion.noise_schedule()
    x_t, t = torch.randn(2, 3, 16, 24, generator=_gen(7)), torch.tensor([3, 40])
    with torch.no_grad():
        uncond = model_denoiser(model, config, x, known, SamplerConfig("repaint", 5))(x_t, t)
        other = model_denoiser(model, config, -x, ~known | True, SamplerConfig("repaint", 5))(x_t, t)
        none = torch.zeros_like(known)
        reference = make_denoiser(model, schedule, "eps", x_known=torch.zeros_like(x), known=none)(x_t, t)
        cond = make_denoiser(model, schedule, "eps", x_known=x, known=known)(x_t, t)
        guided = model_denoiser(model, config, x, known, SamplerConfig(steps=5, guidance=1.5))(x_t, t)
    torch.testing.assert_close(uncond, reference, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(other, uncond)  # the condition's values play no part
    torch.testing.assert_close(guided, 2.5 * cond - 1.5 * reference, atol=1e-5, rtol=1e-5)


def test_one_network_fills_conditionally_unconditionally_and_guided():
    config, model, x, known = _setup()
    k = known.expand_as(x)
    plain = fill(model, config, x, known, sampler=SamplerConfig(steps=5), generator=_gen(8))
    unguided = fill(model, config, x, known, sampler=SamplerConfig(steps=5, guidance=0.0), generator=_gen(8))
    assert torch.equal(plain, unguided)
    calls = []
    guided = fill(model, config, x, known, sampler=SamplerConfig(steps=5, guidance=1.5), generator=_gen(8),
                  progress=lambda d, n: calls.append((d, n)))
    repaint = fill(model, config, x, known, sampler=SamplerConfig("repaint", 5, jump_length=2, jump_n_sample=2),
                   generator=_gen(8))
    for out in (guided, repaint):
        assert torch.equal(out[0][k], x[k]) and torch.isfinite(out).all()
        assert (out - plain).abs().max() > 1e-3
    assert calls[-1] == (5, 5)


def test_guidance_and_repaint_need_a_model_trained_with_dropout():
    config, model, x, known = _setup(cond_dropout=0.0)
    for sampler in (SamplerConfig(guidance=1.0), SamplerConfig("repaint", 5)):
        with pytest.raises(ValueError, match="cond-dropout"):
            fill(model, config, x, known, sampler=sampler)
    with pytest.raises(ValueError, match="guidance"):
        SamplerConfig(guidance=-1.0)
    with pytest.raises(ValueError, match="guidance"):
        SamplerConfig("repaint", guidance=1.0)


def test_cli_trains_with_dropout_and_fills_guided(tmp_path):
    texture, out = tmp_path / "t.png", tmp_path / "run"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 80, 3), dtype=np.uint8)).save(texture)
    fast = ["--steps", "3", "--crop", "16", "--batch", "4", "--timesteps", "20", "--init", "scratch"]
    result = CliRunner().invoke(cli, ["train-texture", str(texture), "--out", str(out), "--cond-dropout", "0.2", *fast])
    assert result.exit_code == 0, result.output
    assert load_checkpoint(out / "diffusion.pt").config.cond_dropout == 0.2
    assert load_checkpoint(out / "regression.pt").config.cond_dropout == 0.0  # the regression has no condition
    mask = np.zeros((48, 80), dtype=np.uint8)
    mask[10:30, 20:50] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    base = ["fill", str(texture), "--mask", str(tmp_path / "mask.png"), "--quiet"]
    result = CliRunner().invoke(cli, [*base, "--checkpoint", str(out / "diffusion.pt"), "--out",
                                      str(tmp_path / "g.png"), "--guidance", "1", "--steps", "3"])
    assert result.exit_code == 0, result.output
    filled = np.asarray(Image.open(tmp_path / "g.png"))
    source = np.asarray(Image.open(texture))
    assert np.array_equal(filled[mask == 0], source[mask == 0]) and not np.array_equal(filled, source)
    result = CliRunner().invoke(cli, [*base, "--checkpoint", "cork", "--out", str(tmp_path / "c.png"),
                                      "--guidance", "1"])
    assert result.exit_code != 0 and "cond-dropout" in result.output
