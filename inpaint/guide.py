"""Where a fill's chain starts: pure noise, or a guide noised to an intermediate level.

SDEdit (Meng et al., "SDEdit: Guided Image Synthesis and Editing with
Stochastic Differential Equations", ICLR 2022) starts the reverse process
from a guide image noised to level t0 instead of from pure noise at T: what
the noise at t0 washes out (detail, seams) is redrawn by the model, what it
keeps (tone, large structure) is the guide's.  A guide here is a first fill
of the hole: the known region's mean colour, a classical method's fill
(PatchMatch copies real patches of the image, so its tone and large structure
are right and its faults are seams), or any fill the caller has, such as the
regression model's.  Its known pixels are the input's, as always.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .baselines import BASELINES, CLASSICAL_METHODS
from .masks import check_known

__all__ = ["GUIDES", "known_mean", "make_guide"]

GUIDES = ("noise", "mean", *CLASSICAL_METHODS)
"""Starts of :class:`inpaint.fill.SamplerConfig`: 'noise' (no guide), the known pixels' mean colour, or a
classical method's fill (:data:`inpaint.baselines.BASELINES`)."""


def known_mean(x_known: Tensor, known: Tensor) -> Tensor:
    """``x_known`` with each image's hole set to the mean colour of its known pixels (per channel).

    Parameters
    ----------
    x_known : Tensor (B, C, H, W) in [-1, 1]
    known : Tensor (B, 1, H, W) bool, True at known pixels; at least one per image

    Returns
    -------
    Tensor (B, C, H, W), equal to ``x_known`` at known pixels.
    """
    check_known(known, x_known)
    k = known.to(x_known.dtype)
    count = k.sum(dim=(2, 3), keepdim=True)
    if bool((count == 0).any()):
        raise ValueError("an image has no known pixel: its mean colour is undefined")
    mean = (x_known * k).sum(dim=(2, 3), keepdim=True) / count
    return torch.where(known, x_known, mean.expand_as(x_known))


def make_guide(start: str, x_known: Tensor, known: Tensor) -> Tensor | None:
    """The guide a fill starts from, for a ``start`` of :data:`GUIDES`: None for 'noise'.

    Classical fills run on the CPU (PatchMatch with its seed 0, so a guide is
    the same for every sample) and come back on ``x_known``'s device and dtype.
    PatchMatch takes grey or RGB images only: other channel counts (stacks of
    maps) get the biharmonic fill instead.
    """
    if start not in GUIDES:
        raise ValueError(f"start must be one of {', '.join(GUIDES)}; got {start!r}")
    if start == "noise":
        return None
    if start == "mean":
        return known_mean(x_known, known)
    if start == "patchmatch" and x_known.shape[1] not in (1, 3):
        start = "biharmonic"
    guide = BASELINES[start](x_known.float().cpu(), known.cpu())
    return torch.where(known, x_known, guide.to(device=x_known.device, dtype=x_known.dtype))
