"""Many images in one command: the images of files and folders, each one's mask from a folder by file name,
and a batch in which one failing image is reported and the others go on (``fill``, ``restore``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from .common import Interrupted

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".webp")
"""Files a folder argument contributes, by extension."""


def collect_images(args: tuple[str, ...]) -> tuple[list[Path], bool]:
    """The image files of IMAGES (files as given, folders by ``IMAGE_SUFFIXES``, sorted), and whether the
    outputs go to a folder (several images or a folder given)."""
    files: list[Path] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                           and not p.name.startswith("."))
            if not found:
                raise click.BadParameter(f"{path} holds no image file ({', '.join(IMAGE_SUFFIXES)})",
                                         param_hint="IMAGES")
            files += found
        else:
            files.append(path)  # a missing file is reported when read, with the other input errors
    return files, len(files) > 1 or any(Path(a).is_dir() for a in args)


def mask_for(image: Path, folder: Path) -> Path:
    """The mask of ``image`` in ``folder``: the file of the same stem with an image extension."""
    found = [folder / f"{image.stem}{s}" for s in IMAGE_SUFFIXES if (folder / f"{image.stem}{s}").is_file()]
    if not found:
        raise ValueError(f"no mask for {image.name} in {folder} (a file named {image.stem} with an image "
                         "extension)")
    if len(found) > 1:
        raise ValueError(f"two masks for {image.name} in {folder}: {found[0].name} and {found[1].name}")
    return found[0]


def warn_unmatched_masks(images: list[Path], folder: Path) -> None:
    """Name, on stderr, every mask of ``folder`` whose name matches none of ``images``."""
    stems = {p.stem for p in images}
    for mask in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                       and not p.name.startswith(".") and p.stem not in stems):
        click.echo(f"warning: the mask {mask} matches no image", err=True)


class Batch:
    """The images of one command: each runs in :meth:`item`, where a failure (a missing mask, an unreadable
    file, a refused write) is reported and the next image goes on; :meth:`finish` says how many succeeded and
    exits non-zero, naming each failure, if any failed.  With one image, its error is the command's."""

    def __init__(self, total: int, say: Callable[[str], None]) -> None:
        self.total, self.say = total, say
        self.failed: list[tuple[Path, str]] = []

    @contextmanager
    def item(self, path: Path) -> Iterator[None]:
        try:
            yield
        except Interrupted:
            raise
        except (ValueError, OSError, click.ClickException) as exc:
            if self.total == 1:
                raise
            why = (exc.format_message() if isinstance(exc, click.ClickException) else str(exc)).splitlines()[0]
            self.failed.append((path, why))
            click.echo(f"failed {path}: {why}", err=True)

    def finish(self, verb: str) -> None:
        if self.total > 1:
            self.say(f"{verb} {self.total - len(self.failed)} of {self.total} images")
        if self.failed:
            raise click.ClickException(f"{len(self.failed)} of {self.total} images failed: "
                                       + "; ".join(f"{p.name} ({why})" for p, why in self.failed))
