"""Classical fills, each through its reference library, with the interface of a learned method.

Every function maps ``(x_known (B, C, H, W) in [-1, 1], known (B, 1, H, W) bool)``
to a filled ``(B, C, H, W)`` tensor on the input's device and dtype, whose
known pixels are exactly the input's and whose hole values lie in [-1, 1]. The
libraries all mark the hole with 1 (255 for uint8), the opposite of ``known``:
the conversion happens at each call.

=============  ========================================  ===================
name           algorithm                                 library
=============  ========================================  ===================
``telea``      fast marching (Telea 2004)                OpenCV
``ns``         Navier-Stokes (Bertalmio et al. 2001)     OpenCV
``biharmonic`` biharmonic equation (Damelin & Hoang      scikit-image
               2018)
``patchmatch`` PatchMatch (Barnes et al. 2009)           PyPatchMatch
=============  ========================================  ===================

OpenCV and PatchMatch work on uint8, so their fills are quantised to 256
levels (:func:`inpaint.io.to_uint8`); biharmonic works on floats.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import torch
from skimage.restoration import inpaint_biharmonic
from torch import Tensor

from .io import from_uint8, to_uint8
from .masks import check_known

__all__ = ["BASELINES", "CLASSICAL_METHODS", "OPENCV_RADIUS", "PATCH_SIZE", "telea", "ns", "biharmonic", "patchmatch"]

OPENCV_RADIUS = 3
"""``inpaintRadius`` of ``cv2.inpaint``: the radius in pixels of the neighbourhood of
known pixels each hole pixel is estimated from (the value of OpenCV's tutorial)."""

PATCH_SIZE = 3
"""PyPatchMatch's ``patch_size``, a radius: patches are 7x7 pixels (the library's examples)."""


def _check(x_known: Tensor, known: Tensor, channels: tuple[int, ...] | None, name: str) -> None:
    if not isinstance(x_known, Tensor) or x_known.ndim != 4 or not x_known.is_floating_point():
        raise ValueError(f"{name}: x_known must be a float tensor (B, C, H, W) in [-1, 1]")
    c = x_known.shape[1]
    check_known(known, x_known, name=f"{name}: known")
    if channels is not None and c not in channels:
        allowed = " or ".join(map(str, channels))
        raise ValueError(f"{name} fills images of {allowed} channels (grey or RGB); got C={c}")


def _per_image(x_known: Tensor, known: Tensor, fill_one: Callable[[Tensor, np.ndarray], Tensor]) -> Tensor:
    """Apply ``fill_one((C, H, W) float on the CPU, hole (H, W) bool) -> (1, C, H, W)`` image by image,
    then put the known pixels back exactly and clip the hole to [-1, 1]."""
    x_cpu, holes = x_known.detach().cpu().float(), (~known[:, 0]).cpu().numpy()
    filled = torch.cat([fill_one(x, hole) for x, hole in zip(x_cpu, holes)])
    filled = filled.to(device=x_known.device, dtype=x_known.dtype).clamp(-1, 1)
    return torch.where(known, x_known, filled)


def _opencv(x_known: Tensor, known: Tensor, flag: int, name: str) -> Tensor:
    _check(x_known, known, (1, 3), name)

    def fill_one(x: Tensor, hole: np.ndarray) -> Tensor:
        image = to_uint8(x)  # (H, W, C); OpenCV inpaints each channel alike, so RGB order is fine
        # OpenCV wants an 8-bit mask that is non-zero (255) in the HOLE, the opposite of ``known``.
        mask = hole.astype(np.uint8) * 255
        src = np.ascontiguousarray(image[..., 0]) if image.shape[2] == 1 else image
        out = cv2.inpaint(src, mask, OPENCV_RADIUS, flag)
        return from_uint8(np.ascontiguousarray(out))

    return _per_image(x_known, known, fill_one)


def telea(x_known: Tensor, known: Tensor) -> Tensor:
    """Fast-marching fill (Telea 2004) with ``cv2.inpaint(..., cv2.INPAINT_TELEA)``.

    Parameters
    ----------
    x_known : Tensor, shape (B, C, H, W), float in [-1, 1], C = 1 or 3
        The image; values in the hole are ignored.
    known : Tensor of bool, shape (B, 1, H, W)
        True at known pixels.

    Returns
    -------
    Tensor, shape (B, C, H, W), in [-1, 1]
        Equal to ``x_known`` at known pixels; the hole quantised to 8 bits.

    References
    ----------
    A. Telea, "An image inpainting technique based on the fast marching
    method", Journal of Graphics Tools 9(1), 2004.

    Examples
    --------
    >>> x = torch.linspace(-1, 1, 32).expand(1, 3, 32, 32).clone()
    >>> known = torch.ones(1, 1, 32, 32, dtype=torch.bool)
    >>> known[..., 10:20, 10:20] = False
    >>> telea(x * known, known).shape
    torch.Size([1, 3, 32, 32])
    """
    return _opencv(x_known, known, cv2.INPAINT_TELEA, "telea")


def ns(x_known: Tensor, known: Tensor) -> Tensor:
    """Navier-Stokes fill (Bertalmio et al. 2001) with ``cv2.inpaint(..., cv2.INPAINT_NS)``.

    Parameters and returns as :func:`telea`.

    References
    ----------
    M. Bertalmio, A. L. Bertozzi and G. Sapiro, "Navier-Stokes, fluid dynamics,
    and image and video inpainting", CVPR 2001.
    """
    return _opencv(x_known, known, cv2.INPAINT_NS, "ns")


def biharmonic(x_known: Tensor, known: Tensor) -> Tensor:
    """Smooth fill solving the biharmonic equation in the hole, ``skimage.restoration.inpaint_biharmonic``.

    Works in float64 on the [-1, 1] values directly (the equation is linear), one
    connected hole region at a time (``split_into_regions=True``: the same
    solution, faster for scattered holes).

    Parameters
    ----------
    x_known : Tensor, shape (B, C, H, W), float in [-1, 1], any C >= 1
    known : Tensor of bool, shape (B, 1, H, W), True at known pixels

    Returns
    -------
    Tensor, shape (B, C, H, W), in [-1, 1], equal to ``x_known`` at known pixels.

    References
    ----------
    S. B. Damelin and N. S. Hoang, "On surface completion and image inpainting
    by biharmonic functions: numerical aspects", IJMMS 2018.
    """
    _check(x_known, known, None, "biharmonic")

    def fill_one(x: Tensor, hole: np.ndarray) -> Tensor:
        image = x.double().permute(1, 2, 0).numpy()  # (H, W, C)
        # scikit-image wants mask True in the HOLE, the opposite of ``known``.
        out = inpaint_biharmonic(image, hole, split_into_regions=True, channel_axis=-1)
        return torch.from_numpy(out).permute(2, 0, 1)[None].float()

    return _per_image(x_known, known, fill_one)


def patchmatch_module():
    try:
        import patchmatch
    except ImportError as exc:
        raise RuntimeError("PyPatchMatch, a dependency of inpaint, is missing: pip install pypatchmatch, or "
                           f"reinstall inpaint ({exc})") from None
    if not patchmatch.patchmatch_available:
        raise RuntimeError("PyPatchMatch is installed but its native library failed to load; reinstall a wheel "
                           "for this platform (a source build needs a C++ compiler, CMake and OpenCV)")
    return patchmatch


def patchmatch(x_known: Tensor, known: Tensor, *, seed: int = 0) -> Tensor:
    """PatchMatch fill (Barnes et al. 2009) with PyPatchMatch's ``inpaint``.

    Patches of 7x7 pixels (``PATCH_SIZE`` = 3, a radius). PyPatchMatch takes
    HxWx3 uint8 images: grey images are repeated to three channels and the
    first channel of the fill is kept (all three are equal).

    Parameters
    ----------
    x_known : Tensor, shape (B, C, H, W), float in [-1, 1], C = 1 or 3
    known : Tensor of bool, shape (B, 1, H, W), True at known pixels
    seed : int, optional
        Seed of the randomised search, set before every image so that equal
        inputs give equal fills (PyPatchMatch keeps it in process-wide state).

    Returns
    -------
    Tensor, shape (B, C, H, W), in [-1, 1], equal to ``x_known`` at known pixels.

    Raises
    ------
    RuntimeError
        If PyPatchMatch or its native library is missing.

    References
    ----------
    C. Barnes, E. Shechtman, A. Finkelstein and D. B. Goldman, "PatchMatch: a
    randomized correspondence algorithm for structural image editing", SIGGRAPH 2009.
    """
    _check(x_known, known, (1, 3), "patchmatch")
    pm = patchmatch_module()

    def fill_one(x: Tensor, hole: np.ndarray) -> Tensor:
        image = to_uint8(x)
        grey = image.shape[2] == 1
        # PyPatchMatch marks the HOLE with non-zero mask values, the opposite of ``known``.
        mask = hole.astype(np.uint8) * 255
        pm.set_random_seed(seed)
        out = pm.inpaint(np.repeat(image, 3, axis=2) if grey else image, mask, patch_size=PATCH_SIZE)
        return from_uint8(np.ascontiguousarray(out[..., :1] if grey else out))

    return _per_image(x_known, known, fill_one)


BASELINES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "telea": telea,
    "ns": ns,
    "biharmonic": biharmonic,
    "patchmatch": patchmatch,
}
"""The classical methods by name, each ``(x_known, known) -> filled``."""
CLASSICAL_METHODS = tuple(BASELINES)
"""The classical methods, by name."""
