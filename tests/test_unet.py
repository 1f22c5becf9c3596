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
