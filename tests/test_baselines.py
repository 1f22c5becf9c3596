import sys

import pytest
import torch

from inpaint.baselines import BASELINES, biharmonic, patchmatch, telea


def gradient(channels: int, size: int = 48) -> torch.Tensor:
    """A smooth image in [0.2, 0.8] (zero-filling it is far off), one ramp per channel direction."""
    u = torch.linspace(0, 1, size)
    ramp = 0.2 + 0.3 * (u[:, None] + u[None, :])
    layers = [ramp, ramp.flip(0), ramp.flip(1)][:channels]
    return torch.stack(layers)[None]


def hole(size: int = 48) -> torch.Tensor:
    known = torch.ones(1, 1, size, size, dtype=torch.bool)
    known[..., 14:30, 18:34] = False
    known[..., 36:40, 5:12] = False
    return known


@pytest.mark.parametrize("name", sorted(BASELINES))
@pytest.mark.parametrize("channels", [1, 3])
def test_known_pixels_kept_and_hole_finite(name, channels):
    x = torch.rand(2, channels, 40, 40, generator=torch.Generator().manual_seed(0)) * 2 - 1
    known = torch.ones(2, 1, 40, 40, dtype=torch.bool)
    known[0, :, 5:20, 10:30] = False
    known[1, :, 25:38, 2:15] = False
    x_known = x * known
    out = BASELINES[name](x_known, known)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.equal(out[known.expand_as(out)], x_known[known.expand_as(out)])
    assert torch.isfinite(out).all() and out.min() >= -1 and out.max() <= 1


@pytest.mark.parametrize("name", sorted(BASELINES))
@pytest.mark.parametrize("channels", [1, 3])
def test_smooth_image_is_restored(name, channels):
    x, known = gradient(channels), hole()
    out = BASELINES[name](x * known, known)
    in_hole = (~known).expand_as(x)
    mse_restored = (out - x)[in_hole].square().mean()
    mse_defect = x[in_hole].square().mean()  # the error of filling with zeros
    assert mse_restored < 0.1 * mse_defect


def test_biharmonic_is_exact_on_a_ramp():
    x, known = gradient(1), hole()
    assert (biharmonic(x * known, known) - x).abs().max() < 1e-4


def test_patchmatch_is_reproducible():
    x = torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(1)) * 2 - 1
    known = hole(40)
    assert torch.equal(patchmatch(x * known, known), patchmatch(x * known, known))


@pytest.mark.parametrize("name", ["telea", "ns", "patchmatch"])
def test_unsupported_channels_are_refused(name):
    x, known = torch.zeros(1, 4, 16, 16), hole(16)
    with pytest.raises(ValueError, match="channels"):
        BASELINES[name](x, known)


def test_bad_mask_is_refused():
    x = torch.zeros(1, 3, 16, 16)
    with pytest.raises(ValueError, match="known"):
        telea(x, torch.ones(1, 1, 16, 16))


def test_missing_patchmatch_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "patchmatch", None)  # makes ``import patchmatch`` fail
    x, known = torch.zeros(1, 3, 16, 16), hole(16)
    with pytest.raises(RuntimeError, match="pip install pypatchmatch"):
        patchmatch(x, known)
