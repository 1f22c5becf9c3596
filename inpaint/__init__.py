"""inpaint: fill holes in textures and restore damaged images with small models trained on one image.

The library in one screen::

    import torch, inpaint

    image, _ = inpaint.read_image(inpaint.shipped.texture("cork"))  # (1, C, H, W) in [-1, 1]
    config = inpaint.TrainConfig(model=inpaint.ModelConfig("diffusion", image_channels=image.shape[1]))
    ckpt = inpaint.train(image, config, out="runs/cork/diffusion.pt")

    x, _ = inpaint.read_image("damaged.png")
    known = inpaint.read_mask("hole.png", size=x.shape[-2:])      # True = known pixel
    filled = inpaint.fill(ckpt.network(), ckpt.config, x, known,
                          generator=torch.Generator().manual_seed(0))[0]
    inpaint.write_image(filled, "filled.png")

Modules: :mod:`~inpaint.schedule` (noise schedules, forward process, posterior),
:mod:`~inpaint.diffusion` (parametrizations, loss), :mod:`~inpaint.sampling`
(DDPM, DDIM, RePaint), :mod:`~inpaint.unet`, :mod:`~inpaint.regression`,
:mod:`~inpaint.train`, :mod:`~inpaint.checkpoint`, :mod:`~inpaint.fill`,
:mod:`~inpaint.masks`, :mod:`~inpaint.mask_sets`, :mod:`~inpaint.patches`, :mod:`~inpaint.metrics`,
:mod:`~inpaint.io`, :mod:`~inpaint.evaluate`, :mod:`~inpaint.prior` (the shipped texture prior to
fine-tune from), :mod:`~inpaint.shipped` (the mask sets, textures and models that ship with the package).

The names below are imported on first use (PEP 562), so ``import inpaint`` and
``inpaint --help`` do not wait for torch.
"""

import importlib
import sys
import types

from . import shipped

__version__ = "0.1.0"

_EXPORTS = {
    "checkpoint": ("Checkpoint", "CheckpointError", "load_checkpoint", "save_checkpoint"),
    "config": ("TrainConfig",),
    "diffusion": ("DiffusionConfig", "make_denoiser", "to_eps", "to_x0"),
    "fill": ("SamplerConfig", "fill"),
    "io": ("ImageFormatError", "read_image", "read_mask", "write_image", "write_mask"),
    "patches": ("PatchSampler", "held_out_box"),
    "sampling": ("repaint_schedule", "sample_ddim", "sample_ddpm", "sample_repaint", "strided_timesteps"),
    "schedule": ("NoiseSchedule", "posterior", "q_jump", "q_sample"),
    "train": ("train",),
    "unet": ("ModelConfig", "UNet"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted([*_MODULE_OF, "shipped"])


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'inpaint' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULE_OF])


class _Package(types.ModuleType):
    """``inpaint.fill`` and ``inpaint.train`` are functions, as with ``from .fill import fill``: when the
    import system binds the submodules of those names on the package, the function of the same name is bound."""

    def __setattr__(self, name: str, value) -> None:
        if name in ("fill", "train") and isinstance(value, types.ModuleType) and hasattr(value, name):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
