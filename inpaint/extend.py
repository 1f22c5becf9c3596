"""Larger textures: grow an image to a larger size by outpainting, cell by cell, with a model of the texture.

The image sits in the top-left corner of the larger canvas; the rest is cut into square cells, filled in
reading order, each on a window around it (:func:`inpaint.windows.plan_windows`) that holds what is known so
far: the image and the cells filled before it.  So every new cell continues pixels that exist, and the
model's receptive field, not the canvas, bounds what one step must invent.  The image's pixels stay exact.

A guided sampler (the default: SDEdit from PatchMatch's fill, :data:`inpaint.fill.DEFAULT_SAMPLER`) starts
every cell from one first fill of the whole canvas, made at once from the image's own patches, rather than
from a fill of the cell's window, whose known pixels far from the image are earlier cells: a guide made
there copies what the model drew, and the canvas drifts from the texture as it grows.  The chain, noised to
the sampler's strength, redraws the guide's detail, so the output keeps the texture's patch statistics
without the guide's copied patches; its large layout stays the guide's (experiments/results/extend/).
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor, nn

from .config import TrainConfig
from .fill import SamplerConfig
from .guide import make_guide
from .patches import Box
from .sampling import Progress
from .windows import MARGIN, fill_windows, plan_windows

__all__ = ["DEFAULT_CELL", "extend", "extension_cells", "source_known"]

DEFAULT_CELL = 64
"""Side in pixels of the cells the canvas is grown by."""


def extension_cells(height: int, width: int, new_height: int, new_width: int, cell: int = DEFAULT_CELL) -> list[Box]:
    """The cells that grow an image of ``height`` x ``width`` into ``new_height`` x ``new_width``, in reading
    order, each clipped to the canvas and holding at least one new pixel.

    Examples
    --------
    >>> [(b.top, b.left, b.height, b.width) for b in extension_cells(4, 4, 6, 8, cell=4)]
    [(0, 4, 4, 4), (4, 0, 2, 4), (4, 4, 2, 4)]
    """
    if new_height < height or new_width < width:
        raise ValueError(f"the new size {new_width}x{new_height} is smaller than the image's {width}x{height}")
    if cell < 1:
        raise ValueError(f"the cell must be at least 1 pixel, got {cell}")
    cells = []
    for top in range(0, new_height, cell):
        for left in range(0, new_width, cell):
            h, w = min(cell, new_height - top), min(cell, new_width - left)
            if top + h > height or left + w > width:
                cells.append(Box(top, left, h, w))
    return cells


def source_known(height: int, width: int, new_height: int, new_width: int) -> Tensor:
    """The ``known`` map (1, 1, new_height, new_width) of an image grown by :func:`extend`: True on the image,
    top left, False on the pixels it draws."""
    known = torch.zeros(1, 1, new_height, new_width, dtype=torch.bool)
    known[..., :height, :width] = True
    return known


def extend(model: nn.Module, config: TrainConfig, image: Tensor, new_height: int, new_width: int, *,
           cell: int = DEFAULT_CELL, margin: int = MARGIN, sampler: SamplerConfig = SamplerConfig(),
           guide: Tensor | None = None, generator: torch.Generator | None = None,
           progress: Progress | None = None) -> Tensor:
    """``image`` (1, C, H, W) in [-1, 1] grown to (1, C, new_height, new_width) by the ``config`` model, its
    own pixels exact in the top-left corner.

    ``guide`` (1, C, new_height, new_width) is a first fill of the canvas that every cell's chain starts
    from, noised to ``sampler``'s strength; default, for a guided sampler, ``sampler.start``'s fill of the
    whole canvas (:func:`inpaint.guide.make_guide`), made once before the first cell."""
    if image.ndim != 4 or image.shape[0] != 1:
        raise ValueError(f"image must have shape (1, C, H, W), got {tuple(image.shape)}")
    H, W = image.shape[-2:]
    cells = extension_cells(H, W, new_height, new_width, cell)
    canvas = image.new_zeros(1, image.shape[1], new_height, new_width)
    canvas[..., :H, :W] = image
    known = source_known(H, W, new_height, new_width)
    if config.method != "regression":
        sampler = sampler.resolved(config.method, unconditional=config.unconditional)
        if guide is None and sampler.start != "noise":
            guide = make_guide(sampler.start, canvas, known)
        if guide is not None:  # the cells start from this guide, not from one of their own
            sampler = replace(sampler, start="noise")
    for i, box in enumerate(cells):
        only = torch.ones_like(known)
        only[..., box.top:box.top + box.height, box.left:box.left + box.width] = False
        windows = plan_windows(only, margin=margin, multiple=config.model.multiple)
        canvas = fill_windows(model, config, canvas, known, windows=windows, sampler=sampler, guide=guide,
                              generator=generator)[0]
        known[..., box.top:box.top + box.height, box.left:box.left + box.width] = True
        if progress is not None:
            progress(i + 1, len(cells))
    return canvas
