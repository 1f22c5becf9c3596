"""Is a texture oriented?  The augmentation a texture can take without learning a different texture.

Random quarter turns teach a model every orientation of its training image.
That is harmless for an isotropic texture (gravel, cork) and wrong for an
oriented one (wood grain, brick courses, rows of tiles): a turned crop of
planks is a texture the image never shows.  The structure tensor
(Bigun and Granlund 1987; Jähne, *Digital Image Processing*, ch. 13) measures
this: averaged over the whole image, its two eigenvalues are equal when
gradients point every way, and far apart when one direction dominates.
"""

from __future__ import annotations

import torch
from kornia.filters import gaussian_blur2d, spatial_gradient
from torch import Tensor
from torch.nn.functional import max_pool2d

AUGMENTATIONS = ("auto", "none", "flips", "dihedral")
"""'none'; 'flips': the four symmetries that keep the axes (identity, mirror
left-right, mirror top-bottom, half turn); 'dihedral': all eight, quarter turns
included; 'auto': 'dihedral' for an isotropic texture, else 'none'."""

ISOTROPY_LIMIT = 0.2
"""Largest anisotropy :func:`choose_augmentation` still calls isotropic.

Set on the textures the toolkit ships (never on a benchmark texture): grass
0.02, gravel 0.06 and cork 0.09 fall below it; canvas (a weave, 0.52) and brick
(courses of mortar, 0.62) above (``tests/test_orientation.py`` pins these).
"""

SCALES = (1.0, 2.0, 4.0)
"""Gaussian scales (pixels) of the integration: lines show at one scale, cells at another."""


def anisotropy(image: Tensor, *, scales: tuple[float, ...] = SCALES, where: Tensor | None = None) -> float:
    """How strongly one gradient direction dominates ``image``, in [0, 1].

    The coherence ``(l1 - l2) / (l1 + l2)`` of the image-wide structure tensor
    ``J = mean(grad I grad I^T)``, computed on the grey image smoothed at each of
    ``scales`` and reported at the scale where it is largest.  0: gradients in
    every direction equally (or no gradient); 1: all gradients parallel.

    Parameters
    ----------
    image : Tensor (1, C, H, W) or (C, H, W), values in [-1, 1]
    where : Tensor (H, W) bool, optional
        Average only over these pixels, and only where the smoothing and the
        gradient read nothing outside them: a held-out region or a hole has no
        say in the result.

    Examples
    --------
    >>> stripes = torch.sin(torch.arange(64.0)).repeat(64, 1)[None, None]
    >>> round(anisotropy(stripes), 2)
    1.0
    """
    x = image if image.ndim == 4 else image[None]
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"image must have shape (1, C, H, W) or (C, H, W), got {tuple(image.shape)}")
    if where is not None and where.shape != x.shape[-2:]:
        raise ValueError(f"where must have shape {tuple(x.shape[-2:])}, got {tuple(where.shape)}")
    grey = x.double().mean(1, keepdim=True)
    best = 0.0
    for s in scales:
        k = 2 * round(3 * s) + 1
        smooth = gaussian_blur2d(grey, (k, k), (s, s), border_type="reflect")
        g = spatial_gradient(smooth, mode="sobel")[:, 0]  # (1, 2, H, W): d/dx, d/dy
        gx, gy = g[:, 0], g[:, 1]
        if where is not None:  # pixels whose blur and Sobel windows stay inside ``where``
            r = k // 2 + 1
            outside = (~where.to(torch.bool, copy=False)).double()[None, None]
            inside = max_pool2d(outside, 2 * r + 1, stride=1, padding=r)[0] == 0
            if not inside.any():
                continue
            gx, gy = gx[inside], gy[inside]
        jxx, jyy, jxy = (gx * gx).mean(), (gy * gy).mean(), (gx * gy).mean()
        trace = jxx + jyy
        if trace <= 0:
            continue
        coherence = torch.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / trace
        best = max(best, float(coherence))
    return best


def choose_augmentation(image: Tensor, augment: str = "auto", *, where: Tensor | None = None) -> str:
    """The concrete augmentation for ``image``: ``augment`` itself, or for 'auto' a choice by
    :func:`anisotropy` (measured on the pixels ``where`` is True, default all)."""
    if augment not in AUGMENTATIONS:
        raise ValueError(f"augment must be one of {', '.join(AUGMENTATIONS)}; got {augment!r}")
    if augment != "auto":
        return augment
    return "dihedral" if anisotropy(image, where=where) <= ISOTROPY_LIMIT else "none"


def augmentation_name(augment: str | bool) -> str:
    """``augment`` by name; a bool is the on/off switch of files and code before named augmentations
    (True: 'dihedral', False: 'none')."""
    if isinstance(augment, bool):
        return "dihedral" if augment else "none"
    return augment


def symmetries(augment: str) -> tuple[int, ...]:
    """The dihedral elements ``k`` (see :func:`inpaint.patches.dihedral`) an augmentation draws from."""
    if augment == "none":
        return (0,)
    if augment == "flips":
        return (0, 2, 4, 6)  # identity, half turn, and the two mirrors that keep the axes
    if augment == "dihedral":
        return tuple(range(8))
    raise ValueError(f"augment must be resolved to one of none, flips, dihedral; got {augment!r}")


__all__ = ["AUGMENTATIONS", "ISOTROPY_LIMIT", "anisotropy", "augmentation_name", "choose_augmentation", "symmetries"]
