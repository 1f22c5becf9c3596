"""inpaint: fill holes in textures and restore damaged images with small models trained on one image.

The library in one screen::

    import torch, inpaint

    image, _ = inpaint.read_image("data/cork.png")                # (1, C, H, W) in [-1, 1]
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
:mod:`~inpaint.io`, :mod:`~inpaint.evaluate`.
"""

from .checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .diffusion import DiffusionConfig, make_denoiser, to_eps, to_x0
from .fill import SamplerConfig, fill
from .io import ImageFormatError, read_image, read_mask, write_image, write_mask
from .patches import PatchSampler, held_out_box
from .sampling import repaint_schedule, sample_ddim, sample_ddpm, sample_repaint, strided_timesteps
from .schedule import NoiseSchedule, posterior, q_jump, q_sample
from .train import train
from .unet import ModelConfig, UNet

__version__ = "0.1.0"

__all__ = [
    "Checkpoint", "CheckpointError", "DiffusionConfig", "ImageFormatError", "ModelConfig", "NoiseSchedule",
    "PatchSampler", "SamplerConfig", "TrainConfig", "UNet", "fill", "held_out_box", "load_checkpoint",
    "make_denoiser", "posterior", "q_jump", "q_sample", "read_image", "read_mask", "repaint_schedule",
    "sample_ddim", "sample_ddpm", "sample_repaint", "save_checkpoint", "strided_timesteps", "to_eps", "to_x0",
    "train", "write_image", "write_mask",
]
