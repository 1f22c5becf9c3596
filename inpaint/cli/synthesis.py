"""``inpaint tile`` and ``inpaint extend``: make a texture tile without a seam, or grow it, with a model of the
texture itself."""

from __future__ import annotations

from pathlib import Path

import click

from .common import (Interrupted, check_overwrite, friendly_errors, init_option, overwrite_option, quiet_option,
                     resolve_device, set_threads, threads_option)

DEFAULT_MINUTES = 3.0
"""Training budget of the model ``tile`` and ``extend`` fine-tune on the image when no --checkpoint is given."""


def model_of_image(x, image: str, checkpoint: str | None, minutes: float, init: str, seed: int, dev, quiet: bool):
    """The given checkpoint, or a diffusion model trained on all of ``x`` for ``minutes`` (from ``init``)."""
    from ..checkpoint import load_checkpoint
    from ..prior import init_for
    from ..restore import restore_config, train_on_texture
    from ..shipped import resolve_checkpoint
    from .progress import LazyBar

    if checkpoint:
        return load_checkpoint(resolve_checkpoint(checkpoint))
    config = restore_config(x.shape[1], seed=seed)
    bar = LazyBar(config.steps, 0, config.batch, "train diffusion", minutes=minutes, disable=quiet)
    try:
        return train_on_texture(x, config, device=dev, on_step=bar.step, name=Path(image).name, minutes=minutes,
                                init=init_for(init, config))
    except KeyboardInterrupt:
        raise Interrupted("interrupted while training; nothing written") from None
    finally:
        bar.close()


def output_options(fn):
    """--overwrite, --quiet, --threads, and one-line errors."""
    return overwrite_option(quiet_option(threads_option(friendly_errors(fn))))


def model_options(fn):
    """--checkpoint, --minutes, --seed, --device, --init: where the model of the texture comes from."""
    for option in reversed([
        click.option("--checkpoint", default=None,
                     help="Use this model (a checkpoint file, or a shipped one such as cork) instead of training "
                          "one on IMAGE."),
        click.option("--minutes", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_MINUTES,
                     show_default=True,
                     help="Training budget of the model of IMAGE (fine-tuned from the shipped texture prior by "
                          "default)."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of the training and of the fill."),
        click.option("--device", default="cpu", show_default=True, help="cpu, or cuda when a GPU is available."),
        init_option("auto"),
    ]):
        fn = option(fn)
    return fn


@click.command("tile")
@click.argument("image")
@click.option("--out", required=True, help="The tileable image (same size, mode and profile as IMAGE).")
@click.option("--band", type=click.IntRange(min=2), default=16, show_default=True,
              help="Width in pixels of the band re-synthesized across each seam.")
@click.option("--preview", default=None, help="Also write the result tiled 2x2 to this file, to look at the seams.")
@model_options
@output_options
def tile(image, out, band, preview, checkpoint, minutes, seed, device, init, overwrite, quiet, threads) -> None:
    """Make IMAGE tile seamlessly: re-synthesize a band across its wrap seams, keep every other pixel.

    Without --checkpoint, a diffusion model trains on IMAGE itself for --minutes
    (from the shipped texture prior where it fits), then fills the band.
    """
    import torch

    from ..tile import make_tileable, seam_energy
    from .progress import progress_disabled, step_bar

    x, info, dev, outputs = _prepare(image, [out, preview], overwrite, threads, device)
    ckpt = model_of_image(x, image, checkpoint, minutes, init, seed, dev, quiet)
    with step_bar("fill the seams", disable=progress_disabled(quiet)) as progress:
        result = make_tileable(ckpt.network(device=dev), ckpt.config, x, band=band,
                               generator=torch.Generator(dev).manual_seed(seed), progress=progress)
    _write(result, out, info, quiet, f"seam energy {seam_energy(x):.2f} -> {seam_energy(result):.2f} (1.00: no seam)")
    if preview:
        _write(result.repeat(1, 1, 2, 2), preview, info, quiet, "the result tiled 2x2")


@click.command("extend")
@click.argument("image")
@click.option("--size", required=True, help="The new size, WIDTHxHEIGHT (e.g. 1024x1024); IMAGE stays top left.")
@click.option("--out", required=True, help="The larger texture.")
@click.option("--cell", type=click.IntRange(min=8), default=64, show_default=True,
              help="Side of the cells the canvas grows by, each filled from what is known around it.")
@model_options
@output_options
def extend(image, size, out, cell, checkpoint, minutes, seed, device, init, overwrite, quiet, threads) -> None:
    """Grow the texture IMAGE to --size by outpainting, cell by cell, with a model of IMAGE; its pixels stay.

    Without --checkpoint, a diffusion model trains on IMAGE itself for --minutes
    (from the shipped texture prior where it fits).  Each cell starts from
    PatchMatch's synthesis of the whole canvas from IMAGE's patches, noised
    (SDEdit), so the model redraws what PatchMatch copied.
    """
    import torch

    from ..extend import extend as grow
    from .progress import progress_disabled, step_bar

    try:
        new_w, new_h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{size!r} is not WIDTHxHEIGHT, e.g. 1024x768", param_hint="--size") from None
    x, info, dev, _ = _prepare(image, [out], overwrite, threads, device)
    if new_h < x.shape[-2] or new_w < x.shape[-1]:
        raise click.BadParameter(f"{new_w}x{new_h} is smaller than IMAGE ({x.shape[-1]}x{x.shape[-2]})",
                                 param_hint="--size")
    ckpt = model_of_image(x, image, checkpoint, minutes, init, seed, dev, quiet)
    with step_bar("grow", disable=progress_disabled(quiet), unit="cell") as progress:
        result = grow(ckpt.network(device=dev), ckpt.config, x, new_h, new_w, cell=cell,
                      generator=torch.Generator(dev).manual_seed(seed), progress=progress)
    _write(result, out, info, quiet, f"{x.shape[-1]}x{x.shape[-2]} -> {new_w}x{new_h}")


def _prepare(image: str, outs: list, overwrite: bool, threads, device):
    """The opaque IMAGE, its info, the device and the output paths, every output checked before any work."""
    from ..io import read_image
    from .outputs import check_writable

    outputs = [Path(o) for o in outs if o]
    check_overwrite(outputs, overwrite)
    set_threads(threads)
    dev = resolve_device(device)
    x, info = read_image(image)
    if info.channels in (2, 4):
        raise click.BadParameter(f"{image} has an alpha channel; this command needs an opaque image",
                                 param_hint="IMAGE")
    check_writable(outputs, [info] * len(outputs))
    return x, info, dev, outputs


def _write(result, path, info, quiet: bool, what: str) -> None:
    from ..io import write_image

    write_image(result, path, info)
    if not quiet:
        click.echo(f"wrote {path}: {what}")
