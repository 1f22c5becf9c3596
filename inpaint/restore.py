"""Restoring a damaged image from its own pixels: train on it, then fill its holes window by window.

Internal learning (Cherel et al., EUSIPCO 2024) needs no other image: the model
is trained on random crops of the damaged image itself, then fills its holes.

- The conditional methods (regression, diffusion) train on crops anywhere in the
  image, holes included: hole pixels are zeroed in every input and left out of
  the loss (``train(..., exclude=all False, valid=~hole)``), so the model learns
  only from pixels that exist.
- The unconditional RePaint model cannot be told which pixels are missing: it
  would learn the zeros of the hole as texture.  Its crops must avoid the hole
  entirely (``exclude=hole``), so it needs hole-free ``crop x crop`` squares.

The fill runs on windows around the holes, never on the whole frame: each
connected component of the hole gets its bounding box grown by a margin of
context, windows that overlap are merged while the merged window stays small,
and window sides are rounded to multiples of 8.  Windows of the same size go
through the network together; later windows see the pixels that earlier ones
filled as known.  Memory therefore follows the windows (the hole area), not the
image area; only the image itself and the output are full frames.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import Tensor, nn

from .checkpoint import Checkpoint
from .config import TrainConfig
from .diffusion import DiffusionConfig
from .fill import REPAINT_SAMPLER, SamplerConfig, fill
from .masks import check_known
from .patches import Box, valid_offsets
from .sampling import Progress, repaint_schedule
from .train import StepCallback, train
from .unet import LEARNED_METHODS, ModelConfig

__all__ = [
    "BATCH_PIXELS", "DEFAULT_SAMPLE_STEPS", "DEFAULT_TRAIN_STEPS", "MARGIN", "MAX_SIDE", "Window", "check_restore",
    "fill_windows", "plan_windows", "release_freed_memory", "restore", "restore_config", "train_restorer",
    "window_batches",
]

DEFAULT_TRAIN_STEPS = 2000
"""Batch 16 of 64x64 crops: 3.2 to 3.4 minutes for diffusion on one thread of a CPU with bfloat16 (the other
core busy).

Measured on data/cork.png with 6% of it in holes, the default sampler over
250 steps (experiments/results/restore_quality/, two seeds): with the default
cosine schedule at T = 400, PSNR 25.2 and 25.6 dB on the holes, a little
grainier than the original (Laplacian energy 2.4x and 1.8x); the reference's
linear schedule at T = 1000 gives 24.6 and 25.2 dB, 3.8x and 2.9x.
"""
DEFAULT_SAMPLE_STEPS = REPAINT_SAMPLER.steps
"""Steps of the fill, whatever the method: RePaint's default count (:data:`inpaint.fill.REPAINT_SAMPLER`), also
given to the default sampler of the conditional models (:data:`inpaint.fill.DEFAULT_SAMPLER`), as in the restore
quality study."""
MARGIN = 32
"""Pixels of context kept around each hole's bounding box."""
MAX_SIDE = 128
"""Overlapping windows merge while the merged window's longer side stays within this."""
BATCH_PIXELS = 2**18
"""Window pixels per network call (samples included): bounds the activations' memory."""


def restore_config(
    channels: int,
    *,
    method: str = "diffusion",
    steps: int = DEFAULT_TRAIN_STEPS,
    crop: int = TrainConfig.crop,
    batch: int = TrainConfig.batch,
    seed: int = TrainConfig.seed,
    prediction: str = DiffusionConfig.prediction,
    width: int = ModelConfig.width,
    timesteps: int = DiffusionConfig.timesteps,
) -> TrainConfig:
    """The training config of :func:`restore`: the default diffusion recipe (eps, cosine, T = 400).

    Parameters
    ----------
    channels : int
        Channels of the image (or of the whole stack).
    method : {'regression', 'diffusion', 'repaint'}
    width : int
        Channels of the U-Net levels (32 as in the reference; small values for tests).
    """
    if method not in LEARNED_METHODS:
        raise ValueError(f"method must be one of {', '.join(LEARNED_METHODS)}; got {method!r}")
    return TrainConfig(
        model=ModelConfig(method=method, image_channels=channels, width=width),
        diffusion=DiffusionConfig(prediction=prediction, timesteps=timesteps),
        crop=crop, batch=batch, steps=steps, seed=seed,
    )


def _hole_map(known: Tensor) -> Tensor:
    """(H, W) bool, True in the hole, from ``known`` (1, 1, H, W) or (H, W)."""
    if isinstance(known, Tensor) and known.ndim == 2:  # one image's mask, (H, W)
        known = known[None, None]
    check_known(known)
    if known.shape[0] != 1:
        raise ValueError(f"known must be one image's mask, (1, 1, H, W) or (H, W); got {tuple(known.shape)}")
    return ~known[0, 0].cpu()


def check_restore(image: Tensor, known: Tensor, config: TrainConfig) -> None:
    """Raise ``ValueError`` with an actionable message unless :func:`restore` can run.

    Everything is checked before any training: sizes, a hole that is neither empty
    nor everything, an image at least one crop large, and for RePaint a crop that
    avoids the hole.
    """
    hole = _check_fill_inputs(image, known, config)
    H, W = image.shape[-2:]
    m, crop = config.model.multiple, config.crop
    if min(H, W) < crop:
        largest = min(H, W) // m * m
        hint = f"pass a crop of at most {largest} (a multiple of {m})" if largest else f"it must be at least {m}x{m}"
        raise ValueError(f"the image is {H}x{W}, smaller than the {crop}x{crop} training crop; {hint}")
    if config.method == "repaint" and not valid_offsets(H, W, crop, hole).any():
        raise ValueError(
            f"no {crop}x{crop} crop of this {H}x{W} image avoids the hole, and the unconditional repaint "
            "model can only learn from hole-free crops; pass a smaller crop or use the diffusion method")


def _check_fill_inputs(image: Tensor, known: Tensor, config: TrainConfig) -> Tensor:
    """Shapes, a hole that is neither empty nor everything, channels; returns the (H, W) hole map."""
    if image.ndim != 4 or image.shape[0] != 1:
        raise ValueError(f"image must have shape (1, C, H, W), got {tuple(image.shape)}")
    hole = _hole_map(known)
    H, W = image.shape[-2:]
    if hole.shape != (H, W):
        raise ValueError(f"the mask is {tuple(hole.shape)} (height, width) but the image is {(H, W)}")
    if not hole.any():
        raise ValueError("the mask has no hole: nothing to restore (white marks the hole)")
    if hole.all():
        raise ValueError("the mask is all hole: nothing is known to learn from (black marks known pixels)")
    if image.shape[1] != config.model.image_channels:
        raise ValueError(f"the image has {image.shape[1]} channels, the model {config.model.image_channels}")
    return hole


def train_restorer(
    image: Tensor,
    known: Tensor,
    config: TrainConfig,
    *,
    device: str | torch.device = "cpu",
    on_step: StepCallback | None = None,
    out=None,
    name: str = "image",
    minutes: float | None = None,
    init: Checkpoint | None = None,
) -> Checkpoint:
    """Train ``config.method`` on crops of the damaged ``image`` itself.

    Conditional methods: crops go anywhere; hole pixels are zeroed in the inputs
    and x_t and left out of the loss (``valid = ~hole``).  RePaint: crops avoid the
    hole (``exclude = hole``), since an unconditional model cannot be told which
    pixels are missing.

    Parameters
    ----------
    image : Tensor (1, C, H, W) in [-1, 1]
    known : Tensor (1, 1, H, W) bool, True at known pixels
    out : path, optional
        Where :func:`inpaint.train.train` saves the checkpoint (every 500 steps,
        at the end, and on interrupt).
    minutes : float, optional
        A wall-clock budget instead of ``config.steps`` (see :func:`inpaint.train.train`).
    init : Checkpoint, optional
        Fine-tune these weights, e.g. the shipped prior (:func:`inpaint.prior.load_init`).
    """
    check_restore(image, known, config)
    hole = _hole_map(known)
    if config.model.conditional:
        exclude, valid = torch.zeros_like(hole), ~hole
    else:
        exclude, valid = hole, None
    return train(image, config, device=device, on_step=on_step, out=out, name=name, exclude=exclude, valid=valid,
                 minutes=minutes, init=init)


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
    hole = _hole_map(known).numpy().astype(np.uint8)
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

    Returns
    -------
    Tensor (samples, 1, C, H, W) on ``x_known``'s device, equal to ``x_known`` at
    known pixels.
    """
    if x_known.ndim != 4 or x_known.shape[0] != 1:
        raise ValueError(f"x_known must have shape (1, C, H, W), got {tuple(x_known.shape)}")
    if _hole_map(known).shape != x_known.shape[-2:]:
        raise ValueError(f"known {tuple(known.shape)} does not match the image {tuple(x_known.shape)}")
    if windows is None:
        windows = plan_windows(known, margin=margin, multiple=config.model.multiple, max_side=max_side)
    batches = window_batches(windows, samples=samples, batch_pixels=batch_pixels)
    steps = _sampler_moves(config, sampler)
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

            filled = fill(model, config, xs, ks, sampler=sampler, generator=generator, progress=report)[0]
            _paste(out, filled.to(out.device), batch, owned, samples)
            for w, o in zip(batch, owned):
                known_now[w.box.slices()] |= o
        release_freed_memory()
        if progress is not None:
            progress((i + 1) * steps, len(batches) * steps)
    return out[:, None]


@functools.cache
def _malloc_trim():
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c")), "malloc_trim", None)
    except (OSError, TypeError):
        return None


def release_freed_memory() -> None:
    """Give freed heap memory back to the system (glibc's ``malloc_trim``; a no-op elsewhere).

    glibc keeps the memory of freed tensors for reuse, so batches of many window
    shapes would leave the resident set growing with the number of distinct shapes
    (measured on 4096x4096 with 5% scattered holes: 981 MiB of working memory
    without, 475 MiB with; see experiments/results/restore_benchmark.md).  One
    call per batch costs a few milliseconds.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _paste(out: Tensor, filled: Tensor, batch: Sequence[Window], owned: Sequence[Tensor], samples: int) -> None:
    """Write each window's owned pixels of ``filled`` (n * samples, C, h, w) into ``out`` (samples, C, H, W)."""
    for j, (w, own) in enumerate(zip(batch, owned)):
        rows, cols = w.box.slices()
        region = out[:, :, rows, cols]
        out[:, :, rows, cols] = torch.where(own.to(out.device), filled[j * samples : (j + 1) * samples], region)


def _sampler_moves(config: TrainConfig, sampler: SamplerConfig) -> int:
    """Progress ticks of one fill: its network calls, plus RePaint's forward jumps; raises ValueError for a
    sampler the model cannot run."""
    if config.method == "regression":
        return 1
    sampler = sampler.resolved(config.method, unconditional=config.unconditional)
    ts = sampler.timesteps(config.diffusion.noise_schedule())
    if sampler.sampler == "repaint":
        return len(repaint_schedule(len(ts), sampler.jump_length, sampler.jump_n_sample)) - 1
    if sampler.sampler == "pc":
        return len(ts) + sampler.corrector_steps * (len(ts) - 1)
    return len(ts)


def restore(
    image: Tensor,
    known: Tensor,
    config: TrainConfig,
    *,
    sampler: SamplerConfig = SamplerConfig(steps=DEFAULT_SAMPLE_STEPS),
    samples: int = 1,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
    margin: int = MARGIN,
    on_step: StepCallback | None = None,
    progress: Progress | None = None,
    checkpoint_path=None,
    name: str = "image",
    minutes: float | None = None,
    trained: Checkpoint | None = None,
    init: Checkpoint | None = None,
) -> tuple[Tensor, Checkpoint]:
    """Restore a damaged image from its own pixels: :func:`train_restorer`, then :func:`fill_windows`.

    Parameters
    ----------
    image : Tensor (1, C, H, W) in [-1, 1]
        The damaged image (any values in the hole, NaN included).
    known : Tensor (1, 1, H, W) bool
        True at known pixels, False in the hole.
    config : TrainConfig
        Usually :func:`restore_config`.
    sampler : SamplerConfig
        Default: the default sampler of :func:`inpaint.fill.fill` (RePaint for a repaint model)
        with ``DEFAULT_SAMPLE_STEPS`` steps.
    generator : torch.Generator, optional
        Noise of the fill (on ``device``); training draws from ``config.seed``.
    checkpoint_path : path, optional
        Keep the trained model there.
    minutes : float, optional
        Train for this many minutes of wall time instead of ``config.steps``
        (see :func:`inpaint.train.train`).
    trained : Checkpoint, optional
        A model trained before (e.g. by an earlier restore of the same image):
        no training, ``config`` is ignored and the fill uses ``trained``.
    init : Checkpoint, optional
        Training fine-tunes these weights (the shipped prior:
        ``inpaint.prior.load_init("prior")``) instead of starting from scratch.

    Returns
    -------
    restored : Tensor (samples, 1, C, H, W), equal to ``image`` at known pixels.
    checkpoint : Checkpoint

    Examples
    --------
    >>> image = torch.rand(1, 3, 48, 64) * 2 - 1
    >>> known = torch.ones(1, 1, 48, 64, dtype=torch.bool); known[..., 20:28, 30:40] = False
    >>> config = restore_config(3, steps=2, crop=32, batch=2, width=8, timesteps=10)
    >>> out, _ = restore(image, known, config, sampler=SamplerConfig(steps=2))
    >>> out.shape, bool((out[0][known.expand_as(image)] == image[known.expand_as(image)]).all())
    (torch.Size([1, 1, 3, 48, 64]), True)
    """
    if trained is not None:
        config = trained.config
        _check_fill_inputs(image, known, config)
    else:
        check_restore(image, known, config)
    _sampler_moves(config, sampler)  # a bad sampler fails now, not after training
    image = image.masked_fill(~known.to(image.device), 0.0)  # NaN in the hole would survive the zeroing x * 0
    if trained is not None:
        ckpt = trained
    else:
        ckpt = train_restorer(image, known, config, device=device, on_step=on_step, out=checkpoint_path, name=name,
                              minutes=minutes, init=init)
    model = ckpt.network(device=device)
    restored = fill_windows(model, ckpt.config, image, known, margin=margin, sampler=sampler, samples=samples,
                            generator=generator, progress=progress)
    return restored, ckpt
