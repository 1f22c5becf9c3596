"""The regression baseline: one pass of the U-Net, L2 on the hole.

Minimising E|x - f(x * known)|^2 over the hole gives the posterior mean of the
hole given the known pixels; averaging all plausible fills is why its edges
come out blurred (the perception-distortion trade-off, Blau and Michaeli 2018).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .diffusion import conditioning, ignored, masked_mean, network_input


def regression_loss(model: nn.Module, x: Tensor, known: Tensor, *, valid: Tensor | None = None) -> Tensor:
    """Mean squared error of the one-pass fill over the hole pixels.

    Parameters
    ----------
    x : Tensor (B, C, H, W) in [-1, 1]
        Clean crops.
    known : Tensor (B, 1, H, W) bool
    valid : Tensor (B, 1, H, W) bool, optional
        Pixels that exist; invalid ones are hidden from the input and left out of the loss.
    """
    out = model(network_input(None, x_known=x, known=conditioning(known, valid)))
    return masked_mean((out - x) ** 2, ignored(known, valid)).mean()


@torch.no_grad()
def fill_regression(model: nn.Module, x_known: Tensor, known: Tensor) -> Tensor:
    """Fill the hole in one pass; known pixels are returned unchanged.

    Returns
    -------
    Tensor (B, C, H, W), the network output clipped to [-1, 1] in the hole.
    """
    out = model(network_input(None, x_known=x_known, known=known)).clamp(-1, 1)
    return torch.where(known, x_known, out)
