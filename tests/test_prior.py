"""Pre-training on a corpus, fine-tuning from a prior, and the shipped prior."""

from dataclasses import replace

import pytest
import torch
from click.testing import CliRunner

from inpaint.checkpoint import load_checkpoint, save_checkpoint
from inpaint.cli import cli
from inpaint.config import TrainConfig
from inpaint.diffusion import DiffusionConfig
from inpaint.io import write_image, write_mask
from inpaint.patches import CorpusSampler
from inpaint.prior import fits_prior, init_for, load_init, prior_config, prior_path
from inpaint.restore import restore_config, train_restorer
from inpaint.train import train, weights_digest
from inpaint.unet import ModelConfig


def tiny(method="diffusion", steps=3, channels=3, **kw):
    return TrainConfig(model=ModelConfig(method=method, image_channels=channels, width=8),
                       diffusion=DiffusionConfig(timesteps=kw.pop("timesteps", 20)), crop=16, batch=4, steps=steps, **kw)


def constant(value, H=32, W=48, C=3):
    return torch.full((1, C, H, W), float(value))


def test_corpus_sampler_draws_every_image_and_only_their_pixels():
    images = [constant(-0.5), constant(0.25, H=20, W=20), constant(0.75, H=64, W=64)]
    crops = CorpusSampler(images, 16).sample(300, torch.Generator().manual_seed(0))
    assert crops.shape == (300, 3, 16, 16)
    per_crop = crops.flatten(1)
    assert (per_crop == per_crop[:, :1]).all()  # a crop never straddles two images
    counts = {v: int((per_crop[:, 0] == v).sum()) for v in (-0.5, 0.25, 0.75)}
    assert sum(counts.values()) == 300
    assert all(70 < c < 130 for c in counts.values()), counts  # uniform over images, not over pixels


def test_corpus_sampler_refuses_mixed_channels_and_an_empty_corpus():
    with pytest.raises(ValueError, match="channels"):
        CorpusSampler([constant(0), constant(0, C=1)], 16)
    with pytest.raises(ValueError, match="no image"):
        CorpusSampler([], 16)


def test_training_on_a_corpus_records_the_corpus_and_all_symmetries():
    images = [constant(-0.5), constant(0.5, H=40, W=40)]
    ckpt = train(images, tiny(augment="auto"), name="corpus")
    assert ckpt.step == 3 and ckpt.config.augment == "dihedral"
    assert ckpt.texture["images"] == 2 and ckpt.texture["pixels"] == 32 * 48 + 40 * 40
    assert train(images[::-1], tiny()).texture["sha256"] != ckpt.texture["sha256"]
    with pytest.raises(ValueError, match="no exclude or valid"):
        train(images, tiny(), valid=torch.ones(32, 48, dtype=torch.bool))


def test_fine_tuning_starts_from_the_prior_weights_and_records_them():
    image = torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(1)) * 2 - 1
    prior = train([image], tiny(steps=5, lr_warmup=0), name="corpus")  # moved well away from its start
    zero_steps = train(image, tiny(steps=1, lr=1e-12), init=prior)  # a rate of ~0: weights unchanged
    for key, value in prior.ema.items():
        torch.testing.assert_close(zero_steps.model[key], value, rtol=0, atol=1e-6)
    assert zero_steps.config.init == f"corpus@{weights_digest(prior.ema)[:12]}"
    scratch = train(image, tiny(steps=1, lr=1e-12))
    assert scratch.config.init == "scratch"
    assert any((scratch.model[k] - prior.ema[k]).abs().max() > 1e-3 for k in prior.ema)


def test_a_resumed_fine_tuning_keeps_its_init(tmp_path):
    image = torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(2)) * 2 - 1
    prior = train([image], tiny(steps=2), name="corpus")
    first = train(image, tiny(steps=4), init=prior, until=2)
    resumed = train(image, tiny(steps=4), start=first)
    assert resumed.config.init == first.config.init != "scratch"
    save_checkpoint(resumed, tmp_path / "ft.pt")
    assert load_checkpoint(tmp_path / "ft.pt").config.init == first.config.init


@pytest.mark.parametrize("change, message", [
    ({"method": "regression"}, "trains a regression network"),
    ({"channels": 1}, "trains a diffusion network of 1 channels"),
    ({"timesteps": 30}, "timesteps"),
])
def test_fine_tuning_refuses_a_different_network_or_diffusion(change, message):
    image = torch.zeros(1, change.get("channels", 3), 40, 40)
    prior = train([torch.zeros(1, 3, 40, 40)], tiny(steps=1))
    with pytest.raises(ValueError, match=message):
        train(image, tiny(steps=1, **change), init=prior)


def test_restore_fine_tunes_from_init():
    image = torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(3)) * 2 - 1
    known = torch.ones(1, 1, 40, 40, dtype=torch.bool)
    known[..., 10:20, 10:20] = False
    config = restore_config(3, steps=1, crop=16, batch=2, width=8, timesteps=20)
    prior = train([image], config, name="corpus")
    assert train_restorer(image, known, config, init=prior).config.init.startswith("corpus@")


def test_the_shipped_prior_is_the_default_network_and_loads_by_name():
    prior = load_init("prior")
    assert load_init("scratch") is None and load_init(None) is None
    assert prior.config.model == ModelConfig("diffusion", image_channels=3)
    default = TrainConfig().diffusion
    assert (prior.config.diffusion.schedule, prior.config.diffusion.timesteps, prior.config.diffusion.prediction) == (
        default.schedule, default.timesteps, default.prediction)
    assert prior.optimizer is None and prior.texture["images"] >= 40
    assert prior_path().is_file()
    assert prior_config(10).lr_decay == "linear"


def test_cli_init_prior(tmp_path):
    texture = tmp_path / "t.png"
    write_image(torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(4)) * 2 - 1, texture)
    runner = CliRunner()
    out = tmp_path / "run"
    result = runner.invoke(cli, ["train-texture", str(texture), "--method", "diffusion", "--steps", "2",
                                 "--batch", "2", "--crop", "32", "--init", "prior", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert load_checkpoint(out / "diffusion.pt").config.init.startswith("prior-corpus@")
    refused = runner.invoke(cli, ["train-texture", str(texture), "--init", "prior", "--out", str(tmp_path / "r")])
    assert refused.exit_code != 0 and "cannot start regression" in refused.output
    mask = tmp_path / "m.png"
    hole = torch.ones(1, 1, 128, 128, dtype=torch.bool)
    hole[..., 20:30, 20:30] = False
    write_mask(hole, mask)
    both = runner.invoke(cli, ["restore", str(texture), "--mask", str(mask), "--out", str(tmp_path / "o.png"),
                               "--checkpoint", str(out / "diffusion.pt"), "--init", "prior"])
    assert both.exit_code != 0 and "nothing to start from" in both.output


def test_auto_init_is_the_prior_exactly_where_it_fits():
    prior = load_init("prior")
    rgb = TrainConfig(model=ModelConfig("diffusion", image_channels=3))
    assert fits_prior(rgb, prior)
    assert init_for("auto", rgb).config == prior.config
    for other in (replace(rgb, model=ModelConfig("regression", image_channels=3)),
                  replace(rgb, model=ModelConfig("diffusion", image_channels=1)),
                  replace(rgb, model=ModelConfig("repaint", image_channels=3)),
                  replace(rgb, diffusion=replace(rgb.diffusion, timesteps=1000))):
        assert init_for("auto", other) is None, other
    assert init_for("scratch", rgb) is None and init_for("prior", rgb) is not None


def test_cli_train_texture_fine_tunes_the_prior_by_default(tmp_path):
    texture = tmp_path / "t.png"
    write_image(torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(5)) * 2 - 1, texture)
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train-texture", str(texture), "--steps", "2", "--batch", "2", "--crop", "32",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert load_checkpoint(out / "diffusion.pt").config.init.startswith("prior-corpus@")
    assert load_checkpoint(out / "regression.pt").config.init == "scratch"
    assert "diffusion: 2 steps from prior-corpus" in result.output
    scratch = tmp_path / "scratch"
    result = CliRunner().invoke(cli, ["train-texture", str(texture), "--method", "diffusion", "--steps", "1",
                                      "--batch", "2", "--crop", "32", "--init", "scratch", "--out", str(scratch)])
    assert result.exit_code == 0, result.output
    assert load_checkpoint(scratch / "diffusion.pt").config.init == "scratch"
