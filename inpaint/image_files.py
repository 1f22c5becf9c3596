"""Image files to integer arrays and back: the file formats behind :mod:`inpaint.io`.

Three libraries, each for what it does best:

- **tifffile** reads and writes TIFF: 8- and 16-bit grey, grey + alpha, RGB and
  RGBA, contiguous or planar, with their ICC profile (tag 34675). TIFF layouts it
  cannot decode without the optional ``imagecodecs`` (LZW, JPEG inside TIFF) or
  that it does not map to grey/RGB (CMYK, palette, 1-bit) go to Pillow.
- **OpenCV** reads and writes 16-bit colour PNG (RGB, RGBA, grey + alpha), which
  Pillow reads as 8-bit; the ICC profile is carried in an ``iCCP`` chunk.
- **Pillow** does everything else: 8-bit and 16-bit grey PNG, JPEG, BMP, WebP,
  palette, CMYK, 1-bit.

Every file is first opened lazily with Pillow (or tifffile) to read its header:
its size and sample type are checked against Pillow's decompression-bomb limit
and the memory available *before* any pixel is decoded, so a header that claims
60000 x 60000 pixels is a one-line error, not an allocation. The EXIF
orientation tag (0x0112) is applied on read, so the array is upright; the ICC
profile is returned so that the writer can keep it.
"""

from __future__ import annotations

import os
import struct
import warnings
import zlib
from typing import BinaryIO
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .atomic import write_atomic

__all__ = ["ImageFormatError", "Decoded", "decode", "image_size", "open_pillow", "save_atomic", "encode", "save_format",
           "available_memory", "check_size"]

PathLike = str | os.PathLike
_ORIENTATION = 0x0112
_ICC_TAG = 34675
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BYTES_PER_SAMPLE_IN_MEMORY = 4 + 2
"""A decoded sample costs its float32 tensor value plus up to 2 bytes of integer array."""


class ImageFormatError(ValueError):
    """An image or mask file that is missing, unreadable, too large, of the wrong size or in an unsupported mode."""


@dataclass(frozen=True)
class Decoded:
    """Samples of a file as read: ``array`` (H, W) or (H, W, C) uint8, uint16 or (mode "I") int32.

    ``mode`` is the Pillow mode of the file as opened (``"RGB"`` for 16-bit RGB too;
    ``bits`` tells the depth), ``icc`` its ICC profile, ``transparency`` whether a
    palette image had transparency (read as RGBA), ``metadata`` its EXIF, XMP and DPI
    (:func:`carried_metadata`; files Pillow decodes).
    """

    array: np.ndarray
    mode: str
    bits: int
    icc: bytes | None = None
    transparency: bool = False
    metadata: dict = field(default_factory=dict)


EXIF_ORIENTATION = 0x0112


def carried_metadata(im: Image.Image) -> dict:
    """What an output carries over from its input besides the ICC profile: ``exif`` (bytes, its orientation
    set to 1, since the pixels are read upright), ``xmp`` (bytes) and ``dpi`` (x, y), those the file has."""
    meta = {}
    if im.info.get("exif"):
        exif = Image.Exif()
        exif.load(im.info["exif"])
        if EXIF_ORIENTATION in exif:
            exif[EXIF_ORIENTATION] = 1
        meta["exif"] = exif.tobytes()
    xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    if xmp:
        meta["xmp"] = xmp.encode() if isinstance(xmp, str) else bytes(xmp)
    if im.info.get("dpi"):
        meta["dpi"] = tuple(float(v) for v in im.info["dpi"])
    return meta


# --- memory and size checks -----------------------------------------------------------------


def available_memory() -> int | None:
    """Bytes this process can still allocate: MemAvailable, capped by a cgroup v2 limit; None if unknown."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
        if limit != "max":
            room = int(limit) - used
            avail = room if avail is None else min(avail, room)
    except (OSError, ValueError):
        pass
    return avail


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


def check_size(path: Path, height: int, width: int, channels: int) -> None:
    """Refuse, before decoding, an image beyond Pillow's decompression-bomb limit or the memory available.

    The limit is ``2 * PIL.Image.MAX_IMAGE_PIXELS`` pixels (where Pillow itself
    refuses), applied to every format, TIFFs read by tifffile included; the memory
    needed is ``BYTES_PER_SAMPLE_IN_MEMORY`` per sample.
    """
    pixels = height * width
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and pixels > 2 * limit:
        raise ImageFormatError(
            f"{path}: the header declares {width}x{height} = {pixels:,} pixels, more than the {2 * limit:,} "
            "allowed (PIL.Image.MAX_IMAGE_PIXELS x 2): a decompression bomb or an image too large; not decoded")
    need = pixels * channels * BYTES_PER_SAMPLE_IN_MEMORY
    avail = available_memory()
    if avail is not None and need > avail:
        raise ImageFormatError(
            f"{path}: {width}x{height} pixels x {channels} channels need about {_gb(need)} of memory, "
            f"only {_gb(avail)} is available; not decoded")


# --- opening --------------------------------------------------------------------------------


def _decode_error(path: Path, exc: BaseException) -> ImageFormatError:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ImageFormatError(f"{path}: cannot decode the image, it may be truncated or corrupt ({reason})")


def _lazy_open(path: Path) -> Image.Image:
    """Pillow's header-only open; every failure becomes a one-line ImageFormatError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # check_size decides
            return Image.open(path)
    except FileNotFoundError:
        raise ImageFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageFormatError(f"{path}: is a folder, not an image file") from None
    except PermissionError:
        raise ImageFormatError(f"{path}: permission denied") from None
    except Image.DecompressionBombError as exc:
        raise ImageFormatError(f"{path}: {str(exc).splitlines()[0]} Not decoded.") from None
    except UnidentifiedImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _decode_error(path, exc) from exc


def _pillow_channels(im: Image.Image) -> int:
    return 4 if im.mode == "P" else len(im.getbands())


def open_pillow(path: PathLike) -> Image.Image:
    """Open and decode ``path`` with Pillow after the size check, EXIF orientation applied.

    For masks and every format without a dedicated reader.
    """
    path = Path(path)
    try:
        im = _lazy_open(path)
    except UnidentifiedImageError:
        raise ImageFormatError(f"{path}: not an image file Pillow can identify") from None
    with im:
        check_size(path, im.height, im.width, _pillow_channels(im))
        orientation = _orientation(im)
        try:
            im.load()
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise _decode_error(path, exc) from exc
        if orientation in _TRANSPOSE:
            info = im.info
            im = im.transpose(_TRANSPOSE[orientation])
            im.info = info
        return im


# EXIF orientation -> the Pillow transpose that makes the image upright (as PIL.ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(_ORIENTATION, 1))
    except (ValueError, TypeError, OSError, SyntaxError):  # a damaged EXIF block is ignored, as by viewers
        return 1


def _orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """The numpy equivalent of :data:`_TRANSPOSE` on (H, W[, C]) arrays."""
    if orientation in (5, 6, 7, 8):
        array = np.swapaxes(array, 0, 1)  # transpose first, then flip: 5 = T, 6 = T + flip x, ...
    flip_rows = orientation in (3, 4, 7, 8)
    flip_cols = orientation in (2, 3, 6, 7)
    if flip_rows:
        array = array[::-1]
    if flip_cols:
        array = array[:, ::-1]
    return np.ascontiguousarray(array)


# --- decoding -------------------------------------------------------------------------------


def _png_header(path: Path) -> tuple[int, int] | None:
    """(bit depth, colour type) from a PNG's IHDR, or None when the file is not a PNG."""
    with open(path, "rb") as f:
        head = f.read(33)
    if len(head) < 33 or not head.startswith(_PNG_SIGNATURE) or head[12:16] != b"IHDR":
        return None
    return head[24], head[25]


def _decode_png16(path: Path, im: Image.Image) -> Decoded:
    """16-bit colour PNG (types 2, 4, 6) with OpenCV, which keeps the 16 bits; Pillow would drop 8."""
    import cv2

    data = np.fromfile(path, dtype=np.uint8)
    array = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if array is None or array.dtype != np.uint16 or array.ndim != 3:
        raise ImageFormatError(f"{path}: cannot decode the 16-bit PNG, it may be truncated or corrupt")
    mode = im.mode if im.mode in ("RGB", "RGBA", "LA") else ("RGBA" if array.shape[2] == 4 else "RGB")
    if mode == "LA":  # OpenCV expands grey + alpha to BGRA
        array = array[..., [0, 3]]
    else:
        array = cv2.cvtColor(array, cv2.COLOR_BGRA2RGBA if array.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    return Decoded(_orient(array, _orientation(im)), mode, 16, im.info.get("icc_profile"),
                   metadata=carried_metadata(im))


_TIFF_PHOTOMETRIC = {1: "grey", 2: "rgb"}  # MINISBLACK, RGB


def _decode_tiff(path: Path, pillow_ok: bool) -> Decoded | None:
    """A TIFF of grey or RGB samples (+ alpha) with tifffile; None to let Pillow read it."""
    import tifffile

    try:
        tif = tifffile.TiffFile(path)
    except Exception as exc:  # tifffile raises many kinds on bad files
        if pillow_ok:
            return None
        raise _decode_error(path, exc) from exc
    with tif:
        page = tif.pages[0]
        dtype, samples = np.dtype(page.dtype) if page.dtype is not None else None, page.samplesperpixel
        photometric = _TIFF_PHOTOMETRIC.get(int(page.photometric))
        wanted = {"grey": (1, 2), "rgb": (3, 4)}.get(photometric, ())
        deep_grey = photometric == "grey" and samples == 1 and dtype in (np.dtype(np.int32), np.dtype(np.uint32))
        supported = samples in wanted and (dtype in (np.dtype(np.uint8), np.dtype(np.uint16)) or deep_grey)
        bilevel = photometric == "grey" and page.bitspersample == 1
        if not supported:
            # Pillow converts CMYK, YCbCr, palette, white-is-zero and 1-bit TIFFs; a grey or
            # RGB layout beyond ours (float samples, extra channels) must not lose data silently.
            if pillow_ok and (photometric is None or bilevel):
                return None
            raise ImageFormatError(
                f"{path}: unsupported TIFF layout ({samples} sample(s) of {dtype}, photometric "
                f"{page.photometric.name}); supported: 8- or 16-bit grey, grey + alpha, RGB or RGBA")
        check_size(path, page.imagelength, page.imagewidth, samples)
        try:
            array = page.asarray()
        except Exception as exc:
            if pillow_ok:
                return None  # e.g. LZW without imagecodecs: Pillow decodes it
            raise ImageFormatError(f"{path}: cannot decode this TIFF ({str(exc).splitlines()[0]}); "
                                   "`pip install imagecodecs` adds the missing codecs") from exc
        axes = page.axes
        if "S" in axes and axes.index("S") < axes.index("Y"):  # planar: (S, H, W)
            array = np.moveaxis(array, axes.index("S"), -1)
        icc = page.tags.get(_ICC_TAG)
        orientation = page.tags.get(274)
        icc = bytes(icc.value) if icc is not None else None
        array = _orient(array, int(orientation.value) if orientation is not None else 1)
    if deep_grey:
        if array.size and (array.min() < 0 or array.max() > 65535):
            raise ImageFormatError(f"{path}: 32-bit integer image with values in [{array.min()}, {array.max()}];"
                                   " only 16-bit content (0..65535) is supported")
        return Decoded(array, "I", 16, icc)
    bits = 16 if dtype == np.uint16 else 8
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[samples]
    return Decoded(array, "I;16" if (mode == "L" and bits == 16) else mode, bits, icc)


def decode(path: PathLike, pillow_mode) -> Decoded:
    """Read ``path`` into integer samples, upright, with its ICC profile.

    ``pillow_mode(im, path) -> (array, mode, bits, transparency)`` decodes an opened
    Pillow image in the caller's supported modes (raising ImageFormatError for
    others), so that :mod:`inpaint.io` keeps the list of modes.
    """
    path = Path(path)
    try:
        im = _lazy_open(path)
    except UnidentifiedImageError:
        if path.suffix.lower() in (".tif", ".tiff"):
            decoded = _decode_tiff(path, pillow_ok=False)
            assert decoded is not None
            return decoded
        raise ImageFormatError(f"{path}: not an image file Pillow can identify") from None
    with im:
        check_size(path, im.height, im.width, _pillow_channels(im))
        if im.format == "TIFF":
            decoded = _decode_tiff(path, pillow_ok=True)
            if decoded is not None:
                return decoded
        if im.format == "PNG" and (header := _png_header(path)) and header[0] == 16 and header[1] in (2, 4, 6):
            return _decode_png16(path, im)
    im = open_pillow(path)
    array, mode, bits, transparency = pillow_mode(im, path)
    return Decoded(array, mode, bits, im.info.get("icc_profile"), transparency, carried_metadata(im))


def image_size(path: PathLike) -> tuple[int, int]:
    """``(height, width)`` of an image file as :func:`decode` returns it (EXIF orientation applied), from its
    header alone."""
    path = Path(path)
    try:
        im = _lazy_open(path)
    except UnidentifiedImageError:
        import tifffile

        try:
            with tifffile.TiffFile(path) as tif:
                page = tif.pages[0]
                tag = page.tags.get(274)
                h, w, orientation = page.imagelength, page.imagewidth, int(tag.value) if tag is not None else 1
        except Exception:
            raise ImageFormatError(f"{path}: not an image file Pillow can identify") from None
    else:
        with im:
            h, w, orientation = im.height, im.width, _orientation(im)
    return (w, h) if orientation in (5, 6, 7, 8) else (h, w)


# --- writing --------------------------------------------------------------------------------


def save_format(path: Path) -> str:
    """Pillow's format name for the extension of ``path`` (``"PNG"``, ``"TIFF"``, ...)."""
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ImageFormatError(f"{path}: unknown image file extension {path.suffix!r}; use e.g. .png or .tif")
    return fmt


def save_atomic(write, path: Path, what: str) -> None:
    """:func:`inpaint.atomic.write_atomic` of ``write(file)`` to ``path``; a failure is an
    :class:`ImageFormatError` that says what could not be written, and leaves no partial output."""
    _write_stream(lambda target: write_atomic(target, write), path, what)


def _write_stream(write, target, what: str) -> None:
    """``write(target)``, its failures an :class:`ImageFormatError` naming ``target`` and ``what``."""
    try:
        write(target)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else repr(exc)
        where = target if isinstance(target, (str, os.PathLike)) else getattr(target, "name", "the stream")
        raise ImageFormatError(f"{where}: cannot write {what} ({reason})") from exc


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png16_bytes(array: np.ndarray, icc: bytes | None) -> bytes:
    """A 16-bit RGB or RGBA PNG from OpenCV, with an iCCP chunk after IHDR when ``icc`` is given."""
    import cv2

    code = cv2.COLOR_RGBA2BGRA if array.shape[2] == 4 else cv2.COLOR_RGB2BGR
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(array), code))
    if not ok:
        raise ValueError("OpenCV could not encode the PNG")
    data = buf.tobytes()
    if icc:
        ihdr_end = 8 + 8 + 13 + 4  # signature, IHDR length + type, IHDR data, CRC
        data = data[:ihdr_end] + _png_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(icc)) + data[ihdr_end:]
    return data


def encode(array: np.ndarray, path: PathLike | BinaryIO, mode: str, bits: int, icc: bytes | None = None, *,
           format: str | None = None, metadata: dict | None = None) -> None:
    """Write samples ``array`` (H, W, C) to ``path`` atomically, in the format of its extension, or to a
    binary file object (``format``, default PNG), e.g. a ``BytesIO`` for an HTTP response.

    ``mode`` is the Pillow mode to write (``"1"``, ``"L"``, ``"LA"``, ``"RGB"``,
    ``"RGBA"``, ``"I;16"``); ``bits`` 8 or 16. TIFF goes through tifffile, 16-bit
    colour PNG through OpenCV (16-bit grey + alpha as RGBA, which OpenCV can
    write), everything else through Pillow. ``icc`` is embedded where the format
    has room for it (PNG, TIFF, JPEG, WebP); ``metadata`` (:func:`carried_metadata`)
    where Pillow writes: EXIF (PNG, JPEG, WebP), XMP (PNG, JPEG, WebP) and DPI (PNG,
    JPEG).  The TIFF (tifffile) and 16-bit colour PNG (OpenCV) writers keep the ICC
    profile only.
    """
    stream = hasattr(path, "write")
    if not stream:
        path = Path(path)
    fmt = format or ("PNG" if stream else save_format(path))
    what = f"a {bits}-bit {mode} image as {fmt}"

    def emit(write) -> None:  # to a file atomically, or straight into the stream
        (_write_stream if stream else save_atomic)(write, path, what)

    if fmt == "TIFF" and mode != "1":
        import tifffile

        grey = array.shape[2] <= 2
        options = dict(photometric="minisblack" if grey else "rgb", compression="zlib", iccprofile=icc,
                       extrasamples=["unassalpha"] if array.shape[2] in (2, 4) else None)
        data = array[..., 0] if array.shape[2] == 1 else array
        emit(lambda f: tifffile.imwrite(f, data, **options))
        return
    if bits == 16 and mode != "I;16":
        if fmt != "PNG":
            raise ImageFormatError(f"{path}: {fmt} cannot hold 16-bit {mode} samples; write .png or .tif")
        if mode == "LA":
            array = array[..., [0, 0, 0, 1]]
        png = _png16_bytes(array, icc)
        emit(lambda f: f.write(png))
        return
    im = Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)
    if mode == "1":
        im = im.convert("1", dither=Image.Dither.NONE)  # threshold at 128
    options = {"icc_profile": icc} if icc and fmt in ("PNG", "JPEG", "WEBP", "TIFF") else {}
    options |= _metadata_options(fmt, metadata or {})
    emit(lambda f: im.save(f, format=fmt, **options))


def _metadata_options(fmt: str, metadata: dict) -> dict:
    """Pillow's save options that write ``metadata`` in format ``fmt``."""
    options = {}
    if metadata.get("exif") and fmt in ("PNG", "JPEG", "WEBP", "TIFF"):
        options["exif"] = metadata["exif"]
    if metadata.get("dpi") and fmt in ("PNG", "JPEG", "TIFF"):
        options["dpi"] = metadata["dpi"]
    if metadata.get("xmp") and fmt in ("JPEG", "WEBP"):
        options["xmp"] = metadata["xmp"]
    elif metadata.get("xmp") and fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_itxt("XML:com.adobe.xmp", metadata["xmp"].decode("utf-8", "replace"))
        options["pnginfo"] = info
    return options
