"""Evaluation sets: held-out crops of a texture and the holes every method will fill.

A texture's held-out strip (see :func:`inpaint.patches.held_out_box`) is cut
into non-overlapping crops; every method fills the same masked crops, and
metrics are computed where the mask says the hole is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import Tensor

from ..mask_sets import load_mask_set
from ..masks import training_masks
from ..patches import grid_crops, held_out_box

METRICS = ("psnr", "ssim", "lpips", "sharpness", "blur_effect", "tone", "detail", "colour", "patch_swd")


@dataclass(frozen=True)
class EvalSet:
    """Ground-truth crops and their holes, shared by every method."""

    truth: Tensor  # (N, C, h, w)
    known: Tensor  # (N, 1, h, w) bool

    @property
    def masked(self) -> Tensor:
        """The input every method receives: the truth with the hole zeroed."""
        return self.truth * self.known


def held_out_eval_set(
    image: Tensor, *, crop: int, count: int, held_out: float = 0.25, masks: str = "box", seed: int = 0
) -> EvalSet:
    """Crops of the held-out strip with fresh holes of the ``masks`` families drawn from ``seed``.

    For quick looks (training previews); comparisons use the fixed sets of ``masks/`` through :func:`eval_set`.
    """
    known = training_masks(count, crop, crop, generator=torch.Generator().manual_seed(seed), families=masks)
    return eval_set(image, known, crops=count, held_out=held_out)[0]


def eval_set(
    image: Tensor, masks: Tensor, *, crops: int | None = None, held_out: float = 0.25
) -> tuple[EvalSet, list[int]]:
    """Held-out crops of ``image`` paired with ``masks``: crop i with mask ``i % len(masks)``.

    Parameters
    ----------
    image : Tensor, shape (1, C, H, W), in [-1, 1]
    masks : Tensor of bool, shape (M, 1, s, s), True = known; s is the crop size
    crops : int, optional, cap on the number of crops (default: all that fit)

    Returns
    -------
    EvalSet of N crops, and the index of each crop's mask.
    """
    size = masks.shape[-1]
    box = held_out_box(image.shape[-2], image.shape[-1], held_out)
    truth = grid_crops(image, box, size, crops if crops is not None else box.height * box.width)
    ids = [i % len(masks) for i in range(len(truth))]
    return EvalSet(truth, masks[ids]), ids


def load_eval_set(image: Tensor, masks: str | os.PathLike, *, crops: int | None = None,
                  held_out: float = 0.25) -> tuple[EvalSet, list[int], dict]:
    """:func:`eval_set` with the holes of a fixed mask set (a folder, or a shipped set's name such as ``thick-64``).

    Returns the evaluation set, each crop's mask index and the set's manifest.
    """
    known, manifest = load_mask_set(masks)
    data, ids = eval_set(image, known, crops=crops, held_out=held_out)
    return data, ids, manifest
