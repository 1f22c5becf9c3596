import pytest
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


@pytest.fixture(scope="module")
def three_steps():
    return train(stripes(), small_config("diffusion", 3, lr_decay="cosine", precision="fp32"))


@pytest.mark.parametrize("change, field, theirs, mine", [
    (dict(ema=0.99), "ema", "0.999", "0.99"),
    (dict(timesteps=80), "diffusion.timesteps", "50", "80"),
    (dict(lr_decay="linear"), "lr_decay", "'cosine'", "'linear'"),
    (dict(held_out=0.5), "held_out", "0.25", "0.5"),
    (dict(precision="bf16"), "precision", "'fp32'", "'bf16'"),
])
def test_a_resume_refuses_another_config_naming_the_field_and_both_values(three_steps, change, field, theirs, mine):
    before = three_steps.config
    kw = dict(lr_decay="cosine", precision="fp32") | change
    with pytest.raises(ValueError) as err:
        train(stripes(), small_config("diffusion", 6, **kw), start=three_steps)
    message = str(err.value)
    assert "\n" not in message
    assert f"{field}={theirs}" in message and f"{field}={mine}" in message, message
    assert three_steps.config == before and three_steps.step == 3  # the caller's checkpoint is untouched


def test_a_resume_may_change_the_steps_only_and_refuses_other_pixels(three_steps):
    resumed = train(stripes(), small_config("diffusion", 5, lr_decay="cosine", precision="fp32"), start=three_steps)
    assert resumed.step == 5 and resumed.config.steps == 5
    with pytest.raises(ValueError, match="other pixels"):
        train(-stripes(), small_config("diffusion", 5, lr_decay="cosine", precision="fp32"), start=three_steps)


def test_auto_precision_records_what_it_resolved_to_and_a_resume_checks_it(monkeypatch):
    import inpaint.precision as precision

    monkeypatch.setattr(precision, "_cpu_has_bf16", lambda: True)
    ckpt = train(stripes(), small_config("regression", 2, precision="auto"))
    assert ckpt.config.precision == "bf16"
    train(stripes(), small_config("regression", 3, precision="auto"), start=ckpt)  # the same processor
    monkeypatch.setattr(precision, "_cpu_has_bf16", lambda: False)  # another processor
    with pytest.raises(ValueError, match="precision='bf16'.*precision='fp32'"):
        train(stripes(), small_config("regression", 3, precision="auto"), start=ckpt)


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


def test_lr_factor_warms_up_then_decays_to_zero_after_the_last_step():
    from inpaint.config import lr_factor

    assert [lr_factor(s, 10, 4, "linear") for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    # The warm-up does not depend on the step count (a time budget fixes it during the warm-up).
    assert [lr_factor(s, 10, 4, "cosine") for s in range(4)] == [lr_factor(s, 10**6, 4, "cosine") for s in range(4)]
    linear = [lr_factor(s, 10, 4, "linear") for s in range(4, 10)]
    assert linear == pytest.approx([1 - k / 7 for k in range(1, 7)])  # last step 1/7: still moves
    cosine = [lr_factor(s, 10, 0, "cosine") for s in range(10)]
    assert all(a > b for a, b in zip(cosine, cosine[1:])) and cosine[-1] > 0
    assert [lr_factor(s, 10, 0, "none") for s in range(10)] == [1.0] * 10


def test_training_applies_the_learning_rate_schedule():
    from inpaint.config import lr_factor

    config = small_config("regression", 12, lr_warmup=4, lr_decay="linear")
    ckpt = train(stripes(), config)
    assert ckpt.optimizer["param_groups"][0]["lr"] == pytest.approx(config.lr * lr_factor(11, 12, 4, "linear"))


def test_budget_steps_fill_the_remaining_time():
    from inpaint.budget import budget_steps

    assert budget_steps(60.0, 6.0, 30, 0.5) == 30 + 108
    assert budget_steps(10.0, 12.0, 30, 0.5) == 30  # over budget already: stop where we are
    with pytest.raises(ValueError):
        budget_steps(10.0, 1.0, 5, 0.0)


class FakeClock:
    """Seconds that advance by ``cost(step)`` at each reading after the first: one reading a step."""

    def __init__(self, cost):
        self.cost, self.now, self.readings = cost, 0.0, 0

    def __call__(self) -> float:
        if self.readings:
            self.now += self.cost(self.readings)
        self.readings += 1
        return self.now


def run_to_budget(budget_s: float, cost) -> tuple[int, float, dict]:
    """A loop as train's: step, tick, follow the count; (steps done, seconds spent, the clock's record)."""
    from inpaint.budget import BudgetClock

    fake = FakeClock(cost)
    clock = BudgetClock(budget_s / 60, clock=fake)
    step = 0
    while clock.calibrating or step < clock.steps:
        step += 1
        clock.tick(step)
    return step, fake.now, clock.record


@pytest.mark.parametrize("name, cost", [
    ("steady", lambda i: 0.1),
    ("slow first steps", lambda i: 0.3 if i < 30 else 0.1),  # the calibration steps run slower than the rest
    ("load starts mid-run", lambda i: 0.1 if i < 2000 else 0.25),
    ("load stops mid-run", lambda i: 0.25 if i < 1000 else 0.1),
    ("noisy", lambda i: 0.1 + 0.05 * ((i * 7919) % 13) / 13),
])
def test_a_time_budget_is_spent_within_five_percent_whatever_the_load(name, cost):
    steps, spent, record = run_to_budget(600.0, cost)
    assert 0.95 * 600 <= spent <= 1.05 * 600, (name, spent)
    assert record["plan"][-1][1] == steps and record["budget_minutes"] == 10.0


def test_the_first_count_alone_would_miss_the_budget():
    """Why the count is estimated again: fixed from slow first steps, it would end the run at a third of the budget."""
    from inpaint.budget import CALIBRATION_STEPS

    cost = lambda i: 0.3 if i < 30 else 0.1  # noqa: E731
    steps, spent, record = run_to_budget(600.0, cost)
    at, first_count = record["plan"][0]
    assert at == CALIBRATION_STEPS
    assert sum(cost(i) for i in range(1, first_count + 1)) < 0.4 * 600 < 0.95 * 600 <= spent
    assert steps > 2 * first_count


def test_training_to_a_time_budget_follows_the_clock_and_records_its_plan(monkeypatch):
    import importlib
    from functools import partial

    from inpaint import budget

    fake = FakeClock(lambda i: 0.05 if i < 60 else 0.1)  # load doubles after 60 steps
    monkeypatch.setattr(importlib.import_module("inpaint.train"), "BudgetClock", partial(budget.BudgetClock, clock=fake))
    config = small_config("diffusion", 10**6, lr_warmup=budget.CALIBRATION_STEPS, lr_decay="linear", augment="none")
    ckpt = train(stripes(), config, minutes=0.2)  # 12 s of fake time
    assert ckpt.step == ckpt.config.steps and 0.95 * 12 <= fake.now <= 1.05 * 12
    plan = ckpt.timing["plan"]
    assert plan[0][0] == budget.CALIBRATION_STEPS and plan[-1][1] == ckpt.step and len(plan) >= 2
    assert ckpt.timing["budget_minutes"] == 0.2 and ckpt.timing["seconds_per_step"] == pytest.approx(0.1)
    # the learning rate of the last step is the schedule's at the final count
    from inpaint.config import lr_factor
    assert ckpt.optimizer["param_groups"][0]["lr"] == pytest.approx(
        config.lr * lr_factor(ckpt.step - 1, ckpt.step, config.lr_warmup, "linear"))


def test_a_time_budget_is_refused_where_it_cannot_be_kept():
    image = stripes()
    with pytest.raises(ValueError, match="lr_warmup"):
        train(image, small_config("regression", 100, lr_decay="linear", lr_warmup=5), minutes=0.01)
    with pytest.raises(ValueError, match="positive"):
        train(image, small_config("regression", 100), minutes=0)
    start = train(image, small_config("regression", 2))
    with pytest.raises(ValueError, match="new run"):
        train(image, small_config("regression", 100), start=start, minutes=0.01)


def test_auto_augmentation_is_resolved_from_the_image_and_recorded():
    y = torch.arange(64, dtype=torch.float32)[:, None].expand(64, 96)
    rows = (0.8 * torch.sin(2 * torch.pi * y / 7))[None, None].clone()
    assert train(rows, small_config("regression", 1, augment="auto")).config.augment == "none"
    noise = torch.rand(1, 1, 64, 96, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert train(noise, small_config("regression", 1, augment="auto")).config.augment == "dihedral"


def test_configs_of_older_files_keep_how_they_were_trained():
    old = TrainConfig().to_dict()
    for key in ("lr_warmup", "lr_decay"):
        old.pop(key)
    old["augment"] = True
    old["diffusion"].pop("noise_levels")
    config = TrainConfig.from_dict(old)
    assert (config.lr_warmup, config.lr_decay, config.augment) == (0, "none", "dihedral")
    assert config.diffusion.noise_levels == "uniform"
    assert TrainConfig(augment=False).augment == "none"
    with pytest.raises(ValueError, match="augment"):
        TrainConfig(augment="sideways")
    with pytest.raises(ValueError, match="lr_decay"):
        TrainConfig(lr_decay="step")


def test_bf16_training_learns_and_auto_precision_is_resolved_and_recorded():
    from inpaint.precision import choose_precision

    image = stripes()
    ckpt = train(image, small_config("regression", 400, train_masks="box", augment="none", precision="bf16"))
    assert ckpt.config.precision == "bf16"
    assert all(v.dtype == torch.float32 for v in ckpt.model.values())  # autocast: the weights stay float32
    data = held_out_eval_set(image, crop=16, count=8, masks="box", seed=3)
    out = fill(ckpt.network(), ckpt.config, data.masked, data.known)[0]
    hole = (~data.known).expand_as(out)
    mse_model = ((out - data.truth)[hole] ** 2).mean()
    assert mse_model < 0.5 * (data.truth[hole] ** 2).mean()  # beats a zero fill by half, as float32 training does
    assert choose_precision("fp32", "cpu") == "fp32" and choose_precision("auto", "cpu") in ("fp32", "bf16")
    resolved = train(image, small_config("regression", 1, precision="auto")).config.precision
    assert resolved == choose_precision("auto", "cpu")


def test_stopping_early_and_resuming_follows_the_schedule_of_the_whole_run():
    config = small_config("diffusion", 8, lr_warmup=2, lr_decay="linear", augment="dihedral")
    image = stripes()
    part = train(image, config, until=3)
    assert part.step == 3 and part.config.steps == 8
    resumed = train(image, config, start=part)
    whole = train(image, config)
    for name, w in whole.model.items():
        torch.testing.assert_close(resumed.model[name], w, rtol=0, atol=0, msg=name)


def test_every_step_is_reported_with_its_loss():
    seen = []
    ckpt = train(stripes(), small_config("regression", 5), on_step=lambda step, loss: seen.append((step, loss)))
    assert [s for s, _ in seen] == [1, 2, 3, 4, 5]
    assert [loss for _, loss in seen] == ckpt.losses.tolist()


def test_the_code_free_format_round_trips_everything_but_the_optimizer(tmp_path):
    ckpt = train(stripes(C=3), small_config("diffusion", 2, channels=3))
    save_checkpoint(ckpt, tmp_path / "m.safetensors")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.safetensors"]
    loaded = load_checkpoint(tmp_path / "m.safetensors")
    assert loaded.config == ckpt.config and loaded.step == 2 and loaded.optimizer is None
    assert loaded.texture == ckpt.texture and torch.equal(loaded.losses, ckpt.losses)
    assert torch.equal(loaded.generator, ckpt.generator)
    for part in ("model", "ema"):
        assert all(torch.equal(getattr(loaded, part)[k], v) for k, v in getattr(ckpt, part).items())
    (tmp_path / "m.json").unlink()
    from inpaint.checkpoint import CheckpointError

    with pytest.raises(CheckpointError, match="m.json"):
        load_checkpoint(tmp_path / "m.safetensors")
