"""What the package ships: the fixed mask sets, five textures and the models trained on them.

Installed, they are package data, ``inpaint/_masks/`` (the repository's ``masks/``)
and ``inpaint/_data/`` (its ``data/``: textures and ``checkpoints/``), found with
:mod:`importlib.resources`; in a source checkout, where the package has no such
folders, the repository's own ``masks/`` and ``data/`` are used. So
``inpaint demo`` or ``--checkpoint cork`` work from any folder.

Names a user can give instead of a path:

- a mask set: ``thick-64`` (also ``masks/thick-64``, the repository path);
- a texture: ``cork`` (also ``cork.png``, ``data/cork.png``);
- a model: ``cork`` (the diffusion model of cork), ``cork/regression``,
  ``cork/repaint`` (also with ``.safetensors`` or a ``data/checkpoints/`` prefix), and
  ``prior``, the texture prior that :mod:`inpaint.prior` fine-tunes.

An existing file or folder of that name always wins over the shipped one.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

__all__ = ["TEXTURES", "MODEL_METHODS", "PRIOR", "shipped_root", "mask_set", "mask_set_names", "texture", "checkpoint",
           "checkpoints_folder", "model_names", "resolve_mask_set", "resolve_texture", "resolve_checkpoint"]

TEXTURES = ("brick", "canvas", "cork", "grass", "gravel")
DEMO_TEXTURE = "cork"
"""The texture ``inpaint demo`` and a ``compare`` without textures use."""
MODEL_METHODS = ("diffusion", "regression", "repaint")
"""Methods of the shipped models; the first is what a bare texture name means."""
PRIOR = "prior"
"""Name of the shipped texture prior, a diffusion model trained on many textures (``prior/diffusion.safetensors``)."""
_PACKAGED = {"masks": "_masks", "data": "_data"}


def shipped_root(kind: str) -> Path:
    """The folder of shipped ``"masks"`` or ``"data"``: package data, else the source checkout's."""
    packaged = resources.files("inpaint").joinpath(_PACKAGED[kind])
    if packaged.is_dir():
        if not isinstance(packaged, Path):  # e.g. a zipped install
            raise FileNotFoundError(f"inpaint's shipped {kind} are inside an archive; install inpaint unzipped")
        return packaged
    checkout = Path(__file__).resolve().parents[1] / kind
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"inpaint's shipped {kind} are missing from {packaged}; reinstall inpaint")


def mask_set_names() -> list[str]:
    """Names of the shipped mask sets, e.g. ``thick-64``."""
    root = shipped_root("masks")
    return sorted(p.name for p in root.iterdir() if (p / "manifest.json").is_file())


def mask_set(name: str) -> Path:
    """The folder of shipped mask set ``name`` (``thick-64``)."""
    folder = shipped_root("masks") / name
    if "/" in name or "\\" in name or not (folder / "manifest.json").is_file():
        raise ValueError(f"no shipped mask set {name!r}; shipped: {', '.join(mask_set_names())}")
    return folder


def texture(name: str) -> Path:
    """The shipped texture ``name`` (``cork`` or ``cork.png``) as a PNG path."""
    stem = name.removesuffix(".png")
    if stem not in TEXTURES:
        raise ValueError(f"no shipped texture {name!r}; shipped: {', '.join(TEXTURES)}")
    return shipped_root("data") / f"{stem}.png"


def checkpoints_folder() -> Path:
    """The folder of shipped checkpoints, ``<texture>/<method>.safetensors`` (and its ``.json``)."""
    return shipped_root("data") / "checkpoints"


def model_names() -> list[str]:
    """Every shipped model name: ``cork`` (diffusion), ``cork/regression``, ..., and ``prior``."""
    return [t if m == MODEL_METHODS[0] else f"{t}/{m}" for t in TEXTURES for m in MODEL_METHODS] + [PRIOR]


def checkpoint(name: str) -> Path:
    """The shipped checkpoint of ``name``: ``cork`` (its diffusion model) or ``cork/regression``."""
    parts = Path(name.removesuffix(".pt").removesuffix(".safetensors")).parts
    if parts[:2] == ("data", "checkpoints"):
        parts = parts[2:]
    tex, method = (parts[0], MODEL_METHODS[0]) if len(parts) == 1 else parts if len(parts) == 2 else (None, None)
    if (tex not in TEXTURES or method not in MODEL_METHODS) and (tex, method) != (PRIOR, MODEL_METHODS[0]):
        raise ValueError(f"{name}: no such checkpoint file, nor a shipped model (shipped: {', '.join(model_names())})")
    return checkpoints_folder() / tex / f"{method}.safetensors"


def _repo_relative(value: str, prefix: str) -> str:
    """``masks/thick-64`` -> ``thick-64``: the repository paths the docs and old configs use."""
    return value[len(prefix):] if value.startswith(prefix) else value


def resolve_mask_set(value: str | os.PathLike) -> Path:
    """An existing folder as given, else the shipped set of that name, else ``value`` unchanged."""
    path = Path(value)
    if path.is_dir():
        return path
    try:
        return mask_set(_repo_relative(path.as_posix(), "masks/"))
    except (ValueError, FileNotFoundError):
        return path  # reading it says what is missing


def resolve_texture(value: str | os.PathLike) -> Path:
    """An existing file as given, else the shipped texture of that name (``cork``, ``data/cork.png``)."""
    path = Path(value)
    if path.exists() or Path(_repo_relative(path.as_posix(), "data/")).parent != Path("."):
        return path
    try:
        return texture(path.name)
    except ValueError:
        return path  # reading it gives the usual "no such file"


def resolve_checkpoint(value: str | os.PathLike) -> Path:
    """An existing file as given, else the shipped model of that name (``cork``, ``cork/regression``)."""
    path = Path(value)
    if path.exists():
        return path
    return checkpoint(path.as_posix())
