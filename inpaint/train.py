"""The training loop: crops of one image (or of a corpus, for a prior), random holes, Adam, EMA, checkpoints, resume.

A run is three steps, each readable alone: :func:`resolve_config` makes the
requested configuration concrete (its 'auto' fields, the weights it starts
from, the checks of a resume or a budget); :class:`TrainState` holds what a
step changes (weights, EMA, optimizer, generator, losses) and is built from a
checkpoint and saved as one; a crop source (:func:`crop_source`) gives
``(crops, valid)`` for one image or a corpus alike.  :func:`train` runs the
loop over them.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
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

RESUMABLE = ("steps",)
"""The fields of :class:`TrainConfig` a resumed run may change; every other one must equal the checkpoint's
(``init`` is the checkpoint's own: a resume continues its weights)."""


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


def config_differences(a, b, prefix: str = "") -> list[tuple[str, object, object]]:
    """``(field, a's value, b's value)`` for every field where two configs differ, nested ones as
    'diffusion.timesteps'."""
    out = []
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if is_dataclass(x) and type(x) is type(y):
            out += config_differences(x, y, f"{prefix}{f.name}.")
        elif x != y:
            out.append((prefix + f.name, x, y))
    return out


def check_resume(config: TrainConfig, start: Checkpoint, texture: dict) -> None:
    """Raise ``ValueError``, in one line naming the field and both values, unless ``start`` can continue
    as the run ``config`` (resolved) asks for on the image of ``texture``: equal in every field but
    :data:`RESUMABLE`, and trained on the same pixels."""
    for name, mine, theirs in config_differences(config, start.config):
        if name not in RESUMABLE and name != "init":
            raise ValueError(f"cannot resume: the checkpoint was trained with {name}={theirs!r}, this run asks "
                             f"for {name}={mine!r} (a resume may change only {', '.join(RESUMABLE)})")
    theirs = start.texture.get("sha256")
    if theirs and theirs != texture["sha256"]:
        raise ValueError(f"cannot resume: the checkpoint was trained on {start.texture.get('name')} "
                         f"(sha256 {theirs[:12]}), this run gives other pixels (sha256 {texture['sha256'][:12]})")


def init_name(init: Checkpoint) -> str:
    """What ``config.init`` records of a fine-tuning start: the name of its image and its weights' digest."""
    return f"{init.texture.get('name', 'checkpoint')}@{weights_digest(init_weights(init))[:12]}"


def init_weights(init: Checkpoint) -> dict:
    """The weights a fine-tune starts from: the EMA ones, or the raw ones of a checkpoint without them."""
    return init.ema if init.ema is not None else init.model


def resolve_config(config: TrainConfig, image: Tensor | Sequence[Tensor], texture: dict, *,
                   seen: Tensor | None = None, device: str | torch.device = "cpu", start: Checkpoint | None = None,
                   init: Checkpoint | None = None, minutes: float | None = None) -> TrainConfig:
    """The concrete configuration of a run; raises ``ValueError`` for one that cannot run.

    'auto' augmentation becomes all eight symmetries for a corpus (a list of
    images, which has no one orientation) and the choice of
    :func:`~inpaint.orientation.choose_augmentation` on the pixels ``seen`` of
    one image; 'auto' precision becomes what ``device`` has
    (:func:`~inpaint.precision.choose_precision`).  A resume (``start``) keeps
    the checkpoint's ``init`` and must ask for its config (:func:`check_resume`);
    a fine-tune records ``init``'s name (:func:`init_name`).
    """
    if config.augment == "auto":
        corpus = not isinstance(image, Tensor)
        config = replace(config, augment="dihedral" if corpus else choose_augmentation(image, "auto", where=seen))
    if config.precision == "auto":
        config = replace(config, precision=choose_precision("auto", device))
    if minutes is not None:
        check_budget(config, minutes, start)
    if start is not None:
        config = replace(config, init=start.config.init)
        check_resume(config, start, texture)
    elif init is not None:
        check_init(config, init)
        config = replace(config, init=init_name(init))
    return config


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


@dataclass
class TrainState:
    """What a training step changes: the weights, their EMA, Adam, the generator and the losses."""

    step: int
    model: UNet
    ema: UNet
    optimizer: torch.optim.Adam
    generator: torch.Generator
    losses: list[float]
    texture: dict

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint, config: TrainConfig, device: str | torch.device) -> "TrainState":
        """The state of ``ckpt`` on ``device``; the optimizer takes ``config.lr`` (a checkpoint without Adam's
        moments, as shipped ones are, restarts them)."""
        generator = torch.Generator()
        generator.set_state(ckpt.generator)
        model = UNet(config.model).to(device)
        model.load_state_dict(ckpt.model)
        ema = UNet(config.model).to(device)
        ema.load_state_dict(ckpt.ema if ckpt.ema is not None else ckpt.model)
        opt = torch.optim.Adam(model.parameters(), lr=config.lr)
        if ckpt.optimizer is not None:
            opt.load_state_dict(ckpt.optimizer)
            for group in opt.param_groups:
                group["lr"] = config.lr
        return cls(ckpt.step, model, ema, opt, generator, ckpt.losses.tolist(), ckpt.texture)

    def checkpoint(self, config: TrainConfig, timing: dict) -> Checkpoint:
        """A copy of this state as a checkpoint of ``config``."""
        return Checkpoint(
            config=config,
            step=self.step,
            model=copy.deepcopy(self.model.state_dict()),
            ema=copy.deepcopy(self.ema.state_dict()),
            optimizer=copy.deepcopy(self.optimizer.state_dict()),
            generator=self.generator.get_state(),
            losses=torch.tensor(self.losses, dtype=torch.float32),
            texture=self.texture,
            timing=dict(timing),
        )


CropSource = Callable[[int, torch.Generator], tuple[Tensor, Tensor | None]]
"""``(n, generator) -> (crops, valid)``: n training crops (n, C, crop, crop) and, where the image has
damaged pixels, which of theirs are valid (n, 1, crop, crop) bool, else None."""


def crop_source(image: Tensor | Sequence[Tensor], config: TrainConfig, *, exclude: Tensor | None = None,
                valid: Tensor | None = None) -> CropSource:
    """The training crops of one image (never touching ``exclude``) or of a corpus (whole images)."""
    if not isinstance(image, Tensor):
        return CorpusSampler(list(image), config.crop, augment=config.augment).pairs
    return PatchSampler(image, config.crop, exclude=exclude, valid=valid, augment=config.augment).pairs


def train_step(state: TrainState, config: TrainConfig, crops: CropSource, schedule, device) -> float:
    """One optimizer step of ``config`` on a fresh batch: crops, holes, loss, Adam at the step's learning
    rate, EMA.  Returns the loss."""
    x, valid = crops(config.batch, state.generator)
    x = x.to(device)
    if valid is not None:  # damaged pixels carry no signal, not even through x_t
        valid = valid.to(device)
        x = x * valid
    known = training_masks(config.batch, config.crop, config.crop, generator=state.generator,
                           families=config.train_masks).to(device)
    with autocast(config.precision, device):
        loss = batch_loss(state.model, config, x, known, schedule, state.generator, valid)
    state.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    for group in state.optimizer.param_groups:
        group["lr"] = config.lr * lr_factor(state.step, config.steps, config.lr_warmup, config.lr_decay)
    state.optimizer.step()
    update_ema(state.ema, state.model, ema_decay(config.ema, state.step) if config.ema > 0 else 0.0)
    state.step += 1
    return loss.item()


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
        Resume from this state.  Its config must equal ``config`` once resolved
        (:func:`resolve_config`), except the fields of :data:`RESUMABLE`, and it
        must have been trained on the same pixels; otherwise ``ValueError``
        names the first field that differs and both values.  ``start`` itself
        is not changed.
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
    Checkpoint after ``config.steps`` steps (or ``until``); its config is the
    resolved one, and its ``timing`` holds the wall time (and the budget, when
    one was given).
    """
    t_start = time.perf_counter()
    clock = BudgetClock(minutes) if minutes is not None else None  # setup counts against the budget
    texture, exclude = _check_images(image, config, name, exclude, valid)
    seen = None if exclude is None else ~exclude & (True if valid is None else valid.reshape(exclude.shape).bool())
    config = resolve_config(config, image, texture, seen=seen, device=device, start=start, init=init,
                            minutes=minutes)
    if start is None:
        start = init_checkpoint(config, texture, None if init is None else init_weights(init))
    state = TrainState.from_checkpoint(start, config, device)
    crops = crop_source(image, config, exclude=exclude, valid=valid)
    schedule = config.diffusion.noise_schedule() if config.method != "regression" else None
    timing = clock.record if clock is not None else {}

    def snapshot() -> Checkpoint:
        timing["seconds"] = time.perf_counter() - t_start
        return state.checkpoint(config, timing)

    state.model.train()
    try:
        while state.step < min(config.steps, until or config.steps) or (clock is not None and clock.calibrating):
            loss = train_step(state, config, crops, schedule, device)
            state.losses.append(loss)
            if on_step is not None:
                on_step(state.step, loss)
            if clock is not None and clock.tick(state.step):
                config = replace(config, steps=clock.steps)  # the schedule follows the new count
            if out is not None and (state.step % save_every == 0 or state.step in (config.steps, until)):
                save_checkpoint(snapshot(), out)
    except KeyboardInterrupt:
        if out is not None:
            save_checkpoint(snapshot(), out)
        raise
    return snapshot()


def _check_images(image: Tensor | Sequence[Tensor], config: TrainConfig, name: str, exclude: Tensor | None,
                  valid: Tensor | None) -> tuple[dict, Tensor | None]:
    """The identity of the training image or corpus, and for one image the pixels no crop may touch
    (``exclude``, default the held-out strip); raises ``ValueError`` for images that cannot train."""
    images = [image] if isinstance(image, Tensor) else list(image)
    for x in images:
        if x.shape[1] != config.model.image_channels:
            raise ValueError(f"the image has {x.shape[1]} channels, the config {config.model.image_channels}")
    if not isinstance(image, Tensor):
        if exclude is not None or valid is not None:
            raise ValueError("a corpus trains on whole images: no exclude or valid map")
        return corpus_meta(images, name), None
    H, W = image.shape[-2:]
    return texture_meta(image, name), held_out_box(H, W, config.held_out).mask(H, W) if exclude is None else exclude
