"""LPIPS (Zhang et al., CVPR 2018), v0.1 with the AlexNet backbone, loaded offline.

The ``lpips`` package ships the linear calibration layers; the AlexNet feature
weights (torchvision's ImageNet weights, ``alexnet-owt-7be5be79.pth``) ship with
this package as ``inpaint/_weights/alexnet_features.npz``: plain float32
arrays, read with ``numpy.load(allow_pickle=False)`` after their sha256 is
checked against ``FEATURES_SHA256``. Nothing is downloaded and nothing is
unpickled.
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from importlib import resources

import lpips
import numpy as np
import torch

__all__ = ["FEATURES_FILE", "FEATURES_SHA256", "load_lpips", "lpips_distance"]

FEATURES_FILE = "_weights/alexnet_features.npz"
"""The AlexNet conv weights inside the package, keyed ``features.{i}.weight|bias`` as in torchvision."""
FEATURES_SHA256 = "e762b28a0489ca1b9a809bcf1fc6d82b9310cd77ff6c495d057dc8811994eab4"

# torchvision ``alexnet.features`` index of each conv layer, in order. ``lpips``
# keeps the torchvision index inside its slices: features.3 lives at ``slice2.3``.
_FEATURE_INDICES = (0, 3, 6, 8, 10)


def _features_state_dict() -> dict[str, torch.Tensor]:
    """AlexNet conv weights keyed as torchvision's ``features.{i}.weight|bias``, hash-checked."""
    data = resources.files("inpaint").joinpath(FEATURES_FILE).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != FEATURES_SHA256:
        raise RuntimeError(f"inpaint/{FEATURES_FILE} has sha256 {digest[:16]}..., expected "
                           f"{FEATURES_SHA256[:16]}...: the LPIPS weights are damaged; reinstall inpaint")
    import io

    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        return {key: torch.from_numpy(arrays[key].copy()) for key in arrays.files}


@functools.lru_cache(maxsize=None)
def _load_cached(device: str) -> lpips.LPIPS:
    with warnings.catch_warnings():
        # torchvision warns about the deprecated ``pretrained`` flag lpips uses.
        warnings.simplefilter("ignore", UserWarning)
        net = lpips.LPIPS(net="alex", version="0.1", pnet_rand=True, verbose=False)
    features = _features_state_dict()
    slices = [getattr(net.net, f"slice{n}") for n in range(1, 6)]
    for block, i in zip(slices, _FEATURE_INDICES):
        conv = getattr(block, str(i))
        with torch.no_grad():
            conv.weight.copy_(features[f"features.{i}.weight"])
            conv.bias.copy_(features[f"features.{i}.bias"])
    net = net.eval().requires_grad_(False)
    return net.to(device)


def load_lpips(device: str | torch.device = "cpu") -> lpips.LPIPS:
    """Build LPIPS v0.1 (AlexNet) from the weights shipped with the package, once per device.

    The linear calibration layers are the ones shipped inside the ``lpips``
    package; the AlexNet feature weights are torchvision's ImageNet weights,
    shipped as ``inpaint/_weights/alexnet_features.npz`` and checked against
    ``FEATURES_SHA256`` before use. Nothing is downloaded.

    Parameters
    ----------
    device : str or torch.device, optional
        Device to put the network on.

    Returns
    -------
    lpips.LPIPS
        The network in eval mode with gradients off. It is shared between
        calls for the same device: do not modify it.

    Raises
    ------
    RuntimeError
        If the shipped weight file does not match its sha256.
    """
    return _load_cached(str(torch.device(device)))


def lpips_distance(
    a: torch.Tensor, b: torch.Tensor, *, net: lpips.LPIPS | None = None
) -> torch.Tensor:
    """LPIPS v0.1 distance between two batches of images.

    Parameters
    ----------
    a, b : Tensor, shape (B, C, H, W)
        Images in [-1, 1] (the scale LPIPS expects), C = 3 or C = 1 (grey,
        repeated to three channels). H and W of at least 16 or so; AlexNet
        downsamples by 16 before its last layers.
    net : lpips.LPIPS, optional
        Network from :func:`load_lpips`; by default the one for ``a.device``.

    Returns
    -------
    Tensor, shape (B,)
        Distance per image, 0 for identical images, larger = less similar.

    Examples
    --------
    >>> x = torch.zeros(1, 3, 64, 64)
    >>> float(lpips_distance(x, x))
    0.0
    """
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
        raise ValueError("a and b must be torch tensors of shape (B, C, H, W)")
    if a.ndim != 4 or a.shape != b.shape:
        raise ValueError(
            f"a and b must both have shape (B, C, H, W); got {tuple(a.shape)} "
            f"and {tuple(b.shape)}"
        )
    if a.shape[1] not in (1, 3):
        raise ValueError(
            f"LPIPS needs RGB (C=3) or grey (C=1) images; got C={a.shape[1]}"
        )
    if net is None:
        net = load_lpips(a.device)
    if a.shape[1] == 1:
        a, b = a.expand(-1, 3, -1, -1), b.expand(-1, 3, -1, -1)
    dtype = next(net.parameters()).dtype
    return net(a.to(dtype), b.to(dtype), normalize=False).reshape(a.shape[0])
