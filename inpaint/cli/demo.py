"""``inpaint demo``: regression, diffusion and PatchMatch on held-out crops of a shipped texture.

It is :func:`inpaint.compare.run_compare` with three methods, the shipped
checkpoints, ``fill``'s default sampler and one sample per crop, so its
numbers are those of the comparison protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from ..shipped import DEMO_TEXTURE
from .common import friendly_errors
from .sampler_options import DEFAULT_STEPS

DEMO_METHODS = ("regression", "diffusion", "patchmatch")
DEMO_MASKS = "thick-64"
DEMO_CROPS = 16


def run_demo(*, out: Path, texture: str = DEMO_TEXTURE, checkpoints: str | None = None,
             train_steps: int | None = None, crops: int = DEMO_CROPS, seed: int = 0, steps: int | None = None,
             echo: Callable[[str], None] = print, bars=None) -> list[dict]:
    """Fill held-out crops of ``texture`` with regression, diffusion and PatchMatch; print and save the
    comparison in ``out``.

    Uses the checkpoints in ``checkpoints`` (default: the shipped ones of the
    texture), or, with ``train_steps``, trains both models with the default
    recipe and caches them.  Diffusion fills with ``fill``'s default sampler
    (:data:`inpaint.fill.DEFAULT_SAMPLER`), ``steps`` of it when given.
    """
    from dataclasses import replace

    from ..compare import CompareConfig, run_compare
    from ..config import TrainConfig
    from ..evaluate import overall
    from ..fill import DEFAULT_SAMPLER
    from ..report import summary_markdown
    from ..shipped import checkpoints_folder

    if train_steps is None:
        folder = Path(checkpoints) if checkpoints else checkpoints_folder() / Path(texture).stem
        echo(f"checkpoints: {folder} (to retrain: inpaint demo --train-steps N)")
    train = TrainConfig(steps=train_steps or TrainConfig.steps)
    config = CompareConfig(
        methods=DEMO_METHODS, masks=DEMO_MASKS, crops=crops, samples=1, seed=seed,
        checkpoints=None if train_steps else str(folder), train=train,
        diffusion=DEFAULT_SAMPLER if steps is None else replace(DEFAULT_SAMPLER, steps=steps),
    )
    summary = run_compare([texture], config, out=out, echo=echo, bars=bars)
    echo("")
    echo(summary_markdown(summary, overall(summary)))
    echo("")
    echo("PSNR and SSIM on the hole: higher is better; LPIPS: lower is better; sharpness: 1 = as sharp as the truth")
    echo(f"wrote {out / 'grid.png'}, {out / 'plane.png'}, {out / 'summary.md'}")
    return summary


@click.command()
@click.option("--texture", default=DEMO_TEXTURE, show_default=True,
              help="Texture to evaluate on: a file, or a shipped one (brick, canvas, cork, grass, gravel).")
@click.option("--checkpoints", default=None, help="Folder with regression.pt and diffusion.pt [default: the shipped ones].")
@click.option("--train-steps", type=click.IntRange(min=1), default=None, help="Train both models for this many steps instead.")
@click.option("--crops", type=click.IntRange(min=1), default=DEMO_CROPS, show_default=True, help="Held-out crops to fill.")
@click.option("--sample-steps", "--steps", "steps", type=click.IntRange(min=1), default=None,
              help=f"Steps of the diffusion fill, with fill's default sampler (--steps: the former name) "
                   f"[default: {DEFAULT_STEPS}].")
@click.option("--out", default="out/demo", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace a demo report already in --out.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars and no messages but errors.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="CPU threads for torch.")
@friendly_errors
def demo(texture, checkpoints, train_steps, crops, steps, out, seed, overwrite, quiet, threads) -> None:
    """Regression, diffusion and PatchMatch on held-out crops of a shipped texture: a table and pictures."""
    from .common import check_overwrite, set_threads
    from ..compare.report import REPORT_FILES
    from .progress import bars, go_quiet

    check_overwrite([Path(out) / name for name in REPORT_FILES], overwrite)
    set_threads(threads)
    if quiet:
        go_quiet()
    run_demo(texture=texture, checkpoints=checkpoints, train_steps=train_steps, crops=crops, out=Path(out),
             seed=seed, steps=steps, echo=(lambda text: None) if quiet else click.echo, bars=bars)
