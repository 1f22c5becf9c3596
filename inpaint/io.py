"""Read and write images and masks (files or file objects): the one door of image files and uint8 (the fixed
mask sets of :mod:`inpaint.mask_sets` alone write their own 1-bit PNGs).

Inside the library an image is a float32 tensor ``(B, C, H, W)`` in [-1, 1] and a mask
is a ``known`` bool tensor ``(B, 1, H, W)``, True where the pixel is known. On disk a
mask is a grey image that is WHITE where the hole is: a pixel is a hole when its grey
value (Pillow ``convert("L")``; 16-bit masks scaled to 8 bits first) is >= 128.

An integer sample ``x`` of bit depth ``b`` (``s = 2**b - 1``) maps to ``x / (s / 2) - 1``
and back to ``round((y + 1) * s / 2)`` clipped to ``[0, s]``, so 8-bit and 16-bit
images round-trip exactly. The file formats themselves (TIFF with tifffile, 16-bit
colour PNG with OpenCV, the rest with Pillow; EXIF orientation, ICC profiles, the
size check before decoding) are in :mod:`inpaint.image_files`.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from PIL import Image

from .image_files import ImageFormatError, decode, encode, image_size, open_pillow, save_format

__all__ = [
    "MASK_THRESHOLD", "ImageFormatError", "ImageInfo", "read_image", "write_image",
    "read_mask", "write_mask", "read_stack", "write_stack", "to_uint8", "from_uint8", "image_size",
    "split_alpha", "join_alpha",
]

PathLike = str | os.PathLike
MASK_THRESHOLD = 128  # grey >= 128 (8-bit scale) is a hole
_GREY16 = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_CHANNELS = {"L": 1, "I;16": 1, "LA": 2, "RGB": 3, "RGBA": 4}
_DEEP = ("I;16", "LA", "RGB", "RGBA")  # tensor modes that may hold 16-bit samples
# Modes read through a Pillow conversion; they are written back as the converted mode.
_CONVERTED = {"1": "L", "La": "LA", "PA": "RGBA", "RGBa": "RGBA", "RGBX": "RGB",
              "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB"}
_DEFAULT_MODE = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def _tensor_mode(mode: str, transparency: bool) -> str | None:
    """Pillow mode whose samples the tensor holds, or None when ``mode`` is unsupported."""
    if mode == "P":
        return "RGBA" if transparency else "RGB"
    if mode in _GREY16:
        return "I;16"
    return mode if mode in _CHANNELS else _CONVERTED.get(mode)


@dataclass(frozen=True)
class ImageInfo:
    """What :func:`write_image` needs to write an image back the way it was read.

    Attributes
    ----------
    mode : str
        Pillow mode of the file as opened: ``"1"``, ``"L"``, ``"LA"``, ``"RGB"``,
        ``"RGBA"``, ``"P"``, ``"I;16"``, ``"I"``, ``"CMYK"``, ...
    bits : int
        Bit depth of the samples as the tensor maps them: 8, or 16 for grey
        (``"I;16"``, ``"I"``), grey + alpha, RGB and RGBA.
    size : tuple of int
        ``(height, width)``, upright (after the EXIF orientation is applied).
    transparency : bool
        Palette images only: whether the palette had transparency (read as RGBA).
    icc_profile : bytes or None
        The file's ICC colour profile, written back into the output.
    metadata : dict
        The file's EXIF (orientation reset to upright), XMP and DPI, written back where
        the output's format and writer have room (:func:`inpaint.image_files.encode`).
    """

    mode: str
    bits: int
    size: tuple[int, int]
    transparency: bool = False
    icc_profile: bytes | None = field(default=None, repr=False)
    metadata: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        tensor_mode = _tensor_mode(self.mode, self.transparency)
        ok = tensor_mode is not None and (self.bits == 8 and tensor_mode != "I;16"
                                          or self.bits == 16 and tensor_mode in _DEEP and self.mode != "P")
        if not ok:
            raise ValueError(f"unsupported ImageInfo: mode {self.mode!r} with {self.bits} bits")

    @property
    def channels(self) -> int:
        """Number of tensor channels the image reads as."""
        return _CHANNELS[_tensor_mode(self.mode, self.transparency)]


def _to_tensor(array: np.ndarray, bits: int) -> torch.Tensor:
    """(H, W) or (H, W, C) integer array -> (1, C, H, W) float32 in [-1, 1].

    Computed in float64 and rounded once to float32, a few rows at a time so that a
    large image never has a float64 copy.
    """
    array = array[..., None] if array.ndim == 2 else array
    H, W, C = array.shape
    out = torch.empty(1, C, H, W)
    scale = (2**bits - 1) / 2
    rows = max(1, 2**20 // max(1, W * C))
    for top in range(0, H, rows):
        chunk = torch.from_numpy(array[top : top + rows].astype(np.float64) / scale - 1)
        out[0, :, top : top + rows] = chunk.permute(2, 0, 1).float()
    return out


def _as_chw(tensor: torch.Tensor, name: str = "image") -> torch.Tensor:
    """Validate a (1, C, H, W) or (C, H, W) float tensor and return it as (C, H, W)."""
    if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
        raise ValueError(f"{name} must be a float tensor, got {type(tensor).__name__} "
                         f"{getattr(tensor, 'dtype', '')}")
    if tensor.ndim == 4 and tensor.shape[0] == 1:
        tensor = tensor[0]
    if tensor.ndim != 3:
        raise ValueError(f"{name} must have shape (1, C, H, W) or (C, H, W), got {tuple(tensor.shape)}")
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return tensor


def _to_array(tensor: torch.Tensor, bits: int) -> np.ndarray:
    """(C, H, W) float in [-1, 1] (clipped) -> (H, W, C) uint8 or uint16.

    A few rows at a time, so that a large image never has a float64 copy.
    """
    C, H, W = tensor.shape
    out = np.empty((H, W, C), np.uint8 if bits == 8 else np.uint16)
    rows = max(1, 2**20 // max(1, W * C))
    for top in range(0, H, rows):
        x = tensor[:, top : top + rows].detach().to("cpu", torch.float64).clamp(-1, 1)
        out[top : top + rows] = torch.round((x + 1) * ((2**bits - 1) / 2)).permute(1, 2, 0).numpy()
    return out


def to_uint8(tensor: torch.Tensor) -> np.ndarray:
    """Convert one image ``(1, C, H, W)`` or ``(C, H, W)`` in [-1, 1] (clipped) to ``(H, W, C)`` uint8.

    ``round((x + 1) * 127.5)``; for libraries (OpenCV, PatchMatch) that need uint8 arrays.
    """
    return _to_array(_as_chw(tensor), 8)


def from_uint8(array: np.ndarray) -> torch.Tensor:
    """Convert a uint8 array ``(H, W)`` or ``(H, W, C)`` to a ``(1, C, H, W)`` float32 tensor in [-1, 1].

    The inverse of :func:`to_uint8`: ``x / 127.5 - 1``.
    """
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise ValueError(f"expected a uint8 array (H, W) or (H, W, C), got "
                         f"{getattr(array, 'dtype', type(array).__name__)} {getattr(array, 'shape', '')}")
    return _to_tensor(array, 8)


def _grey16(im: Image.Image, path: Path) -> np.ndarray:
    arr = np.asarray(im)
    if im.mode == "I" and arr.size and (arr.min() < 0 or arr.max() > 65535):
        raise ImageFormatError(f"{path}: 32-bit integer image with values in [{arr.min()}, {arr.max()}];"
                               " only 16-bit content (0..65535) is supported")
    return arr


def _pillow_samples(im: Image.Image, path: Path) -> tuple[np.ndarray, str, int, bool]:
    """Samples of a decoded Pillow image in the tensor's mode: (array, file mode, bits, transparency)."""
    transparency = im.mode == "P" and im.has_transparency_data
    target = _tensor_mode(im.mode, transparency)
    if target is None:
        raise ImageFormatError(f"{path}: unsupported image mode {im.mode!r}; "
                               "save it as 8- or 16-bit grey, RGB or RGBA")
    if target == "I;16":
        return _grey16(im, path), im.mode, 16, transparency
    return np.asarray(im if im.mode == target else im.convert(target)), im.mode, 8, transparency


def read_image(path: PathLike) -> tuple[torch.Tensor, ImageInfo]:
    """Read an image file as a float tensor in [-1, 1].

    8- and 16-bit grey, grey + alpha, RGB and RGBA keep their samples exactly
    (PNG, TIFF; 16-bit colour PNG is read with OpenCV, TIFF with tifffile). Modes
    ``"1"`` and ``"L"`` give C=1, ``"LA"`` C=2, ``"RGB"`` C=3, ``"RGBA"`` C=4
    (alpha kept as a channel), ``"P"`` RGB or RGBA when the palette has
    transparency; CMYK, YCbCr, LAB and HSV are converted to RGB; ``"I"`` is read
    when it holds 16-bit content. The EXIF orientation tag is applied (the tensor
    is upright), the ICC profile is kept in ``info``. Only the first frame or
    page of a multi-frame file is read. The size is checked from the header
    before anything is decoded.

    Returns
    -------
    image : Tensor
        ``(1, C, H, W)`` float32 in [-1, 1]: 8-bit as ``x / 127.5 - 1``, 16-bit as ``x / 32767.5 - 1``.
    info : ImageInfo
        Pass it to :func:`write_image` to write the result in the same mode, bit depth and profile.

    Raises
    ------
    ImageFormatError
        The file is missing, not an image, truncated, larger than the memory
        available or Pillow's decompression-bomb limit, or in an unsupported mode
        (e.g. ``"F"``) or TIFF layout.
    """
    path = Path(path)
    decoded = decode(path, _pillow_samples)
    size = decoded.array.shape[:2]
    info = ImageInfo(decoded.mode, decoded.bits, (int(size[0]), int(size[1])), decoded.transparency, decoded.icc,
                     decoded.metadata)
    return _to_tensor(decoded.array, decoded.bits), info


def write_image(tensor: torch.Tensor, path: PathLike | BinaryIO, info: ImageInfo | None = None, *,
                format: str | None = None) -> None:
    """Write an image tensor to ``path`` atomically, creating parent folders, or to a binary file object.

    The format follows the file extension (a file object: ``format``, default PNG). With ``info`` the image is written in the
    mode and bit depth it was read with, except that a palette (``"P"``) image is
    written as RGB or RGBA: a fill creates colours the palette does not have, and
    snapping them back to it would add error in the hole. Other converted modes
    (CMYK, YCbCr, ...) are written as the mode they were converted to, and any
    16-bit grey as ``"I;16"``. 16-bit RGB and RGBA go to PNG (OpenCV) or TIFF
    (tifffile); 16-bit grey + alpha is written as 16-bit RGBA in a PNG (no PNG
    writer here makes 16-bit grey + alpha) and as itself in a TIFF. The ICC
    profile of ``info`` is embedded (PNG, TIFF, JPEG, WebP).
    Without ``info``: C=1 -> ``"L"``, 2 -> ``"LA"``, 3 -> ``"RGB"``, 4 -> ``"RGBA"``, 8 bits.

    Parameters
    ----------
    tensor : Tensor
        ``(1, C, H, W)`` or ``(C, H, W)`` float in [-1, 1]; values outside are clipped.
    info : ImageInfo, optional
        From :func:`read_image`.

    Raises
    ------
    ValueError
        Bad shape, NaN, or a channel count that does not match ``info``; raised before
        anything is written.
    ImageFormatError
        Unknown extension or a format that cannot hold the mode (e.g. RGBA or 16 bits as JPEG).
    """
    path = path if hasattr(path, "write") else Path(path)
    chw = _as_chw(tensor)
    c = chw.shape[0]
    if info is None:
        if c not in _DEFAULT_MODE:
            raise ValueError(f"cannot write a {c}-channel image to {path}; expected 1, 2, 3 or 4 channels")
        encode(_to_array(chw, 8), path, _DEFAULT_MODE[c], 8, format=format)
        return
    if c != info.channels:
        raise ValueError(f"tensor has {c} channels but {path} is to be written as mode "
                         f"{info.mode!r}, which reads as {info.channels}")
    mode = "1" if info.mode == "1" else _tensor_mode(info.mode, info.transparency)
    encode(_to_array(chw, info.bits), path, mode, info.bits, info.icc_profile, format=format,
           metadata=info.metadata)


def read_mask(path: PathLike, *, size: tuple[int, int] | None = None) -> torch.Tensor:
    """Read a mask file (white = hole) as a ``known`` tensor.

    Parameters
    ----------
    path : str or PathLike
        Any image; it is converted to grey and a pixel is a hole when its grey value is
        >= 128 (16-bit masks: >= 32768). Alpha is ignored.
    size : tuple of int, optional
        Expected ``(height, width)``, usually the image's.

    Returns
    -------
    Tensor
        ``(1, 1, H, W)`` bool, True where the pixel is known (black in the file).

    Raises
    ------
    ImageFormatError
        Unreadable file, a size other than ``size``, no hole at all, or nothing known.
    """
    path = Path(path)
    im = open_pillow(path)
    if size is not None and (im.height, im.width) != tuple(size):
        raise ImageFormatError(f"{path}: mask size (height, width) = {(im.height, im.width)} "
                               f"differs from the image size {tuple(size)}")
    if im.mode in _GREY16:
        hole = _grey16(im, path) >= 32768  # round(v / 257) >= 128
    else:
        hole = np.asarray(im.convert("L")) >= MASK_THRESHOLD
    if not hole.any():
        raise ImageFormatError(f"{path}: mask has no hole; white (grey >= 128) marks the hole, black the known pixels")
    if hole.all():
        raise ImageFormatError(f"{path}: mask is all hole, nothing is known; white marks the hole, black the known pixels")
    return torch.from_numpy(~hole)[None, None]


def split_alpha(image: torch.Tensor, info: ImageInfo, *, name: str = "image") -> tuple[torch.Tensor, torch.Tensor]:
    """Split an image with alpha into its colour and a ``known`` mask: transparent pixels are the hole.

    A pixel is a hole where its alpha is below half (8-bit alpha < 128, 16-bit < 32768).

    Parameters
    ----------
    image : Tensor (1, C, H, W) in [-1, 1], the last channel alpha (grey + alpha or RGBA)
    info : ImageInfo
        From :func:`read_image`; tells whether the image has alpha.

    Returns
    -------
    colour : Tensor (1, C - 1, H, W)
    known : Tensor (1, 1, H, W) bool, True where the pixel is opaque

    Raises
    ------
    ImageFormatError
        No alpha channel, or an alpha with no transparent pixel, or nothing opaque.
    """
    if info.channels not in (2, 4):
        raise ImageFormatError(f"{name} has no alpha channel ({info.mode}); give a --mask, white where the hole is")
    colour, alpha = image[:, :-1], image[:, -1:]
    known = alpha >= 0  # (x + 1) * s / 2 >= (s + 1) / 2, i.e. alpha >= 128 of 255 or 32768 of 65535
    if bool(known.all()):
        raise ImageFormatError(f"{name}: its alpha channel has no transparent pixel, so there is no hole; "
                               "make the hole transparent, or give a --mask")
    if not bool(known.any()):
        raise ImageFormatError(f"{name}: every pixel is transparent, nothing is known to fill from")
    return colour, known


def join_alpha(colour: torch.Tensor, image: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`split_alpha` after a fill: ``image``'s alpha where known, opaque in the filled hole.

    ``colour`` is ``(..., C - 1, H, W)``, ``image`` the original ``(1, C, H, W)``; returns ``(..., C, H, W)``.
    """
    alpha = torch.where(known, image[:, -1:], torch.ones_like(image[:, -1:]))[0]  # (1, H, W)
    return torch.cat([colour, alpha.expand(*colour.shape[:-3], 1, *colour.shape[-2:]).to(colour)], dim=-3)


def write_mask(known: torch.Tensor, path: PathLike | BinaryIO, *, format: str | None = None) -> None:
    """Write a ``known`` mask as an 8-bit grey image: white (255) = hole, black (0) = known, to a file
    (atomically) or a binary file object (``format``, default PNG).

    ``known`` is ``(1, 1, H, W)``, ``(1, H, W)`` or ``(H, W)``; bool, or numbers all 0 or 1.
    """
    if not isinstance(known, torch.Tensor) or not 2 <= known.ndim <= 4 or any(s != 1 for s in known.shape[:-2]):
        raise ValueError(f"known must be a tensor of shape (1, 1, H, W), got {getattr(known, 'shape', type(known))}")
    if known.dtype != torch.bool:
        if not ((known == 0) | (known == 1)).all():
            raise ValueError("known must be bool or hold only 0 and 1 (1 = known)")
        known = known != 0
    grey = np.where(known.reshape(known.shape[-2:]).cpu().numpy(), 0, 255).astype(np.uint8)
    encode(grey[..., None], path, "L", 8, format=format)


def read_stack(paths: Sequence[PathLike]) -> tuple[torch.Tensor, list[ImageInfo]]:
    """Read images of the same size (e.g. albedo, normal, roughness maps) as one tensor.

    Returns
    -------
    stack : Tensor
        ``(1, sum(C_i), H, W)`` float32 in [-1, 1], channels in the order of ``paths``.
    infos : list of ImageInfo
        One per file, for :func:`write_stack`.

    Raises
    ------
    ImageFormatError
        A file cannot be read, or the sizes differ (the message names both files).
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("read_stack needs at least one path")
    pairs = [read_image(p) for p in paths]
    size0 = pairs[0][1].size
    for p, (_, info) in zip(paths, pairs):
        if info.size != size0:
            raise ImageFormatError(f"{p}: size (height, width) = {info.size} differs from {paths[0]} "
                                   f"{size0}; all images of a stack must have the same size")
    return torch.cat([x for x, _ in pairs], dim=1), [info for _, info in pairs]


def write_stack(tensor: torch.Tensor, paths: Sequence[PathLike], infos: Sequence[ImageInfo]) -> None:
    """Split a stack from :func:`read_stack` along channels and write each file.

    Shapes, channel counts and extensions are all checked before the first file is
    written; each file is then written atomically by :func:`write_image`.
    """
    chw = _as_chw(tensor, "stack")
    paths = [Path(p) for p in paths]
    if len(paths) != len(infos):
        raise ValueError(f"got {len(paths)} paths but {len(infos)} infos")
    counts = [info.channels for info in infos]
    if sum(counts) != chw.shape[0]:
        raise ValueError(f"stack has {chw.shape[0]} channels but the infos describe {sum(counts)} ({counts})")
    for p in paths:
        save_format(p)
    for part, p, info in zip(torch.split(chw, counts, dim=0), paths, infos):
        write_image(part, p, info)
