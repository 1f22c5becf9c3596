"""``inpaint restore``: train on a damaged image, then fill its holes, in one command."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path

import click
import torch

from ..checkpoint import load_checkpoint
from ..config import TrainConfig
from ..fill import SamplerConfig
from ..io import read_mask, read_stack, write_stack
from ..prior import init_for
from ..record import intervention_record, restorer_summary, sampler_summary, write_record
from ..restore import DEFAULT_TRAIN_STEPS, MARGIN, restore as restore_image, restore_config
from ..shipped import resolve_checkpoint
from ..unet import LEARNED_METHODS
from .batch import Batch, collect_images, mask_for, warn_unmatched_masks
from .common import (Interrupted, check_init_option, check_overwrite, friendly_errors, init_option, overwrite_option, quiet_option,
                     resolve_device, set_threads, threads_option)
from .outputs import check_writable
from .sampler_options import START_HELP, START_NAMES, STEPS_HELP, STRENGTH_HELP, check_start
from .progress import LazyBar, progress_disabled, step_bar


def output_paths(outs: tuple[str, ...], images: tuple[str, ...], samples: int) -> list[list[Path]]:
    """One list of output files per sample: OUT itself, or OUT_0 ... OUT_{K-1} for K > 1 samples."""
    if len(outs) != len(images):
        raise click.BadParameter(f"got {len(images)} image(s) but {len(outs)} --out; give one --out per image, "
                                 "in the same order", param_hint="--out")
    paths = [Path(o) for o in outs]
    if samples == 1:
        return [paths]
    return [[p.with_name(f"{p.stem}_{s}{p.suffix}") for p in paths] for s in range(samples)]


def check_checkpoint_path(path: str | None) -> None:
    if path is not None and Path(path).is_dir():
        raise click.BadParameter(f"{path} is a folder; give a file name such as model.pt",
                                 param_hint="--save-checkpoint")


@click.command("restore")
@click.argument("images", nargs=-1, required=True)
@click.option("--mask", required=True,
              help="PNG of the image's size, WHITE where the image is damaged; or a folder of masks, one per image, "
                   "matched by file name (a.png <- MASKS/a.png, any image extension), each image restored on its "
                   "own.")
@click.option("--out", "outs", multiple=True, required=True,
              help="Output file, one per IMAGE in the same order; with a folder of masks, one output folder. With "
                   "--samples K > 1, <name>_0 ... <name>_{K-1}.")
@click.option("--method", type=click.Choice(LEARNED_METHODS), default="diffusion", show_default=True)
@click.option("--train-steps", type=click.IntRange(min=1), default=DEFAULT_TRAIN_STEPS, show_default=True,
              help="Optimizer steps of training on the image itself.")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Train for this many minutes of wall time instead of --train-steps.")
@click.option("--sample-steps", type=click.IntRange(min=1), default=None, help=STEPS_HELP)
@click.option("--start", type=click.Choice(START_NAMES), default=None, help=START_HELP)
@click.option("--strength", type=click.FloatRange(min=0, max=1, min_open=True), default=None, help=STRENGTH_HELP)
@click.option("--samples", type=click.IntRange(min=1), default=1, show_default=True, help="Independent restorations.")
@click.option("--seed", type=int, default=TrainConfig.seed, show_default=True, help="Seed of the training and of the fill.")
@click.option("--crop", type=click.IntRange(min=8), default=TrainConfig.crop, show_default=True,
              help="Side of the training crops, a multiple of 8 no larger than the image.")
@click.option("--batch", type=click.IntRange(min=1), default=TrainConfig.batch, show_default=True,
              help="Training crops per step.")
@click.option("--margin", type=click.IntRange(min=0), default=MARGIN, show_default=True,
              help="Pixels of context around each hole during the fill.")
@click.option("--save-checkpoint", default=None, help="Also keep the trained model in this file.")
@click.option("--device", default="cpu", show_default=True, help="cpu, or cuda when a GPU is available.")
@click.option("--checkpoint", default=None,
              help="Fill with this model (e.g. an earlier --save-checkpoint of the same image) instead of training; "
                   "the training options are then unused.")
@init_option("scratch")
@click.option("--no-record", is_flag=True,
              help="Write no record beside each output (<output>.json: input, mask and model, seed, sampler, the "
                   "hole's extent, when).")
@overwrite_option
@quiet_option
@threads_option
@friendly_errors
def restore(images, mask, outs, method, train_steps, minutes, sample_steps, start, strength, samples, seed, crop, batch, margin,
            save_checkpoint, device, checkpoint, init, no_record, overwrite, quiet, threads) -> None:
    """Restore the damaged pixels of IMAGE, marked white in --mask, from the image's own pixels.

    Trains a small model on crops of IMAGE (no other data, no checkpoint
    needed), then fills the holes; --checkpoint fills with a model trained
    before instead.  Several IMAGEs (maps of one material, of the same size) go
    into one model and come out as several files, one --out each, every file in
    its own mode and bit depth.  With a folder of masks, each IMAGE (files or
    folders) is restored on its own with its mask into the --out folder; one
    that fails is reported and the others go on, and the command ends with a
    summary and a non-zero exit if any failed.
    """

    check_start(start, strength)
    check_model_options(method, checkpoint, save_checkpoint, init)
    set_threads(threads)
    dev = resolve_device(device)
    trained = load_checkpoint(resolve_checkpoint(checkpoint)) if checkpoint else None
    say = (lambda text: None) if quiet else click.echo
    options = dict(method=method, train_steps=train_steps, minutes=minutes, sample_steps=sample_steps, start=start,
                   strength=strength, samples=samples, seed=seed, crop=crop, batch=batch, margin=margin,
                   save_checkpoint=save_checkpoint, dev=dev, checkpoint=checkpoint, trained=trained, init=init,
                   no_record=no_record,
                   quiet=quiet, say=say)
    if Path(mask).is_dir():
        if save_checkpoint:
            raise click.BadParameter("each image of a folder of masks trains its own model; --save-checkpoint "
                                     "keeps one", param_hint="--save-checkpoint")
        files, _ = collect_images(images)
        if len(outs) != 1 or Path(outs[0]).is_file():
            raise click.BadParameter("with a folder of masks, give one --out: the output folder", param_hint="--out")
        groups = [output_paths((str(Path(outs[0]) / f.name),), (str(f),), samples) for f in files]
        check_overwrite([p for paths in groups for group in paths for p in group], overwrite)
        warn_unmatched_masks(files, Path(mask))
        done = Batch(len(files), say)
        for image, paths in zip(files, groups):
            with done.item(image):
                restore_files((str(image),), str(mask_for(image, Path(mask))), paths, **options)
        done.finish("restored")
        return
    paths = output_paths(outs, images, samples)
    check_overwrite([p for group in paths for p in group] + ([save_checkpoint] if save_checkpoint else []), overwrite)
    restore_files(images, mask, paths, **options)


def check_model_options(method: str, checkpoint: str | None, save_checkpoint: str | None, init: str) -> None:
    """The options of the model, which concern every image: checked once, before any image is read."""
    if checkpoint and save_checkpoint:
        raise click.BadParameter("nothing is trained with --checkpoint, so there is nothing to save",
                                 param_hint="--save-checkpoint")
    if checkpoint and init != "scratch":
        raise click.BadParameter("nothing is trained with --checkpoint, so there is nothing to start from",
                                 param_hint="--init")
    check_init_option(init, [method])
    check_checkpoint_path(save_checkpoint)


def restore_files(images: tuple[str, ...], mask: str, paths: list[list[Path]], *, method, train_steps, minutes,
                  sample_steps, start, strength, samples, seed, crop, batch, margin, save_checkpoint, dev, checkpoint,
                  trained, init, no_record, quiet, say) -> None:
    """Restore one stack of IMAGEs into ``paths`` (per sample, one file per image) with the ``trained`` model
    (the loaded ``checkpoint``), or one trained on them, and write the records."""
    x, infos = read_stack(images)
    known = read_mask(mask, size=tuple(x.shape[-2:]))
    config = restore_config(x.shape[1], method=method, steps=train_steps, crop=crop, batch=batch, seed=seed)
    start_from = None if trained else init_for(init, config)
    check_writable([p for group in paths for p in group], infos * samples)
    bar = LazyBar(train_steps, 0, batch, f"train {method}", minutes=minutes)
    fill_bar = ExitStack()
    fill_progress = None

    def progress(done: int, total: int) -> None:  # the fill's bar opens when training is over
        nonlocal fill_progress
        if fill_progress is None:
            bar.close()
            fill_progress = fill_bar.enter_context(step_bar("fill", disable=progress_disabled(quiet)))
        fill_progress(done, total)

    try:
        result, ckpt = restore_image(
            x, known, config, sampler=SamplerConfig(steps=sample_steps, start=start, strength=strength), samples=samples,
            generator=torch.Generator(dev).manual_seed(seed), device=dev, margin=margin,
            on_step=None if quiet else bar.step, progress=progress, checkpoint_path=save_checkpoint,
            name=Path(images[0]).name, trained=trained, minutes=minutes, init=start_from,
        )
    except KeyboardInterrupt:
        kept = f"; the model so far is in {save_checkpoint}" if save_checkpoint else ""
        raise Interrupted(f"interrupted, nothing written{kept}") from None
    finally:
        bar.close()
        fill_bar.close()
    model = None if no_record else restorer_summary(ckpt, checkpoint or save_checkpoint)
    sampler = None if no_record or ckpt.config.method == "regression" else sampler_summary(
        SamplerConfig(steps=sample_steps, start=start, strength=strength).resolved(
            ckpt.config.method, unconditional=ckpt.config.unconditional))
    for s, (group, restored) in enumerate(zip(paths, result.cpu())):
        write_stack(restored[0], group, infos)
        for path, image in zip(group, images):
            if not no_record:
                write_record(intervention_record(output=path, image=image, known=known, mask=mask, model=model,
                                                 seed=seed, sampler=sampler, command=sys.argv, sample=s), path)
            say(f"wrote {path}")
    if save_checkpoint:
        say(f"model: {save_checkpoint}")
