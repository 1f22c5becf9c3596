"""Image files as they come: 16-bit colour, TIFF layouts, EXIF orientation, ICC profiles, oversized headers.

Every file is made by the test itself, with the library that writes that layout
natively (OpenCV for 16-bit PNG, tifffile for TIFF, Pillow for the rest).
"""

import struct
import zlib

import cv2
import numpy as np
import pytest
import tifffile
import torch
from PIL import Image, ImageCms, ImageOps

from inpaint import image_files
from inpaint.io import ImageFormatError, ImageInfo, read_image, read_mask, write_image

H, W = 12, 17


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _deep(rng, channels):
    """16-bit samples covering both ends of the range."""
    arr = rng.integers(0, 65536, size=(H, W, channels), dtype=np.uint16)
    arr[0, 0], arr[0, 1] = 0, 65535
    return arr


@pytest.fixture(scope="module")
def srgb_icc():
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _write_png16(path, rgb):
    """A 16-bit colour PNG made with OpenCV (which wants BGR order)."""
    code = cv2.COLOR_RGBA2BGRA if rgb.shape[2] == 4 else cv2.COLOR_RGB2BGR
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, code))
    return path


def _roundtrip(src, out):
    x, info = read_image(src)
    write_image(x, out, info)
    return x, info


# --- 8 and 16 bits, grey, RGB, RGBA, PNG and TIFF -------------------------------------------


@pytest.mark.parametrize("channels, mode", [(3, "RGB"), (4, "RGBA")])
def test_16bit_colour_png_roundtrips_exactly(tmp_path, rng, channels, mode):
    arr = _deep(rng, channels)
    src = _write_png16(tmp_path / "deep.png", arr)
    assert Image.open(src).mode in ("RGB", "RGBA")  # what Pillow alone would read: 8 bits
    x, info = _roundtrip(src, tmp_path / "out.png")
    assert (info.mode, info.bits, info.channels) == (mode, 16, channels)
    np.testing.assert_array_equal(np.round((x[0].permute(1, 2, 0).double().numpy() + 1) * 32767.5), arr)
    back = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA if channels == 4 else cv2.COLOR_RGB2BGR))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_tiff_roundtrips_exactly(tmp_path, rng, dtype, channels):
    top = np.iinfo(dtype).max
    arr = rng.integers(0, top + 1, size=(H, W, channels), dtype=dtype)
    src = tmp_path / "in.tif"
    extra = ["unassalpha"] if channels in (2, 4) else None
    tifffile.imwrite(src, arr[..., 0] if channels == 1 else arr, photometric="rgb" if channels > 2 else "minisblack",
                     extrasamples=extra)
    x, info = _roundtrip(src, tmp_path / "out.tif")
    assert x.shape == (1, channels, H, W) and info.bits == (16 if dtype == np.uint16 else 8)
    back = tifffile.imread(tmp_path / "out.tif")
    assert back.dtype == dtype
    np.testing.assert_array_equal(back.reshape(H, W, channels), arr)


def test_planar_tiff_is_read_as_pixels(tmp_path, rng):
    arr = _deep(rng, 3)
    src = tmp_path / "planar.tif"
    tifffile.imwrite(src, np.moveaxis(arr, -1, 0), photometric="rgb", planarconfig="separate")
    x, info = read_image(src)
    assert x.shape == (1, 3, H, W) and info.bits == 16
    write_image(x, tmp_path / "out.png", info)
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)[..., ::-1], arr)


def test_16bit_grey_png_and_tiff_agree(tmp_path, rng):
    arr = _deep(rng, 1)[..., 0]
    Image.fromarray(arr).save(tmp_path / "g.png")
    tifffile.imwrite(tmp_path / "g.tif", arr)
    a, ia = read_image(tmp_path / "g.png")
    b, ib = read_image(tmp_path / "g.tif")
    assert ia.bits == ib.bits == 16 and torch.equal(a, b)
    write_image(b, tmp_path / "g2.png", ib)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "g2.png")), arr)


def test_lzw_tiff_without_imagecodecs_is_read_by_pillow(tmp_path, rng):
    arr = rng.integers(0, 256, size=(H, W, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "lzw.tif", compression="tiff_lzw")
    x, info = read_image(tmp_path / "lzw.tif")
    assert info.mode == "RGB" and info.bits == 8
    np.testing.assert_array_equal(np.round((x[0].permute(1, 2, 0).double().numpy() + 1) * 127.5), arr)


@pytest.mark.parametrize("layout", ["float32 rgb", "five samples"])
def test_unsupported_tiff_layout_is_a_one_line_error(tmp_path, rng, layout):
    src = tmp_path / "odd.tif"
    if layout == "float32 rgb":
        tifffile.imwrite(src, rng.random((H, W, 3), dtype=np.float32), photometric="rgb")
    else:
        tifffile.imwrite(src, rng.integers(0, 255, (H, W, 5), dtype=np.uint8), photometric="rgb",
                         extrasamples=["unspecified"] * 2)
    with pytest.raises(ImageFormatError, match=r"odd\.tif.*(unsupported|mode)") as exc:
        read_image(src)
    assert "\n" not in str(exc.value)


def test_16bit_cannot_be_written_as_jpeg(tmp_path):
    with pytest.raises(ImageFormatError, match=r"x\.jpg.*16-bit"):
        write_image(torch.zeros(3, 4, 4), tmp_path / "x.jpg", ImageInfo("RGB", 16, (4, 4)))
    assert list(tmp_path.iterdir()) == []


# --- EXIF orientation ------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_on_read(tmp_path, rng, orientation):
    arr = rng.integers(0, 256, size=(H, W, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    src = tmp_path / "photo.png"
    Image.fromarray(arr).save(src, exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(src)))
    x, info = read_image(src)
    assert info.size == expected.shape[:2]
    np.testing.assert_array_equal(np.round((x[0].permute(1, 2, 0).double().numpy() + 1) * 127.5), expected)


def test_exif_orientation_of_a_jpeg_and_its_mask(tmp_path, rng):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: a 90 degree clockwise turn shows it upright
    Image.fromarray(rng.integers(0, 256, size=(H, W, 3), dtype=np.uint8)).save(tmp_path / "p.jpg", exif=exif)
    hole = np.zeros((H, W), np.uint8)
    hole[:3, :5] = 255
    Image.fromarray(hole).save(tmp_path / "m.png", exif=exif)
    x, info = read_image(tmp_path / "p.jpg")
    assert x.shape[-2:] == (W, H) and info.size == (W, H)
    known = read_mask(tmp_path / "m.png", size=info.size)
    assert torch.equal(~known[0, 0], torch.from_numpy(np.rot90(hole, -1) >= 128))


# --- ICC profiles ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["png8", "png16", "tiff16", "jpeg", "grey16png"])
def test_icc_profile_is_kept_on_write(tmp_path, rng, srgb_icc, kind):
    out = tmp_path / ("out.tif" if kind == "tiff16" else "out.jpg" if kind == "jpeg" else "out.png")
    if kind == "png8":
        Image.fromarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8)).save(src := tmp_path / "a.png",
                                                                             icc_profile=srgb_icc)
    elif kind == "jpeg":
        Image.fromarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8)).save(src := tmp_path / "a.jpg",
                                                                             icc_profile=srgb_icc)
    elif kind == "grey16png":
        Image.fromarray(_deep(rng, 1)[..., 0]).save(src := tmp_path / "a.png", icc_profile=srgb_icc)
    elif kind == "tiff16":
        tifffile.imwrite(src := tmp_path / "a.tif", _deep(rng, 3), photometric="rgb", iccprofile=srgb_icc)
    else:  # OpenCV writes no profile: add the iCCP chunk by hand
        data = _write_png16(tmp_path / "plain.png", _deep(rng, 3)).read_bytes()
        chunk = b"iCCP" + b"sRGB\0\0" + zlib.compress(srgb_icc)
        chunk = struct.pack(">I", len(chunk) - 4) + chunk + struct.pack(">I", zlib.crc32(chunk))
        (src := tmp_path / "a.png").write_bytes(data[:33] + chunk + data[33:])
    x, info = _roundtrip(src, out)
    assert info.icc_profile == srgb_icc
    if kind == "tiff16":
        with tifffile.TiffFile(out) as tif:
            assert tif.pages[0].tags[34675].value == srgb_icc
    else:
        assert Image.open(out).info.get("icc_profile") == srgb_icc
    assert read_image(out)[1].icc_profile == srgb_icc


# --- too large for memory, decompression bombs ---------------------------------------------


def _png_header_only(path, width, height):
    """A PNG whose IHDR claims width x height pixels, with a few bytes of image data."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


@pytest.fixture
def no_decoding(monkeypatch):
    """Any attempt to decode pixels fails the test: the checks must come first."""
    def refuse(*args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(Image.Image, "load", refuse)
    monkeypatch.setattr(tifffile.TiffPage, "asarray", refuse)
    monkeypatch.setattr(cv2, "imdecode", refuse)


def test_decompression_bomb_header_is_a_one_line_error(tmp_path, no_decoding):
    bomb = _png_header_only(tmp_path / "bomb.png", 60000, 60000)
    for reader in (read_image, read_mask):
        with pytest.raises(ImageFormatError, match=r"bomb\.png.*(decompression bomb|too large)") as exc:
            reader(bomb)
        assert "\n" not in str(exc.value)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_image_larger_than_memory_is_refused_before_decoding(tmp_path, rng, monkeypatch, suffix):
    src = tmp_path / f"big{suffix}"
    arr = rng.integers(0, 65536, size=(64, 64, 3), dtype=np.uint16)
    _write_png16(src, arr) if suffix == ".png" else tifffile.imwrite(src, arr, photometric="rgb")
    monkeypatch.setattr(image_files, "available_memory", lambda: 10_000)
    monkeypatch.setattr(tifffile.TiffPage, "asarray", lambda *a, **k: pytest.fail("decoded"))
    monkeypatch.setattr(cv2, "imdecode", lambda *a, **k: pytest.fail("decoded"))
    with pytest.raises(ImageFormatError, match=rf"big\{suffix}: 64x64 pixels x 3 channels need about .* memory"):
        read_image(src)


def test_cli_reports_a_bomb_in_one_line(tmp_path):
    from click.testing import CliRunner

    from inpaint.cli import cli

    bomb = _png_header_only(tmp_path / "bomb.png", 60000, 60000)
    for args in (["train-texture", bomb, "--out", tmp_path / "r"],
                 ["restore", bomb, "--mask", bomb, "--out", tmp_path / "o.png"]):
        result = CliRunner().invoke(cli, [str(a) for a in args])
        assert result.exit_code != 0 and "Traceback" not in result.output
        errors = [line for line in result.output.splitlines() if line.startswith("Error")]
        assert len(errors) == 1 and "bomb.png" in errors[0], result.output


def _pillow_upright(arr, orientation):
    """Expected upright samples, by Pillow's own transposes, channel by channel (16-bit included)."""
    if orientation == 1:
        return arr
    op = image_files._TRANSPOSE[orientation]
    return np.stack([np.asarray(Image.fromarray(arr[..., c]).transpose(op)) for c in range(arr.shape[2])], -1)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("kind", ["png16", "tiff16"])
def test_exif_orientation_of_16bit_png_and_tiff(tmp_path, rng, orientation, kind):
    arr = _deep(rng, 3)
    if kind == "tiff16":
        src = tmp_path / "o.tif"
        tifffile.imwrite(src, arr, photometric="rgb", extratags=[(274, 3, 1, orientation, False)])
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        raw = exif.tobytes().removeprefix(b"Exif\x00\x00")
        chunk = b"eXIf" + raw
        chunk = struct.pack(">I", len(raw)) + chunk + struct.pack(">I", zlib.crc32(chunk))
        data = _write_png16(tmp_path / "plain.png", arr).read_bytes()
        (src := tmp_path / "o.png").write_bytes(data[:33] + chunk + data[33:])
    x, info = read_image(src)
    assert info.bits == 16
    expected = _pillow_upright(arr, orientation)
    np.testing.assert_array_equal(np.round((x[0].permute(1, 2, 0).double().numpy() + 1) * 32767.5), expected)
