"""Fixed, versioned mask sets on disk, the holes every method is evaluated on.

A set is a folder of ``count`` square masks of one family, drawn in file order from
one ``torch.Generator().manual_seed(seed)`` and written as ``0000.png``,
``0001.png``, ... (1-bit PNG, white = hole, black = known), with a
``manifest.json`` holding the family, its options, the seed, ``MASKS_VERSION`` and
each mask's hole fraction.  The committed sets ``masks/{family}-{size}`` use the
seeds of ``FIXED_SET_SEEDS`` and are rewritten bit for bit by
:func:`regenerate_fixed_sets`.  The generators themselves live in :mod:`inpaint.masks`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import torch
from PIL import Image
from torch import Tensor

from .io import read_mask
from .masks import FAMILIES, MASKS_VERSION, check_mask_size, hole_fraction
from .shipped import mask_set_names, resolve_mask_set

__all__ = ["make_mask_set", "load_mask_set", "regenerate_fixed_sets", "FIXED_SET_SEEDS", "FIXED_SET_SIZES",
           "FIXED_SET_COUNT"]

FIXED_SET_SIZES = (64, 128)
FIXED_SET_COUNT = 100
FIXED_SET_SEEDS: Mapping[str, int] = MappingProxyType({
    "box": 1000, "freeform": 2000, "thin": 3000, "medium": 4000, "thick": 5000, "wide": 6000,
    "narrow": 7000, "sr2x": 8000, "lines": 9000, "half": 10000, "expand": 11000})
"""Seed of the committed set ``masks/{family}-{size}`` is ``FIXED_SET_SEEDS[family] + size``."""

_MANIFEST = "manifest.json"
_CONVENTION = "1-bit PNG, white (1) = hole, black (0) = known"
_DRAW_ORDER = "torch.Generator().manual_seed(seed); masks drawn in file order from that one generator"


def make_mask_set(family: str, size: int, count: int, seed: int, out_dir, *, overwrite: bool = False) -> Path:
    """Draw ``count`` masks of one family and write them as a versioned set.

    Writes ``0000.png``, ``0001.png``, ... (1-bit PNG, WHITE = hole, black = known, the
    convention of ``inpaint fill --mask``) and ``manifest.json`` holding the family,
    its parameters and stated hole range, size, count, seed, ``MASKS_VERSION`` and
    each mask's file name and hole fraction.  Masks are written with Pillow here
    rather than through :mod:`inpaint.io`, which writes 8-bit grey: 1-bit files
    keep the committed sets small.

    Parameters
    ----------
    family : str
        A key of ``FAMILIES``.
    size : int
        Side of the square masks, >= 8.
    count : int
        Number of masks, 1 to 9999.
    seed : int
        Seed of the ``torch.Generator`` the masks are drawn from, in order.
    out_dir : str or PathLike
        Created if missing; must hold no mask set unless ``overwrite``.
    overwrite : bool
        Replace an existing set (its numbered PNGs and manifest) in ``out_dir``.

    Returns
    -------
    Path
        ``out_dir``.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown mask family {family!r}; valid: {', '.join(FAMILIES)}")
    check_mask_size(size, size)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 9999:
        raise ValueError(f"count must be an integer from 1 to 9999, got {count!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ValueError(f"seed must be an integer from 0 to 2**63 - 1, got {seed!r}")
    out = Path(out_dir)
    old = sorted(out.glob("[0-9][0-9][0-9][0-9].png")) + ([out / _MANIFEST] if (out / _MANIFEST).exists() else [])
    if old and not overwrite:
        raise ValueError(f"{out} already holds a mask set; choose another folder or overwrite it")
    out.mkdir(parents=True, exist_ok=True)
    for path in old:
        path.unlink()
    mask_family, generator, entries = FAMILIES[family], torch.Generator().manual_seed(seed), []
    for i in range(count):
        known = mask_family(size, size, generator=generator)
        name = f"{i:04d}.png"
        Image.fromarray((~known[0, 0]).numpy()).save(out / name, optimize=True)  # bool -> mode "1"
        entries.append({"file": name, "hole_fraction": round(float(hole_fraction(known)[0]), 6)})
    params = {k: list(v) if isinstance(v, tuple) else v for k, v in mask_family.params.items()}  # JSON has no tuples
    manifest = {"family": family, "params": params, "hole_range": list(mask_family.hole_range), "size": size,
                "count": count, "seed": seed, "masks_version": MASKS_VERSION, "convention": _CONVENTION,
                "draw_order": _DRAW_ORDER, "masks": entries}
    (out / _MANIFEST).write_text(_manifest_text(manifest))
    return out


def _manifest_text(manifest: dict) -> str:
    """JSON with one line per key and per mask, so that diffs of a set read well."""
    head = [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in manifest.items() if k != "masks"]
    rows = ",\n".join(f"  {json.dumps(e)}" for e in manifest["masks"])
    return "{\n" + "\n".join(head) + '\n "masks": [\n' + rows + "\n ]\n}\n"


def load_mask_set(directory) -> tuple[Tensor, dict]:
    """Read a set written by :func:`make_mask_set` and check it against its manifest.

    Parameters
    ----------
    directory : str or PathLike
        A folder, or the name of a shipped set (``thick-64``, or the repository
        path ``masks/thick-64``), found wherever inpaint is installed.

    Returns
    -------
    known : Tensor
        ``(N, 1, size, size)`` bool, True = known, in manifest order.
    manifest : dict

    Raises
    ------
    ValueError
        Missing or unreadable manifest or masks, a set from a newer ``MASKS_VERSION``,
        or masks whose count, size or hole fraction differ from the manifest.
    """
    directory = resolve_mask_set(directory)
    try:
        manifest = json.loads((directory / _MANIFEST).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{directory}: no readable {_MANIFEST} ({exc}); make the set with `inpaint masks make`, "
                         f"or name a shipped one ({', '.join(_shipped_names())})") from exc
    missing = {"family", "size", "count", "seed", "masks_version", "masks"} - set(manifest)
    if missing:
        raise ValueError(f"{directory / _MANIFEST} lacks {sorted(missing)}")
    if manifest["masks_version"] > MASKS_VERSION:
        raise ValueError(f"{directory} was made by mask generators version {manifest['masks_version']}, "
                         f"newer than this inpaint ({MASKS_VERSION}); update inpaint")
    size, entries = manifest["size"], manifest["masks"]
    if len(entries) != manifest["count"]:
        raise ValueError(f"{directory / _MANIFEST} lists {len(entries)} masks but says count={manifest['count']}")
    masks = []
    for entry in entries:
        known = read_mask(directory / entry["file"], size=(size, size))
        frac = float(hole_fraction(known)[0])
        if abs(frac - entry["hole_fraction"]) > 1e-6:
            raise ValueError(f"{directory / entry['file']} has hole fraction {frac:.6f} but the manifest says "
                             f"{entry['hole_fraction']}; the set was edited, regenerate it")
        masks.append(known)
    return torch.cat(masks), manifest


def _shipped_names() -> list[str]:
    try:
        return mask_set_names()
    except FileNotFoundError:
        return []


def regenerate_fixed_sets(root, *, families=None, sizes=FIXED_SET_SIZES) -> list[Path]:
    """Rewrite the committed sets ``root/{family}-{size}`` bit for bit from ``FIXED_SET_SEEDS``.

    Parameters
    ----------
    root : str or PathLike
        Usually the repository's ``masks/`` folder.
    families : iterable of str, optional
        Defaults to every family of ``FIXED_SET_SEEDS``.
    sizes : iterable of int

    Returns
    -------
    list of Path
        The folders written.
    """
    families = list(FIXED_SET_SEEDS if families is None else families)
    unknown = [f for f in families if f not in FIXED_SET_SEEDS]
    if unknown:
        raise ValueError(f"no fixed set for {unknown}; valid: {', '.join(FIXED_SET_SEEDS)}")
    return [make_mask_set(f, s, FIXED_SET_COUNT, FIXED_SET_SEEDS[f] + s, Path(root) / f"{f}-{s}", overwrite=True)
            for f in families for s in sizes]
