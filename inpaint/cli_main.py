"""The ``inpaint`` entry point: a command group that imports a command's module only when it runs.

``inpaint --help`` lists the commands from the short help below without
importing torch, so it answers at once; ``inpaint fill ...`` imports what
``fill`` needs. The commands themselves live in :mod:`inpaint.cli` and the
``cli_*`` modules (whose full group, ``inpaint.cli.cli``, is what tests and
``python -m inpaint.cli`` use); ``tests/test_cli_main.py`` checks that this
table matches it.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

COMMANDS = {
    "compare": ("inpaint.cli_compare:compare", "Fill the same held-out holes of TEXTURE ... with every method and compare."),
    "demo": ("inpaint.cli:demo", "Regression against diffusion on held-out crops of a shipped texture: a table and pictures."),
    "fill": ("inpaint.cli_fill:fill", "Fill the holes of IMAGE ... (files or folders) with a trained or shipped model."),
    "info": ("inpaint.cli:info", "Print what CHECKPOINT holds: method, config, step and parameter count."),
    "masks": ("inpaint.cli_masks:masks", "Make fixed, versioned mask sets (PNG, white = hole) for evaluation."),
    "merge": ("inpaint.cli_compare:merge", "Write the report of a compare run split with --shard from the parts in OUT/parts."),
    "restore": ("inpaint.cli_restore:restore", "Restore the damaged pixels of IMAGE, marked white in --mask, from the image's own pixels."),
    "serve": ("inpaint.cli_serve:serve", "A local page to paint a hole in IMAGE, fill it, and compare methods."),
    "train-texture": ("inpaint.cli:train_texture",
                      "Train models on random crops of one texture IMAGE (a file, or a shipped texture such as cork)."),
}
"""Command name -> ("module:attribute", short help as ``inpaint --help`` shows it)."""


def load_command(name: str) -> click.Command:
    module, attribute = COMMANDS[name][0].split(":")
    return getattr(importlib.import_module(module), attribute)


class LazyGroup(click.Group):
    """A group whose commands are imported on first use; the listing needs no import."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return load_command(name) if name in COMMANDS else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in self.list_commands(ctx)])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="inpaint")
def cli() -> None:
    """Fill holes in textures and images with small models trained on one image."""


def main() -> None:
    # Progress bars are for a terminal: with stderr in a file or a pipe, every bar stays off (tqdm reads
    # TQDM_DISABLE when it is first imported, which is after this line).
    if not sys.stderr.isatty():
        os.environ.setdefault("TQDM_DISABLE", "1")
    cli(prog_name="inpaint")


if __name__ == "__main__":
    main()
