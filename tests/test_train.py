import torch

from inpaint.checkpoint import load_checkpoint, save_checkpoint
from inpaint.config import TrainConfig
from inpaint.diffusion import DiffusionConfig
from inpaint.evaluate import held_out_eval_set
from inpaint.fill import SamplerConfig, fill
from inpaint.masks import training_masks
from inpaint.patches import PatchSampler, held_out_box
from inpaint.train import train
from inpaint.unet import ModelConfig


def stripes(H=64, W=96, C=1):
    """A smooth periodic texture: a hole in it is predictable from its surroundings."""
    y, x = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32), indexing="ij")
    img = 0.8 * torch.sin(2 * torch.pi * x / 8) * torch.cos(2 * torch.pi * y / 12)
    return img.expand(1, C, H, W).clone()


def small_config(method, steps, **kw):
    return TrainConfig(
        model=ModelConfig(method=method, image_channels=kw.pop("channels", 1), width=16),
        diffusion=DiffusionConfig(timesteps=kw.pop("timesteps", 50)),
        crop=16, batch=8, steps=steps, lr=2e-3, **kw,
    )


def test_short_regression_training_beats_mean_fill_by_half():
    image = stripes()
    config = small_config("regression", 400, train_masks="box", augment=False)
    ckpt = train(image, config)
    data = held_out_eval_set(image, crop=16, count=8, masks="box", seed=3)
    out = fill(ckpt.network(), config, data.masked, data.known)[0]
    hole = ~data.known
    mean_fill = (data.masked.sum((2, 3), keepdim=True) / data.known.sum((2, 3), keepdim=True))
    mse_model = ((out - data.truth)[hole.expand_as(out)] ** 2).mean()
    mse_mean = ((mean_fill.expand_as(out) - data.truth)[hole.expand_as(out)] ** 2).mean()
    assert mse_model < 0.5 * mse_mean, (float(mse_model), float(mse_mean))


def test_resume_continues_exactly(tmp_path):
    image = stripes()
    full = train(image, small_config("diffusion", 6))
    path = tmp_path / "d.pt"
    train(image, small_config("diffusion", 3), out=path)
    resumed = train(image, small_config("diffusion", 6), start=load_checkpoint(path))
    assert resumed.step == 6
    for k in full.model:
        assert torch.equal(full.model[k], resumed.model[k]), k
    assert torch.equal(full.losses, resumed.losses)


def test_checkpoint_round_trip_gives_identical_fills(tmp_path):
    image = stripes(C=3)
    ckpt = train(image, small_config("diffusion", 2, channels=3))
    save_checkpoint(ckpt, tmp_path / "c.pt")
    loaded = load_checkpoint(tmp_path / "c.pt")
    assert loaded.config == ckpt.config and loaded.step == 2
    data = held_out_eval_set(image, crop=16, count=2, seed=0)
    runs = [
        fill(c.network(), c.config, data.masked, data.known, sampler=SamplerConfig(steps=10),
             generator=torch.Generator().manual_seed(7))
        for c in (ckpt, loaded)
    ]
    assert torch.equal(runs[0], runs[1])


def test_same_seed_same_crops_and_masks():
    image = stripes()
    sampler = PatchSampler(image, 16, exclude=held_out_box(64, 96), augment=True)

    def draw(seed):
        g = torch.Generator().manual_seed(seed)
        return sampler.sample(8, g), training_masks(8, 16, 16, generator=g)

    (a, ka), (b, kb), (c, kc) = draw(1), draw(1), draw(2)
    assert torch.equal(a, b) and torch.equal(ka, kb)
    assert not (torch.equal(a, c) and torch.equal(ka, kc))


def test_ema_follows_the_weights():
    image = stripes()
    ckpt = train(image, small_config("regression", 20))
    no_ema = train(image, small_config("regression", 20, ema=0.0))
    for k in ckpt.model:
        assert torch.equal(no_ema.model[k], no_ema.ema[k])
    assert any(not torch.equal(ckpt.model[k], ckpt.ema[k]) for k in ckpt.model)


def test_damaged_pixels_never_influence_training():
    """Pixels marked invalid are hidden from the input, from x_t and from the loss."""
    image = stripes()
    valid = torch.ones(64, 96, dtype=torch.bool)
    valid[20:40, 30:60] = False
    anywhere = torch.zeros(64, 96, dtype=torch.bool)
    runs = []
    for garbage in (5.0, -7.0):
        damaged = image.clone()
        damaged[..., ~valid] = garbage
        for method in ("regression", "diffusion"):
            runs.append(train(damaged, small_config(method, 4), exclude=anywhere, valid=valid))
    for a, b in zip(runs[:2], runs[2:]):
        assert torch.equal(a.losses, b.losses)
        for k in a.model:
            assert torch.equal(a.model[k], b.model[k]), k
    # and the same garbage without the validity map does change training
    damaged = image.clone()
    damaged[..., ~valid] = 5.0
    assert not torch.equal(train(damaged, small_config("regression", 4), exclude=anywhere).losses, runs[0].losses)
