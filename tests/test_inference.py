"""The fast denoiser of fill against make_denoiser: the same x0 estimate, up to float rounding."""

import pytest
import torch

from inpaint.diffusion import make_denoiser
from inpaint.inference import _tap_masks, fast_denoiser
from inpaint.schedule import NoiseSchedule
from inpaint.unet import ModelConfig, UNet

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("method, channels, prediction", [("diffusion", 3, "eps"), ("diffusion", 1, "v"), ("repaint", 3, "x0")])
@pytest.mark.parametrize("size", [(16, 24), (8, 8)])
@pytest.mark.parametrize("bottleneck", ["plain", "fourier"])
def test_fast_denoiser_equals_make_denoiser(method, channels, prediction, size, bottleneck):
    g = torch.Generator().manual_seed(0)
    model = UNet(ModelConfig(method=method, image_channels=channels, width=8, bottleneck=bottleneck), generator=g).eval()
    # biases are zero after reset_parameters: make them count
    for p in model.parameters():
        p.data.add_(0.1 * torch.randn(p.shape, generator=g))
    sch = NoiseSchedule.cosine(100)
    x_known = torch.rand(3, channels, *size, generator=g) * 2 - 1
    known = torch.rand(3, 1, *size, generator=g) < 0.6
    x_known[:, :, 0, 0] = float("nan")
    known[:, :, 0, 0] = False  # a NaN in the hole is ignored by both
    cond = dict(x_known=torch.where(known, x_known, 0.0), known=known) if method == "diffusion" else {}
    slow = make_denoiser(model, sch, prediction, **cond)
    fast = fast_denoiser(model, sch, prediction, **({**cond, "x_known": x_known} if cond else {}))
    x_t = torch.randn(3, channels, *size, generator=g)
    t = torch.tensor([0, 37, 90])  # not 99: there an eps model's x0 is its output times 8000
    with torch.inference_mode():
        a, b = slow(x_t, t), fast(x_t, t)
    assert b.shape == a.shape and b.is_contiguous()
    torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4)


def test_tap_masks_count_the_pixels_each_tap_reads():
    m = _tap_masks(4, 5, "cpu").reshape(4, 5, 9)
    assert m[1:-1, 1:-1].eq(1).all()  # interior: all nine taps
    assert m[0, 0].sum() == 4 and m[0, 2].sum() == 6  # a corner and an edge
    assert m[..., 4].eq(1).all()  # the centre tap always reads inside


def test_fast_denoiser_rejects_bad_sizes():
    model = UNet(ModelConfig(method="repaint", image_channels=1, width=8)).eval()
    fast = fast_denoiser(model, NoiseSchedule.cosine(10), "eps")
    with pytest.raises(ValueError):
        fast(torch.zeros(1, 1, 12, 16), torch.zeros(1, dtype=torch.long))


def test_guided_denoiser_combines_the_two_estimates():
    from inpaint.inference import guided_denoiser

    cond = lambda x, t: x + 1.0  # noqa: E731
    uncond = lambda x, t: 2 * x  # noqa: E731
    x, t = torch.randn(2, 1, 4, 4), torch.zeros(2, dtype=torch.long)
    torch.testing.assert_close(guided_denoiser(cond, uncond, 0.0)(x, t), x + 1)
    torch.testing.assert_close(guided_denoiser(cond, uncond, 2.0)(x, t), 3 * (x + 1) - 4 * x)
    with pytest.raises(ValueError):
        guided_denoiser(cond, uncond, -1.0)
