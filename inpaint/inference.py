"""The denoiser that ``fill`` (hence ``restore``) samples with: the U-Net as ``(x_t, t) -> x0``, fast.

:func:`inpaint.diffusion.make_denoiser` concatenates the masked image, the
noisy image, the mask and the broadcast time embedding at every step and runs
the first convolution over all of them (23 channels for RGB).  Only x_t
changes from step to step, and the time embedding is constant over the image,
so the first convolution splits exactly (it is linear) into

    W * [x_known . known, x_t, known, e(t)] + b
      = (W_cond * [x_known . known, known] + b)     once per fill
      + W_x * x_t                                   3 input channels per step
      + sum_taps (W_tap e(t)) valid_tap             a (HW x 9) @ (9 x 32) product per step

where ``valid_tap`` marks the pixels at which a tap of the 3x3 kernel falls
inside the image (zero padding).  That removes about 10 % of the network's
FLOPs and the per-step concatenations; the rest of the network is unchanged
(:meth:`inpaint.unet._Level.after_first_conv`).  The result equals
``make_denoiser``'s up to float rounding (tests/test_inference.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .diffusion import Denoiser, make_denoiser, to_x0
from .schedule import NoiseSchedule
from .unet import UNet, timestep_embedding


def _tap_masks(h: int, w: int, device) -> Tensor:
    """(H*W, 9) float: 1 where tap (k, l) of a 3x3 kernel with padding 1 reads a pixel inside the image."""
    rows = torch.arange(h, device=device)
    cols = torch.arange(w, device=device)
    taps = []
    for k in range(3):
        for l in range(3):
            r = ((rows + k - 1 >= 0) & (rows + k - 1 < h))[:, None]
            c = ((cols + l - 1 >= 0) & (cols + l - 1 < w))[None, :]
            taps.append((r & c).reshape(-1))
    return torch.stack(taps, dim=1).float()


def fast_denoiser(
    model: UNet,
    schedule: NoiseSchedule,
    prediction: str,
    *,
    x_known: Tensor | None = None,
    known: Tensor | None = None,
) -> Denoiser:
    """:func:`inpaint.diffusion.make_denoiser` with the conditioning's share of the first
    convolution computed once.  Falls back to ``make_denoiser`` for a network it does not know."""
    first = model.body.down[0] if hasattr(model, "body") else None
    if (
        not isinstance(model, UNet) or model.time_mlp is None
        or first.kernel_size != (3, 3) or first.padding != (1, 1) or first.stride != (1, 1)
    ):
        return make_denoiser(model, schedule, prediction, x_known=x_known, known=known)
    c, d = model.config.image_channels, model.config.time_dim
    weight, bias = first.weight, first.bias
    w_emb = weight[:, -d:]  # the embedding comes last (UNet.forward)
    if known is not None:  # input channels: masked image, x_t, mask
        w_x = weight[:, c : 2 * c]
        k = known.to(x_known.dtype)
        cond_in = torch.cat([torch.where(known, x_known, 0.0), k], dim=1).contiguous(memory_format=torch.channels_last)
        const = F.conv2d(cond_in, torch.cat([weight[:, :c], weight[:, 2 * c : 2 * c + 1]], dim=1), bias, padding=1)
    else:
        w_x = weight[:, :c]
        const = bias[None, :, None, None]
    w_x = w_x.contiguous(memory_format=torch.channels_last)
    w_taps = w_emb.permute(1, 2, 3, 0).reshape(d, -1)  # (d, 9 * width): e @ w_taps = W_tap e for every tap
    taps_cache: dict[tuple[int, int], Tensor] = {}

    def denoise(x_t: Tensor, t: Tensor) -> Tensor:
        B, _, H, W = x_t.shape
        m = model.config.multiple
        if H % m or W % m:
            raise ValueError(f"height and width must be multiples of {m}, got {(H, W)}")
        taps = taps_cache.get((H, W))
        if taps is None:
            taps = taps_cache[(H, W)] = _tap_masks(H, W, x_t.device).to(x_t.dtype)
        e = model.time_mlp(timestep_embedding(t, d).to(x_t.dtype))  # (B, d)
        per_tap = (e @ w_taps).view(B, 9, -1)  # (B, 9, width)
        emb = torch.matmul(taps, per_tap).view(B, H, W, -1).permute(0, 3, 1, 2)  # channels-last strides
        h = F.conv2d(x_t.contiguous(memory_format=torch.channels_last), w_x, None, padding=1)
        h += emb
        h += const
        out = model.head(model.body.after_first_conv(h)).contiguous()
        return to_x0(out, x_t, schedule.alpha_bar(t), prediction)

    return denoise


def guided_denoiser(conditional: Denoiser, unconditional: Denoiser, scale: float) -> Denoiser:
    """Classifier-free guidance (Ho and Salimans 2022, eq. 6).

    eps~ = (1 + w) eps_c - w eps_u; x0 is affine in eps for a given x_t, so the same
    combination holds for the x0 estimates: x0~ = (1 + w) x0_c - w x0_u.  The
    unconditional branch is the same network shown an all-hole mask when it was
    trained with condition dropout (``TrainConfig.cond_dropout``; what ``fill``
    does), or another network such as the RePaint model of the same texture.
    ``scale = 0`` is the conditional model alone; each step costs two calls.
    """
    if scale < 0:
        raise ValueError(f"the guidance scale must be >= 0, got {scale}")

    def denoise(x_t: Tensor, t: Tensor) -> Tensor:
        x0_c = conditional(x_t, t)
        if scale == 0:
            return x0_c
        return (1 + scale) * x0_c - scale * unconditional(x_t, t)

    return denoise
