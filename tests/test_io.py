"""Tests for inpaint.io: exact round trips per mode, errors that name the file, atomic writes."""

import numpy as np
import pytest
import torch
from PIL import Image

from inpaint.io import (
    ImageFormatError,
    ImageInfo,
    from_uint8,
    read_image,
    read_mask,
    read_stack,
    to_uint8,
    write_image,
    write_mask,
    write_stack,
)

H, W = 12, 17


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _u8(rng, *channels):
    return rng.integers(0, 256, size=(H, W, *channels), dtype=np.uint8)


def _save(im, path):
    im.save(path)
    return path


def _palette_image(rng, transparency):
    im = Image.fromarray(rng.integers(0, 6, size=(H, W), dtype=np.uint8), mode="P")
    im.putpalette([10, 20, 30, 200, 0, 0, 0, 200, 0, 0, 0, 200, 255, 255, 255, 90, 90, 90])
    if transparency:
        im.info["transparency"] = 1
    return im


def _roundtrip(src, tmp_path):
    """Read src, write it back with its info, return (tensor, info, rewritten PIL image)."""
    x, info = read_image(src)
    out = tmp_path / "out" / src.name
    write_image(x, out, info)
    return x, info, Image.open(out)


@pytest.mark.parametrize("mode, channels", [("L", 1), ("LA", 2), ("RGB", 3), ("RGBA", 4)])
def test_8bit_roundtrip_is_pixel_exact(tmp_path, rng, mode, channels):
    arr = _u8(rng, channels) if channels > 1 else _u8(rng)
    src = _save(Image.fromarray(arr), tmp_path / f"{mode}.png")
    x, info, back = _roundtrip(src, tmp_path)
    assert x.shape == (1, channels, H, W) and x.dtype == torch.float32
    assert -1 <= x.min() and x.max() <= 1
    assert info == ImageInfo(mode, 8, (H, W))
    assert back.mode == mode
    np.testing.assert_array_equal(np.asarray(back), arr)


def test_8bit_mapping_formula(tmp_path):
    arr = np.arange(256, dtype=np.uint8).reshape(16, 16)
    x, _ = read_image(_save(Image.fromarray(arr), tmp_path / "ramp.png"))
    torch.testing.assert_close(x[0, 0], torch.from_numpy(arr / 127.5 - 1).float())


def test_16bit_png_roundtrip_all_values(tmp_path):
    arr = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    src = _save(Image.fromarray(arr), tmp_path / "deep.png")
    x, info, back = _roundtrip(src, tmp_path)
    assert info.mode == "I;16" and info.bits == 16 and x.shape == (1, 1, 256, 256)
    assert x[0, 0, 0, 0] == -1 and x[0, 0, -1, -1] == 1
    assert back.mode == "I;16" and np.asarray(back).dtype == np.uint16
    np.testing.assert_array_equal(np.asarray(back), arr)


def test_mode_I_with_16bit_content_and_out_of_range(tmp_path):
    arr = np.array([[0, 1000, 65535]], dtype=np.int32)
    x, info = read_image(_save(Image.fromarray(arr, mode="I"), tmp_path / "i.tif"))
    assert info.mode == "I" and info.bits == 16 and x.shape == (1, 1, 1, 3)
    torch.testing.assert_close(x[0, 0, 0], torch.tensor([-1.0, 1000 / 32767.5 - 1, 1.0]))
    bad = _save(Image.fromarray(np.array([[0, 70000]], dtype=np.int32), mode="I"), tmp_path / "big.tif")
    with pytest.raises(ImageFormatError, match="big.tif"):
        read_image(bad)


@pytest.mark.parametrize("transparency", [False, True])
def test_palette_reads_and_writes_as_rgb_or_rgba(tmp_path, rng, transparency):
    im = _palette_image(rng, transparency)
    src = _save(im, tmp_path / "pal.png")
    x, info, back = _roundtrip(src, tmp_path)
    expected = np.asarray(Image.open(src).convert("RGBA" if transparency else "RGB"))
    assert info.mode == "P" and info.transparency is transparency
    assert x.shape == (1, 4 if transparency else 3, H, W)
    assert back.mode == ("RGBA" if transparency else "RGB")
    np.testing.assert_array_equal(np.asarray(back), expected)
    if transparency:
        assert (x[0, 3] == -1).any() and (x[0, 3] == 1).any()


def test_bilevel_roundtrip_keeps_mode_1(tmp_path, rng):
    arr = rng.integers(0, 2, size=(H, W)).astype(bool)
    src = _save(Image.fromarray(arr), tmp_path / "bw.png")
    x, info, back = _roundtrip(src, tmp_path)
    assert info.mode == "1" and x.shape == (1, 1, H, W) and set(x.unique().tolist()) <= {-1.0, 1.0}
    assert back.mode == "1"
    np.testing.assert_array_equal(np.asarray(back), arr)


def test_cmyk_is_converted_to_rgb(tmp_path, rng):
    im = Image.fromarray(_u8(rng, 4), mode="CMYK")
    x, info = read_image(_save(im, tmp_path / "c.tif"))
    assert info.mode == "CMYK" and x.shape == (1, 3, H, W)
    np.testing.assert_array_equal(to_uint8(x), np.asarray(im.convert("RGB")))


def test_unsupported_mode_names_file(tmp_path):
    src = _save(Image.new("F", (4, 4)), tmp_path / "float.tif")
    with pytest.raises(ImageFormatError, match=r"float\.tif.*unsupported"):
        read_image(src)


@pytest.mark.parametrize("channels, mode", [(1, "L"), (2, "LA"), (3, "RGB"), (4, "RGBA")])
def test_write_without_info_picks_mode_by_channels(tmp_path, channels, mode):
    out = tmp_path / "a" / "b" / "x.png"  # parent folders are created
    write_image(torch.zeros(channels, 3, 5), out)
    back = Image.open(out)
    assert back.mode == mode and back.size == (5, 3)
    np.testing.assert_array_equal(np.asarray(back), 128)  # round(127.5) to even


def test_write_clips_out_of_range(tmp_path):
    out = tmp_path / "clip.png"
    write_image(torch.tensor([[[-3.0, -1.0, 0.999, 7.0]]]), out)
    np.testing.assert_array_equal(np.asarray(Image.open(out)), [[0, 0, 255, 255]])


def test_uint8_helpers_roundtrip(rng):
    arr = _u8(rng, 3)
    x = from_uint8(arr)
    assert x.shape == (1, 3, H, W) and x.dtype == torch.float32
    np.testing.assert_array_equal(to_uint8(x), arr)
    np.testing.assert_array_equal(to_uint8(x[0]), arr)
    grey = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert to_uint8(from_uint8(grey)).shape == (16, 16, 1)
    np.testing.assert_array_equal(to_uint8(from_uint8(grey))[..., 0], grey)
    with pytest.raises(ValueError, match="uint8"):
        from_uint8(arr.astype(np.float32))


# --- errors name the file -------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(ImageFormatError, match=r"nope\.png: no such file"):
        read_image(tmp_path / "nope.png")


def test_text_file_named_png(tmp_path):
    src = tmp_path / "notes.png"
    src.write_text("this is not an image\n")
    with pytest.raises(ImageFormatError, match=r"notes\.png"):
        read_image(src)


def test_truncated_png(tmp_path, rng):
    full = _save(Image.fromarray(_u8(rng, 3)), tmp_path / "full.png").read_bytes()
    src = tmp_path / "cut.png"
    src.write_bytes(full[: len(full) // 2])
    with pytest.raises(ImageFormatError, match=r"cut\.png.*truncated"):
        read_image(src)


def test_error_message_is_one_line(tmp_path):
    with pytest.raises(ImageFormatError) as exc:
        read_image(tmp_path / "nope.png")
    assert "\n" not in str(exc.value)


# --- atomic writes --------------------------------------------------------------------


def test_bad_shape_raises_before_anything_is_written(tmp_path):
    out = tmp_path / "sub" / "x.png"
    for bad in (torch.zeros(2, 3, 4, 4), torch.zeros(4, 4), torch.full((1, 4, 4), float("nan"))):
        with pytest.raises(ValueError):
            write_image(bad, out)
    with pytest.raises(ValueError, match="channels"):
        write_image(torch.zeros(5, 4, 4), out)
    with pytest.raises(ValueError, match="channels"):
        write_image(torch.zeros(1, 4, 4), out, ImageInfo("RGB", 8, (4, 4)))
    assert list(tmp_path.iterdir()) == []


def test_failed_save_leaves_no_file_and_keeps_old_one(tmp_path):
    out = tmp_path / "photo.jpg"
    out.write_bytes(b"old")
    with pytest.raises(ImageFormatError, match=r"photo\.jpg"):
        write_image(torch.zeros(4, 4, 4), out)  # JPEG cannot hold RGBA
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.jpg"]


def test_save_failing_midway_leaves_no_partial_file(tmp_path, monkeypatch):
    def broken_save(self, fp, format=None, **kwargs):
        fp.write(b"\x89PNG partial")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(ImageFormatError, match="disk full"):
        write_image(torch.zeros(3, 4, 4), tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_unknown_extension(tmp_path):
    with pytest.raises(ImageFormatError, match=r"x\.xyz"):
        write_image(torch.zeros(3, 4, 4), tmp_path / "x.xyz")
    assert list(tmp_path.iterdir()) == []


# --- masks ----------------------------------------------------------------------------


def test_mask_white_is_hole_with_threshold_128(tmp_path):
    grey = np.zeros((H, W), dtype=np.uint8)
    grey[0, :4] = [127, 128, 200, 255]
    known = read_mask(_save(Image.fromarray(grey), tmp_path / "m.png"), size=(H, W))
    assert known.shape == (1, 1, H, W) and known.dtype == torch.bool
    assert known[0, 0, 0, :4].tolist() == [True, False, False, False]
    assert known.sum() == H * W - 3


def test_mask_roundtrip_and_colour_mask(tmp_path, rng):
    known = torch.from_numpy(rng.random((1, 1, H, W)) > 0.3)
    write_mask(known, tmp_path / "m.png")
    back = Image.open(tmp_path / "m.png")
    assert back.mode == "L" and set(np.unique(np.asarray(back))) == {0, 255}
    assert torch.equal(read_mask(tmp_path / "m.png"), known)
    write_mask(known.float()[0], tmp_path / "f.png")  # 0/1 floats accepted too
    assert torch.equal(read_mask(tmp_path / "f.png"), known)
    rgb = np.where(known[0, 0, ..., None].numpy(), 0, 255).astype(np.uint8).repeat(3, axis=2)
    assert torch.equal(read_mask(_save(Image.fromarray(rgb), tmp_path / "c.png")), known)


def test_16bit_mask_threshold_is_half_range(tmp_path):
    arr = np.array([[0, 32767, 32768, 65535]], dtype=np.uint16)
    known = read_mask(_save(Image.fromarray(arr), tmp_path / "m16.png"))
    assert known[0, 0, 0].tolist() == [True, True, False, False]


def test_mask_size_mismatch(tmp_path):
    src = _save(Image.new("L", (W, H), 0), tmp_path / "small.png")
    with pytest.raises(ImageFormatError, match=rf"small\.png.*\({H}, {W}\).*\(64, 32\)"):
        read_mask(src, size=(64, 32))


def test_mask_without_hole(tmp_path):
    src = _save(Image.new("L", (W, H), 0), tmp_path / "black.png")
    with pytest.raises(ImageFormatError, match=r"black\.png.*no hole.*white"):
        read_mask(src)


def test_mask_all_hole(tmp_path):
    src = _save(Image.new("L", (W, H), 255), tmp_path / "white.png")
    with pytest.raises(ImageFormatError, match=r"white\.png.*all hole"):
        read_mask(src)


def test_write_mask_rejects_non_binary(tmp_path):
    with pytest.raises(ValueError, match="0 and 1"):
        write_mask(torch.full((1, 1, 4, 4), 0.5), tmp_path / "m.png")
    assert list(tmp_path.iterdir()) == []


# --- stacks ---------------------------------------------------------------------------


def test_stack_roundtrip(tmp_path, rng):
    albedo = _save(Image.fromarray(_u8(rng, 3)), tmp_path / "albedo.png")
    normal = _save(Image.fromarray(_u8(rng, 4)), tmp_path / "normal.png")
    rough = rng.integers(0, 65536, size=(H, W), dtype=np.uint16)
    _save(Image.fromarray(rough), tmp_path / "rough.png")
    paths = [albedo, normal, tmp_path / "rough.png"]
    x, infos = read_stack(paths)
    assert x.shape == (1, 3 + 4 + 1, H, W)
    assert [i.mode for i in infos] == ["RGB", "RGBA", "I;16"]
    outs = [tmp_path / "out" / p.name for p in paths]
    write_stack(x, outs, infos)
    for src, out in zip(paths, outs):
        a, b = Image.open(src), Image.open(out)
        assert a.mode == b.mode
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_stack_size_mismatch_names_both_files(tmp_path, rng):
    a = _save(Image.fromarray(_u8(rng, 3)), tmp_path / "albedo.png")
    b = _save(Image.new("L", (W + 1, H)), tmp_path / "height.png")
    with pytest.raises(ImageFormatError, match=r"height\.png.*albedo\.png"):
        read_stack([a, b])


def test_write_stack_checks_everything_before_writing(tmp_path):
    infos = [ImageInfo("RGB", 8, (4, 4)), ImageInfo("L", 8, (4, 4))]
    outs = [tmp_path / "a.png", tmp_path / "b.png"]
    with pytest.raises(ValueError, match="channels"):
        write_stack(torch.zeros(1, 5, 4, 4), outs, infos)
    with pytest.raises(ImageFormatError, match=r"b\.xyz"):
        write_stack(torch.zeros(1, 4, 4, 4), [outs[0], tmp_path / "b.xyz"], infos)
    assert list(tmp_path.iterdir()) == []


def test_image_info_rejects_unsupported():
    with pytest.raises(ValueError, match="'F'"):
        ImageInfo("F", 8, (4, 4))
    with pytest.raises(ValueError, match="16 bits"):
        ImageInfo("P", 16, (4, 4))
    with pytest.raises(ValueError, match="16 bits"):
        ImageInfo("L", 16, (4, 4))  # 16-bit grey is "I;16"
    assert ImageInfo("RGB", 16, (4, 4)).channels == 3


def test_images_and_masks_write_to_a_file_object_as_they_write_to_a_png_file(tmp_path):
    import io as stdio

    from inpaint.io import read_image, write_image, write_mask

    x = torch.rand(1, 3, 9, 7, generator=torch.Generator().manual_seed(0)) * 2 - 1
    known = torch.ones(1, 1, 9, 7, dtype=torch.bool)
    known[..., 2:5, 3:6] = False
    for write, value in ((write_image, x), (write_mask, known)):
        buffer = stdio.BytesIO()
        write(value, buffer)
        write(value, tmp_path / "a.png")
        assert buffer.getvalue() == (tmp_path / "a.png").read_bytes()
    buffer = stdio.BytesIO()
    write_image(x, buffer, format="TIFF")
    (tmp_path / "b.tif").write_bytes(buffer.getvalue())
    assert read_image(tmp_path / "b.tif")[0].shape == x.shape


def test_exif_xmp_and_dpi_are_carried_to_the_output_with_the_orientation_made_upright(tmp_path):
    from PIL import Image

    from inpaint.io import read_image, write_image

    exif = Image.Exif()
    exif[0x0112], exif[0x010F] = 6, "ScanCo"  # rotated a quarter turn; the maker
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    Image.new("RGB", (8, 6), (10, 20, 30)).save(tmp_path / "in.jpg", exif=exif.tobytes(), dpi=(300, 300), xmp=xmp)
    x, info = read_image(tmp_path / "in.jpg")
    assert x.shape[-2:] == (8, 6)  # upright
    for name in ("out.png", "out.jpg", "out.webp"):
        write_image(x, tmp_path / name, info)
        out = Image.open(tmp_path / name)
        assert out.getexif().get(0x010F) == "ScanCo" and out.getexif().get(0x0112) == 1, name
        if name != "out.webp":  # WebP has no DPI field
            assert round(out.info["dpi"][0]) == 300, name
            assert xmp.decode() in str(out.info.get("xmp") or out.info.get("XML:com.adobe.xmp")), name
