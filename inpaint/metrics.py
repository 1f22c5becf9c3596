"""Quality metrics of a filled hole, computed per image.

Images are float tensors (B, C, H, W) in [-1, 1]; ``known`` is a bool mask
(B, 1, H, W), True = known pixel, so the hole is ``~known``. PSNR and SSIM are
averaged over the hole; LPIPS (:func:`inpaint.perceptual.lpips_distance`) is
taken on the whole composited crop, i.e. an output whose known pixels are the
input's, as every fill method returns it.
"""

from __future__ import annotations

import itertools
import math
from functools import partial

import kornia
import lpips
import numpy as np
import skimage.measure
import torch
from torch import Tensor

from inpaint.masks import check_known
from inpaint.perceptual import lpips_distance

__all__ = [
    "PSNR_CAP", "psnr", "ssim", "sharpness", "sharpness_ratio", "blur_effect", "frequency_errors", "colour_error",
    "patch_swd", "near_copy_share", "diversity", "hole_metrics", "lpips_distance",
]

PSNR_CAP = 100.0
"""PSNR (dB) reported for identical holes, instead of inf, so means stay finite."""

SHARPNESS_EPS = 1e-10
"""Added to both energies in :func:`sharpness_ratio` so a flat truth is no 0/0."""

TONE_SIGMA = 4.0
"""Standard deviation in pixels of the window over which :func:`frequency_errors` averages the error into tone."""
PATCH_SIZE, PATCH_DIRECTIONS, PATCH_POSITIONS = 7, 128, 4096
""":func:`patch_swd`: side of the patches, random projections, and at most this many hole positions per image."""
COPY_LEVELS = 2.0
""":func:`near_copy_share`: a patch is a near-copy when its RMS difference to a source patch is below this many
0-255 levels (8-bit rounding alone gives 0.3)."""
LEVELS = 127.5
"""One unit of [-1, 1] in the 0 to 255 levels that the error metrics report."""


def _check_image(image: Tensor, name: str) -> None:
    if not isinstance(image, Tensor) or image.ndim != 4 or not image.is_floating_point():
        raise ValueError(f"{name} must be a float tensor of shape (B, C, H, W) in [-1, 1]")


def _check_known(image: Tensor, known: Tensor) -> None:
    check_known(known, image)
    no_hole = known.flatten(1).all(dim=1).nonzero().flatten().tolist()
    if no_hole:
        raise ValueError(f"every image needs at least one hole pixel (known == False); images {no_hole} have none")


def _check_pair(output: Tensor, truth: Tensor, known: Tensor) -> None:
    _check_image(output, "output")
    _check_image(truth, "truth")
    if output.shape != truth.shape:
        shapes = f"{tuple(output.shape)} and {tuple(truth.shape)}"
        raise ValueError(f"output and truth must have the same shape; got {shapes}")
    _check_known(output, known)


def _check_range(data_range: float) -> None:
    if not data_range > 0:
        raise ValueError(f"data_range must be positive (2.0 for images in [-1, 1]); got {data_range}")


def _hole_mean(values: Tensor, known: Tensor) -> Tensor:
    """Mean of (B, C, H, W) values over channels and hole pixels -> (B,)."""
    hole = (~known).to(values.dtype)
    return (values * hole).sum(dim=(1, 2, 3)) / (hole.sum(dim=(1, 2, 3)) * values.shape[1])


def psnr(output: Tensor, truth: Tensor, known: Tensor, *, data_range: float = 2.0) -> Tensor:
    """Peak signal-to-noise ratio over the hole pixels (all channels).

    ``10 log10(data_range**2 / MSE)``, as ``skimage.metrics.peak_signal_noise_ratio``
    computes it on the hole pixels of each image.

    Parameters
    ----------
    output, truth : Tensor, shape (B, C, H, W), in [-1, 1]
    known : Tensor of bool, shape (B, 1, H, W), True = known; >= 1 hole pixel per image
    data_range : float, optional, max minus min of the value range (2.0 for [-1, 1])

    Returns
    -------
    Tensor, shape (B,), float64
        PSNR in dB, capped at ``PSNR_CAP`` (100 dB; identical holes get it).
    """
    _check_pair(output, truth, known)
    _check_range(data_range)
    err = (output.double() - truth.double()).square()
    mse = _hole_mean(err, known)
    value = 10 * torch.log10(data_range**2 / mse)  # inf where mse == 0
    return value.clamp(max=PSNR_CAP)


def ssim(
    output: Tensor, truth: Tensor, known: Tensor, *, data_range: float = 2.0, window_size: int = 11
) -> Tensor:
    """Structural similarity averaged over the hole.

    The SSIM map of ``kornia.metrics.ssim`` (Gaussian window, reflect padding)
    is computed on the whole crop, averaged over channels, then over the hole
    pixels. The windows of hole pixels near the border of the hole reach
    ``window_size // 2`` pixels into the known region.

    Parameters
    ----------
    output, truth : Tensor, shape (B, C, H, W), in [-1, 1]
    known : Tensor of bool, shape (B, 1, H, W), True = known; >= 1 hole pixel per image
    data_range : float, optional, max minus min of the value range (2.0 for [-1, 1])
    window_size : int, optional, odd side of the Gaussian window

    Returns
    -------
    Tensor, shape (B,)
        SSIM in [-1, 1], 1 for identical holes.
    """
    _check_pair(output, truth, known)
    _check_range(data_range)
    if window_size < 1 or window_size % 2 == 0:
        raise ValueError(f"window_size must be a positive odd integer; got {window_size}")
    ssim_map = kornia.metrics.ssim(output, truth, window_size, max_val=float(data_range))
    return _hole_mean(ssim_map.mean(dim=1, keepdim=True), known)


def sharpness(image: Tensor, known: Tensor) -> Tensor:
    """Energy of the Laplacian over the hole: mean squared 3x3 Laplacian response.

    The Laplacian is ``kornia.filters.laplacian`` (kernel 3, normalized, reflect
    border); at the border of the hole it also sees the known pixel beside it.

    Parameters
    ----------
    image : Tensor, shape (B, C, H, W), in [-1, 1]
    known : Tensor of bool, shape (B, 1, H, W), True = known; >= 1 hole pixel per image

    Returns
    -------
    Tensor, shape (B,)
        Mean over channels and hole pixels of the squared response, >= 0;
        0 for a flat (or linear) hole, larger = more fine detail.
    """
    _check_image(image, "image")
    _check_known(image, known)
    response = kornia.filters.laplacian(image, kernel_size=3)
    return _hole_mean(response.square(), known)


def sharpness_ratio(output: Tensor, truth: Tensor, known: Tensor) -> Tensor:
    """Laplacian energy of the filled hole relative to the ground truth's.

    ``(sharpness(output) + eps) / (sharpness(truth) + eps)`` with
    ``eps = SHARPNESS_EPS`` (1e-10): negligible for real textures, it makes a
    flat truth give 1.0 for a flat output and a large finite value otherwise.

    Parameters
    ----------
    output, truth : Tensor, shape (B, C, H, W), in [-1, 1]
    known : Tensor of bool, shape (B, 1, H, W), True = known; >= 1 hole pixel per image

    Returns
    -------
    Tensor, shape (B,)
        1.0 = as sharp as the truth, below 1 = blurrier, above 1 = noisier.
    """
    _check_pair(output, truth, known)
    return (sharpness(output, known) + SHARPNESS_EPS) / (sharpness(truth, known) + SHARPNESS_EPS)


def _hole_box(hole: Tensor, margin: int) -> tuple[slice, slice]:
    """Bounding box of a (H, W) bool hole grown by ``margin``, inside the image."""
    rows = hole.any(dim=1).nonzero().flatten()
    cols = hole.any(dim=0).nonzero().flatten()
    h, w = hole.shape
    top, bottom = max(int(rows[0]) - margin, 0), min(int(rows[-1]) + 1 + margin, h)
    left, right = max(int(cols[0]) - margin, 0), min(int(cols[-1]) + 1 + margin, w)
    return slice(top, bottom), slice(left, right)


def blur_effect(output: Tensor, known: Tensor, *, margin: int = 8) -> Tensor:
    """Blur effect (Crete et al. 2007) of each image around its hole.

    ``skimage.measure.blur_effect`` (RGB converted to luminance by
    scikit-image) on the bounding box of the hole grown by ``margin`` pixels
    on each side, clipped to the image.

    Parameters
    ----------
    output : Tensor, shape (B, C, H, W), in [-1, 1], C = 1 or 3
    known : Tensor of bool, shape (B, 1, H, W), True = known; >= 1 hole pixel per image
    margin : int, optional, pixels of known context around the hole's bounding box

    Returns
    -------
    Tensor, shape (B,), float64, on the CPU
        In [0, 1]: 0 for no blur, 1 for maximal blur (also for a flat box).
    """
    _check_image(output, "output")
    _check_known(output, known)
    if output.shape[1] not in (1, 3):
        raise ValueError(f"blur_effect needs C = 1 or 3 channels; got C={output.shape[1]}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0; got {margin}")
    images = ((output.detach().double().cpu() + 1) / 2).permute(0, 2, 3, 1).numpy()
    holes = (~known[:, 0]).cpu()
    grey = output.shape[1] == 1
    values = []
    for image, hole in zip(images, holes):
        box = image[_hole_box(hole, margin)]
        values.append(skimage.measure.blur_effect(box[..., 0] if grey else box, channel_axis=None if grey else -1))
    return torch.tensor(np.array(values, dtype=np.float64))


def frequency_errors(output: Tensor, truth: Tensor, known: Tensor, *, sigma: float = TONE_SIGMA
                     ) -> tuple[Tensor, Tensor]:
    """The hole's error split into tone (low frequency) and detail (high frequency), on a 0 to 255 scale.

    With e = output - truth on the hole, the tone of the error is its local mean
    over the hole, a normalized convolution with a Gaussian of ``sigma`` pixels,
    ``G * (e h) / G * h`` (h = 1 in the hole), so that known pixels, where e = 0,
    do not dilute a thin stroke's error.  The detail is what is left, e minus
    its tone.  A fill in the right colours with the wrong grain has a small tone
    error; a pale blotch has a large one.  Like PSNR, the detail error rewards
    blur: a plausible new grain is uncorrelated with the truth's.

    Parameters
    ----------
    output, truth : Tensor, shape (B, C, H, W), in [-1, 1]
    known : Tensor of bool, shape (B, 1, H, W), True = known; >= 1 hole pixel per image
    sigma : float, optional, the window of the tone in pixels

    Returns
    -------
    (tone, detail) : two Tensors of shape (B,)
        Root mean square over hole pixels and channels of each part, in 0 to 255 levels.
    """
    _check_pair(output, truth, known)
    if not sigma > 0:
        raise ValueError(f"sigma must be positive; got {sigma}")
    hole = (~known).to(output.dtype)
    size = 2 * math.ceil(3 * sigma) + 1
    blur = partial(kornia.filters.gaussian_blur2d, kernel_size=(size, size), sigma=(sigma, sigma),
                   border_type="constant")
    err = (output - truth) * hole
    tone = blur(err) / blur(hole).clamp(min=1e-6) * hole
    return (_hole_mean(tone.square(), known).sqrt() * LEVELS,
            _hole_mean((err - tone).square(), known).sqrt() * LEVELS)


def colour_error(output: Tensor, truth: Tensor, known: Tensor) -> Tensor:
    """Error of the hole's mean colour: |mean of output - mean of truth| over the hole, averaged over channels.

    Returns
    -------
    Tensor, shape (B,), in 0 to 255 levels; 0 when the hole's mean colour is right.
    """
    _check_pair(output, truth, known)
    hole = (~known).to(output.dtype)
    mean = lambda x: (x * hole).sum(dim=(2, 3)) / hole.sum(dim=(2, 3))  # noqa: E731  (B, C)
    return (mean(output) - mean(truth)).abs().mean(dim=1) * LEVELS


def patch_swd(output: Tensor, truth: Tensor, known: Tensor, *, size: int = PATCH_SIZE,
              directions: int = PATCH_DIRECTIONS, positions: int = PATCH_POSITIONS) -> Tensor:
    """Sliced Wasserstein distance between the patches of the fill and those of the truth around the hole.

    The ``size`` x ``size`` patches centred on the hole's pixels (reflect
    padding at the border) are projected on ``directions`` random unit vectors
    (drawn from a fixed seed, so every method is measured alike); each
    projection's 1-D Wasserstein-1 distance between the fill's patches and the
    truth's is the mean absolute difference of their sorted values (Rabin et
    al. 2011), and the distance is the mean over directions.  It compares the
    distributions of patches, not their places: a fill that copies the truth
    scores 0, a plausible grain in other places scores little, and a blur or a
    blotch scores much.  Unlike Gram matrices of a network's features it needs
    no network, compares whole distributions rather than second moments, and
    reads in pixel levels.

    Parameters
    ----------
    output, truth : Tensor, shape (B, C, H, W), in [-1, 1]
    known : Tensor of bool, shape (B, 1, H, W), True = known; >= 1 hole pixel per image
    size, directions : int, optional
    positions : int, optional
        At most this many hole pixels per image, drawn from a fixed seed, the same for both images.

    Returns
    -------
    Tensor, shape (B,), float64, in 0 to 255 levels.
    """
    _check_pair(output, truth, known)
    if size < 1 or size % 2 == 0 or directions < 1 or positions < 1:
        raise ValueError("size must be odd and positive, directions and positions positive")
    generator = torch.Generator().manual_seed(0)
    B, C = output.shape[:2]
    dirs = torch.randn(C * size * size, directions, generator=generator, dtype=torch.float64)
    dirs = (dirs / dirs.norm(dim=0)).to(output.device)

    def patches(x: Tensor) -> Tensor:  # (B, C*size*size, H*W)
        x = torch.nn.functional.pad(x.double(), [size // 2] * 4, mode="reflect")
        return torch.nn.functional.unfold(x, size)

    mine, theirs, holes = patches(output), patches(truth), (~known).flatten(1)
    values = []
    for b in range(B):
        where = holes[b].nonzero().flatten()
        if len(where) > positions:
            where = where[torch.randperm(len(where), generator=generator)[:positions].to(where.device)]
        a = (mine[b][:, where].T @ dirs).sort(dim=0).values
        c = (theirs[b][:, where].T @ dirs).sort(dim=0).values
        values.append((a - c).abs().mean())
    return torch.stack(values).cpu() * LEVELS


def near_copy_share(output: Tensor, source: Tensor, known: Tensor, *, size: int = PATCH_SIZE, stride: int = 4,
                    levels: float = COPY_LEVELS, scale: int = 1, chunk: int = 2048) -> float:
    """Share of the new patches of ``output`` that are near-copies of one place of ``source``: visible
    repetition, as patch-based synthesis makes it.

    The ``size`` x ``size`` patches of ``output`` that lie wholly in its new pixels (``known`` False), every
    ``stride`` pixels, are each compared with every patch of ``source`` (stride 1, exact nearest neighbour);
    a patch whose RMS difference to its nearest is below ``levels`` (0-255) counts as a copy.  A method that
    pastes the source scores near 1, a drawing of new texture near 0, and so does the texture's own
    continuation unless it repeats itself.

    With ``scale`` > 1 both images are first shrunk by that factor (means of ``scale`` x ``scale`` blocks; a
    block is new when all its pixels are): a patch then spans ``size * scale`` pixels, and a copy whose fine
    detail differs a little, once averaged, still counts.  A layout whose detail was redrawn as a whole (a
    diffusion chain from a copied guide) mostly does not: that repetition needs looking at.

    Parameters
    ----------
    output : Tensor (1, C, H, W) in [-1, 1]
    source : Tensor (1, C, h, w) in [-1, 1], the pixels the method was given
    known : Tensor (1, 1, H, W) bool, True where ``output`` holds the given pixels

    Examples
    --------
    >>> source = torch.rand(1, 1, 16, 16) * 2 - 1
    >>> canvas = torch.zeros(1, 1, 16, 32); canvas[..., :16] = source; canvas[..., 16:] = source  # tiled
    >>> known = torch.zeros(1, 1, 16, 32, dtype=torch.bool); known[..., :16] = True
    >>> near_copy_share(canvas, source, known, size=5)
    1.0
    >>> near_copy_share(torch.rand(1, 1, 16, 32) * 2 - 1, source, known, size=5)
    0.0
    """
    if output.ndim != 4 or source.ndim != 4 or output.shape[:2] != source.shape[:2] or output.shape[0] != 1:
        raise ValueError(f"output and source must be (1, C, H, W) of the same C, got {tuple(output.shape)} "
                         f"and {tuple(source.shape)}")
    _check_known(output, known)
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    if scale > 1:
        shrink = torch.nn.functional.avg_pool2d
        output, source = shrink(output.float(), scale), shrink(source.float(), scale)
        known = -torch.nn.functional.max_pool2d(-(~known).float(), scale) < 0.5  # new only if all of it is
    unfold = torch.nn.functional.unfold
    new = unfold((~known).double(), size, stride=stride).amin(1)[0].bool()  # wholly new patches
    if not new.any():
        raise ValueError(f"no {size}x{size} patch lies wholly in the new pixels")
    mine = unfold(output.float(), size, stride=stride)[0].T[new]
    theirs = unfold(source.float(), size)[0].T
    nearest = torch.cat([torch.cdist(part, theirs).amin(1) for part in mine.split(chunk)])
    rms = nearest / math.sqrt(mine.shape[1]) * LEVELS
    return float((rms < levels).double().mean())


def diversity(samples: Tensor, *, net: lpips.LPIPS | None = None) -> Tensor:
    """Mean pairwise LPIPS between samples drawn for the same hole.

    Parameters
    ----------
    samples : Tensor, shape (S, B, C, H, W)
        S >= 2 filled versions of each of B images, in [-1, 1], C = 1 or 3.
    net : lpips.LPIPS, optional, from :func:`inpaint.perceptual.load_lpips`

    Returns
    -------
    Tensor, shape (B,)
        Mean LPIPS over the S (S - 1) / 2 pairs; 0 when all samples agree.
    """
    if not isinstance(samples, Tensor) or samples.ndim != 5:
        raise ValueError("samples must be a tensor of shape (S, B, C, H, W)")
    if samples.shape[0] < 2:
        raise ValueError(f"diversity needs S >= 2 samples per image; got S={samples.shape[0]}")
    pairs = itertools.combinations(range(samples.shape[0]), 2)
    distances = [lpips_distance(samples[i], samples[j], net=net) for i, j in pairs]
    return torch.stack(distances).mean(dim=0)


def hole_metrics(
    output: Tensor, truth: Tensor, known: Tensor, *, net: lpips.LPIPS | None = None, data_range: float = 2.0
) -> dict[str, Tensor]:
    """All per-image metrics of a filled hole, for reports.

    Parameters
    ----------
    output, truth : Tensor, shape (B, C, H, W), in [-1, 1], C = 1 or 3
        Composited fill (known pixels equal the input's) and ground truth.
    known : Tensor of bool, shape (B, 1, H, W), True = known; >= 1 hole pixel per image
    net : lpips.LPIPS, optional, from :func:`inpaint.perceptual.load_lpips`
    data_range : float, optional, max minus min of the value range (2.0 for [-1, 1])

    Returns
    -------
    dict of str to Tensor of shape (B,), on the CPU, float64
        ``psnr`` (dB, :func:`psnr`), ``ssim`` (:func:`ssim`), ``lpips`` (whole
        crop), ``sharpness`` (:func:`sharpness_ratio`, 1 = as sharp as the
        truth), ``blur_effect`` (:func:`blur_effect` of the output), and in
        0 to 255 levels ``tone`` and ``detail`` (:func:`frequency_errors`),
        ``colour`` (:func:`colour_error`) and ``patch_swd`` (:func:`patch_swd`).
    """
    _check_pair(output, truth, known)
    tone, detail = frequency_errors(output, truth, known)
    values = {
        "psnr": psnr(output, truth, known, data_range=data_range),
        "ssim": ssim(output, truth, known, data_range=data_range),
        "lpips": lpips_distance(output, truth, net=net),
        "sharpness": sharpness_ratio(output, truth, known),
        "blur_effect": blur_effect(output, known),
        "tone": tone,
        "detail": detail,
        "colour": colour_error(output, truth, known),
        "patch_swd": patch_swd(output, truth, known),
    }
    return {k: v.detach().double().cpu() for k, v in values.items()}
