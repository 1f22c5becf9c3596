"""``inpaint fill``: fill the holes of one image, several, or a folder of them, with one model load.

The fill runs on windows around the holes (:func:`inpaint.windows.fill_windows`,
the planner of ``inpaint restore``), so memory follows the hole area and any
image size works. The hole comes from ``--mask`` (one mask for every image) or,
without it, from each image's alpha channel: transparent pixels are the hole.
Every output is checked (folder, extension, the one overwrite rule) before the
model is loaded.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .batch import Batch, collect_images, mask_for, warn_unmatched_masks
from .common import check_overwrite, friendly_errors, overwrite_option, quiet_option, threads_option
from .outputs import check_folder
from .sampler_options import (
    DEFAULT_ETA, DEFAULT_JUMP_LENGTH, DEFAULT_JUMP_N_SAMPLE, DEFAULT_MARGIN, SAMPLER_NAMES, START_HELP, START_NAMES,
    STEPS_HELP, STRENGTH_HELP, check_start,
)

__all__ = ["fill", "output_paths"]

def output_paths(images: list[Path], out: str, to_folder: bool, samples: int) -> list[list[Path]]:
    """Per image, its output file(s): OUT itself, or OUT/<image name> for several images; with K > 1 samples,
    <stem>_0 ... <stem>_{K-1}."""
    out_path = Path(out)
    if to_folder:
        if out_path.exists() and not out_path.is_dir():
            raise click.BadParameter(f"{out_path} is a file, but several images need an output folder",
                                     param_hint="--out")
        names = [p.name for p in images]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise click.BadParameter(f"two inputs are named {twice[0]}; their outputs would collide in {out_path}",
                                     param_hint="IMAGES")
        targets = [out_path / p.name for p in images]
    else:
        if out_path.is_dir():
            targets = [out_path / images[0].name]
        else:
            targets = [out_path]
    if samples == 1:
        return [[t] for t in targets]
    return [[t.with_name(f"{t.stem}_{s}{t.suffix}") for s in range(samples)] for t in targets]


def _check_sizes(images: list[Path]) -> tuple[int, int]:
    from ..io import image_size

    sizes = [image_size(p) for p in images]
    for path, size in zip(images, sizes):
        if size != sizes[0]:
            raise click.BadParameter(
                f"{path} is {size[1]}x{size[0]} but {images[0]} is {sizes[0][1]}x{sizes[0][0]}; one --mask needs "
                "images of one size (or give no --mask and mark each hole transparent in its alpha)",
                param_hint="IMAGES")
    return sizes[0]


@click.command("fill")
@click.argument("images", nargs=-1, required=True)
@click.option("--mask", default=None,
              help="Image of the images' size, WHITE where the hole is, for every IMAGE; or a folder of masks, "
                   "one per image, matched by file name (a.png <- MASKS/a.png, any image extension) [default: "
                   "each image's alpha channel, transparent = hole].")
@click.option("--checkpoint", required=True,
              help="A checkpoint written by train-texture, or a shipped model: cork (diffusion), cork/regression, "
                   "cork/repaint; also brick, canvas, grass, gravel.")
@click.option("--out", required=True,
              help="Output file for one IMAGE, output folder for several or a folder; with --samples K > 1, "
                   "<name>_0 ... <name>_{K-1}.")
@click.option("--sampler", type=click.Choice(SAMPLER_NAMES), default=None,
              help="Default: the library's fast default (fill.DEFAULT_SAMPLER) for diffusion, repaint for repaint "
                   "models.")
@click.option("--sample-steps", "--steps", "steps", type=click.IntRange(min=1), default=None,
              help=STEPS_HELP + " --steps is the former name.")
@click.option("--eta", type=click.FloatRange(min=0), default=None, help=f"DDIM stochasticity [default: {DEFAULT_ETA:g}].")
@click.option("--jump-length", type=click.IntRange(min=1), default=None,
              help=f"RePaint's jump length [default: {DEFAULT_JUMP_LENGTH}].")
@click.option("--jump-n-sample", type=click.IntRange(min=1), default=None,
              help=f"RePaint's passes over each jump [default: {DEFAULT_JUMP_N_SAMPLE}].")
@click.option("--guidance", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Classifier-free guidance scale (two network calls a step); needs a model trained with "
                   "--cond-dropout.")
@click.option("--start", type=click.Choice(START_NAMES), default=None, help=START_HELP)
@click.option("--strength", type=click.FloatRange(min=0, max=1, min_open=True), default=None, help=STRENGTH_HELP)
@click.option("--no-paste", is_flag=True, help="Do not paste the known pixels into each x0 estimate (ddpm, ddim).")
@click.option("--samples", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the noise, the same for every image.")
@click.option("--margin", type=click.IntRange(min=0), default=None,
              help=f"Pixels of context around each hole [default: {DEFAULT_MARGIN}].")
@click.option("--device", default="cpu", show_default=True)
@click.option("--no-record", is_flag=True,
              help="Write no record beside each output (<output>.json: input, mask and model sha256, seed, sampler, "
                   "the hole's extent, when).")
@overwrite_option
@quiet_option
@threads_option
@friendly_errors
def fill(images, mask, checkpoint, out, sampler, steps, eta, jump_length, jump_n_sample, guidance, start, strength,
         no_paste, samples, seed, margin, device, no_record, overwrite, quiet, threads) -> None:
    """Fill the holes of IMAGE ... (files or folders) with a trained or shipped model.

    The hole is white in --mask, or transparent in each image's alpha channel.
    The model works on windows around the holes, so memory follows the hole
    area and images of any size can be filled; it is loaded once for all
    images. Known pixels come back exactly; each output keeps its input's mode,
    bit depth and colour profile, and a record of the fill is written beside it.
    With several images, one that fails (a missing mask, an unreadable file) is
    reported and the others go on; the command then ends with a summary and a
    non-zero exit.
    """
    check_start(start, strength, sampler)
    files, to_folder = collect_images(images)
    paths = output_paths(files, out, to_folder, samples)
    check_overwrite([p for group in paths for p in group], overwrite)
    from ..image_files import save_format
    from ..io import image_size

    for group in paths:
        for path in group:
            check_folder(path)
            save_format(path)  # a known extension
    for path in files:
        image_size(path)  # every input exists and is an image, before any work

    import torch

    from ..checkpoint import load_checkpoint
    from ..fill import SamplerConfig, sampler_plan
    from ..io import join_alpha, read_image, read_mask, split_alpha, write_image
    from ..record import intervention_record, model_summary, sampler_summary, write_record
    from ..shipped import resolve_checkpoint
    from ..windows import MARGIN, fill_windows
    from .common import resolve_device, set_threads
    from .progress import progress_disabled, step_bar
    from .outputs import check_writable

    set_threads(threads)
    dev = resolve_device(device)
    known_all, mask_folder = None, mask is not None and Path(mask).is_dir()
    if mask_folder:
        warn_unmatched_masks(files, Path(mask))
    elif mask is not None:
        known_all = read_mask(mask, size=_check_sizes(files))
    model_path = resolve_checkpoint(checkpoint)
    ckpt = load_checkpoint(model_path)
    given = {"eta": eta, "jump_length": jump_length, "jump_n_sample": jump_n_sample}
    sampler_config = SamplerConfig.chosen(sampler, steps, paste=not no_paste, guidance=guidance, start=start,
                                          strength=strength, **{k: v for k, v in given.items() if v is not None})
    margin = MARGIN if margin is None else margin
    sampler_plan(ckpt.config, sampler_config)  # a sampler the model cannot run fails now
    model = ckpt.network(device=dev)
    say = (lambda text: None) if quiet else click.echo
    record_model = None if no_record else model_summary(checkpoint, model_path, ckpt)
    record_sampler = None if no_record or ckpt.config.method == "regression" else sampler_summary(
        sampler_config.resolved(ckpt.config.method, unconditional=ckpt.config.unconditional))
    batch = Batch(len(files), say)
    for path, group in zip(files, paths):
        with batch.item(path):
            mask_file = mask_for(path, Path(mask)) if mask_folder else None if mask is None else Path(mask)
            x, info = read_image(path)
            if mask_folder:
                known = read_mask(mask_file, size=tuple(x.shape[-2:]))
            else:
                known = known_all if known_all is not None else split_alpha(x, info, name=str(path))[1]
            colour = x if mask_file is not None else x[:, :-1]
            if colour.shape[1] != ckpt.config.model.image_channels:
                alpha = " (alpha is the mask here, not a channel)" if mask_file is None else ""
                raise ValueError(f"{path} has {colour.shape[1]} channels{alpha} but the model was trained on "
                                 f"{ckpt.config.model.image_channels}")
            check_writable(group, [info] * len(group))
            with step_bar(path.name, disable=True if ckpt.config.method == "regression" else progress_disabled(quiet)) \
                    as progress:
                result = fill_windows(model, ckpt.config, colour, known, margin=margin, sampler=sampler_config,
                                      samples=samples, generator=torch.Generator(dev).manual_seed(seed),
                                      progress=progress)
            for s, (target, filled) in enumerate(zip(group, result[:, 0])):
                image = filled if mask_file is not None else join_alpha(filled, x, known)
                write_image(image, target, info)
                if not no_record:
                    write_record(intervention_record(output=target, image=path, known=known, mask=mask_file,
                                                     model=record_model, seed=seed, sampler=record_sampler,
                                                     command=sys.argv, sample=s), target)
                say(f"wrote {target}")
    batch.finish("filled")

