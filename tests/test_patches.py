import pytest
import torch

from inpaint.patches import Box, PatchSampler, dihedral, grid_crops, held_out_box, valid_offsets


def test_training_crops_never_touch_the_held_out_strip():
    H, W, c = 96, 160, 24
    box = held_out_box(H, W, 0.25)
    sampler = PatchSampler(torch.zeros(1, 1, H, W), c, exclude=box)
    offsets = sampler.sample_offsets(20_000, torch.Generator().manual_seed(0))
    assert int(offsets[:, 1].max()) + c <= box.left
    assert int(offsets[:, 0].max()) + c <= H and int(offsets.min()) >= 0
    # and the allowed area is used up to its border
    assert int(offsets[:, 1].max()) + c == box.left


def test_crops_contain_no_held_out_pixel():
    H, W, c = 64, 64, 16
    image = torch.zeros(1, 1, H, W)
    box = Box(10, 30, 20, 12)
    image[0, 0][box.slices()] = 1.0
    crops = PatchSampler(image, c, exclude=box, augment=True).sample(5000, torch.Generator().manual_seed(1))
    assert crops.max() == 0


def test_valid_offsets_match_brute_force():
    g = torch.Generator().manual_seed(0)
    exclude = torch.rand(20, 23, generator=g) > 0.97
    got = valid_offsets(20, 23, 5, exclude)
    want = torch.tensor([[not exclude[i:i + 5, j:j + 5].any() for j in range(19)] for i in range(16)])
    assert torch.equal(got, want)


def test_same_seed_same_crops():
    image = torch.randn(1, 3, 64, 64)
    s = PatchSampler(image, 16, exclude=held_out_box(64, 64), augment=True)
    a = s.sample(8, torch.Generator().manual_seed(5))
    b = s.sample(8, torch.Generator().manual_seed(5))
    c = s.sample(8, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_dihedral_gives_the_eight_symmetries():
    x = torch.arange(9.0).reshape(1, 3, 3)
    variants = {tuple(dihedral(x, k).flatten().tolist()) for k in range(8)}
    assert len(variants) == 8


def test_crop_larger_than_image_is_an_error():
    with pytest.raises(ValueError, match="smaller than the crop"):
        PatchSampler(torch.zeros(1, 1, 32, 32), 48)
    with pytest.raises(ValueError, match="held-out"):
        PatchSampler(torch.zeros(1, 1, 32, 40), 32, exclude=held_out_box(32, 40, 0.5))


def test_grid_crops_tile_the_box():
    image = torch.arange(64 * 64.0).reshape(1, 1, 64, 64)
    box = held_out_box(64, 64, 0.25)
    crops = grid_crops(image, box, 16, 100)
    assert crops.shape == (4, 1, 16, 16)
    assert torch.equal(crops[1], image[0, :, 16:32, 48:64])
