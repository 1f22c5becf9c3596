"""The window planner: fill the holes of an image of any size on windows around them, with bounded memory.

The fill never runs on the whole frame: each connected component of the hole
gets its bounding box grown by a margin of context, windows that overlap are
merged while the merged window stays small, and window sides are rounded to
multiples of 8 (:func:`plan_windows`).  Windows of the same size go through
the network together (:func:`window_batches`); later windows see the pixels
that earlier ones filled as known (:func:`fill_windows`).  Memory therefore
follows the windows (the hole area), not the image area; only the image itself
and the output are full frames.  ``inpaint fill``, ``inpaint restore`` and the
page all fill through :func:`fill_windows`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import Tensor, nn

from .config import TrainConfig
from .fill import SamplerConfig, fill, sampler_plan
from .masks import check_known
from .memory import release_freed_memory
from .patches import Box
from .sampling import Progress

__all__ = ["BATCH_PIXELS", "MARGIN", "MAX_SIDE", "Window", "fill_windows", "hole_map", "plan_windows",
           "window_batches"]

MARGIN = 32
"""Pixels of context kept around each hole's bounding box."""
MAX_SIDE = 128
"""Overlapping windows merge while the merged window's longer side stays within this."""
BATCH_PIXELS = 2**18
"""Window pixels per network call (samples included): bounds the activations' memory."""


def hole_map(known: Tensor) -> Tensor:
    """(H, W) bool, True in the hole, from ``known`` (1, 1, H, W) or (H, W)."""
    if isinstance(known, Tensor) and known.ndim == 2:  # one image's mask, (H, W)
        known = known[None, None]
    check_known(known)
    if known.shape[0] != 1:
        raise ValueError(f"known must be one image's mask, (1, 1, H, W) or (H, W); got {tuple(known.shape)}")
    return ~known[0, 0].cpu()


@dataclass(frozen=True)
class Window:
    """A region the fill runs on.

    Attributes
    ----------
    box : Box
        The window: holes plus context, sides multiples of 8 (or the image's side).
    parts : tuple of Box
        Bounding boxes of the hole components this window fills; its hole pixels
        inside them are pasted back (those still unfilled when its turn comes).
    """

    box: Box
    parts: tuple[Box, ...]


def _round_span(lo: int, hi: int, n: int, multiple: int) -> tuple[int, int]:
    """Grow [lo, hi) about its centre to a multiple of ``multiple``, shifted inside [0, n).

    When the rounded span does not fit, the whole axis [0, n) is used.
    """
    size = -(-(hi - lo) // multiple) * multiple
    if size >= n:
        return 0, n
    start = min(max(lo - (size - (hi - lo)) // 2, 0), n - size)
    return start, start + size


def _window_box(parts: Sequence[Box], H: int, W: int, margin: int, multiple: int) -> Box:
    top = min(p.top for p in parts)
    left = min(p.left for p in parts)
    bottom = max(p.top + p.height for p in parts)
    right = max(p.left + p.width for p in parts)
    t, b = _round_span(max(0, top - margin), min(H, bottom + margin), H, multiple)
    l, r = _round_span(max(0, left - margin), min(W, right + margin), W, multiple)
    return Box(t, l, b - t, r - l)


def _overlap(a: Box, b: Box) -> bool:
    rows = a.top < b.top + b.height and b.top < a.top + a.height
    return rows and a.left < b.left + b.width and b.left < a.left + a.width


def plan_windows(known: Tensor, *, margin: int = MARGIN, multiple: int = 8, max_side: int = MAX_SIDE) -> list[Window]:
    """Windows around the holes: a pure function of the mask.

    Each 8-connected component of the hole (found with OpenCV, which wants
    1 = hole: the mask is inverted for that call) gives its bounding box grown
    by ``margin`` and rounded to a multiple of ``multiple`` inside the image.
    Two windows that overlap are merged into one around both, unless the merged
    window's longer side would exceed ``max_side``: merging without a bound
    chains scattered holes into one window the size of the image.  Windows left
    overlapping are filled one after the other (see :func:`fill_windows`).

    Parameters
    ----------
    known : Tensor (1, 1, H, W) or (H, W) bool
        True at known pixels.

    Returns
    -------
    list of Window, covering every hole pixel by some window's ``parts``; each
    ``box`` lies inside the image and has sides that are multiples of
    ``multiple`` (or equal to the image's side when rounding up would not fit).
    """
    hole = hole_map(known).numpy().astype(np.uint8)
    H, W = hole.shape
    if margin < 0 or multiple < 1:
        raise ValueError(f"margin must be >= 0 and multiple >= 1, got {margin} and {multiple}")
    _, _, stats, _ = cv2.connectedComponentsWithStats(hole, connectivity=8)
    cell = max(max_side, multiple)
    grid: dict[tuple[int, int], set[int]] = {}
    settled: dict[int, Window] = {}

    def cells(b: Box):
        return [(i, j) for i in range(b.top // cell, (b.top + b.height - 1) // cell + 1)
                for j in range(b.left // cell, (b.left + b.width - 1) // cell + 1)]

    for k, (x, y, w, h, _) in enumerate(stats[1:]):
        parts = (Box(int(y), int(x), int(h), int(w)),)
        box = _window_box(parts, H, W, margin, multiple)
        while (hit := _mergeable(box, parts, settled, {i for c in cells(box) for i in grid.get(c, ())},
                                 H, W, margin, multiple, max_side)) is not None:
            other, parts, box = hit
            for c in cells(settled[other].box):
                grid[c].discard(other)
            del settled[other]
        settled[k] = Window(box, parts)
        for c in cells(box):
            grid.setdefault(c, set()).add(k)
    return [settled[k] for k in sorted(settled)]


def _mergeable(box, parts, settled, candidates, H, W, margin, multiple, max_side):
    """The first settled window overlapping ``box`` whose merge stays within ``max_side``."""
    for other in sorted(candidates):
        if _overlap(box, settled[other].box):
            merged_parts = settled[other].parts + parts
            merged = _window_box(merged_parts, H, W, margin, multiple)
            if max(merged.height, merged.width) <= max_side:
                return other, merged_parts, merged
    return None


def window_batches(
    windows: Sequence[Window], *, samples: int = 1, batch_pixels: int = BATCH_PIXELS
) -> list[list[Window]]:
    """Group windows into network calls: same size, no two overlapping, at most ``batch_pixels``.

    A window bigger than the budget goes alone.  Windows in one call do not see
    each other's fill, so overlapping ones go to different calls.
    """
    batches: list[list[Window]] = []
    by_size: dict[tuple[int, int], list[Window]] = {}
    for w in windows:
        by_size.setdefault((w.box.height, w.box.width), []).append(w)
    for (h, w), group in sorted(by_size.items()):
        room = max(1, batch_pixels // (h * w * samples))
        open_batches: list[list[Window]] = []
        for win in group:
            fits = (b for b in open_batches if len(b) < room and not any(_overlap(win.box, o.box) for o in b))
            target = next(fits, None)
            if target is None:
                target = []
                open_batches.append(target)
            target.append(win)
        batches.extend(open_batches)
    return batches


def _owned(window: Window, known_now: Tensor) -> Tensor:
    """(h, w) bool: the still-unfilled hole pixels of ``window.parts``, in window coordinates."""
    b = window.box
    own = torch.zeros(b.height, b.width, dtype=torch.bool)
    for p in window.parts:
        own[p.top - b.top : p.top - b.top + p.height, p.left - b.left : p.left - b.left + p.width] = True
    return own & ~known_now[b.slices()]


def fill_windows(
    model: nn.Module,
    config: TrainConfig,
    x_known: Tensor,
    known: Tensor,
    *,
    windows: Sequence[Window] | None = None,
    margin: int = MARGIN,
    max_side: int = MAX_SIDE,
    sampler: SamplerConfig = SamplerConfig(),
    samples: int = 1,
    generator: torch.Generator | None = None,
    progress: Progress | None = None,
    batch_pixels: int = BATCH_PIXELS,
    guide: Tensor | None = None,
) -> Tensor:
    """Fill the holes of a (large) image on windows around them, with bounded memory.

    Each batch of windows (:func:`window_batches`) is cut out of the current
    result, filled by :func:`inpaint.fill.fill` with the pixels inside the window
    that are known, or filled by an earlier batch, as conditioning, and only its
    own hole pixels are pasted back.  Freed memory is handed back to the system
    after every batch (:func:`release_freed_memory`), so the resident set follows
    the largest batch, not the number of windows.

    Parameters
    ----------
    model : UNet, trained for ``config.method``
    x_known : Tensor (1, C, H, W) in [-1, 1]
        Stays where it is (the CPU for a large image); windows move to the
        model's device.
    known : Tensor (1, 1, H, W) bool, True at known pixels
    windows : list of Window, optional
        Default :func:`plan_windows` of ``known`` with ``margin`` and ``max_side``.
    progress : callable (done, total), optional
        Network steps over all batches.
    guide : Tensor (1, C, H, W) in [-1, 1], optional
        A first fill of the whole image: each window's chain starts from its part
        (:func:`inpaint.fill.fill`'s ``guide``).  Default: each window's own guide,
        made by ``sampler.start`` from the pixels inside it.

    Returns
    -------
    Tensor (samples, 1, C, H, W) on ``x_known``'s device, equal to ``x_known`` at
    known pixels.
    """
    if x_known.ndim != 4 or x_known.shape[0] != 1:
        raise ValueError(f"x_known must have shape (1, C, H, W), got {tuple(x_known.shape)}")
    if hole_map(known).shape != x_known.shape[-2:]:
        raise ValueError(f"known {tuple(known.shape)} does not match the image {tuple(x_known.shape)}")
    if guide is not None and guide.shape != x_known.shape:
        raise ValueError(f"the guide is {tuple(guide.shape)}, the image {tuple(x_known.shape)}")
    if windows is None:
        windows = plan_windows(known, margin=margin, multiple=config.model.multiple, max_side=max_side)
    batches = window_batches(windows, samples=samples, batch_pixels=batch_pixels)
    steps = sampler_plan(config, sampler).ticks
    device = next(model.parameters()).device
    out = x_known.repeat(samples, 1, 1, 1)
    known_now = known.reshape(known.shape[-2:]).cpu().clone()
    for i, batch in enumerate(batches):
        owned = [_owned(w, known_now) for w in batch]
        batch = [w for w, o in zip(batch, owned) if o.any()]  # a window whose parts an earlier one filled
        owned = [o for o in owned if o.any()]
        if batch:
            xs = torch.cat([out[:, :, w.box.slices()[0], w.box.slices()[1]] for w in batch]).to(device)
            ks = torch.stack([known_now[w.box.slices()] for w in batch])[:, None]
            ks = ks.repeat_interleave(samples, 0).to(device)

            def report(done: int, total: int, i=i) -> None:
                if progress is not None:
                    progress(i * steps + done * steps // total, len(batches) * steps)

            gs = None if guide is None else torch.cat([guide[:, :, w.box.slices()[0], w.box.slices()[1]]
                                                       for w in batch]).repeat_interleave(samples, 0).to(device)
            filled = fill(model, config, xs, ks, sampler=sampler, generator=generator, progress=report,
                          guide=gs)[0]
            _paste_owned(out, filled.to(out.device), batch, owned, samples)
            for w, o in zip(batch, owned):
                known_now[w.box.slices()] |= o
        release_freed_memory()
        if progress is not None:
            progress((i + 1) * steps, len(batches) * steps)
    return out[:, None]


def _paste_owned(out: Tensor, filled: Tensor, batch: Sequence[Window], owned: Sequence[Tensor], samples: int) -> None:
    """Write each window's owned pixels of ``filled`` (n * samples, C, h, w) into ``out`` (samples, C, H, W)."""
    for j, (w, own) in enumerate(zip(batch, owned)):
        rows, cols = w.box.slices()
        region = out[:, :, rows, cols]
        out[:, :, rows, cols] = torch.where(own.to(out.device), filled[j * samples : (j + 1) * samples], region)
