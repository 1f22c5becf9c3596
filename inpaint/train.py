"""The training loop: crops of one image, random holes, Adam, EMA, checkpoints, resume."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch
from torch import Tensor, nn

from .checkpoint import Checkpoint, save_checkpoint
from .config import TrainConfig, lr_factor
from .diffusion import diffusion_loss
from .masks import training_masks
from .orientation import choose_augmentation
from .patches import PatchSampler, held_out_box
from .regression import regression_loss
from .unet import UNet

StepCallback = Callable[[int, float], None]
"""Called after every step with (step, loss)."""

CALIBRATION_STEPS = 30
"""Steps timed before a time budget fixes the step count (the first 5 warm the allocator and are not counted)."""


def budget_steps(budget: float, elapsed: float, done: int, seconds_per_step: float) -> int:
    """Total steps that fit a budget of ``budget`` seconds when ``done`` steps took ``elapsed`` seconds and
    the next ones take ``seconds_per_step`` each (never fewer than ``done``)."""
    if seconds_per_step <= 0:
        raise ValueError(f"seconds_per_step must be positive, got {seconds_per_step}")
    return done + max(0, math.floor((budget - elapsed) / seconds_per_step))


def texture_meta(image: Tensor, name: str) -> dict:
    """Identity of a training image: name, size and the sha256 of its float pixels."""
    digest = hashlib.sha256(image.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
    return {"name": name, "sha256": digest, "height": image.shape[-2], "width": image.shape[-1]}


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, parameter by parameter."""
    e, m = list(ema.parameters()), list(model.parameters())
    torch._foreach_lerp_(e, m, 1.0 - decay)


def ema_decay(decay: float, step: int) -> float:
    """Decay warm-up, (1 + step) / (10 + step) capped at ``decay``, so early weights fade fast."""
    return min(decay, (1 + step) / (10 + step))


def batch_loss(model: nn.Module, config: TrainConfig, x: Tensor, known: Tensor, schedule, generator,
               valid: Tensor | None = None) -> Tensor:
    """The loss of ``config.method`` on a batch of clean crops ``x`` with holes ``known``."""
    if config.method == "regression":
        return regression_loss(model, x, known, valid=valid)
    conditional_known = known if config.model.conditional else None
    return diffusion_loss(model, x, conditional_known, schedule, config.diffusion, generator, valid=valid)


def choose_precision(precision: str, device: str | torch.device) -> str:
    """The concrete precision of ``precision`` on ``device``: 'auto' is 'bf16' on a GPU that supports it and on
    a CPU with bfloat16 instructions (AVX512-BF16 or AMX, where autocast about halves a step), else 'fp32'."""
    if precision != "auto":
        return precision
    device = torch.device(device)
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if device.type == "cpu" and _cpu_has_bf16() else "fp32"


def _cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: no cheap way to tell, and emulated bfloat16 is slower than float32
        return False
    return any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))


def autocast(precision: str, device: str | torch.device):
    """The autocast context of a training step in ``precision`` ('fp32': none)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


class BudgetClock:
    """Times the first :data:`CALIBRATION_STEPS` steps of a run and then fixes the step count that fits.

    The first 5 steps warm the allocator and are not counted in the rate.
    ``record`` is what the checkpoint's ``timing`` keeps of it.
    """

    def __init__(self, minutes: float, started: float):
        self.started, self.ticks, self.steps = started, [], None
        self.record = {"budget_minutes": minutes}

    @property
    def calibrating(self) -> bool:
        return self.steps is None

    def tick(self, step: int) -> bool:
        """Note that ``step`` steps are done; True once the step count is fixed (in ``steps``)."""
        self.ticks.append(time.perf_counter())
        if len(self.ticks) < CALIBRATION_STEPS:
            return False
        rate = (self.ticks[-1] - self.ticks[4]) / (CALIBRATION_STEPS - 5)
        self.steps = budget_steps(60 * self.record["budget_minutes"], self.ticks[-1] - self.started, step, rate)
        self.record.update(seconds_per_step=rate, calibration_steps=CALIBRATION_STEPS)
        return True


def check_budget(config: TrainConfig, minutes: float, start: Checkpoint | None) -> None:
    """Raise ``ValueError`` unless :func:`train` can train ``config`` to a budget of ``minutes``."""
    if not minutes > 0:
        raise ValueError(f"the time budget must be positive, got {minutes} minutes")
    if start is not None and start.step > 0:
        raise ValueError("a time budget starts a new run; resume with a step count instead")
    if config.lr_decay != "none" and config.lr_warmup < CALIBRATION_STEPS:
        raise ValueError(f"a time budget with a decaying learning rate needs lr_warmup >= {CALIBRATION_STEPS} "
                         f"(the steps timed before the step count is fixed), got {config.lr_warmup}")


def init_checkpoint(config: TrainConfig, texture: dict) -> Checkpoint:
    """Step 0: fresh weights drawn from the config's seed."""
    generator = torch.Generator().manual_seed(config.seed)
    model = UNet(config.model, generator=generator)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    return Checkpoint(
        config=config,
        step=0,
        model=model.state_dict(),
        ema=copy.deepcopy(model.state_dict()),
        optimizer=opt.state_dict(),
        generator=generator.get_state(),
        texture=texture,
    )


def train(
    image: Tensor,
    config: TrainConfig,
    *,
    start: Checkpoint | None = None,
    out: str | Path | None = None,
    device: str | torch.device = "cpu",
    save_every: int = 500,
    on_step: StepCallback | None = None,
    name: str = "texture",
    exclude: Tensor | None = None,
    valid: Tensor | None = None,
    minutes: float | None = None,
    until: int | None = None,
) -> Checkpoint:
    """Train one method on random crops of ``image``.

    Parameters
    ----------
    image : Tensor (1, C, H, W) in [-1, 1]
        The one training image.
    config : TrainConfig
    start : Checkpoint, optional
        Resume from this state (its config must equal ``config``, ``steps`` aside).
    out : path, optional
        Where to save the checkpoint every ``save_every`` steps and at the end.
    on_step : callable (step, loss), optional
        Progress report after every step.
    exclude : Tensor (H, W) bool, optional
        Pixels no crop may touch; default the held-out strip of ``config.held_out``
        (an all-False map lets crops go anywhere).
    valid : Tensor (H, W) bool, optional
        Pixels that exist (False: damaged).  Crops may cover invalid pixels; those
        are zeroed in the model's input and left out of the loss (Cherel et al.'s
        training on the damaged image itself).
    minutes : float, optional
        A wall-clock budget instead of ``config.steps``: the first
        :data:`CALIBRATION_STEPS` steps are timed, the step count that fits the
        budget is fixed from their rate (:func:`budget_steps`), and the learning
        rate schedule ends with it.  The checkpoint's config records that count,
        so training again with it (and no budget) gives the same weights.  Needs
        ``config.lr_warmup >= CALIBRATION_STEPS`` when the rate decays, so that
        no step's rate depends on the count before it is known.

    until : int, optional
        Stop after this many steps, as if interrupted there: the learning rate
        still follows the schedule that ends at ``config.steps``, so resuming
        to ``config.steps`` gives the weights of one uninterrupted run.

    Returns
    -------
    Checkpoint after ``config.steps`` steps (or ``until``); its ``timing`` holds the wall time
    (and the budget, when one was given).
    """
    if image.shape[1] != config.model.image_channels:
        raise ValueError(f"the image has {image.shape[1]} channels, the config {config.model.image_channels}")
    t_start = time.perf_counter()
    if config.augment == "auto":
        augment = choose_augmentation(image if valid is None else image * valid, "auto")
        config = replace(config, augment=augment)
    if config.precision == "auto":
        config = replace(config, precision=choose_precision("auto", device))
    if minutes is not None:
        check_budget(config, minutes, start)
    ckpt = start if start is not None else init_checkpoint(config, texture_meta(image, name))
    if ckpt.config.model != config.model:
        raise ValueError("cannot resume: the checkpoint's network differs from the requested one")
    ckpt.config = config

    generator = torch.Generator()
    generator.set_state(ckpt.generator)
    model = UNet(config.model).to(device)
    model.load_state_dict(ckpt.model)
    ema = UNet(config.model).to(device)
    ema.load_state_dict(ckpt.ema if ckpt.ema is not None else ckpt.model)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    if ckpt.optimizer is not None:  # shipped checkpoints leave the Adam moments out; they restart
        opt.load_state_dict(ckpt.optimizer)
        for group in opt.param_groups:
            group["lr"] = config.lr

    H, W = image.shape[-2:]
    exclude_region = held_out_box(H, W, config.held_out) if exclude is None else exclude
    C = image.shape[1]
    if valid is not None:  # crop the validity map with the pixels, through the same flips
        image = torch.cat([image, valid.to(image.dtype).expand(1, 1, H, W)], dim=1)
    sampler = PatchSampler(image, config.crop, exclude=exclude_region, augment=config.augment)
    schedule = config.diffusion.noise_schedule() if config.method != "regression" else None
    losses = list(ckpt.losses.tolist())

    clock = BudgetClock(minutes, t_start) if minutes is not None else None
    timing = clock.record if clock is not None else {}

    def snapshot(step: int) -> Checkpoint:
        timing["seconds"] = time.perf_counter() - t_start
        return Checkpoint(
            config=config,
            step=step,
            model=copy.deepcopy(model.state_dict()),
            ema=copy.deepcopy(ema.state_dict()),
            optimizer=copy.deepcopy(opt.state_dict()),
            generator=generator.get_state(),
            losses=torch.tensor(losses, dtype=torch.float32),
            texture=ckpt.texture,
            timing=dict(timing),
        )

    model.train()
    step = ckpt.step
    try:
        while step < min(config.steps, until or config.steps) or (clock is not None and clock.calibrating):
            crops = sampler.sample(config.batch, generator).to(device)
            x, crop_valid = crops[:, :C], None
            if valid is not None:  # damaged pixels carry no signal, not even through x_t
                crop_valid = crops[:, C:] > 0.5
                x = x * crop_valid
            known = training_masks(config.batch, config.crop, config.crop, generator=generator, families=config.train_masks)
            with autocast(config.precision, device):
                loss = batch_loss(model, config, x, known.to(device), schedule, generator, crop_valid)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            for group in opt.param_groups:
                group["lr"] = config.lr * lr_factor(step, config.steps, config.lr_warmup, config.lr_decay)
            opt.step()
            update_ema(ema, model, ema_decay(config.ema, step) if config.ema > 0 else 0.0)
            step += 1
            losses.append(loss.item())
            if on_step is not None:
                on_step(step, losses[-1])
            if clock is not None and clock.calibrating and clock.tick(step):
                config = replace(config, steps=clock.steps)
            if out is not None and (step % save_every == 0 or step in (config.steps, until)):
                save_checkpoint(snapshot(step), out)
    except KeyboardInterrupt:
        if out is not None:
            save_checkpoint(snapshot(step), out)
        raise
    return snapshot(step)

