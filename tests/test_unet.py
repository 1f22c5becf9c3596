import pytest
import torch

from inpaint.unet import ModelConfig, UNet, count_parameters


def test_rgb_diffusion_network_has_about_160k_parameters():
    n = count_parameters(UNet(ModelConfig(method="diffusion", image_channels=3)))
    assert 150_000 <= n <= 175_000


@pytest.mark.parametrize("method", ["regression", "diffusion", "repaint"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_output_has_image_channels(method, channels):
    config = ModelConfig(method=method, image_channels=channels, width=8)
    net = UNet(config)
    image_inputs = config.in_channels - (config.time_dim if config.uses_time else 0)
    t = torch.tensor([0, 5]) if config.uses_time else None
    out = net(torch.randn(2, image_inputs, 16, 24), t)
    assert out.shape == (2, channels, 16, 24)


def test_regression_path_has_no_time_and_no_noisy_input():
    reg, dif = ModelConfig("regression", 3), ModelConfig("diffusion", 3)
    assert reg.in_channels == 3 + 1
    assert dif.in_channels == 3 + 3 + 1 + dif.time_dim
    assert UNet(reg).time_mlp is None


def test_sizes_not_multiple_of_8_are_rejected():
    net = UNet(ModelConfig("regression", 1, width=8))
    with pytest.raises(ValueError, match="multiples of 8"):
        net(torch.zeros(1, 2, 20, 16))


def test_same_generator_seed_gives_same_weights():
    a = UNet(ModelConfig("diffusion", 3, width=8), generator=torch.Generator().manual_seed(3))
    b = UNet(ModelConfig("diffusion", 3, width=8), generator=torch.Generator().manual_seed(3))
    c = UNet(ModelConfig("diffusion", 3, width=8), generator=torch.Generator().manual_seed(4))
    for (k, va), vb, vc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        assert torch.equal(va, vb), k
    assert not all(torch.equal(va, vc) for va, vc in zip(a.parameters(), c.parameters()))


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="method"):
        ModelConfig(method="gan")


def test_bottlenecks_stay_small_and_dilation_adds_no_parameter():
    from inpaint.unet import BOTTLENECKS

    counts = {b: count_parameters(UNet(ModelConfig(bottleneck=b))) for b in BOTTLENECKS}
    assert counts["dilated"] == counts["plain"]
    assert all(counts["plain"] < counts[b] <= 200_000 for b in ("attention", "fourier"))
    with pytest.raises(ValueError, match="bottleneck"):
        ModelConfig(bottleneck="transformer")


@pytest.mark.parametrize("bottleneck", ["attention", "fourier"])
def test_an_added_bottleneck_block_starts_as_the_identity_of_the_plain_network(bottleneck):
    """Fine-tuned from a plain network (the prior), the network starts as that network."""
    from inpaint.train import load_weights

    g = torch.Generator().manual_seed(0)
    plain = UNet(ModelConfig(width=8), generator=g).eval()
    wide = UNet(ModelConfig(width=8, bottleneck=bottleneck), generator=g).eval()
    load_weights(wide, plain.state_dict())
    x, t = torch.randn(2, 7, 32, 32, generator=g), torch.tensor([3, 300])
    with torch.no_grad():
        torch.testing.assert_close(wide(x, t), plain(x, t))
        with torch.autocast("cpu", dtype=torch.bfloat16):  # the FFT runs in float32 under bfloat16 training
            assert wide(x, t).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="do not fit"):
        load_weights(plain, wide.state_dict())


def test_dilation_widens_what_one_output_pixel_sees():
    """The gradient of one output pixel reaches farther into the input with the dilated bottleneck."""
    def reach(bottleneck):
        net = UNet(ModelConfig(method="regression", image_channels=1, width=8, bottleneck=bottleneck),
                   generator=torch.Generator().manual_seed(0))
        x = torch.rand(1, 2, 256, 256, generator=torch.Generator().manual_seed(1)).requires_grad_()
        net(x)[0, 0, 128, 128].backward()
        cols = x.grad[0].abs().sum(dim=(0, 1)).nonzero().flatten()
        return int(cols.max() - cols.min()) + 1

    assert reach("plain") == 92 and reach("dilated") == 156  # 8 px of the bottleneck each side, times 8
