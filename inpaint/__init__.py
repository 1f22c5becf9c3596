"""inpaint: fill holes in textures and restore damaged images with small models trained on one image.

The library in one screen::

    import torch, inpaint
    from inpaint.fill import fill
    from inpaint.train import train

    image, _ = inpaint.read_image(inpaint.shipped.texture("cork"))  # (1, C, H, W) in [-1, 1]
    config = inpaint.TrainConfig(model=inpaint.ModelConfig("diffusion", image_channels=image.shape[1]))
    ckpt = train(image, config, out="runs/cork/diffusion.pt")

    x, _ = inpaint.read_image("damaged.png")
    known = inpaint.read_mask("hole.png", size=x.shape[-2:])      # True = known pixel
    filled = fill(ckpt.network(), ckpt.config, x, known, generator=torch.Generator().manual_seed(0))[0]
    inpaint.write_image(filled, "filled.png")

Modules (:data:`PUBLIC_MODULES`; the others, :data:`INTERNAL_MODULES`, serve them):
:mod:`~inpaint.schedule` (noise schedules, forward process, posterior),
:mod:`~inpaint.diffusion` (parametrizations, loss), :mod:`~inpaint.sampling`
(DDPM, DDIM, RePaint, predictor-corrector, the plan of a fill), :mod:`~inpaint.dpm_solver`,
:mod:`~inpaint.unet`, :mod:`~inpaint.regression`, :mod:`~inpaint.train`, :mod:`~inpaint.budget`,
:mod:`~inpaint.checkpoint`, :mod:`~inpaint.fill`, :mod:`~inpaint.guide` (where a chain starts),
:mod:`~inpaint.windows` (any image size), :mod:`~inpaint.restore`,
:mod:`~inpaint.masks`, :mod:`~inpaint.mask_sets`, :mod:`~inpaint.patches`, :mod:`~inpaint.metrics`,
:mod:`~inpaint.io`, :mod:`~inpaint.evaluate` (the scoring protocol), :mod:`~inpaint.compare`,
:mod:`~inpaint.report`, :mod:`~inpaint.baselines`, :mod:`~inpaint.prior` (the shipped texture prior to
fine-tune from), :mod:`~inpaint.shipped` (the mask sets, textures and models that ship with the package).
The command line is the application around them, in :mod:`inpaint.cli`; see ARCHITECTURE.md.

Every module is a module: ``inpaint.fill`` is :mod:`inpaint.fill`, whose
function is ``inpaint.fill.fill``.  The names below, and the modules, are
imported on first use (PEP 562), so ``import inpaint`` and ``inpaint --help``
do not wait for torch.
"""

import importlib

from . import shipped

__version__ = "0.1.0"
DISTRIBUTION = "internal-inpaint"
"""The name this package installs under (``pip install internal-inpaint``); it imports as ``inpaint``.  The
name ``inpaint`` on the package index is another project's."""

_EXPORTS = {
    "checkpoint": ("Checkpoint", "CheckpointError", "load_checkpoint", "save_checkpoint"),
    "config": ("TrainConfig",),
    "diffusion": ("DiffusionConfig", "make_denoiser", "to_eps", "to_x0"),
    "fill": ("SamplerConfig",),
    "io": ("ImageFormatError", "read_image", "read_mask", "write_image", "write_mask"),
    "patches": ("PatchSampler", "held_out_box"),
    "sampling": ("repaint_schedule", "sample_ddim", "sample_ddpm", "sample_repaint", "strided_timesteps"),
    "schedule": ("NoiseSchedule", "posterior", "q_jump", "q_sample"),
    "unet": ("ModelConfig", "UNet"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted([*_MODULE_OF, "shipped"])


PUBLIC_MODULES = ("baselines", "budget", "checkpoint", "compare", "config", "diffusion", "dpm_solver", "evaluate", "extend",
                  "fill", "guide", "inference", "io", "mask_sets", "masks", "metrics", "patches", "prior", "regression",
                  "record", "report", "restore", "sampling", "schedule", "shipped", "tile", "train", "unet", "windows")
"""The library's modules, which ``inpaint.<name>`` reaches without an import statement; their names without a
leading underscore are the library's interface."""
INTERNAL_MODULES = ("atomic", "image_files", "memory", "orientation", "perceptual", "precision", "shards", "cli")
"""Modules that serve the ones above and the command line (:mod:`inpaint.cli`, the application); their names may
change without notice."""


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
    elif name in PUBLIC_MODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'inpaint' has no attribute {name!r}")
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULE_OF, *PUBLIC_MODULES})
