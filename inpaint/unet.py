"""The shared U-Net of the regression, diffusion and RePaint paths.

The architecture follows Cherel et al., "Diffusion-based image inpainting with
internal learning" (EUSIPCO 2024): a recursive U-Net whose every level is two
3x3 convolutions with ReLU, a max-pool, the inner level, a nearest-neighbour
upsample, a concatenated skip connection and two more 3x3 convolutions.  Every
level has the same width (32 channels by default), there is no attention and
no normalisation.  A 16-d sinusoidal embedding of the timestep goes through a
small MLP and is broadcast over the image as extra input channels.

What the input channels *mean* (masked image, noisy image, mask) is decided
by the caller; see :mod:`inpaint.diffusion` and :mod:`inpaint.regression`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

BOTTLENECKS = ("plain", "dilated", "attention", "fourier")
LEARNED_METHODS = ("regression", "diffusion", "repaint")
"""The methods that train a U-Net (``ModelConfig.method``); :data:`inpaint.evaluate.METHODS` adds the classical fills."""


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the network, saved inside every checkpoint.

    Parameters
    ----------
    method : {'regression', 'diffusion', 'repaint'}
        Which path the network serves.  It fixes the input channels:
        regression sees (masked image, mask); diffusion sees (masked image,
        noisy image, mask, time); repaint is unconditional and sees (noisy
        image, time).
    image_channels : int
        Channels of the images (1 for grey, 3 for RGB, more for stacks).
    width : int
        Channels of every level.
    depth : int
        Number of down-sampling levels; inputs must be divisible by ``2**depth``.
    time_dim : int
        Size of the sinusoidal time embedding (unused by regression).
    bottleneck : {'plain', 'dilated', 'attention', 'fourier'}
        The innermost block, where one pixel sees the most of the image:
        'plain' is the reference's two 3x3 convolutions; 'dilated' the same
        weights with dilations 2 and 4 (no new parameters, a receptive field
        of 13 instead of 5 pixels at 1/2**depth scale); 'attention' adds a
        residual single-head self-attention over the bottleneck's pixels;
        'fourier' adds a residual spectral block (a 1x1 convolution over the
        real and imaginary parts of the 2-D FFT, as in LaMa's fast Fourier
        convolution), global and suited to periodic structure.  The added
        blocks end in a zero-initialized projection, so a network fine-tuned
        from a 'plain' one starts as that network.
    """

    method: str = "diffusion"
    image_channels: int = 3
    width: int = 32
    depth: int = 3
    time_dim: int = 16
    bottleneck: str = "plain"

    def __post_init__(self) -> None:
        if self.method not in LEARNED_METHODS:
            raise ValueError(f"method must be one of {LEARNED_METHODS}, got {self.method!r}")
        if self.bottleneck not in BOTTLENECKS:
            raise ValueError(f"bottleneck must be one of {', '.join(BOTTLENECKS)}, got {self.bottleneck!r}")
        for name in ("image_channels", "width", "depth"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")

    @property
    def uses_time(self) -> bool:
        return self.method != "regression"

    @property
    def conditional(self) -> bool:
        """True when the network sees the masked image and the mask."""
        return self.method != "repaint"

    @property
    def in_channels(self) -> int:
        c = self.image_channels
        n = 0
        if self.conditional:
            n += c + 1  # masked image and mask
        if self.uses_time:
            n += c + self.time_dim  # noisy image and time embedding
        return n

    @property
    def multiple(self) -> int:
        """Spatial sizes the network accepts are multiples of this."""
        return 2**self.depth


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10_000.0) -> Tensor:
    """Sinusoidal embedding of integer timesteps (Vaswani et al. 2017).

    Parameters
    ----------
    t : Tensor, shape (B,)
        Timesteps (any real values).
    dim : int
        Even embedding size.

    Returns
    -------
    Tensor, shape (B, dim), float32.
    """
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


def _block(c_in: int, c_out: int, dilations: tuple[int, int] = (1, 1)) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=dilations[0], dilation=dilations[0]),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=dilations[1], dilation=dilations[1]),
        nn.ReLU(inplace=True),
    )


class SelfAttention(nn.Module):
    """Residual single-head self-attention over the pixels of a (B, C, H, W) map:
    x + W_o softmax(Q K^T / sqrt(C)) V, with Q, K, V 1x1 projections of the group-normalized map."""

    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.GroupNorm(min(8, width), width)
        self.qkv = nn.Conv2d(width, 3 * width, 1)
        self.out = nn.Conv2d(width, width, 1)

    def forward(self, x: Tensor) -> Tensor:
        B, C, H, W = x.shape
        q, k, v = self.qkv(self.norm(x)).flatten(2).transpose(1, 2).chunk(3, dim=2)  # (B, HW, C) each
        y = F.scaled_dot_product_attention(q, k, v)
        return x + self.out(y.transpose(1, 2).reshape(B, C, H, W))


class SpectralBlock(nn.Module):
    """Residual global block of a fast Fourier convolution (Chi et al. 2020; LaMa, Suvorov et al. 2022):
    x + irfft2(conv1x1([Re, Im] of rfft2(x))), with ReLU on the spectrum; float32 inside (no bfloat16 FFT)."""

    def __init__(self, width: int):
        super().__init__()
        self.spectral = nn.Conv2d(2 * width, 2 * width, 1)
        self.out = nn.Conv2d(width, width, 1)

    def forward(self, x: Tensor) -> Tensor:
        H, W = x.shape[-2:]
        with torch.autocast(x.device.type, enabled=False):
            f = torch.fft.rfft2(x.float(), norm="ortho")
            f = F.relu(self.spectral(torch.cat([f.real, f.imag], dim=1)))
            re, im = f.chunk(2, dim=1)
            y = torch.fft.irfft2(torch.complex(re, im), s=(H, W), norm="ortho")
        return x + self.out(y.to(x.dtype))


def _bottleneck(kind: str, width: int) -> nn.Module:
    if kind == "dilated":
        return _block(width, width, (2, 4))
    if kind == "plain":
        return _block(width, width)
    extra = SelfAttention(width) if kind == "attention" else SpectralBlock(width)
    return nn.Sequential(*_block(width, width), extra)


class _Level(nn.Module):
    """One level of the recursive U-Net: down block, inner level, up block."""

    def __init__(self, c_in: int, width: int, inner: nn.Module):
        super().__init__()
        self.down = _block(c_in, width)
        self.inner = inner
        self.up = _block(2 * width, width)

    def forward(self, x: Tensor) -> Tensor:
        return self.after_first_conv(self.down[0](x))

    def after_first_conv(self, h: Tensor) -> Tensor:
        """The level from the output of its first convolution (before its ReLU) on."""
        skip = self.down[1:](h)
        y = self.inner(F.max_pool2d(skip, 2))
        y = F.interpolate(y, scale_factor=2.0, mode="nearest")
        return self.up(torch.cat([y, skip], dim=1))


class UNet(nn.Module):
    """Recursive U-Net with an optional broadcast time embedding.

    Parameters
    ----------
    config : ModelConfig
    generator : torch.Generator, optional
        Source of the initial weights, so that the same seed gives the same
        network without touching the global random state.

    Examples
    --------
    >>> net = UNet(ModelConfig(method="diffusion", image_channels=3))
    >>> x = torch.zeros(2, net.config.in_channels - 16, 64, 64)
    >>> net(x, torch.tensor([0, 999])).shape
    torch.Size([2, 3, 64, 64])
    """

    def __init__(self, config: ModelConfig, generator: torch.Generator | None = None):
        super().__init__()
        self.config = config
        w = config.width
        core: nn.Module = _bottleneck(config.bottleneck, w)
        for level in range(config.depth - 1, -1, -1):
            core = _Level(config.in_channels if level == 0 else w, w, core)
        self.body = core
        self.head = nn.Conv2d(w, config.image_channels, 1)
        if config.uses_time:
            d = config.time_dim
            self.time_mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.ReLU(inplace=True), nn.Linear(4 * d, d))
        else:
            self.time_mlp = None
        self.reset_parameters(generator)
        # NHWC is 2-3x faster than NCHW for these narrow convolutions on CPU (oneDNN).
        self.to(memory_format=torch.channels_last)

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """He-uniform weights and zero biases, drawn from ``generator``; the output projections of the
        residual bottleneck blocks start at zero, so those blocks start as the identity."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_uniform_(m.weight, nonlinearity="relu", generator=generator)
                nn.init.zeros_(m.bias)
        for m in self.modules():  # after the loop above, which visits a block before its projection
            if isinstance(m, (SelfAttention, SpectralBlock)):
                nn.init.zeros_(m.out.weight)

    def forward(self, x: Tensor, t: Tensor | None = None) -> Tensor:
        """Run the network.

        Parameters
        ----------
        x : Tensor, shape (B, in_channels - time_dim, H, W)
            The image inputs, already concatenated by the caller.
        t : Tensor, shape (B,), optional
            Integer timesteps; required when the config uses time.

        Returns
        -------
        Tensor, shape (B, image_channels, H, W)
        """
        if self.time_mlp is not None:
            if t is None:
                raise ValueError("this network needs timesteps t")
            emb = self.time_mlp(timestep_embedding(t, self.config.time_dim).to(x.dtype))
            emb = emb[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
            x = torch.cat([x, emb], dim=1)
        m = self.config.multiple
        if x.shape[2] % m or x.shape[3] % m:
            raise ValueError(f"height and width must be multiples of {m}, got {tuple(x.shape[2:])}")
        x = x.contiguous(memory_format=torch.channels_last)
        return self.head(self.body(x)).contiguous()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
