"""``inpaint train-texture``: train models on one texture, then write their loss curves and preview fills."""

from __future__ import annotations

from pathlib import Path

import click

from ..checkpoint import CheckpointError, load_checkpoint
from ..compare import parse_methods
from ..config import LR_DECAYS, PRECISIONS, TrainConfig
from ..diffusion import NOISE_LEVELS, PREDICTIONS, WEIGHTINGS, DiffusionConfig
from ..io import read_image
from ..masks import parse_families
from ..orientation import AUGMENTATIONS
from ..prior import init_for
from ..schedule import SCHEDULES
from ..shipped import resolve_texture
from ..train import train
from ..unet import BOTTLENECKS, LEARNED_METHODS, ModelConfig
from .common import (Interrupted, check_init_option, friendly_errors, init_option, quiet_option, resolve_device,
                     set_threads, threads_option)
from .progress import LazyBar
from .training_report import write_training_report

DEFAULT_METHODS = "regression,diffusion"


@click.command("train-texture")
@click.argument("image")
@click.option("--method", default=DEFAULT_METHODS, show_default=True, help="regression, diffusion, repaint, comma-separated, or all.")
@click.option("--train-steps", "--steps", "steps", type=click.IntRange(min=1), default=TrainConfig.steps, show_default=True,
              help="Optimizer steps per method (--steps: the former name).")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Train each method for this many minutes of wall time instead of --train-steps.")
@click.option("--crop", type=click.IntRange(min=8), default=TrainConfig.crop, show_default=True, help="Side of the square training crops.")
@click.option("--batch", type=click.IntRange(min=1), default=TrainConfig.batch, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=TrainConfig.lr, show_default=True, help="Peak learning rate.")
@click.option("--lr-warmup", type=click.IntRange(min=0), default=TrainConfig.lr_warmup, show_default=True,
              help="Steps of learning-rate warm-up.")
@click.option("--lr-decay", type=click.Choice(LR_DECAYS), default=TrainConfig.lr_decay, show_default=True,
              help="Decay of the learning rate to 0 at the last step.")
@click.option("--seed", type=int, default=TrainConfig.seed, show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Output folder [default: runs/<image name>].")
@click.option("--device", default="cpu", show_default=True, help="cpu, or cuda when a GPU is available.")
@click.option("--resume", is_flag=True, help="Continue the checkpoints in --out up to --steps.")
@click.option("--schedule", type=click.Choice(SCHEDULES), default=DiffusionConfig.schedule, show_default=True)
@click.option("--timesteps", type=click.IntRange(min=2), default=DiffusionConfig.timesteps, show_default=True,
              help="T, the length of the diffusion.")
@click.option("--prediction", type=click.Choice(PREDICTIONS), default=DiffusionConfig.prediction, show_default=True)
@click.option("--weighting", type=click.Choice(WEIGHTINGS), default=DiffusionConfig.weighting, show_default=True)
@click.option("--noise-levels", type=click.Choice(NOISE_LEVELS), default=DiffusionConfig.noise_levels, show_default=True,
              help="How training draws the noise level: uniform t, or log-normal sigma.")
@click.option("--train-strength", type=click.FloatRange(0, 1, min_open=True), default=DiffusionConfig.train_strength,
              show_default=True, help="Train only the noise levels of the chain's first share (fills then start from "
                                      "a guide: fill --start patchmatch --strength at most this).")
@click.option("--bottleneck", type=click.Choice(BOTTLENECKS), default=ModelConfig.bottleneck, show_default=True,
              help="The network's innermost block: plain, dilated (no new parameters), or with global self-attention "
                   "or a Fourier block (about 4 000 more parameters each).")
@click.option("--ema", type=click.FloatRange(0, 1, max_open=True), default=TrainConfig.ema, show_default=True, help="EMA decay (0: off).")
@click.option("--train-masks", default=TrainConfig.train_masks, show_default=True, help="Hole families, e.g. thick,box or thick:0.7,box:0.3.")
@click.option("--held-out", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=TrainConfig.held_out,
              show_default=True, help="Width fraction of the right strip that training never sees.")
@click.option("--augment", type=click.Choice(AUGMENTATIONS), default=TrainConfig.augment, show_default=True,
              help="Random symmetries of the crops; auto: flips and quarter turns for isotropic textures only.")
@click.option("--no-augment", is_flag=True, help="Same as --augment none.")
@click.option("--precision", type=click.Choice(PRECISIONS), default=TrainConfig.precision, show_default=True,
              help="Arithmetic of training; auto: bfloat16 where the processor has it.")
@click.option("--cond-dropout", type=click.FloatRange(0, 1, max_open=True), default=TrainConfig.cond_dropout,
              show_default=True, help="Share of diffusion crops trained without their condition, so that the model "
                                      "also fills unconditionally (fill --sampler repaint) and with --guidance.")
@init_option("auto")
@quiet_option
@threads_option
@friendly_errors
def train_texture(image, method, steps, minutes, crop, batch, lr, lr_warmup, lr_decay, seed, out, device, resume, schedule,
                  timesteps, prediction, weighting, noise_levels, train_strength, bottleneck, ema, train_masks, held_out, augment, no_augment,
                  precision, cond_dropout, init, quiet, threads) -> None:
    """Train models on random crops of one texture IMAGE (a file, or a shipped texture such as cork).

    Writes one checkpoint per method (<method>.pt), the loss curves (loss.png)
    and fills of held-out crops (fills.png) into --out.
    """
    try:
        methods = parse_methods(method, allowed=LEARNED_METHODS)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--method") from None
    if minutes is not None and resume:
        raise click.BadParameter("a time budget starts new runs; resume with --train-steps instead", param_hint="--minutes")
    parse_families(train_masks)
    check_init_option(init, methods)
    set_threads(threads)
    dev = resolve_device(device)
    say = (lambda text: None) if quiet else click.echo
    pixels, _ = read_image(resolve_texture(image))
    out = Path(out) if out else Path("runs") / Path(image).stem
    diffusion = DiffusionConfig(schedule, timesteps, prediction, weighting, noise_levels=noise_levels,
                                train_strength=train_strength)
    for name in methods:
        config = TrainConfig(
            model=ModelConfig(method=name, image_channels=pixels.shape[1], bottleneck=bottleneck), diffusion=diffusion,
            crop=crop,
            batch=batch, steps=steps, lr=lr, lr_warmup=lr_warmup, lr_decay=lr_decay, seed=seed, ema=ema,
            held_out=held_out, augment="none" if no_augment else augment, train_masks=train_masks, precision=precision,
            cond_dropout=cond_dropout if name == "diffusion" else 0.0,
        )
        path = out / f"{name}.pt"
        start = None
        if path.exists():
            if not resume:
                raise click.ClickException(f"{path} exists: pass --resume to continue it, or choose another --out")
            start = load_checkpoint(path)
            if start.config.method != name:
                raise CheckpointError(f"{path} holds a {start.config.method} model, not {name}")
        bar = LazyBar(steps, start.step if start else 0, batch, name, minutes=minutes, disable=quiet)
        try:
            ckpt = train(pixels, config, start=start, out=path, device=dev, on_step=bar.step, name=Path(image).name,
                         minutes=minutes, init=init_for(init, config) if start is None else None)
        except KeyboardInterrupt:
            raise Interrupted(f"interrupted; progress saved in {path}, continue with --resume") from None
        finally:
            bar.close()
        say(f"{name}: {ckpt.step} steps from {ckpt.config.init.split('@')[0]} (augment {ckpt.config.augment}) "
                   f"in {ckpt.timing['seconds'] / 60:.1f} min, saved {path}")
    write_training_report(pixels, out, device=dev)
    say(f"loss curves: {out / 'loss.png'}; fills of held-out crops: {out / 'fills.png'}")
