"""Seamless tiles: re-synthesize a band across an image's wrap seams so that it tiles without a visible seam.

A texture tiles when its last row continues into its first and its last column into its first.  Shift the
image by half its size (a torus: :func:`torch.roll`) and the two wrap seams become a cross through its middle,
with the image's own pixels on both sides; fill a band along that cross with a model of the texture, then
shift back.  Every pixel outside the band stays exact, and the band's new pixels continue the texture across
the seam in both directions, as a model trained on that texture draws it.

:func:`seam_energy` measures the result: the mean step between a 2x2 tiling's neighbouring pixels across the
wrap lines over the mean step between neighbours inside the image; 1.0 is a seam no different from the rest.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .config import TrainConfig
from .fill import SamplerConfig
from .sampling import Progress
from .windows import fill_windows

__all__ = ["DEFAULT_BAND", "band_known", "half_shift", "make_tileable", "seam_energy", "seam_known"]

DEFAULT_BAND = 16
"""Width in pixels of the band re-synthesized across each wrap seam."""


def seam_known(height: int, width: int, band: int = DEFAULT_BAND) -> Tensor:
    """The ``known`` mask (1, 1, H, W) of the half-shifted image: False on a band of ``band`` rows through its
    middle row and of ``band`` columns through its middle column, where the wrap seams lie.

    Examples
    --------
    >>> seam_known(8, 6, 2)[0, 0].int()
    tensor([[1, 1, 0, 0, 1, 1],
            [1, 1, 0, 0, 1, 1],
            [1, 1, 0, 0, 1, 1],
            [0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0],
            [1, 1, 0, 0, 1, 1],
            [1, 1, 0, 0, 1, 1],
            [1, 1, 0, 0, 1, 1]], dtype=torch.int32)
    """
    if not 0 < band < min(height, width):
        raise ValueError(f"the band must be between 1 and {min(height, width) - 1} pixels, got {band}")
    known = torch.ones(1, 1, height, width, dtype=torch.bool)
    top, left = height // 2 - band // 2, width // 2 - band // 2
    known[..., top:top + band, :] = False
    known[..., :, left:left + band] = False
    return known


def band_known(height: int, width: int, band: int = DEFAULT_BAND) -> Tensor:
    """:func:`seam_known` in the image's own coordinates: False on the band that :func:`make_tileable` draws,
    ``band // 2`` rows and columns at each edge (and the rest of the band at the opposite edge), True elsewhere."""
    return half_shift(seam_known(height, width, band), back=True)


def half_shift(x: Tensor, back: bool = False) -> Tensor:
    """``x`` rolled by half its height and width (``back``: the other way): the wrap seams cross its middle."""
    H, W = x.shape[-2:]
    s = -1 if back else 1
    return torch.roll(x, (s * (H // 2), s * (W // 2)), dims=(-2, -1))


def make_tileable(model: nn.Module, config: TrainConfig, image: Tensor, *, band: int = DEFAULT_BAND,
                  sampler: SamplerConfig = SamplerConfig(), generator: torch.Generator | None = None,
                  progress: Progress | None = None) -> Tensor:
    """``image`` (1, C, H, W) in [-1, 1] made to tile: the band across its wrap seams re-synthesized by the
    ``config`` model, every other pixel unchanged.  Returns (1, C, H, W)."""
    if image.ndim != 4 or image.shape[0] != 1:
        raise ValueError(f"image must have shape (1, C, H, W), got {tuple(image.shape)}")
    H, W = image.shape[-2:]
    filled = fill_windows(model, config, half_shift(image), seam_known(H, W, band), sampler=sampler,
                          generator=generator, progress=progress)[0]
    return half_shift(filled, back=True)


def seam_energy(image: Tensor) -> float:
    """How visible the wrap seams of ``image`` (1, C, H, W) are when it is tiled: the mean absolute difference
    of neighbouring pixels across the wrap lines (last row to first, last column to first) over the mean
    absolute difference of neighbouring pixels inside.  1.0: the seams look like the rest.

    Examples
    --------
    >>> ramp = torch.linspace(-1, 1, 8).expand(1, 1, 8, 8)  # tiles with a jump from 1 back to -1
    >>> round(seam_energy(ramp), 2)
    7.0
    """
    x = image[0].double()
    across = torch.cat([(x[:, 0] - x[:, -1]).abs().flatten(), (x[:, :, 0] - x[:, :, -1]).abs().flatten()])
    inside = torch.cat([(x[:, 1:] - x[:, :-1]).abs().flatten(), (x[:, :, 1:] - x[:, :, :-1]).abs().flatten()])
    return float(across.mean() / inside.mean().clamp(min=1e-12))
