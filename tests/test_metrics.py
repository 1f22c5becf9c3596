from pathlib import Path

import kornia
import numpy as np
import pytest
import skimage.data
import skimage.metrics
import torch

from inpaint import metrics, perceptual

REFERENCE_DIR = Path(__file__).parents[2] / "shared" / "lpips-reference"
H = W = 32
# Hole rows/cols 12..19; SSIM windows (radius 5) reach 7..24, so pixels outside
# that square cannot influence any hole metric.
HOLE = (slice(12, 20), slice(12, 20))
REACH = (slice(7, 25), slice(7, 25))


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> (1, 3, H, W) in [-1, 1], as lpips.im2tensor does."""
    x = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None]
    return x.float() / 127.5 - 1


def texture(seed: int, b: int = 2, c: int = 3) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, c, H, W, generator=g) * 2 - 1


def square_hole(b: int = 2) -> torch.Tensor:
    known = torch.ones(b, 1, H, W, dtype=torch.bool)
    known[..., HOLE[0], HOLE[1]] = False
    return known


# --- LPIPS with the real weights -------------------------------------------

def _skimage_pairs():
    astronaut = skimage.data.astronaut()
    coffee = skimage.data.coffee()[:256, :256]
    return {
        "astronaut-chelsea": (astronaut[:256, :256], skimage.data.chelsea()[:256, :256], 0.7397),
        "astronaut-shift1": (astronaut[:256, :256], astronaut[1:257, 1:257], 0.0244),
        "coffee-fliplr": (coffee, coffee[:, ::-1], 0.6616),
    }


@pytest.mark.parametrize("name", ["astronaut-chelsea", "astronaut-shift1", "coffee-fliplr"])
def test_lpips_reproduces_reference_distances(name, lpips_net):
    a, b, expected = _skimage_pairs()[name]
    d = perceptual.lpips_distance(to_tensor(a), to_tensor(b), net=lpips_net)
    assert d.shape == (1,)
    assert abs(d.item() - expected) < 1e-3


@pytest.mark.parametrize("other, expected", [("ex_p0", 0.7219), ("ex_p1", 0.1376)])
def test_lpips_authors_examples(other, expected, lpips_net):
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"LPIPS authors' example images not found at {REFERENCE_DIR}")
    from PIL import Image

    def read(name):
        return to_tensor(np.asarray(Image.open(REFERENCE_DIR / f"{name}.png").convert("RGB")))

    d = perceptual.lpips_distance(read("ex_ref"), read(other), net=lpips_net)
    assert abs(d.item() - expected) < 1e-3


def test_lpips_of_identical_images_is_zero_and_grey_is_accepted(lpips_net):
    x = texture(0)
    assert torch.all(perceptual.lpips_distance(x, x, net=lpips_net) == 0)
    a, b = x[:, :1], texture(1)[:, :1]
    d = perceptual.lpips_distance(a, b, net=lpips_net)
    expected = perceptual.lpips_distance(a.repeat(1, 3, 1, 1), b.repeat(1, 3, 1, 1), net=lpips_net)
    assert torch.allclose(d, expected)


def test_lpips_rejects_bad_inputs(lpips_net):
    with pytest.raises(ValueError, match="C=2"):
        perceptual.lpips_distance(torch.zeros(1, 2, H, W), torch.zeros(1, 2, H, W), net=lpips_net)
    with pytest.raises(ValueError, match="shape"):
        perceptual.lpips_distance(texture(0), texture(0, b=1), net=lpips_net)


def test_load_lpips_is_cached_and_frozen():
    net = perceptual.load_lpips("cpu")
    assert perceptual.load_lpips(torch.device("cpu")) is net
    assert not net.training
    assert not any(p.requires_grad for p in net.parameters())


# --- weight loading ----------------------------------------------------------

def test_shipped_weights_have_the_declared_hash_and_torchvision_shapes():
    import hashlib
    from importlib import resources

    data = resources.files("inpaint").joinpath(perceptual.FEATURES_FILE).read_bytes()
    assert hashlib.sha256(data).hexdigest() == perceptual.FEATURES_SHA256
    state = perceptual._features_state_dict()
    assert {k: tuple(v.shape) for k, v in state.items() if k.endswith("weight")} == {
        "features.0.weight": (64, 3, 11, 11),
        "features.3.weight": (192, 64, 5, 5),
        "features.6.weight": (384, 192, 3, 3),
        "features.8.weight": (256, 384, 3, 3),
        "features.10.weight": (256, 256, 3, 3),
    }
    assert all(v.dtype == torch.float32 for v in state.values())


def test_damaged_weights_are_refused(monkeypatch):
    import hashlib

    monkeypatch.setattr(perceptual, "FEATURES_SHA256", hashlib.sha256(b"other").hexdigest())
    with pytest.raises(RuntimeError, match="damaged.*reinstall"):
        perceptual._features_state_dict()


def test_weights_file_holds_no_pickle():
    from importlib import resources

    with resources.as_file(resources.files("inpaint").joinpath(perceptual.FEATURES_FILE)) as path:
        with np.load(path, allow_pickle=False) as arrays:  # raises on any object array
            assert all(arrays[k].dtype == np.float32 for k in arrays.files)


# --- PSNR, SSIM, sharpness ---------------------------------------------------

def test_psnr_of_identical_images_is_the_cap():
    x = texture(0)
    assert torch.all(metrics.psnr(x, x, square_hole()) == metrics.PSNR_CAP)


def test_psnr_matches_hand_computation_on_the_hole():
    truth, known = texture(0), square_hole()
    output = torch.where(known, truth, truth + 0.1)
    expected = 10 * np.log10(2.0**2 / 0.1**2)  # 26.02 dB
    got = metrics.psnr(output, truth, known)
    assert got.shape == (2,) and got.dtype == torch.float64
    assert torch.allclose(got, torch.full((2,), expected, dtype=torch.float64), atol=1e-4)


def test_psnr_matches_scikit_image_on_hole_pixels():
    truth, output, known = texture(0), texture(1), square_hole()
    hole = ~known.expand_as(truth)
    for i in range(2):
        expected = skimage.metrics.peak_signal_noise_ratio(
            truth[i][hole[i]].double().numpy(), output[i][hole[i]].double().numpy(), data_range=2.0
        )
        assert abs(metrics.psnr(output, truth, known)[i].item() - expected) < 1e-6


def test_pixels_outside_the_hole_do_not_matter():
    truth, output, known = texture(0), texture(1), square_hole()
    far = torch.ones_like(known)
    far[..., REACH[0], REACH[1]] = False  # True only beyond the SSIM window's reach
    output2 = torch.where(far, -output, output)
    truth2 = torch.where(far, texture(2), truth)
    for fn in (metrics.psnr, metrics.ssim, metrics.sharpness_ratio):
        assert torch.allclose(fn(output, truth, known), fn(output2, truth2, known), atol=1e-6), fn.__name__
    # PSNR ignores every known pixel, even next to the hole.
    output3 = torch.where(known, texture(3), output)
    assert torch.allclose(metrics.psnr(output, truth, known), metrics.psnr(output3, truth, known))


def test_ssim_of_identical_images_is_one():
    x = texture(0)
    assert torch.allclose(metrics.ssim(x, x, square_hole()), torch.ones(2), atol=1e-5)
    assert torch.all(metrics.ssim(texture(1), x, square_hole()) < 0.5)


def test_sharpness_ratio_is_one_for_truth_and_below_one_when_blurred():
    truth, known = texture(0), square_hole()
    assert torch.allclose(metrics.sharpness_ratio(truth, truth, known), torch.ones(2))
    blurred = kornia.filters.gaussian_blur2d(truth, (5, 5), (1.5, 1.5))
    assert torch.all(metrics.sharpness_ratio(blurred, truth, known) < 0.5)


def test_sharpness_ratio_of_flat_truth_is_finite():
    flat, known = torch.zeros(2, 3, H, W), square_hole()
    assert torch.allclose(metrics.sharpness_ratio(flat, flat, known), torch.ones(2))
    assert torch.all(torch.isfinite(metrics.sharpness_ratio(texture(0), flat, known)))


def test_blur_effect_rises_with_blur():
    truth, known = texture(0), square_hole()
    blurred = kornia.filters.gaussian_blur2d(truth, (5, 5), (1.5, 1.5))
    sharp, blurry = metrics.blur_effect(truth, known), metrics.blur_effect(blurred, known)
    assert sharp.shape == (2,)
    assert torch.all((0 <= sharp) & (sharp < blurry) & (blurry <= 1))
    grey = metrics.blur_effect(truth[:, :1], known)
    assert grey.shape == (2,)


# --- tone, detail, colour and patch statistics -----------------------------------

def periodic(b: int = 2, shift: int = 0) -> torch.Tensor:
    """Stripes of period 8 in x and 6 in y, in three channels: a copy shifted by a period is the same image."""
    y, x = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32), indexing="ij")
    img = 0.6 * torch.sin(2 * torch.pi * (x + shift) / 8) * torch.cos(2 * torch.pi * y / 6)
    return torch.stack([img, 0.5 * img, -img])[None].expand(b, 3, H, W).clone()


def test_frequency_errors_split_an_offset_into_tone_and_a_checkerboard_into_detail():
    truth, known = texture(0), square_hole()
    zero = metrics.frequency_errors(truth, truth, known)
    assert all(torch.equal(v, torch.zeros(2)) for v in zero)
    hole = ~known.expand_as(truth)
    pale = torch.where(hole, truth + 0.2, truth)  # a pale blotch: the same grain, lighter
    tone, detail = metrics.frequency_errors(pale, truth, known)
    assert torch.allclose(tone, torch.full((2,), 0.2 * 127.5)) and torch.all(detail < 1e-3)
    yy, xx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    checker = ((yy + xx) % 2 * 2 - 1).float() * 0.2
    grain = torch.where(hole, truth + checker, truth)  # the right tone, the wrong grain
    tone, detail = metrics.frequency_errors(grain, truth, known)
    assert torch.all(tone < 0.1 * detail) and torch.allclose(detail, torch.full((2,), 0.2 * 127.5), rtol=0.1)
    with pytest.raises(ValueError, match="sigma"):
        metrics.frequency_errors(grain, truth, known, sigma=0)


def test_colour_error_is_the_error_of_the_holes_mean_colour():
    truth, known = texture(0), square_hole()
    hole = ~known.expand_as(truth)
    offset = torch.tensor([0.1, -0.2, 0.3]).view(1, 3, 1, 1)
    out = torch.where(hole, truth + offset, truth)
    assert torch.allclose(metrics.colour_error(out, truth, known), torch.full((2,), 0.2 * 127.5))
    assert torch.equal(metrics.colour_error(truth, truth, known), torch.zeros(2))


def test_patch_swd_is_zero_for_a_copy_small_for_a_shifted_copy_and_large_for_a_blur():
    truth = periodic()
    known = torch.ones(2, 1, H, W, dtype=torch.bool)
    known[..., 6:26, 6:26] = False  # a hole large enough to hold every phase of the stripes
    assert torch.equal(metrics.patch_swd(truth, truth, known), torch.zeros(2, dtype=torch.float64))
    hole = ~known.expand_as(truth)
    shifted = torch.where(hole, periodic(shift=3), truth)  # the same texture, out of place
    blurred = torch.where(hole, kornia.filters.gaussian_blur2d(truth, (7, 7), (2.0, 2.0)), truth)
    flat = torch.where(hole, torch.zeros_like(truth), truth)
    swd = {name: metrics.patch_swd(out, truth, known) for name, out in
           (("shifted", shifted), ("blurred", blurred), ("flat", flat))}
    assert torch.all(swd["shifted"] < 0.3 * swd["blurred"]) and torch.all(swd["blurred"] < swd["flat"])
    # the same fill always scores the same: the projections and positions come from a fixed seed
    assert torch.equal(swd["blurred"], metrics.patch_swd(blurred, truth, known))
    with pytest.raises(ValueError, match="odd"):
        metrics.patch_swd(truth, truth, known, size=4)


def test_near_copies_are_found_wherever_they_are_pasted_and_nothing_else_counts():
    g = torch.Generator().manual_seed(0)
    source = torch.rand(1, 3, 24, 24, generator=g) * 2 - 1
    known = torch.zeros(1, 1, 24, 48, dtype=torch.bool)
    known[..., :24] = True
    canvas = torch.cat([source, torch.rand(1, 3, 24, 24, generator=g) * 2 - 1], dim=-1)
    assert metrics.near_copy_share(canvas, source, known, size=5) == 0.0  # new noise copies nothing
    canvas[..., 4:20, 28:44] = source[..., 3:19, 5:21]  # a block pasted from elsewhere, as PatchMatch pastes
    share = metrics.near_copy_share(canvas, source, known, size=5, stride=1)
    whole = (20 - 4 - 4) * (44 - 28 - 4) / ((24 - 4) * (24 - 4))  # patches wholly inside the pasted block
    assert share == pytest.approx(whole)
    off = canvas.clone()
    off[..., 28:] += 3 / 127.5  # the same block 3 levels brighter is no longer a copy at 2 levels
    assert metrics.near_copy_share(off, source, known, size=5) == 0.0
    assert metrics.near_copy_share(off, source, known, size=5, levels=4) > 0
    thin = torch.ones_like(known)
    thin[..., 30:33] = False  # new pixels, but no 5x5 patch fits in them
    with pytest.raises(ValueError, match="wholly in the new pixels"):
        metrics.near_copy_share(canvas, source, thin, size=5)


# --- diversity and the report dict --------------------------------------------

def test_diversity(lpips_net):
    x = texture(0)
    same = torch.stack([x, x, x])
    assert torch.all(metrics.diversity(same, net=lpips_net) == 0)
    different = torch.stack([x, texture(1), texture(2)])
    assert torch.all(metrics.diversity(different, net=lpips_net) > 0.05)
    with pytest.raises(ValueError, match="S >= 2"):
        metrics.diversity(x[None], net=lpips_net)


def test_hole_metrics_returns_every_metric_per_image(lpips_net):
    truth, output, known = texture(0), texture(1), square_hole()
    out = metrics.hole_metrics(output, truth, known, net=lpips_net)
    assert set(out) == {"psnr", "ssim", "lpips", "sharpness", "blur_effect", "tone", "detail", "colour", "patch_swd"}
    assert all(v.shape == (2,) and torch.all(torch.isfinite(v)) for v in out.values())
    assert torch.allclose(out["psnr"], metrics.psnr(output, truth, known))


@pytest.mark.parametrize(
    "output, truth, known, match",
    [
        (texture(0), texture(1, b=1), square_hole(), "same shape"),
        (texture(0), texture(1), torch.ones(2, 1, H, W, dtype=torch.bool), "hole pixel"),
        (texture(0), texture(1), square_hole().float(), "bool"),
        (texture(0), texture(1), square_hole()[:, :, :16], "shape"),
        (texture(0)[0], texture(1)[0], square_hole()[0], "B, C, H, W"),
    ],
    ids=["shape-mismatch", "no-hole", "float-mask", "mask-shape", "3d-image"],
)
def test_bad_inputs_raise_value_error(output, truth, known, match):
    for fn in (metrics.psnr, metrics.ssim, metrics.sharpness_ratio):
        with pytest.raises(ValueError, match=match):
            fn(output, truth, known)
