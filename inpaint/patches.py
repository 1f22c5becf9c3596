"""Random crops from one large image, away from a held-out region.

Internal learning trains on crops of a single image.  The part used for
evaluation is held out: no training crop overlaps it, and nothing wraps
around the image edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .orientation import augmentation_name, symmetries


@dataclass(frozen=True)
class Box:
    """A rectangle of pixels ``[top, top + height) x [left, left + width)``."""

    top: int
    left: int
    height: int
    width: int

    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.top + self.height), slice(self.left, self.left + self.width)

    def mask(self, height: int, width: int) -> Tensor:
        """(height, width) bool, True inside the box."""
        inside = torch.zeros(height, width, dtype=torch.bool)
        inside[self.slices()] = True
        return inside


def held_out_box(height: int, width: int, fraction: float = 0.25) -> Box:
    """The default evaluation region: a strip of the right ``fraction`` of the image."""
    if not 0 < fraction < 1:
        raise ValueError(f"held-out fraction must be in (0, 1), got {fraction}")
    w = max(1, round(width * fraction))
    return Box(0, width - w, height, w)


def valid_offsets(height: int, width: int, crop: int, exclude: Tensor | None = None) -> Tensor:
    """Which top-left offsets give a crop inside the image and off ``exclude``.

    Parameters
    ----------
    exclude : Tensor (H, W) bool, optional
        Pixels no crop may touch.

    Returns
    -------
    Tensor (H - crop + 1, W - crop + 1) bool
    """
    if crop > min(height, width):
        raise ValueError(f"the image ({height}x{width}) is smaller than the crop size {crop}")
    if exclude is None:
        return torch.ones(height - crop + 1, width - crop + 1, dtype=torch.bool)
    # Excluded pixels counted in every crop window through a summed-area table.
    sat = F.pad(exclude.to(torch.int64).cumsum(0).cumsum(1), (1, 0, 1, 0))
    c = crop
    count = sat[c:, c:] - sat[:-c, c:] - sat[c:, :-c] + sat[:-c, :-c]
    return count == 0


def dihedral(x: Tensor, k: int) -> Tensor:
    """One of the 8 symmetries of the square: rotate by ``k % 4`` quarter turns, then flip if ``k >= 4``."""
    x = torch.rot90(x, k % 4, dims=(-2, -1))
    return x.flip(-1) if k >= 4 else x


class PatchSampler:
    """Draws random crops of one image, never touching an excluded region.

    Parameters
    ----------
    image : Tensor (1, C, H, W) or (C, H, W)
    crop : int
        Side of the square crops.
    exclude : Tensor (H, W) bool or Box, optional
        The held-out region.
    valid : Tensor (H, W) bool, optional
        Pixels that exist (False: damaged); :meth:`pairs` crops it with the image.
    augment : {'none', 'flips', 'dihedral'} or bool
        Symmetries drawn at random for each crop (see
        :func:`inpaint.orientation.symmetries`): 'dihedral' (or True) for
        isotropic textures, 'flips' keeps the axes, 'none' (or False) none.

    Examples
    --------
    >>> img = torch.rand(1, 3, 128, 128) * 2 - 1
    >>> sampler = PatchSampler(img, 32, exclude=held_out_box(128, 128))
    >>> sampler.sample(4, torch.Generator().manual_seed(0)).shape
    torch.Size([4, 3, 32, 32])
    """

    def __init__(self, image: Tensor, crop: int, *, exclude: Tensor | Box | None = None,
                 valid: Tensor | None = None, augment: str | bool = "none"):
        self.image = image[0] if image.ndim == 4 else image
        _, H, W = self.image.shape
        self.valid = None if valid is None else valid.reshape(1, H, W).bool()
        if isinstance(exclude, Box):
            exclude = exclude.mask(H, W)
        self.crop = crop
        self.augment = augmentation_name(augment)
        self.symmetries = symmetries(self.augment)
        self.offsets = valid_offsets(H, W, crop, exclude).nonzero().to(torch.int32)
        if len(self.offsets) == 0:
            raise ValueError(f"no {crop}x{crop} crop fits outside the held-out region of this {H}x{W} image")

    def sample_offsets(self, n: int, generator: torch.Generator) -> Tensor:
        """(n, 2) top-left corners (row, column), uniform over the valid ones."""
        idx = torch.randint(0, len(self.offsets), (n,), generator=generator)
        return self.offsets[idx]

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        """Draw ``n`` crops, shape (n, C, crop, crop)."""
        return self.pairs(n, generator)[0]

    def pairs(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        """Draw ``n`` crops (n, C, crop, crop) and the same crops of the ``valid`` map (n, 1, crop, crop),
        or None without one."""
        offsets = self.sample_offsets(n, generator).tolist()
        picks = None
        if len(self.symmetries) > 1:
            picks = [self.symmetries[i] for i in torch.randint(0, len(self.symmetries), (n,), generator=generator)]
        crops = self._cut(self.image, offsets, picks)
        return crops, None if self.valid is None else self._cut(self.valid, offsets, picks)

    def _cut(self, source: Tensor, offsets: list, picks: list[int] | None) -> Tensor:
        c = self.crop
        crops = torch.stack([source[:, i : i + c, j : j + c] for i, j in offsets])
        if picks is not None:
            crops = torch.stack([dihedral(x, k) for x, k in zip(crops, picks)])
        return crops


class CorpusSampler:
    """Draws random crops from several images: the image of each crop uniformly, then a crop of it.

    Pre-training a texture prior (:mod:`inpaint.prior`) sees many textures; each
    image counts the same whatever its size, so a large one does not drown the
    others.  Every image must have the same channels and hold one crop.

    Examples
    --------
    >>> images = [torch.rand(1, 3, 96, 64) * 2 - 1, torch.rand(1, 3, 40, 50) * 2 - 1]
    >>> CorpusSampler(images, 32).sample(5, torch.Generator().manual_seed(0)).shape
    torch.Size([5, 3, 32, 32])
    """

    def __init__(self, images: list[Tensor], crop: int, *, augment: str | bool = "none"):
        if not images:
            raise ValueError("the corpus holds no image")
        channels = {x.shape[-3] for x in images}
        if len(channels) > 1:
            raise ValueError(f"the corpus mixes images of {sorted(channels)} channels")
        self.samplers = [PatchSampler(x, crop, augment=augment) for x in images]

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        """Draw ``n`` crops, shape (n, C, crop, crop); crop ``k`` comes from image ``picks[k]``."""
        picks = torch.randint(0, len(self.samplers), (n,), generator=generator).tolist()
        return torch.cat([self.samplers[i].sample(1, generator) for i in picks])

    def pairs(self, n: int, generator: torch.Generator) -> tuple[Tensor, None]:
        """:meth:`sample`, with no validity map (a corpus has whole images), as :meth:`PatchSampler.pairs`."""
        return self.sample(n, generator), None


def grid_crops(image: Tensor, box: Box, crop: int, n: int) -> Tensor:
    """Up to ``n`` non-overlapping crops tiled over ``box``, in reading order.

    Evaluation crops: deterministic, so every method and every run sees the same
    ground truth.  Returns (n', C, crop, crop), n' = min(n, crops that fit).
    """
    img = image[0] if image.ndim == 4 else image
    rows, cols = box.height // crop, box.width // crop
    if rows * cols == 0:
        raise ValueError(f"the held-out region {box.height}x{box.width} is smaller than the crop size {crop}")
    out = [
        img[:, box.top + r * crop : box.top + (r + 1) * crop, box.left + q * crop : box.left + (q + 1) * crop]
        for r in range(rows)
        for q in range(cols)
    ]
    return torch.stack(out[:n])
