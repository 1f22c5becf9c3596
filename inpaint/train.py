"""The training loop: crops of one image (or of a corpus, for a prior), random holes, Adam, EMA, checkpoints, resume."""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import torch
from torch import Tensor, nn

from .budget import BudgetClock, check_budget
from .checkpoint import Checkpoint, save_checkpoint
from .config import TrainConfig, lr_factor
from .diffusion import diffusion_loss, drop_condition
from .masks import training_masks
from .orientation import choose_augmentation
from .patches import CorpusSampler, PatchSampler, held_out_box
from .precision import autocast, choose_precision
from .regression import regression_loss
from .unet import UNet

StepCallback = Callable[[int, float], None]
"""Called after every step with (step, loss)."""

def texture_meta(image: Tensor, name: str) -> dict:
    """Identity of a training image: name, size and the sha256 of its float pixels."""
    digest = hashlib.sha256(image.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
    return {"name": name, "sha256": digest, "height": image.shape[-2], "width": image.shape[-1]}


def corpus_meta(images: Sequence[Tensor], name: str) -> dict:
    """Identity of a training corpus: name, image count, pixels, and a sha256 over its images' digests."""
    digests = "".join(texture_meta(x, "")["sha256"] for x in images)
    return {"name": name, "sha256": hashlib.sha256(digests.encode()).hexdigest(), "images": len(images),
            "pixels": sum(x.shape[-2] * x.shape[-1] for x in images)}


def weights_digest(state: dict) -> str:
    """sha256 of a state dict's tensors, in order: names a set of weights."""
    h = hashlib.sha256()
    for key, value in state.items():
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def check_init(config: TrainConfig, init: Checkpoint) -> None:
    """``init`` must be the same network (its bottleneck aside: see :func:`load_weights`) and the same
    diffusion as ``config`` to be fine-tuned by it."""
    def network(m) -> str:
        return f"a {m.method} network of {m.image_channels} channels, width {m.width}, depth {m.depth}"

    if replace(init.config.model, bottleneck=config.model.bottleneck) != config.model:
        raise ValueError(f"cannot start from {init.texture.get('name', 'that checkpoint')}: it is "
                         f"{network(init.config.model)}; this run trains {network(config.model)}")
    mine, theirs = config.diffusion, init.config.diffusion
    for name in ("schedule", "timesteps", "prediction"):
        if getattr(mine, name) != getattr(theirs, name):
            raise ValueError(f"cannot start from {init.texture.get('name', 'that checkpoint')}: its diffusion has "
                             f"{name} {getattr(theirs, name)!r}, this run {getattr(mine, name)!r}")


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
    conditional_known = drop_condition(known, config.cond_dropout, generator) if config.model.conditional else None
    return diffusion_loss(model, x, conditional_known, schedule, config.diffusion, generator, valid=valid)


def load_weights(model: nn.Module, weights: dict) -> None:
    """Load ``weights`` into ``model``; a network whose bottleneck adds blocks (``ModelConfig.bottleneck``)
    keeps those at their initialization, which makes them the identity."""
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if unexpected or any(".inner." not in k for k in missing):
        raise ValueError(f"the weights do not fit this network: missing {missing}, unexpected {unexpected}")


def init_checkpoint(config: TrainConfig, texture: dict, weights: dict | None = None) -> Checkpoint:
    """Step 0: fresh weights drawn from the config's seed, or ``weights`` (then the draws that follow
    are those of a fresh start with the same seed)."""
    generator = torch.Generator().manual_seed(config.seed)
    model = UNet(config.model, generator=generator)
    if weights is not None:
        load_weights(model, weights)
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
    image: Tensor | Sequence[Tensor],
    config: TrainConfig,
    *,
    start: Checkpoint | None = None,
    init: Checkpoint | None = None,
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
    image : Tensor (1, C, H, W) in [-1, 1], or a list of them
        The one training image, or a corpus (a list) that pre-trains a prior:
        each crop comes from one of its images, drawn uniformly
        (:class:`~inpaint.patches.CorpusSampler`), crops go anywhere (no
        ``exclude``, no ``valid``), and ``augment='auto'`` means all eight
        symmetries, since a corpus has no one orientation.
    config : TrainConfig
    start : Checkpoint, optional
        Resume from this state (its config must equal ``config``, ``steps`` aside).
    init : Checkpoint, optional
        Fine-tune: start from its EMA weights (raw ones if it has none) instead of
        fresh ones, with a fresh optimizer; it must be the same network and
        diffusion (:func:`check_init`).  ``config.init`` records its name and
        weights' sha256 prefix.  Ignored when resuming.
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
        :data:`~inpaint.budget.CALIBRATION_STEPS` steps are timed, the step count
        that fits the budget is fixed from their rate and estimated again from
        the latest rate as the run goes (:class:`~inpaint.budget.BudgetClock`),
        and the learning rate schedule follows the count, ending with the
        budget.  The checkpoint's config records the final count and its
        ``timing`` the budget and every change of the count (``plan``).  Needs
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
    corpus = not isinstance(image, Tensor)
    images = list(image) if corpus else [image]
    for x in images:
        if x.shape[1] != config.model.image_channels:
            raise ValueError(f"the image has {x.shape[1]} channels, the config {config.model.image_channels}")
    if corpus and (exclude is not None or valid is not None):
        raise ValueError("a corpus trains on whole images: no exclude or valid map")
    t_start = time.perf_counter()
    clock = BudgetClock(minutes) if minutes is not None else None  # setup counts against the budget
    if not corpus:
        H, W = image.shape[-2:]
        exclude_region = held_out_box(H, W, config.held_out).mask(H, W) if exclude is None else exclude
    if config.augment == "auto" and corpus:
        config = replace(config, augment="dihedral")
    elif config.augment == "auto":  # measured on the pixels training may read, never the held-out ones
        seen = ~exclude_region
        if valid is not None:
            seen &= valid.reshape(H, W).bool()
        config = replace(config, augment=choose_augmentation(image, "auto", where=seen))
    if config.precision == "auto":
        config = replace(config, precision=choose_precision("auto", device))
    if minutes is not None:
        check_budget(config, minutes, start)
    if start is not None:
        config = replace(config, init=start.config.init)
    elif init is not None:
        check_init(config, init)
        weights = init.ema if init.ema is not None else init.model
        config = replace(config, init=f"{init.texture.get('name', 'checkpoint')}@{weights_digest(weights)[:12]}")
    meta = corpus_meta(images, name) if corpus else texture_meta(image, name)
    ckpt = start if start is not None else init_checkpoint(config, meta, None if init is None else weights)
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

    C = config.model.image_channels
    if corpus:
        sampler = CorpusSampler(images, config.crop, augment=config.augment)
    else:
        if valid is not None:  # crop the validity map with the pixels, through the same flips
            image = torch.cat([image, valid.to(image.dtype).expand(1, 1, H, W)], dim=1)
        sampler = PatchSampler(image, config.crop, exclude=exclude_region, augment=config.augment)
    schedule = config.diffusion.noise_schedule() if config.method != "regression" else None
    losses = list(ckpt.losses.tolist())

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
            if clock is not None and clock.tick(step):
                config = replace(config, steps=clock.steps)
            if out is not None and (step % save_every == 0 or step in (config.steps, until)):
                save_checkpoint(snapshot(step), out)
    except KeyboardInterrupt:
        if out is not None:
            save_checkpoint(snapshot(step), out)
        raise
    return snapshot(step)

