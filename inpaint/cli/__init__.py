"""The ``inpaint`` command line: the application around the library.

Everything under :mod:`inpaint.cli` is application: the click commands, the
demo, the report ``train-texture`` leaves beside its checkpoints, and the
progress bars.  The library (every other module of :mod:`inpaint`) never
draws a bar, reads ``sys.argv`` or the environment, or writes to a folder it
was not given.

``COMMANDS`` is the one registration of a command: name -> ("module:attribute",
short help).  ``inpaint --help`` lists the commands from the short help without
importing torch, so it answers at once; ``inpaint fill ...`` imports what
``fill`` needs.  ``tests/test_cli_main.py`` checks that each short help is the
command's own.  ``python -m inpaint.cli`` and ``python -m inpaint`` run the same group.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from .. import DISTRIBUTION, __version__

COMMANDS = {
    "compare": ("inpaint.cli.compare:compare", "Fill the same held-out holes of TEXTURE ... with every method and compare."),
    "demo": ("inpaint.cli.demo:demo", "Regression, diffusion and PatchMatch on held-out crops of a shipped texture: a table and pictures."),
    "fill": ("inpaint.cli.fill:fill", "Fill the holes of IMAGE ... (files or folders) with a trained or shipped model."),
    "info": ("inpaint.cli.info:info", "Print what CHECKPOINT holds: method, config, step and parameter count."),
    "masks": ("inpaint.cli.masks:masks", "Make fixed, versioned mask sets (PNG, white = hole) for evaluation."),
    "merge": ("inpaint.cli.compare:merge", "Write the report of a compare run split with --shard from the parts in OUT/parts."),
    "restore": ("inpaint.cli.restore:restore", "Restore the damaged pixels of IMAGE, marked white in --mask, from the image's own pixels."),
    "serve": ("inpaint.cli.serve:serve", "A local page to paint a hole in IMAGE, fill it, and compare methods."),
    "extend": ("inpaint.cli.synthesis:extend", "Grow the texture IMAGE to --size by outpainting, cell by cell, with a model of IMAGE; its pixels stay."),
    "tile": ("inpaint.cli.synthesis:tile", "Make IMAGE tile seamlessly: re-synthesize a band across its wrap seams, keep every other pixel."),
    "train-texture": ("inpaint.cli.train:train_texture",
                      "Train models on random crops of one texture IMAGE (a file, or a shipped texture such as cork)."),
}
"""Command name -> ("module:attribute", short help as ``inpaint --help`` shows it)."""

GROUPS = (
    ("Restore a damaged image", ("restore",)),
    ("Fill holes in a texture", ("train-texture", "fill")),
    ("Make a texture", ("tile", "extend")),
    ("Try it", ("demo", "serve")),
    ("Evaluate", ("compare", "merge", "masks")),
    ("Inspect", ("info",)),
)
"""``inpaint --help``'s sections, by task, each command in one."""
START_HERE = ("Start here: `inpaint demo` to see it work; `inpaint restore IMAGE --mask DAMAGE.png --out OUT` for "
              "a damaged photo or scan; `inpaint train-texture TEXTURE` then `inpaint fill` for a texture; "
              "`inpaint serve` to paint a hole in the browser.")


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
        formatter.write_paragraph()
        formatter.write_text(START_HERE)
        for title, names in GROUPS:
            with formatter.section(title):
                formatter.write_dl([(name, COMMANDS[name][1]) for name in names])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, package_name=DISTRIBUTION,
                      message="%(prog)s %(version)s (the distribution %(package)s)")
def cli() -> None:
    """Fill holes in textures and images with small models trained on one image."""


def main() -> None:
    # Progress bars are for a terminal: with stderr in a file or a pipe, every bar stays off (tqdm reads
    # TQDM_DISABLE when it is first imported, which is after this line).
    if not sys.stderr.isatty():
        os.environ.setdefault("TQDM_DISABLE", "1")
    cli(prog_name="inpaint")
