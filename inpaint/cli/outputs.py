"""Checks of a command's output files, made before any work so that a long run never ends in a refused write."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click


def check_folder(path: Path) -> None:
    """The output's folder must exist or be creatable, and the name must not be a folder."""
    if path.is_dir():
        raise click.BadParameter(f"{path} is a folder; give an image file name", param_hint="--out")
    parent = next(p for p in path.absolute().parents if p.exists())
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise click.BadParameter(f"cannot create {path}: {parent} is not a writable folder", param_hint="--out")


def check_writable(paths: list[Path], infos: list) -> None:
    """Fail before training if an output cannot be written: its folder, extension or the format's modes.

    A 1x1 probe in the output's mode is written to a temporary folder, so that e.g.
    an RGBA image to a .jpg is refused now rather than after training.  ``infos`` are the inputs'
    :class:`inpaint.io.ImageInfo`.
    """
    import torch

    from ..io import ImageFormatError, write_image

    with tempfile.TemporaryDirectory() as tmp:
        for path, info in zip(paths, infos):
            check_folder(path)
            probe = Path(tmp) / f"probe{path.suffix}"
            try:
                write_image(torch.zeros(1, info.channels, 1, 1), probe, info)
            except ImageFormatError as exc:
                raise ImageFormatError(str(exc).replace(str(probe), str(path))) from None
