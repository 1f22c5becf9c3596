"""Orientation of a texture, and the augmentation it allows."""

import pytest
import torch

from inpaint.io import read_image
from inpaint.orientation import ISOTROPY_LIMIT, anisotropy, choose_augmentation, symmetries
from inpaint.patches import PatchSampler, dihedral


def rows_stripes(H=64, W=64):
    """Horizontal stripes: every row constant, gradients all vertical."""
    y = torch.arange(H, dtype=torch.float32)[:, None].expand(H, W)
    return (0.8 * torch.sin(2 * torch.pi * y / 7))[None, None].clone()


def test_anisotropy_is_one_for_stripes_in_any_direction_and_small_for_noise():
    stripes = rows_stripes()
    assert anisotropy(stripes) == pytest.approx(1.0, abs=1e-6)
    assert anisotropy(torch.rot90(stripes, 1, (-2, -1))) == pytest.approx(1.0, abs=1e-6)
    y, x = torch.meshgrid(torch.arange(96.0), torch.arange(96.0), indexing="ij")
    diagonal = torch.sin(2 * torch.pi * (x + y) / 9)[None, None]
    assert anisotropy(diagonal) > 0.9  # the image-wide tensor sees any direction, not only the axes
    noise = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert anisotropy(noise) < 0.08
    assert anisotropy(torch.zeros(1, 1, 32, 32)) == 0.0


def test_anisotropy_checks_its_input():
    with pytest.raises(ValueError, match="shape"):
        anisotropy(torch.zeros(2, 1, 8, 8))


@pytest.mark.parametrize("name, isotropic", [("cork", True), ("gravel", True), ("grass", True),
                                              ("canvas", False), ("brick", False)])
def test_shipped_textures_fall_on_the_documented_side_of_the_limit(name, isotropic):
    image, _ = read_image(f"data/{name}.png")
    assert (anisotropy(image) <= ISOTROPY_LIMIT) == isotropic
    assert choose_augmentation(image) == ("dihedral" if isotropic else "none")


def test_choose_augmentation_keeps_explicit_choices_and_rejects_unknown_ones():
    stripes = rows_stripes()
    assert choose_augmentation(stripes, "auto") == "none"
    assert choose_augmentation(stripes, "flips") == "flips"
    noise = torch.rand(1, 1, 96, 96, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert choose_augmentation(noise, "auto") == "dihedral"
    with pytest.raises(ValueError, match="augment must be one of"):
        choose_augmentation(stripes, "rotate")
    with pytest.raises(ValueError, match="resolved"):
        symmetries("auto")


def test_flips_keep_the_axes_and_dihedral_turns_them():
    image = rows_stripes(64, 64)
    g = torch.Generator().manual_seed(0)
    flips = PatchSampler(image, 16, augment="flips").sample(200, g)
    assert torch.equal(flips, flips[..., :1].expand_as(flips))  # rows stay constant: no quarter turn
    turned = PatchSampler(image, 16, augment="dihedral").sample(200, g)
    rows_constant = (turned == turned[..., :1]).flatten(1).all(1)
    assert 0.3 < rows_constant.float().mean() < 0.7  # half the symmetries turn the stripes


def test_flips_draw_all_four_axis_symmetries():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    picks = PatchSampler(x, 4, augment="flips").sample(400, torch.Generator().manual_seed(1))
    seen = {tuple(p.flatten().tolist()) for p in picks}
    assert seen == {tuple(dihedral(x[0], k).flatten().tolist()) for k in (0, 2, 4, 6)}


def test_bool_augment_is_the_old_switch_with_the_same_random_stream():
    image = torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(2))
    a = PatchSampler(image, 16, augment=True).sample(20, torch.Generator().manual_seed(3))
    b = PatchSampler(image, 16, augment="dihedral").sample(20, torch.Generator().manual_seed(3))
    c = PatchSampler(image, 16, augment=False).sample(20, torch.Generator().manual_seed(3))
    d = PatchSampler(image, 16, augment="none").sample(20, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and torch.equal(c, d)


def test_anisotropy_reads_only_where_it_is_told():
    stripes = torch.sin(torch.arange(96.0)).repeat(96, 1)[None, None]
    noise = torch.rand(1, 1, 96, 96, generator=torch.Generator().manual_seed(2)) * 2 - 1
    image = torch.cat([noise[..., :64], stripes[..., 64:]], dim=-1)  # noise on the left, stripes on the right
    left = torch.zeros(96, 96, dtype=torch.bool)
    left[:, :64] = True
    other = torch.cat([noise[..., :64], -stripes.transpose(-1, -2)[..., 64:]], dim=-1)
    assert anisotropy(image, where=left) == pytest.approx(anisotropy(other, where=left), abs=1e-12)  # no say
    assert anisotropy(image, where=left) < ISOTROPY_LIMIT < 0.9 < anisotropy(image, where=~left)
    assert anisotropy(image) > anisotropy(image, where=left) + 0.2
    assert choose_augmentation(image, where=left) == "dihedral" and choose_augmentation(image, where=~left) == "none"
    assert anisotropy(image, where=torch.zeros(96, 96, dtype=torch.bool)) == 0.0
    with pytest.raises(ValueError, match="where must have shape"):
        anisotropy(image, where=left[:10])
