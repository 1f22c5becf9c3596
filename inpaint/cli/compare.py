"""``inpaint compare``: every method on the same held-out holes, a table and two figures; ``inpaint merge``:
the same report from the parts of a run split with ``--shard``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..compare import DEFAULT_CACHE, PARTS, CompareConfig, merge_compare, parse_methods, run_compare
from ..compare.report import REPORT_FILES
from ..config import TrainConfig
from ..evaluate import METHODS, overall
from ..fill import SamplerConfig
from ..report import summary_markdown
from ..shards import Shard
from ..shipped import DEMO_TEXTURE, checkpoints_folder
from .common import check_overwrite, friendly_errors, overwrite_option, quiet_option, set_threads, threads_option
from .progress import bars, go_quiet

__all__ = ["compare", "merge", "CACHE_ENV"]

CACHE_ENV = "INPAINT_CACHE"
"""The environment variable that names the checkpoint cache when --cache is not given."""


def _methods(ctx, param, value: str) -> tuple[str, ...]:
    try:
        return tuple(parse_methods(value))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _shard(ctx, param, value: str | None) -> Shard | None:
    try:
        return None if value is None else Shard.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("textures", nargs=-1)
@click.option("--method", "methods", default="all", show_default=True, callback=_methods,
              help=f"Comma-separated, from {','.join(METHODS)}; or all.")
@click.option("--masks", default=CompareConfig.masks, show_default=True,
              help="Folder of a fixed mask set, or a shipped set's name (thick-64, box-128, ...); "
                   "its size is the crop size.")
@click.option("--crops", type=click.IntRange(min=1), default=None,
              help="At most this many held-out crops per texture [default: all].")
@click.option("--samples", type=click.IntRange(min=1), default=CompareConfig.samples, show_default=True,
              help="Fills per crop of diffusion and repaint.")
@click.option("--checkpoints", type=click.Path(file_okay=False), default=None,
              help="Folder with <method>.pt, or <texture stem>/<method>.pt per texture "
                   "[default: the shipped models]; missing ones are trained.")
@click.option("--train-steps", type=click.IntRange(min=1), default=None,
              help="Train (and cache) every learned model for this many steps instead of using checkpoints "
                   f"[default for missing ones: {TrainConfig.steps}].")
@click.option("--train-crop", type=click.IntRange(min=8), default=TrainConfig.crop, show_default=True,
              help="Side of the training crops.")
@click.option("--cache", type=click.Path(file_okay=False), default=None, envvar=CACHE_ENV,
              help=f"Checkpoint cache [default: ${CACHE_ENV} or {DEFAULT_CACHE}].")
@click.option("--sampler", type=click.Choice(("ddpm", "ddim")), default=CompareConfig.diffusion.sampler, show_default=True,
              help="Sampler of diffusion.")
@click.option("--sample-steps", "--steps", "steps", type=click.IntRange(min=1), default=None,
              help="Denoising steps of diffusion (--steps: the former name) [default: all T].")
@click.option("--eta", type=click.FloatRange(min=0), default=CompareConfig.diffusion.eta, show_default=True,
              help="DDIM stochasticity.")
@click.option("--repaint-steps", type=click.IntRange(min=1), default=CompareConfig.repaint.steps, show_default=True,
              help="Denoising steps of repaint; 280 network calls with the default jumps.")
@click.option("--jump-length", type=click.IntRange(min=1), default=CompareConfig.repaint.jump_length, show_default=True,
              help="RePaint's jump length.")
@click.option("--jump-n-sample", type=click.IntRange(min=1), default=CompareConfig.repaint.jump_n_sample,
              show_default=True, help="RePaint's passes over each jump (the paper: 10).")
@click.option("--held-out", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=CompareConfig.held_out,
              show_default=True,
              help="Width fraction of the right strip the crops come from.")
@click.option("--seed", type=int, default=CompareConfig.seed, show_default=True,
              help="Seed of the sampling noise and of PatchMatch.")
@click.option("--out", type=click.Path(file_okay=False), default="out/compare", show_default=True)
@click.option("--device", default="cpu", show_default=True, help="cpu, or cuda, for the learned methods.")
@click.option("--shard", default=None, callback=_shard, metavar="I/N",
              help="Run only the I-th of N blocks of the (texture, method) pairs and write its part to "
                   f"OUT/{PARTS}/; `inpaint merge OUT` then writes the report of the whole run.")
@overwrite_option
@quiet_option
@threads_option
@friendly_errors
def compare(textures, methods, masks, crops, samples, checkpoints, train_steps, train_crop, cache, sampler, steps, eta,
            repaint_steps, jump_length, jump_n_sample, held_out, seed, out, device, shard, overwrite, quiet,
            threads) -> None:
    """Fill the same held-out holes of TEXTURE ... with every method and compare.

    Without TEXTURE, the shipped cork; a shipped texture can be named (brick,
    canvas, cork, grass, gravel). Learned methods come from --checkpoints,
    or are trained for --train-steps and cached, so the next run reuses them.
    Writes results.csv, summary.md, grid.png, plane.png and run.json into --out.
    With --shard I/N, a cluster's array task (or one of N machines sharing a
    folder) runs its block of the pairs; `inpaint merge OUT` then writes the
    same report from every block.
    """
    if checkpoints is not None and train_steps is not None:
        raise click.UsageError("give either --checkpoints or --train-steps, not both")
    partial = shard is not None and not shard.whole
    written = [Path(out) / PARTS / f"{shard.name}.json"] if partial else [Path(out) / n for n in REPORT_FILES]
    check_overwrite(written, overwrite)
    set_threads(threads)
    if quiet:
        go_quiet()
    echo = (lambda text: None) if quiet else click.echo
    if checkpoints is None and train_steps is None:
        checkpoints = str(checkpoints_folder())
    try:
        config = CompareConfig(
            methods=methods, masks=masks, crops=crops, samples=samples, seed=seed, held_out=held_out,
            checkpoints=checkpoints, train=TrainConfig(crop=train_crop, steps=train_steps or TrainConfig.steps),
            cache=cache, diffusion=SamplerConfig(sampler, steps, eta),
            repaint=SamplerConfig("repaint", repaint_steps, jump_length=jump_length, jump_n_sample=jump_n_sample),
            device=device,
        )
        summary = run_compare(list(textures) or [DEMO_TEXTURE], config, out=Path(out), argv=sys.argv, echo=echo,
                              shard=shard, bars=bars)
    except KeyboardInterrupt:
        raise click.ClickException("interrupted; training progress is kept in the cache, run again to resume") from None
    if partial:
        return
    _print_summary(summary, out, echo)


def _print_summary(summary: list[dict], out, echo) -> None:
    echo("")
    echo(summary_markdown(summary, overall(summary)))
    echo("")
    echo("PSNR, SSIM: higher is better; LPIPS, blur: lower is better; sharpness: 1 = as sharp as the truth; "
         "mean ± standard error over crops")
    echo(f"wrote {', '.join(REPORT_FILES)} in {out}")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("out", type=click.Path(file_okay=False, exists=True))
@overwrite_option
@quiet_option
@friendly_errors
def merge(out, overwrite, quiet) -> None:
    """Write the report of a compare run split with --shard from the parts in OUT/parts.

    Checks that the parts are every shard of one run (same options, each shard
    once) and writes into OUT the results.csv, summary.md, grid.png, plane.png
    and run.json that a single run writes (results.csv equal but for the
    seconds per fill).
    """
    check_overwrite([Path(out) / name for name in REPORT_FILES], overwrite, param_hint="OUT")
    if quiet:
        go_quiet()
    summary = merge_compare(Path(out), argv=sys.argv)
    _print_summary(summary, out, (lambda text: None) if quiet else click.echo)


if __name__ == "__main__":
    compare()
