"""``inpaint tile``: make a texture tile without a visible seam, with a model of the texture itself."""

from __future__ import annotations

from pathlib import Path

import click

from .common import (Interrupted, check_overwrite, friendly_errors, init_option, overwrite_option, quiet_option,
                     resolve_device, set_threads, threads_option)

DEFAULT_MINUTES = 3.0
"""Training budget of the model ``tile`` fine-tunes on the image when no --checkpoint is given."""


@click.command("tile")
@click.argument("image")
@click.option("--out", required=True, help="The tileable image (same size, mode and profile as IMAGE).")
@click.option("--checkpoint", default=None,
              help="Fill the seams with this model (a checkpoint file, or a shipped one such as cork) instead of "
                   "training one on IMAGE.")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_MINUTES, show_default=True,
              help="Training budget of the model of IMAGE (fine-tuned from the shipped texture prior by default).")
@click.option("--band", type=click.IntRange(min=2), default=16, show_default=True,
              help="Width in pixels of the band re-synthesized across each seam.")
@click.option("--preview", default=None, help="Also write the result tiled 2x2 to this file, to look at the seams.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the training and of the fill.")
@click.option("--device", default="cpu", show_default=True, help="cpu, or cuda when a GPU is available.")
@init_option("auto")
@overwrite_option
@quiet_option
@threads_option
@friendly_errors
def tile(image, out, checkpoint, minutes, band, preview, seed, device, init, overwrite, quiet, threads) -> None:
    """Make IMAGE tile seamlessly: re-synthesize a band across its wrap seams, keep every other pixel.

    Without --checkpoint, a diffusion model trains on IMAGE itself for --minutes
    (from the shipped texture prior where it fits), then fills the band.
    """
    import torch

    from ..checkpoint import load_checkpoint
    from ..io import read_image, write_image
    from ..prior import init_for
    from ..restore import restore_config
    from ..shipped import resolve_checkpoint
    from ..tile import make_tileable, seam_energy
    from ..train import train
    from .outputs import check_writable
    from .progress import LazyBar, progress_disabled, step_bar

    outputs = [Path(out)] + ([Path(preview)] if preview else [])
    check_overwrite(outputs, overwrite)
    set_threads(threads)
    dev = resolve_device(device)
    x, info = read_image(image)
    if info.channels in (2, 4):
        raise click.BadParameter(f"{image} has an alpha channel; tile needs an opaque image", param_hint="IMAGE")
    check_writable(outputs, [info] * len(outputs))
    say = (lambda text: None) if quiet else click.echo
    if checkpoint:
        ckpt = load_checkpoint(resolve_checkpoint(checkpoint))
    else:
        config = restore_config(x.shape[1], seed=seed)
        bar = LazyBar(config.steps, 0, config.batch, "train diffusion", minutes=minutes, disable=quiet)
        try:
            ckpt = train(x, config, device=dev, on_step=bar.step, name=Path(image).name, minutes=minutes,
                         exclude=torch.zeros(x.shape[-2:], dtype=torch.bool), init=init_for(init, config))
        except KeyboardInterrupt:
            raise Interrupted("interrupted while training; nothing written") from None
        finally:
            bar.close()
    with step_bar("fill the seams", disable=progress_disabled(quiet)) as progress:
        result = make_tileable(ckpt.network(device=dev), ckpt.config, x, band=band,
                               generator=torch.Generator(dev).manual_seed(seed), progress=progress)
    write_image(result, out, info)
    say(f"wrote {out}; seam energy {seam_energy(x):.2f} -> {seam_energy(result):.2f} (1.00: no seam)")
    if preview:
        write_image(result.repeat(1, 1, 2, 2), preview, info)
        say(f"wrote {preview} (2x2)")
