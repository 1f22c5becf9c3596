"""The fills ``inpaint serve`` offers, each a call into the library: baselines, a shipped model, restore.

=============  ===============================================================  =======
method         library call                                                     speed
=============  ===============================================================  =======
``patchmatch`` :func:`inpaint.baselines.patchmatch`                             instant
``telea``      :func:`inpaint.baselines.telea`                                  instant
``ns``         :func:`inpaint.baselines.ns`                                     instant
``model``      :func:`inpaint.windows.fill_windows` with a shipped checkpoint   seconds
``restore``    :func:`inpaint.restore.restore` (trains on the image itself)     minutes
=============  ===============================================================  =======

and two texture actions on the whole image (:class:`TextureRequest`): ``tile``
(:func:`inpaint.tile.make_tileable`) and ``extend`` (:func:`inpaint.extend.extend`), with a shipped or
given model (the texture prior by default), or one fine-tuned on the image for a few minutes.

An image with alpha (grey + alpha, RGBA) is filled on its colour channels and
gets its alpha back with :func:`inpaint.io.join_alpha` (opaque in the filled
hole). A grey image filled by an RGB model goes in as three equal channels and
comes back as their mean. Every result equals the input at known pixels.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import torch
from torch import Tensor

from ..fill import DEFAULT_SAMPLER, SamplerConfig, sampler_plan
from ..prior import PRIOR, load_init
from ..train import check_init
from .server_jobs import Report

__all__ = ["INSTANT", "METHODS", "ACTIONS", "FillRequest", "TextureRequest", "check_request", "run_request",
           "check_texture_request", "run_texture_request"]

INSTANT = ("patchmatch", "telea", "ns")
METHODS = (*INSTANT, "model", "restore")
INITS = ("scratch", PRIOR)
ACTIONS = ("tile", "extend")
MAX_SIDE = 4096
"""The largest side ``extend`` grows an image to on the page."""


@dataclass(frozen=True)
class FillRequest:
    """What the page asks for.

    Parameters
    ----------
    method : one of :data:`METHODS`
    model : str
        A shipped model name (``cork``, ``cork/regression``, ``prior``, ...) for ``method='model'``;
        never a path: the page cannot name server files.
    steps : int or None
        Sampling steps (``model``: default the default sampler's; ``restore``: the library's default).
    seed : int
        Seed of the sampling noise and of restore's training.
    minutes : float or None
        ``restore``: the training budget in minutes; ``train_steps`` instead when None.
    train_steps : int or None
        ``restore``: a step count instead of a time budget.
    crop, batch : int
        ``restore``: side of the square training crops (a multiple of 8) and crops per step.
    init : {'scratch', 'prior'}
        ``restore``: train from scratch or fine-tune the shipped texture prior (RGB images).
    model_file, device : str
        Set by the server, never by the page: the checkpoint file of a model given to ``serve --checkpoint``
        (``model`` is then its name), and where models run (``serve --device``).
    """

    method: str
    model: str = "cork"
    steps: int | None = None
    seed: int = 0
    minutes: float | None = 1.0
    train_steps: int | None = None
    crop: int = 64
    batch: int = 16
    init: str = "scratch"
    model_file: str | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}; got {self.method!r}")
        if self.steps is not None and not 1 <= self.steps <= 1000:
            raise ValueError(f"steps must be between 1 and 1000, got {self.steps}")
        if self.method == "restore":
            if self.minutes is None and self.train_steps is None:
                raise ValueError("restore needs a training budget: minutes, or train_steps")
            if self.minutes is not None and not 0 < self.minutes <= 120:
                raise ValueError(f"minutes must be more than 0 and at most 120, got {self.minutes}")
            if self.train_steps is not None and not 1 <= self.train_steps <= 100_000:
                raise ValueError(f"train_steps must be between 1 and 100000, got {self.train_steps}")
            if self.crop < 8 or self.crop % 8:
                raise ValueError(f"crop must be a multiple of 8 (at least 8), got {self.crop}")
            if not 1 <= self.batch <= 64:
                raise ValueError(f"batch must be between 1 and 64, got {self.batch}")
            if self.init not in INITS:
                raise ValueError(f"init must be one of {', '.join(INITS)}; got {self.init!r}")

    @property
    def label(self) -> str:
        """A short name for the page: ``patchmatch``, ``cork (25 steps)``, ``restore (1 min)``."""
        if self.method == "model":
            return self.model + (f" ({self.steps} steps)" if self.steps else "")
        if self.method == "restore":
            budget = f"{self.minutes:g} min" if self.minutes is not None else f"{self.train_steps} steps"
            return f"restore ({budget}{', prior' if self.init == 'prior' else ''})"
        return self.method


@functools.lru_cache(maxsize=4)
def _model(name: str, file: str | None = None, device: str = "cpu"):
    """(checkpoint, network on ``device``) of a shipped model, or of the user's ``file``, loaded once."""
    from ..checkpoint import load_checkpoint
    from ..shipped import checkpoint

    ckpt = load_checkpoint(file or checkpoint(name))  # a ValueError lists the shipped names
    return ckpt, ckpt.network(device=device)


def _colour(image: Tensor, channels: int) -> Tensor:
    """The channels that are filled: all but alpha (the last of grey + alpha and RGBA)."""
    return image[:, :-1] if channels in (2, 4) else image


def _restore_config(request: FillRequest, channels: int):
    from ..restore import DEFAULT_TRAIN_STEPS, restore_config

    return restore_config(channels, steps=request.train_steps or DEFAULT_TRAIN_STEPS, crop=request.crop,
                          batch=request.batch, seed=request.seed)


def check_request(request: FillRequest, image: Tensor, channels: int, known: Tensor) -> None:
    """Raise ``ValueError`` with a message for the page unless ``request`` can run on this image and hole.

    Cheap checks only (no training, no sampling), so that the server answers 400 before a job starts.
    """
    if bool(known.all()):
        raise ValueError("the mask has no hole: paint the hole (or load a mask, white = hole) before filling")
    if not bool(known.any()):
        raise ValueError("the mask is all hole: nothing is known to fill from")
    colour = _colour(image, channels)
    if request.method in INSTANT and colour.shape[1] not in (1, 3):
        raise ValueError(f"{request.method} fills grey or RGB images; this one has {colour.shape[1]} colour channels")
    if request.method == "patchmatch":
        from ..baselines import patchmatch_module

        try:
            patchmatch_module()
        except RuntimeError as exc:  # the optional package is missing: a message for the page, not a bug
            raise ValueError(str(exc)) from None
    if request.method == "model":
        ckpt, _ = _model(request.model, request.model_file, request.device)
        want = ckpt.config.model.image_channels
        if not _fits(ckpt, colour.shape[1]):
            raise ValueError(f"the model {request.model} fills {want}-channel images; this one has "
                             f"{colour.shape[1]} colour channels")
        sampler_plan(ckpt.config, SamplerConfig(steps=request.steps))
    if request.method == "restore":
        from ..restore import check_restore

        config = _restore_config(request, colour.shape[1])
        check_restore(colour, known, config)
        if request.init == PRIOR:
            try:
                check_init(config, load_init(PRIOR))
            except ValueError as exc:
                raise ValueError(f"{exc}: train this image from scratch instead") from None


def run_request(request: FillRequest, image: Tensor, channels: int, known: Tensor, report: Report) -> Tensor:
    """Fill ``image`` (1, C, H, W) in [-1, 1] where ``known`` (1, 1, H, W) is False; returns (1, C, H, W).

    ``channels`` is the image's channel count as read (alpha included). ``report(phase, done, total)``
    is called as the work goes on; it may raise to cancel.
    """
    check_request(request, image, channels, known)
    colour = _colour(image, channels)
    generator = torch.Generator().manual_seed(request.seed)
    if request.method in INSTANT:
        from ..baselines import BASELINES

        report("filling", 0, 1)
        filled = BASELINES[request.method](colour, known)
        report("filling", 1, 1)
    elif request.method == "model":
        filled = _fill_with_model(request, colour, known, generator, report)
    else:
        filled = _restore(request, colour, known, generator, report)
    filled = torch.where(known, colour, filled)
    if channels in (2, 4):
        from ..io import join_alpha

        filled = join_alpha(filled, image, known)
    return filled


def _fill_with_model(request: FillRequest, colour: Tensor, known: Tensor, generator, report: Report) -> Tensor:
    from ..windows import fill_windows

    ckpt, network = _model(request.model, request.model_file, request.device)
    x, back = _model_input(ckpt, colour, request.device)
    report("sampling", 0, 1)
    return back(fill_windows(network, ckpt.config, x, known, sampler=SamplerConfig(steps=request.steps),
                             generator=generator, progress=lambda done, total: report("sampling", done, total))[0])


def _restore(request: FillRequest, colour: Tensor, known: Tensor, generator, report: Report) -> Tensor:
    from ..restore import restore

    config = _restore_config(request, colour.shape[1])
    on_step = _training_progress(report, request.minutes, config.steps)
    restored, _ = restore(colour, known, config, sampler=SamplerConfig(steps=request.steps),
                          generator=generator, on_step=on_step, minutes=request.minutes, init=load_init(request.init),
                          device=request.device,
                          progress=lambda done, total: report("sampling", done, total), name="page")
    return restored[0].cpu()


@dataclass(frozen=True)
class TextureRequest:
    """A texture action on the whole image.

    Parameters
    ----------
    action : one of :data:`ACTIONS`
        ``tile``: re-synthesize a band of ``band`` pixels across the wrap seams; ``extend``: grow the image to
        ``width`` x ``height`` (it stays top left).
    model : str
        A shipped model name (default the texture prior) or one given to ``serve --checkpoint``.
    minutes : float or None
        Fine-tune a model on the image itself for this many minutes first (from the prior where it fits, as
        ``inpaint tile`` does); None uses ``model`` as it is.
    seed : int
    model_file, device : str
        Set by the server, as in :class:`FillRequest`.
    """

    action: str
    model: str = PRIOR
    band: int = 16
    width: int | None = None
    height: int | None = None
    minutes: float | None = None
    seed: int = 0
    model_file: str | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}; got {self.action!r}")
        if self.minutes is not None and not 0 < self.minutes <= 120:
            raise ValueError(f"minutes must be more than 0 and at most 120, got {self.minutes}")
        if self.action == "extend":
            if self.width is None or self.height is None:
                raise ValueError("extend needs the new width and height")
            if not (0 < self.width <= MAX_SIDE and 0 < self.height <= MAX_SIDE):
                raise ValueError(f"width and height must be between 1 and {MAX_SIDE}, got {self.width}x{self.height}")

    @property
    def label(self) -> str:
        """``tile (prior)``, ``extend 512x512 (3 min on the image)``."""
        what = "tile" if self.action == "tile" else f"extend {self.width}x{self.height}"
        return f"{what} ({f'{self.minutes:g} min on the image' if self.minutes else self.model})"


def check_texture_request(request: TextureRequest, image: Tensor, channels: int) -> None:
    """Raise ``ValueError`` with a message for the page unless ``request`` can run on this image (cheap checks)."""
    if channels in (2, 4):
        raise ValueError("tile and extend need an opaque image; this one has an alpha channel")
    H, W = image.shape[-2:]
    if request.action == "tile":
        from ..tile import seam_known

        seam_known(H, W, request.band)
    elif request.width < W or request.height < H:
        raise ValueError(f"{request.width}x{request.height} is smaller than the image ({W}x{H})")
    if request.minutes is None:
        ckpt, _ = _model(request.model, request.model_file, request.device)
        want = ckpt.config.model.image_channels
        if not _fits(ckpt, channels):
            raise ValueError(f"the model {request.model} draws {want}-channel images; this one has {channels}")
        if not ckpt.config.model.conditional:
            raise ValueError(f"the model {request.model} is unconditional; tile and extend need a conditional one")


def run_texture_request(request: TextureRequest, image: Tensor, channels: int,
                        report: Report) -> tuple[Tensor, Tensor]:
    """The result (1, C, H', W') and its ``known`` map (1, 1, H', W'): False where it drew new pixels."""
    check_texture_request(request, image, channels)
    generator = torch.Generator().manual_seed(request.seed)
    if request.minutes is None:
        ckpt, network = _model(request.model, request.model_file, request.device)
    else:
        ckpt = _train_on_image(request, image, report)
        network = ckpt.network(device=request.device)
    x, back = _model_input(ckpt, image, request.device)
    progress = lambda done, total: report("drawing", done, total)  # noqa: E731
    report("drawing", 0, 1)
    H, W = image.shape[-2:]
    if request.action == "tile":
        from ..tile import band_known, make_tileable

        out = make_tileable(network, ckpt.config, x, band=request.band, generator=generator, progress=progress)
        return back(out), band_known(H, W, request.band)
    from ..extend import extend, source_known

    out = extend(network, ckpt.config, x, request.height, request.width, generator=generator, progress=progress)
    return back(out), source_known(H, W, request.height, request.width)


def _train_on_image(request: TextureRequest, image: Tensor, report: Report):
    from ..prior import init_for
    from ..restore import restore_config, train_on_texture

    config = restore_config(image.shape[1], seed=request.seed)
    return train_on_texture(image, config, device=request.device, minutes=request.minutes, name="page",
                            init=init_for("auto", config),
                            on_step=_training_progress(report, request.minutes, config.steps))


def _training_progress(report: Report, minutes: float | None, steps: int):
    """The ``on_step`` of a training on the page: seconds of the budget, or steps of the count, as the work goes."""
    report("training", 0, 1)
    started = time.perf_counter()
    if minutes is None:
        return lambda step, loss: report("training (steps)", step, steps)
    budget = round(60 * minutes)
    return lambda step, loss: report("training (seconds)", min(budget, round(time.perf_counter() - started)), budget)


def _fits(ckpt, channels: int) -> bool:
    """Whether the model fills an image of ``channels`` colour channels: its own, or grey for an RGB model."""
    want = ckpt.config.model.image_channels
    return channels == want or (channels == 1 and want == 3)


def _model_input(ckpt, colour: Tensor, device: str):
    """``colour`` as the model takes it (a grey image as three equal channels for an RGB model), and the way
    back for the model's output (their mean), on the CPU."""
    if colour.shape[1] == 1 and ckpt.config.model.image_channels == 3:
        return colour.expand(-1, 3, -1, -1).to(device), lambda out: out.cpu().mean(1, keepdim=True)
    return colour.to(device), lambda out: out.cpu()


DEFAULT_MODEL_STEPS = DEFAULT_SAMPLER.steps
"""Sampling steps of a shipped diffusion model when the page names none (the default sampler's)."""
