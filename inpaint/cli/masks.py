"""``inpaint masks``: make and regenerate fixed evaluation mask sets.

The group is registered in the main CLI as ``cli.add_command(masks)`` and also runs
on its own::

    python -m inpaint.cli.masks make --family thick --size 128 --count 100 --seed 0 --out masks/thick-128
    python -m inpaint.cli.masks regenerate --root masks
"""

from __future__ import annotations

from pathlib import Path

import click

from ..mask_sets import FIXED_SET_SEEDS, FIXED_SET_SIZES, make_mask_set, regenerate_fixed_sets
from ..masks import FAMILIES, MIN_SIZE

__all__ = ["masks"]


@click.group("masks")
def masks() -> None:
    """Make fixed, versioned mask sets (PNG, white = hole) for evaluation."""


@masks.command("make")
@click.option("--family", required=True, type=click.Choice(list(FAMILIES)), help="Mask family.")
@click.option("--size", required=True, type=click.IntRange(min=MIN_SIZE), help="Side of the square masks, pixels.")
@click.option("--count", default=100, show_default=True, type=click.IntRange(1, 9999), help="Number of masks.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**63 - 1),
              help="Seed of the torch.Generator the masks are drawn from.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for 0000.png, ... and manifest.json.")
@click.option("--overwrite", is_flag=True, help="Replace a mask set already in --out.")
def make(family: str, size: int, count: int, seed: int, out: Path, overwrite: bool) -> None:
    """Draw COUNT masks of FAMILY and write them with a manifest."""
    if not overwrite and (out / "manifest.json").exists():
        raise click.BadParameter(f"{out} already holds a mask set; pass --overwrite to replace it", param_hint="--out")
    try:
        make_mask_set(family, size, count, seed, out, overwrite=overwrite)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    except OSError as exc:
        raise click.BadParameter(f"cannot write the set there: {exc}", param_hint="--out") from exc
    click.echo(f"wrote {count} {family} masks of {size}x{size} px to {out}")


@masks.command("regenerate")
@click.option("--root", default=Path("masks"), show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder holding the fixed sets, e.g. the repository's masks/.")
@click.option("--family", "families", multiple=True, type=click.Choice(list(FIXED_SET_SEEDS)),
              help="Only these families (repeatable); default all.")
@click.option("--size", "sizes", multiple=True, type=click.Choice([str(s) for s in FIXED_SET_SIZES]),
              help="Only these sizes (repeatable); default all.")
def regenerate(root: Path, families: tuple[str, ...], sizes: tuple[str, ...]) -> None:
    """Rewrite the fixed sets ROOT/{family}-{size} bit for bit from their fixed seeds."""
    try:
        written = regenerate_fixed_sets(root, families=families or None,
                                        sizes=tuple(int(s) for s in sizes) or FIXED_SET_SIZES)
    except OSError as exc:
        raise click.BadParameter(f"cannot write the sets there: {exc}", param_hint="--root") from exc
    for path in written:
        click.echo(f"wrote {path}")


if __name__ == "__main__":
    masks()
