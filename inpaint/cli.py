"""The ``inpaint`` command line: thin wrappers that build configs and call the library."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from . import demo as demo_lib
from .checkpoint import CheckpointError, load_checkpoint
from .compare import parse_methods
from .cli_common import LazyBar, check_init_option, friendly_errors, init_option, resolve_device
from .cli_compare import compare as compare_command
from .cli_compare import merge as merge_command
from .cli_fill import fill as fill_command
from .cli_masks import masks as masks_group
from .cli_restore import restore as restore_command
from .cli_serve import serve as serve_command
from .config import LR_DECAYS, PRECISIONS, TrainConfig
from .diffusion import NOISE_LEVELS, PREDICTIONS, WEIGHTINGS, DiffusionConfig
from .io import read_image
from .masks import parse_families
from .orientation import AUGMENTATIONS
from .prior import init_for
from .schedule import SCHEDULES
from .shipped import resolve_checkpoint, resolve_texture
from .train import train
from .training_report import write_training_report
from .unet import METHODS, ModelConfig, count_parameters

DEFAULT_METHODS = "regression,diffusion"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="inpaint")
def cli() -> None:
    """Fill holes in textures and images with small models trained on one image."""


cli.add_command(masks_group)
cli.add_command(compare_command)
cli.add_command(merge_command)
cli.add_command(restore_command)
cli.add_command(fill_command)
cli.add_command(serve_command)


@cli.command("train-texture")
@click.argument("image")
@click.option("--method", default=DEFAULT_METHODS, show_default=True, help="regression, diffusion, repaint, comma-separated, or all.")
@click.option("--steps", type=click.IntRange(min=1), default=TrainConfig.steps, show_default=True, help="Optimizer steps per method.")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Train each method for this many minutes of wall time instead of --steps.")
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
@click.option("--ema", type=click.FloatRange(0, 1, max_open=True), default=TrainConfig.ema, show_default=True, help="EMA decay (0: off).")
@click.option("--train-masks", default=TrainConfig.train_masks, show_default=True, help="Hole families, e.g. thick,box or thick:0.7,box:0.3.")
@click.option("--held-out", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=TrainConfig.held_out,
              show_default=True, help="Width fraction of the right strip that training never sees.")
@click.option("--augment", type=click.Choice(AUGMENTATIONS), default=TrainConfig.augment, show_default=True,
              help="Random symmetries of the crops; auto: flips and quarter turns for isotropic textures only.")
@click.option("--no-augment", is_flag=True, help="Same as --augment none.")
@click.option("--precision", type=click.Choice(PRECISIONS), default=TrainConfig.precision, show_default=True,
              help="Arithmetic of training; auto: bfloat16 where the processor has it.")
@init_option("auto")
@friendly_errors
def train_texture(image, method, steps, minutes, crop, batch, lr, lr_warmup, lr_decay, seed, out, device, resume, schedule,
                  timesteps, prediction, weighting, noise_levels, ema, train_masks, held_out, augment, no_augment,
                  precision, init) -> None:
    """Train models on random crops of one texture IMAGE (a file, or a shipped texture such as cork).

    Writes one checkpoint per method (<method>.pt), the loss curves (loss.png)
    and fills of held-out crops (fills.png) into --out.
    """
    try:
        methods = parse_methods(method, allowed=METHODS)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--method") from None
    if minutes is not None and resume:
        raise click.BadParameter("a time budget starts new runs; resume with --steps instead", param_hint="--minutes")
    parse_families(train_masks)
    check_init_option(init, methods)
    dev = resolve_device(device)
    pixels, _ = read_image(resolve_texture(image))
    out = Path(out) if out else Path("runs") / Path(image).stem
    diffusion = DiffusionConfig(schedule, timesteps, prediction, weighting, noise_levels=noise_levels)
    for name in methods:
        config = TrainConfig(
            model=ModelConfig(method=name, image_channels=pixels.shape[1]), diffusion=diffusion, crop=crop,
            batch=batch, steps=steps, lr=lr, lr_warmup=lr_warmup, lr_decay=lr_decay, seed=seed, ema=ema,
            held_out=held_out, augment="none" if no_augment else augment, train_masks=train_masks, precision=precision,
        )
        path = out / f"{name}.pt"
        start = None
        if path.exists():
            if not resume:
                raise click.ClickException(f"{path} exists: pass --resume to continue it, or choose another --out")
            start = load_checkpoint(path)
            if start.config.method != name:
                raise CheckpointError(f"{path} holds a {start.config.method} model, not {name}")
        bar = LazyBar(steps, start.step if start else 0, batch, name, minutes=minutes)
        try:
            ckpt = train(pixels, config, start=start, out=path, device=dev, on_step=bar.step, name=Path(image).name,
                         minutes=minutes, init=init_for(init, config) if start is None else None)
        except KeyboardInterrupt:
            raise click.ClickException(f"interrupted; progress saved in {path}, continue with --resume") from None
        finally:
            bar.close()
        click.echo(f"{name}: {ckpt.step} steps from {ckpt.config.init.split('@')[0]} (augment {ckpt.config.augment}) "
                   f"in {ckpt.timing['seconds'] / 60:.1f} min, saved {path}")
    write_training_report(pixels, out, device=dev)
    click.echo(f"loss curves: {out / 'loss.png'}; fills of held-out crops: {out / 'fills.png'}")


@cli.command()
@click.argument("checkpoint")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@friendly_errors
def info(checkpoint, as_json) -> None:
    """Print what CHECKPOINT holds: method, config, step and parameter count.

    CHECKPOINT is a file or a shipped model: cork (its diffusion model),
    cork/regression, ... The file's sha256 is that of the checkpoint file; the
    texture's is that of its pixels as float32 in [-1, 1] (what compare checks
    a model against), not of the image file.
    """
    import hashlib
    import json

    path = resolve_checkpoint(checkpoint)
    ckpt = load_checkpoint(path)
    holds = [name for name, present in (("weights", True), ("EMA weights", ckpt.ema is not None),
                                        ("optimizer state", ckpt.optimizer is not None),
                                        ("generator state", ckpt.generator is not None),
                                        (f"loss history ({len(ckpt.losses)} steps)", len(ckpt.losses) > 0)) if present]
    record = {"file": str(path), "file_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
              "method": ckpt.config.method, "step": ckpt.step, "parameters": count_parameters(ckpt.network()),
              "holds": holds, "texture": ckpt.texture, "timing": ckpt.timing, "config": asdict(ckpt.config)}
    if as_json:
        click.echo(json.dumps(record, indent=2, default=str))
        return
    click.echo(f"method: {ckpt.config.method}")
    click.echo(f"step: {ckpt.step}")
    click.echo(f"parameters: {record['parameters']}")
    click.echo(f"file: {path} (sha256 {record['file_sha256'][:12]})")
    click.echo(f"holds: {', '.join(holds)}")
    tex = ckpt.texture
    if tex.get("images"):
        click.echo(f"corpus: {tex.get('name')} ({tex['images']} images, {tex.get('pixels', 0) / 1e6:.1f} Mpixel, "
                   f"sha256 of its images' digests {tex.get('sha256', '')[:12]})")
    elif tex:
        click.echo(f"texture: {tex.get('name')} ({tex.get('height')}x{tex.get('width')}, "
                   f"sha256 of its float32 pixels {tex.get('sha256', '')[:12]})")
    if ckpt.timing:
        click.echo("timing: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                          for k, v in ckpt.timing.items()))
    click.echo("config:")
    for key, value in asdict(ckpt.config).items():
        if isinstance(value, dict):
            click.echo(f"  {key}: " + ", ".join(f"{k}={v}" for k, v in value.items()))
        else:
            click.echo(f"  {key}: {value}")


@cli.command()
@click.option("--texture", default=demo_lib.DEMO_TEXTURE, show_default=True,
              help="Texture to evaluate on: a file, or a shipped one (brick, canvas, cork, grass, gravel).")
@click.option("--checkpoints", default=None, help="Folder with regression.pt and diffusion.pt [default: the shipped ones].")
@click.option("--train-steps", type=click.IntRange(min=1), default=None, help="Train both models for this many steps instead.")
@click.option("--crops", type=click.IntRange(min=1), default=16, show_default=True, help="Held-out crops to fill.")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="DDPM steps of diffusion [default: all T].")
@click.option("--out", default="out/demo", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace a demo report already in --out.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars and no messages but errors.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="CPU threads for torch.")
@friendly_errors
def demo(texture, checkpoints, train_steps, crops, steps, out, seed, overwrite, quiet, threads) -> None:
    """Regression against diffusion on held-out crops of a shipped texture: a table and pictures."""
    from .cli_common import check_overwrite, go_quiet, set_threads
    from .cli_compare import REPORT_FILES

    check_overwrite([Path(out) / name for name in REPORT_FILES], overwrite)
    set_threads(threads)
    if quiet:
        go_quiet()
    demo_lib.run_demo(texture=texture, checkpoints=checkpoints, train_steps=train_steps, crops=crops, out=Path(out),
                      seed=seed, steps=steps, echo=(lambda text: None) if quiet else click.echo)


def main() -> None:
    cli(prog_name="inpaint")


if __name__ == "__main__":
    main()
